"""Compile the engine's kernels before a run needs them: `python -m simulation.engine.warm`.

numba compiles a kernel on its first call and keeps it in its disk cache (see
`simulation.engine`). `make` runs this module at set-up, so that a user's first run, a
classroom's first day and CI's first test load the kernels instead of compiling them (about a
minute on a 2-core machine). `run` says when it has to compile, and reports that time apart.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from simulation.engine import kernels

_warm = False

# Two tiny markets that between them call every kernel: a graph and a complete graph, answers short
# of the visitors (so that some are chosen) and in excess, billboards and relations.
_SINKS = [{"name": "social", "kind": "social", "appeal": 0.5, "ad_load": 1.0, "network_effect": 1.0},
          {"name": "email", "kind": "email", "ad_load": 0.5}]
_BRANDS = [{"name": "Relational", "strategy": "relational", "budget_per_day": 5, "cost_per_answer": 1.0},
           {"name": "Billboard", "strategy": "billboard", "budget_per_day": 5}]
_MARKETS = [{"network": {"kind": "barabasi_albert", "m": 2}},
            {"network": {"kind": "complete"}, "relational": {"content_pull": 0.0}}]


def compiled_on_disk() -> bool:
    """Whether numba's cache already holds the day's kernels. True when it cannot tell."""
    try:
        return all(Path(k._cache._cache_file._index_path).exists()
                   for k in (kernels.allocate, kernels.deliver, kernels.word_of_mouth))
    except (AttributeError, OSError):  # numba's cache layout is not public API (and plain Python has none)
        return True


def warm_up() -> float:
    """Run every kernel once in this process (compiling those not on disk); returns the seconds it took."""
    global _warm
    if _warm:
        return 0.0
    from simulation.scenario import Scenario
    from simulation.model import AttentionModel

    start = time.perf_counter()
    for market in _MARKETS:
        config = Scenario.model_validate({"name": "warm-up", "days": 2, "population": {"users": 64},
                                          "sinks": _SINKS, "brands": _BRANDS, **market})
        model = AttentionModel(config, 1)
        model.step()
        model.step()
    _warm = True
    return time.perf_counter() - start


def main() -> int:
    if not compiled_on_disk():
        print("Compiling the engine for this machine (once: about a minute) ...", file=sys.stderr)
    seconds = warm_up()
    print(f"Engine ready ({seconds:.1f} s).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
