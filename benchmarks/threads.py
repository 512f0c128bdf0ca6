"""One thread or two: the cost of a day at each population size, to set `threads.TWO_THREADS_FROM`.

Run from the repository root::

    python benchmarks/threads.py [--sizes 5000,10000,20000,50000,100000,300000] [--days 20] [--load 0]

For each size, one model of the default scenario runs day after day, alternating one thread and
two (`--max` threads) every day, so that a change of the machine's load hits both alike; the
median time of a day with each count is printed, with their ratio. `--load K` runs K busy
processes meanwhile (each stops by itself after the benchmark's time plus a minute).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,10000,20000,50000,100000,300000")
    parser.add_argument("--days", type=int, default=20, help="timed days per thread count")
    parser.add_argument("--max", type=int, default=2, help="the other thread count (default 2)")
    parser.add_argument("--load", type=int, default=0, help="busy processes to run meanwhile")
    args = parser.parse_args(argv)

    from simulation.scenario import load_scenario
    from simulation.engine import threads
    from simulation.engine.warm import warm_up
    from simulation.model import AttentionModel

    warm_up()
    threads.set_threads(args.max)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    busy = [multiprocessing.Process(target=_busy, args=(60 + 2 * args.days * len(sizes) * 1.0,), daemon=True)
            for _ in range(args.load)]
    for p in busy:
        p.start()
    print(f"| users | 1 thread, ms a day | {args.max} threads, ms a day | 1 / {args.max} | load average |")
    print("|---:|---:|---:|---:|---:|")
    try:
        for users in sizes:
            scenario = load_scenario(ROOT / "scenarios" / "relational_vs_billboard.yaml",
                                     [f"population.users={users}", f"days={2 * args.days + 4}"]).scenario
            model = AttentionModel(scenario, 7)
            times = {1: [], args.max: []}
            for day in range(2 * args.days + 4):
                count = 1 if day % 2 == 0 else args.max
                model.engine.threads.counts = [count]
                start = time.perf_counter()
                model.step()
                if day >= 4:  # untimed: the first days (kernels load, hype settles)
                    times[count].append(time.perf_counter() - start)
            one, more = (statistics.median(times[c]) * 1e3 for c in (1, args.max))
            print(f"| {users:,} | {one:.2f} | {more:.2f} | {one / more:.2f} | {os.getloadavg()[0]:.2f} |", flush=True)
    finally:
        for p in busy:
            p.terminate()
    print(f"\n{args.days} days per count, alternating; {args.load} busy process(es); "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
