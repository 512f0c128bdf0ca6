"""The engine against the plain-numpy reference (tests/reference/day.py), phase by phase, draw for draw.

Each scenario is stepped with model.step(). Around each
phase the test copies the users' state, runs the reference phase on the copy,
lets the engine run the phase on the model, and compares every state array:
integers and booleans exactly, floats to float32 tolerance. Each phase starts
from the engine's state, so a difference points at one phase of one day.

Slots are floor(S x cumulative share + u): a rounding of the last bit (the
engine's exp is a polynomial) can move one slot where the floor's argument is
within a rounding of a whole number. A user whose slots differ is excused only
if the reference puts that argument within SLOT_MARGIN of a whole number, and
only a few users may be excused; everyone else is compared exactly.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from simulation.scenario import Scenario
from simulation.model import AttentionModel
from tests.conftest import small_data
from tests.reference import day as reference

# ============================================================================ adapter
# Every contact with the engine's internals is in this section: when they are
# renamed (run key, buffers, phase methods), adapt here and nowhere else.

def run_key(model: AttentionModel) -> int:
    """The integer every random number of the run derives from."""
    return model.engine.run_key


def users_of(model: AttentionModel) -> reference.Users:
    """A copy of the users' state, with today's impressions, external pull and feed (kept in the engine's buffers)."""
    engine = model.engine
    return reference.Users.from_population(model.population, engine.impressions, engine.external, engine.feed)


#: The model's phase methods, grouped as the reference's phases. The engine does word of mouth,
#: purchases and the users' part of learning in one pass (spread_word_of_mouth_and_buy): they are one phase here.
PHASES = (
    ("attention", ("allocate_attention",)),
    ("exposures", ("deliver_exposures",)),
    ("word of mouth + purchases + learning", ("spread_word_of_mouth_and_buy", "learn")),
)

# ============================================================================ end of the adapter

SLOT_MARGIN = 1e-4  # distance of a floor's argument to a whole number within which float rounding may move a slot
MAX_EXCUSED = 3  # users excused per day and scenario, at most
RTOL, ATOL = 1e-5, 1e-6
#: The response to k impressions, 1 - (1 - e)^k, amplifies a rounding of its base 1 - e (near 1, where float32's
#: step is 2^-24) by k: the engine's fused and reordered float32 arithmetic moves it by about k x 2^-24 (measured:
#: 0.80 to 0.98 of that at k = 46..61). External pull and awareness after exposure may differ by k x 2^-23 more.
RESPONSE_SLACK = 2.0**-23
DAYS = 4

SINKS = [
    {"name": "social", "kind": "social", "appeal": 0.5, "ad_load": 1.0, "network_effect": 1.5},
    {"name": "email", "kind": "email", "appeal": 0.0, "ad_load": 0.3},
    {"name": "games", "kind": "game", "appeal": 0.0, "ad_load": 1.5},
    {"name": "news", "kind": "media", "appeal": -0.5, "ad_load": 2.0},
]


#: A platform with members (§7.3a) that users join by friends and on their own, and leave.
CLUB = {"name": "club", "kind": "social", "appeal": 0.5, "ad_load": 0.5, "network_effect": 1.0, "members": 0.3,
        "join_p": 0.05, "join_q": 0.4, "lapse": 0.05}


def _crisis_and_influencers(tmp_path):
    """A Barabási–Albert graph; crises on days 2 and 3; a billboard heavy enough for Poisson means above 10;
    a relational brand answering some of its visitors; an influencer brand seeding the hubs; a platform with
    members; opinions fading fast toward the brands' baselines."""
    return small_data(
        population={"users": 2000, "saturation": 0.7}, sinks=SINKS + [CLUB],
        brands=[
            {"name": "Rel", "strategy": "relational", "budget_per_day": 40, "initial_awareness": 0.3,
             "destination": {"appeal": -2.0}},
            {"name": "Bill", "strategy": "billboard", "budget_per_day": 400, "initial_awareness": 0.6,
             "initial_trust": 0.3},
            {"name": "Mix", "strategy": "mixed", "relational_share": 0.5, "budget_per_day": 40},
            {"name": "Seeder", "strategy": "influencer", "budget_per_day": 100, "influencer_fee": 5},
        ],
        market={"p": 0.05, "q": 0.3, "repurchase_rate": 0.3, "trust_forgetting": 0.1, "choice_set": True,
                "funnel": True, "source_trust": {"friend": 0.8, "brand_site": 0.6, "banner": 0.4}},
        advertising={"savviness_decay": 0.05},
        word_of_mouth={"urge_fading": 0.3, "talk_threshold": 0.2, "feed_minutes": 10},
        events=[{"type": "crisis", "day": 2, "brand": "Bill", "share": 1.0},
                {"type": "crisis", "day": 3, "brand": "Rel", "share": 0.5, "trust_loss": 0.5}])


def _copycat_complete(tmp_path):
    """The complete graph; a copycat (copies from day 2, campaign novelty decaying) answering every visitor;
    an influencer brand; a crisis on day 3; a site with members but no network effect; an outside option;
    no choice sets and no funnel; talk that needs no attention and savviness that never fades."""
    return small_data(
        population={"users": 600}, network={"kind": "complete"},
        sinks=SINKS + [{"name": "forum", "kind": "media", "appeal": 1.0, "members": 0.2, "join_p": 0.02,
                        "join_q": 0.5, "lapse": 0.1}, {"name": "offline", "kind": "offline", "appeal": 1.0}],
        advertising={"savviness_decay": 0.0}, word_of_mouth={"feed_minutes": 0, "talk_threshold": 0.0},
        brands=[
            {"name": "Seeder", "strategy": "influencer", "budget_per_day": 100, "influencer_fee": 5},
            {"name": "Loud", "strategy": "billboard", "budget_per_day": 100, "initial_awareness": 0.4,
             "initial_trust": 0.2},
            {"name": "Copy", "strategy": "copycat", "copy_lag": 1, "relational_share": 0.8, "budget_per_day": 30,
             "cost_per_answer": 0.01, "initial_awareness": 0.3, "destination": {"appeal": -2.0}},
        ],
        market={"p": 0.02, "q": 0.5, "repurchase_rate": 0.3, "campaign_novelty_decay": 0.1, "choice_set": False,
                "funnel": False},
        events=[{"type": "crisis", "day": 3, "brand": "Loud", "share": 1.0}])


def _platforms_full_isolated(tmp_path):
    """An edge-list file with 150 isolated users; a platform with members launched on day 2, a platform with
    ads closed on day 3 and the social platform on day 4; market.exposure: full; a brand distrusted from the start.

    An edge list names only nodes with edges; a line "i i" makes node i, and the self-loop is dropped when the
    graph is read (simulation.model.network.from_networkx), so i has no neighbour. The file's graph has 1,474 users
    (the random graph's nodes without edges are not in the file), 150 of them isolated.
    """
    graph = nx.gnm_random_graph(1350, 2700, seed=11)
    lines = [f"{u} {v}" for u, v in graph.edges()] + [f"{i} {i}" for i in range(1350, 1500)]  # i i: no edge
    path = tmp_path / "isolated.edges"
    path.write_text("# 150 users alone (self-loops only)\n" + "\n".join(lines) + "\n")
    return small_data(
        days=5, population={}, network={"kind": "file", "path": str(path)}, sinks=SINKS,
        brands=[
            {"name": "Rel", "strategy": "relational", "budget_per_day": 30, "cost_per_answer": 0.01,
             "initial_awareness": 0.3, "destination": {"appeal": -2.0}},
            {"name": "Bill", "strategy": "billboard", "budget_per_day": 200, "initial_awareness": 0.5,
             "initial_trust": -0.1, "frequency_cap": 2},
        ],
        market={"exposure": "full", "p": 0.02, "q": 0.3, "repurchase_rate": 0.3, "choice_set": True, "funnel": True},
        word_of_mouth={"feed_minutes": 20},
        events=[{"type": "platform_launch", "day": 2,
                 "sink": {"name": "newcomer", "kind": "social", "novelty": 2.0, "network_effect": 2.0, "ad_load": 1.0,
                          "members": 0.1, "join_p": 0.03, "join_q": 0.6, "lapse": 0.02}},
                {"type": "platform_close", "day": 3, "sink": "news"},
                {"type": "platform_close", "day": 4, "sink": "social"}])


SCENARIOS = {"crisis_and_influencers": (_crisis_and_influencers, DAYS),
             "copycat_complete": (_copycat_complete, DAYS),
             "platforms_full_isolated": (_platforms_full_isolated, 5)}


def _run_reference(phase: str, users: reference.Users, world: reference.World):
    if phase == "attention":
        return reference.allocate_attention(users, world)
    if phase == "exposures":
        return reference.deliver_exposures(users, world)
    trust_before = users.trust.copy()
    q_pull, conversations = reference.spread_word_of_mouth(users, world)
    purchases_before = users.purchases.copy()
    sales = reference.make_purchases(users, world, q_pull)
    reference.learn_users(users, world, trust_before, users.purchases > purchases_before)
    return (*sales, conversations.sum(axis=1), *reference.join_and_lapse(users, world))


class Checker:
    """Wraps the model's phase methods: the reference runs on a copy before a phase, the states are compared after."""

    def __init__(self, model: AttentionModel, scenario: str):
        self.model, self.scenario = model, scenario
        self.excused: list[tuple[int, int]] = []  # (day, users excused for slots)
        self.compared: list[tuple[int, str]] = []
        for phase, methods in PHASES:
            for name in methods:
                setattr(model, name, self._wrap(phase, name, getattr(model, name), methods))

    def _wrap(self, phase, name, method, methods):
        def wrapped(*args, **kwargs):
            if name == methods[0]:
                users = users_of(self.model)
                world = reference.World.from_model(self.model, run_key(self.model))
                self._expected = (users, _run_reference(phase, users, world))
            result = method(*args, **kwargs)
            if name == methods[-1]:
                self._compare(phase, *self._expected)
                self.compared.append((self.model.day, phase))
            return result
        return wrapped

    def _compare(self, phase: str, expected: reference.Users, outcome) -> None:
        model = self.model
        got = users_of(model)
        where = f"{self.scenario}, day {model.day}, {phase}"
        for field in ("slots", "impressions", "adopted", "purchases", "adoption_day", "reached", "fan", "seeded",
                      "member", "last_touch"):
            a, b = getattr(got, field), getattr(expected, field)
            if field == "slots" and phase == "attention":
                differ = np.flatnonzero((a != b).any(axis=0))
                near = outcome[differ] < SLOT_MARGIN
                assert near.all(), (f"{where}: slots of users {differ[~near][:10].tolist()} differ although no floor "
                                    f"argument is within {SLOT_MARGIN} of a whole number "
                                    f"(distances {outcome[differ[~near][:10]].tolist()})")
                assert differ.size <= MAX_EXCUSED, f"{where}: {differ.size} users' slots differ (near a whole number)"
                self.excused.append((model.day, int(differ.size)))
                keep = np.ones(a.shape[1], dtype=bool)
                keep[differ] = False
                a, b = a[:, keep], b[:, keep]
            differ = np.argwhere(a != b)
            assert differ.size == 0, (f"{where}: {field} differs at {len(differ)} places, first (row, user) "
                                      f"{differ[:5].tolist()}: engine {a[tuple(differ[:5].T)].tolist()}, "
                                      f"reference {b[tuple(differ[:5].T)].tolist()}")
        for field in ("awareness", "trust", "fatigue", "savviness", "external", "urge", "feed"):
            a, b = getattr(got, field).astype(np.float64), getattr(expected, field).astype(np.float64)
            allowed = ATOL + RTOL * np.abs(b)
            if phase == "exposures" and field in ("awareness", "external"):
                allowed = allowed + expected.impressions * RESPONSE_SLACK  # (see RESPONSE_SLACK)
            far = np.argwhere(np.abs(a - b) > allowed)
            assert far.size == 0, (f"{where}: {field} differs beyond float32 rounding at {len(far)} places, first "
                                   f"(row, user) {far[:5].tolist()}: engine {a[tuple(far[:5].T)].tolist()}, "
                                   f"reference {b[tuple(far[:5].T)].tolist()}")
        brands = model.brands
        if phase == "exposures":
            exact = {"impressions_today": outcome.impressions, "daily_reach": outcome.reach,
                     "visitors_today": outcome.visitors, "answers_today": outcome.answers}
            for attribute, values in exact.items():
                assert [getattr(b, attribute) for b in brands] == values.astype(int).tolist(), f"{where}: {attribute}"
            np.testing.assert_allclose([b.engaged_minutes_today for b in brands], outcome.engaged_minutes,
                                       rtol=1e-9, err_msg=f"{where}: engaged minutes")
            np.testing.assert_allclose([b.clicks_today for b in brands], outcome.clicks, rtol=RTOL,
                                       err_msg=f"{where}: clicks")
            assert [s.visitors_today for s in model.all_sinks] == outcome.sink_visitors.tolist(), f"{where}: sink visitors"
            np.testing.assert_allclose([s.minutes_today for s in model.all_sinks], outcome.sink_minutes, rtol=1e-9,
                                       err_msg=f"{where}: sink minutes")
        if phase.startswith("word of mouth"):
            new, sales, last_touch_sales, referrals, joins, lapses = outcome
            assert [b.new_adopters_today for b in brands] == new.tolist(), f"{where}: new adopters"
            assert [b.sales_today for b in brands] == sales.tolist(), f"{where}: sales"
            assert [b.last_touch_sales_today for b in brands] == last_touch_sales.tolist(), f"{where}: last-touch sales"
            np.testing.assert_allclose([b.referrals_today for b in brands], referrals, rtol=1e-6,
                                       err_msg=f"{where}: referrals")
            with_members = [model.all_sinks[c] for c in model.member_columns]
            assert [s.joins_today for s in with_members] == joins.tolist(), f"{where}: joins"
            assert [s.lapses_today for s in with_members] == lapses.tolist(), f"{where}: lapses"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_engine_makes_the_reference_day_draw_for_draw(name, tmp_path, monkeypatch):
    build, days = SCENARIOS[name]
    data = build(tmp_path)
    data.update(days=days)
    model = AttentionModel(Scenario.model_validate(data))
    if name == "crisis_and_influencers":  # a last-touch window shorter than the run, so that it matters
        model.engine.params = model.engine.params._replace(last_touch_days=2)
        monkeypatch.setattr(reference, "LAST_TOUCH_DAYS", 2)
    checker = Checker(model, name)
    for _ in range(days):
        model.step()
    assert checker.compared == [(d, phase) for d in range(1, days + 1) for phase, _ in PHASES]
    if name == "platforms_full_isolated":
        assert np.count_nonzero(model.network.degree == 0) == 150
    print(f"{name}: users excused for slots per day (margin {SLOT_MARGIN}): {checker.excused}")
