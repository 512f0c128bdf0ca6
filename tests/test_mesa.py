"""Users, sinks and brands are Mesa agents a Mesa user can query."""

import pickle

import numpy as np

from simulation.model.brands import Brand
from simulation.scenario import Scenario
from simulation.model import AttentionModel
from simulation.model.population import User
from simulation.model.sinks import BrandDestination, SocialPlatform
from tests.conftest import small_data


def test_agents_are_mesa_agents_and_views_over_the_arrays():
    model = AttentionModel(Scenario.model_validate(small_data()))
    users = model.agents_by_type[User]
    assert len(users) == 600
    assert len(model.agents_by_type[Brand]) == 3 and len(model.agents_by_type[BrandDestination]) == 3
    # the launched platform is not an agent until its day
    assert [s.name for s in model.agents_by_type[SocialPlatform]] == ["social"]
    for _ in range(12):
        model.step()
    assert model.steps == 12
    assert sorted(s.name for s in model.agents_by_type[SocialPlatform]) == ["newcomer", "social"]
    user = model.users[7]
    assert abs(sum(user.time_split.values()) - user.minutes_per_day) < 1e-3
    model.population.trust[model.brand_index("Rel"), 7] = 0.5
    assert user.trust("Rel") == 0.5
    heavy = users.select(lambda u: u.minutes_per_day > 100)
    assert 0 < len(heavy) < 600
    assert set(users.get("favourite_sink")) <= {s.name for s in model.all_sinks}


def test_no_user_views_when_switched_off_and_the_model_pickles():
    data = small_data()
    data["population"]["agent_views"] = False
    model = AttentionModel(Scenario.model_validate(data))
    assert User not in model.agents_by_type
    model.step()
    clone = pickle.loads(pickle.dumps(model))
    clone.step()
    model.step()
    assert np.array_equal(clone.population.slots, model.population.slots)
