"""The documentation says what the code does."""

from simulation.scenario.docs import BEGIN, END, reference_markdown
from tests.conftest import ROOT


def test_readme_scenario_reference_is_generated_from_the_schema():
    readme = (ROOT / "README.md").read_text()
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert block == reference_markdown().strip(), (
        "README's scenario reference is stale: run `python -m simulation.scenario.docs --update-readme`")


def test_readme_names_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
