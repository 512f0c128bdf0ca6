"""Shared builders for small scenarios."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from simulation.scenario import Scenario

# Tests never write built graphs into the user's cache (tests/test_graph_cache.py points it at tmp_path).
os.environ["ATTENTION_MARKET_GRAPH_CACHE"] = "off"

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

SMALL = {
    "name": "small",
    "days": 40,
    "seed": 3,
    "population": {"users": 600},
    "network": {"kind": "barabasi_albert", "m": 3},
    "sinks": [
        {"name": "social", "kind": "social", "appeal": 0.5, "ad_load": 1.0, "network_effect": 1.5},
        {"name": "email", "kind": "email", "appeal": 0.0, "ad_load": 0.3},
        {"name": "games", "kind": "game", "appeal": 0.0, "ad_load": 1.5},
        {"name": "news", "kind": "media", "appeal": -0.5, "ad_load": 2.0},
    ],
    "brands": [
        {"name": "Rel", "strategy": "relational", "budget_per_day": 20, "price": 40},
        {"name": "Bill", "strategy": "billboard", "budget_per_day": 20, "price": 40},
        {"name": "Mix", "strategy": "mixed", "relational_share": 0.5, "budget_per_day": 20, "price": 40},
    ],
    "events": [
        {"type": "platform_launch", "day": 10,
         "sink": {"name": "newcomer", "kind": "social", "novelty": 2.0, "network_effect": 2.0, "ad_load": 1.0}},
        {"type": "crisis", "day": 15, "brand": "Bill", "share": 0.5},
        {"type": "budget_change", "day": 20, "brand": "Rel", "budget_per_day": 40},
        {"type": "platform_close", "day": 30, "sink": "news"},
    ],
}


def small_data(**changes) -> dict:
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return data


def well_known(data: dict, awareness: float = 0.5) -> dict:
    """`data` with brands that every user already knows somewhat: they sell from day 1, even at zero spend
    (for tests that need sales to compare; a new brand's 0.02 makes few in a small, short run)."""
    for brand in data["brands"]:
        brand["initial_awareness"] = awareness
    return data


@pytest.fixture
def small_scenario() -> Scenario:
    return Scenario.model_validate(small_data())


@pytest.fixture
def write_yaml(tmp_path):
    def write(data: dict | str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path
    return write


def summary_figures(scenario: Scenario) -> dict:
    """What the golden files hold: each brand's summary and each sink's share of attention."""
    from simulation.runner import run_simulation

    s = run_simulation(scenario).summary
    return {"brands": s["brands"], "sinks": {name: {"share": v["share"]} for name, v in s["sinks"].items()}}


def check_golden(figures: dict, path: Path) -> None:
    """Assert `figures` equal the golden file (floats to 1e-9); UPDATE_GOLDEN=1 rewrites it first."""
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(figures, indent=2) + "\n")
    golden = json.loads(path.read_text())
    assert figures["brands"].keys() == golden["brands"].keys()
    for brand, values in golden["brands"].items():
        for key, expected in values.items():
            got = figures["brands"][brand][key]
            if isinstance(expected, float):
                assert got == pytest.approx(expected, rel=1e-9), (brand, key)
            else:
                assert got == expected, (brand, key)
    for sink, values in golden["sinks"].items():
        assert figures["sinks"][sink]["share"] == pytest.approx(values["share"], rel=1e-9), sink


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for servers the tests start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, seconds: float, step: float = 0.01) -> bool:
    """Whether `condition()` comes true within `seconds`, asked every `step` seconds (and once more at the end)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@contextlib.contextmanager
def serving(*args: str, log_name: str, seconds: float = 120):
    """`run.py serve` on a free port of 127.0.0.1 until it answers; yields (its root URL, its log file).

    The log is test-artifacts/<log_name>; the server is stopped with its process group at the end."""
    port = free_port()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    log_path = ROOT / "test-artifacts" / log_name
    root = f"http://127.0.0.1:{port}/"

    def answering() -> bool:
        try:
            return urllib.request.urlopen(root, timeout=2).status == 200
        except OSError:
            return False

    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "serve", "--port", str(port), *args],
                                   cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            if not wait_for(answering, seconds, step=0.5):
                pytest.fail(f"serve did not answer within {seconds:.0f} s; see {log_path}")
            yield root, log_path
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
