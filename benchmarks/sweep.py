"""Sweep execution: runs per minute with 1 and 2 local workers, Dask's per-run overhead, driver memory.

Run from the repository root::

    python benchmarks/sweep.py [--quick]

Figures, side by side in one process:
* runs of about a second (the default scenario, shortened) through the local
  executor with 1 and 2 worker processes: runs per minute and the speed-up,
  after the workers' one-off start-up (reported on its own line);
* the overhead Dask adds per run: tiny runs through a LocalCluster of one
  worker, against the same runs in-process;
* the driver's memory (tracemalloc peak, in the driver process only) over
  sweeps of 10 and 1,000 tiny runs.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulation.scenario import load_scenario
from simulation.experiments.executors import DaskExecutor, LocalExecutor
from simulation.experiments.sweep import sweep

ROOT = Path(__file__).resolve().parent.parent


def timed_sweep(scenario, vary, replications, executor, days) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        results, _ = sweep(scenario, vary, replications=replications, out=Path(folder) / "s", executor=executor,
                           days=days)
        return time.perf_counter() - start, len(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)

    big = load_scenario(ROOT / "scenarios" / "relational_vs_billboard.yaml").scenario
    tiny = load_scenario(ROOT / "scenarios" / "classroom.yaml", ["population.users=100"]).scenario
    days_big, runs_big = (20, 4) if args.quick else (180, 24)
    vary = ["market.q=0.04,0.05"]
    reps = runs_big // 2

    one = time.perf_counter()
    from simulation.runner import run_simulation

    run_simulation(big, days=days_big)
    one = time.perf_counter() - one
    print(f"one run of the default scenario, {days_big} days, in-process: {one:.2f} s", file=sys.stderr)

    start = time.perf_counter()
    timed_sweep(tiny, ["market.q=0.05"], 2, LocalExecutor(2), 1)  # starts the fork server once
    startup = time.perf_counter() - start
    print(f"worker start-up (fork server importing the model, once per driver): {startup:.2f} s", file=sys.stderr)
    seconds = {}
    for workers in (1, 2):
        seconds[workers], n = timed_sweep(big, vary, reps, LocalExecutor(workers), days_big)
        print(f"{workers} local worker(s): {n} runs in {seconds[workers]:.1f} s", file=sys.stderr)
    speedup = seconds[1] / seconds[2]

    tiny_runs = 20 if args.quick else 200
    tiny_days = 5
    start = time.perf_counter()
    for seed in range(tiny_runs):
        run_simulation(tiny, seed, days=tiny_days)
    in_process = (time.perf_counter() - start) / tiny_runs
    dask = DaskExecutor(workers=1)
    try:
        timed_sweep(tiny, ["market.q=0.05"], 4, dask, tiny_days)  # warm the worker's imports
        dask_seconds, n = timed_sweep(tiny, ["market.q=0.05"], tiny_runs, dask, tiny_days)
    finally:
        dask.close()
    overhead = dask_seconds / n - in_process
    print(f"Dask, 1 worker: {n} tiny runs in {dask_seconds:.2f} s", file=sys.stderr)

    memory = {}
    for count in (10, 100 if args.quick else 1000):
        tracemalloc.start()
        timed_sweep(tiny, ["market.q=0.05"], count, LocalExecutor(2), tiny_days)
        memory[count] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    small, large = sorted(memory)

    def rate(s: float) -> float:
        return runs_big / s * 60

    print("| measure | figure | target |")
    print("|---|---:|---|")
    print(f"| one run, default scenario, {days_big} days | {one:.2f} s | about a second |")
    print(f"| runs per minute, 1 local worker | {rate(seconds[1]):.1f} | |")
    print(f"| runs per minute, 2 local workers | {rate(seconds[2]):.1f} | |")
    print(f"| speed-up, 2 workers over 1 | {speedup:.2f}x | >= 1.7x: {'PASS' if speedup >= 1.7 else 'MISS'} |")
    print(f"| worker start-up, once per sweep (not in the rates above) | {startup:.2f} s | |")
    print(f"| Dask overhead per run (1-worker LocalCluster vs in-process) | {overhead * 1000:.1f} ms | "
          f"< 50 ms: {'PASS' if overhead < 0.05 else 'MISS'} |")
    print(f"| driver peak memory, {small} runs | {memory[small] / 1e6:.1f} MB | |")
    print(f"| driver peak memory, {large} runs | {memory[large] / 1e6:.1f} MB | flat |")
    print()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"Machine: {platform.platform()}; {cpu}; python {platform.python_version()}; "
          f"date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
