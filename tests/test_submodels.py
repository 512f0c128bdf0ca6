"""The submodels' formulas, as docs/ODD.md writes them, on hand-made numbers."""

import math

import numpy as np
import pytest

from simulation.engine import mechanisms as rule
from simulation.engine.inventory import impression_rates
from simulation.engine.mechanisms import python_of
from simulation.model.brands import Brand
from simulation.scenario import Scenario
from simulation.model import AttentionModel
from tests.conftest import small_data


def _slots(utility: np.ndarray, slots: int, uniform: np.ndarray) -> np.ndarray:
    """Systematic sampling of one day's slots (sinks x users) with the engine's rules, user by user."""
    weight, up_to = python_of(rule.logit_weight), python_of(rule.slots_up_to)
    counts = np.zeros(utility.shape, dtype=np.int64)
    for i in range(utility.shape[1]):
        top = utility[:, i].max()
        cumulative = np.cumsum([weight(u, top) for u in utility[:, i]], dtype=np.float32)
        below = 0.0
        for s in range(utility.shape[0]):
            edge = up_to(cumulative[s], cumulative[-1], np.float32(slots), uniform[i])
            counts[s, i], below = edge - below, edge
    return counts


def test_slots_are_floor_or_ceiling_of_expected_and_sum_to_the_day():
    rng = np.random.default_rng(0)
    utility = rng.normal(size=(6, 5000)).astype(np.float32)
    utility[2] = -np.inf  # a closed sink
    shares = np.exp(utility.astype(np.float64) - utility.max(axis=0))
    expected = shares / shares.sum(axis=0) * 24
    counts = _slots(utility, 24, rng.random(5000, dtype=np.float32))
    assert (counts.sum(axis=0) == 24).all() and (counts[2] == 0).all()
    assert ((counts >= np.floor(expected - 1e-4)) & (counts <= np.ceil(expected + 1e-4))).all()
    # unbiased: the mean count matches the expectation
    assert np.abs(counts.mean(axis=1) - expected.mean(axis=1)).max() < 0.05


@pytest.mark.parametrize("slots", [1, 255])
def test_extreme_slot_counts(slots):
    rng = np.random.default_rng(1)
    counts = _slots(rng.normal(size=(4, 300)).astype(np.float32), slots, rng.random(300, dtype=np.float32))
    assert (counts.sum(axis=0) == slots).all()


def test_impression_response_wears_out():
    def response(impressions, savviness, fatigue, effect=0.1):
        wear = python_of(rule.ad_wear)(np.float32(savviness), np.float32(fatigue))
        return 1 - python_of(rule.unmoved_by_ads)(impressions, np.float32(effect), wear)

    assert [response(k, 0, 0) for k in (0, 1, 3)] == pytest.approx([0.0, 0.1, 1 - 0.9**3], rel=1e-6, abs=1e-7)
    assert [response(k, 0.5, 0) for k in (0, 1, 3)] == pytest.approx([0.0, 0.05, 1 - 0.95**3], rel=1e-6, abs=1e-7)
    worn = 0.1 * np.exp(-1)
    assert [response(k, 0, 1) for k in (0, 1, 3)] == pytest.approx([0.0, worn, 1 - (1 - worn)**3], rel=1e-6, abs=1e-7)


