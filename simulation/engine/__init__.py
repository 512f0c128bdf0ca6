"""The engine: how one day of every user is computed.

- `parameters`: the scenario turned, once, into the kernels' parameters (every rename and unit
  conversion happens there);
- `mechanisms`: each per-user rule of the day, stated once, as a scalar function (ODD §7);
- `numerics`: the float32/float64 exponential and logarithm the rules use (vector code);
- `streams`: the counter-based random generator and the Poisson sampler;
- `kernels`: the day's phases as parallel loops over blocks of users, calling the mechanisms;
- `day`: `EngineDay`, the calls to the kernels for one model (buffers, threads, books);
- `threads`: how many threads each phase runs on, chosen by the clock;
- `inventory`: how bought impressions are spread over the sinks' ad inventory (§7.5);
- `jit`: numba's decorators as the engine uses them, and two machine operations numba lacks;
- `warm`: compiles the kernels ahead of a run (`python -m simulation.engine.warm`, done by `make`).

`NUMBA_DISABLE_JIT=1` runs all of it as plain Python, slowly, for a debugger or a coverage tool.

numba keeps the compiled kernels in `<folder>/<digest>`, the folder being `$NUMBA_CACHE_DIR` if set,
else `~/.cache/attention-market/numba` (under `$XDG_CACHE_HOME` when set): a user folder, so that
the compile of `make` serves every later run, in this clone or a fresh one. The digest is that of
this package's sources (`jit._EngineCacheLocator` keys numba's cache by it): numba checks a
kernel's own file, by path and modification time, not the files of the rules it inlines, so an
edit of `mechanisms.py` alone would otherwise leave stale kernels in the cache.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def _digest() -> str:
    sources = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        sources.update(path.name.encode() + b"\0" + path.read_bytes())
    return sources.hexdigest()[:16]


def _cache_folder() -> str:
    """<NUMBA_CACHE_DIR or ~/.cache/attention-market/numba>/<digest>, made writable or else in the temp folder.

    Never numba's own fallback, `__pycache__` beside the sources, which the digest does not protect.
    """
    base = os.environ.get("ATTENTION_MARKET_NUMBA_CACHE") or os.environ.get("NUMBA_CACHE_DIR")
    if not base:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path("~/.cache").expanduser()) / "attention-market" / "numba"
    digest = _digest()
    folder = Path(base) / digest
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"attention-market-numba-{os.getuid()}" / digest
        folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


# Read by numba when it is imported (and by child processes); set on numba's config too, in case numba
# was imported first. Both before any kernel is decorated or launched. Child processes inherit the
# folder's parent in ATTENTION_MARKET_NUMBA_CACHE, so that they do not nest a second digest.
_FOLDER = _cache_folder()
os.environ["ATTENTION_MARKET_NUMBA_CACHE"] = str(Path(_FOLDER).parent)
os.environ["NUMBA_CACHE_DIR"] = _FOLDER
# Idle OpenMP threads sleep instead of spinning (threads.py). It acts only if the OpenMP runtime has not been
# loaded yet (a notebook that imported another OpenMP user first keeps that one's setting), for this process
# and its children; with TBB installed, numba prefers TBB and it does not matter.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba.core.config as _numba_config  # noqa: E402

_numba_config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
