"""Hostile scenario input (issue 15): exit code 2, one message naming the file, nothing written, in bounded
time and memory; never a traceback, never another exit code.

The cases come from an adversarial run: alias bombs, files that are not files, huge files, deep nesting,
booleans read as numbers, graph files of self-loops; then a property-based test that mutates the default
scenario's YAML tree, and the peak memory of `run.py validate` on each hostile file.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import resource
import signal
import subprocess
import sys
import typing
from pathlib import Path

import networkx as nx
import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import simulation
from simulation.cli import main
from simulation.scenario import Scenario, load_scenario
from tests.conftest import SCENARIOS, small_data

DEFAULT = SCENARIOS / "relational_vs_billboard.yaml"
#: run.py of the code under test (the one `simulation` is imported from, say a worktree on PYTHONPATH).
RUN_PY = Path(simulation.__file__).resolve().parents[1] / "run.py"
#: Memory of its own (anonymous pages) a process refusing an input may take, interpreter and imports included.
MEMORY_LIMIT_MB = 300


class _Deadline(BaseException):
    """Raised by the guard below; a BaseException, so that main() does not report it as its own fault."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Stop a command that runs past `seconds` (the code before issue 15 ran for minutes on some inputs)."""
    def stop(signum, frame):
        raise _Deadline(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def memory_cap(extra_mb: int = 1500):
    """Cap this process's address space at its size now plus `extra_mb` while a command runs: the code before
    issue 15 read /dev/zero until the kernel's OOM killer stopped it (at 23 GB here), a danger to a shared machine."""
    try:
        with open("/proc/self/statm") as handle:
            size = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: no cap
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + extra_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def cli(*argv: str, seconds: float = 30) -> tuple[int, str, str]:
    """main(argv) in this process, with its exit code, stdout and stderr, within a time and a memory guard."""
    out, err = io.StringIO(), io.StringIO()
    with deadline(seconds), memory_cap(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_refused(code: int, err: str, source: str, hostile: bool = True) -> str:
    """Exit 2, an `error:` message that names the file (or the --set), on a few short lines, no traceback."""
    assert code == 2, err
    assert err.startswith(f"error: {source}"), err[:500]
    assert "Traceback" not in err and "internal error" not in err
    if hostile:  # the cause is the input, not the machine's memory
        assert "out of memory" not in err and "use fewer users" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) <= 21 and all(len(line) <= 600 for line in lines), err[:2000]
    return err


def billion_laughs(indent: str = "") -> str:
    """Nine anchors of nine: 9^9 = 387 million strings once expanded."""
    text = f'{indent}a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{indent}{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
        previous = name
    return text


def hostile_documents() -> dict[str, str]:
    """Each hostile YAML document by name (the ones an adversarial run found, and their class)."""
    default = DEFAULT.read_text()
    flow_bomb = "[" + ", ".join(["&a [1, 1, 1, 1, 1, 1, 1, 1, 1]"] + [
        f"&{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi")]) + "]"
    deep = "[" * 45 + "1" + "]" * 45
    return {
        "bomb alone": billion_laughs(),
        "bomb under an unknown key": default + "\nextra:\n" + billion_laughs("  "),
        "bomb in arms[0].set": default + "\narms:\n  - name: x\n    set:\n" + billion_laughs("      "),
        "bomb in a flow list": default + f"\nextra: {flow_bomb}\n",
        "deep through aliases": default + f"\nx: &deep {deep}\ny: {'[' * 10}*deep{']' * 10}\n",
        "10,000 nested [": "a: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "10,000 nested {": "a: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "30,000 values": default + "\nextra: [" + ", ".join(["0"] * 30_000) + "]\n",
        "an alias to its own list": default + "\nextra: &a [1, *a]\n",
    }


# -- 1. alias bombs, deep nesting, too many values: bounded while the document is read -----------------------

@pytest.mark.parametrize("name", list(hostile_documents()))
def test_a_hostile_document_is_refused_at_once_and_says_which_bound(name, tmp_path):
    path = tmp_path / "hostile.yaml"
    path.write_text(hostile_documents()[name])
    code, _, err = cli("validate", str(path), seconds=20)
    assert_refused(code, err, f"{path}:")
    if "bomb" in name or "values" in name:
        bound = "the document holds more than 20,000 values (keys, values and list items, aliases expanded)"
    elif "own list" in name:
        bound = "an alias refers to a mapping or list that holds it"
    else:
        bound = "mappings and lists nest more than 50 levels deep"
    assert f"too large to be a scenario: {bound}" in err, err


def test_run_refuses_an_alias_bomb_and_writes_nothing(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(hostile_documents()["bomb in arms[0].set"])
    for command in (["run", str(path), "--out", str(tmp_path / "out"), "--quiet"],
                    ["compare", str(path), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]):
        code, _, err = cli(*command, seconds=20)
        assert_refused(code, err, f"{path}:")
        assert not (tmp_path / "out").exists()


def test_an_arm_value_no_set_can_take_is_refused_when_the_file_is_read(tmp_path):
    path = tmp_path / "arms.yaml"
    path.write_text(DEFAULT.read_text() + "\narms:\n  - name: a\n    set: {days: 2020-01-01}\n  - name: b\n"
                                          "    set: {market.q: .nan}\n")
    for command in (["validate", str(path)], ["compare", str(path), "--out", str(tmp_path / "out"), "--quiet",
                                              "--workers", "1", "--replications", "1"]):
        code, _, err = cli(*command)
        assert_refused(code, err, f"{path}:")
        assert "arms[0].set.days" in err and "found datetime.date(2020, 1, 1)" in err
        assert "arms[1].set.market.q" in err and "found nan" in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["deep", "bomb", "cycle"])
def test_a_hostile_set_value_is_refused_like_a_file(kind):
    value = {"deep": "[" * 10_000, "cycle": "&a [*a]",
             "bomb": hostile_documents()["bomb in a flow list"].rpartition("extra: ")[2].strip()}[kind]
    code, _, err = cli("validate", str(DEFAULT), "--set", f"description={value}", seconds=20)
    assert_refused(code, err, "--set description=")
    assert "too large to be a --set value" in err


# -- 2. a scenario (or a graph file) that is not a regular file is refused before it is opened ---------------

def test_a_device_or_a_pipe_as_the_scenario_is_refused_at_once(tmp_path):
    code, _, err = cli("validate", "/dev/zero", seconds=10)
    assert_refused(code, err, "/dev/zero")
    assert "is a character device" in err and "regular file" in err
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    code, _, err = cli("validate", str(fifo), seconds=10)  # opening it would wait for a writer forever
    assert_refused(code, err, str(fifo))
    assert "is a named pipe" in err


def test_a_device_or_a_pipe_as_the_graph_file_is_refused_at_once(tmp_path, write_yaml):
    fifo = tmp_path / "graph.txt"
    os.mkfifo(fifo)
    for graph in ("/dev/zero", str(fifo)):
        path = write_yaml(small_data(network={"kind": "file", "path": graph}))
        code, _, err = cli("validate", str(path), seconds=10)
        assert_refused(code, err, f"{path}:")
        assert "network.path" in err and "regular file" in err and graph in err
    # the same check where a run reads the graph (a sweep's --vary network.path reaches it without load_scenario)
    from simulation.model.network import read_graph_file
    from simulation.scenario import ScenarioError

    with deadline(10), memory_cap(), pytest.raises(ScenarioError, match="is a named pipe"):
        read_graph_file(fifo)


def test_a_graphml_entity_bomb_is_refused(tmp_path):
    """XML's billion laughs in a GraphML file: expat (2.4.1 and later) refuses it; a guard, not a change."""
    from simulation.model.network import read_graph_file
    from simulation.scenario import ScenarioError

    entities = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    (tmp_path / "bomb.graphml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE graphml [{entities}]><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        '<graph edgedefault="undirected"><node id="&l9;"/><node id="b"/><edge source="&l9;" target="b"/></graph>'
        "</graphml>")
    with deadline(10), memory_cap(), pytest.raises(ScenarioError, match="cannot read the graph"):
        read_graph_file(tmp_path / "bomb.graphml")


# -- 3. limits on the file's size and its lists, before anything is built ------------------------------------

def test_a_file_past_the_size_limit_is_refused_before_it_is_read(tmp_path):
    sinks = "".join(f"  - {{name: s{i}, kind: social, appeal: 0.1}}\n" for i in range(30_000))  # 1.2 MB
    path = tmp_path / "big.yaml"
    path.write_text("name: big\nsinks:\n" + sinks + "brands:\n  - {name: B, strategy: billboard}\n")
    code, _, err = cli("validate", str(path), seconds=30)
    assert_refused(code, err, str(path))
    assert "larger than 1,000,000 bytes" in err and f"{path.stat().st_size:,}" in err


@pytest.mark.skipif(not os.path.exists("/proc/self/pagemap"), reason="Linux's /proc")
def test_a_file_that_claims_to_be_empty_is_still_read_only_up_to_the_limit():
    """/proc files report a size of 0; /proc/self/pagemap holds gigabytes (8 bytes per page of address space)."""
    assert os.stat("/proc/self/pagemap").st_size == 0
    code, _, err = cli("validate", "/proc/self/pagemap", seconds=20)
    assert_refused(code, err, "/proc/self/pagemap")
    assert "larger than 1,000,000 bytes" in err


@pytest.mark.parametrize(("key", "most"), [("sinks", 200), ("brands", 100), ("events", 1000), ("arms", 100)])
def test_lists_past_their_limit_are_refused_with_the_line(tmp_path, write_yaml, key, most):
    item = {"sinks": lambda i: {"name": f"n{i}", "kind": "social"},
            "brands": lambda i: {"name": f"n{i}", "strategy": "billboard"},
            "events": lambda i: {"type": "crisis", "day": 1 + i % 30, "brand": "Rel"},
            "arms": lambda i: {"name": f"n{i}", "set": {}}}[key]
    data = small_data(events=[])
    data[key] = [item(i) for i in range(most + 1)]
    path = write_yaml(data)
    code, _, err = cli("validate", str(path))
    line = yaml.safe_dump(data, sort_keys=False).splitlines().index(f"{key}:") + 1
    assert_refused(code, err, f"{path}:{line}: {key}: ")
    assert f"expected at most {most:,} {key}, found {most + 1:,}" in err
    data[key] = data[key][:most]  # at the limit: valid
    code, _, err = cli("validate", str(write_yaml(data)))
    assert code == 0, err


def test_many_problems_are_one_message_of_at_most_21_lines(tmp_path, write_yaml):
    data = small_data(events=[])
    data["sinks"] = [{"name": f"s{i}", "kind": "socal"} for i in range(150)]
    code, _, err = cli("validate", str(write_yaml(data)))
    assert_refused(code, err, "")
    assert err.strip().splitlines()[-1].endswith("... and 130 more problems")


# -- 4. deep nesting is a message, not a RecursionError ------------------------------------------------------

def test_ten_thousand_nested_brackets_are_exit_2_with_a_message(tmp_path):
    path = tmp_path / "nested.yaml"
    path.write_text("[" * 10_000 + "]" * 10_000 + "\n")
    code, _, err = cli("validate", str(path), seconds=20)
    assert_refused(code, err, f"{path}:1:")
    assert "nest more than 50 levels deep" in err
    code, _, err = cli("validate", str(DEFAULT), "--set", "days=" + "[" * 10_000, seconds=20)
    assert_refused(code, err, "--set days=")


# -- 5. booleans are never numbers --------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "written"), [
    (("days",), "yes"), (("population", "users"), "true"), (("seed",), "no"), (("brands", 0, "budget_per_day"), "on"),
    (("sinks", 0, "appeal"), "off"), (("brands", 0, "frequency_cap"), "yes"), (("collect", "sample_users"), "true"),
    (("events", 1, "day"), "yes"), (("events", 1, "share"), "yes")])
