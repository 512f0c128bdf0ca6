"""One function runs one simulation: `run_simulation(config, seed)`.

The CLI, compare, sweeps and tests all go through it or through
`AttentionModel`. It returns tidy tables and a summary, and writes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from simulation.outputs import metrics
from simulation.scenario import Scenario
from simulation.engine.warm import warm_up
from simulation.model import AttentionModel


@dataclass
class RunResult:
    """What one run produced: daily tidy tables and a summary."""

    scenario: Scenario
    seed: int
    days: int
    sinks: pd.DataFrame
    brands: pd.DataFrame
    model_vars: pd.DataFrame
    users: pd.DataFrame | None
    events: list[dict]
    summary: dict = field(default_factory=dict)
    seconds: float = 0.0  # building and stepping the model
    compile_seconds: float = 0.0  # compiling (or loading) the engine's kernels first, in this process
    incremental: object | None = None  # run --incremental N: the Comparison of N paired replications at zero spend


def run_simulation(config: Scenario, seed: int | None = None, *, days: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Build the model, step it `days` times (default: the scenario's) and collect its tables."""
    compile_seconds = warm_up()
    start = time.perf_counter()
    model = AttentionModel(config, seed, days=days)
    for _ in range(model.days):
        model.step()
        if progress is not None:
            progress(model.day, model.days)
    return collect_result(model, time.perf_counter() - start, compile_seconds)


def daily_tables(model: AttentionModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-sink and per-brand daily tables collected so far."""
    sinks = pd.DataFrame(model.sink_records, columns=["day", *metrics.SINK_REPORTERS])
    brands = pd.DataFrame(model.brand_records, columns=["day", *metrics.BRAND_REPORTERS])
    return sinks, brands


def collect_result(model: AttentionModel, seconds: float = 0.0, compile_seconds: float = 0.0) -> RunResult:
    """Tables and summary of a model that has run."""
    sinks, brands = daily_tables(model)
    model_vars = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    users = pd.DataFrame(model.user_records, columns=list(metrics.USER_COLUMNS)) if model.sample is not None else None
    result = RunResult(scenario=model.config, seed=model.seed, days=model.day, sinks=sinks, brands=brands,
                       model_vars=model_vars, users=users, events=list(model.events.log), seconds=seconds,
                       compile_seconds=compile_seconds)
    result.summary = summarise(result, model)
    return result


def _number(x) -> float | int | None:
    """JSON-friendly number: NaN becomes None."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return None if np.isnan(x) else x


def summarise(result: RunResult, model: AttentionModel) -> dict:
    """Per brand and per sink totals over the run."""
    brands = {}
    for brand in model.brands:
        rows = result.brands[result.brands["brand"] == brand.name]
        last = rows.iloc[-1]
        spend_total = brand.spend_total
        brands[brand.name] = {
            "strategy": brand.strategy,
            "relational_share": brand.relational_share,
            "impressions": int(brand.impressions_total),
            "reach": int(last["reach"]),
            "frequency": _number(last["frequency"]),
            "clicks": _number(brand.clicks_total),
            "click_through_rate": _number(metrics.click_through_rate(brand)),
            "ctr_first_exposure": _number(metrics.first_exposure_ctr(brand)),
            "ctr_later_exposures": _number(metrics.later_exposure_ctr(brand)),
            "fans": int(last["fans"]),
            "engaged_minutes": _number(rows["engaged_minutes"].sum()),
            "awareness": _number(last["awareness"]),
            "trust": _number(last["trust"]),
            "adopters": int(last["adopters"]),
            "sales": int(brand.sales_total),
            "last_touch_sales": int(rows["last_touch_sales"].sum()),
            "last_touch_revenue": _number(rows["last_touch_sales"].sum() * brand.price),
            "referrals": _number(rows["referrals"].sum()),
            "revenue": _number(brand.revenue_total),
            "spend": _number(spend_total),
            "roi": _number(last["roi_to_date"]),
            "cost_per_acquisition": _number(last["cost_per_acquisition"]),
        }
    total = result.sinks["minutes"].sum()
    sinks = {}
    for sink in model.all_sinks:
        rows = result.sinks[result.sinks["sink"] == sink.name]
        sinks[sink.name] = {
            "kind": sink.kind,
            "minutes": _number(rows["minutes"].sum()),
            "share": _number(rows["minutes"].sum() / total) if total else 0.0,
            "share_last_30_days": _number(rows["share"].tail(30).mean()),
        }
    return {"days": result.days, "users": model.population.n, "edges": model.network.edges, "threads": model.engine.threads.summary(),
            "brands": brands, "sinks": sinks, "events": result.events,
            "events_not_reached": [{"day": e.day, "type": e.type} for e in model.events.pending]}
