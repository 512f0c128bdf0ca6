"""Where runs execute: local processes (the default) or a Dask cluster.

Both yield each task's row as soon as it is done, in completion order, and keep
only a bounded window of tasks in flight; the caller writes each row and
forgets it, so the driver's memory does not grow with the number of runs.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import re
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import chain, count, islice

from simulation.engine import threads as engine_threads
from simulation.scenario import ScenarioError
from simulation.experiments.tasks import RunTask, execute


class ExecutionLost(Exception):
    """The cluster went away mid-experiment: finished runs are kept, the same command resumes."""


class ExperimentFailed(Exception):
    """Every run of an experiment failed: there is nothing to compare."""


def default_workers() -> int:
    """One worker per core this process may run on."""
    return engine_threads.cores()


ATTEMPTS = 2  # a run whose worker process dies under it is tried once more, then recorded failed
_BOARDS = "attention-market-workers-"  # + the driver's pid: where a pool's workers note the run they are on
_board_fd: int | None = None  # in a worker: the file where it notes the run it is on


def _init_worker(threads: int, driver: int | None = None, board: str | None = None) -> None:
    """Workers leave Ctrl-C to the driver, which stops them, share the cores, die with the driver, and note
    on `board` the run each one is on (so that a dead worker's run is known)."""
    global _board_fd
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine_threads.set_threads(threads)
    if driver is not None:
        _die_with(driver)
    if board is not None:
        _board_fd = os.open(os.path.join(board, str(os.getpid())), os.O_CREAT | os.O_WRONLY, 0o600)


def _die_with(driver: int) -> None:
    """This worker exits when the driver is gone, even after `kill -9` of the driver (no orphan keeps a core).

    Three ways, each enough alone where it works:
    - Linux: PR_SET_PDEATHSIG (prctl, via ctypes) sends SIGKILL when this process's parent exits. The parent
      of a forkserver worker is the fork server, which by design stays up while any of its clients holds the
      write end of its "alive" pipe; every worker inherits one, so the worker closes its copy: then the fork
      server exits when the driver does (its own copy closes), and the kernel kills the workers, without any
      code of theirs having to run.
    - Everywhere: a daemon thread waits on the driver (a pidfd on Linux; else a check of the driver and of
      this process's parent every half second) and exits the process.
    - If the driver is already gone when the worker starts, it exits at once.
    """
    try:
        from multiprocessing import forkserver

        server = getattr(forkserver, "_forkserver", None)
        alive = getattr(server, "_forkserver_alive_fd", None)
        if alive is not None:
            os.close(alive)
            server._forkserver_alive_fd = None
    except (ImportError, OSError):
        pass
    _parent_death_signal()
    if not _alive(driver):
        os._exit(1)
    threading.Thread(target=_watch_driver, args=(driver, os.getppid()), daemon=True,
                     name="attention-market-driver-watch").start()


def _parent_death_signal() -> bool:
    """Linux: SIGKILL to this process when its parent exits (prctl PR_SET_PDEATHSIG); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_driver(driver: int, parent: int) -> None:
    """Exit this process as soon as the driver exits (or this process is handed to another parent)."""
    try:
        handle = os.pidfd_open(driver)
    except (AttributeError, OSError):  # not Linux >= 5.3, or the driver is already gone
        handle = None
    if handle is not None:
        select.select([handle], [], [])  # readable once the driver has exited, even before it is reaped
        os._exit(1)
    while _alive(driver) and os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _tracked(fn, task: RunTask) -> dict:
    """In a worker: note the run on the board (one fixed-width write in place, whole even if killed), run it."""
    if _board_fd is not None:
        os.pwrite(_board_fd, f"{task.run_id:20d}".encode(), 0)
    return fn(task)


def _remove_stale_boards() -> None:
    """The boards of drivers that were killed with -9 (their folder stays behind), removed by the next pool."""
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        pid = name[len(_BOARDS):].partition("-")[0] if name.startswith(_BOARDS) else ""
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _board(board: str) -> dict[int, int]:
    """pid -> the run that worker last started."""
    notes = {}
    try:
        names = os.listdir(board)
    except OSError:  # removed from outside: nothing is known of any worker
        return notes
    for name in names:
        try:
            with open(os.path.join(board, name), "rb") as handle:
                notes[int(name)] = int(handle.read().strip())
        except (OSError, ValueError):  # killed before its first note
            continue
    return notes


def _worker_context():
    """Fork workers from a server that has imported the model once (fast, and no fork of a threaded driver)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["simulation.experiments.tasks", "simulation.runner"])
        return context
    return multiprocessing.get_context("spawn")