def test_a_boolean_is_never_a_number(tmp_path, write_yaml, path, written):
    data = small_data()
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[path[-1]] = f"@@{written}@@"
    scenario = write_yaml(yaml.safe_dump(data, sort_keys=False).replace(f"'@@{written}@@'", written))
    code, _, err = cli("validate", str(scenario))
    assert_refused(code, err, f"{scenario}:")
    dotted = ".".join(str(p) for p in path).replace(".0.", "[0].").replace(".1.", "[1].")
    assert dotted in err and "found true (a yes/no value)" in err.replace("false", "true")


def test_a_boolean_set_value_is_never_a_number():
    for item in ("days=yes", "population.users=true", "brands.Billboard.budget_per_day=on"):
        code, _, err = cli("validate", str(DEFAULT), "--set", item)
        assert_refused(code, err, f"--set {item}")
        assert "(a yes/no value)" in err


def test_whole_numbers_are_still_valid_reals_and_reals_are_not_whole_numbers(tmp_path, write_yaml):
    data = small_data()
    data["brands"][0].update(budget_per_day=100, price=40, margin=1, cpm=5)
    data["sinks"][0]["appeal"] = -2
    scenario = load_scenario(write_yaml(data), ["market.q=0", "brands.Bill.budget_per_day=250"]).scenario
    assert scenario.brands[0].budget_per_day == 100.0 and isinstance(scenario.brands[0].budget_per_day, float)
    assert scenario.brands[1].budget_per_day == 250.0 and scenario.sinks[0].appeal == -2.0
    for item, found in (("days=30.5", "30.5"), ('days="30"', "'30'"), ("brands.Billboard.price='40'", "'40'")):
        code, _, err = cli("validate", str(DEFAULT), "--set", item)  # nor is a text a number
        assert_refused(code, err, f"--set {item}")
        assert f"found {found}" in err and ("valid integer" in err or "valid number" in err)


