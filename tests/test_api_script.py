"""The README's Python API from a plain script, with no `if __name__ == "__main__":` guard (issue 13).

With several workers the local executor starts forkserver (or spawn) processes,
and multiprocessing re-runs the driver's main script or module in each of them
unless the executor hides it while they start; an unguarded script would then
run its experiment again in every worker, and every run would fail.
"""

from __future__ import annotations

import multiprocessing.spawn
import os
import signal
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

from simulation.experiments import executors

from tests.conftest import ROOT

SCENARIO = ROOT / "scenarios" / "relational_vs_billboard.yaml"

# No main guard on purpose: this is what a user writes after reading the README.
PLAIN = textwrap.dedent("""\
    import os
    print("SCRIPT STARTED", os.getpid(), flush=True)
    import simulation

    scenario = simulation.load_scenario({scenario!r}, ["population.users=2000"]).scenario
    result = simulation.compare(scenario, replications=2, workers=2, days=10)
    table = result.long_table() if hasattr(result, "long_table") else result
    print(table.to_string())
    print("BRANDS", ",".join(sorted(set(table.loc[table["row"] == "alternative", "brand"]))))
    print("ROWS", len(table))
    {extra}
    print("DONE", flush=True)
    """)

IN_PROCESS = textwrap.dedent("""\
    alone = simulation.compare(scenario, replications=2, workers=1, days=10)
    alone = alone.long_table() if hasattr(alone, "long_table") else alone
    print("SAME AS ONE WORKER", alone.equals(table))
    """)


def _run(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def _check(done: subprocess.CompletedProcess) -> None:
    report = f"exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    assert done.returncode == 0, report
    assert "bootstrapping" not in done.stderr, report
    assert "runs failed" not in done.stderr, report
    assert "leaked semaphore" not in done.stderr, report  # the pool's workers were shut down cleanly
    # the workers never ran the user's script: it started once, in the driver
    assert done.stdout.count("SCRIPT STARTED") == 1, report
    assert "BRANDS Billboard,Relational" in done.stdout, report
    rows = int(done.stdout.split("ROWS ", 1)[1].split()[0])
    assert rows > 0, report
    assert done.stdout.rstrip().endswith("DONE"), report


@pytest.mark.slow
def test_plain_script_without_main_guard(tmp_path):
    script = tmp_path / "plain_api_script.py"
    script.write_text(PLAIN.format(scenario=str(SCENARIO), extra=""))
    _check(_run([sys.executable, str(script)]))


@pytest.mark.slow
def test_module_run_with_python_m_without_main_guard(tmp_path):
    (tmp_path / "plain_api_module.py").write_text(PLAIN.format(scenario=str(SCENARIO), extra=IN_PROCESS))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    done = _run([sys.executable, "-m", "plain_api_module"], env=env)
    _check(done)
    assert "SAME AS ONE WORKER True" in done.stdout, done.stdout[-3000:]


def test_workers_start_without_the_main_module_and_it_comes_back():
    main = sys.modules["__main__"]
    before = (main.__dict__.get("__file__"), main.__dict__.get("__spec__"))
    outside = multiprocessing.spawn.get_preparation_data("probe")
    with executors._main_module_hidden():
        inside = multiprocessing.spawn.get_preparation_data("probe")
        with executors._main_module_hidden():  # re-entrant within a thread
            pass
        assert getattr(main, "__spec__", None) is None and not hasattr(main, "__file__")
    assert "init_main_from_name" not in inside and "init_main_from_path" not in inside
    assert inside["sys_path"] == outside["sys_path"]  # the workers still find the simulation package
    assert (main.__dict__.get("__file__"), main.__dict__.get("__spec__")) == before
    with pytest.raises(KeyError):
        with executors._main_module_hidden():
            raise KeyError("a failing start")
    assert (main.__dict__.get("__file__"), main.__dict__.get("__spec__")) == before


def test_a_dead_pool_is_explained_by_its_workers_exit_codes():
    def dead(*codes):
        return executors._death([SimpleNamespace(exitcode=c) for c in codes])

    assert "out-of-memory" in dead(-signal.SIGKILL, -signal.SIGTERM)
    assert "SIGSEGV" in dead(-signal.SIGTERM, -signal.SIGSEGV)
    started = dead(1, -signal.SIGTERM)
    assert "exited with code 1" in started and 'if __name__ == "__main__":' in started
    assert "memory" not in started
