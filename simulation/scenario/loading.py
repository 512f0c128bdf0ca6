"""Loading a scenario: YAML read safely with line numbers, overrides applied, validated, every problem one message.

`load_scenario` turns every problem into one `ScenarioError` naming the file, the line, the key
path, what was expected and what was found.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from simulation.scenario.errors import ScenarioError, describe, path_text
from simulation.scenario.keypaths import apply_override, fields_at
from simulation.scenario.schema import (_EVENT_MODELS, MAX_SAMPLE_ROWS, BudgetChange, Crisis, Scenario, SinkClose,
                                        SinkLaunch, StrategyChange)


class _Lines:
    """Key path -> line number, from the YAML node tree."""

    def __init__(self, text: str):
        self.lines: dict[tuple, int] = {}
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            root = None
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = path + (key.value,)
                self._walk(value, sub)
                self.lines[sub] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, path + (i,))

    def line(self, path: tuple) -> int | None:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)


_EVENT_TAGS = set(_EVENT_MODELS)


def _clean_loc(loc: tuple) -> tuple:
    """Drop pydantic's union tags from an error location."""
    return tuple(p for p in loc if not (isinstance(p, str) and p in _EVENT_TAGS | {"function-after"}))


def _message(err: dict, path: tuple, data: Any) -> str:
    kind, msg, found = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        fields = fields_at(path, data)
        close = difflib.get_close_matches(str(path[-1]), fields, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; valid keys here: {', '.join(fields)}" if fields else "")
        return f"unknown key '{path[-1]}'{hint}"
    if kind == "missing":
        return "expected a value for this required key, found none"
    if kind == "union_tag_invalid":
        return f"expected an event type among {', '.join(sorted(_EVENT_TAGS))}, found {describe(err.get('ctx', {}).get('tag'))}"
    if kind == "string_pattern_mismatch":
        return ("expected a name of letters, digits, spaces, _ & ' or - (no dot), starting with a letter, "
                f"digit or _, found {describe(found)}")
    if kind == "string_too_long":
        return f"expected at most {err.get('ctx', {}).get('max_length')} characters, found {len(str(found))}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"expected a number {msg.removeprefix('Input should be ')}, found {describe(found)}"
    if msg.startswith("Input should be"):
        return f"expected {msg.removeprefix('Input should be ')}, found {describe(found)}"
    return f"{msg}, found {describe(found)}"


def _check_references(s: Scenario) -> list[tuple[tuple, str]]:
    """Cross-references the schema alone cannot see: unique names, known sinks and brands."""
    problems: list[tuple[tuple, str]] = []
    sink_names: list[str] = []
    for i, sink in enumerate(s.sinks):
        if sink.name in sink_names:
            problems.append((("sinks", i, "name"), f"two sinks are named '{sink.name}'"))
        sink_names.append(sink.name)
    launched = [e.sink.name for e in s.events if isinstance(e, SinkLaunch)]
    for i, e in enumerate(s.events):
        if isinstance(e, SinkLaunch) and (e.sink.name in sink_names or launched.count(e.sink.name) > 1):
            problems.append((("events", i, "sink", "name"), f"a sink named '{e.sink.name}' already exists"))
    if s.network.kind not in ("file", "complete"):
        users = s.population.users
        if s.network.kind == "barabasi_albert" and s.network.m >= users:
            problems.append((("network", "m"), f"barabasi_albert needs m < population.users, found m={s.network.m} for {users} users"))
        if s.network.kind == "watts_strogatz" and s.network.k >= users:
            problems.append((("network", "k"), f"watts_strogatz needs k < population.users, found k={s.network.k} for {users} users"))
    rows = s.collect.sample_users * len(s.brands) * s.days
    if rows > MAX_SAMPLE_ROWS:
        problems.append((("collect", "sample_users"), f"{s.collect.sample_users} users x {len(s.brands)} brands x {s.days} days "
                         f"is {rows:,} rows; at most {MAX_SAMPLE_ROWS:,} are kept in memory: follow fewer users"))
    closes: dict[str, int] = {}
    launch_day = {e.sink.name: e.day for e in s.events if isinstance(e, SinkLaunch)}
    for i, e in enumerate(s.events):
        if isinstance(e, SinkClose):
            if e.sink in closes:
                problems.append((("events", i, "sink"), f"'{e.sink}' is already closed by events[{closes[e.sink]}]"))
            closes[e.sink] = i
            if e.sink in launch_day and e.day <= launch_day[e.sink]:
                problems.append((("events", i, "day"), f"'{e.sink}' closes on day {e.day}, before it launches on day {launch_day[e.sink]}"))
    all_sinks = sink_names + launched
    brand_names: list[str] = []
    for i, brand in enumerate(s.brands):
        if brand.name in brand_names:
            problems.append((("brands", i, "name"), f"two brands are named '{brand.name}'"))
        if brand.name in all_sinks:
            problems.append((("brands", i, "name"), f"'{brand.name}' is already the name of a sink"))
        brand_names.append(brand.name)
        for j, sink in enumerate(brand.ad_sinks or []):
            if sink not in all_sinks:
                problems.append((("brands", i, "ad_sinks", j), _unknown("sink", sink, all_sinks)))
    for i, e in enumerate(s.events):
        if isinstance(e, (Crisis, BudgetChange, StrategyChange)) and e.brand not in brand_names:
            problems.append((("events", i, "brand"), _unknown("brand", e.brand, brand_names)))
        if isinstance(e, SinkClose) and e.sink not in all_sinks:
            problems.append((("events", i, "sink"), _unknown("sink", e.sink, all_sinks)))
    return problems


def _unknown(what: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
    return f"no {what} named '{name}' ({hint})"


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key written twice in one mapping (the second would silently win)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is written twice in one mapping (first on line {seen[key]})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> tuple[str, Any]:
    if not path.exists():
        raise ScenarioError(f"{path}: no such scenario file")
    if path.is_dir():
        raise ScenarioError(f"{path}: is a folder, expected a YAML scenario file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{where}: YAML syntax error: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: expected a mapping of keys (name, sinks, brands, ...), found {describe(data)}")
    return text, data


def validate_data(data: dict, *, source: str, lines: _Lines | None = None, overrides: dict | None = None) -> Scenario:
    """Validate raw scenario data; every problem becomes one ScenarioError."""
    overrides = overrides or {}
    try:
        scenario = Scenario.model_validate(data)
        problems = _check_references(scenario)
    except ValidationError as exc:
        problems = [(_clean_loc(tuple(e["loc"])), _message(e, _clean_loc(tuple(e["loc"])), data)) for e in exc.errors()]
    if not problems:
        return scenario
    out = []
    for path, msg in problems:
        override = next((o for p, o in overrides.items() if path[: len(p)] == p or p[: len(path)] == path), None)
        if override:
            where = f"--set {override}"
        else:
            line = lines.line(path) if lines else None
            where = f"{source}:{line}" if line else source
        out.append(f"{where}: {path_text(path)}: {msg}")
    raise ScenarioError("\n".join(out))


def header_question(text: str) -> str | None:
    """The paragraph of the file's leading comment that starts with 'Question', without that label."""
    paragraphs, current = [], []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        if body:
            current.append(body)
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    for paragraph in paragraphs:
        if paragraph[0].lower().startswith("question"):
            joined = " ".join(paragraph)
            label, colon, rest = joined.partition(":")
            question = (rest if colon and len(label) <= 60 else joined).strip()
            return question[:1].upper() + question[1:] if question else None
    return None


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> "LoadedScenario":
    """Read, override and validate a scenario file."""
    path = Path(path)
    text, data = _read_yaml(path)
    applied = {}
    for item in overrides:
        applied[apply_override(data, item)] = item
    scenario = validate_data(data, source=str(path), lines=_Lines(text), overrides=applied)
    if scenario.question is None:
        scenario.question = header_question(text)
    if scenario.network.path and not Path(scenario.network.path).is_absolute():
        scenario.network.path = str((path.parent / scenario.network.path).resolve())
    if scenario.network.kind == "file" and not Path(scenario.network.path).is_file():
        line = _Lines(text).line(("network", "path"))
        raise ScenarioError(f"{path}:{line}: network.path: no such graph file: {scenario.network.path}")
    return LoadedScenario(
        scenario=scenario,
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        overrides=tuple(overrides),
    )


class LoadedScenario(BaseModel):
    """A validated scenario with where it came from (for provenance)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    scenario: Scenario
    path: Path
    sha256: str
    overrides: tuple[str, ...] = ()
