"""How much memory a scenario needs, checked before anything is built."""

from __future__ import annotations

from simulation.scenario import SINK_KINDS, Scenario, ScenarioError, SinkLaunch
from simulation.model.network import DIRECT_BUILD_FROM, DIRECT_KINDS
from simulation.model import AGENT_VIEW_LIMIT

# Bytes per user, measured with benchmarks/throughput.py (tracemalloc) and rounded up.
_PER_SINK = 4 * 6  # uint8 slots kept, float32 temporaries of the day
_PER_BRAND = 31 + 4 * 10  # state kept, temporaries of the day
_NETWORKX_PER_NEIGHBOUR = 300  # a networkx graph before conversion
_CSR_PER_NEIGHBOUR = 8 + 4 * 8  # kept, and the direct builder's arrays
_AGENT_VIEW = 300


def estimate_bytes(scenario: Scenario, users: int | None = None) -> int:
    """Peak bytes of one run (a generous estimate)."""
    n = users or scenario.population.users
    sinks = len(scenario.sinks) + sum(isinstance(e, SinkLaunch) for e in scenario.events) + len(scenario.brands)
    per_user = 40 + 4 * len(SINK_KINDS) + _PER_SINK * sinks + _PER_BRAND * len(scenario.brands)
    net = scenario.network
    degree = {"barabasi_albert": 2 * net.m, "watts_strogatz": net.k, "erdos_renyi": net.mean_degree,
              "ring": 2, "complete": 0, "file": 0}[net.kind]
    direct = net.kind in DIRECT_KINDS and n >= DIRECT_BUILD_FROM
    per_user += degree * (_CSR_PER_NEIGHBOUR if direct else _NETWORKX_PER_NEIGHBOUR + 8)
    views = scenario.population.agent_views
    if views or (views is None and n <= AGENT_VIEW_LIMIT):
        per_user += _AGENT_VIEW
    return int(per_user * n + 50e6)


def available_bytes() -> int | None:
    """Memory available now (Linux /proc/meminfo), or None where unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(scenario: Scenario, users: int | None = None) -> int:
    """Refuse a scenario that would not fit in this machine's free memory; returns the estimate."""
    need = estimate_bytes(scenario, users)
    free = available_bytes()
    if free is not None and need > 0.9 * free:
        n = users or scenario.population.users
        raise ScenarioError(
            f"population.users: {n:,} users on a {scenario.network.kind} graph need about {need / 1e9:.1f} GB, "
            f"more than the {free / 1e9:.1f} GB free on this machine; use fewer users"
            + (" or a generated graph (barabasi_albert, watts_strogatz or erdos_renyi are built without networkx "
               "from 50,000 users)" if scenario.network.kind not in DIRECT_KINDS else ""))
    return need
