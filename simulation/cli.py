"""The command line: `main(argv) -> int`, so it is tested in-process.

Commands: run, validate, compare, sweep, sensitivity, calibrate, check-model, serve.
Exit codes: 0 done; 2 a mistake in the input (one clear message, nothing
written; another run writing to the same --out is one); 1 a fault of ours, or
work that could not finish (a failed model check, every run of a comparison
failed, a lost Dask scheduler, a full disk), said in the message; 130
interrupted (Ctrl-C), 143 terminated (SIGTERM), both cleaned up alike.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from simulation.scenario import ScenarioError, load_scenario
from simulation.experiments.executors import ExecutionLost, ExperimentFailed
from simulation.experiments.tasks import interruption_behind
from simulation.engine.warm import compiled_on_disk, warm_up
from simulation.outputs.folders import check_out, claim, disk_full, staged

EXIT_OK, EXIT_FAULT, EXIT_INPUT = 0, 1, 2
INCREMENTAL_REPLICATIONS = 10  # run --incremental without N: paired replications for the intervals


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as ScenarioError-style exit code 2 without a traceback."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("attention-market")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser(prog: str = "run.py") -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Attention Market: who wins users' limited online time, and sales.")
    parser.add_argument("--version", action="version", version=f"attention-market {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one scenario and write a report, tables and figures")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--seed", type=int, help="seed of the random generator (default: the scenario's)")
    run.add_argument("--days", type=int, help="days to simulate (default: the scenario's)")
    run.add_argument("--out", type=Path, help="output folder (default: results/<scenario>-seed<seed>)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                     help="override a scenario key, e.g. --set brands.Billboard.budget_per_day=500 (repeatable)")
    run.add_argument("--force", action="store_true", help="replace the output folder if it is not empty")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--incremental", nargs="?", type=int, const=INCREMENTAL_REPLICATIONS, default=None, metavar="N",
                     help="also run each brand with its spend at zero on the same seed (incremental sales and ROI "
                          "beside the attributed ones, one draw), and, with N > 1 (default "
                          f"{INCREMENTAL_REPLICATIONS}), the same on N paired replications for 95 %% intervals, "
                          "last-touch and media-mix ROI beside them")

    comp = sub.add_parser("compare", help="paired comparison of brands or arms over replications")
    comp.add_argument("scenario", help="scenario YAML file")
    comp.add_argument("--replications", type=int, default=20, help="paired replications per arm (default 20)")
    comp.add_argument("--arm", dest="arms", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                      help="an alternative, e.g. 'mix:brands.B.strategy=mixed,brands.B.relational_share=0.3' "
                           "(repeatable; default: the scenario's arms: section, else its brands as written)")
    comp.add_argument("--incremental", action="store_true",
                      help="also run each alternative with each brand's spend at zero (same seeds) and report "
                           "incremental sales and ROI beside the attributed ones (runs x (1 + brands))")
    _add_execution(comp)
    _add_common(comp)

    sw = sub.add_parser("sweep", help="vary parameters with replications; resumable; local or on a Dask cluster")
    sw.add_argument("scenario", help="scenario YAML file")
    sw.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...|KEY=LO:HI:N",
                    help="a key to vary: listed values, or a range lo:hi:n (repeatable)")
    sw.add_argument("--sample", choices=["grid", "random", "lhs"], default="grid",
                    help="grid: every combination; random or lhs (Latin hypercube): --samples points")
    sw.add_argument("--samples", type=int, help="points for random or lhs sampling")
    sw.add_argument("--replications", type=int, default=5, help="runs per point (default 5)")
    sw.add_argument("--series", action="store_true", help="also keep each run's daily brand table (series/)")
    _add_execution(sw)
    _add_common(sw)

    sens = sub.add_parser("sensitivity", help="Sobol or Morris global sensitivity of one KPI (SALib)")
    sens.add_argument("scenario", help="scenario YAML file")
    sens.add_argument("--method", choices=["sobol", "morris"], default="sobol")
    sens.add_argument("--param", action="append", default=[], metavar="KEY=LO:HI", help="a parameter and its range (repeatable)")
    sens.add_argument("--samples", type=int, default=64,
                      help="Sobol: base sample N, a power of two (N x (params + 2) points); Morris: trajectories")
    sens.add_argument("--kpi", help="BRAND/KPI, or KPI for the first brand (default: the first brand's sales)")
    sens.add_argument("--replications", type=int, default=1, help="runs per point, averaged (default 1)")
    _add_execution(sens)
    _add_common(sens)

    cal = sub.add_parser("calibrate", help="fit sinks' appeals to measured shares of online time")
    cal.add_argument("scenario", help="scenario YAML file")
    cal.add_argument("--targets", type=Path, required=True, help="CSV with columns sink,share (percent or fractions)")
    cal.add_argument("--out", type=Path, required=True, help="the calibrated scenario file to write")
    cal.add_argument("--window", type=int, default=90, help="days at the end of the run whose shares are fitted (90)")
    cal.add_argument("--tolerance", type=float, default=0.1, help="largest gap allowed, in percentage points (0.1)")
    cal.add_argument("--max-iterations", type=int, default=30)
    cal.add_argument("--seed", type=int, help="seed of the fitting runs (default: the scenario's)")
    cal.add_argument("--days", type=int, help="days per fitting run (default: the scenario's)")
    cal.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                     help="override a key for the fitting runs only (e.g. population.users=3000 for speed)")
    cal.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    cal.add_argument("--quiet", action="store_true")

    check = sub.add_parser("check-model", help="validate the model against published results; writes validation.md")
    check.add_argument("--quick", action="store_true", help="smaller sizes (as the tests run them)")
    check.add_argument("--out", type=Path, default=None,
                       help="folder for validation.md and its figures (default: docs; with --quick, a new "
                            "temporary folder, so that a quick check never overwrites the committed docs)")

    serve = sub.add_parser("serve", help="the classroom dashboard and the class game in the browser (Mesa, Solara)")
    serve.add_argument("scenario", nargs="?", default=None, help="scenario YAML file (default scenarios/classroom.yaml)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only; give 0.0.0.0 explicitly "
                            "to let other machines in, such as the students' phones for the class game)")
    serve.add_argument("--game", type=Path, default=None,
                       help="the class game's scenario (default scenarios/class_game.yaml; each team's brand is a "
                            "copy of its first brand)")
    serve.add_argument("--weeks", type=int, default=5, help="weeks in a class game (1 to 52, default 5)")

    validate = sub.add_parser("validate", help="check a scenario file and say 'ok' or what is wrong")
    validate.add_argument("scenario", help="scenario YAML file")
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    return parser


def _add_execution(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://127.0.0.1:8786")
    where.add_argument("--scheduler-file", metavar="FILE", help="a Dask scheduler file")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, help="master seed (default: the scenario's)")
    parser.add_argument("--days", type=int, help="days per run (default: the scenario's)")
    parser.add_argument("--out", type=Path, help="output folder")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a scenario key for every run (repeatable)")
    parser.add_argument("--force", action="store_true", help="replace the output folder if it is not empty")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _check_days_seed(args: argparse.Namespace) -> None:
    if args.days is not None and not 1 <= args.days <= 36_500:
        raise ScenarioError(f"--days: expected a whole number from 1 to 36500, found {args.days}")
    if args.seed is not None and not 0 <= args.seed < 2**63:
        raise ScenarioError(f"--seed: expected a whole number from 0 to 2^63 - 1, found {args.seed}")


def _runs_bar(total: int, quiet: bool, what: str = "runs"):
    from tqdm import tqdm

    return tqdm(total=total, unit="run", desc=what, disable=quiet, file=sys.stderr, dynamic_ncols=True)


class _PlanProgress:
    """Progress of a resumable plan (sweep, sensitivity): made on the first call, which says what is done."""

    def __init__(self, quiet: bool, what: str) -> None:
        self.quiet, self.what, self.bar, self.failed = quiet, what, None, 0

    def __call__(self, row: dict, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = _runs_bar(total, self.quiet, self.what)
            self.bar.update(done)
            if done and not self.quiet:
                print(f"resuming: {done} of {total} runs already done", file=sys.stderr)
            return
        self.failed += row.get("status") != "ok"
        self.bar.update(1)
        if self.failed:
            self.bar.set_postfix(failed=self.failed)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it stops as on Ctrl-C: cleaned up, nothing half-written."""


