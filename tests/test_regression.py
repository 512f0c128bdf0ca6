"""Seeded golden values of the default scenario.

A change to these numbers is a change to the model: if it is meant, regenerate
with `UPDATE_GOLDEN=1 python -m pytest tests/test_regression.py` and say why
in the commit message. The values were made with numba 0.68 on x86-64 (AMD EPYC);
the kernels let the compiler fuse float operations for the processor at hand, so
another processor or numba may move float figures in their last bits, and rarely
a count: regenerate them then, after tests/test_engine_vs_reference.py, the
invariant and the Bass tests pass.
"""

from simulation.scenario import load_scenario
from tests.conftest import ROOT, SCENARIOS, check_golden, summary_figures

GOLDEN = ROOT / "tests" / "golden" / "relational_vs_billboard.json"


def test_default_scenario_matches_golden_values():
    check_golden(summary_figures(load_scenario(SCENARIOS / "relational_vs_billboard.yaml").scenario), GOLDEN)
