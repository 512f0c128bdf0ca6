"""Incrementality: a brand's sales and ROI against the same runs with its spend at zero."""

import numpy as np
import pytest

from simulation.cli import main
from simulation.experiments.compare import compare
from simulation.experiments.executors import LocalExecutor
from simulation.experiments.incremental import zero_spend_overrides
from simulation.scenario import Scenario
from tests.conftest import small_data, well_known


def test_zero_spend_holds_through_budget_changes():
    data = small_data()
    assert zero_spend_overrides(data, "Rel") == ("brands.Rel.budget_per_day=0", "events.2.budget_per_day=0")
    assert zero_spend_overrides(data, "Bill") == ("brands.Bill.budget_per_day=0",)


def test_incremental_figures_are_paired_differences_from_zero_spend_runs():
    scenario = Scenario.model_validate(well_known(small_data(days=30, market={"p": 0.05})))
    result = compare(scenario, replications=3, executor=LocalExecutor(1), incremental=True)
    zero = result.counterfactual_runs
    for brand in ("Rel", "Bill", "Mix"):  # each brand's counterfactual spends nothing, budget change included
        own = zero[zero["arm"].str.contains(f"zero spend: {brand} ") & (zero["brand"] == brand)]
        assert len(own) == 3 and (own["spend"] == 0).all()
    table = result.incremental.set_index("brand")
    for brand in ("Rel", "Bill", "Mix"):
        actual = result.runs[result.runs["brand"] == brand].set_index("replication").sort_index()
        at_zero = zero[zero["arm"].str.contains(f"zero spend: {brand} ") & (zero["brand"] == brand)]
        at_zero = at_zero.set_index("replication").sort_index()
        assert table.at[brand, "incremental_sales_mean"] == pytest.approx((actual["sales"] - at_zero["sales"]).mean())
        roi = (0.5 * (actual["revenue"] - at_zero["revenue"]) - actual["spend"]) / actual["spend"]
        assert table.at[brand, "incremental_roi_mean"] == pytest.approx(roi.mean())
        assert table.at[brand, "roi_overstated_by_mean"] == pytest.approx((actual["roi"] - roi).mean())
    # a brand sells at zero spend: the attributed ROI overstates what its spend bought
    assert (table["sales_at_zero_spend_mean"] > 0).all()
    assert np.all(table["incremental_roi_mean"] < table["roi_mean"])


@pytest.mark.slow
def test_the_compare_report_sets_incremental_beside_attributed(tmp_path, write_yaml):
    out = tmp_path / "inc"
    assert main(["compare", str(write_yaml(small_data(days=20, events=[], market={"p": 0.05}))), "--replications",
                 "2", "--workers", "1", "--incremental", "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "## What the spend added: incremental against attributed" in report
    assert "| brand | sales (attributed) | sales at zero spend | incremental sales | ROI (attributed) |" in report
    assert (out / "incremental.csv").exists()
    assert "zero spend" not in (out / "verdict.csv").read_text()  # counterfactuals are not alternatives


def test_the_media_mix_model_recovers_a_known_effect_and_refuses_a_steady_budget():
    import pandas as pd

    from simulation.experiments.incremental import media_mix

    days = np.arange(1, 141)
    spend = np.where((days // 14) % 2 == 0, 100.0, 10.0)  # a pulsed budget: two weeks on, two weeks low
    sales = 2 + 0.1 * spend
    fit = media_mix(pd.DataFrame({"day": days, "spend": spend, "sales": sales, "revenue": 40 * sales}), margin=0.5)
    assert fit["mmm_decay"] == 0.0 and fit["mmm_incremental_sales"] == pytest.approx(0.1 * spend.sum())
    assert fit["mmm_roi"] == pytest.approx((0.5 * 40 * 0.1 * spend.sum() - spend.sum()) / spend.sum())
    steady = media_mix(pd.DataFrame({"day": days, "spend": 50.0, "sales": 3.0, "revenue": 120.0}), margin=0.5)
    assert np.isnan(steady["mmm_roi"])


def test_run_incremental_sets_one_draw_beside_the_attributed_figures(tmp_path, write_yaml):
    import json

    out = tmp_path / "run"
    assert main(["run", str(write_yaml(small_data(days=20, market={"p": 0.05}))), "--incremental", "--out", str(out),
                 "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for name, f in summary["incremental"].items():
        brand = summary["brands"][name]
        assert f["sales"] == brand["sales"] and f["incremental_sales"] == f["sales"] - f["sales_at_zero_spend"]
        spend = brand["spend"]
        assert f["incremental_roi"] == pytest.approx((0.5 * f["incremental_revenue"] - spend) / spend)
    report = (out / "report.md").read_text()
    assert "### What the spend added in this run" in report and "One draw, no interval" in report



def test_run_incremental_n_gives_intervals_over_n_paired_replications(tmp_path, write_yaml, capsys):
    import pandas as pd

    scenario = str(write_yaml(small_data(days=20, market={"p": 0.05})))
    one, three = tmp_path / "one", tmp_path / "three"
    assert main(["run", scenario, "--incremental", "1", "--out", str(one), "--quiet"]) == 0
    assert not (one / "incremental.csv").exists()
    assert "incremental against attributed" not in (one / "report.md").read_text()

    assert main(["run", scenario, "--incremental", "3", "--out", str(three), "--quiet"]) == 0
    table = pd.read_csv(three / "incremental.csv").set_index("brand")
    assert set(table.index) == {"Rel", "Bill", "Mix"} and (table["n"] == 3).all()
    assert (table["incremental_roi_low"] <= table["incremental_roi_mean"]).all()
    assert (table["incremental_roi_mean"] <= table["incremental_roi_high"]).all()
    report = (three / "report.md").read_text()
    assert "Over 3 paired replications" in report and "### What the spend added: incremental against attributed" in report
    assert "the next section gives the intervals" in report
    dictionary = pd.read_csv(three / "data_dictionary.csv")
    assert "incremental_roi_*" in set(dictionary.loc[dictionary["table"].str.startswith("incremental.csv"), "column"])

    capsys.readouterr()
    assert main(["run", scenario, "--incremental", "0", "--out", str(tmp_path / "zero"), "--quiet"]) == 2
    assert "--incremental: expected a number of replications from 1 to 1000, found 0" in capsys.readouterr().err
    assert not (tmp_path / "zero").exists()
