"""Output folders: checked before any work, locked while written, written whole or not at all, replaced only if ours.

Every folder Attention Market writes holds a marker file; `--force` replaces a
non-empty folder only when it holds that marker, and never the current folder,
one above it, the home folder, a folder everyone may write in (such as /tmp) or
a folder holding the scenario file.

While a command writes to a target it holds a lock on it (`claim`): an flock on
`.<name>.lock` beside the target, which holds the writer's pid. A second command
aimed at the same target is refused at once. The kernel drops an flock when its
process ends, however it ends (kill -9 included), so the lock of a killed run
never blocks: the next run takes it over and says so.

A folder is written whole in a hidden staging folder beside it (`.<name>-new-*`,
whose marker file its writer keeps flocked) and renamed at the end (`staged`).
A run killed while writing leaves its staging folder; the next claim in the
same parent removes every staging folder whose writer is gone (neither its
marker nor its target's lock held).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from simulation.scenario import ScenarioError

MARKER = ".attention-market"
LOCK_TAG = "attention-market"  # a lock file holds "attention-market <pid>": only such files are ever removed
_MARKER_TEXT = "This folder was written by Attention Market; run.py --force may replace it.\n"
#: The hidden folders `staged` makes beside a target (tempfile.mkdtemp adds 8 characters).
_STAGING = re.compile(r"^\.(?P<name>.+)-(?P<kind>new|old)-[a-z0-9_]{8}$")
#: The marker while it is made (flocked, then renamed to MARKER): a staging folder is marked only once held.
_WRITING = f"{MARKER}.writing"
#: The lock files `claim` makes beside a target.
_LOCK = re.compile(r"^\..+\.lock$")
#: Errors of a write that found no room: a full disk, a quota, a file-size limit.
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


# ---------------------------------------------------------------- checks

def refuse_precious(out: Path, keep: tuple[Path, ...] = ()) -> None:
    """Never the current folder, one above it, the home folder, a shared folder, or a folder holding an input."""
    target = out.resolve()
    here = Path.cwd().resolve()
    reasons = []
    if target == here:
        reasons.append("is the current folder")
    elif target in here.parents:
        reasons.append(f"is a folder above the current folder ({here})")
    if target == Path.home().resolve():
        reasons.append("is your home folder")
    if _shared(target):
        reasons.append("is a folder everyone may write in (like /tmp)")
    if reasons:
        raise ScenarioError(f"--out {out}: {' and '.join(reasons)}; Attention Market never writes into it or "
                            f"replaces it: give a new folder for the results (e.g. {out / 'results'})")
    for path in keep:
        if path.resolve().is_relative_to(target):
            raise ScenarioError(f"--out {out}: holds {path}; give a new folder for the results")


def _shared(folder: Path) -> bool:
    """A folder writable by everyone with the sticky bit (/tmp, /var/tmp, /dev/shm): other people's files live there."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode) and bool(mode & stat.S_ISVTX) and bool(mode & stat.S_IWOTH)


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
        raise cannot_write(out, exc) from None


def mark(folder: Path) -> None:
    (folder / MARKER).write_text(_MARKER_TEXT)


def disk_full(exc: BaseException) -> str | None:
    """One line for a write that found no room (a full disk, a quota, a file-size limit), else None."""
    if not isinstance(exc, OSError) or exc.errno not in DISK_FULL:
        return None
    where = f" writing {exc.filename}" if exc.filename else ""
    if exc.errno == errno.EFBIG:
        return f"file too large{where}: it is over this session's file-size limit (ulimit -f)"
    what = "no space left on device" if exc.errno == errno.ENOSPC else "disk quota exceeded"
    return f"{what}{where}: free some space and run the same command again"


def cannot_write(out: Path, exc: OSError, tail: str = "") -> BaseException:
    """What to raise for a failed write: a full disk stays itself (main says so in one line), else a clear error."""
    if disk_full(exc):
        return exc
    return ScenarioError(f"--out {out}: cannot write there ({exc.strerror or exc}){tail}")


# ---------------------------------------------------------------- the lock

def lock_file(out: Path) -> Path:
    """The lock of a target: `.<name>.lock` beside it."""
    return out.parent / f".{out.name}.lock"


