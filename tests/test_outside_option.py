"""C2 can fail: with an outside option a platform launch grows the time spent online; without one it cannot."""

import numpy as np
import pytest

from simulation.model import AttentionModel
from simulation.runner import run_simulation
from simulation.scenario import Scenario
from tests.conftest import small_data

LAUNCH = {"type": "platform_launch", "day": 10,
          "sink": {"name": "newcomer", "kind": "social", "appeal": 0.5, "novelty": 3.0, "network_effect": 2.0,
                   "ad_load": 1.0}}


def online_minutes(offline_appeal: float | None) -> np.ndarray:
    sinks = small_data()["sinks"]
    if offline_appeal is not None:
        sinks = sinks + [{"name": "away", "kind": "offline", "appeal": offline_appeal}]
    scenario = Scenario.model_validate(small_data(days=20, sinks=sinks, events=[LAUNCH]))
    return run_simulation(scenario, seed=4).model_vars["total_minutes"].to_numpy()


def test_without_an_outside_option_total_online_time_is_fixed():
    minutes = online_minutes(None)
    assert minutes.max() - minutes.min() < 1e-6 * minutes.mean()  # zero-sum: the launch only moves time


def test_with_an_outside_option_a_launch_grows_total_online_time():
    minutes = online_minutes(1.5)
    before, after = minutes[5:9].mean(), minutes[10:14].mean()  # days 6-9, then days 11-14 (the launch is day 10)
    assert after > 1.05 * before  # time comes from offline: C2's zero-sum fails


def test_the_outside_option_is_not_online_time_and_carries_no_ads():
    sinks = small_data()["sinks"] + [{"name": "away", "kind": "offline", "appeal": 1.0}]
    model = AttentionModel(Scenario.model_validate(small_data(days=3, sinks=sinks, events=[])))
    for _ in range(3):
        model.step()
    away = model.sink("away")
    online = [s for s in model.all_sinks if s.kind != "offline"]
    assert away.minutes_today > 0
    assert sum(s.share_today for s in online) == pytest.approx(1.0)
    assert away.share_today == pytest.approx(away.minutes_today / model.minutes().sum())
    with pytest.raises(ValueError, match="offline"):
        Scenario.model_validate(small_data(sinks=[{"name": "away", "kind": "offline", "ad_load": 1.0}]))
