"""Parameter sweeps: points x replications, resumable, on any executor.

The folder of a sweep holds `spec.json` (what was asked), `runs/` (one Parquet
file per finished run, written atomically), optionally `series/` (one daily
table per run), and at the end `results.parquet` with one row per run. Started
again with the same specification on the same folder, a sweep skips the runs
already there; with another specification it is refused. Each run's file carries
its run id and the digest of that run of that experiment (`RunTask.digest`), checked
on resume: a file that is not the run its name says (moved, copied, cut short, from
another experiment or an older version) is removed and its run done again, with a
line saying so.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from simulation.scenario import Scenario, ScenarioError
from simulation.experiments.output import atomic_write_bytes
from simulation.outputs.tables import FLOAT_FORMAT
from simulation.experiments.tasks import RunTask, derive_seeds, scenario_with, split_top_level
from simulation.outputs.folders import cannot_write, check_out, mark, refuse_precious

PARAM = "param:"  # prefix of the varied parameters' columns
RUN_META = b"attention_market"  # key of a run file's Parquet metadata: which run of which experiment it holds
_RUN_NAME = re.compile(r"run-(\d+)\.parquet")
_NOTICES = 10  # lines about discarded run files, at most; then one line says how many more


@dataclass(frozen=True)
class Vary:
    """One varied key: explicit values, or a range lo:hi with n points (n for grids)."""

    key: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    count: int | None = None
    integer: bool = False

    @property
    def text(self) -> str:
        if self.values is not None:
            return f"{self.key}={','.join(json.dumps(v) for v in self.values)}"
        return f"{self.key}={self.low}:{self.high}" + (f":{self.count}" if self.count else "")

    def grid(self) -> list:
        if self.values is not None:
            return list(self.values)
        if not self.count:
            raise ScenarioError(f"--vary {self.text}: a grid needs a number of points, as lo:hi:n")
        points = np.linspace(self.low, self.high, self.count)
        return [int(round(x)) for x in points] if self.integer else [float(x) for x in points]

    def from_unit(self, u: float):
        """The value at position u in [0, 1) of this key's range or list."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self.integer:  # every whole number in lo..hi equally likely
            return int(min(self.high, self.low + np.floor(u * (self.high - self.low + 1))))
        return float(self.low + u * (self.high - self.low))


def with_type(vary: Vary, base: dict) -> Vary:
    """Ranges of whole-number keys (population.users, copy_lag, ...) give whole numbers; others stay real."""
    from dataclasses import replace

    from simulation.scenario import key_is_integer

    if vary.values is None and key_is_integer(vary.key, base):
        return replace(vary, integer=True, low=int(np.ceil(vary.low)), high=int(np.floor(vary.high)))
    return vary


def parse_vary(text: str) -> Vary:
    """'key=v1,v2,...' or 'key=lo:hi[:n]'."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise ScenarioError(f"--vary {text}: expected key.path=v1,v2,... or key.path=lo:hi:n")
    if ":" in raw and "," not in raw and not raw.startswith(("[", "{", '"', "'")):
        parts = raw.split(":")
        if len(parts) not in (2, 3):
            raise ScenarioError(f"--vary {text}: a range is lo:hi or lo:hi:n")
        try:
            low, high = (_number_or(yaml.safe_load(p)) for p in parts[:2])
            count = int(parts[2]) if len(parts) == 3 else None
        except (ValueError, yaml.YAMLError):
            raise ScenarioError(f"--vary {text}: lo, hi must be numbers and n a whole number") from None
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
            raise ScenarioError(f"--vary {text}: lo and hi must be numbers")
        if low > high:
            raise ScenarioError(f"--vary {text}: lo ({low}) is greater than hi ({high})")
        if count is not None and count < 1:
            raise ScenarioError(f"--vary {text}: n must be at least 1")
        return Vary(key, low=float(low), high=float(high), count=count)
    values = []
    for part in split_top_level(raw):
        try:
            values.append(_number_or(yaml.safe_load(part)))
        except yaml.YAMLError:
            values.append(part)
    return Vary(key, values=tuple(values))


def _number_or(value):
    """YAML 1.1 reads 1e-2 as a string; a value that reads as a number is one."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def sample_points(varies: list[Vary], method: str, samples: int | None, seed: int) -> list[dict]:
    """The sweep's points: a full grid, or `samples` random or Latin-hypercube points."""
    if method == "grid":
        grids = [v.grid() for v in varies]
        return [dict(zip((v.key for v in varies), combo)) for combo in itertools.product(*grids)]
    if not samples or samples < 1:
        raise ScenarioError(f"--samples: {method} sampling needs --samples S (at least 1)")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EE9]))
    if method == "random":
        units = rng.random((samples, len(varies)))
    elif method == "lhs":
        from scipy.stats import qmc

        units = qmc.LatinHypercube(d=len(varies), rng=rng).random(samples)
    else:
        raise ScenarioError(f"--sample: expected grid, random or lhs, found '{method}'")
    return [{v.key: v.from_unit(u) for v, u in zip(varies, row)} for row in units]