def _stop_on_sigterm():
    """Make SIGTERM raise `Terminated` in this process (not in a child forked from it); returns the old handler."""
    own = os.getpid()

    def handler(signum: int, frame) -> None:
        if os.getpid() != own:  # a forked child: end as SIGTERM ends a process
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        signal.signal(signum, signal.SIG_IGN)  # once: a second SIGTERM does not cut the clean-up short
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (main() called from a thread): SIGTERM stays as it is
        return None


#: The output locks of the command being run; main() releases them when it returns, however it returns.
_HELD: list = []


def _hold(out: Path, keep: tuple[Path, ...] = ()) -> None:
    """Lock `out` until main() returns, so that no other run writes there meanwhile (exit 2 if one does).

    Says what taking the lock cleared: the lock of a run that was killed, folders left half-written.
    """
    lock = claim(out, keep)
    _HELD.append(lock)
    for note in lock.notes:
        print(f"note: {note}", file=sys.stderr)


def _interrupted(command: str, exc: KeyboardInterrupt) -> int:
    """Say what an interruption left, and its exit code: 128 + the signal's number (130 Ctrl-C, 143 SIGTERM)."""
    stopped = "terminated" if isinstance(exc, Terminated) else "interrupted"
    if command == "serve":
        print(f"{stopped}; the dashboard is stopped", file=sys.stderr)
    elif command in ("sweep", "sensitivity"):
        print(f"{stopped}; the finished runs are kept: the same command resumes", file=sys.stderr)
    else:
        print(f"{stopped}; nothing was written", file=sys.stderr)
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def main(argv: list[str] | None = None, prog: str = "run.py") -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser(prog).parse_args(argv)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    sigterm = _stop_on_sigterm()
    try:
        return COMMANDS[args.command](args)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except ExperimentFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAULT
    except ExecutionLost as exc:
        print(f"error: {exc} mid-experiment; the finished runs are kept: start the scheduler again and run the "
              "same command to resume", file=sys.stderr)
        return EXIT_FAULT
    except MemoryError:
        print("error: out of memory: this scenario needs more memory than this machine has free; "
              "use fewer users (python run.py validate shows an estimate)", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        return _interrupted(args.command, exc)
    except Exception as exc:  # a bug of ours, never the user's mistake
        if (stop := interruption_behind(exc)) is not None:
            return _interrupted(args.command, stop)
        if full := disk_full(exc):  # not a bug: the disk, a quota or the file-size limit; temporaries are removed
            kept = "; the finished runs are kept: it resumes" if args.command in ("sweep", "sensitivity") else ""
            print(f"error: {full}{kept}", file=sys.stderr)
            return EXIT_FAULT
        print("internal error: this is a fault in Attention Market, not in your scenario. "
              "Please report it with the traceback below.", file=sys.stderr)
        traceback.print_exc()
        return EXIT_FAULT
    finally:
        while _HELD:
            _HELD.pop().release()
        if sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)


