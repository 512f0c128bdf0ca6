"""Attention Market: who wins users' limited online time, and what it is worth in sales.

For notebooks::

    import simulation
    result = simulation.compare("scenarios/relational_vs_billboard.yaml", replications=20)
    result.verdict.table  # alternatives x decisive KPIs; figure_forest(result.verdict.differences) plots them
    runs = simulation.sweep("scenarios/classroom.yaml", vary=["market.q=0.02,0.1"], replications=5, out="results/q")
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["compare", "sweep", "run_simulation", "load_scenario"]


def load_scenario(path, overrides=()):
    from simulation.scenario import load_scenario as load

    return load(path, overrides)


def run_simulation(config, seed=None, **kwargs):
    from simulation.runner import run_simulation as run

    return run(config, seed, **kwargs)


def _scenario(scenario, overrides=()):
    """A Scenario from a path, a loaded scenario or a Scenario, with `overrides` ('key.path=value') applied."""
    from simulation.experiments.tasks import scenario_with
    from simulation.scenario import LoadedScenario, Scenario, load_scenario as load

    if isinstance(scenario, LoadedScenario):
        scenario = scenario.scenario
    if not isinstance(scenario, Scenario):
        return load(scenario, list(overrides)).scenario
    return scenario_with(scenario.model_dump(mode="json"), list(overrides)) if overrides else scenario


def compare(scenario, *, replications: int = 20, arms: list[str] | None = None, workers: int | None = None,
            days: int | None = None, seed: int | None = None, overrides: list[str] = (), incremental: bool = False):
    """Paired comparison of a scenario's brands (or of `arms`, 'NAME:key=value,...').

    `scenario`: a file path, what `load_scenario` returns, or a Scenario; `overrides` apply to every run.

    Returns a `Comparison`: `.verdict.table` (alternatives x decisive KPIs, means, intervals, the best marked
    after Holm's correction), `.verdict.differences` (every paired difference), `.runs` (one row per run and
    brand) and `.long_table()` (every KPI's means, intervals and paired differences in one table); with
    `incremental=True`, `.incremental`: each brand's sales and ROI against the same runs with its spend at zero.
    """
    from simulation.experiments.compare import compare as run_compare, parse_arm
    from simulation.experiments.executors import LocalExecutor

    return run_compare(_scenario(scenario, overrides), replications=replications,
                       arms=[parse_arm(a) for a in arms] if arms else None, executor=LocalExecutor(workers),
                       days=days, master_seed=seed, incremental=incremental)


def sweep(scenario, *, vary: list[str], out, replications: int = 5, sample: str = "grid",
          samples: int | None = None, workers: int | None = None, scheduler: str | None = None,
          days: int | None = None, seed: int | None = None, series: bool = False,
          overrides: list[str] = ()) -> pd.DataFrame:
    """A resumable sweep into `out`; one row per run (parameters as 'param:<key>', KPIs as '<brand>/<kpi>')."""
    from simulation.experiments.executors import make_executor
    from simulation.experiments.sweep import sweep as run_sweep

    executor = make_executor(workers, scheduler)
    try:
        results, _ = run_sweep(_scenario(scenario, overrides), vary, replications=replications, out=Path(out), sample=sample,
                               samples=samples, executor=executor, master_seed=seed, days=days, series=series)
    finally:
        executor.close()
    return results
