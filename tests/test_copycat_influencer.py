"""The copycat and influencer strategies (claims C6 and C7)."""

import numpy as np
import pytest

from simulation.scenario import Scenario
from simulation.model import AttentionModel
from tests.conftest import small_data


def _brands(*brands, days=30, **changes):
    data = small_data(days=days, events=[], **changes)
    data["brands"] = list(brands)
    return AttentionModel(Scenario.model_validate(data))


def test_copycat_takes_the_most_visible_brand_split_after_its_lag_with_less_novelty():
    model = _brands({"name": "Loud", "strategy": "billboard", "budget_per_day": 60},
                    {"name": "Quiet", "strategy": "relational", "budget_per_day": 2},
                    {"name": "Copy", "strategy": "copycat", "copy_lag": 5, "copy_penalty": 0.4, "budget_per_day": 20},
                    market={"campaign_novelty_decay": 0.02})
    copy = model.brand("Copy")
    for _ in range(5):
        model.step()
        assert copy.relational_share == 0.5 and copy.copying is None  # its own split until the lag has passed
    model.step()
    assert copy.copying == ("Loud", 0.0) and copy.relational_share == 0.0
    loud = model.brand("Loud")
    # copied on day 6, when Loud's novelty was 0.98^5; then both decay alike
    assert np.isclose(copy.novelty, loud.novelty * 0.6)
    copies = [e for e in model.events.log if e["type"] == "copy"]
    assert copies == [{"day": 6, "type": "copy", "brand": "Copy", "copies": "Loud", "relational_share": 0.0}]


def test_influencer_brand_pays_the_best_connected_users_and_spreads_through_them():
    model = _brands({"name": "Seeder", "strategy": "influencer", "budget_per_day": 50, "influencer_fee": 5},
                    {"name": "Nobody", "strategy": "billboard", "budget_per_day": 0},
                    market={"p": 0.0, "q": 0.3}, population={"users": 800})
    seeder = model.brand("Seeder")
    model.step()
    assert seeder.influencers_today == 10 and seeder.spend_today == 50
    seeded = np.flatnonzero(model.population.seeded[seeder.index])
    degrees = model.network.degree
    assert len(seeded) == 10 and degrees[seeded].min() >= np.sort(degrees)[-10]
    for _ in range(29):
        model.step()
    adopters = model.population.adopted.sum(axis=1)
    assert adopters[seeder.index] > 0 and adopters[model.brand("Nobody").index] == 0  # p = 0: only word of mouth


@pytest.mark.slow
def test_copying_loses_with_stale_full_price_copies_and_wins_with_fresh_cheap_ones():
    """C6 can fail: the copy penalty (staleness) and the copy saving (imitating is cheaper) pull opposite ways."""
    from simulation.experiments.compare import Arm, compare
    from simulation.experiments.executors import LocalExecutor
    from simulation.experiments.stats import paired_difference

    data = small_data(days=120, events=[], population={"users": 1500}, market={"p": 0.01, "q": 0.1}, brands=[
        {"name": "Original", "strategy": "relational", "budget_per_day": 20, "price": 40, "initial_awareness": 0.3,
         "content_scale": 10},
        {"name": "Copy", "strategy": "copycat", "copy_lag": 5, "budget_per_day": 20, "price": 40,
         "content_scale": 10}])
    arms = [Arm("stale, full price", ("brands.Copy.copy_penalty=0.5", "brands.Copy.copy_saving=0.0")),
            Arm("fresh, cheap", ("brands.Copy.copy_penalty=0.0", "brands.Copy.copy_saving=0.9"))]
    runs = compare(Scenario.model_validate(data), replications=6, executor=LocalExecutor(1), arms=arms).runs
    gaps = {}
    for arm in arms:
        sales = {b: runs[(runs["arm"] == arm.name) & (runs["brand"] == b)].sort_values("replication")["sales"]
                 for b in ("Original", "Copy")}
        gaps[arm.name] = paired_difference(sales["Original"].to_numpy(float), sales["Copy"].to_numpy(float))
    stale, cheap = gaps["stale, full price"], gaps["fresh, cheap"]
    assert stale["distinguishable"] and stale["difference"] < 0  # the copycat ends up behind
    assert cheap["distinguishable"] and cheap["difference"] > 0  # the copycat ends up ahead