def test_a_number_or_a_text_is_never_a_yes_or_no():
    for item, found in (("market.funnel=1", "found 1"), ("market.choice_set='true'", "found 'true'")):
        code, _, err = cli("validate", str(DEFAULT), "--set", item)
        assert_refused(code, err, f"--set {item}")
        assert "expected a valid boolean" in err and found in err
    assert load_scenario(DEFAULT, ["market.funnel=yes"]).scenario.market.funnel is True


def test_numbers_written_as_everyone_writes_them_are_numbers(write_yaml):
    """30.0 for a whole number, 1e-3 without a dot (YAML 1.2; PyYAML alone reads it as text): in a file and in --set."""
    data = small_data(days=30.0, market={"q": "placeholder"})
    text = yaml.safe_dump(data, sort_keys=False).replace("placeholder", "1e-3")
    scenario = load_scenario(write_yaml(text)).scenario
    assert scenario.days == 30 and isinstance(scenario.days, int) and scenario.market.q == 0.001
    scenario = load_scenario(DEFAULT, ["population.users=2e3", "market.q=2.5E-2", "days=1e2"]).scenario
    assert (scenario.population.users, scenario.market.q, scenario.days) == (2000, 0.025, 100)


# -- 6. graph files: self-loops dropped with a warning, a graph left without edges refused ------------------

