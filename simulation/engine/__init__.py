"""The engine: how one day of every user is computed.

- `parameters`: the scenario turned, once, into the kernels' parameters (every rename and unit
  conversion happens there);
- `mechanisms`: each per-user rule of the day, stated once, as a scalar function (ODD §7);
- `numerics`: the float32/float64 exponential and logarithm the rules use (vector code);
- `streams`: the counter-based random generator and the Poisson sampler;
- `kernels`: the day's phases as parallel loops over blocks of users, calling the mechanisms;
- `day`: `EngineDay`, the calls to the kernels for one model (buffers, threads, books).

`NUMBA_DISABLE_JIT=1` runs all of it as plain Python, slowly, for a debugger or a coverage tool.
- `warm`: compiles the kernels ahead of a run (`python -m simulation.engine.warm`, done by `make`).

numba keeps the compiled kernels in `$NUMBA_CACHE_DIR`, by default here
`~/.cache/attention-market/numba/<digest>` (under `$XDG_CACHE_HOME` when set): a user folder, so
that the compile of `make` serves every later run. The digest is that of this package's sources:
numba checks a kernel's own file for changes, not the files of the rules it inlines, so an edit
of `mechanisms.py` alone would otherwise leave stale kernels in the cache.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def _cache_folder() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or Path("~/.cache").expanduser()
    sources = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        sources.update(path.name.encode() + b"\0" + path.read_bytes())
    return str(Path(base) / "attention-market" / "numba" / sources.hexdigest()[:16])


# Read by numba when it is imported (and by child processes); set on numba's config too, in case numba
# was imported first. Both before any kernel is decorated or launched.
if not os.environ.get("NUMBA_CACHE_DIR"):
    os.environ["NUMBA_CACHE_DIR"] = _cache_folder()
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep instead of spinning (threads.py)

import numba.core.config as _numba_config  # noqa: E402

_numba_config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
