"""Fitting sinks' appeals to measured shares of online time.

Each iteration runs the scenario, averages each targeted sink's share of the
targeted sinks' minutes over the last `window` days, and moves its appeal by
`damping x ln(target / simulated)` (a damped fixed point of the logit). The
fitted scenario is written with the original file's comments kept.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.scenario import Scenario, ScenarioError, validate_data
from simulation.runner import run_simulation


@dataclass
class Fit:
    appeals: dict[str, float]
    table: pd.DataFrame  # sink, target, simulated, difference (percentage points)
    iterations: int
    converged: bool
    history: list[float] = field(default_factory=list)  # worst gap (pp) at each iteration


def read_targets(path: Path, scenario: Scenario) -> pd.Series:
    """Target share per sink name (normalised to sum to one) from a CSV with columns sink, share."""
    if not path.is_file():
        raise ScenarioError(f"--targets {path}: no such file")
    try:
        table = pd.read_csv(path, comment="#")
    except Exception as exc:
        raise ScenarioError(f"--targets {path}: cannot read it as CSV ({exc})") from None
    if list(table.columns[:2]) != ["sink", "share"]:
        raise ScenarioError(f"--targets {path}: expected columns sink,share; found {','.join(map(str, table.columns))}")
    names = [s.name for s in scenario.sinks]
    for i, name in enumerate(table["sink"]):
        if name not in names:
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(names)}"
            raise ScenarioError(f"--targets {path}: row {i + 1}: no sink named '{name}' in the scenario ({hint})")
    shares = pd.to_numeric(table["share"], errors="coerce")
    if shares.isna().any() or (shares <= 0).any():
        bad = int(np.flatnonzero(shares.isna() | (shares <= 0))[0]) + 1
        raise ScenarioError(f"--targets {path}: row {bad}: share must be a positive number, found {table['share'][bad - 1]!r}")
    if table["sink"].duplicated().any():
        raise ScenarioError(f"--targets {path}: sink '{table['sink'][table['sink'].duplicated()].iloc[0]}' is listed twice")
    return pd.Series(shares.to_numpy() / shares.sum(), index=table["sink"])


def simulated_shares(scenario: Scenario, targets: pd.Series, *, seed: int, days: int, window: int) -> pd.Series:
    result = run_simulation(scenario, seed, days=days)
    last = result.sinks[result.sinks["day"] > days - window]
    minutes = last.groupby("sink")["minutes"].sum().reindex(targets.index)
    return minutes / minutes.sum()


def fit_appeals(scenario: Scenario, targets: pd.Series, *, seed: int | None = None, days: int | None = None,
                window: int = 90, tolerance: float = 0.1, max_iterations: int = 30, damping: float = 0.7,
                progress: Callable[[int, float], None] | None = None) -> Fit:
    """Appeals that reproduce the target shares within `tolerance` percentage points (or the best found)."""
    days = days or scenario.days
    if window > days:
        raise ScenarioError(f"--window: {window} days is longer than the run ({days} days)")
    seed = scenario.seed if seed is None else seed
    data = scenario.model_dump(mode="json")
    index = {s["name"]: i for i, s in enumerate(data["sinks"])}
    best: tuple[float, dict, pd.Series] | None = None
    history = []
    for iteration in range(1, max_iterations + 1):
        current = validate_data(data, source="calibration")
        simulated = simulated_shares(current, targets, seed=seed, days=days, window=window)
        gap = float((100 * (simulated - targets)).abs().max())
        history.append(gap)
        appeals = {name: data["sinks"][index[name]]["appeal"] for name in targets.index}
        if best is None or gap < best[0]:
            best = (gap, appeals, simulated)
        if progress is not None:
            progress(iteration, gap)
        if gap <= tolerance:
            break
        for name in targets.index:
            step = damping * float(np.log(targets[name] / max(simulated[name], 1e-9)))
            sink = data["sinks"][index[name]]
            sink["appeal"] = round(float(np.clip(sink["appeal"] + step, -20, 20)), 4)
    gap, appeals, simulated = best
    table = pd.DataFrame({"sink": targets.index, "target": 100 * targets.to_numpy(),
                          "simulated": 100 * simulated.to_numpy()})
    table["difference"] = table["simulated"] - table["target"]
    return Fit(appeals=appeals, table=table, iterations=len(history), converged=gap <= tolerance, history=history)


def write_calibrated(source: Path, out: Path, appeals: dict[str, float], note: str) -> None:
    """Copy the scenario file with the sinks' appeals replaced, comments and layout kept (ruamel.yaml)."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # a flow-style sink stays on one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    document = yaml.load(source.read_text(encoding="utf-8"))
    for sink in document["sinks"]:
        if sink["name"] in appeals:
            sink["appeal"] = float(appeals[sink["name"]])
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    text = buffer.getvalue()
    marker = "# calibrated:"
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(marker)]  # the note of a past fit
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("\n".join(lines).rstrip("\n") + f"\n{marker} {note}\n", encoding="utf-8")
    tmp.replace(out)