_MISSING = object()
_main_lock = threading.RLock()


@contextmanager
def _main_module_hidden():
    """While worker processes start, the driver's `__main__` looks like one that has no file and no module name.

    Why: a forkserver or spawn child gets "preparation data" from its parent
    (`multiprocessing.spawn.get_preparation_data`): `init_main_from_name` when
    `__main__.__spec__` names a module (`python -m pkg.mod`), else
    `init_main_from_path` from `__main__.__file__` (`python script.py`). The
    child then re-runs that module or script as `__mp_main__` before it takes
    any work (`spawn.prepare` -> `_fixup_main_from_name/_path`, via runpy). A
    script without an `if __name__ == "__main__":` guard that calls
    `simulation.compare` would run the whole experiment again in every worker,
    whose own pool refuses to start ("bootstrapping phase", raised by
    `spawn._check_not_importing_main`): the worker exits and the pool breaks.

    Why it is safe: the workers run only `simulation.experiments.tasks.execute`
    on a `RunTask` (plain data: dicts, strings, numbers) and the initializer
    `_init_worker`; both pickle by reference to `simulation` modules, which the
    workers import from the driver's `sys.path` (still sent). Nothing they get
    refers to the user's `__main__`, so it need not exist there; a Jupyter
    kernel's `__main__` has neither attribute anyway, and works the same.

    Only the two attributes multiprocessing reads are hidden, only while a
    process starts (the caller wraps `ProcessPoolExecutor.submit`, which is
    where 3.12 starts workers, on demand), and restored in `finally`. A lock
    keeps two threads' pools from restoring each other's hidden state.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    with _main_lock:
        saved_file = main.__dict__.get("__file__", _MISSING)
        saved_spec = main.__dict__.get("__spec__", _MISSING)
        try:
            if saved_file is not _MISSING:
                del main.__file__
            main.__spec__ = None
            yield
        finally:
            if saved_file is not _MISSING:
                main.__file__ = saved_file
            if saved_spec is _MISSING:
                main.__dict__.pop("__spec__", None)
            else:
                main.__spec__ = saved_spec


def _submit(pool: ProcessPoolExecutor, task: RunTask):
    """Submit one run; any worker the pool starts for it is started without the driver's `__main__`."""
    with _main_module_hidden():
        return pool.submit(_tracked, execute, task)


def _fill(pool: ProcessPoolExecutor, running: dict, pending: Iterator[RunTask], room: int, unsent: list,
          started: dict) -> bool:
    """Submit up to `room` more runs; True if the pool turned out broken (a worker died meanwhile)."""
    try:
        for task in islice(pending, room):
            try:
                running[_submit(pool, task)] = task
            except BrokenProcessPool:
                unsent.append(task)
                return True
        return False
    finally:
        started.update(pool._processes or {})


def _settled(pool: ProcessPoolExecutor, started: dict) -> list:
    """The workers of a broken pool once its manager thread has terminated and joined them (at most 5 s).

    Their exit codes are read only then: a forkserver process's exit code is
    read once from a pipe, and two threads polling it at the same time could
    make one of them see 255 instead of the real code.
    """
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(timeout=5)
    return list(started.values())


def _death(processes: list) -> str:
    """Why the pool broke, from its workers' exit codes (the pool terminates the others itself: SIGTERM)."""
    codes = [p.exitcode for p in processes if p.exitcode is not None]
    if -signal.SIGKILL in codes:
        return "a worker process was killed (SIGKILL: most often the out-of-memory killer) during this run"
    for code in codes:
        if code < 0 and code != -signal.SIGTERM:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"a worker process was killed by {name} during this run"
    for code in codes:
        if code > 0:
            return (f"a worker process exited with code {code} before returning this run; its own error is printed "
                    f"above (stderr). If that error speaks of the 'bootstrapping phase', the script that started the "
                    f"experiment must call it under `if __name__ == \"__main__\":`")
    return "a worker process died (killed from outside, or out of memory) during this run"


def _suspects(processes: list, board: dict[int, int], lost: set[int]) -> set[int]:
    """The runs lost with a broken pool that may have killed their worker.

    A worker that died of its own (any end but the pool's SIGTERM) was on the run it last noted, if that run
    was lost; a worker that died after its run was done holds none. If a dead worker made no note, or none is
    seen to die of its own (someone sent SIGTERM), it cannot be told: every lost run is a suspect.
    """
    dead = [p.pid for p in processes if p.exitcode is not None and p.exitcode != -signal.SIGTERM]
    if not dead or any(pid not in board for pid in dead):
        return set(lost)
    return {board[pid] for pid in dead if board[pid] in lost}


