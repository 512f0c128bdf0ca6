"""Scheduled events: they fire at the start of their day, before brands act."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulation.scenario import BudgetChange, Crisis, Event, SinkClose, SinkLaunch, StrategyChange

if TYPE_CHECKING:
    from simulation.model import AttentionModel


class EventQueue:
    """The scenario's events in day order (ties keep the file's order)."""

    def __init__(self, events: list[Event]) -> None:
        self.pending = sorted(events, key=lambda e: e.day)
        self.log: list[dict] = []

    def fire(self, model: "AttentionModel", day: int) -> None:
        while self.pending and self.pending[0].day <= day:
            event = self.pending.pop(0)
            detail = apply_event(model, event)
            self.log.append({"day": day, "type": event.type, **detail})


def apply_event(model: "AttentionModel", event: Event) -> dict:
    """Carry out one event on the model; returns what happened, for the report."""
    if isinstance(event, SinkLaunch):
        model.launch_sink(event.sink.name)
        return {"sink": event.sink.name}
    if isinstance(event, SinkClose):
        model.close_sink(event.sink)
        return {"sink": event.sink}
    if isinstance(event, Crisis):
        hit = model.crisis(event.brand, event.share, event.trust_loss)
        return {"brand": event.brand, "users_hit": hit}
    if isinstance(event, BudgetChange):
        model.brand(event.brand).budget_per_day = event.budget_per_day
        return {"brand": event.brand, "budget_per_day": event.budget_per_day}
    if isinstance(event, StrategyChange):
        model.brand(event.brand).set_strategy(event.strategy, event.relational_share)
        return {"brand": event.brand, "strategy": event.strategy}
    raise TypeError(f"unknown event {event!r}")  # pragma: no cover - the schema lists every type
