"""The scenario schema: defaults, overrides, messages that point at the line."""

import pytest

from simulation.scenario import Scenario, ScenarioError, load_scenario
from tests.conftest import SCENARIOS, small_data


def test_every_shipped_scenario_validates():
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert {f.stem for f in files} >= {"relational_vs_billboard", "classroom", "bass_mean_field"}
    for path in files:
        assert path.read_text().startswith("#"), f"{path.name} must open with a comment saying its question"
        load_scenario(path)


def test_every_schema_field_is_documented():
    def walk(model):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            for sub in _models(field.annotation):
                walk(sub)
    walk(Scenario)


def _models(annotation):
    import typing
    from pydantic import BaseModel
    todo, found = [annotation], []
    while todo:
        a = todo.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            found.append(a)
        todo.extend(typing.get_args(a))
    return found


def test_overrides_by_index_and_by_name(write_yaml):
    path = write_yaml(small_data())
    loaded = load_scenario(path, ["brands.Bill.budget_per_day=77", "brands.0.price=9.5", "days=5",
                                  "market.exposure=full"])
    s = loaded.scenario
    assert s.brands[1].budget_per_day == 77 and s.brands[0].price == 9.5 and s.days == 5
    assert s.market.exposure == "full"
    assert loaded.overrides[0] == "brands.Bill.budget_per_day=77"


def test_override_errors_are_clear(write_yaml):
    path = write_yaml(small_data())
    with pytest.raises(ScenarioError, match="no item named 'Nobody'"):
        load_scenario(path, ["brands.Nobody.price=1"])
    with pytest.raises(ScenarioError, match="expected key.path=value"):
        load_scenario(path, ["days"])
    with pytest.raises(ScenarioError, match="index 7 is out of range"):
        load_scenario(path, ["brands.7.price=1"])


def test_strategy_shares():
    s = Scenario.model_validate(small_data())
    assert [b.relational_fraction for b in s.brands] == [1.0, 0.0, 0.5]
    data = small_data()
    data["brands"][0]["relational_share"] = 0.3
    with pytest.raises(Exception, match="only for the 'mixed' and 'copycat' strategies"):
        Scenario.model_validate(data)


def test_graph_path_is_relative_to_the_scenario(tmp_path, write_yaml):
    (tmp_path / "g.txt").write_text("0 1\n1 2\n2 0\n")
    loaded = load_scenario(write_yaml(small_data(network={"kind": "file", "path": "g.txt"}, population={})))
    assert loaded.scenario.network.path == str((tmp_path / "g.txt").resolve())


def test_a_finite_feed_needs_a_social_platform(write_yaml):
    sinks = [{"name": "mail", "kind": "email", "ad_load": 0.3}]
    with pytest.raises(ScenarioError, match="no sink is of kind 'social'"):
        load_scenario(write_yaml(small_data(sinks=sinks, events=[], word_of_mouth={"feed_minutes": 15})))
    load_scenario(write_yaml(small_data(sinks=sinks, events=[], word_of_mouth={"feed_minutes": 0})))  # no limit: fine
    launch = {"type": "platform_launch", "day": 5, "sink": {"name": "later", "kind": "social"}}
    load_scenario(write_yaml(small_data(sinks=sinks, events=[launch], word_of_mouth={"feed_minutes": 15})))
