"""Sweeps under faults: every run exactly once, with the results of an uninterrupted sweep.

A run file that is not the run its name says, a driver killed with -9, a worker killed with -9: each
is done with real files, real processes and real signals.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

import simulation
from simulation.cli import main
from simulation.experiments import executors
from simulation.experiments.tasks import RunTask, derive_seeds, execute
from simulation.scenario import Scenario
from tests.conftest import small_data

ROOT = Path(simulation.__file__).resolve().parents[1]  # the tree under test (a worktree too), for run.py


def _table(out: Path) -> pd.DataFrame:
    """The results a user relies on: which run, its seed, its parameters and every KPI (not its timing)."""
    table = pd.read_parquet(out / "results.parquet")
    return table[["run_id", "seed", *sorted(c for c in table.columns if "/" in c or c.startswith("param:"))]]


def _argv(path: Path, out: Path, *more: str) -> list[str]:
    return ["sweep", str(path), "--vary", "market.q=0.01,0.2", "--vary", "brands.Bill.budget_per_day=10,40",
            "--replications", "2", "--days", "4", "--series", "--workers", "1", "--out", str(out), "--quiet", *more]


@pytest.mark.slow
def test_a_run_file_that_is_not_its_run_is_done_again(tmp_path, write_yaml, capsys):
    """Copied, cut short, from another experiment, without a digest, a stray id, a foreign series: each
    such file is said, removed and its run done again; the results are those of the sweep never touched."""
    path = write_yaml(small_data(days=4, population={"users": 300}))
    out, other = tmp_path / "sw", tmp_path / "other"
    assert main(_argv(path, out)) == 0
    clean = _table(out)
    assert main(_argv(path, other, "--seed", "99")) == 0  # another experiment: another master seed
    runs = out / "runs"
    shutil.copy(runs / "run-0000001.parquet", runs / "run-0000002.parquet")  # another run's readable file
    data = (runs / "run-0000003.parquet").read_bytes()
    (runs / "run-0000003.parquet").write_bytes(data[: len(data) // 2])  # cut short
    shutil.copy(other / "runs" / "run-0000004.parquet", runs / "run-0000004.parquet")  # same id, other sweep
    pd.read_parquet(runs / "run-0000005.parquet").to_parquet(runs / "run-0000005.parquet")  # no digest
    shutil.copy(runs / "run-0000000.parquet", runs / "run-0000099.parquet")  # no such run in this sweep
    shutil.copy(out / "series" / "run-0000007.parquet", out / "series" / "run-0000006.parquet")  # foreign series
    capsys.readouterr()

    assert main(_argv(path, out)) == 0
    err = capsys.readouterr().err
    assert "runs/run-0000002.parquet holds run 1, not run 2: run 2 is done again" in err
    assert "runs/run-0000003.parquet is unreadable or cut short: run 3 is done again" in err
    assert "runs/run-0000004.parquet belongs to another experiment: run 4 is done again" in err
    assert "runs/run-0000005.parquet carries no run digest" in err and "run 5 is done again" in err
    assert "runs/run-0000099.parquet is no run of this sweep: removed" in err
    assert "runs/run-0000006.parquet has its daily series (series/run-0000006.parquet) holds run 7" in err
    assert "Traceback" not in err
    resumed = _table(out)
    assert list(resumed["run_id"]) == list(range(8))  # each run once, none lost
    pd.testing.assert_frame_equal(resumed, clean)
    series = pd.read_parquet(out / "series" / "run-0000006.parquet")
    assert set(series["run_id"]) == {6}
    assert not (runs / "run-0000099.parquet").exists()

    capsys.readouterr()  # a folder left whole resumes silently, every run done
    assert main(_argv(path, out)) == 0
    assert "done again" not in capsys.readouterr().err
    pd.testing.assert_frame_equal(_table(out), clean)


# ---------------------------------------------------------------- processes

def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _start_sweep(path: Path, out: Path, workers: int, *more: str) -> subprocess.Popen:
    command = [sys.executable, str(ROOT / "run.py"), "sweep", str(path), "--vary", "market.q=0.01,0.05,0.1,0.2",
               "--replications", "2", "--workers", str(workers), "--out", str(out), "--quiet", *more]
    return subprocess.Popen(command, cwd=ROOT, env=_env(), start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _workers(driver: psutil.Process) -> list[psutil.Process]:
    """The driver's worker processes: forked by its fork server, hence its grandchildren."""
    found = []
    for child in driver.children():
        try:
            found += child.children()
        except psutil.NoSuchProcess:
            pass
    return found


