"""A disk cache of built graphs, so that a sweep does not grow the same large graph in every run.

A graph is stored as its CSR arrays (indptr, indices) in an uncompressed `.npz` named by a sha256
of everything that decides it: generator kind, the parameters that kind reads, number of users,
the seed given to the builder, CACHE_VERSION and numpy's version (its generators' streams may
change between releases). Files are written to a temporary name and renamed,
so parallel workers never read half a file; a file that cannot be read is treated as missing.

The folder is `$ATTENTION_MARKET_GRAPH_CACHE`, or `~/.cache/attention-market/graphs` when that is
unset; the value "off" or "0" turns the cache off. Nothing is ever deleted: remove the folder to
reclaim the space.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

#: Bump whenever a direct builder (or DIRECT_BUILD_FROM) changes which graph a seed gives.
CACHE_VERSION = 1

ENVIRONMENT = "ATTENTION_MARKET_GRAPH_CACHE"
DEFAULT_FOLDER = Path("~/.cache/attention-market/graphs")
_OFF = {"off", "0"}


def cache_folder() -> Path | None:
    """The folder graphs are cached in, or None when the cache is off."""
    value = os.environ.get(ENVIRONMENT, "").strip()
    if value.lower() in _OFF:
        return None
    return Path(value or DEFAULT_FOLDER).expanduser()


def cache_key(kind: str, params: Mapping[str, int | float], users: int, seed: int) -> str:
    """A hex sha256 naming the graph that `kind` with `params` builds for `users` from `seed`."""
    described = {"version": CACHE_VERSION, "numpy": np.__version__, "kind": kind, "params": dict(params),
                 "users": int(users), "seed": int(seed)}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def load(key: str, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached (indptr, indices) of graph `key` on `n` nodes, or None if absent, off or unreadable."""
    folder = cache_folder()
    if folder is None:
        return None
    path = folder / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key or int(stored["n"]) != n:
                return None
            indptr, indices = stored["indptr"], stored["indices"]
    except Exception:  # missing, truncated, corrupt or foreign: rebuild (and overwrite) it
        return None
    return (indptr, indices) if _well_formed(n, indptr, indices) else None


def store(key: str, n: int, indptr: np.ndarray, indices: np.ndarray) -> Path | None:
    """Save graph `key` atomically; returns its path, or None when the cache is off or not writable."""
    folder = cache_folder()
    if folder is None:
        return None
    path = folder / f"{key}.npz"
    temporary = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(folder)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{key[:16]}-", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            np.savez(file, key=np.array(key), n=np.array(n), indptr=indptr, indices=indices)
        os.chmod(temporary, 0o644 & ~_umask())  # readable like any file the user writes (mkstemp makes 0600)
        os.replace(temporary, path)
    except OSError as exc:  # a full disk or a read-only folder costs a rebuild next time, nothing more
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        warnings.warn(f"graph cache: cannot write {path} ({exc}); set {ENVIRONMENT}=off to skip the cache",
                      RuntimeWarning, stacklevel=2)
        return None
    return path


def _remove_stale_temporaries(folder: Path, age: float = 3600.0) -> None:
    """Temporary files over an hour old were left by a writer that was killed: remove them."""
    now = time.time()
    for leftover in folder.glob(".*.tmp"):
        try:
            if now - leftover.stat().st_mtime > age:
                leftover.unlink()
        except OSError:
            pass  # another process removed or replaced it


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _well_formed(n: int, indptr: np.ndarray, indices: np.ndarray) -> bool:
    """Whether the arrays are a CSR structure on n nodes (cheap checks that catch a damaged file)."""
    if indptr.ndim != 1 or indices.ndim != 1 or indptr.size != n + 1:
        return False
    if not (np.issubdtype(indptr.dtype, np.integer) and np.issubdtype(indices.dtype, np.integer)):
        return False
    if indptr[0] != 0 or indptr[-1] != indices.size or np.any(np.diff(indptr) < 0):
        return False
    return indices.size == 0 or (int(indices.min()) >= 0 and int(indices.max()) < n)
