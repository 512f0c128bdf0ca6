"""Writing an experiment's folder: tables, figures and a report in plain words."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import t as t_dist

from simulation.experiments.tasks import KPIS, OUTCOME_KPIS, VANITY_KPIS

OVER_TIME = (("adopters", "customers"), ("revenue_to_date", "revenue to date"), ("awareness", "mean awareness"),
             ("trust", "mean trust"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that it is either whole or absent, even after kill -9."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------- figures

def plot_over_time(series: pd.DataFrame, column: str, ax, *, label: str, group: list[str]):
    """Mean over replications per day with a 95 % band, a line per alternative."""
    for key, rows in series.groupby(group, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        stats = rows.groupby("day")[column].agg(["mean", "std", "count"])
        quantile = t_dist.ppf(0.975, np.maximum(stats["count"] - 1, 1))
        half = quantile * stats["std"].fillna(0) / np.sqrt(stats["count"])
        line, = ax.plot(stats.index, stats["mean"], label=" / ".join(str(k) for k in key if k != "as written"))
        ax.fill_between(stats.index, stats["mean"] - half, stats["mean"] + half, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("day")
    ax.set_ylabel(label)
    ax.legend(fontsize="x-small", frameon=False)
    return ax


def plot_kpi_intervals(table: pd.DataFrame, kpi: str, ax):
    """Each alternative's mean with its 95 % interval."""
    rows = table[table["row"] == "alternative"]
    labels = [" / ".join(x for x in (r.arm, r.brand) if x != "as written") for r in rows.itertuples()]
    y = np.arange(len(rows))
    err = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]])
    ax.errorbar(rows["mean"], y, xerr=np.nan_to_num(err), fmt="o", capsize=3)
    ax.set_yticks(y, labels, fontsize="small")
    ax.set_title(kpi.replace("_", " "), fontsize="medium")
    ax.invert_yaxis()
    return ax


# ---------------------------------------------------------------- words

def _num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    x = float(x)
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def difference_sentence(row: pd.Series, kpi: str, by_arm: bool) -> str:
    """One line of the report: who is higher on this KPI, by how much, and whether it is told from noise."""
    label = row["arm"] if by_arm else row["brand"]
    better, reference = (part.strip() for part in str(label).split(" − ", 1))
    what = f"for **{row['brand']}**, **{better}**" if by_arm else f"**{better}**"
    name = kpi.replace("_", " ")
    if row["n"] < 2 or (isinstance(row["difference"], float) and math.isnan(row["difference"])):
        return f"- {name}: {what} against **{reference}**: too few runs with a value to compare."
    if row["difference"] == 0 and (row["sd"] == 0 or math.isnan(row["sd"])):
        return f"- {name}: {what} and **{reference}** are identical in every replication."
    interval = f"95 % interval of the difference {_num(row['ci_low'])} to {_num(row['ci_high'])}"
    if row["distinguishable"]:
        direction = "higher" if row["difference"] > 0 else "lower"
        return (f"- {name}: {what} is {_num(abs(row['difference']))} {direction} than **{reference}** "
                f"({interval}, effect size {_num(row['effect_size'])}).")
    return (f"- {name}: {what} against **{reference}**: the difference ({_num(row['difference'])}) is not "
            f"distinguishable from noise ({interval}).")


