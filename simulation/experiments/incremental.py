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


def incremental_table(runs: pd.DataFrame, counterfactual: pd.DataFrame, pairs: list[tuple[str, str, float]]
                      ) -> pd.DataFrame:
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
        with np.errstate(divide="ignore", invalid="ignore"):
            incremental_roi = np.where(spend > 0, (margin * incremental_revenue - spend) / spend, np.nan)
        row = {"arm": arm, "brand": brand, "n": int(len(both)), "margin": margin}
        for name, values in (("sales", both["sales"]), ("sales_at_zero_spend", both["sales_zero"]),
                             ("revenue", both["revenue"]), ("roi", both["roi"]),
                             ("incremental_revenue", incremental_revenue), ("incremental_roi", incremental_roi),
                             ("spend", spend)):
            mean, _, low, high = interval(np.asarray(values, dtype=float))
            row.update({f"{name}_mean": mean, f"{name}_low": low, f"{name}_high": high})
        sales = paired_difference(both["sales_zero"].to_numpy(dtype=float), both["sales"].to_numpy(dtype=float))
        row.update({"incremental_sales_mean": sales["difference"], "incremental_sales_low": sales["ci_low"],
                    "incremental_sales_high": sales["ci_high"]})
        overstated = paired_difference(incremental_roi, both["roi"].to_numpy(dtype=float))
        row.update({"roi_overstated_by_mean": overstated["difference"], "roi_overstated_by_low": overstated["ci_low"],
                    "roi_overstated_by_high": overstated["ci_high"]})
        rows.append(row)
    return pd.DataFrame(rows)
