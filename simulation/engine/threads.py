"""How many threads each phase of the day runs on: never more than pay, measured as the run goes.

Results never depend on the thread count (see `kernels`), so it can be chosen by the clock:
below `TWO_THREADS_FROM` users a day runs on one thread (starting threads costs more than they
save); above it, each phase is timed with each thread count it may use, keeps the fastest, and
tries the others again now and then. On a machine whose other cores are busy, one thread wins
and is kept; when they free up, the probes see it.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator

import numba

from simulation.engine import kernels

#: From this many users on, a phase may use more than one thread (measured: docs in README, Performance).
TWO_THREADS_FROM = 20_000
#: A phase tries a thread count other than its best once in this many days.
PROBE_EVERY = 16
#: Weight of the newest time in a thread count's running mean.
SMOOTHING = 0.3

#: The phases of a day that run on kernels, by number.
PHASES = ("attention", "exposure", "word_of_mouth")

_budget: int | None = None  # set by set_threads: a sweep worker's share of the cores


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def threads() -> int:
    """At most this many threads per kernel in this process."""
    return min(_budget or cores(), numba.config.NUMBA_NUM_THREADS)


def set_threads(count: int) -> None:
    """Let a run's kernels use at most `count` threads (sweep workers share the cores this way)."""
    global _budget
    _budget = max(1, int(count))


class Chooser:
    """The thread count of each phase of one model's days."""

    def __init__(self, users: int) -> None:
        most = min(threads(), kernels.chunks(users))
        self.counts = list(range(1, most + 1)) if users >= TWO_THREADS_FROM else [1]
        self.mean: dict[tuple[int, int], float] = {}  # (phase, threads) -> running mean of seconds
        self.calls: dict[int, int] = {}
        self.last: dict[int, int] = {}

    def summary(self) -> dict:
        """For the run's summary: how many threads a phase could use, and how many each last used."""
        return {"allowed": max(self.counts), "last": {PHASES[p]: t for p, t in sorted(self.last.items())}}

    def choose(self, phase: int) -> int:
        if len(self.counts) == 1:
            return 1
        calls = self.calls.get(phase, 0)
        self.calls[phase] = calls + 1
        untried = [t for t in self.counts if (phase, t) not in self.mean]
        if calls == 0:
            return self.counts[0]
        if untried:
            return untried[0]
        best = min(self.counts, key=lambda t: self.mean[phase, t])
        if calls % PROBE_EVERY == PROBE_EVERY - 1:
            others = [t for t in self.counts if t != best]
            return others[(calls // PROBE_EVERY) % len(others)]
        return best

    @contextmanager
    def phase(self, phase: int) -> Iterator[int]:
        """Run one kernel call with the chosen thread count, and time it."""
        count = self.choose(phase)
        self.last[phase] = count
        numba.set_num_threads(count)
        start = time.perf_counter()
        yield count
        seconds = time.perf_counter() - start
        if self.calls.get(phase, 0) <= 1:  # the first call loads (or compiles) the kernel: not a fair time
            return
        key = (phase, count)
        self.mean[key] = seconds if key not in self.mean else (1 - SMOOTHING) * self.mean[key] + SMOOTHING * seconds
