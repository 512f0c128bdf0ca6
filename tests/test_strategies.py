"""The winner depends on the parameters, never on the code.

Each strategy must win somewhere: billboard ahead on ROI when word of mouth is
switched off; relational ahead when word of mouth is strong and answering is
cheap, at equal budgets. Means over three seeds of the default scenario.
"""

import numpy as np

from simulation.scenario import load_scenario
from simulation.runner import run_simulation
from tests.conftest import SCENARIOS

BASE = ["population.users=3000", "days=365"]


def mean_roi(overrides):
    scenario = load_scenario(SCENARIOS / "relational_vs_billboard.yaml", BASE + overrides).scenario
    rois = {"Relational": [], "Billboard": []}
    for seed in (1, 2, 3):
        brands = run_simulation(scenario, seed=seed).summary["brands"]
        for name in rois:
            rois[name].append(brands[name]["roi"])
    assert scenario.brands[0].budget_per_day == scenario.brands[1].budget_per_day
    return {name: float(np.mean(v)) for name, v in rois.items()}


def test_billboard_wins_on_roi_without_word_of_mouth():
    roi = mean_roi(["market.q=0", "word_of_mouth.awareness_spread=0", "word_of_mouth.trust_influence=0"])
    assert roi["Billboard"] > roi["Relational"]


def test_relational_wins_on_roi_with_strong_word_of_mouth_and_cheap_answers():
    roi = mean_roi(["market.q=0.2", "brands.Relational.cost_per_answer=0.5"])
    assert roi["Relational"] > roi["Billboard"]