def test_a_graph_file_of_self_loops_only_is_refused(tmp_path, write_yaml):
    (tmp_path / "loops.txt").write_text("0 0\n1 1\n")
    path = write_yaml(small_data(network={"kind": "file", "path": "loops.txt"}, population={"users": 2}))
    code, out, err = cli("validate", str(path))
    assert_refused(code, err, str(tmp_path / "loops.txt"))
    assert "network.path" in err and "2 nodes and no edge once its 2 self-loops are dropped" in err
    code, _, err = cli("run", str(path), "--out", str(tmp_path / "out"), "--quiet")
    assert_refused(code, err, str(tmp_path / "loops.txt"))
    assert not (tmp_path / "out").exists()


def test_self_loops_in_a_graph_file_are_dropped_with_a_warning(tmp_path, caplog):
    from simulation.model.network import read_graph_file

    (tmp_path / "g.txt").write_text("a b\nb c\nc c\na a\n")
    with caplog.at_level("WARNING"):
        graph = read_graph_file(tmp_path / "g.txt")
    assert graph.number_of_nodes() == 3 and graph.number_of_edges() == 2 and nx.number_of_selfloops(graph) == 0
    warning = " ".join(r.getMessage() for r in caplog.records)
    assert "2 self-loops dropped" in warning and "g.txt" in warning


def test_a_graph_file_with_fewer_nodes_than_the_written_population_users_is_an_error(tmp_path, write_yaml, capsys):
    """The graph decides the number of users; a file that also writes more users than it has nodes is refused."""
    (tmp_path / "g.txt").write_text("0 1\n1 2\n2 3\n")
    data = small_data(days=1, events=[], population={"users": 600}, network={"kind": "file", "path": "g.txt"})
    code = main(["validate", str(write_yaml(data))])
    err = capsys.readouterr().err
    assert code == 2 and "population.users: the graph file" in err and "has 4 nodes, fewer than population.users (600)" in err
    assert "scenario.yaml:" in err  # names the file and the line
    del data["population"]["users"]  # left out: the graph's 4 nodes are the users
    assert main(["validate", str(write_yaml(data))]) == 0
    assert "4 users" in capsys.readouterr().out


