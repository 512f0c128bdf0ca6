"""Summaries across replications: means with t intervals, paired differences, effect sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, standard deviation, low, high) of a t interval for the mean; NaNs are left out."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return (np.nan,) * 4
    mean = float(values.mean())
    if n == 1:
        return mean, np.nan, np.nan, np.nan
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n)
    return mean, sd, mean - half, mean + half


def summarise_groups(runs: pd.DataFrame, by: list[str], kpi: str) -> pd.DataFrame:
    """Mean, sd and 95 % interval of one KPI per group."""
    rows = []
    for key, group in runs.groupby(by, sort=False):
        mean, sd, low, high = interval(group[kpi].to_numpy())
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "n": int(group[kpi].notna().sum()), "mean": mean, "sd": sd,
                     "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def paired_difference(a: np.ndarray, b: np.ndarray) -> dict:
    """b - a, paired by replication: mean, interval, effect size (d_z) and whether it is told from noise."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    diff = b[keep] - a[keep]
    mean, sd, low, high = interval(diff)
    if len(diff) >= 2 and sd > 0:
        effect = mean / sd
        p_value = float(stats.ttest_1samp(diff, 0.0).pvalue)
    else:  # a difference that never varies: no effect size, and no t-test
        effect = np.nan
        # The exact sign-flip test: n differences of one sign are the 2 most extreme of 2^n sign patterns.
        # Two runs that each gave one sale more are not proof; twenty are.
        p_value = np.nan if len(diff) < 2 else (1.0 if mean == 0 else min(1.0, 2.0 / 2 ** len(diff)))
    distinguishable = bool(len(diff) >= 2 and not np.isnan(low) and (low > 0 or high < 0))
    if len(diff) >= 2 and sd == 0:
        distinguishable = bool(p_value < 0.05)
    return {"n": int(len(diff)), "difference": mean, "sd": sd, "ci_low": low, "ci_high": high,
            "effect_size": effect, "p_value": p_value, "distinguishable": distinguishable}


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and does not count in the family)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    running = 0.0
    for rank, index in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted
