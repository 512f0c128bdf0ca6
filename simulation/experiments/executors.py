"""Where runs execute: local processes (the default) or a Dask cluster.

Both yield each task's row as soon as it is done, in completion order; the
caller writes it and forgets it, so the driver's memory does not grow with the
number of runs.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from simulation.config import ScenarioError
from simulation.experiments.tasks import RunTask, execute


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _worker_context():
    """Fork workers from a server that has imported the model once (fast, and no fork of a threaded driver)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["simulation.experiments.tasks", "simulation.runner"])
        return context
    return multiprocessing.get_context("spawn")


class LocalExecutor:
    """Runs on this machine: in-process for one worker, else one process per worker."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        if self.workers < 1:
            raise ScenarioError(f"--workers: expected at least 1, found {self.workers}")

    def describe(self) -> str:
        return f"{self.workers} local process{'es' if self.workers > 1 else ''}"

    def run(self, tasks: Iterable[RunTask]) -> Iterator[dict]:
        if self.workers == 1:
            for task in tasks:
                yield execute(task)
            return
        context = _worker_context()
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
            pending = iter(tasks)  # consumed lazily: at most 2 tasks per worker exist at once
            running = set()
            for task in pending:  # keep at most 2 tasks per worker in flight: flat memory
                running.add(pool.submit(execute, task))
                if len(running) >= 2 * self.workers:
                    break
            while running:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                for task in pending:
                    running.add(pool.submit(execute, task))
                    if len(running) >= 2 * self.workers:
                        break

    def close(self) -> None:
        pass


class DaskExecutor:
    """Runs on a Dask cluster: an existing scheduler (address or file) or a LocalCluster.

    If a worker dies, the scheduler reruns its tasks elsewhere; the caller
    writes each run's row once, when it first comes back.
    """

    def __init__(self, address: str | None = None, scheduler_file: str | None = None,
                 workers: int | None = None, connect_timeout: float = 5.0) -> None:
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        try:
            if address or scheduler_file:
                target = address or scheduler_file
                self.client = Client(address, scheduler_file=scheduler_file, timeout=f"{connect_timeout}s",
                                     set_as_default=False)
            else:
                target = "LocalCluster"
                self.cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                                            processes=True, dashboard_address=":0")
                self.client = Client(self.cluster, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ScenarioError(f"--scheduler {target}: cannot reach the Dask scheduler ({exc})") from None

    def describe(self) -> str:
        n = len(self.client.scheduler_info().get("workers", {}))
        return f"Dask cluster at {self.client.scheduler.address} ({n} workers)"

    def run(self, tasks: Iterable[RunTask]) -> Iterator[dict]:
        from dask.distributed import as_completed

        by_key = {}
        for task in tasks:
            future = self.client.submit(execute, task, key=f"attention-run-{task.run_id}-{task.seed}", pure=False,
                                        retries=2)
            by_key[future.key] = (future, task)
        for future in as_completed([f for f, _ in by_key.values()], loop=self.client.loop):
            _, task = by_key.pop(future.key)
            try:
                row = future.result()
            except Exception as exc:  # the task could not run at all (e.g. its workers kept dying)
                row = {"run_id": task.run_id, "seed": task.seed, **task.labels, "status": "failed",
                       "error": f"{type(exc).__name__}: {exc}", "seconds": float("nan")}
            future.release()
            yield row

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(workers: int | None = None, scheduler: str | None = None, scheduler_file: str | None = None,
                  dask_local: bool = False):
    """The executor the command line asked for."""
    if scheduler or scheduler_file:
        if scheduler_file and not os.path.exists(scheduler_file):
            raise ScenarioError(f"--scheduler-file {scheduler_file}: no such file")
        return DaskExecutor(address=scheduler, scheduler_file=scheduler_file)
    if dask_local:
        return DaskExecutor(workers=workers)
    return LocalExecutor(workers)