def write_comparison(result, out: Path, *, scenario_path: str, scenario_name: str, executor: str) -> None:
    """Tables per KPI, runs, figures with bands, report.md."""
    tables = out / "tables"
    tables.mkdir()
    result.runs.to_csv(out / "runs.csv", index=False, float_format="%.10g")
    result.runs.to_parquet(out / "runs.parquet", index=False)
    for kpi, table in result.tables.items():
        table.to_csv(tables / f"{kpi}.csv", index=False, float_format="%.10g")
    if result.failed is not None:
        result.failed.to_csv(out / "failed_runs.csv", index=False)

    group = ["arm", "brand"] if result.by_arm else ["brand"]
    fig = Figure(figsize=(12, 7), layout="constrained")
    for ax, (column, label) in zip(fig.subplots(2, 2).ravel(), OVER_TIME):
        if not result.series.empty:
            plot_over_time(result.series, column, ax, label=label, group=group)
    fig.suptitle(f"Mean of {result.replications} paired replications, with 95 % bands")
    fig.savefig(out / "over_time.png", dpi=110, metadata={"Software": None})
    fig = Figure(figsize=(13, 8), layout="constrained")
    axes = fig.subplots(3, 5).ravel()
    for ax, kpi in zip(axes, VANITY_KPIS + OUTCOME_KPIS):
        plot_kpi_intervals(result.tables[kpi], kpi, ax)
    for ax in axes[len(KPIS):]:
        ax.set_visible(False)
    fig.suptitle(f"Vanity metrics (first {len(VANITY_KPIS)}) and outcome metrics: means with 95 % intervals")
    fig.savefig(out / "kpis.png", dpi=110, metadata={"Software": None})

    lines = [f"# Comparison: {scenario_name}", "",
             f"Scenario `{scenario_path}`, {result.replications} paired replications per "
             f"{'arm' if result.by_arm else 'run'} (replication *i* of every arm uses the same seed: the same graph, "
             f"the same initial population), run on {executor}.", ""]
    if result.by_arm:
        lines += ["Arms:", ""] + [f"- **{a.name}**: " + (", ".join(f"`{o}`" for o in a.overrides) or "the scenario as written")
                                  for a in result.arms] + ["", f"Differences are each arm minus **{result.arms[0].name}**, brand by brand.", ""]
    else:
        lines += [f"Brands compared within the same runs; differences are each brand minus **{result.brands[0]}**.", ""]
    if result.failed is not None:
        lines += [f"**{len(result.failed)} runs failed** (see `failed_runs.csv`); they are left out of every pair.", ""]
    lines += ["Each difference below is tested on its own, at 95 %: among many KPIs, about one in twenty "
              "differences that are pure noise will still look distinguishable. Read a single surprising line "
              "with care, and replicate more before acting on it.", ""]
    for title, kpis in (("Outcome metrics", OUTCOME_KPIS), ("Vanity metrics", VANITY_KPIS)):
        lines += [f"## {title}", ""]
        for kpi in kpis:
            table = result.tables[kpi]
            for _, row in table[table["row"] == "difference"].iterrows():
                lines.append(difference_sentence(row, kpi, result.by_arm))
        lines.append("")
    lines += ["## Means and intervals", "", "| KPI | " + ("arm | " if result.by_arm else "") + "brand | mean | 95 % interval |",
              "|---|" + ("---|" if result.by_arm else "") + "---|---:|---|"]
    for kpi in OUTCOME_KPIS + VANITY_KPIS:
        for _, row in result.tables[kpi][result.tables[kpi]["row"] == "alternative"].iterrows():
            arm = f"{row['arm']} | " if result.by_arm else ""
            lines.append(f"| {kpi} | {arm}{row['brand']} | {_num(row['mean'])} | {_num(row['ci_low'])} to {_num(row['ci_high'])} |")
    lines += ["", "![Over time](over_time.png)", "", "![KPIs](kpis.png)", "",
              "Files: `runs.csv` (one row per run and brand), `tables/<kpi>.csv` (means, intervals, paired "
              "differences, effect sizes), the figures above.", ""]
    (out / "report.md").write_text("\n".join(lines))
    (out / "comparison.json").write_text(json.dumps({
        "scenario": scenario_path, "replications": result.replications, "seeds": result.seeds,
        "arms": [{"name": a.name, "overrides": list(a.overrides)} for a in result.arms],
        "failed": 0 if result.failed is None else len(result.failed)}, indent=2) + "\n")


# ---------------------------------------------------------------- sweeps

def _binned(values: pd.Series, bins: int = 10) -> pd.Series:
    """The values themselves when few; else the middle of quantile bins."""
    if values.nunique() <= 12:
        return values
    cut = pd.qcut(values, q=bins, duplicates="drop")
    return cut.map(lambda interval: interval.mid).astype(float)


def plot_kpi_against(results: pd.DataFrame, param: str, kpi: str, brands: list[str], ax):
    """Mean KPI per value of a varied parameter with 95 % intervals, a line per brand."""
    from simulation.experiments.stats import interval

    ok = results[results["status"] == "ok"]
    x = _binned(ok[param]) if pd.api.types.is_numeric_dtype(ok[param]) else ok[param].astype(str)
    for brand in brands:
        column = f"{brand}/{kpi}"
        if column not in ok:
            continue
        stats = [(value, *interval(group[column].to_numpy())) for value, group in ok.groupby(x, sort=True)]
        if not stats:
            continue
        xs, means, _, lows, highs = zip(*stats)
        positions = np.arange(len(xs)) if not pd.api.types.is_numeric_dtype(x) else np.array(xs, dtype=float)
        yerr = np.nan_to_num(np.vstack([np.subtract(means, lows), np.subtract(highs, means)]))
        ax.errorbar(positions, means, yerr=yerr, marker="o", capsize=3, label=brand)
        if not pd.api.types.is_numeric_dtype(x):
            ax.set_xticks(positions, xs, rotation=30, fontsize="small")
    ax.set_xlabel(param.removeprefix("param:"))
    ax.set_ylabel(kpi.replace("_", " "))
    ax.legend(fontsize="x-small", frameon=False)
    return ax