def cmd_validate(args: argparse.Namespace) -> int:
    from simulation.model.network import read_graph_file
    from simulation.checks.resources import check_memory

    loaded = load_scenario(args.scenario, args.overrides)
    s = loaded.scenario
    users = s.population.users
    if s.network.kind == "file":  # read it, as a run would
        users = read_graph_file(Path(s.network.path)).number_of_nodes()
    need = check_memory(s, users)
    print(f"ok: {loaded.path}: {s.name}, {_count(users, 'user')}, {_count(len(s.sinks), 'sink')}, "
          f"{_count(len(s.brands), 'brand')}, {_count(len(s.events), 'event')}, {_count(s.days, 'day')} "
          f"(about {need / 1e6:,.0f} MB)")
    return EXIT_OK


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def cmd_run(args: argparse.Namespace) -> int:
    from simulation.model import AttentionModel
    from simulation.outputs.report import write_outputs
    from simulation.checks.resources import check_memory
    from simulation.runner import collect_result

    loaded = load_scenario(args.scenario, args.overrides)
    scenario = loaded.scenario
    _check_days_seed(args)
    if args.incremental is not None and not 1 <= args.incremental <= 1000:
        raise ScenarioError(f"--incremental: expected a number of replications from 1 to 1000, found {args.incremental}")
    seed = scenario.seed if args.seed is None else args.seed
    out = args.out or Path("results") / f"{Path(args.scenario).stem}-seed{seed}{_variant(args)}"
    _hold(out, keep=(loaded.path,))
    check_out(out, args.force, keep=(loaded.path,))

    check_memory(scenario)
    compile_seconds = _warm_engine(args.quiet)
    start = time.perf_counter()
    model = AttentionModel(scenario, seed, days=args.days)  # reads graph files: bad ones fail here, before writing
    bar = _progress(model.days, args.quiet)
    for _ in range(model.days):
        model.step()
        bar.update(1)
    bar.close()
    result = collect_result(model, time.perf_counter() - start, compile_seconds)
    if args.incremental is not None:
        _run_incremental(args, scenario, seed, result)

    with staged(out) as staging:
        write_outputs(result, staging, loaded)
    for event in result.summary["events_not_reached"]:
        print(f"warning: the {event['type']} event on day {event['day']} was not reached "
              f"(the run stopped after day {result.days})", file=sys.stderr)
    if not args.quiet:
        print(_brief(result), file=sys.stderr)
    print(out / "report.md")
    return EXIT_OK


