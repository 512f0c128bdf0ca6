"""The engine against the last numpy engine, side by side in one process, idle or under load.

Run from the repository root (it needs the repository's git history)::

    python benchmarks/against_numpy.py [--sizes 300,10000,100000] [--days 30] [--rounds 3] [--load 0]

Until commit ec51ce0 populations under 50,000 users ran on a numpy engine (one array operation
over all users per sub-step). This benchmark takes that commit's `simulation/` package out of git
(`git archive`), renames it `simulation_numpy` in a temporary folder, and imports it beside the
current package. For each size it builds both models of the same scenario (the default one, at
that many users), runs a few untimed days, then times `model.step()` day by day, alternating the
two models round by round (ABAB), so that a change in the machine's load hits both alike. `--load K`
starts K busy processes (each a Python loop, for at most the benchmark's duration plus a minute)
to measure on a busy machine. Figures: the median time of a day, and its ratio.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NUMPY_COMMIT = "ec51ce0"  # the last commit with the numpy engine


def import_numpy_engine(folder: Path):
    """The numpy engine's package of NUMPY_COMMIT, as `simulation_numpy`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", NUMPY_COMMIT, "simulation"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    package = folder / "simulation_numpy"
    (folder / "simulation").rename(package)
    for path in package.rglob("*.py"):
        text = path.read_text()
        text = re.sub(r"\bsimulation\.", "simulation_numpy.", text)
        text = re.sub(r"from simulation import", "from simulation_numpy import", text)
        path.write_text(text)
    sys.path.insert(0, str(folder))
    return importlib.import_module("simulation_numpy.config"), importlib.import_module("simulation_numpy.model")


def _busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def day_times(model, days: int) -> list[float]:
    out = []
    for _ in range(days):
        start = time.perf_counter()
        model.step()
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300,10000,100000", help="comma-separated user counts")
    parser.add_argument("--days", type=int, default=30, help="timed days per model and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (numpy, engine) per size")
    parser.add_argument("--warmup", type=int, default=3, help="untimed days before timing")
    parser.add_argument("--load", type=int, default=0, help="busy processes to run meanwhile")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]

    from simulation.scenario import load_scenario
    from simulation.engine.warm import warm_up
    from simulation.model import AttentionModel

    warm_up()
    scenario_file = ROOT / "scenarios" / "relational_vs_billboard.yaml"
    busy = []
    with tempfile.TemporaryDirectory() as folder:
        old_config, old_model = import_numpy_engine(Path(folder))
        if args.load:
            budget = 60 + len(sizes) * args.rounds * args.days * 2.0
            busy = [multiprocessing.Process(target=_busy, args=(budget,), daemon=True) for _ in range(args.load)]
            for p in busy:
                p.start()
            time.sleep(2)
        rows = []
        try:
            for users in sizes:
                overrides = [f"population.users={users}", f"days={args.warmup + args.days * args.rounds + 1}"]
                new = AttentionModel(load_scenario(scenario_file, overrides).scenario, 7)
                old = old_model.AttentionModel(old_config.load_scenario(scenario_file, [*overrides, "engine=numpy"])
                                               .scenario, 7)
                for model in (old, new):
                    day_times(model, args.warmup)
                times = {"numpy": [], "engine": []}
                loads = []
                for _ in range(args.rounds):
                    times["numpy"] += day_times(old, args.days)
                    times["engine"] += day_times(new, args.days)
                    loads.append(os.getloadavg()[0])
                old_ms = statistics.median(times["numpy"]) * 1e3
                new_ms = statistics.median(times["engine"]) * 1e3
                threads = "/".join(str(t) for t in new.engine.threads.summary()["last"].values())
                rows.append((users, old_ms, new_ms, threads, statistics.mean(loads)))
                print(f"N={users:,}: numpy {old_ms:.2f} ms/day, engine {new_ms:.2f} ms/day ({threads} threads)",
                      file=sys.stderr)
        finally:
            for p in busy:
                p.terminate()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"| users | numpy engine ({NUMPY_COMMIT}), ms a day | engine, ms a day | numpy / engine | engine threads "
          f"(attention/exposure/word of mouth) | load average |")
    print("|---:|---:|---:|---:|:---|---:|")
    for users, old_ms, new_ms, threads, load in rows:
        print(f"| {users:,} | {old_ms:.2f} | {new_ms:.2f} | {old_ms / new_ms:.2f} | {threads} | {load:.2f} |")
    print(f"\nMedian of {args.days * args.rounds} days per model after {args.warmup} untimed, in {args.rounds} "
          f"alternating rounds; {args.load} busy process(es) meanwhile; {cpu}, {os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
