"""Output folders under faults: two writers at once, kill -9 and SIGTERM while writing, a full disk, /tmp.

What a user relies on: a second command aimed at a folder another one is writing is refused at once
(exit 2) instead of silently replacing it; a killed run leaves nothing that lasts (its lock and its
hidden staging folder are cleared by the next run, which says so); SIGTERM stops a command as Ctrl-C
does; a full disk is one line and exit 1, with no temporary file left; the refusal of a precious
--out says why that folder is refused.
"""

from __future__ import annotations

import fcntl
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

import simulation
from simulation.cli import main
from tests.conftest import small_data, wait_for

#: The tree under test (a worktree given by PYTHONPATH, or this one): its run.py runs in the subprocesses.
TREE = Path(simulation.__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(TREE)}
#: A run long enough (about 10 s here) for another command to start while it holds its folder.
LONG = ["scenarios/classroom.yaml", "--set", "population.users=20000", "--days", "300", "--quiet"]


class _RunPy:
    """`run.py ARGS` in a subprocess, its stderr read as it comes (to see which phase it is in)."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, str(TREE / "run.py"), *args], cwd=TREE, env=ENV,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.pid, self.err = self.process.pid, ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.process.stderr.fileno(), 4096):
            self.err += chunk.decode(errors="replace")

    def send_signal(self, number: int) -> None:
        self.process.send_signal(number)

    def wait(self, timeout: float = 180) -> tuple[int, str]:
        """The exit code and all of stderr."""
        code = self.process.wait(timeout)
        self._reader.join(10)
        return code, self.err


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _staging(parent: Path, name: str) -> list[Path]:
    return [p for p in parent.iterdir() if p.name.startswith(f".{name}-new-")]


def _commands(path: Path, out: Path, targets: Path) -> dict[str, list[str]]:
    """Every command that writes a folder (or, calibrate, a file), small, into `out`."""
    return {
        "run": ["run", str(path), "--out", str(out / "run"), "--quiet"],
        "compare": ["compare", str(path), "--replications", "2", "--workers", "1", "--out", str(out / "compare"),
                    "--quiet"],
        "sweep": ["sweep", str(path), "--vary", "market.q=0.1", "--replications", "1", "--workers", "1",
                  "--out", str(out / "sweep"), "--quiet"],
        "sensitivity": ["sensitivity", str(path), "--method", "morris", "--samples", "2", "--param",
                        "market.q=0.01:0.2", "--workers", "1", "--out", str(out / "sensitivity"), "--quiet"],
        "calibrate": ["calibrate", str(path), "--targets", str(targets), "--max-iterations", "1",
                      "--out", str(out / "calibrated.yaml"), "--quiet"],
    }


# ---------------------------------------------------------------- 1. two writers at once

@pytest.mark.slow
def test_a_second_command_into_a_folder_being_written_is_refused_and_the_first_finishes(tmp_path, write_yaml,
                                                                                       capsys):
    from simulation.outputs.report import write_outputs  # noqa: F401 (imported now: the second run starts at once)
    from simulation.runner import collect_result  # noqa: F401

    out = tmp_path / "results" / "shared"
    first = _RunPy("run", *LONG, "--out", str(out))
    # while the first one runs: it holds the folder's lock from the start (waiting for its staging folder instead
    # raced: under load the first run could finish its short write phase before the second command came)
    lock = out.parent / ".shared.lock"
    assert wait_for(lambda: lock.exists() and lock.read_text() == f"attention-market {first.pid}\n", 120), first.wait()
    path = write_yaml(small_data(days=3))
    for command in (["run", str(path), "--out", str(out), "--quiet"],
                    ["sweep", str(path), "--vary", "market.q=0.1", "--replications", "1", "--workers", "1",
                     "--out", str(out), "--quiet"]):
        assert main(command) == 2, command[0]
        err = capsys.readouterr().err
        assert f"another run is writing to {out}" in err and f"pid {first.pid}" in err, err
    code, err = first.wait()
    assert code == 0, err
    summary = (out / "summary.json").read_text()
    assert '"population.users=20000"' in summary  # the first run's folder, whole, not replaced by the second
    assert _hidden(out.parent) == []  # no lock, no staging left


def test_every_writing_command_is_refused_while_another_process_holds_its_target(tmp_path, write_yaml, capsys):
    """A stand-in writer holds the locks (a separate process); then it is killed and its locks are taken over."""
    path = write_yaml(small_data(days=3))
    targets = tmp_path / "targets.csv"
    targets.write_text("sink,share\nsocial,40\nemail,30\ngames,20\nnews,10\n")
    out = tmp_path / "out"
    commands = _commands(path, out, targets)
    held = [c[c.index("--out") + 1] for c in commands.values()]
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from simulation.outputs.folders import claim; "
                               "locks = [claim(Path(p)) for p in sys.argv[1:]]; print('held', flush=True); "
                               "sys.stdin.read()", *held],
        env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        for name, command in commands.items():
            assert main(command) == 2, name
            err = capsys.readouterr().err
            assert "another run is writing to" in err and f"(pid {holder.pid})" in err, (name, err)
            assert len(err.strip().splitlines()) == 1, err
        assert all(p.name.endswith(".lock") for p in out.iterdir())  # the refused commands wrote nothing
    finally:
        holder.kill()  # kill -9: the locks are not released, their files stay
        holder.wait()
    assert (out / ".run.lock").exists()
    assert main(commands["run"]) == 0
    err = capsys.readouterr().err
    assert f"took over the lock on {out / 'run'}" in err and f"pid {holder.pid}" in err, err
    assert (out / "run" / "report.md").exists()
    assert _hidden(out) == []  # the dead writer's other lock files went too


# ---------------------------------------------------------------- 2. killed while writing

@pytest.mark.slow
def test_kill_9_while_writing_leaves_a_staging_folder_that_the_next_run_removes(tmp_path, write_yaml, capsys):
    parent = tmp_path / "results"
    run = _RunPy("run", *LONG, "--out", str(parent / "killed"))
    assert wait_for(lambda: parent.is_dir() and _staging(parent, "killed"), 120), run.wait()
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert _staging(parent, "killed") and not (parent / "killed").exists()  # what kill -9 leaves

    path = write_yaml(small_data(days=3))
    assert main(["run", str(path), "--out", str(parent / "next"), "--quiet"]) == 0  # another folder, same parent
    err = capsys.readouterr().err
    assert "removed 1 unfinished folder" in err and "stopped while writing" in err, err
    assert sorted(p.name for p in parent.iterdir()) == ["next"]  # staging and lock of the killed run: gone


def test_only_abandoned_staging_folders_of_ours_are_removed(tmp_path, write_yaml, capsys):
    """Live writers' staging folders and folders that are not ours are left alone; dead writers' go."""
    from simulation.outputs.folders import MARKER

    parent = tmp_path / "results"
    live, busy, foreign, dead, half = (parent / f".{n}-new-abcd1234" for n in ("live", "busy", "foreign", "dead",
                                                                                "half"))
    for folder in (live, busy, foreign, dead, half):
        folder.mkdir(parents=True)
    for folder in (live, foreign, dead):
        (folder / "brands.csv").write_text("day,brand\n")
    (dead / MARKER).write_text("ours\n")
    (live / MARKER).write_text("ours\n")
    (parent / ".busy.lock").write_text(f"attention-market {os.getpid()}\n")
    (parent / ".other.lock").write_text("12345\n")  # another program's lock (fcntl, invisible to flock): not ours
    held = [os.open(live / MARKER, os.O_RDONLY), os.open(parent / ".busy.lock", os.O_RDONLY)]
    for fd in held:  # a run writing `live` holds its marker; one about to mark `busy` holds busy's lock
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        path = write_yaml(small_data(days=3))
        assert main(["run", str(path), "--out", str(parent / "new"), "--quiet"]) == 0
        err = capsys.readouterr().err
        assert live.is_dir() and busy.is_dir() and (parent / ".busy.lock").exists()
        assert foreign.is_dir() and (foreign / "brands.csv").exists()  # no marker: not ours
        assert (parent / ".other.lock").exists()
        # dead: marked, no one holds it; half: a run killed as it made it (empty), its target's lock free
        assert not dead.exists() and not half.exists(), err
        assert "removed 2 unfinished folder" in err and dead.name in err and half.name in err, err
    finally:
        for fd in held:
            os.close(fd)


@pytest.mark.slow
@pytest.mark.parametrize("when", ["simulating", "writing"])
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_stops_a_run_like_ctrl_c(tmp_path, when, number):
    """Cleaned up, one line, 128 + the signal's number; also when the signal lands inside a numba kernel's call."""
    parent = tmp_path / "results"
    days = "300" if when == "writing" else "3000"  # long enough to be still simulating when its progress bar shows
    run = _RunPy("run", "scenarios/classroom.yaml", "--set", "population.users=20000", "--days", days,
                 "--out", str(parent / "out"))
    if when == "writing":
        assert wait_for(lambda: parent.is_dir() and _staging(parent, "out"), 120), run.wait()
    else:  # its progress bar shows (after 2 s of simulation)
        assert wait_for(lambda: "simulating:" in run.err or run.process.poll() is not None, 120), run.wait()
        assert run.process.poll() is None, run.wait()
    run.send_signal(number)
    code, err = run.wait(60)
    assert code == 128 + number, err
    said = "terminated" if number == signal.SIGTERM else "interrupted"
    assert f"{said}; nothing was written" in err and "Traceback" not in err, err
    assert not (parent / "out").exists() and _hidden(parent) == []


@pytest.mark.slow
def test_sigterm_stops_a_sweep_that_then_resumes(tmp_path, write_yaml):
    # runs of a few seconds each: the signal lands while the sweep still has runs to make, however busy the
    # machine (with 40-day runs a starved test process once saw the whole sweep end before it signalled)
    path = write_yaml(small_data(days=300, population={"users": 1000}))
    out = tmp_path / "sweep"
    command = ["sweep", str(path), "--vary", "market.q=0.01,0.05,0.1,0.2", "--replications", "2", "--series",
               "--workers", "1", "--out", str(out), "--quiet"]
    sweep = _RunPy(*command)
    assert wait_for(lambda: len(list((out / "runs").glob("run-*.parquet"))) >= 2, 120, 0.05), sweep.wait()
    sweep.send_signal(signal.SIGTERM)
    code, err = sweep.wait(60)
    assert code == 128 + signal.SIGTERM, err
    assert "the finished runs are kept" in err and "Traceback" not in err, err
    assert not list(out.rglob("*.tmp")) and _hidden(tmp_path) == []
    done = subprocess.run([sys.executable, str(TREE / "run.py"), *command], cwd=TREE, env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = pd.read_parquet(out / "results.parquet")
    assert sorted(results["run_id"]) == list(range(8)) and (results["status"] == "ok").all()  # none "failed" by it


# ---------------------------------------------------------------- 3. a full disk

def _sweep_series(path: Path, out: Path) -> list[str]:
    return ["sweep", str(path), "--vary", "market.q=0.01,0.05,0.1,0.2", "--replications", "4", "--series",
            "--workers", "1", "--out", str(out), "--quiet"]


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or "-new-" in p.name]


@pytest.fixture
def small_disk(tmp_path):
    """A 256 kB tmpfs (root only: skipped otherwise), unmounted after the test."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


