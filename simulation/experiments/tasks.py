"""One run of an experiment, as data that pickles: what to run, and what came back.

Workers (local processes or Dask) receive a `RunTask` and return a flat dict:
the run's identity and parameters, then every summary KPI per brand as
columns named "<brand>/<kpi>", and optionally its daily brand table.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulation.scenario import Scenario, ScenarioError, apply_override, validate_data

KPIS = ("impressions", "reach", "frequency", "clicks", "fans", "referrals", "engaged_minutes", "awareness", "trust",
        "adopters", "sales", "last_touch_sales", "last_touch_revenue", "revenue", "spend", "roi", "cost_per_acquisition")
VANITY_KPIS = ("impressions", "reach", "frequency", "clicks", "fans")
OUTCOME_KPIS = ("engaged_minutes", "awareness", "trust", "adopters", "sales", "revenue", "spend", "roi",
                "cost_per_acquisition")


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs to make one run."""

    run_id: int
    scenario: dict  # the base scenario, resolved, as plain data
    overrides: tuple[str, ...]  # "key.path=value", applied in order
    seed: int
    days: int | None = None
    series: bool = False
    labels: dict = field(default_factory=dict)  # arm, replication, varied parameters: copied into the row

    def digest(self, experiment: str) -> str:
        """SHA-256 of what this run is within `experiment` (the digest of its specification, which holds the
        base scenario): its id, overrides, seed, days, series and labels. A run's file carries it, so that on
        resume a file is trusted only if it is this very run of this very experiment."""
        what = {"experiment": experiment, "run_id": self.run_id, "overrides": list(self.overrides),
                "seed": self.seed, "days": self.days, "series": self.series, "labels": self.labels}
        return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def split_top_level(raw: str) -> list[str]:
    """Split 'a,b=[x,y],c' at the commas that are not inside [...] or {...}."""
    parts, depth, current = [], 0, ""
    for char in raw:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def derive_seeds(master_seed: int, count: int) -> list[int]:
    """`count` independent run seeds from one master seed (numpy SeedSequence spawning)."""
    children = np.random.SeedSequence(master_seed).spawn(count)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def scenario_with(base: dict, overrides: tuple[str, ...] | list[str], source: str = "scenario") -> Scenario:
    """The base scenario with overrides applied and validated (ScenarioError if they break it)."""
    data = copy.deepcopy(base)
    applied = {}
    for item in overrides:
        applied[apply_override(data, item)] = item
    return validate_data(data, source=source, overrides=applied)


def _one_thread_in_dask_workers() -> None:
    """In a Dask worker a run uses one thread: the cluster's workers and their threads use
    the cores, and a worker cannot know how many others share its machine (numba's setting is per thread)."""
    if "distributed" not in sys.modules:
        return  # not in a Dask worker: the local executor's workers set this when they start
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return
    from simulation.engine import threads

    threads.set_threads(1)


def interruption_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind an error, if any: numba turns one raised inside a kernel call into a SystemError."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def execute(task: RunTask) -> dict:
    """Run one simulation and return its row (never raises: a failure is a row with its error)."""
    from simulation.runner import run_simulation

    row: dict[str, Any] = {"run_id": task.run_id, "seed": task.seed, **task.labels}
    _one_thread_in_dask_workers()
    start = time.perf_counter()
    try:
        scenario = scenario_with(task.scenario, task.overrides)
        result = run_simulation(scenario, task.seed, days=task.days)
    except ScenarioError as exc:
        return {**row, "status": "failed", "error": str(exc), "seconds": time.perf_counter() - start}
    except Exception as exc:  # recorded, and the experiment goes on
        if (stop := interruption_behind(exc)) is not None:  # Ctrl-C or SIGTERM inside a kernel: stop, not a failure
            raise stop from None
        return {**row, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(), "seconds": time.perf_counter() - start}
    row.update(status="ok", error="", seconds=time.perf_counter() - start)
    for brand, figures in result.summary["brands"].items():
        for kpi in KPIS:
            value = figures[kpi]
            row[f"{brand}/{kpi}"] = float("nan") if value is None else float(value)
    if task.series:
        row["_series"] = result.brands.assign(run_id=task.run_id)
    return row