# -- 7. property-based: mutations of the default scenario's YAML tree ---------------------------------------

DEFAULT_TREE = yaml.safe_load(DEFAULT.read_text())


def _schema_keys() -> list[str]:
    """Every key the schema knows, so that mutations add real keys with wrong values, not only nonsense."""
    from simulation.scenario.schema import _EVENT_MODELS
    from pydantic import BaseModel

    keys, todo, seen = set(), [Scenario, *_EVENT_MODELS.values()], set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            keys.add(name)
            stack = [field.annotation]
            while stack:
                a = stack.pop()
                if isinstance(a, type) and issubclass(a, BaseModel):
                    todo.append(a)
                stack.extend(typing.get_args(a))
    return sorted(keys)


KEYS = _schema_keys()
EDGES = [0, -1, 1, 2, 0.5, -0.0, 2**31, 2**63, -(2**63), 10**30, 1e308, -1e308, 1e-308, float("nan"), float("inf"),
         float("-inf"), "", " ", "0", "1.5", "yes", "x" * 300, "social", "billboard", "mixed", "file", "complete",
         "platform_launch", "crisis", "a.b", "Billboard", "Relational", True, False, None, [], {}, [0], {"name": ""}]
#: YAML written as is, not as safe_dump would quote it: values PyYAML cannot construct, and nesting or cycles
#: that no tree can hold (bombs, which take minutes to fail, have tests of their own above).
RAW = ["2001-13-45", "1" * 5000, "0x" + "F" * 5000, "!!timestamp 5", "!!binary x", "!!float x",
       "!!python/name:os.system", "[" * 3000 + "]" * 3000, "&cycle [*cycle]", "*nowhere", "2020-01-01", "12:30:00",
       "!!set {a}", '"\\0"']
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
SCALARS = st.one_of(st.sampled_from(EDGES), st.integers(), st.floats(), TEXT,
                    st.sampled_from(range(len(RAW))).map(lambda i: f"@@raw{i}@@"))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.one_of(st.sampled_from(KEYS), TEXT),
                                                                           SCALARS, max_size=3))


def _dump(tree) -> str:
    """The tree as YAML, with the @@raw{i}@@ placeholders replaced by RAW[i] as written."""
    text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    for i, raw in enumerate(RAW):
        text = text.replace(f"'@@raw{i}@@'", raw)
    return text


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


def _mutate(tree, data):
    """One mutation of the tree: a value replaced, a key deleted, added or renamed, a mapping turned into a list."""
    path = data.draw(st.sampled_from(list(_paths(tree))), label="path")
    op = data.draw(st.sampled_from(["replace", "delete", "add", "rename", "flip", "duplicate"]), label="op")
    if not path:
        return data.draw(VALUES, label="whole") if op == "replace" else tree
    parent = tree
    for part in path[:-1]:
        parent = parent[part]
    last, node = path[-1], parent[path[-1]]
    if op == "replace":
        parent[last] = data.draw(VALUES, label="value")
    elif op == "delete":
        del parent[last]
    elif op == "add" and isinstance(node, dict):
        node[data.draw(st.one_of(st.sampled_from(KEYS), TEXT), label="key")] = data.draw(VALUES, label="value")
    elif op == "add" and isinstance(node, list):
        node.append(copy.deepcopy(node[0]) if node and data.draw(st.booleans()) else data.draw(VALUES))
    elif op == "rename" and isinstance(parent, dict):
        name = str(last)
        new = data.draw(st.sampled_from([name[:-1], name.upper(), name + "s", name.replace("_", "-"), "", " " + name]))
        parent[new] = parent.pop(last)
    elif op == "flip":
        parent[last] = list(node.values()) if isinstance(node, dict) else (
            {str(i): v for i, v in enumerate(node)} if isinstance(node, list) else [node])
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(node))
    return tree


@pytest.mark.slow
@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no 'explain': its line tracer is slow on PyYAML
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_any_mutation_of_the_default_scenario_is_ok_or_one_clear_message(data, tmp_path_factory):
    tree = copy.deepcopy(DEFAULT_TREE)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        tree = _mutate(tree, data)
    path = tmp_path_factory.getbasetemp() / "mutated.yaml"
    path.write_text(_dump(tree), encoding="utf-8")
    code, out, err = cli("validate", str(path), seconds=30)
    event(f"exit {code}")
    assert code in (0, 2), err
    if code == 0:
        assert out.startswith(f"ok: {path}") and not err
    else:  # (a valid population too big for this machine's memory is a fair refusal here)
        assert_refused(code, err, str(path), hostile=False)


