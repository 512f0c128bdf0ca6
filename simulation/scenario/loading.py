"""Loading a scenario: YAML read safely with line numbers, overrides applied, validated, every problem one message.

`load_scenario` turns every problem into one `ScenarioError` naming the file, the line, the key
path, what was expected and what was found. A file is bounded before anything is built from it
(`MAX_FILE_BYTES`, `MAX_DEPTH`, `MAX_NODES`, `MAX_TEXT`, `MAX_ITEMS`; README, "Scenario file
reference"), so that no input, however hostile, takes more than seconds and a few megabytes to refuse.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from simulation.scenario.errors import ScenarioError, TooLarge, describe, path_text, shorten
from simulation.scenario.keypaths import apply_override, fields_at
from simulation.scenario.schema import (_EVENT_MODELS, MAX_SAMPLE_ROWS, BudgetChange, Crisis, Scenario, SinkClose,
                                        SinkLaunch, StrategyChange)

#: Largest scenario file, in bytes (the shipped ones are 1 to 3 kB).
MAX_FILE_BYTES = 1_000_000
#: Deepest nesting of mappings and lists, aliases expanded (a scenario needs 5).
MAX_DEPTH = 50
#: Most values in a document (keys, values and list items), aliases expanded (the shipped scenarios have at
#: most 250; PyYAML reads about 10,000 a second, so this also bounds the time to read a file to seconds).
MAX_NODES = 20_000
#: Most characters of text in a document's values, aliases expanded.
MAX_TEXT = 1_000_000
#: Most items in each list of a scenario.
MAX_ITEMS = {"sinks": 200, "brands": 100, "events": 1_000, "arms": 100}
#: Most problems one message lists (the first ones, then how many more).
MAX_REPORTED = 20


class _Lines:
    """Key path -> line number, from the YAML node tree."""

    def __init__(self, root: yaml.Node | None):
        self.lines: dict[tuple, int] = {}
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):  # a list or a mapping as a key: refused when read
                    continue
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


class DocumentTooLarge(Exception):
    """A YAML document past one of the bounds (depth, values, text), found while it is composed."""

    def __init__(self, problem: str, mark: yaml.Mark | None):
        super().__init__(problem)
        self.problem, self.mark = problem, mark


class _BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that bounds the document while composing it, refuses a key written twice, and turns
    values PyYAML cannot construct (2001-13-45, an integer of 5,000 digits) into a YAML error with a line.

    Aliases are counted as what they expand to: a billion laughs (nine anchors of nine) stops at the
    sixth anchor, in microseconds, instead of building nine to the ninth values downstream.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = self._nodes = self._chars = 0

    def _count(self, nodes: int, chars: int, depth: int, mark: yaml.Mark) -> None:
        self._nodes += nodes
        self._chars += chars
        if depth > MAX_DEPTH:
            raise DocumentTooLarge(f"mappings and lists nest more than {MAX_DEPTH} levels deep (aliases expanded); "
                                   "a scenario needs about 5", mark)
        if self._nodes > MAX_NODES:
            raise DocumentTooLarge(f"the document holds more than {MAX_NODES:,} values (keys, values and list items, "
                                   "aliases expanded)", mark)
        if self._chars > MAX_TEXT:
            raise DocumentTooLarge(f"the document holds more than {MAX_TEXT:,} characters of text (aliases expanded)",
                                   mark)

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = getattr(node, "_expanded", None)
            if size is None:
                raise DocumentTooLarge("an alias refers to a mapping or list that holds it (it would expand forever)",
                                       mark)
            self._count(size[0], size[1], self._depth + size[2], mark)
            return node
        self._depth += 1
        try:
            nodes, chars = self._nodes, self._chars
            self._count(1, 0, self._depth, mark)
            node = super().compose_node(parent, index)
            if isinstance(node, yaml.ScalarNode):
                self._count(0, len(node.value), self._depth, mark)
                height = 1
            else:
                children = node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
                height = 1 + max((child._expanded[2] for child in children), default=0)
            node._expanded = (self._nodes - nodes, self._chars - chars, height)
            return node
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):  # noqa: ANN001, ANN201 - PyYAML's signature
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # PyYAML's constructors raise ValueError, AttributeError... on values they cannot read
            tag = str(node.tag).rpartition(":")[2] or "value"
            found = describe(node.value) if isinstance(node, yaml.ScalarNode) else f"a {tag}"
            reason = shorten(str(exc).split(";")[0])
            raise yaml.constructor.ConstructorError(None, None, f"cannot read {found} as a YAML {tag} ({reason})",
                                                    node.start_mark) from None

    def construct_mapping(self, node, deep=False):  # noqa: ANN001, ANN201 - PyYAML's signature
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *anchor', merged by SafeLoader below
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be a name, found {describe(key)}", key_node.start_mark) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is written twice in one mapping (first on line {seen[key]})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 (PyYAML) reads 1e-3 and 2E6 as text, for want of a dot; YAML 1.2, and everyone, reads numbers.
_BoundedLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
                                     list("-+0123456789"))


def parse_yaml(text: str, source: str, what: str = "a scenario", lines: bool = True) -> tuple[Any, yaml.Node | None]:
    """One YAML document, bounded and safely constructed, and its node tree (for line numbers).

    Every problem is a ScenarioError that starts with `source` and, with `lines`, the line; a bound
    passed is a TooLarge error saying which.
    """
    def where(line: int | None) -> str:
        return f"{source}:{line}" if lines and line else source

    loader = None
    try:
        loader = _BoundedLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except DocumentTooLarge as exc:
        raise TooLarge(f"{where(exc.mark and exc.mark.line + 1)}: too large to be {what}: {exc.problem}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character, NUL)
        line = text.count("\n", 0, exc.position) + 1
        raise ScenarioError(f"{where(line)}: YAML syntax error: character #x{exc.character:04x} is not allowed "
                            f"({exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{where(mark and mark.line + 1)}: YAML syntax error: {problem}") from None
    except RecursionError:  # not reached within MAX_DEPTH; a last guard, never a traceback
        raise TooLarge(f"{source}: too large to be {what}: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, node


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_regular_file(path: Path, what: str, key: str | None = None) -> os.stat_result:
    """Refuse at once, without opening it, a path that is not a regular file (a device, a pipe, a folder).

    Messages start with the path, then `key` (the scenario key that names the file) when given.
    """
    where = f"{path}: {key}:" if key else f"{path}:"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(f"{where} no such {what}") from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{where} cannot read the {what} ({getattr(exc, 'strerror', None) or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(f"{where} is a folder, expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(f"{where} is {_file_kind(info.st_mode)}, expected a {what} (a regular file)")
    return info


def read_bounded(path: Path, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else is a ScenarioError, found at once."""
    info = check_regular_file(path, what)
    too_big = f"{path}: the {what} is larger than {limit:,} bytes, the most a {what} may hold"
    if info.st_size > limit:
        raise TooLarge(f"{too_big} (it has {info.st_size:,})")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # replaced since the check above
                raise ScenarioError(f"{path}: is not a regular file, expected a {what}")
            raw = handle.read(limit + 1)  # a file that grows, or reports a size of 0 (/proc), is still bounded
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if len(raw) > limit:
        raise TooLarge(too_big)
    return raw


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
        return f"unknown key '{shorten(str(path[-1]))}'{hint}"
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
    for i, arm in enumerate(s.arms):
        for key, value in arm.set.items():
            try:
                json.dumps(value, allow_nan=False)  # an arm's values become --set overrides, written as JSON
            except (TypeError, ValueError):
                problems.append((("arms", i, "set", key), "expected what --set takes (a finite number, a text, true or "
                                 f"false, null, a list or a mapping of them), found {describe(value)}"))
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