def plot_heatmap(results: pd.DataFrame, px: str, py: str, column: str, ax, *, label: str):
    """Mean of a column over two varied parameters (binned when continuous)."""
    ok = results[results["status"] == "ok"]
    x = _binned(ok[px], 8) if pd.api.types.is_numeric_dtype(ok[px]) else ok[px].astype(str)
    y = _binned(ok[py], 8) if pd.api.types.is_numeric_dtype(ok[py]) else ok[py].astype(str)
    table = ok.assign(_x=x, _y=y).pivot_table(index="_y", columns="_x", values=column, aggfunc="mean")
    limit = np.nanmax(np.abs(table.to_numpy())) if table.size else 1.0
    image = ax.imshow(table.to_numpy(), origin="lower", aspect="auto", cmap="RdBu", vmin=-limit, vmax=limit)
    ax.set_xticks(range(len(table.columns)), [_num(v) if isinstance(v, float) else v for v in table.columns],
                  rotation=30, fontsize="small")
    ax.set_yticks(range(len(table.index)), [_num(v) if isinstance(v, float) else v for v in table.index],
                  fontsize="small")
    ax.set_xlabel(px.removeprefix("param:"))
    ax.set_ylabel(py.removeprefix("param:"))
    ax.figure.colorbar(image, ax=ax, label=label)
    return ax


def write_sweep_outputs(results: pd.DataFrame, plan, out: Path, brands: list[str], executor: str) -> list[str]:
    """Figures, sweep.json and report.md of a finished sweep (runs/ and results.parquet are already there)."""
    params = [c for c in results.columns if c.startswith("param:")]
    ok = results[results["status"] == "ok"] if len(results) else results
    failed = results[results["status"] != "ok"] if len(results) else results
    figures = []
    for param in params:
        fig = Figure(figsize=(16, 10), layout="constrained")
        axes = fig.subplots(3, 5).ravel()
        for ax, kpi in zip(axes, KPIS):
            if len(ok):
                plot_kpi_against(results, param, kpi, brands, ax)
        for ax in axes[len(KPIS):]:
            ax.set_visible(False)
        others = "" if len(params) == 1 else "; the intervals include the spread over the other varied parameters"
        fig.suptitle(f"Every KPI against {param.removeprefix('param:')} (means over runs, 95 % intervals{others})")
        name = f"kpis_vs_{param.removeprefix('param:').replace('.', '_').replace(' ', '_')}.png"
        fig.savefig(out / name, dpi=100, metadata={"Software": None})
        figures.append(name)
    if len(params) == 2 and len(ok):
        if len(brands) >= 2:
            column, label = "_roi_difference", f"ROI of {brands[1]} minus ROI of {brands[0]}"
            results = results.assign(_roi_difference=results[f"{brands[1]}/roi"] - results[f"{brands[0]}/roi"])
        else:
            column, label = f"{brands[0]}/roi", f"ROI of {brands[0]}"
        fig = Figure(figsize=(7, 5.5), layout="constrained")
        plot_heatmap(results, params[0], params[1], column, fig.subplots(), label=label)
        fig.savefig(out / "heatmap_roi.png", dpi=100, metadata={"Software": None})
        figures.append("heatmap_roi.png")
    summary = {"spec_sha256": plan.spec_hash, "runs": int(len(results)), "ok": int(len(ok)),
               "failed": int(len(failed)), "points": len(plan.points), "replications": plan.replications,
               "varied": [v.text for v in plan.varies], "constant": plan.base,
               "master_seed": plan.master_seed, "seeds": plan.seeds}
    (out / "sweep.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = ["# Sweep", "", f"{len(plan.points)} points x {plan.replications} replications = {len(plan.points) * plan.replications} runs "
             f"({plan.sample} sampling), on {executor}: **{len(ok)} ok, {len(failed)} failed**.", "",
             "Varied: " + ", ".join(f"`{v.text}`" for v in plan.varies) + ". Every other key is constant "
             "(`sweep.json`, key `constant`). Replication *r* uses the same seed at every point.", ""]
    if len(failed):
        lines += ["## Failed runs", "", "| run | seed | error |", "|---:|---:|---|"]
        for _, row in failed.head(20).iterrows():
            lines.append(f"| {row['run_id']} | {row['seed']} | {str(row.get('error', '')).splitlines()[0][:200]} |")
        lines.append("")
    lines += ["## Figures", ""] + [f"![{name}]({name})" for name in figures] + [
        "", "Files: `results.parquet` (one row per run: parameters as `param:<key>`, seed, status, every KPI as "
        "`<brand>/<kpi>`), `runs/` (the same, one file per run), `series/` with `--series` (daily tables per run).", ""]
    (out / "report.md").write_text("\n".join(lines))
    return figures
