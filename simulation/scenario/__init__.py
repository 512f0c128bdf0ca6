"""Scenario files: the schema (`schema`), key paths and overrides (`keypaths`), loading and errors
(`loading`, `errors`), and the README's generated reference of every key (`docs`)."""

from simulation.scenario.errors import ScenarioError
from simulation.scenario.keypaths import apply_override, key_is_integer, parse_override
from simulation.scenario.loading import LoadedScenario, load_scenario, validate_data
from simulation.scenario.schema import (SINK_KINDS, AdvertisingConfig, ArmConfig, BrandConfig, BudgetChange,
                                        CollectConfig, Crisis, DestinationConfig, Event, MarketConfig, NetworkConfig,
                                        PopulationConfig, RelationalConfig, Scenario, SinkClose, SinkConfig,
                                        SinkLaunch, StrategyChange, WordOfMouthConfig, strategy_share)

__all__ = [
    "SINK_KINDS", "AdvertisingConfig", "ArmConfig", "BrandConfig", "BudgetChange", "CollectConfig", "Crisis",
    "DestinationConfig", "Event", "LoadedScenario", "MarketConfig", "NetworkConfig", "PopulationConfig",
    "RelationalConfig", "Scenario", "ScenarioError", "SinkClose", "SinkConfig", "SinkLaunch", "StrategyChange",
    "WordOfMouthConfig", "apply_override", "key_is_integer", "load_scenario", "parse_override", "strategy_share",
    "validate_data",
]
