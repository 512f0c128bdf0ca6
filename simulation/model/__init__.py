"""The model: `AttentionModel` (the market and its ordered day, in `market`), its agents (`population`,
`sinks`, `brands`), its events and its social graph (`network`, `graph_cache`)."""

from simulation.model.market import AGENT_VIEW_LIMIT, AttentionModel

__all__ = ["AGENT_VIEW_LIMIT", "AttentionModel"]