@pytest.mark.slow
def test_a_full_disk_during_a_sweep_is_one_line_and_leaves_no_temporary(small_disk, write_yaml, capsys):
    path = write_yaml(small_data(days=40))
    out = small_disk / "sweep"
    assert main(_sweep_series(path, out)) == 1
    err = capsys.readouterr().err
    assert "no space left on device" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert _leftovers(small_disk) == []
    # with room again, the same command resumes and finishes
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    assert main(_sweep_series(path, out)) == 0
    assert sorted(pd.read_parquet(out / "results.parquet")["run_id"]) == list(range(16))
    assert _leftovers(small_disk) == []


@pytest.mark.slow
@pytest.mark.parametrize("max_bytes", [20_000, 100], ids=["part-way", "at-the-start"])
def test_a_file_size_limit_during_a_sweep_is_one_line_and_leaves_no_temporary(tmp_path, write_yaml, max_bytes):
    """Without root: a file-size limit (ulimit -f) makes the writes fail for real (EFBIG), part-way or as the
    sweep's folder is made: the same exit 1 and one line either way."""
    path = write_yaml(small_data(days=40))
    out = tmp_path / "sweep"

    def limit() -> None:  # runs in the child only; Python ignores SIGXFSZ, so writes past it fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, resource.RLIM_INFINITY))

    done = subprocess.run([sys.executable, str(TREE / "run.py"), *_sweep_series(path, out)], cwd=TREE, env=ENV,
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert done.returncode == 1, done.stderr
    assert "file too large" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------- 4. why a folder is refused

def test_a_folder_above_the_current_one_is_refused_for_that_reason(tmp_path, write_yaml, capsys, monkeypatch):
    """`--out /tmp --force` run from a folder inside /tmp: /tmp is above the current folder, not the home folder."""
    path = write_yaml(small_data(days=3))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["run", str(path), "--out", "/tmp", "--force", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"a folder above the current folder ({work.resolve()})" in err, err
    assert "home folder" not in err and "give a new folder" in err


def test_home_is_refused_for_that_reason(tmp_path, write_yaml, capsys, monkeypatch):
    path = write_yaml(small_data(days=3))
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--out", str(home), "--force", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is your home folder" in err and "current folder" not in err, err


def test_force_never_replaces_a_folder_everyone_writes_in(tmp_path, write_yaml, capsys, monkeypatch):
    """A world-writable sticky folder (like /tmp) holds other people's files, even with our marker in it."""
    from simulation.outputs.folders import MARKER

    path = write_yaml(small_data(days=3))
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / MARKER).write_text("ours\n")
    (shared / "someone-elses.txt").write_text("theirs")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--out", str(shared), "--force", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "everyone may write in" in err, err
    assert (shared / "someone-elses.txt").read_text() == "theirs"
    assert _hidden(tmp_path) == []  # no lock file beside a refused folder


def test_a_failure_between_the_two_renames_puts_the_previous_results_back(tmp_path, monkeypatch):
    """If writing fails after the old folder was moved aside, the old results are where they were."""
    from simulation.outputs import folders

    out = tmp_path / "res"
    with folders.staged(out) as staging:
        (staging / "report.md").write_text("old\n")
    real_rename = Path.rename

    def rename(self, target):
        if self.name.startswith(".res-new-"):  # the staging folder's rename onto the target
            raise OSError(28, "No space left on device")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(Exception):
        with folders.staged(out) as staging:
            (staging / "report.md").write_text("new\n")
    assert (out / "report.md").read_text() == "old\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".res-")]