class OutputLock:
    """The lock a command holds on its target until `release` (or the end of a `with` block, or its death).

    `notes` says what taking it cleared: a lock left by a run that was killed, and unfinished folders.
    """

    def __init__(self, target: Path, path: Path, fd: int, notes: list[str]) -> None:
        self.target, self.path, self.fd, self.notes = target, path, fd, notes

    def release(self) -> None:
        """Remove the lock file, then drop the flock (a claimer that opened the old file sees it gone and retries)."""
        if self.fd is None:
            return
        try:
            if _same_file(self.fd, self.path):
                self.path.unlink()
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim(out: Path, keep: tuple[Path, ...] = ()) -> OutputLock:
    """Lock `out` for this process, or refuse at once (exit 2) if another run is writing to it.

    Checks first that `out` is not a folder we never write (`refuse_precious`), so that no lock file is
    made beside one. A lock left by a run that died is taken over, and what interrupted runs left in the
    same parent is removed; `notes` says so.
    """
    refuse_precious(out, keep)
    path = lock_file(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                _flock_soon(fd)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f" (pid {holder})" if holder else ""
                raise ScenarioError(f"--out {out}: another run is writing to {out}{who}; wait until it finishes, "
                                    "or give another folder") from None
            if _same_file(fd, path):
                break
            os.close(fd)  # released and removed while we opened it: take the new one
        previous = _read_pid(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{LOCK_TAG} {os.getpid()}\n".encode(), 0)
    except OSError as exc:
        raise cannot_write(out, exc) from None
    notes = []
    if previous and previous != os.getpid():  # a lock is removed on release: this one's run was killed
        notes.append(f"took over the lock on {out} left by a run (pid {previous}) that was stopped before it "
                     "finished")
    lock = OutputLock(out, path, fd, notes)
    try:
        notes += clear_stale(out)
    except OSError as exc:
        lock.release()
        raise cannot_write(out, exc) from None
    return lock


def _flock_soon(fd: int, tries: int = 10) -> None:
    """Take an exclusive flock, trying for a moment: another run's clean-up may be testing this lock right now."""
    for attempt in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if attempt == tries - 1:
                raise
            time.sleep(0.02)


def _read_pid(fd: int) -> int | None:
    """The pid in one of our lock files ("attention-market 1234"); None in an empty or foreign one."""
    try:
        found = re.fullmatch(rb"attention-market ([0-9]+)\n", os.pread(fd, 64, 0))
    except OSError:
        return None
    return int(found.group(1)) if found else None


def _same_file(fd: int, path: Path) -> bool:
    try:
        mine, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


# ---------------------------------------------------------------- leftovers

def clear_stale(out: Path) -> list[str]:
    """Remove what interrupted runs left beside `out` (whose lock the caller holds); says what it did.

    Staging folders (`.<any name>-new-*`) go when their writer is gone: neither their marker nor their
    target's lock is held. Folders without our marker are never touched (but for one a run was killed
    making: empty, or holding only the marker it was writing). A backup of `out` itself
    (`.<name>-old-*`, left by a run killed between its two renames) is put back if `out` is missing,
    else removed. Lock files no one holds go too.
    """
    notes, removed = [], []
    for entry in sorted(out.parent.iterdir()):
        if entry.name != lock_file(out).name and _LOCK.match(entry.name):
            _remove_lock_if_abandoned(entry)
            continue
        match = _STAGING.match(entry.name)
        if match is None or entry.is_symlink() or not entry.is_dir():
            continue
        if match["kind"] == "new":
            writer_gone = match["name"] == out.name or _free(lock_file(out.parent / match["name"]))
            if writer_gone and _remove_if_abandoned(entry):
                removed.append(entry.name)
        elif match["name"] == out.name and ((entry / MARKER).is_file() or not any(entry.iterdir())):
            try:
                if out.exists():
                    shutil.rmtree(entry)
                    removed.append(entry.name)
                else:
                    entry.rename(out)
                    notes.append(f"put back {out} as it was: a run replacing it was stopped between two renames")
            except OSError:  # another user's, or half removed: it does not block this run
                continue
    if removed:
        notes.append(f"removed {len(removed)} unfinished folder(s) left in {out.parent} by runs that were "
                     f"stopped while writing: {', '.join(removed)}")
    return notes


def _remove_lock_if_abandoned(path: Path) -> None:
    """Remove the lock file of a run that was killed (no one holds its flock, and it carries our tag and a pid)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if _read_pid(fd) is not None and _same_file(fd, path):  # ours: another program's lock is not
            path.unlink()
    except OSError:  # held by a live run, or not ours to remove
        pass
    finally:
        os.close(fd)


def _free(path: Path) -> bool:
    """Whether no live process holds the flock of `path` (a lock file, a marker); a missing file is free."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _remove_if_abandoned(staging: Path) -> bool:
    """Remove a staging folder of ours whose target's lock is free, unless its writer holds its marker's flock.

    A folder without the marker is ours only if a run was killed while making it (nothing in it but the
    marker it was writing).
    """
    marker = staging / MARKER
    try:
        if not marker.is_file() and not {p.name for p in staging.iterdir()} <= {_WRITING}:
            return False  # not ours: leave it
        if not _free(marker) or not _free(staging / _WRITING):
            return False
        shutil.rmtree(staging)
    except OSError:  # another user's, or half removed: it does not block this run
        return False
    return True


def _marked_and_held(folder: Path) -> int:
    """Mark a new folder as ours with its marker already flocked (renamed into place locked); returns the fd."""
    temporary = folder / _WRITING
    fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, _MARKER_TEXT.encode())
        os.rename(temporary, folder / MARKER)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a hidden folder beside `out`; on success it replaces `out` in two renames.

    The staging folder is removed on any failure or interruption; if the process is killed, the next
    `claim` in the same parent removes it. A full disk is raised as itself (main says so in one line).
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=out.parent))
    except OSError as exc:
        raise cannot_write(out, exc) from None
    writer = backup = None
    try:
        os.chmod(staging, 0o777 & ~_umask())  # as any folder the user makes (mkdtemp's 0o700 would stick)
        writer = _marked_and_held(staging)
        yield staging
        if out.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            backup.rmdir()
            out.rename(backup)
        staging.rename(out)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except OSError as exc:
        _put_back(out, backup)
        shutil.rmtree(staging, ignore_errors=True)
        raise cannot_write(out, exc, "; nothing was written") from None
    except BaseException:
        _put_back(out, backup)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if writer is not None:
            os.close(writer)


def _put_back(out: Path, backup: Path | None) -> None:
    """After a failure between the two renames of `staged`: the previous results go back where they were."""
    if backup is not None and backup.exists() and not out.exists():
        backup.rename(out)