@dataclass
class SweepPlan:
    """Everything that defines a sweep (its hash guards a folder against mixing two sweeps)."""

    base: dict
    varies: list[Vary]
    points: list[dict]
    replications: int
    seeds: list[int]
    master_seed: int
    days: int | None
    series: bool
    sample: str
    samples: int | None
    kind: str = "sweep"

    @property
    def spec(self) -> dict:
        return {"kind": self.kind, "base_scenario": self.base, "vary": [v.text for v in self.varies],
                "sample": self.sample, "samples": self.samples, "replications": self.replications,
                "master_seed": self.master_seed, "days": self.days, "series": self.series}

    @property
    def spec_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode()).hexdigest()

    def tasks(self) -> Iterator[RunTask]:
        """The runs, made one at a time (the driver never holds them all)."""
        for p, point in enumerate(self.points):
            overrides = tuple(f"{k}={json.dumps(v)}" for k, v in point.items())
            for r in range(self.replications):
                labels = {"point": p, "replication": r, **{PARAM + k: v for k, v in point.items()}}
                yield RunTask(run_id=p * self.replications + r, scenario=self.base, overrides=overrides,
                              seed=self.seeds[r], days=self.days, series=self.series, labels=labels)


def refuse_overlap(keys: list[str], overrides: tuple[str, ...] | list[str], flag: str = "--vary") -> None:
    """A key both fixed by --set and varied would silently lose its --set value: say so instead."""
    fixed = {item.partition("=")[0].strip() for item in overrides}
    for key in keys:
        if key in fixed:
            raise ScenarioError(f"{flag} {key}: this key is also fixed with --set; give it one or the other")


def plan_sweep(scenario: Scenario, vary: list[str], *, replications: int, sample: str = "grid",
               samples: int | None = None, master_seed: int | None = None, days: int | None = None,
               series: bool = False) -> SweepPlan:
    """Parse and check everything before any run: every point must make a valid scenario."""
    if not vary:
        raise ScenarioError("--vary: give at least one key to vary, e.g. --vary market.q=0.01,0.05,0.1")
    if replications < 1:
        raise ScenarioError(f"--replications: expected at least 1, found {replications}")
    base = scenario.model_dump(mode="json")
    varies = [with_type(parse_vary(v), base) for v in vary]
    keys = [v.key for v in varies]
    for key in keys:
        if keys.count(key) > 1:
            raise ScenarioError(f"--vary {key}: the same key is varied twice")
    master = scenario.seed if master_seed is None else master_seed
    points = sample_points(varies, sample, samples, master)
    for v in varies:  # each key once, with a value from its range, names the bad key first
        _check_point(base, {v.key: v.grid()[0] if v.values or v.count else v.low})
    for point in points:
        _check_point(base, point)
    return SweepPlan(base=base, varies=varies, points=points, replications=replications,
                     seeds=derive_seeds(master, replications), master_seed=master, days=days, series=series,
                     sample=sample, samples=samples)


def _check_point(base: dict, point: dict) -> None:
    overrides = [f"{k}={json.dumps(v)}" for k, v in point.items()]
    try:
        scenario_with(base, overrides, source="--vary")
    except ScenarioError as exc:
        message = str(exc).replace("--set ", "--vary ")
        raise ScenarioError(message) from None


# ---------------------------------------------------------------- the folder

