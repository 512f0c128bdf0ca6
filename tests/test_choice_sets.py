"""Choice sets make a brand's site reach carry information: at zero budget only those who think of the brand visit."""

from simulation.runner import run_simulation
from simulation.scenario import load_scenario
from tests.conftest import SCENARIOS

ZERO_BUDGETS = ["brands.0.budget_per_day=0", "brands.1.budget_per_day=0", "population.users=3000"]
#: The default scenario considers a site only when its brand comes to mind, and lets talk through a finite feed
#: only from users with an opinion; these turn that off.
EVERY_SITE_CONSIDERED = ["market.choice_set=false", "word_of_mouth.talk_threshold=0", "word_of_mouth.feed_minutes=0"]


def site_reach(overrides: list[str]) -> dict[str, float]:
    """Share of users who visited each brand's site at least once in the year (its fans)."""
    scenario = load_scenario(SCENARIOS / "relational_vs_billboard.yaml", ZERO_BUDGETS + overrides).scenario
    summary = run_simulation(scenario).summary
    return {brand: figures["fans"] / summary["users"] for brand, figures in summary["brands"].items()}


def test_at_zero_budget_the_default_scenario_sites_reach_few_users_and_almost_all_without_choice_sets():
    as_written = site_reach([])
    without = site_reach(EVERY_SITE_CONSIDERED)  # the same new brands, every site in every choice set
    assert all(0 < share < 0.10 for share in as_written.values()), as_written
    assert all(share > 0.5 for share in without.values()), without
