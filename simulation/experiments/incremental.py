"""Incrementality: what a brand's spend adds, measured against the same world with that spend at zero.

For each alternative and brand, `compare --incremental` also runs a counterfactual: the same scenario,
the same seeds (common random numbers), with that brand's budget set to 0 for the whole run (its
budget_change events included). A brand still sells without spending (word of mouth, its site, the
external pull of the market), so the sales a report attributes to a brand overstate what its spend
bought. Incremental sales = sales - sales at zero spend, paired by replication; incremental ROI =
(margin x incremental revenue - spend) / spend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.experiments.stats import interval, paired_difference

COUNTERFACTUAL = "zero spend: "


def zero_spend_overrides(scenario: dict, brand: str) -> tuple[str, ...]:
    """Overrides that keep `brand`'s budget at 0 all run long (its budget changes included)."""
    overrides = [f"brands.{brand}.budget_per_day=0"]
    for i, event in enumerate(scenario.get("events", [])):
        if event.get("type") == "budget_change" and event.get("brand") == brand:
            overrides.append(f"events.{i}.budget_per_day=0")
    return tuple(overrides)


def counterfactual_name(arm: str, brand: str) -> str:
    return f"{COUNTERFACTUAL}{brand} ({arm})"


def incremental_table(runs: pd.DataFrame, counterfactual: pd.DataFrame, pairs: list[tuple[str, str, float]],
                      series: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (arm, brand, margin): attributed and incremental sales, revenue and ROI, means and 95 % intervals.

    `runs` holds the alternatives' runs, `counterfactual` the zero-spend runs (arm column: the counterfactual's
    name); both one row per run and brand, with a replication column.
    """
    rows = []
    for arm, brand, margin in pairs:
        actual = runs[(runs["arm"] == arm) & (runs["brand"] == brand)].set_index("replication")
        zero = counterfactual[(counterfactual["arm"] == counterfactual_name(arm, brand))
                              & (counterfactual["brand"] == brand)].set_index("replication")
        both = actual.join(zero.add_suffix("_zero"), how="inner")
        if both.empty:
            continue
        spend = both["spend"].to_numpy(dtype=float)
        incremental_revenue = both["revenue"].to_numpy(dtype=float) - both["revenue_zero"].to_numpy(dtype=float)
        incremental_roi = _roi(margin, incremental_revenue, spend)
        last_touch_roi = _roi(margin, both["last_touch_revenue"].to_numpy(dtype=float), spend)
        row = {"arm": arm, "brand": brand, "n": int(len(both)), "margin": margin}
        for name, values in (("sales", both["sales"]), ("sales_at_zero_spend", both["sales_zero"]),
                             ("revenue", both["revenue"]), ("roi", both["roi"]),
                             ("incremental_revenue", incremental_revenue), ("incremental_roi", incremental_roi),
                             ("last_touch_sales", both["last_touch_sales"]), ("last_touch_roi", last_touch_roi),
                             ("spend", spend)):
            mean, _, low, high = interval(np.asarray(values, dtype=float))
            row.update({f"{name}_mean": mean, f"{name}_low": low, f"{name}_high": high})
        sales = paired_difference(both["sales_zero"].to_numpy(dtype=float), both["sales"].to_numpy(dtype=float))
        row.update({"incremental_sales_mean": sales["difference"], "incremental_sales_low": sales["ci_low"],
                    "incremental_sales_high": sales["ci_high"]})
        overstated = paired_difference(incremental_roi, both["roi"].to_numpy(dtype=float))
        row.update({"roi_overstated_by_mean": overstated["difference"], "roi_overstated_by_low": overstated["ci_low"],
                    "roi_overstated_by_high": overstated["ci_high"]})
        if series is not None and not series.empty:
            mine = series[(series["arm"] == arm) & (series["brand"] == brand)]
            fits = [media_mix(daily, margin) for _, daily in mine.groupby("replication")]
            mmm_roi = np.array([f["mmm_roi"] for f in fits], dtype=float)
            mean, _, low, high = interval(mmm_roi)
            row.update({"mmm_roi_mean": mean, "mmm_roi_low": low, "mmm_roi_high": high,
                        "mmm_estimable": int(np.isfinite(mmm_roi).sum()), "mmm_runs": len(fits)})
        rows.append(row)
    return pd.DataFrame(rows)


def _roi(margin: float, revenue: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """(margin x revenue - spend) / spend, run by run; NaN where nothing was spent."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(spend > 0, (margin * revenue - spend) / spend, np.nan)


