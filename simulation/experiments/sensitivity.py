"""Global sensitivity analysis with SALib: Sobol indices or Morris elementary effects.

The sample's points are runs of a resumable plan (the same folder layout and
executors as a sweep); the chosen KPI, averaged over replications at each
point, is what SALib analyses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.scenario import Scenario, ScenarioError
from simulation.experiments.sweep import SweepPlan, _check_point, parse_vary, run_plan, with_type
from simulation.experiments.tasks import KPIS, derive_seeds


@dataclass
class Sensitivity:
    method: str
    kpi: str
    indices: pd.DataFrame  # one row per parameter
    results: pd.DataFrame  # one row per run
    plan: SweepPlan


def resolve_kpi(scenario: Scenario, kpi: str | None) -> str:
    """'BRAND/KPI', or 'KPI' for the first brand; default: the first brand's sales."""
    brands = [b.name for b in scenario.brands]
    if not kpi:
        return f"{brands[0]}/sales"
    brand, sep, name = kpi.rpartition("/")
    brand = brand if sep else brands[0]
    if brand not in brands:
        raise ScenarioError(f"--kpi {kpi}: no brand named '{brand}' (known: {', '.join(brands)})")
    if name not in KPIS:
        raise ScenarioError(f"--kpi {kpi}: no KPI named '{name}' (known: {', '.join(KPIS)})")
    return f"{brand}/{name}"


def plan_sensitivity(scenario: Scenario, params: list[str], *, method: str, samples: int, replications: int = 1,
                     master_seed: int | None = None, days: int | None = None) -> tuple[SweepPlan, dict, np.ndarray]:
    """SALib's sample as a plan of runs; every point is checked before any run."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if len(params) < 1:
        raise ScenarioError("--param: give at least one key=lo:hi")
    if samples < (4 if method == "sobol" else 2):
        raise ScenarioError(f"--samples: expected at least {4 if method == 'sobol' else 2} for {method}, found {samples}")
    if replications < 1:
        raise ScenarioError(f"--replications: expected at least 1, found {replications}")
    base = scenario.model_dump(mode="json")
    varies = [with_type(parse_vary(p), base) for p in params]
    for v in varies:
        if v.values is not None or v.low == v.high:
            raise ScenarioError(f"--param {v.text}: expected a range key=lo:hi with lo < hi")
    keys = [v.key for v in varies]
    if len(set(keys)) != len(keys):
        raise ScenarioError("--param: the same key is given twice")
    problem = {"num_vars": len(varies), "names": keys, "bounds": [[v.low, v.high] for v in varies]}
    master = scenario.seed if master_seed is None else master_seed
    if method == "sobol":
        if samples & (samples - 1):
            raise ScenarioError(f"--samples: Sobol sampling needs a power of two, found {samples}")
        X = sobol_sample.sample(problem, samples, calc_second_order=False, seed=master)
    elif method == "morris":
        X = morris_sample.sample(problem, samples, num_levels=4, seed=master)
    else:
        raise ScenarioError(f"--method: expected sobol or morris, found '{method}'")
    X = np.array([[round(x) if v.integer else x for v, x in zip(varies, row)] for row in X], dtype=float)
    points = [{v.key: (int(x) if v.integer else float(x)) for v, x in zip(varies, row)} for row in X]  # as run
    for point in points:
        _check_point(base, point)
    plan = SweepPlan(base=base, varies=varies, points=points, replications=replications,
                     seeds=derive_seeds(master, replications), master_seed=master, days=days, series=False,
                     sample=method, samples=samples, kind=f"sensitivity-{method}")
    return plan, problem, X


def sensitivity(scenario: Scenario, params: list[str], *, out: Path, method: str = "sobol", samples: int = 64,
                kpi: str | None = None, replications: int = 1, executor=None, master_seed: int | None = None,
                days: int | None = None, force: bool = False, keep: tuple[Path, ...] = (),
                progress: Callable[[dict, int, int], None] | None = None) -> Sensitivity:
    """Run the sample and compute first- and total-order Sobol indices, or Morris mu* and sigma."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    column = resolve_kpi(scenario, kpi)
    plan, problem, X = plan_sensitivity(scenario, params, method=method, samples=samples,
                                        replications=replications, master_seed=master_seed, days=days)
    results = run_plan(plan, out, executor=executor, force=force, keep=keep, progress=progress)
    ok = results[results["status"] == "ok"]
    Y = ok.groupby("point")[column].mean().reindex(range(len(plan.points))).to_numpy(dtype=float)
    missing = int(np.isnan(Y).sum())
    if missing:
        raise ScenarioError(f"{missing} of {len(Y)} sample points have no value of {column} (failed runs or "
                            "undefined KPI, e.g. ROI without spend); see results.parquet and choose another --kpi")
    seed = plan.master_seed
    if method == "sobol":
        si = sobol_analyze.analyze(problem, Y, calc_second_order=False, seed=seed)
        indices = pd.DataFrame({"parameter": problem["names"], "S1": si["S1"], "S1_conf": si["S1_conf"],
                                "ST": si["ST"], "ST_conf": si["ST_conf"]})
    else:
        si = morris_analyze.analyze(problem, X, Y, num_levels=4, seed=seed)
        indices = pd.DataFrame({"parameter": problem["names"], "mu_star": si["mu_star"],
                                "mu_star_conf": si["mu_star_conf"], "sigma": si["sigma"], "mu": si["mu"]})
    return Sensitivity(method=method, kpi=column, indices=indices, results=results, plan=plan)