# -- peak memory and time of `run.py validate` on each hostile file, in a process of its own -----------------

_MEASURE = """
import json, re, resource, subprocess, sys, time
def cap():  # 4 GB of address space: a runaway read fails with MemoryError instead of emptying the machine
    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
def anonymous_kb(pid):  # the process's own memory; RSS adds the pages of its libraries the page cache holds
    try:
        return int(re.search(r"RssAnon:\\s+(\\d+)", open(f"/proc/{pid}/status").read()).group(1))
    except (OSError, AttributeError):
        return 0
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=cap)
peak_anonymous = 0
while child.poll() is None and time.perf_counter() - start < float(sys.argv[1]):
    peak_anonymous = max(peak_anonymous, anonymous_kb(child.pid))
    time.sleep(0.002)
if child.poll() is None:
    child.kill()
    code = "timeout"
else:
    code = child.returncode
err = child.communicate()[1]
print(json.dumps({"code": code, "stderr": err[-3000:], "seconds": time.perf_counter() - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "anonymous_mb": peak_anonymous / 1024}))
"""


def _measure(*command: str, timeout: float = 60) -> dict:
    """Exit code, stderr, seconds and peak resident memory (MB) of one command, alone in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(timeout), *command], cwd=RUN_PY.parent,
                          capture_output=True, text=True, timeout=timeout + 30)
    return json.loads(done.stdout)


@pytest.mark.slow
def test_refusing_hostile_files_takes_little_memory_and_time(tmp_path):
    """`run.py validate` on each hostile file: its own memory (anonymous pages, sampled every 2 ms) stays under
    300 MB, and its peak RSS about what a valid file takes. (Peak RSS also counts the pages of numba's and
    pandas' libraries that the page cache holds: 214 MB for a valid file where they were read long ago, 308 MB
    in a fresh clone whose files were just written; the process's own memory is about 110 MB in both.)"""
    files = {}
    for name, text in hostile_documents().items():
        files[name] = tmp_path / f"{len(files)}.yaml"
        files[name].write_text(text)
    sinks = "".join(f"  - {{name: s{i}, kind: social, appeal: 0.1, ad_load: 1.0}}\n" for i in range(800_000))
    files["50 MB, 800,000 sinks"] = tmp_path / "huge.yaml"
    files["50 MB, 800,000 sinks"].write_text(f"name: huge\nsinks:\n{sinks}brands:\n  - {{name: B, strategy: billboard}}\n")
    files["/dev/zero"] = "/dev/zero"
    files["990 kB of text under an unknown key"] = tmp_path / "text.yaml"  # as slow to read as a file may be
    files["990 kB of text under an unknown key"].write_text(DEFAULT.read_text() + "\nextra: " + "s" * 990_000 + "\n")
    imports = _measure(sys.executable, "-c", "import simulation.cli")
    valid = _measure(sys.executable, str(RUN_PY), "validate", str(DEFAULT))
    assert valid["code"] == 0, valid
    report = [f"import simulation.cli alone: {imports['peak_mb']:.0f} MB, {imports['seconds']:.1f} s",
              f"validate {DEFAULT.name} (exit 0): {valid['anonymous_mb']:.0f} MB own, {valid['peak_mb']:.0f} MB peak "
              f"RSS, {valid['seconds']:.1f} s"]
    for name, path in files.items():
        got = _measure(sys.executable, str(RUN_PY), "validate", str(path))
        report.append(f"{name}: exit {got['code']}, {got['anonymous_mb']:.0f} MB own, {got['peak_mb']:.0f} MB peak RSS, "
                      f"{got['seconds']:.1f} s")
        assert got["code"] == 2, (name, got)
        assert_refused(got["code"], got["stderr"], f"{path}")
        assert 0 < got["anonymous_mb"] < MEMORY_LIMIT_MB, (name, got)
        assert got["peak_mb"] < valid["peak_mb"] + 30, (name, got)  # refusing costs about what accepting does
    print("\n".join(report))
