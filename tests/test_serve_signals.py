"""`run.py serve` stops its dashboard server when it stops, however it is stopped.

A teacher (or a script) stops the dashboard by stopping `serve`: Ctrl-C, kill -TERM, kill -INT, or
kill -9. Its server (a `solara run` child process) must not stay behind, serving the page from a
process nobody knows about and keeping the port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

import simulation
from tests.conftest import free_port, wait_for

#: The tree under test (a worktree given by PYTHONPATH, or this one): its run.py is started.
TREE = Path(simulation.__file__).resolve().parents[1]


def _answers(port: int) -> bool:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200
    except OSError:
        return False


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def serve(tmp_path):
    """Start `run.py serve` on a free port; yields (process, port, server pid) once the page answers."""
    started: list[psutil.Process] = []

    def start(ignore_sigint: bool = False):
        port = free_port()
        # ignore_sigint: as a script's `run.py serve &` starts it (a non-interactive shell ignores SIGINT there)
        preexec = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
        log = open(tmp_path / "serve.log", "w")
        process = subprocess.Popen([sys.executable, str(TREE / "run.py"), "serve", "--port", str(port)], cwd=TREE,
                                   env={**os.environ, "PYTHONPATH": str(TREE)}, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=preexec)
        started.append(psutil.Process(process.pid))
        if not wait_for(lambda: _answers(port) or process.poll() is not None, 240, 0.2) or process.poll() is not None:
            pytest.fail(f"the dashboard did not answer: {(tmp_path / 'serve.log').read_text()[-2000:]}")
        children = psutil.Process(process.pid).children(recursive=True)
        assert children, "serve runs its server as a child process"
        started.extend(children)
        return process, port, [c.pid for c in children]

    yield start
    for process in started:  # whatever the test left: the processes it started, by their id
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGINT, started in the background", "SIGKILL"])
def test_the_server_ends_with_serve(serve, how):
    process, port, servers = serve(ignore_sigint=how.endswith("background"))
    number = getattr(signal, how.partition(",")[0])
    os.kill(process.pid, number)  # the parent alone, not its process group
    assert wait_for(lambda: process.poll() is not None, 30, 0.2), f"serve goes on after {how}"
    assert wait_for(lambda: all(_gone(pid) for pid in servers), 15, 0.2), f"the server outlived serve ({how})"
    assert wait_for(lambda: not _answers(port), 15, 0.2), f"the page still answers after serve ended ({how})"
    if number != signal.SIGKILL:  # as a shell reports a process ended by that signal
        assert process.returncode == 128 + number, process.returncode
