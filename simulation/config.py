"""The scenario schema and loader under the name the README's examples use (`from simulation.config import
load_scenario`); they live in `simulation.scenario`."""

from simulation.scenario import *  # noqa: F401,F403
from simulation.scenario import __all__  # noqa: F401
