"""Output folders: checked before any work, written whole or not at all, replaced only if ours.

Every folder Attention Market writes holds a marker file; `--force` replaces a
non-empty folder only when it holds that marker, and never the current folder,
one above it, the home folder or a folder holding the scenario file.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from simulation.scenario import ScenarioError

MARKER = ".attention-market"


def refuse_precious(out: Path, keep: tuple[Path, ...] = ()) -> None:
    """Never the current folder, one above it, the home folder, or a folder holding an input."""
    target = out.resolve()
    here = Path.cwd().resolve()
    if target == here or target in here.parents or target == Path.home().resolve():
        raise ScenarioError(f"--out {out}: is the current folder, the home folder or a folder above; "
                            "give a new folder for the results")
    for path in keep:
        if path.resolve().is_relative_to(target):
            raise ScenarioError(f"--out {out}: holds {path}; give a new folder for the results")


def check_out(out: Path, force: bool, keep: tuple[Path, ...] = ()) -> None:
    """Refuse, before any work, an output folder we must not write into or replace."""
    refuse_precious(out, keep)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ScenarioError(f"--out {out}: the folder is not empty; use --force to replace it")
        if not (out / MARKER).exists():
            raise ScenarioError(f"--out {out}: the folder is not empty and was not written by Attention Market "
                                f"(no {MARKER} file); --force replaces only such folders: remove it yourself "
                                "or give another folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkdtemp(prefix=f".{out.name}-probe-", dir=out.parent))
        probe.rmdir()
    except OSError as exc:
        raise ScenarioError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


def mark(folder: Path) -> None:
    (folder / MARKER).write_text("This folder was written by Attention Market; run.py --force may replace it.\n")


@contextmanager
def staged(out: Path):
    """Yield a hidden folder beside `out`; on success it replaces `out` in two renames."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=out.parent))
    except OSError as exc:
        raise ScenarioError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    try:
        mark(staging)
        yield staging
        backup = None
        if out.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            backup.rmdir()
            out.rename(backup)
        staging.rename(out)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ScenarioError(f"--out {out}: cannot write there ({exc.strerror or exc}); nothing was written") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