def _failed(task: RunTask, error: str) -> dict:
    return {"run_id": task.run_id, "seed": task.seed, **task.labels, "status": "failed", "error": error,
            "seconds": float("nan")}


class LocalExecutor:
    """Runs on this machine: in-process for one worker, else one process per worker."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        if self.workers < 1:
            raise ScenarioError(f"--workers: expected at least 1, found {self.workers}")

    def describe(self) -> str:
        if self.workers == 1:
            return "1 process (the driver itself)"
        return f"{self.workers} local worker processes"

    def run(self, tasks: Iterable[RunTask]) -> Iterator[dict]:
        """Each task's row once, in completion order.

        A worker process that dies (killed, out of memory) breaks the whole pool: every run in flight comes
        back as BrokenProcessPool. Only the run that was on the dead worker is its fault (the board says which);
        it is tried once more on a new pool, then recorded failed. The other runs in flight are run again, not
        counted. When no run is known to be on the dead worker (killed before its first note, or no worker is
        seen to die of its own), every run in flight counts as a suspect, so that a pool that cannot start
        still ends.
        """
        if self.workers == 1:
            for task in tasks:
                yield execute(task)
            return
        pending: Iterator[RunTask] = iter(tasks)  # consumed lazily: at most 2 tasks per worker exist at once
        window = 2 * self.workers
        deaths: dict[int, int] = {}  # run id -> worker deaths under it
        _remove_stale_boards()
        with tempfile.TemporaryDirectory(prefix=f"{_BOARDS}{os.getpid()}-") as boards:
            for generation in count():
                board = os.path.join(boards, str(generation))  # a new pool, a new board: pids are its own
                os.mkdir(board)
                threads = max(1, default_workers() // self.workers)  # workers x threads <= cores
                pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=_worker_context(),
                                           initializer=_init_worker, initargs=(threads, os.getpid(), board))
                running: dict = {}
                started: dict = {}  # pid -> process, every worker this pool started (for their exit codes)
                unsent: list[RunTask] = []  # refused by a pool that broke meanwhile: never ran
                lost: list[RunTask] = []
                broken = False
                try:
                    broken = _fill(pool, running, pending, window, unsent, started)
                    while running and not broken:
                        done, _ = wait(running, return_when=FIRST_COMPLETED)
                        for future in done:
                            if isinstance(future.exception(), BrokenProcessPool):
                                broken = True
                                continue
                            running.pop(future)
                            yield future.result()
                        if not broken:
                            broken = _fill(pool, running, pending, window - len(running), unsent, started)
                    if broken:
                        processes = _settled(pool, started)
                        for future, task in list(running.items()):  # done before the break: kept
                            if future.done() and not future.cancelled() and future.exception() is None:
                                running.pop(future)
                                yield future.result()
                        lost = list(running.values())
                        suspects = _suspects(processes, _board(board), {t.run_id for t in lost})
                        reason = _death(processes)
                finally:
                    for future in running:
                        future.cancel()
                    if running or broken:  # Ctrl-C, an error, or a dead worker: stop every worker at once
                        processes = list((pool._processes or {}).values())
                        pool.shutdown(wait=False, cancel_futures=True)
                        for process in processes:
                            if process.is_alive():
                                process.terminate()
                    else:  # every run is done: let the workers finish cleanly (their queues' semaphores are freed)
                        pool.shutdown(wait=True)
                if not broken:
                    return
                again = []
                for task in lost:
                    if task.run_id in suspects:
                        deaths[task.run_id] = deaths.get(task.run_id, 0) + 1
                        if deaths[task.run_id] >= ATTEMPTS:
                            yield _failed(task, f"{reason} (tried {deaths[task.run_id]} times, each on a new "
                                                f"worker process)")
                            continue
                    again.append(task)  # first in the next pool: tried again, or run again, not counted
                pending = chain(again, unsent, pending)

    def close(self) -> None:
        pass


_ADDRESS = re.compile(r"^(tcp://|tls://)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")


def _probe(address: str, flag: str, seconds: float) -> None:
    """A clear message within seconds for an address that is malformed or where nothing listens."""
    match = _ADDRESS.match(address)
    if not match:
        raise ScenarioError(f"{flag} {address}: expected tcp://HOST:PORT (or tls://HOST:PORT), "
                            "e.g. tcp://127.0.0.1:8786")
    try:
        with socket.create_connection((match["host"].strip("[]"), int(match["port"])), timeout=seconds):
            pass
    except OSError as exc:
        raise ScenarioError(f"{flag} {address}: cannot reach the Dask scheduler ({exc.strerror or exc})") from None


def _check_tls(address: str, flag: str) -> None:
    """A tls:// scheduler needs this client's certificates, from Dask's configuration: say so, rather than
    let the connection fail (a traceback from Dask and a 10 s wait)."""
    if not address.startswith("tls://"):
        return
    import dask.config

    tls = dask.config.get("distributed.comm.tls", default={}) or {}
    client = tls.get("client") or {}
    if not (tls.get("ca-file") and client.get("cert")):
        raise ScenarioError(f"{flag} {address}: a TLS scheduler needs this client's certificates: set "
                            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE, DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and "
                            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY (or distributed.comm.tls in Dask's "
                            "configuration file)")


class DaskExecutor:
    """Runs on a Dask cluster: an existing scheduler (address or file) or a LocalCluster.

    If a worker dies, the scheduler reruns its tasks elsewhere; each run's row
    comes back once. If the scheduler itself goes away, `ExecutionLost` is
    raised: the rows already returned stand, and the same command resumes.
    """

    def __init__(self, address: str | None = None, scheduler_file: str | None = None,
                 workers: int | None = None, connect_timeout: float = 5.0) -> None:
        self.cluster = None
        self.client = None
        flag = "--scheduler" if address else "--scheduler-file"
        target = address or scheduler_file
        if scheduler_file:
            try:
                address = json.loads(open(scheduler_file).read())["address"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ScenarioError(f"--scheduler-file {scheduler_file}: not a Dask scheduler file "
                                    f"({type(exc).__name__})") from None
        if address:
            _probe(address, flag, connect_timeout)
            _check_tls(address, flag)
        outcome: dict = {}

        def connect() -> None:
            from dask.distributed import Client, LocalCluster

            try:
                if address:
                    outcome["client"] = Client(address, timeout=f"{connect_timeout}s", set_as_default=False)
                else:
                    outcome["cluster"] = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                                                      processes=True, dashboard_address=":0")
                    outcome["client"] = Client(outcome["cluster"], set_as_default=False)
            except BaseException as exc:  # anything: reported below as one clear message
                outcome["error"] = exc

        thread = threading.Thread(target=connect, daemon=True)
        thread.start()
        thread.join(connect_timeout + (60 if not address else 5))
        self.client, self.cluster = outcome.get("client"), outcome.get("cluster")
        if thread.is_alive() or "error" in outcome or self.client is None:
            reason = "no answer in time" if thread.is_alive() else f"{type(outcome.get('error')).__name__}: {outcome.get('error')}"
            raise ScenarioError(f"{flag} {target}: cannot reach the Dask scheduler ({reason}); is it a Dask scheduler?")

    def describe(self) -> str:
        n = len(self.client.scheduler_info().get("workers", {}))
        return f"Dask cluster at {self.client.scheduler.address} ({n} workers)"

    def run(self, tasks: Iterable[RunTask]) -> Iterator[dict]:
        from dask.distributed import as_completed

        token = uuid.uuid4().hex[:12]  # keys unique to this call: two sweeps on one scheduler never mix
        pending = iter(tasks)
        window = max(8, 4 * len(self.client.scheduler_info().get("workers", {})))
        by_key: dict = {}

        def submit(task: RunTask):
            future = self.client.submit(execute, task, key=f"attention-{token}-{task.run_id}", pure=False, retries=2)
            by_key[future.key] = task
            return future

        queue = as_completed([submit(t) for t in islice(pending, window)], loop=self.client.loop)
        for future in queue:
            task = by_key.pop(future.key)
            if future.status == "cancelled" or self.client.status not in ("running", "connecting"):
                raise ExecutionLost("lost the Dask scheduler")
            try:
                row = future.result()
            except Exception as exc:  # the task could not run at all (e.g. its workers kept dying)
                if "cancel" in type(exc).__name__.lower():
                    raise ExecutionLost("lost the Dask scheduler") from None
                row = _failed(task, f"{type(exc).__name__}: {exc}")
            future.release()
            yield row
            for task in islice(pending, 1):
                queue.add(submit(task))

    def close(self) -> None:
        try:
            if self.client is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        except Exception:  # closing a client whose scheduler died must not hide the real message
            pass


def make_executor(workers: int | None = None, scheduler: str | None = None, scheduler_file: str | None = None):
    """The executor the command line asked for."""
    if scheduler or scheduler_file:
        if scheduler_file and not os.path.isfile(scheduler_file):
            raise ScenarioError(f"--scheduler-file {scheduler_file}: no such file")
        return DaskExecutor(address=scheduler, scheduler_file=scheduler_file)
    return LocalExecutor(workers)
