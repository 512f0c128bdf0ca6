"""Key paths of a scenario ("brands.Billboard.budget_per_day", "sinks.0.appeal"): one walker for all their uses.

A path runs through the raw data of a scenario file (mappings by key, lists by an item's `name`
or by index) and, beside it, through the schema (the model that holds each key; an event's model
by its `type`). `--set` overrides, the suggestions for a mistyped key and the sweeps' whole-number
ranges all go through `find_item` and `model_at`.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel

from simulation.scenario.errors import ScenarioError, TooLarge, shorten
from simulation.scenario.schema import _EVENT_MODELS, Scenario


def find_item(node: list, part: str) -> int | None:
    """The index of the list item named `part` (a name wins: '3' may be a sink's name), or at index `part`."""
    for index, element in enumerate(node):
        if isinstance(element, dict) and str(element.get("name")) == part:
            return index
    if part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
        return int(part) % len(node)
    return None


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside a field's annotation (list[...], X | None, ...), or None."""
    candidates = [annotation]
    found = None
    while candidates:
        a = candidates.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            found = a
        candidates.extend(typing.get_args(a))
    return found


def model_at(path: tuple, data: Any = None) -> type[BaseModel] | None:
    """The schema model that holds the last key of `path` (events by their `type` in `data`); None if none does."""
    model: Any = Scenario
    node = data
    for i, part in enumerate(path[:-1]):
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
            if path[:i] == ("events",):
                model = _EVENT_MODELS.get(node.get("type")) if isinstance(node, dict) else None
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _model_in(model.model_fields[part].annotation)
        node = node.get(part) if isinstance(node, dict) else None
    return model


def fields_at(path: tuple, data: Any = None) -> list[str]:
    """The keys that may stand where the last key of `path` stands."""
    return list(getattr(model_at(path, data), "model_fields", {}) or [])


def resolve(key: str, data: dict) -> tuple | None:
    """The path of the scenario key 'a.b.c' in `data`, list items turned into indices; None if an item is missing."""
    path: list = []
    node: Any = data
    for part in key.split("."):
        if isinstance(node, list):
            index = find_item(node, part)
            if index is None:
                return None
            path.append(index)
            node = node[index]
        else:
            path.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(path)


def key_is_integer(key: str, data: dict) -> bool:
    """Whether the scenario key 'a.b.c' (list items by index or name) holds a whole number."""
    path = resolve(key, data)
    if not path or isinstance(path[-1], int):
        return False
    fields = getattr(model_at(path, data), "model_fields", {})
    if path[-1] not in fields:
        return False
    annotation = fields[path[-1]].annotation
    kinds = {_bare(a) for a in typing.get_args(annotation)} or {_bare(annotation)}
    return int in kinds and float not in kinds


def _bare(annotation: Any) -> Any:
    """int for Annotated[int, Strict()] (the schema's strict numbers), the annotation itself otherwise."""
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation


def parse_override(item: str) -> tuple[list[str], Any]:
    """'a.b.c=value' -> (['a', 'b', 'c'], value parsed as YAML)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(f"--set {item}: expected key.path=value")
    from simulation.scenario.loading import MAX_FILE_BYTES, parse_yaml  # loading imports this module

    source = f"--set {shorten(item)}"
    if len(raw) > MAX_FILE_BYTES:
        raise TooLarge(f"{source}: the value is longer than {MAX_FILE_BYTES:,} characters")
    try:
        value = parse_yaml(raw, source, what="a --set value", lines=False)[0] if raw.strip() else ""
    except TooLarge:  # the bounds of a file hold for a value too (an alias bomb, deep nesting)
        raise
    except ScenarioError:
        value = raw  # not YAML: the text as written
    return key.strip().split("."), value


def apply_override(data: dict, item: str) -> tuple:
    """Set one key path in the raw scenario data; list items by index or by their `name`."""
    parts, value = parse_override(item)
    node: Any = data
    path: list = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(node, part, item)
            path.append(index)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            path.append(part)
            if last:
                node[part] = value
            else:
                if part not in node or node[part] is None:
                    fields = fields_at(tuple(path), data)
                    if part not in fields:
                        close = difflib.get_close_matches(part, fields, n=1, cutoff=0.5)
                        hint = f"; did you mean '{close[0]}'?" if close else ""
                        raise ScenarioError(f"--set {item}: unknown key '{part}'{hint}")
                    node[part] = {}
                node = node[part]
        else:
            raise ScenarioError(f"--set {item}: '{'.'.join(parts[:i])}' is a value, not a section")
    return tuple(path)


def _list_index(node: list, part: str, item: str) -> int:
    index = find_item(node, part)
    if index is not None:
        return index
    if part.lstrip("-").isdigit():
        raise ScenarioError(f"--set {item}: index {int(part)} is out of range (the list has {len(node)} items)")
    names = [str(e.get("name")) for e in node if isinstance(e, dict)]
    raise ScenarioError(f"--set {item}: no item named '{part}' (known: {', '.join(names)})")