def test_hazard_repurchase_and_voice():
    assert python_of(rule.adoption_hazard)(0.1, 0.2) == pytest.approx(1 - 0.9 * 0.8)
    assert [python_of(rule.repurchase_probability)(t, 0.02) for t in (-1.0, 0.0, 1.0)] == pytest.approx([0, 0.01, 0.02])
    voices = python_of(rule.voices)
    # (trust, adopted, fan, seeded, urge, paid_voice, talk_threshold, feed) -> (advocacy, weight, positive, negative)
    assert voices(-0.5, False, True, False, 1.0, 0.5, 0.6, 1.0) == (0.0, 1.0, 0.0, 0.5)  # a fresh grievance is told
    assert voices(-0.5, False, True, False, 0.25, 0.5, 0.6, 1.0) == (0.0, 0.25, 0.0, 0.125)  # ... less as it fades
    assert voices(-0.5, False, False, False, 0.0, 0.5, 0.1, 1.0) == (0.0, 0.0, 0.0, 0.0)  # ... and falls silent
    assert voices(-0.5, False, True, False, 0.0, 0.5, 0.1, 1.0) == (0.0, 0.0, 0.0, 0.0)  # an old grievance is not told
    assert voices(0.5, True, False, False, 0.0, 0.5, 0.1, 1.0) == (0.5, 1.0, 0.5, 0.0)  # a convinced customer advocates
    assert voices(0.05, True, True, False, 0.0, 0.5, 0.1, 1.0) == (0.05, 0.0, 0.0, 0.0)  # a lukewarm one says nothing
    assert voices(0.0, True, True, False, 0.0, 0.5, 0.0, 1.0) == (0.0, 1.0, 0.0, 0.0)  # at threshold 0, every customer
    assert voices(0.05, True, False, False, 0.5, 0.5, 0.1, 1.0) == pytest.approx((0.05, 0.5, 0.025, 0.0))  # unless it just bought
    assert voices(0.5, False, False, False, 0.0, 0.5, 0.1, 1.0) == (0.0, 0.0, 0.0, 0.0)  # a stranger says nothing
    assert voices(-0.2, False, False, True, 0.0, 0.5, 0.1, 1.0) == (0.5, 1.0, 0.5, 0.0)  # an influencer is paid to praise
    assert voices(0.5, True, False, False, 0.0, 0.5, 0.1, 0.25) == (0.125, 0.25, 0.125, 0.0)  # a quarter of the feed
    # the urge to talk is fresh after a purchase or the day trust turns negative, never for one that was already
    fresh = python_of(rule.urge_after_the_day)
    assert (fresh(0.1, -0.2, False, 0.3), fresh(-0.1, -0.2, False, 0.3), fresh(0.1, 0.2, False, 0.3),
            fresh(0.1, 0.2, True, 0.3)) == (1.0, 0.3, 0.3, 1.0)
    # the feed: social minutes against feed_minutes, at most all of it; no limit at 0
    feed = python_of(rule.feed_share)
    assert (feed(0.0, 15.0), feed(7.5, 15.0), feed(40.0, 15.0), feed(0.0, 0.0)) == (0.0, 0.5, 1.0, 1.0)
    # the funnel: the external pull works on the aware, more on the trusting; all of it without the funnel
    funnel = python_of(rule.funnel)
    assert (funnel(0.0, 1.0, True), funnel(0.5, 0.0, True), funnel(1.0, -1.0, True), funnel(0.0, -1.0, False)) == (
        0.0, 0.25, 0.0, 1.0)
    # trust by source: a banner's and a site's pull weighted against a friend's word, as independent chances
    assert python_of(rule.persuaded)(0.5, 0.8, True, 0.4, 0.8) == pytest.approx(1 - (1 - 0.2) * (1 - 0.16))
    assert python_of(rule.persuaded)(0.5, 1.0, False, 0.4, 0.8) == pytest.approx(0.2)
    # choice sets: an unconsidered site has weight 0; without choice sets awareness weighs the site instead
    pull_of = python_of(rule.destination_pull)
    assert pull_of(-0.5, 0.2, 1.0, 1e-3, False, True) == -math.inf
    assert pull_of(-0.5, 0.2, 1.0, 1e-3, True, True) == 0.5
    assert pull_of(-0.5, 0.2, 1.0, 1e-3, False, False) == pytest.approx(0.5 + math.log(0.201))
    # savviness settles: ads raise it, it fades toward its initial level without them
    savvy = python_of(rule.savviness_after_ads)
    assert savvy(0.3, 0.0, 1e-5, 0.05, 0.9) == pytest.approx(0.05 + 0.25 * 0.9)
    assert savvy(0.05, 1000.0, 1e-4, 0.05, 1.0) == pytest.approx(0.05 + 0.1 * 0.95)
    # opinions fade toward the baseline; joining follows the network Bass hazard; members lapse
    assert python_of(rule.toward_baseline)(-0.8, 0.1, 0.5) == pytest.approx(-0.35)
    assert python_of(rule.joining_hazard)(0.1, 0.5, 0.4) == pytest.approx(1 - 0.9 * 0.8)
    stays = python_of(rule.member_tomorrow)
    assert (stays(True, 0.05, 1.0, 0.1), stays(True, 0.5, 0.0, 0.1), stays(False, 0.2, 0.3, 0.0)) == (False, True, True)
    # saturation: habit and friends pull less the more of the day a sink holds, and nothing at a whole day
    pull = python_of(rule.reinforcement)
    assert pull(1.5 / 24, 24, 2.0 / 24, 12, 1.0 / 24) == 0.0
    assert pull(1.5 / 24, 6, 0.0, 0.0, 1.0 / 24) == pytest.approx(1.5 * 0.25 * 0.75)
    assert python_of(rule.open_to)(2.0, False) == -math.inf
    # the negativity bias weighs the negative part of what neighbours say
    assert python_of(rule.trust_after_listening)(0.0, 0.1, 0.2, 0.3, 2.0, 1.0) == pytest.approx(0.1 * (0.2 - 0.6))


def test_impression_rates_share_inventory_and_never_exceed_it():
    inventory = np.array([100.0, 0.0, 50.0])
    mask = np.array([[True, True], [True, True], [False, True]])
    rates = impression_rates(inventory, np.array([300.0, 60.0]), mask)
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


def test_answers_are_exactly_the_capacity_or_every_visitor_and_raise_trust():
    data = small_data(events=[], days=5)
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


@pytest.mark.parametrize("choice_set", [False, True])
def test_closing_every_sink_but_brand_sites_leaves_them_the_time_of_those_who_consider_them(choice_set):
    data = small_data(days=6)
    data["sinks"] = [{"name": "only", "kind": "social", "ad_load": 1.0}]
    data["events"] = [{"type": "platform_close", "day": 3, "sink": "only"}]
    data["market"] = {"choice_set": choice_set}
    model = AttentionModel(Scenario.model_validate(data))
    for _ in range(6):
        model.step()
    assert model.sink("only").minutes_today == 0
    spent = model.minutes().sum(axis=0)
    assert np.isfinite(spent).all()
    at_a_site = model.population.slots[model.destination_columns].sum(axis=0) > 0
    if choice_set:  # a user with no brand in mind today has nowhere to go: a day offline
        assert 0 < at_a_site.sum() < model.population.n
        assert (spent[~at_a_site] == 0).all()
    else:
        assert at_a_site.all()
    np.testing.assert_allclose(spent[at_a_site], model.population.budget[at_a_site], rtol=1e-5)


def test_isolated_users_in_a_graph_file(tmp_path):
    (tmp_path / "g.txt").write_text("0 1\n1 2\n5 5\n")  # node 5 only has a self-loop: isolated
    model = AttentionModel(Scenario.model_validate(small_data(days=4, events=[], population={},
                                                              network={"kind": "file", "path": str(tmp_path / "g.txt")})))
    assert model.population.n == 4 and model.network.degree.min() == 0
    for _ in range(4):
        model.step()
    assert np.isfinite(model.population.trust).all()


def test_a_frequency_cap_limits_what_one_user_sees_in_a_day_and_what_is_paid():
    capped = small_data(days=6, events=[], brands=[{"name": "Bill", "strategy": "billboard", "budget_per_day": 400,
                                                     "frequency_cap": 2}])
    free = small_data(days=6, events=[], brands=[{"name": "Bill", "strategy": "billboard", "budget_per_day": 400}])
    spent = {}
    for name, data in (("capped", capped), ("free", free)):
        model = AttentionModel(Scenario.model_validate(data), 5)
        most = 0.0
        for _ in range(6):
            model.step()
            most = max(most, float(np.max(model.impressions[0])))
        spent[name] = (model.brands[0].spend_total, most)
    assert spent["capped"][1] == 2 and spent["free"][1] > 2  # nobody sees a third impression in a day
    assert spent["capped"][0] < spent["free"][0]  # what is not shown is not paid for