def _run_incremental(args: argparse.Namespace, scenario, seed: int, result) -> None:
    """`run --incremental [N]`: each brand at zero spend on this run's seed, then N paired replications."""
    from simulation.experiments.compare import AS_WRITTEN, Arm, compare
    from simulation.experiments.incremental import one_run_incremental

    if not args.quiet:
        print(f"incremental: {len(scenario.brands)} more runs, each brand's spend at zero on seed {seed} ...",
              file=sys.stderr)
    result.summary["incremental"] = one_run_incremental(scenario, seed, args.days, result.summary)
    if args.incremental < 2:
        return
    bar = _runs_bar(args.incremental * (1 + len(scenario.brands)), args.quiet)
    try:
        comparison = compare(scenario, replications=args.incremental, arms=[Arm(AS_WRITTEN)], days=args.days,
                             master_seed=seed, progress=lambda row: bar.update(1), incremental=True)
    finally:
        bar.close()
    result.incremental = comparison


def _warm_engine(quiet: bool) -> float:
    """Compile the engine's kernels if numba's cache lacks them (saying so), else load them; returns seconds."""
    if not quiet and not compiled_on_disk():
        print("Compiling the engine for this machine (once: about a minute; `make` does it at set-up) ...",
              file=sys.stderr)
    return warm_up()


def _brief(result) -> str:
    parts = [f"{name}: {b['sales']:,} sales, ROI {'n/a' if b['roi'] is None else format(b['roi'], '+.2f')}"
             for name, b in result.summary["brands"].items()]
    compiled = f" (after {result.compile_seconds:.0f} s compiling the engine)" if result.compile_seconds > 5 else ""
    return f"{result.days} days in {result.seconds:.1f} s{compiled}. " + "; ".join(parts)


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="day", desc="simulating", disable=quiet, delay=2.0, file=sys.stderr,
                dynamic_ncols=True)


def _experiment(args: argparse.Namespace, suffix: str):
    """The first steps of compare, sweep and sensitivity: the scenario, the checks, the output folder."""
    from simulation.checks.resources import check_memory

    loaded = load_scenario(args.scenario, args.overrides)
    _check_days_seed(args)
    check_memory(loaded.scenario)
    return loaded, args.out or Path("results") / f"{Path(args.scenario).stem}-{suffix}{_variant(args)}"


#: Flags that say where or how to run, not what: never part of a folder's name.
_NOT_DEFINING = {"command", "scenario", "out", "force", "quiet", "workers", "scheduler", "scheduler_file",
                 "overrides", "days"}


def _variant(args: argparse.Namespace) -> str:
    """'' for the scenario as written; else '-' and a short hash of what the flags change (default folders).

    --set and --days, and for compare, sweep and sensitivity every other flag that changes what is run
    (--arm, --vary, --param, --seed, sampling, --kpi, --replications, ...) when it differs from its default.
    The same command gives the same folder, so that a sweep resumes where it stopped.
    """
    from simulation.outputs.provenance import overrides_hash

    items = list(args.overrides) + ([f"days={args.days}"] if args.days is not None else [])
    if args.command != "run":
        defaults = vars(build_parser().parse_args([args.command, args.scenario]))
        items += [f"{name}={value}" for name, value in sorted(vars(args).items())
                  if name not in _NOT_DEFINING and value != defaults.get(name)]
    return f"-{overrides_hash(items)}" if items else ""


