"""Where runs execute: local processes (the default) or a Dask cluster.

Both yield each task's row as soon as it is done, in completion order, and keep
only a bounded window of tasks in flight; the caller writes each row and
forgets it, so the driver's memory does not grow with the number of runs.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import chain, islice

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


def _init_worker(threads: int) -> None:
    """Workers leave Ctrl-C to the driver, which stops them, and share the cores."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine_threads.set_threads(threads)


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
        return pool.submit(execute, task)


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
        if self.workers == 1:
            for task in tasks:
                yield execute(task)
            return
        pending = iter(tasks)  # consumed lazily: at most 2 tasks per worker exist at once
        window = 2 * self.workers
        while True:
            threads = max(1, default_workers() // self.workers)  # workers x threads <= cores
            pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=_worker_context(),
                                       initializer=_init_worker, initargs=(threads,))
            running: dict = {}
            started: dict = {}  # pid -> process, every worker this pool started (for their exit codes)
            broken = False
            try:
                for task in islice(pending, window):
                    running[_submit(pool, task)] = task
                started.update(pool._processes or {})
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        task = running.pop(future)
                        try:
                            yield future.result()
                        except BrokenProcessPool:
                            if not broken:
                                broken = True
                                reason = _death(_settled(pool, started))
                            yield _failed(task, reason)
                    if broken:
                        break
                    for task in islice(pending, window - len(running)):
                        running[_submit(pool, task)] = task
                    started.update(pool._processes or {})
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
            pending = chain(list(running.values()), pending)  # not started when the pool broke: run them

    def close(self) -> None:
        pass


_ADDRESS = re.compile(r"^(tcp://)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")


def _probe(address: str, flag: str, seconds: float) -> None:
    """A clear message within seconds for an address that is malformed or where nothing listens."""
    match = _ADDRESS.match(address)
    if not match:
        raise ScenarioError(f"{flag} {address}: expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786")
    try:
        with socket.create_connection((match["host"].strip("[]"), int(match["port"])), timeout=seconds):
            pass
    except OSError as exc:
        raise ScenarioError(f"{flag} {address}: cannot reach the Dask scheduler ({exc.strerror or exc})") from None


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
