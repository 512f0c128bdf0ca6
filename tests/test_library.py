"""Every scenario of the library loads, its arms make valid scenarios, and it runs."""

import pytest

from simulation.cli import main
from simulation.scenario import load_scenario
from simulation.experiments.compare import Arm, check_arms
from tests.conftest import SCENARIOS

LIBRARY = ["web_2010", "relational_vs_billboard", "misleading_metrics", "copycat", "influencers", "platform_wave",
           "crisis", "classroom", "bass_mean_field"]


@pytest.mark.parametrize("name", LIBRARY)
def test_scenario_runs_and_its_arms_are_valid(name, tmp_path):
    path = SCENARIOS / f"{name}.yaml"
    scenario = load_scenario(path).scenario
    check_arms(scenario.model_dump(mode="json"), [Arm(a.name, tuple(a.set_overrides())) for a in scenario.arms])
    assert main(["run", str(path), "--days", "15", "--set", "population.users=400", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0


def test_the_library_covers_every_claim():
    text = " ".join((SCENARIOS / f"{name}.yaml").read_text().split("\n\n")[0] for name in LIBRARY)
    for claim in ("C2", "C4", "C5", "C6", "C7", "C8", "C9"):
        assert claim in text, claim