def _read_yaml(path: Path) -> tuple[str, Any, yaml.Node | None]:
    """The text of a scenario file, its data and its node tree; bounded (MAX_FILE_BYTES, ...) before parsing."""
    raw = read_bounded(path, "scenario file", MAX_FILE_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc})") from None
    data, root = parse_yaml(text, str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: expected a mapping of keys (name, sinks, brands, ...), found {describe(data)}")
    return text, data, root


def _check_sizes(data: dict) -> list[tuple[tuple, str]]:
    """Lists longer than MAX_ITEMS allows, found before validation builds anything from them."""
    problems = []
    for key, most in MAX_ITEMS.items():
        items = data.get(key)
        if isinstance(items, list) and len(items) > most:
            problems.append(((key,), f"expected at most {most:,} {key}, found {len(items):,}"))
    return problems


def validate_data(data: dict, *, source: str, lines: _Lines | None = None, overrides: dict | None = None) -> Scenario:
    """Validate raw scenario data; every problem becomes one ScenarioError."""
    overrides = overrides or {}
    problems = _check_sizes(data)
    try:
        if not problems:
            scenario = Scenario.model_validate(data)
            problems = _check_references(scenario)
    except ValidationError as exc:
        problems = [(_clean_loc(tuple(e["loc"])), _message(e, _clean_loc(tuple(e["loc"])), data)) for e in exc.errors()]
    if not problems:
        return scenario
    out = []
    for path, msg in problems[:MAX_REPORTED]:
        override = next((o for p, o in overrides.items() if path[: len(p)] == p or p[: len(path)] == path), None)
        if override:
            where = f"--set {override}"
        else:
            line = lines.line(path) if lines else None
            where = f"{source}:{line}" if line else source
        out.append(f"{where}: {path_text(path)}: {msg}")
    if len(problems) > MAX_REPORTED:
        out.append(f"{source}: ... and {len(problems) - MAX_REPORTED:,} more problems")
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
    text, data, root = _read_yaml(path)
    lines = _Lines(root)
    applied = {}
    for item in overrides:
        applied[apply_override(data, item)] = item
    scenario = validate_data(data, source=str(path), lines=lines, overrides=applied)
    if scenario.question is None:
        scenario.question = header_question(text)
    if scenario.network.kind == "file":
        line = lines.line(("network", "path"))
        override = next((o for p, o in applied.items() if p[:2] == ("network", "path") or p == ("network",)), None)
        where = f"--set {override}" if override else f"{path}:{line}: network.path" if line else f"{path}: network.path"
        try:
            if not Path(scenario.network.path).is_absolute():
                scenario.network.path = str((path.parent / scenario.network.path).resolve())
        except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a symlink loop
            raise ScenarioError(f"{where}: cannot use {describe(scenario.network.path)} as a path ({exc})") from None
        try:
            check_regular_file(Path(scenario.network.path), "graph file")
        except ScenarioError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        _check_users_fit_the_graph(data, scenario, path, lines)
    return LoadedScenario(
        scenario=scenario,
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        overrides=tuple(overrides),
    )


def _check_users_fit_the_graph(data: dict, scenario, path: Path, lines) -> None:
    """With a graph file its nodes are the users; a file that also writes more users than that is refused
    (the run would not be the size the scenario says). A graph that cannot be read is left to the run."""
    from simulation.model.network import read_graph_file

    population = data.get("population")
    if not isinstance(population, dict) or "users" not in population:
        return
    try:
        nodes = read_graph_file(Path(scenario.network.path)).number_of_nodes()
    except ScenarioError:
        return
    users = scenario.population.users
    if nodes < users:
        line = lines.line(("population", "users"))
        where = f"{path}:{line}" if line else str(path)
        raise ScenarioError(f"{where}: population.users: the graph file {scenario.network.path} has {nodes:,} nodes, "
                            f"fewer than population.users ({users:,}); leave population.users out (the graph's "
                            f"nodes are the users), set it to at most {nodes:,} (--set population.users={nodes}), "
                            "or give a graph with that many nodes")


class LoadedScenario(BaseModel):
    """A validated scenario with where it came from (for provenance)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    scenario: Scenario
    path: Path
    sha256: str
    overrides: tuple[str, ...] = ()
