"""The submodels' formulas, as docs/ODD.md writes them, on hand-made numbers."""

import numpy as np
import pytest

from simulation import adoption
from simulation.attention import choose_slots, logit_shares
from simulation.brands import Brand
from simulation.config import Scenario
from simulation.model import AttentionModel
from tests.conftest import small_data


def test_slots_are_floor_or_ceiling_of_expected_and_sum_to_the_day():
    rng = np.random.default_rng(0)
    utility = rng.normal(size=(6, 5000)).astype(np.float32)
    utility[2] = -np.inf  # a closed sink
    expected = logit_shares(utility.astype(np.float64)) * 24
    counts = choose_slots(utility.copy(), 24, rng.random(5000, dtype=np.float32))
    assert (counts.sum(axis=0) == 24).all() and (counts[2] == 0).all()
    assert ((counts >= np.floor(expected - 1e-4)) & (counts <= np.ceil(expected + 1e-4))).all()
    # unbiased: the mean count matches the expectation
    assert np.abs(counts.mean(axis=1) - expected.mean(axis=1)).max() < 0.05


@pytest.mark.parametrize("slots", [1, 255])
def test_extreme_slot_counts(slots):
    rng = np.random.default_rng(1)
    counts = choose_slots(rng.normal(size=(4, 1000)).astype(np.float32), slots, rng.random(1000, dtype=np.float32))
    assert (counts.sum(axis=0) == slots).all()


def test_impression_response_wears_out():
    k = np.array([[0.0, 1.0, 3.0]], dtype=np.float32)
    fresh = adoption.impression_response(k, np.zeros(3, np.float32), np.zeros((1, 3), np.float32), 0.1)
    np.testing.assert_allclose(fresh, [[0.0, 0.1, 1 - 0.9**3]], rtol=1e-6)
    savvy = adoption.impression_response(k, np.full(3, 0.5, np.float32), np.zeros((1, 3), np.float32), 0.1)
    tired = adoption.impression_response(k, np.zeros(3, np.float32), np.ones((1, 3), np.float32), 0.1)
    np.testing.assert_allclose(savvy, [[0.0, 0.05, 1 - 0.95**3]], rtol=1e-6)
    np.testing.assert_allclose(tired, [[0.0, 0.1 * np.exp(-1), 1 - (1 - 0.1 * np.exp(-1))**3]], rtol=1e-6)


def test_hazard_repurchase_and_voice():
    assert adoption.adoption_hazard(np.float32(0.1), np.float32(0.2)) == pytest.approx(1 - 0.9 * 0.8)
    np.testing.assert_allclose(adoption.repurchase_probability(np.array([-1.0, 0.0, 1.0]), 0.02), [0, 0.01, 0.02])
    voice = adoption.voiced_opinion(np.array([[-0.5, 0.5, 0.5]]), np.array([[True, True, False]]), 3.0)
    np.testing.assert_allclose(voice, [[-1.5, 0.5, 0.0]])


def test_impression_rates_share_inventory_and_never_exceed_it():
    inventory = np.array([100.0, 0.0, 50.0])
    mask = np.array([[True, True], [True, True], [False, True]])
    rates = adoption.impression_rates(inventory, np.array([300.0, 60.0]), mask)
    delivered = rates * inventory[:, None]
    assert (delivered.sum(axis=1) <= inventory * (1 + 1e-6)).all()  # rates are float32
    assert delivered[1].sum() == 0  # nobody there, nothing delivered
    assert delivered[2, 0] == 0  # brand 0 does not buy on sink 2
    np.testing.assert_allclose(delivered[0].sum(), 100.0, rtol=1e-6)  # sink 0 over-demanded: fully sold


def test_a_brand_pays_only_for_delivered_impressions_up_to_its_budget():
    brand = Brand.__new__(Brand)
    brand.impressions_wanted, brand.cpm, brand.spend_today = 1000.0, 5.0, 0.0
    brand.bill_impressions(1500)
    assert brand.spend_today == pytest.approx(5.0) and brand.impressions_today == 1500
    brand.spend_today = 0.0
    brand.bill_impressions(200)
    assert brand.spend_today == pytest.approx(1.0)


def test_crisis_hits_about_share_times_awareness():
    model = AttentionModel(Scenario.model_validate(small_data(population={"users": 20_000}, events=[])))
    model.population.awareness[1] = 0.5
    before = model.population.trust[1].copy()
    hit = model.crisis("Bill", share=0.4, trust_loss=0.3)
    assert abs(hit / 20_000 - 0.2) < 0.015
    lost = before - model.population.trust[1]
    assert np.isclose(lost[lost > 0], 0.3).all() and (lost > 0).sum() == hit


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
def test_answers_are_exactly_the_capacity_or_every_visitor_and_raise_trust(engine):
    data = small_data(events=[], days=5, engine=engine)
    data["brands"][0].update(budget_per_day=4, service_share=1.0, cost_per_answer=1.0)  # 4 answers a day
    model = AttentionModel(Scenario.model_validate(data))
    answered = 0
    for _ in range(5):
        model.step()
        rel = model.brand("Rel")
        assert rel.answers_today == min(rel.visitors_today, 4)
        answered += rel.answers_today
    assert answered > 0 and model.population.trust[0].max() > 0
    assert model.brand("Bill").answers_today == 0  # a billboard pays for no service


@pytest.mark.parametrize("change", [
    {"population": {"users": 2}, "network": {"kind": "ring"}},
    {"population": {"users": 300, "slots_per_day": 1}},
    {"population": {"users": 300, "slots_per_day": 255}},
    {"brands": [{"name": "Zero", "strategy": "billboard", "budget_per_day": 0}]},
    {"sinks": [{"name": "quiet", "kind": "other"}, {"name": "calm", "kind": "email"}], "events": []},
])
def test_edge_cases_run_and_keep_the_invariants(change):
    data = small_data(days=12, **change)
    if "brands" in change or "sinks" in change:
        data["events"] = []
    model = AttentionModel(Scenario.model_validate(data))
    for _ in range(12):
        model.step()
        np.testing.assert_allclose(model.minutes().sum(axis=0), model.population.budget, rtol=1e-5)
        assert np.isfinite(model.population.trust).all() and np.isfinite(model.population.awareness).all()
        for brand in model.brands:
            assert 0 <= brand.spend_today <= brand.budget_per_day + 1e-9


def test_closing_every_sink_but_brand_sites_still_allocates_all_time():
    data = small_data(days=6)
    data["sinks"] = [{"name": "only", "kind": "social", "ad_load": 1.0}]
    data["events"] = [{"type": "platform_close", "day": 3, "sink": "only"}]
    model = AttentionModel(Scenario.model_validate(data))
    for _ in range(6):
        model.step()
    assert model.sink("only").minutes_today == 0
    np.testing.assert_allclose(model.minutes().sum(axis=0), model.population.budget, rtol=1e-5)
    assert sum(b.destination.minutes_today for b in model.brands) > 0


def test_isolated_users_in_a_graph_file(tmp_path):
    (tmp_path / "g.txt").write_text("0 1\n1 2\n5 5\n")  # node 5 only has a self-loop: isolated
    model = AttentionModel(Scenario.model_validate(small_data(days=4, events=[],
                                                              network={"kind": "file", "path": str(tmp_path / "g.txt")})))
    assert model.population.n == 4 and model.network.degree.min() == 0
    for _ in range(4):
        model.step()
    assert np.isfinite(model.population.trust).all()
