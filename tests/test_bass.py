"""The Bass reduction: attention unconstrained, complete graph, one brand."""

import numpy as np
import pytest

from simulation.scenario import load_scenario
from simulation.runner import run_simulation
from tests.conftest import SCENARIOS

P = 10
p, q = 0.03, 0.38


def mean_field(days: int) -> np.ndarray:
    """Exact mean-field recurrence of the daily model, F(0) = 0."""
    F = np.zeros(days + 1)
    for d in range(days):
        F[d + 1] = F[d] + (1 - (1 - p / P) * (1 - (q / P) * F[d])) * (1 - F[d])
    return F


def bass_closed_form(t: np.ndarray) -> np.ndarray:
    e = np.exp(-(p + q) * t)
    return (1 - e) / (1 + (q / p) * e)


def test_bass_scenario_is_the_bass_limit():
    s = load_scenario(SCENARIOS / "bass_mean_field.yaml").scenario
    assert s.network.kind == "complete" and s.market.exposure == "full" and len(s.brands) == 1
    assert s.word_of_mouth.feed_minutes == 0  # talk reaches every neighbour: attention does not limit it
    assert s.market.p == p / P and s.market.q == q / P


@pytest.mark.slow
def test_adopter_share_follows_the_mean_field_recurrence_and_the_bass_curve():
    scenario = load_scenario(SCENARIOS / "bass_mean_field.yaml").scenario
    days = 30 * P
    runs = []
    for replication in range(20):
        result = run_simulation(scenario, seed=1000 + replication, days=days)
        adopters = result.brands["adopters"].to_numpy() / result.summary["users"]
        runs.append(np.concatenate([[0.0], adopters]))
    simulated = np.mean(runs, axis=0)
    recurrence = mean_field(days)
    assert np.abs(simulated - recurrence).max() <= 0.01
    t = np.arange(days + 1) / P
    assert np.abs(simulated - bass_closed_form(t)).max() <= 0.02
    # and it is a real diffusion, not a flat line that trivially stays close
    assert simulated[-1] > 0.95 and simulated[P * 5] < 0.6
