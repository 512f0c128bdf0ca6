"""Intervals and paired differences, against scipy, and with runs missing."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulation.experiments.compare import Arm, Comparison, kpi_table, paired_values
from simulation.experiments.stats import interval, paired_difference


def test_interval_is_the_t_interval():
    x = np.array([3.0, 5.0, 4.0, 8.0, 6.0])
    mean, sd, low, high = interval(x)
    expected = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean == pytest.approx(5.2) and sd == pytest.approx(x.std(ddof=1))
    assert (low, high) == pytest.approx(expected)
    assert interval(np.array([1.0, np.nan, 3.0]))[0] == 2.0


def test_paired_difference_matches_a_paired_t_test():
    rng = np.random.default_rng(0)
    a = rng.normal(10, 3, 12)
    b = a + rng.normal(1.0, 0.5, 12)
    d = paired_difference(a, b)
    assert d["difference"] == pytest.approx((b - a).mean())
    assert d["p_value"] == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert d["effect_size"] == pytest.approx((b - a).mean() / (b - a).std(ddof=1))
    assert d["distinguishable"] and d["n"] == 12
    noise = paired_difference(a, a + rng.normal(0, 1, 12) * 0.01 - 0.0)
    assert noise["ci_low"] < noise["difference"] < noise["ci_high"]


def test_failed_runs_are_left_out_pairwise():
    """A replication missing in either alternative drops out of that pair, never shifts the pairing."""
    rows = []
    for arm, missing in (("a", {0}), ("b", {1})):
        for r in range(4):
            if r not in missing:
                rows.append({"arm": arm, "brand": "X", "replication": r, "seed": r, "sales": 10.0 * r + (arm == "b")})
    runs = pd.DataFrame(rows)
    a, b = paired_values(runs, ("a", "X"), ("b", "X"), "sales")
    assert list(a) == [20.0, 30.0] and list(b) == [21.0, 31.0]
    result = Comparison(arms=[Arm("a"), Arm("b")], brands=["X"], replications=4, seeds=[0, 1, 2, 3], runs=runs,
                        series=pd.DataFrame())
    diff = kpi_table(result, "sales").query("row == 'difference'").iloc[0]
    assert diff["n"] == 2 and diff["difference"] == 1.0


def test_a_difference_that_never_varies_is_judged_by_the_sign_flip_test():
    """Two runs that each gave one sale more prove nothing; six do (2 / 2^6 < 0.05)."""
    two = paired_difference(np.array([0.0, 0.0]), np.array([1.0, 1.0]))
    assert two["p_value"] == 0.5 and not two["distinguishable"]
    six = paired_difference(np.zeros(6), np.ones(6))
    assert six["p_value"] == pytest.approx(2 / 64) and six["distinguishable"]
    same = paired_difference(np.ones(4), np.ones(4))
    assert same["p_value"] == 1.0 and not same["distinguishable"]
