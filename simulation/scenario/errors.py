"""Scenario errors: one message naming the file, the line, the key path, what was expected and what was found."""

from __future__ import annotations

from typing import Any


class ScenarioError(Exception):
    """A user's mistake in a scenario or an override: printed as is, exit code 2."""


def path_text(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)