def _wait_for_workers(driver: psutil.Process, count: int, seconds: float = 120) -> list[psutil.Process]:
    deadline = time.time() + seconds
    while time.time() < deadline:
        workers = _workers(driver)
        if len(workers) >= count:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"the sweep never started {count} worker processes")


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill_all(processes: list[psutil.Process]) -> None:
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.mark.slow
def test_killing_the_driver_leaves_no_worker_running(tmp_path, write_yaml):
    """kill -9 of the driver: its 4 workers (and the fork server) are gone within 5 s, none left on a core."""
    path = write_yaml(small_data(days=400, population={"users": 2000}))
    process = _start_sweep(path, tmp_path / "sw", 4)
    driver = psutil.Process(process.pid)
    left = []
    try:
        workers = _wait_for_workers(driver, 4)
        left = [*driver.children(recursive=True)]
        time.sleep(1)  # in the middle of their runs
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.time() + 5
        while time.time() < deadline and any(_running(p) for p in left):
            time.sleep(0.1)
        alive = [p.pid for p in left if _running(p)]
        assert len(workers) == 4 and not alive, f"still running 5 s after the driver died: {alive}"
        # the folder where its workers noted their runs stays behind; the next local pool removes it
        behind = list(Path(tempfile.gettempdir()).glob(f"attention-market-workers-{process.pid}-*"))
        assert behind
        assert list(executors.LocalExecutor(2).run([])) == []
        assert not any(b.exists() for b in behind)
    finally:
        _kill_all(left)
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.mark.slow
def test_a_worker_killed_mid_run_costs_no_run(tmp_path, write_yaml):
    """kill -9 of one worker: its run is tried again, the runs in flight elsewhere are run again; every run is
    done once and ok, with the results of an uninterrupted sweep."""
    path = write_yaml(small_data(days=150, population={"users": 1500}))
    out = tmp_path / "sw"
    process = _start_sweep(path, out, 2)
    driver = psutil.Process(process.pid)
    left = []
    try:
        workers = _wait_for_workers(driver, 2)
        deadline = time.time() + 120
        while time.time() < deadline and not list((out / "runs").glob("run-*.parquet")):
            time.sleep(0.05)
        assert len(list((out / "runs").glob("run-*.parquet"))) <= 3, "the sweep should be in the middle"
        left = [*driver.children(recursive=True)]
        workers[0].kill()
        _, err = process.communicate(timeout=300)
    finally:
        _kill_all(left)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not _running(workers[0])
    assert process.returncode == 0, err
    results = pd.read_parquet(out / "results.parquet")
    assert (results["status"] == "ok").all(), results.loc[results["status"] != "ok", ["run_id", "error"]]
    assert list(results["run_id"]) == list(range(8))
    reference = tmp_path / "reference"
    assert main(["sweep", str(path), "--vary", "market.q=0.01,0.05,0.1,0.2", "--replications", "2",
                 "--workers", "1", "--out", str(reference), "--quiet"]) == 0
    pd.testing.assert_frame_equal(_table(out), _table(reference))


def _dies_on_run_2(task: RunTask) -> dict:
    """In a worker: kill this worker process (-9) when it starts run 2, on every attempt or only the first
    (label `every`); each attempt leaves a mark in the folder of label `marks`."""
    marks = Path(task.labels["marks"])
    attempt = len(list(marks.glob(f"run-{task.run_id}-*"))) + 1
    (marks / f"run-{task.run_id}-{attempt}").touch()
    if task.run_id == 2 and (task.labels["every"] or attempt == 1):
        os.kill(os.getpid(), signal.SIGKILL)
    return execute(task)


def _tasks(marks: Path, every: bool) -> list[RunTask]:
    scenario = Scenario.model_validate(small_data(days=3, population={"users": 200}))
    base = scenario.model_dump(mode="json")
    seeds = derive_seeds(5, 6)
    return [RunTask(run_id=i, scenario=base, overrides=(), seed=seeds[i], days=3,
                    labels={"marks": str(marks), "every": every}) for i in range(6)]


@pytest.mark.slow
def test_a_run_that_kills_its_worker_every_time_is_tried_twice_then_recorded_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "execute", _dies_on_run_2)
    rows = list(executors.LocalExecutor(2).run(_tasks(tmp_path, every=True)))
    assert sorted(r["run_id"] for r in rows) == list(range(6))  # each run's row once
    failed = [r for r in rows if r["status"] != "ok"]
    assert [r["run_id"] for r in failed] == [2], [(r["run_id"], r["error"]) for r in failed]
    assert "SIGKILL" in failed[0]["error"] and "tried 2 times" in failed[0]["error"]
    assert len(list(tmp_path.glob("run-2-*"))) == 2  # tried once more, not again and again


@pytest.mark.slow
def test_a_run_whose_worker_dies_once_is_tried_again_and_gives_its_results(tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "execute", _dies_on_run_2)
    tasks = _tasks(tmp_path, every=False)
    rows = sorted(executors.LocalExecutor(2).run(tasks), key=lambda r: r["run_id"])
    assert [r["run_id"] for r in rows] == list(range(6)) and all(r["status"] == "ok" for r in rows)
    assert len(list(tmp_path.glob("run-2-*"))) == 2
    expected = [execute(t) for t in tasks]  # in this process, never interrupted
    kpis = [k for k in expected[0] if "/" in k]
    pd.testing.assert_frame_equal(pd.DataFrame(rows)[["run_id", "seed", *kpis]],
                                  pd.DataFrame(expected)[["run_id", "seed", *kpis]])