# ---------------------------------------------------------------- what a dashboard would attribute

ADSTOCK_DECAYS = tuple(round(0.1 * k, 1) for k in range(10))  # 0.0 .. 0.9 a week


def media_mix(daily: pd.DataFrame, margin: float) -> dict:
    """A simple media-mix model of one run and brand: weekly sales on weekly spend with geometric adstock.

    sales_w = a + b x adstock_w, adstock_w = spend_w + decay x adstock_(w-1), the decay (0 to 0.9) chosen by the
    best fit. Its incremental sales are b x the sum of adstock; its ROI as for the true incremental ROI. When the
    spend never varies from week to week the slope cannot be told from the intercept: not estimable (NaN), which
    is the lesson: a brand that never varies its spend cannot learn its effect from its own data.
    """
    daily = daily.sort_values("day")
    week = (daily["day"].to_numpy() - 1) // 7
    frame = pd.DataFrame({"week": week, "spend": daily["spend"].to_numpy(float), "sales": daily["sales"].to_numpy(float),
                          "revenue": daily["revenue"].to_numpy(float)})
    weekly = frame.groupby("week").sum()
    weekly = weekly[frame.groupby("week").size() == 7]  # whole weeks only
    spend, sales = weekly["spend"].to_numpy(), weekly["sales"].to_numpy()
    total_spend = float(frame["spend"].sum())
    price = float(frame["revenue"].sum() / frame["sales"].sum()) if frame["sales"].sum() else float("nan")
    empty = {"mmm_decay": np.nan, "mmm_incremental_sales": np.nan, "mmm_roi": np.nan}
    if len(weekly) < 4 or total_spend <= 0 or np.std(spend) < 0.01 * np.mean(spend):
        return empty  # spend steady within 1 % from week to week: no variation to learn from
    best = None
    for decay in ADSTOCK_DECAYS:
        adstock = np.zeros_like(spend)
        for w in range(len(spend)):
            adstock[w] = spend[w] + (decay * adstock[w - 1] if w else 0.0)
        design = np.column_stack([np.ones_like(adstock), adstock])
        coef, residual, rank, _ = np.linalg.lstsq(design, sales, rcond=None)
        if rank < 2:
            continue
        error = float(np.sum((design @ coef - sales) ** 2))
        if best is None or error < best[0]:
            best = (error, decay, coef[1], adstock)
    if best is None:
        return empty
    _, decay, slope, adstock = best
    incremental_sales = float(slope * adstock.sum())
    fitted_spend = float(spend.sum())  # the whole weeks the model saw, as its adstock
    roi = (margin * price * incremental_sales - fitted_spend) / fitted_spend if np.isfinite(price) else np.nan
    return {"mmm_decay": decay, "mmm_incremental_sales": incremental_sales, "mmm_roi": roi}


def one_run_incremental(scenario, seed: int, days: int | None, summary: dict) -> dict:
    """`run --incremental`: each brand's counterfactual at zero spend on the same seed; one draw, no interval."""
    from simulation.experiments.tasks import scenario_with
    from simulation.runner import run_simulation

    base = scenario.model_dump(mode="json")
    figures = {}
    for brand in scenario.brands:
        zero = run_simulation(scenario_with(base, zero_spend_overrides(base, brand.name)), seed, days=days)
        actual, at_zero = summary["brands"][brand.name], zero.summary["brands"][brand.name]
        spend = actual["spend"] or 0.0
        incremental_revenue = (actual["revenue"] or 0.0) - (at_zero["revenue"] or 0.0)
        figures[brand.name] = {
            "sales": actual["sales"], "sales_at_zero_spend": at_zero["sales"],
            "incremental_sales": actual["sales"] - at_zero["sales"], "incremental_revenue": incremental_revenue,
            "roi": actual["roi"],
            "incremental_roi": (brand.margin * incremental_revenue - spend) / spend if spend > 0 else None,
        }
    return figures
