"""Sweeps: points, seeds, resumption after a kill, a folder guarded against mixing, bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import simulation
from simulation.cli import main
from simulation.scenario import Scenario, ScenarioError
from simulation.experiments.sweep import parse_vary, plan_sweep
from tests.conftest import ROOT, small_data

KPI_COLUMNS = lambda table: sorted(c for c in table.columns if "/" in c or c.startswith("param:"))  # noqa: E731


def test_points_and_seeds():
    scenario = Scenario.model_validate(small_data())
    plan = plan_sweep(scenario, ["market.q=0.01,0.1", "population.habit=0:2:3"], replications=2)
    assert len(plan.points) == 6 and {p["population.habit"] for p in plan.points} == {0, 1, 2}
    tasks = list(plan.tasks())
    assert len(tasks) == 12 and len({t.run_id for t in tasks}) == 12
    assert {t.seed for t in tasks} == set(plan.seeds) and len(set(plan.seeds)) == 2  # replication r: one seed
    lhs = plan_sweep(scenario, ["market.q=0.01:0.2", "population.users=100:900"], replications=1, sample="lhs",
                     samples=10)
    qs = sorted(p["market.q"] for p in lhs.points)
    assert all(0.01 <= q <= 0.2 for q in qs) and all(isinstance(p["population.users"], int) for p in lhs.points)
    # Latin hypercube: one point in each tenth of the range
    assert sorted(int((q - 0.01) / 0.019) for q in qs) == list(range(10))
    other = plan_sweep(scenario, ["market.q=0.01:0.2"], replications=1, sample="random", samples=5, master_seed=9)
    again = plan_sweep(scenario, ["market.q=0.01:0.2"], replications=1, sample="random", samples=5, master_seed=9)
    assert other.points == again.points and other.spec_hash == again.spec_hash


def test_parse_vary():
    assert parse_vary("a.b=1,2,3").values == (1, 2, 3)
    assert parse_vary("a.b=billboard,relational").values == ("billboard", "relational")
    v = parse_vary("a.b=0.1:0.5:5")
    assert v.grid() == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    assert parse_vary("a.b=[x,y],[z]").values == (["x", "y"], ["z"])


@pytest.mark.parametrize("vary,message", [
    (["market.qq=1,2"], "did you mean 'q'"),
    (["market.q=0.5:0.1:3"], "lo (0.5) is greater than hi (0.1)"),
    (["market.q=2,3"], "less than or equal to 1"),
    ([], "give at least one key"),
    (["market.q=0:1"], "a grid needs a number of points"),
])
def test_sweep_bad_input(tmp_path, write_yaml, capsys, vary, message):
    out = tmp_path / "sw"
    argv = ["sweep", str(write_yaml(small_data(days=3))), "--out", str(out), "--quiet"]
    for v in vary:
        argv += ["--vary", v]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_zero_replications(tmp_path, write_yaml, capsys):
    code = main(["sweep", str(write_yaml(small_data(days=3))), "--vary", "market.q=0.1", "--replications", "0",
                 "--out", str(tmp_path / "sw"), "--quiet"])
    assert code == 2 and "expected at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, write_yaml):
    """A run that raises inside a worker (here: a graph file that exists but is broken) is recorded."""
    (tmp_path / "good.txt").write_text("".join(f"{i} {(i + 1) % 50}\n" for i in range(50)))
    (tmp_path / "broken.graphml").write_text("<graphml><not closed")
    data = small_data(days=3, network={"kind": "file", "path": "good.txt"}, events=[], population={})
    path = write_yaml(data)
    vary = [f"network.path={tmp_path / 'good.txt'},{tmp_path / 'broken.graphml'}"]
    results = simulation.sweep(path, vary=vary, replications=2, out=tmp_path / "sw", workers=1)
    failed = results[results["status"] == "failed"]
    assert len(results) == 4 and len(failed) == 2
    assert failed["param:network.path"].str.endswith("broken.graphml").all()
    assert failed["error"].str.contains("cannot read the graph").all() and failed["seed"].notna().all()
    assert main(["sweep", str(path), "--vary", vary[0], "--replications", "2", "--workers", "1",
                 "--out", str(tmp_path / "sw"), "--quiet"]) == 0
    report = (tmp_path / "sw" / "report.md").read_text()
    assert "2 ok, 2 failed" in report and "cannot read the graph" in report


def _sweep_command(path, out, workers="1"):
    return [sys.executable, str(ROOT / "run.py"), "sweep", str(path), "--vary", "market.q=0.01,0.05,0.1,0.2",
            "--vary", "brands.Bill.budget_per_day=10,40", "--replications", "2", "--days", "40", "--series",
            "--workers", workers, "--out", str(out), "--quiet"]


@pytest.mark.slow
def test_resume_after_kill_finishes_every_run_exactly_once(tmp_path, write_yaml):
    path = write_yaml(small_data(days=40, population={"users": 1500}))
    out = tmp_path / "killed"
    process = subprocess.Popen(_sweep_command(path, out), cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "runs").glob("run-*.parquet"))) < 4:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    partial = len(list((out / "runs").glob("run-*.parquet")))
    assert 4 <= partial < 16, "the sweep should have been killed in the middle"
    assert not (out / "results.parquet").exists()

    # a different specification on the same folder is refused
    changed = _sweep_command(path, out)
    changed[changed.index("2")] = "3"  # --replications 3
    done = subprocess.run(changed, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "holds another experiment" in done.stderr

    done = subprocess.run(_sweep_command(path, out, workers="2"), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    resumed = pd.read_parquet(out / "results.parquet")
    assert sorted(resumed["run_id"]) == list(range(16))
    assert len(list((out / "series").glob("*.parquet"))) == 16

    fresh = tmp_path / "fresh"
    done = subprocess.run(_sweep_command(path, fresh), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    uninterrupted = pd.read_parquet(fresh / "results.parquet")
    columns = KPI_COLUMNS(uninterrupted)
    pd.testing.assert_frame_equal(resumed[["run_id", "seed", *columns]], uninterrupted[["run_id", "seed", *columns]])
    spec = json.loads((out / "spec.json").read_text())
    assert spec["replications"] == 2 and spec["vary"][0].startswith("market.q=")


def test_real_and_whole_number_ranges(tmp_path):
    scenario = Scenario.model_validate(small_data())
    plan = plan_sweep(scenario, ["market.q=0:1:5", "population.users=100:102", "market.p=1e-3,2e-3"],
                      replications=1, sample="random", samples=200)
    assert {round(p["market.q"], 6) for p in plan.points} != {0.0, 1.0}  # a real key stays real
    users = [p["population.users"] for p in plan.points]
    assert set(users) == {100, 101, 102} and min(users.count(u) for u in (100, 101, 102)) > 40  # ends not starved
    assert {p["market.p"] for p in plan.points} == {0.001, 0.002}
    grid = plan_sweep(scenario, ["market.q=0:1:5"], replications=1)
    assert [p["market.q"] for p in grid.points] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_vary_and_set_on_one_key_is_refused(tmp_path, write_yaml, capsys):
    code = main(["sweep", str(write_yaml(small_data(days=3))), "--vary", "market.q=0.1,0.2", "--set", "market.q=0.9",
                 "--out", str(tmp_path / "sw"), "--quiet"])
    assert code == 2 and "also fixed with --set" in capsys.readouterr().err


def test_workers_zero_is_refused(tmp_path, write_yaml, capsys):
    code = main(["sweep", str(write_yaml(small_data(days=3))), "--vary", "market.q=0.1", "--workers", "0",
                 "--out", str(tmp_path / "sw"), "--quiet"])
    assert code == 2 and "--workers: expected at least 1" in capsys.readouterr().err


def test_force_never_deletes_the_scenario(tmp_path, write_yaml, capsys):
    path = write_yaml(small_data(days=3))
    (tmp_path / ".attention-market").write_text("")
    code = main(["sweep", str(path), "--vary", "market.q=0.1", "--out", str(tmp_path), "--force", "--quiet"])
    assert code == 2 and path.exists()


def test_a_run_failing_inside_a_worker_process_is_recorded(tmp_path, write_yaml):
    (tmp_path / "good.txt").write_text("".join(f"{i} {(i + 1) % 50}\n" for i in range(50)))
    (tmp_path / "broken.graphml").write_text("<graphml><not closed")
    path = write_yaml(small_data(days=3, network={"kind": "file", "path": "good.txt"}, events=[],
                                 population={}))
    vary = [f"network.path={tmp_path / 'good.txt'},{tmp_path / 'broken.graphml'}"]
    results = simulation.sweep(path, vary=vary, replications=3, out=tmp_path / "sw", workers=2)
    assert len(results) == 6 and (results["status"] == "failed").sum() == 3
