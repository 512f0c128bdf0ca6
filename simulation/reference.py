"""The scenario-file reference, generated from the schema (README.md embeds it)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from simulation import config

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("(top level)", config.Scenario),
    ("population", config.PopulationConfig),
    ("network", config.NetworkConfig),
    ("sinks[]", config.SinkConfig),
    ("brands[]", config.BrandConfig),
    ("brands[].destination", config.DestinationConfig),
    ("market", config.MarketConfig),
    ("advertising", config.AdvertisingConfig),
    ("word_of_mouth", config.WordOfMouthConfig),
    ("relational", config.RelationalConfig),
    ("events[] type: platform_launch", config.SinkLaunch),
    ("events[] type: platform_close", config.SinkClose),
    ("events[] type: crisis", config.Crisis),
    ("events[] type: budget_change", config.BudgetChange),
    ("events[] type: strategy_change", config.StrategyChange),
    ("collect", config.CollectConfig),
]


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type(a) for a in typing.get_args(annotation))
    if origin is list:
        return f"list of {_type(typing.get_args(annotation)[0])}"
    if origin is typing.Annotated:
        return _type(typing.get_args(annotation)[0])
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def _range(field) -> str:
    parts = []
    for meta in field.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sign} {value:,}" if isinstance(value, int) else f"{sign} {value:g}")
        if getattr(meta, "min_length", None):
            parts.append("not empty")
    return ", ".join(parts)


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
        return "[]" if value == [] else "(section defaults)"
    return f"`{field.default}`" if field.default is not None else "`null`"


def reference_markdown() -> str:
    lines = []
    for section, model in SECTIONS:
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        lines += [f"#### `{section}`" + (f": {doc}" if doc else ""), "",
                  "| key | type | default | range | meaning |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            kind = "list of events (below)" if name == "events" else _type(field.annotation)
            lines.append(f"| `{name}` | {kind} | {_default(field)} | {_range(field)} | "
                         f"{(field.description or '').replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)
