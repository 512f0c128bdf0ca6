"""How many threads each phase of the day runs on: never more than pay, measured as the run goes.

Results never depend on the thread count (see `kernels`), so it can be chosen by the clock:
below `TWO_THREADS_FROM` users a day runs on one thread (starting threads costs more than they
save); above it, each phase is timed with each thread count it may use, keeps the fastest, and
tries the others again now and then (`Chooser`). On a machine whose other cores are busy, one
thread wins and is kept; when they free up, the probes see it.

numba's OpenMP threads spin while they wait: on a busy 2-core machine two of them took 10 to 80
times as long as one thread (benchmarks/threads.py, README: Performance). So the engine sets
OMP_WAIT_POLICY=PASSIVE unless it is set (see `simulation.engine`), and the Chooser does the rest.
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
#: A phase tries a thread count other than its best after this many days (at first; see `Chooser`).
PROBE_EVERY = 16
#: ... and at least once in this many days (so that a machine whose cores free up is seen within weeks of days).
LONGEST_INTERVAL = 64
#: Weight of the newest time in a thread count's running mean.
SMOOTHING = 0.3

#: The phases of a day that run on kernels, by number.
PHASES = ("attention", "exposure", "word_of_mouth")

_budget: int | None = None  # set by set_threads: a sweep worker's share of the cores


def cores() -> int:
    """Cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
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
    """The thread count of each phase of one model's days.

    Each phase first runs once with each allowed count (after one untimed
    call: the first loads the kernel), then keeps the count with the lowest
    running mean of its times. Every `interval` calls it tries another count
    once; a probe that loses doubles the phase's interval (up to
    `LONGEST_INTERVAL`), one that wins makes its count the best and resets the
    interval: on a busy machine, where two threads can cost ten times one, the
    probes become rare.
    """

    def __init__(self, users: int) -> None:
        most = min(threads(), kernels.chunks(users))
        self.counts = list(range(1, most + 1)) if users >= TWO_THREADS_FROM else [1]
        self.mean: dict[tuple[int, int], float] = {}  # (phase, threads) -> running mean of seconds
        self.calls: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.interval: dict[int, int] = {}
        self.next_probe: dict[int, int] = {}

    def summary(self) -> dict:
        """For the run's summary: how many threads a phase could use, and how many each last used."""
        return {"allowed": max(self.counts), "last": {PHASES[p]: t for p, t in sorted(self.last.items())}}

    def best(self, phase: int) -> int:
        return min(self.counts, key=lambda t: self.mean.get((phase, t), float("inf")))

    def choose(self, phase: int) -> int:
        if len(self.counts) == 1:
            return self.counts[0]
        calls = self.calls.get(phase, 0)
        self.calls[phase] = calls + 1
        if calls == 0:
            return self.counts[0]
        untried = [t for t in self.counts if (phase, t) not in self.mean]
        if untried:
            return untried[0]
        if calls >= self.next_probe.setdefault(phase, calls + PROBE_EVERY):
            others = [t for t in self.counts if t != self.best(phase)]
            return others[calls % len(others)]
        return self.best(phase)

    @contextmanager
    def phase(self, phase: int) -> Iterator[int]:
        """Run one phase's kernel calls with the chosen thread count, time them, and restore the caller's count."""
        count = self.choose(phase)
        self.last[phase] = count
        before = numba.get_num_threads()
        numba.set_num_threads(count)
        start = time.perf_counter()
        try:
            yield count
        finally:
            numba.set_num_threads(before)
        seconds = time.perf_counter() - start
        calls = self.calls.get(phase, 0)
        if calls <= 1:  # the first call loads (or compiles) the kernel: not a fair time
            return
        key = (phase, count)
        probing = key in self.mean and count != self.best(phase)
        if probing or key not in self.mean:  # a probe's count was last timed long ago: its old mean is stale
            self.mean[key] = seconds
        else:
            self.mean[key] = (1 - SMOOTHING) * self.mean[key] + SMOOTHING * seconds
        if probing:
            won = count == self.best(phase)
            interval = PROBE_EVERY if won else min(2 * self.interval.get(phase, PROBE_EVERY), LONGEST_INTERVAL)
            self.interval[phase] = interval
            self.next_probe[phase] = calls + interval
