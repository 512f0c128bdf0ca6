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
import threading
import uuid
from collections.abc import Iterable, Iterator
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
            broken = False
            try:
                for task in islice(pending, window):
                    running[pool.submit(execute, task)] = task
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        task = running.pop(future)
                        try:
                            yield future.result()
                        except BrokenProcessPool:
                            broken = True
                            yield _failed(task, "a worker process died (killed, or out of memory) during this run")
                    if broken:
                        break
                    for task in islice(pending, window - len(running)):
                        running[pool.submit(execute, task)] = task
            finally:
                for future in running:
                    future.cancel()
                processes = list((pool._processes or {}).values())  # stop at once on Ctrl-C or a dead worker
                pool.shutdown(wait=False, cancel_futures=True)
                for process in processes:
                    if process.is_alive():
                        process.terminate()
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
