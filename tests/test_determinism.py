"""Same scenario + same seed = the same bytes; another seed differs."""

import pytest
import json

from simulation.cli import main
from tests.conftest import small_data

TABLES = ["sinks.csv", "brands.csv", "model.csv", "users.csv",
          "sinks.parquet", "brands.parquet", "model.parquet", "users.parquet"]


def _run(path, out, seed):
    assert main(["run", str(path), "--out", str(out), "--seed", str(seed), "--quiet"]) == 0
    return out


def _numbers(out):
    summary = json.loads((out / "summary.json").read_text())
    summary["provenance"].pop("run_seconds")
    return summary


def test_same_seed_same_bytes_other_seed_differs(tmp_path, write_yaml):
    path = write_yaml(small_data(collect={"sample_users": 5}))
    a = _run(path, tmp_path / "a", 11)
    b = _run(path, tmp_path / "b", 11)
    c = _run(path, tmp_path / "c", 12)
    for name in TABLES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert _numbers(a) == _numbers(b)
    assert (a / "brands.csv").read_bytes() != (c / "brands.csv").read_bytes()
    assert (a / "sinks.parquet").read_bytes() != (c / "sinks.parquet").read_bytes()
    assert _numbers(a)["brands"] != _numbers(c)["brands"]


def test_following_a_sample_of_users_does_not_change_the_run():
    from simulation.scenario import Scenario
    from simulation.runner import run_simulation

    plain = run_simulation(Scenario.model_validate(small_data(days=15)))
    sampled = run_simulation(Scenario.model_validate(small_data(days=15, collect={"sample_users": 20})))
    assert plain.brands.equals(sampled.brands) and plain.sinks.equals(sampled.sinks)
    assert len(sampled.users) == 15 * 20 * 3


def test_a_platform_keeps_its_hype_until_it_opens():
    from simulation.scenario import Scenario
    from simulation.model import AttentionModel

    model = AttentionModel(Scenario.model_validate(small_data()))
    newcomer = model.sink("newcomer")
    for _ in range(9):
        model.step()
    assert newcomer.novelty == 2.0 and newcomer.minutes_today == 0.0
    model.step()
    assert newcomer.active and newcomer.minutes_today > 0


@pytest.mark.slow
def test_identical_bytes_across_processes_and_hash_seeds(tmp_path, write_yaml):
    """Set and dict ordering must never reach the results: two processes, two hash seeds, same bytes."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    path = write_yaml(small_data(days=15))
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(path), "--out", str(out), "--quiet"],
                              env=env, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        outs.append(out)
    for name in ("sinks.csv", "brands.csv", "sinks.parquet", "brands.parquet", "report.md"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
