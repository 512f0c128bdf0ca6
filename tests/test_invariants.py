"""Invariants that hold every day of a whole run, events included."""

import numpy as np
import pytest

from simulation.scenario import Scenario
from simulation.model import AttentionModel
from tests.conftest import small_data


@pytest.mark.parametrize("kind", ["barabasi_albert", "watts_strogatz", "erdos_renyi", "ring", "complete"])
def test_invariants_hold_every_day(kind):
    model = AttentionModel(Scenario.model_validate(small_data(network={"kind": kind})))
    pop = model.population
    previous_adopters = np.zeros(len(model.brands))
    previous_purchases = pop.purchases.copy()
    for _ in range(model.days):
        model.step()
        minutes = model.minutes()
        # nobody spends more (or less) time than they have
        np.testing.assert_allclose(minutes.sum(axis=0), pop.budget, rtol=1e-5)
        assert (pop.slots.sum(axis=0, dtype=np.int64) == model.slots_per_day).all()
        # closed or not-yet-launched sinks get no time
        for sink in model.all_sinks:
            if not sink.active:
                assert sink.minutes_today == 0.0
        # shares sum to one
        assert sum(s.share_today for s in model.all_sinks) == pytest.approx(1.0, abs=1e-9)
        assert 0.0 <= pop.awareness.min() and pop.awareness.max() <= 1.0
        assert -1.0 <= pop.trust.min() and pop.trust.max() <= 1.0
        assert 0.0 <= pop.savviness.min() and pop.savviness.max() <= 1.0
        assert pop.fatigue.min() >= 0.0
        assert (pop.purchases >= previous_purchases).all()
        adopters = pop.adopted.sum(axis=1)
        assert (adopters >= previous_adopters).all()
        assert (pop.purchases[~pop.adopted] == 0).all()
        for brand in model.brands:
            # a brand never spends more than its budget
            assert 0.0 <= brand.spend_today <= brand.budget_per_day + 1e-9
            assert brand.impressions_today >= 0 and brand.sales_today >= 0
            assert brand.answers_today <= brand.visitors_today
        previous_adopters, previous_purchases = adopters, pop.purchases.copy()


def test_nothing_reaches_a_user_who_spends_no_time_on_ad_sinks():
    """C1: impressions land only where a user spent minutes on an ad-carrying sink."""
    data = small_data(events=[])
    data["sinks"] = [{"name": "ads", "kind": "media", "ad_load": 2.0}, {"name": "clean", "kind": "other"}]
    data["population"] = {"users": 400, "taste_sd": 3.0}
    model = AttentionModel(Scenario.model_validate(data))
    ads = model.sink("ads").column
    checked = 0
    for _ in range(10):
        model.step()
        idle = model.population.slots[ads] == 0
        assert (model.impressions[:, idle] == 0).all()
        assert model.impressions[:, ~idle].sum() > 0
        checked += int(idle.sum())
    assert checked > 0


def test_brand_destinations_stay_minor_in_the_default_scenario():
    """Habit plus brand pull must not let a brand's site swallow the day (a positive feedback loop)."""
    from simulation.scenario import load_scenario
    from simulation.runner import run_simulation
    from tests.conftest import SCENARIOS

    scenario = load_scenario(SCENARIOS / "relational_vs_billboard.yaml", ["population.users=2000", "days=120"]).scenario
    result = run_simulation(scenario)
    shares = result.sinks[result.sinks["kind"] == "brand"].groupby("sink")["share"].max()
    social = result.sinks[result.sinks["kind"] == "social"]["share"].mean()
    assert (shares < social / 5).all(), shares
