"""Paired comparisons: common random numbers, tables, the command and its bad input."""

import numpy as np
import pandas as pd
import pytest

import simulation
from simulation.cli import main
from simulation.scenario import Scenario, ScenarioError
from simulation.experiments.compare import Arm, compare, parse_arm
from simulation.experiments.executors import LocalExecutor
from simulation.experiments.tasks import derive_seeds, scenario_with
from simulation.model import AttentionModel
from tests.conftest import small_data


def test_replication_i_of_every_arm_shares_graph_and_initial_population():
    base = Scenario.model_validate(small_data()).model_dump(mode="json")
    arms = [Arm("as is"), Arm("all billboard", ("brands.Rel.strategy=billboard",))]
    seed = derive_seeds(5, 3)[1]
    models = [AttentionModel(scenario_with(base, arm.overrides), seed) for arm in arms]
    a, b = (m.population for m in models)
    assert np.array_equal(a.budget, b.budget) and np.array_equal(a.taste, b.taste)
    assert (models[0].network.adjacency() != models[1].network.adjacency()).nnz == 0
    assert models[0].brands[0].strategy != models[1].brands[0].strategy


def test_paired_comparison_tables():
    scenario = Scenario.model_validate(small_data(days=20))
    result = compare(scenario, replications=4, arms=[Arm("base"), Arm("rich", ("brands.Bill.budget_per_day=200",))],
                     executor=LocalExecutor(1))
    assert len(result.runs) == 2 * 4 * 3  # arms x replications x brands
    # paired: replication r has one seed in both arms
    seeds = result.runs.groupby("replication")["seed"].nunique()
    assert (seeds == 1).all() and result.runs["seed"].nunique() == 4
    table = result.tables["impressions"]
    diff = table[(table["row"] == "difference") & (table["brand"] == "Bill")].iloc[0]
    assert diff["difference"] > 0 and diff["distinguishable"]
    rel = table[(table["row"] == "difference") & (table["brand"] == "Rel")].iloc[0]
    assert rel["difference"] == 0  # a relational brand buys no impressions in either arm
    alt = table[table["row"] == "alternative"]
    assert (alt["ci_low"] <= alt["mean"]).all() and (alt["mean"] <= alt["ci_high"]).all()


def test_paired_design_has_less_noise_than_independent_runs():
    """The point of common random numbers: the paired interval of the difference the arms make is narrower.

    The arms change Bill's budget; the difference a strategist reads is Bill's. (Since saturation, §7.3, a
    user's split depends on every sink's utility, so Rel's awareness, which hangs on a few visits to its
    destination, is no longer correlated across the arms at 30 days: pairing does not narrow that one.)
    """
    scenario = Scenario.model_validate(small_data(days=30, events=[]))
    result = compare(scenario, replications=8, arms=[Arm("a"), Arm("b", ("brands.Bill.budget_per_day=30",))],
                     executor=LocalExecutor(1))
    runs = result.runs[result.runs["brand"] == "Bill"]
    for kpi in ("awareness", "sales"):
        a = runs[runs["arm"] == "a"].sort_values("replication")[kpi].to_numpy()
        b = runs[runs["arm"] == "b"].sort_values("replication")[kpi].to_numpy()
        assert np.std(b - a, ddof=1) < np.sqrt(np.var(a, ddof=1) + np.var(b, ddof=1)), kpi


def test_parse_arm():
    arm = parse_arm("mix:brands.B.strategy=mixed,brands.B.relational_share=0.3,brands.B.ad_sinks=[a,b]")
    assert arm == Arm("mix", ("brands.B.strategy=mixed", "brands.B.relational_share=0.3", "brands.B.ad_sinks=[a,b]"))
    assert parse_arm("baseline:") == Arm("baseline")
    with pytest.raises(ScenarioError):
        parse_arm("no colon here")


@pytest.mark.slow
def test_compare_command_and_api(tmp_path, write_yaml, capsys):
    path = write_yaml(small_data(days=10))
    out = tmp_path / "cmp"
    assert main(["compare", str(path), "--replications", "3", "--workers", "2", "--out", str(out), "--quiet"]) == 0
    assert (out / "report.md").exists() and (out / "tables" / "sales.csv").exists()
    assert {p.name for p in out.glob("*.png")} == {"forest.png", "over_time.png"}
    report = (out / "report.md").read_text()
    assert report.index("## Verdict") < report.index("![Paired differences](forest.png)") < report.index("## Every KPI")
    sales = pd.read_csv(out / "tables" / "sales.csv")
    assert set(sales["row"]) == {"alternative", "difference"}
    result = simulation.compare(path, replications=2, workers=1)
    table = result.long_table()
    assert {"kpi", "mean", "ci_low", "ci_high", "difference", "effect_size"} <= set(table.columns)
    assert list(result.verdict.table["alternative"]) == ["Rel", "Bill", "Mix"]


@pytest.mark.parametrize("argv,message", [
    (["--replications", "0"], "expected at least 1"),
    (["--arm", "x:brands.Rel.stratgy=billboard"], "did you mean 'strategy'"),
    (["--arm", "x:brands.Rel.strategy=tv"], "arm 'x'"),
    (["--arm", "nocolon"], "expected NAME:"),
    (["--arm", "a:", "--arm", "a:days=3"], "two arms have this name"),
])
def test_compare_bad_input(tmp_path, write_yaml, capsys, argv, message):
    out = tmp_path / "cmp"
    code = main(["compare", str(write_yaml(small_data(days=5))), "--out", str(out), "--quiet", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_arms_section_of_the_scenario(tmp_path, write_yaml):
    data = small_data(days=8, events=[])
    data["arms"] = [{"name": "cheap ads", "set": {"brands.Bill.cpm": 1.0}},
                    {"name": "dear ads", "set": {"brands.Bill.cpm": 20.0}}]
    out = tmp_path / "arms"
    assert main(["compare", str(write_yaml(data)), "--replications", "3", "--workers", "1", "--out", str(out),
                 "--quiet"]) == 0
    table = pd.read_csv(out / "tables" / "impressions.csv")
    diff = table[(table["row"] == "difference") & (table["brand"] == "Bill")].iloc[0]
    assert diff["arm"] == "dear ads - cheap ads" and diff["difference"] < 0 and diff["distinguishable"]
    assert (diff["first"], diff["second"]) == ("cheap ads", "dear ads")
    assert "**cheap ads**: `brands.Bill.cpm=1.0`" in (out / "report.md").read_text()


def test_a_comparison_whose_runs_all_fail_says_so(tmp_path, write_yaml, capsys):
    (tmp_path / "broken.graphml").write_text("<graphml><not closed")
    path = write_yaml(small_data(days=3, events=[], network={"kind": "file", "path": "broken.graphml"}))
    code = main(["compare", str(path), "--replications", "2", "--workers", "1", "--out", str(tmp_path / "c"),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "all 2 runs failed" in err and "cannot read the graph" in err
    assert not (tmp_path / "c").exists()
