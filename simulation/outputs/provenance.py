"""What was run: the scenario file and its SHA-256, every override, days, seeds and the engine.

Every report, summary.json, comparison.json and sweep.json carries this record,
and every report opens its "What was run" section with `run_lines`, so a
reader can always tell the runs behind a figure from the scenario as written.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from simulation.scenario import LoadedScenario, Scenario


def overrides_hash(overrides: tuple[str, ...] | list[str]) -> str:
    """A short hash of the overrides, in order (empty when there are none): part of default folder names."""
    if not overrides:
        return ""
    return hashlib.sha256("\n".join(overrides).encode("utf-8")).hexdigest()[:8]


def engine() -> dict:
    """The code that ran: package version, digest of the engine's sources, git commit when in a checkout."""
    from simulation.engine import _digest

    try:
        version = metadata.version("attention-market")
    except metadata.PackageNotFoundError:
        version = None
    commit = None
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        try:
            done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                  text=True, timeout=5)
            commit = done.stdout.strip() or None
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            if commit and dirty:
                commit += " (with uncommitted changes)"
        except (OSError, subprocess.SubprocessError):
            commit = None
    return {"attention_market": version, "engine_digest": _digest(), "git_commit": commit,
            "python": platform.python_version()}


def record(loaded: LoadedScenario | None, scenario: Scenario, *, days: int, seeds: list[int],
           overrides: tuple[str, ...] | list[str] | None = None) -> dict:
    """The record of what was run, for the JSON files."""
    overrides = list(loaded.overrides if loaded and overrides is None else overrides or [])
    return {"scenario_file": str(loaded.path) if loaded else None,
            "scenario_sha256": loaded.sha256 if loaded else None,
            "scenario_name": scenario.name,
            "overrides": overrides,
            "overrides_hash": overrides_hash(overrides) or None,
            "days": days,
            "seeds": seeds,
            "engine": engine()}


def run_lines(what: dict, *, extra: list[str] = ()) -> list[str]:
    """The report's 'What was run' section, in Markdown."""
    engine_ = what["engine"]
    source = (f"`{what['scenario_file']}` (SHA-256 `{what['scenario_sha256'][:16]}...`)" if what["scenario_file"]
              else f"the scenario `{what['scenario_name']}` given in Python (no file)")
    overrides = what["overrides"]
    seeds = what["seeds"]
    seed_text = (f"seed {seeds[0]}" if len(seeds) == 1 else
                 f"{len(seeds)} seeds ({', '.join(str(s) for s in seeds[:3])}{', ...' if len(seeds) > 3 else ''}; "
                 "all in the JSON record)")
    code = f"Attention Market {engine_['attention_market']}, engine `{engine_['engine_digest']}`"
    if engine_.get("git_commit"):
        code += f", commit `{engine_['git_commit']}`"
    lines = ["## What was run", "",
             f"- Scenario: {source}.",
             "- Overrides: " + (", ".join(f"`{o}`" for o in overrides) if overrides else "none (the file as written)")
             + ".",
             f"- Days: {what['days']}; {seed_text}.",
             *extra,
             f"- Code: {code}, Python {engine_['python']}.", ""]
    if overrides:
        lines += ["The scenario's own description was written for the file as written; the overrides above "
                  "change it, and every figure of this report comes from the overridden scenario.", ""]
    return lines
