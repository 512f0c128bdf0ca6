"""Shared builders for small scenarios."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

from simulation.config import Scenario

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
