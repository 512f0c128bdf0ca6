"""compare's verdict: Holm's correction, the best marked only where the paired differences say so, the words."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from simulation.cli import main
from simulation.experiments.compare import Arm, best_set, compare
from simulation.experiments.executors import LocalExecutor
from simulation.experiments.stats import holm
from simulation.scenario import Scenario
from tests.conftest import small_data, well_known


def test_holm_adjusts_in_order_and_leaves_nan_out_of_the_family():
    adjusted = holm(np.array([0.01, 0.04, 0.03, np.nan]))
    assert np.allclose(adjusted[:3], [0.03, 0.06, 0.06]) and np.isnan(adjusted[3])
    assert np.allclose(holm(np.array([0.5, 0.9])), [1.0, 1.0])  # monotone, capped at 1


def _diffs(rows):
    return pd.DataFrame([{"first": a, "second": b, "difference": d, "distinguishable": told} for a, b, d, told in rows])


def test_the_best_place_is_shared_only_by_alternatives_told_from_all_the_others():
    means = pd.Series({"A": 10.0, "B": 5.0, "C": 9.5})
    # A and C not told apart, both told above B: they share the best place
    assert best_set(_diffs([("A", "B", -5, True), ("A", "C", -0.5, False), ("B", "C", 4.5, True)]), means, 1) == ["A", "C"]
    # C not told from B: no best at all
    assert best_set(_diffs([("A", "B", -5, True), ("A", "C", -0.5, False), ("B", "C", 4.5, False)]), means, 1) == []
    # lower is better: B
    assert best_set(_diffs([("A", "B", -5, True), ("A", "C", -0.5, False), ("B", "C", 4.5, True)]), means, -1) == ["B"]
    # two alternatives that are not told apart: no best
    assert best_set(_diffs([("A", "B", -5, False)]), means[["A", "B"]], 1) == []


def test_a_dearer_price_wins_on_revenue_and_roi_but_not_on_sales():
    """Price changes nothing users do: the paired sales are identical, revenue and ROI are not."""
    scenario = Scenario.model_validate(small_data(days=30, events=[], market={"p": 0.05}))
    result = compare(scenario, replications=4, executor=LocalExecutor(1),
                     arms=[Arm("cheap"), Arm("dear", ("brands.Bill.price=100",))])
    verdict = result.verdict
    assert list(verdict.groups) == ["Bill"]  # the arms change Bill only: the verdict is about Bill
    table = verdict.table.set_index("alternative")
    assert table.at["dear", "revenue_best"] and table.at["dear", "roi_best"]
    assert not table["sales_best"].any() and not table.at["cheap", "revenue_best"]
    sales = verdict.differences[verdict.differences["kpi"] == "sales"].iloc[0]
    assert sales["difference"] == 0 and sales["p_value"] == 1.0 and not sales["distinguishable"]
    assert verdict.family == 5 and (verdict.differences["p_holm"] >= verdict.differences["p_value"]).all()
    smallest = verdict.differences["p_value"].min()
    assert verdict.differences["p_holm"].min() == pytest.approx(min(1.0, 5 * smallest))  # Holm over the 5


@pytest.mark.slow
def test_the_compare_report_opens_with_the_question_and_the_verdict(tmp_path, write_yaml):
    data = small_data(days=30, events=[], market={"p": 0.05})
    data["question"] = "Does a dearer price pay?"
    data["currency"] = "EUR"
    data["arms"] = [{"name": "cheap", "set": {}}, {"name": "dear", "set": {"brands.Bill.price": 100}}]
    out = tmp_path / "cmp"
    assert main(["compare", str(write_yaml(data)), "--replications", "4", "--workers", "1", "--out", str(out),
                 "--quiet", "--set", "population.users=400"]) == 0
    report = (out / "report.md").read_text()
    head = report.split("## What was run")[0]
    assert head.index("**Question.** Does a dearer price pay?") < head.index("## Verdict") < head.index("forest.png")
    assert "| alternative | sales | revenue (EUR) | ROI | cost per acquisition (EUR per adopter) | trust |" in head
    assert "- sales: undecided: the alternatives are identical in every paired replication" in head
    assert re.search(r"- revenue: \*\*dear\*\* \([0-9,]+ EUR\) has the most revenue, against [0-9,]+ EUR for cheap", head)
    assert "In brief: **dear** has most revenue and best ROI; undecided on sales" in head
    assert "Holm's correction over the 5 paired differences" in head
    assert "`population.users=400`" in report and "SHA-256" in report
    record = json.loads((out / "comparison.json").read_text())
    assert record["overrides"] == ["population.users=400"] and len(record["scenario_sha256"]) == 64
    assert record["days"] == 30 and len(record["seeds"]) == 4 and record["engine"]["engine_digest"]
    verdict = pd.read_csv(out / "verdict.csv")
    assert list(verdict["alternative"]) == ["cheap", "dear"]
    assert "−" not in report and "inf" not in (out / "differences.csv").read_text()
    assert (out / "report.html").exists() and (out / "data_dictionary.csv").exists()


def test_a_kpi_undefined_in_some_runs_is_not_compared():
    """A brand without adopters in most runs must not win on cost per acquisition from its few lucky runs."""
    from simulation.experiments.compare import Comparison, KPIS, make_verdict
    from simulation.experiments.output import verdict_paragraph

    rows = []
    for r in range(10):
        lucky = r < 3
        rows.append({"arm": "as written", "brand": "A", "replication": r, "seed": r, **{k: 1.0 for k in KPIS},
                     "sales": 2.0 if lucky else 0.0, "adopters": 2.0 if lucky else 0.0,
                     "cost_per_acquisition": 5.0 if lucky else np.nan})
        rows.append({"arm": "as written", "brand": "B", "replication": r, "seed": r, **{k: 1.0 for k in KPIS},
                     "sales": 10.0 + r, "adopters": 8.0, "cost_per_acquisition": 20.0 + r})
    result = Comparison(arms=[Arm("as written")], brands=["A", "B"], replications=10, seeds=list(range(10)),
                        runs=pd.DataFrame(rows), series=pd.DataFrame())
    verdict = make_verdict(result, None)
    cpa = verdict.differences[verdict.differences["kpi"] == "cost_per_acquisition"].iloc[0]
    assert cpa["undefined_runs"] == 7 and np.isnan(cpa["p_value"]) and not cpa["distinguishable"]
    assert not verdict.table["cost_per_acquisition_best"].any()
    assert verdict.table.set_index("alternative").at["B", "sales_best"]
    text = "\n".join(verdict_paragraph(verdict, Scenario.model_validate(small_data())))
    assert "- cost per acquisition: not compared: undefined in 7 of 10 runs of A (no adopters)" in text


def test_three_alternatives_get_a_pair_by_pair_table_and_the_brands_as_run():
    from simulation.experiments.output import pair_lines
    from simulation.outputs.report import brands_as_run
    from simulation.experiments.tasks import scenario_with

    scenario = Scenario.model_validate(well_known(small_data(days=30, events=[], market={"p": 0.05})))
    arms = [Arm("cheap"), Arm("dear", ("brands.Bill.price=100",)), Arm("rich", ("brands.Bill.budget_per_day=60",))]
    result = compare(scenario, replications=4, executor=LocalExecutor(1), arms=arms)
    table = "\n".join(pair_lines(result.verdict))
    assert "| pair | sales | revenue | ROI | cost per acquisition | trust |" in table
    dear = next(line for line in table.splitlines() if line.startswith("| dear vs cheap |"))
    assert dear.split(" | ")[1] == "-" and dear.split(" | ")[2].startswith("dear (")  # same sales, more revenue
    base = scenario.model_dump(mode="json")
    text = "\n".join(brands_as_run(scenario, [(a.name, scenario_with(base, a.overrides)) for a in arms]))
    assert "| rich | Bill | billboard | 60 units |" in text
    assert "The brands' budgets differ in rich: compare sales and ROI with that in mind." in text
    assert pair_lines(compare(scenario, replications=2, executor=LocalExecutor(1), arms=arms[:2]).verdict) == []