def plot_indices(result: Sensitivity, ax):
    """Bars of the indices with their 95 % confidence intervals."""
    table = result.indices
    y = np.arange(len(table))
    if result.method == "sobol":
        ax.barh(y - 0.2, table["S1"], 0.4, xerr=table["S1_conf"], capsize=3, label="first order S1")
        ax.barh(y + 0.2, table["ST"], 0.4, xerr=table["ST_conf"], capsize=3, label="total order ST")
        ax.set_xlabel(f"Sobol index of {result.kpi}")
    else:
        ax.barh(y - 0.2, table["mu_star"], 0.4, xerr=table["mu_star_conf"], capsize=3, label="mu* (mean |effect|)")
        ax.barh(y + 0.2, table["sigma"], 0.4, label="sigma (interactions, non-linearity)")
        ax.set_xlabel(f"Morris elementary effects on {result.kpi}")
    ax.set_yticks(y, table["parameter"])
    ax.invert_yaxis()
    ax.legend(fontsize="small", frameon=False)
    return ax


def write_sensitivity(result: Sensitivity, out: Path, executor: str, *, loaded=None) -> None:
    """indices.csv, indices.png, report.md and report.html (with what was run when `loaded` is given)."""
    from matplotlib.figure import Figure

    from simulation.outputs import provenance
    from simulation.outputs.html import write_html_report

    result.indices.to_csv(out / "indices.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(8, 1.2 + 0.6 * len(result.indices)), layout="constrained")
    plot_indices(result, fig.subplots())
    fig.savefig(out / "indices.png", dpi=110, metadata={"Software": None})
    n_points, reps = len(result.plan.points), result.plan.replications
    failed = int((result.results["status"] != "ok").sum())
    lines = [f"# Sensitivity of {result.kpi} ({result.method})", "",
             f"{n_points} sample points x {reps} replication(s) = {n_points * reps} runs on {executor}; "
             f"{failed} failed.", "", "| " + " | ".join(result.indices.columns) + " |",
             "|" + "---|" * len(result.indices.columns)]
    for _, row in result.indices.iterrows():
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")
    if result.method == "sobol":
        lines += ["", "S1: share of the KPI's variance due to the parameter alone; ST: including its interactions. "
                  "Intervals (conf) are 95 % bootstrap half-widths: with few samples, indices near zero are noise."]
    else:
        lines += ["", "mu*: mean absolute effect of the parameter (its importance); sigma: how much that effect "
                  "varies (interactions or non-linearity)."]
    lines += ["", "![indices](indices.png)", ""]
    if loaded is not None:
        lines += provenance.run_lines(provenance.record(loaded, loaded.scenario,
                                                        days=result.plan.days or loaded.scenario.days,
                                                        seeds=result.plan.seeds))
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    write_html_report(out)