def _on_executor(args: argparse.Namespace, progress, work):
    """Run `work(executor)` on the executor the flags ask for; returns its result and where it ran."""
    from simulation.experiments.executors import make_executor

    executor = make_executor(args.workers, args.scheduler, args.scheduler_file)
    try:
        where = executor.describe()
        return work(executor), where
    finally:
        progress.close()
        executor.close()


def cmd_compare(args: argparse.Namespace) -> int:
    from simulation.experiments.compare import compare, parse_arm
    from simulation.experiments.output import write_comparison

    loaded, out = _experiment(args, "compare")
    if args.replications < 1:
        raise ScenarioError(f"--replications: expected at least 1, found {args.replications}")
    arms = [parse_arm(a) for a in args.arms]
    _hold(out, keep=(loaded.path,))
    check_out(out, args.force, keep=(loaded.path,))
    n_arms = len(arms) or len(loaded.scenario.arms) or 1
    runs = n_arms * args.replications * (1 + len(loaded.scenario.brands) if args.incremental else 1)
    bar = _runs_bar(runs, args.quiet)
    failed = 0

    def progress(row: dict) -> None:
        nonlocal failed
        failed += row.get("status") != "ok"
        bar.update(1)
        if failed:
            bar.set_postfix(failed=failed)

    result, where = _on_executor(args, bar, lambda executor: compare(
        loaded.scenario, replications=args.replications, arms=arms or None, executor=executor, days=args.days,
        master_seed=args.seed, progress=progress, incremental=args.incremental))
    with staged(out) as staging:
        write_comparison(result, staging, loaded=loaded, scenario=loaded.scenario, executor=where)
    if failed and not args.quiet:
        print(f"{failed} runs failed; see {out / 'failed_runs.csv'}", file=sys.stderr)
    print(out / "report.md")
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from simulation.experiments.output import write_sweep_outputs
    from simulation.experiments.sweep import plan_sweep, refuse_overlap, run_plan

    loaded, out = _experiment(args, "sweep")
    refuse_overlap([v.partition("=")[0].strip() for v in args.vary], args.overrides)
    plan = plan_sweep(loaded.scenario, args.vary, replications=args.replications, sample=args.sample,
                      samples=args.samples, master_seed=args.seed, days=args.days, series=args.series)
    _hold(out, keep=(loaded.path,))
    progress = _PlanProgress(args.quiet, "sweep")
    results, where = _on_executor(args, progress, lambda executor: run_plan(
        plan, out, executor=executor, force=args.force, keep=(loaded.path,), progress=progress))
    write_sweep_outputs(results, plan, out, [b.name for b in loaded.scenario.brands], where, loaded=loaded,
                        scenario=loaded.scenario)
    n_failed = int((results["status"] != "ok").sum()) if len(results) else 0
    if not args.quiet:
        print(f"{len(results)} runs, {n_failed} failed", file=sys.stderr)
    print(out / "report.md")
    return EXIT_OK


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from simulation.experiments.sensitivity import plan_sensitivity, resolve_kpi, sensitivity, write_sensitivity
    from simulation.experiments.sweep import refuse_overlap

    loaded, out = _experiment(args, args.method)
    resolve_kpi(loaded.scenario, args.kpi)
    refuse_overlap([p.partition("=")[0].strip() for p in args.param], args.overrides, "--param")
    plan_sensitivity(loaded.scenario, args.param, method=args.method, samples=args.samples,
                     replications=args.replications, master_seed=args.seed, days=args.days)  # checks first
    _hold(out, keep=(loaded.path,))
    progress = _PlanProgress(args.quiet, args.method)
    result, where = _on_executor(args, progress, lambda executor: sensitivity(
        loaded.scenario, args.param, out=out, method=args.method, samples=args.samples, kpi=args.kpi,
        replications=args.replications, executor=executor, master_seed=args.seed, days=args.days,
        force=args.force, keep=(loaded.path,), progress=progress))
    write_sensitivity(result, out, where, loaded=loaded)
    if not args.quiet:
        print(result.indices.to_string(index=False), file=sys.stderr)
    print(out / "report.md")
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    from simulation.checks.calibration import fit_appeals, read_targets, write_calibrated

    loaded = load_scenario(args.scenario, args.overrides)
    _check_days_seed(args)
    targets = read_targets(args.targets, loaded.scenario)
    if args.out.suffix not in (".yaml", ".yml"):
        raise ScenarioError(f"--out {args.out}: expected a .yaml file")
    if not 1 <= args.max_iterations <= 1000 or args.tolerance <= 0 or args.window < 1:
        raise ScenarioError("--max-iterations from 1 to 1000, --tolerance > 0 and --window >= 1")
    _hold(args.out)
    if args.out.exists() and not args.force:
        raise ScenarioError(f"--out {args.out}: exists; use --force to overwrite it")

    def progress(iteration: int, gap: float) -> None:
        if not args.quiet:
            print(f"iteration {iteration}: largest gap {gap:.3f} percentage points", file=sys.stderr)

    fit = fit_appeals(loaded.scenario, targets, seed=args.seed, days=args.days, window=args.window,
                      tolerance=args.tolerance, max_iterations=args.max_iterations, progress=progress)
    gap = fit.table["difference"].abs().max()
    note = (f"appeals fitted to {args.targets.name} by `run.py calibrate` in {fit.iterations} iterations; "
            f"largest gap {gap:.2f} pp over the last {args.window} days"
            + (f" (with {' '.join(args.overrides)})" if args.overrides else ""))
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_calibrated(loaded.path, args.out, fit.appeals, note)
    except OSError as exc:
        raise ScenarioError(f"--out {args.out}: cannot write it ({exc.strerror or exc})") from None
    print(fit.table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    state = "converged" if fit.converged else f"did NOT reach the tolerance of {args.tolerance} pp"
    print(f"{fit.iterations} iterations, {state}; largest gap {gap:.3f} percentage points; wrote {args.out}")
    return EXIT_OK


def cmd_check_model(args: argparse.Namespace) -> int:
    from simulation.checks.validation import run_checks, write_validation

    def progress(check) -> None:
        print(f"{'PASS' if check.passed else 'FAIL'}  {check.name}", file=sys.stderr)

    out = args.out
    if out is None:
        import tempfile

        out = Path(tempfile.mkdtemp(prefix="attention-market-check-")) if args.quick else Path("docs")
    checks = run_checks(args.quick, progress)
    try:
        path = write_validation(checks, out, args.quick)
    except OSError as exc:
        raise ScenarioError(f"--out {args.out}: cannot write there ({exc.strerror or exc})") from None
    failed = [c.name for c in checks if not c.passed]
    print(path)
    if failed:
        print(f"{len(failed)} check(s) failed: {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAULT
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the dashboard's server as a child process that ends with this one, however this one ends.

    SIGTERM and Ctrl-C (or kill -INT, even when a shell started serve in the background with SIGINT ignored)
    stop the server before serve returns; if serve is killed outright, the server sees its pipe close
    and stops itself (`serve_child`).
    """
    import importlib.util
    import subprocess

    here = Path(__file__).resolve().parent.parent
    scenario = Path(args.scenario) if args.scenario else here / "scenarios" / "classroom.yaml"
    game = args.game if args.game else here / "scenarios" / "class_game.yaml"
    load_scenario(scenario)  # a bad scenario is reported before any server starts
    load_scenario(game)
    if not 1 <= args.port <= 65535:
        raise ScenarioError(f"--port: expected 1 to 65535, found {args.port}")
    if not 1 <= args.weeks <= 52:
        raise ScenarioError(f"--weeks: expected 1 to 52, found {args.weeks}")
    if importlib.util.find_spec("solara") is None:
        raise ScenarioError("serve needs the dashboard extra: pip install -e '.[dashboard]' (make setup installs it)")
    _warm_engine(quiet=False)  # compile now, not on the class's first day (the server reads numba's cache)
    import secrets

    teacher_key = secrets.token_urlsafe(8)
    reachable = _address_for_others(args.host)
    local = _is_loopback(args.host)
    root = str(here)  # the child imports this very package
    env = {**os.environ, "ATTENTION_MARKET_SCENARIO": str(scenario.resolve()),
           "ATTENTION_MARKET_GAME": str(game.resolve()), "ATTENTION_MARKET_GAME_WEEKS": str(args.weeks),
           "ATTENTION_MARKET_TEACHER_KEY": teacher_key,
           "ATTENTION_MARKET_JOIN_ADDRESS": f"http://{reachable}:{args.port}/join",
           "ATTENTION_MARKET_GATE_DASHBOARD": "0" if local else "1",
           # a page whose browser has gone (a phone put away) is let go after 10 minutes, not 24 hours;
           # the same browser coming back gets a fresh page and keeps its team
           "SOLARA_KERNEL_CULL_TIMEOUT": os.environ.get("SOLARA_KERNEL_CULL_TIMEOUT", "10m"),
           "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    dashboard = here / "simulation" / "dashboard" / "site.py"
    dashboard_key = "" if local else f"?key={teacher_key}"
    print(f"Attention Market for {scenario} (Ctrl-C stops it):\n"
          f"  dashboard:              http://{reachable}:{args.port}/{dashboard_key}\n"
          f"  class game, teacher:    http://{reachable}:{args.port}/class?key={teacher_key}"
          f"  (keep this address to yourself)\n"
          f"  class game, students:   http://{reachable}:{args.port}/join  (the join code is on the teacher's page)",
          flush=True)
    if local:
        print("  Only this machine can open these pages: --host 0.0.0.0 lets the students' phones and laptops in.",
              flush=True)
    sigint = signal.getsignal(signal.SIGINT)
    if sigint is signal.SIG_IGN:  # started in the background by a script: kill -INT must still stop the server
        signal.signal(signal.SIGINT, signal.default_int_handler)
    watched, held = os.pipe()  # only this process holds `held`: the kernel closes it when this process ends
    command = [sys.executable, "-c", "from simulation.cli import serve_child; serve_child()", str(watched),
               "run", str(dashboard), "--host", args.host, "--port", str(args.port), "--production", "--no-open"]
    try:
        server = subprocess.Popen(command, env=env, pass_fds=(watched,))
    finally:
        os.close(watched)
    try:
        code = server.wait()
    finally:
        _stop(server)
        os.close(held)
        signal.signal(signal.SIGINT, sigint)
    return code if code >= 0 else 128 - code  # killed by a signal: 128 + its number, as a shell says


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _address_for_others(host: str) -> str:
    """The address students type: the host given, or for 0.0.0.0 (every interface) this machine's own
    address on the network of its default route (found by routing a UDP socket, which sends nothing;
    on a laptop's own hotspot, give the hotspot's address as --host instead)."""
    import socket

    if host not in ("0.0.0.0", "::", ""):
        return f"[{host}]" if ":" in host and not host.startswith("[") else host  # IPv6 in a URL: brackets
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.254.254.254", 1))
            return probe.getsockname()[0]
    except OSError:
        return socket.gethostname()


def _stop(process, grace: float = 5.0) -> None:
    """End a child process: SIGTERM, then SIGKILL if it is still there after `grace` seconds."""
    import subprocess

    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve_child() -> None:
    """The dashboard's server (`solara run ...`), stopping by itself when the serve process that started it ends.

    argv: the read end of a pipe whose write end only serve holds, then solara's arguments. When serve
    ends, however it ends (kill -9 included), the kernel closes the write end and the read returns
    nothing: the server then stops as on SIGTERM, and is cut off if it has not within 5 s.
    """
    import threading

    watched = int(sys.argv[1])

    def watch() -> None:
        while os.read(watched, 1):  # serve never writes: this returns only when serve is gone
            pass
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        os._exit(EXIT_FAULT)

    threading.Thread(target=watch, name="watch-serve", daemon=True).start()
    import warnings

    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")  # plain http in a class
    sys.argv = ["solara", *sys.argv[2:]]
    from solara.__main__ import main as solara_main

    solara_main()


COMMANDS = {
    "serve": cmd_serve,
    "run": cmd_run,
    "validate": cmd_validate,
    "compare": cmd_compare,
    "sweep": cmd_sweep,
    "sensitivity": cmd_sensitivity,
    "calibrate": cmd_calibrate,
    "check-model": cmd_check_model,
}


def console_main() -> None:
    """The `attention-market` command: the same as run.py, named as it is called."""
    sys.exit(main(prog="attention-market"))