class SweepStore:
    """A sweep's folder: spec, one file per run, resumable."""

    def __init__(self, out: Path, plan: SweepPlan, force: bool = False, keep: tuple[Path, ...] = ()) -> None:
        self.out, self.plan = out, plan
        self.runs = out / "runs"
        self.series = out / "series"
        spec_file = out / "spec.json"
        refuse_precious(out, keep)
        if out.exists() and not out.is_dir():
            raise ScenarioError(f"--out {out}: exists and is not a folder")
        if out.is_dir() and any(out.iterdir()):
            if force:
                check_out(out, force=True, keep=keep)  # only a folder Attention Market wrote
                shutil.rmtree(out)
            elif not spec_file.exists():
                raise ScenarioError(f"--out {out}: the folder is not empty and holds no sweep; use another folder "
                                    "or --force to replace it")
            else:
                held = json.loads(spec_file.read_text()).get("spec_sha256")
                if held != plan.spec_hash:
                    raise ScenarioError(
                        f"--out {out}: the folder holds another experiment (a different scenario, parameters, "
                        "sampling, replications, seed, days or series); use another folder, the same command to "
                        "resume it, or --force to replace it")
        try:
            out.mkdir(parents=True, exist_ok=True)
            for leftover in out.rglob(".*.tmp"):  # a write cut short by kill -9 (first: on a full disk it frees room)
                leftover.unlink(missing_ok=True)
            if not spec_file.exists():  # first, so that a folder with runs always says which sweep they are
                atomic_write_bytes(spec_file, json.dumps({"spec_sha256": plan.spec_hash, **plan.spec},
                                                         indent=2).encode() + b"\n")
            mark(out)
            self.runs.mkdir(exist_ok=True)
            if plan.series:
                self.series.mkdir(exist_ok=True)
        except OSError as exc:
            raise cannot_write(out, exc) from None  # a full disk: exit 1 and one line, as during the runs

    def path(self, run_id: int) -> Path:
        return self.runs / f"run-{run_id:07d}.parquet"

    def series_path(self, run_id: int) -> Path:
        return self.series / f"run-{run_id:07d}.parquet"

    def done(self) -> set[int]:
        """Runs already finished successfully, each file checked to hold that very run of this experiment.

        Why: resuming trusts what the folder holds; a file copied or moved onto another run's name, cut
        short, or left by another experiment or an older version would be counted as done and its own run
        lost. Such a file is removed and its run done again, with a line saying so (`self.notices`); failed
        runs are tried again, as before.
        """
        self.expected = {task.run_id: task.digest(self.plan.spec_hash) for task in self.plan.tasks()}
        self.notices: list[str] = []
        finished = set()
        for path in sorted(self.runs.glob("run-*.parquet")):
            name = _RUN_NAME.fullmatch(path.name)
            run_id = int(name[1]) if name else None
            if run_id not in self.expected or path != self.path(run_id):
                self._discard(path, "is no run of this sweep", None)
                continue
            problem, status = self._check(path, run_id)
            if problem is None and status == "ok" and self.plan.series:
                series_problem, _ = self._check(self.series_path(run_id), run_id, series=True)
                if series_problem is not None:
                    problem = f"has its daily series ({self.series_path(run_id).relative_to(self.out)}) " \
                              f"{series_problem}"
            if problem is not None:
                self._discard(path, problem, run_id)
            elif status == "ok":
                finished.add(run_id)
        if self.plan.series:  # a daily table of no run of this sweep would be read as one
            for path in sorted(self.series.glob("run-*.parquet")):
                name = _RUN_NAME.fullmatch(path.name)
                if not name or int(name[1]) not in self.expected or path != self.series_path(int(name[1])):
                    self._discard(path, "is no run of this sweep", None)
        return finished

    def _check(self, path: Path, run_id: int, series: bool = False) -> tuple[str | None, str | None]:
        """(what is wrong with this run's file, or None; the run's status)."""
        import pyarrow.parquet as pq

        if not path.exists():
            return "missing", None
        try:
            handle = pq.ParquetFile(path)
            raw = (handle.schema_arrow.metadata or {}).get(RUN_META)
            meta = json.loads(raw) if raw is not None else None
            columns = ["run_id"] + ([] if series else ["status"])
            table = handle.read(columns=columns).to_pandas()
        except Exception:  # a file cut short, not Parquet, or without the columns of a run
            return "is unreadable or cut short", None
        held = {int(x) for x in table["run_id"].dropna()} if len(table) else set()
        if not isinstance(meta, dict):
            return "carries no run digest (written by hand or by an older version)", None
        if held != {run_id} or meta.get("run_id") != run_id:
            other = meta.get("run_id") if meta.get("run_id") != run_id else sorted(held)
            return f"holds run {other}, not run {run_id}", None
        if meta.get("run") != self.expected[run_id]:
            if meta.get("experiment") != self.plan.spec_hash:
                return "belongs to another experiment", None
            return "holds other parameters or another seed than this run's", None
        if series:
            return None, None
        return None, str(table["status"].iloc[0]) if len(table) == 1 else None

    def _discard(self, path: Path, problem: str, run_id: int | None) -> None:
        """Remove a file that is not what its name says, with a line saying so (its run is done again)."""
        path.unlink(missing_ok=True)
        what = f"run {run_id} is done again" if run_id is not None else "removed"
        self.notices.append(f"{path.relative_to(self.out)} {problem}: {what}")

    def notice_lines(self) -> list[str]:
        """The lines about discarded files, at most `_NOTICES` and one more for the rest."""
        lines = self.notices[:_NOTICES]
        if len(self.notices) > _NOTICES:
            lines.append(f"... and {len(self.notices) - _NOTICES} more run files like these, each run done again")
        return lines

    def _meta(self, run_id: int) -> dict:
        return {"run_id": run_id, "experiment": self.plan.spec_hash, "run": self.expected[run_id]}

    def write(self, row: dict) -> None:
        series = row.pop("_series", None)
        row.pop("traceback", None)
        run_id = row["run_id"]
        if series is not None:
            atomic_write_bytes(self.series_path(run_id), _parquet_bytes(series, self._meta(run_id)))
        atomic_write_bytes(self.path(run_id), _parquet_bytes(pd.DataFrame([row]), self._meta(run_id)))

    def results(self) -> pd.DataFrame:
        """Every run's row, read as Arrow tables (light) and joined once: only this plan's runs, each once."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = []
        for run_id in sorted(self.expected):
            path = self.path(run_id)
            if path.exists():
                table = pq.read_table(path)
                meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != RUN_META}
                tables.append(table.replace_schema_metadata(meta))
        if not tables:
            return pd.DataFrame()
        table = pa.concat_tables(tables, promote_options="permissive").to_pandas()
        return table.sort_values("run_id", ignore_index=True)


def _parquet_bytes(frame: pd.DataFrame, meta: dict) -> bytes:
    """The frame as Parquet, carrying `meta` (which run of which experiment) in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), RUN_META: json.dumps(meta).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def sweep(scenario: Scenario, vary: list[str], *, replications: int, out: Path, sample: str = "grid",
          samples: int | None = None, executor=None, master_seed: int | None = None, days: int | None = None,
          series: bool = False, force: bool = False, keep: tuple[Path, ...] = (),
          progress: Callable[[dict, int, int], None] | None = None) -> tuple[pd.DataFrame, SweepPlan]:
    """Run (or finish) a sweep into `out`; returns one row per run and the plan."""
    plan = plan_sweep(scenario, vary, replications=replications, sample=sample, samples=samples,
                      master_seed=master_seed, days=days, series=series)
    return run_plan(plan, out, executor=executor, force=force, keep=keep, progress=progress), plan


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def run_plan(plan: SweepPlan, out: Path, *, executor=None, force: bool = False, keep: tuple[Path, ...] = (),
             progress: Callable[[dict, int, int], None] | None = None,
             notice: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run (or finish) the runs of a plan into `out`; one row per run.

    `notice` gets each line about a run file found wrong on resume (default: printed on stderr).
    """
    from simulation.experiments.executors import LocalExecutor

    replications = plan.replications
    store = SweepStore(out, plan, force=force, keep=keep)
    done = store.done()
    for line in store.notice_lines():
        (notice or _to_stderr)(line)
    todo = (t for t in plan.tasks() if t.run_id not in done)
    total = len(plan.points) * replications
    if progress is not None:
        progress({"status": "skipped"}, len(done), total)
    executor = executor or LocalExecutor()
    written = set(done)
    for row in executor.run(todo):
        if row["run_id"] in written:
            continue  # a run Dask finished twice (a worker died after it ran): the first good one stands
        store.write(row)
        if row.get("status") == "ok":
            written.add(row["run_id"])
        if progress is not None:
            progress(row, len(written), total)
    results = store.results()
    atomic_write_bytes(out / "results.parquet", results.to_parquet(index=False))
    atomic_write_bytes(out / "results.csv", results.to_csv(index=False, float_format=FLOAT_FORMAT).encode("utf-8"))
    return results
