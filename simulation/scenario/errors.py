"""Scenario errors: one message naming the file, the line, the key path, what was expected and what was found."""

from __future__ import annotations

from typing import Any


class ScenarioError(Exception):
    """A user's mistake in a scenario or an override: printed as is, exit code 2."""


class TooLarge(ScenarioError):
    """A scenario or a --set value past one of the bounds of a document (size, depth, values, text)."""


def path_text(path: tuple) -> str:
    """('brands', 0, 'price') -> 'brands[0].price'."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{describe(part)}]"
        else:
            part = part if isinstance(part, str) else describe(part)
            text += f".{part}" if text else part
    return shorten(text) or "(top level)"


#: The longest a value is quoted in a message before it is cut (a message stays one readable line).
QUOTE_LIMIT = 80


def shorten(text: str) -> str:
    """`text`, cut to QUOTE_LIMIT characters."""
    return text if len(text) <= QUOTE_LIMIT else f"{text[:QUOTE_LIMIT - 1]}…"


def describe(value: Any) -> str:
    """A found value as a message quotes it: short, on one line, booleans named as such."""
    if isinstance(value, bool):  # YAML reads yes, no, on, off, true and false as booleans
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, str):
        return repr(value) if len(value) <= QUOTE_LIMIT else f"{shorten(repr(value))} ({len(value):,} characters)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    try:
        return shorten(repr(value))
    except ValueError:  # an int too long to print (over 4,300 digits)
        return f"a number of {value.bit_length():,} bits" if isinstance(value, int) else f"a {type(value).__name__}"
