"""Choice sets make a brand's site reach carry information: at zero budget only those who think of the brand visit."""

from simulation.runner import run_simulation
from simulation.scenario import load_scenario
from tests.conftest import SCENARIOS

ZERO_BUDGETS = ["brands.0.budget_per_day=0", "brands.1.budget_per_day=0", "population.users=3000"]
WITH_CHOICE_SETS = ["market.choice_set=true", "market.funnel=true", "word_of_mouth.talk_threshold=0.1",
                    "word_of_mouth.feed_minutes=15", "brands.0.initial_awareness=0.02",
                    "brands.1.initial_awareness=0.02"]


def site_reach(overrides: list[str]) -> dict[str, float]:
    """Share of users who visited each brand's site at least once in the year (its fans)."""
    scenario = load_scenario(SCENARIOS / "relational_vs_billboard.yaml", ZERO_BUDGETS + overrides).scenario
    summary = run_simulation(scenario).summary
    return {brand: figures["fans"] / summary["users"] for brand, figures in summary["brands"].items()}


def test_at_zero_budget_a_site_reaches_few_users_with_choice_sets_and_almost_all_without():
    without = site_reach(WITH_CHOICE_SETS[4:])  # the same new brands, every site in every choice set
    with_sets = site_reach(WITH_CHOICE_SETS)
    assert all(share > 0.5 for share in without.values()), without
    assert all(0 < share < 0.10 for share in with_sets.values()), with_sets
