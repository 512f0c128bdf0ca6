"""The social graph: networkx generators or a file, converted once to CSR.

The daily step never walks edges in Python: the engine's word-of-mouth kernel walks
the `Neighbourhood`'s sorted neighbour lists (or, for the complete graph, uses sums
with no edges at all).
"""

from __future__ import annotations

import logging
import random
from array import array
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

from simulation.model import graph_cache
from simulation.scenario import NetworkConfig, ScenarioError


#: From this many users on, barabasi_albert, watts_strogatz and erdos_renyi graphs are built by the
#: direct array builders below instead of networkx (same model, same distribution of graphs, another
#: random stream; a fraction of the time and memory), and kept in the disk cache (graph_cache).
#: Changing it changes which graph a seed gives: bump graph_cache.CACHE_VERSION with it.
DIRECT_BUILD_FROM = 50_000
DIRECT_KINDS = ("barabasi_albert", "watts_strogatz", "erdos_renyi")


class Neighbourhood:
    """Who listens to whom: sorted neighbour lists (CSR), or the complete graph without edges."""

    def __init__(self, n: int, adjacency: sp.csr_array | None):
        self.n = n
        self.complete = adjacency is None
        if self.complete:
            self.degree = np.full(n, n - 1, dtype=np.int32)
            self.indptr = self.indices = None
            return
        adjacency.sort_indices()  # neighbours in increasing order: gathers then walk memory forward (~1.7x faster)
        self._set_csr(adjacency.indptr, adjacency.indices)

    @classmethod
    def from_csr(cls, n: int, indptr: np.ndarray, indices: np.ndarray) -> Neighbourhood:
        """A graph from CSR arrays whose rows are already sorted (as the graph cache stores them)."""
        net = cls.__new__(cls)
        net.n, net.complete = n, False
        net._set_csr(indptr, indices)
        return net

    def _set_csr(self, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.degree = np.diff(indptr).astype(np.int32)
        index = np.int32 if indices.size < 2**31 else np.int64
        self.indptr = indptr.astype(index, copy=False)
        self.indices = indices.astype(index, copy=False)

    def adjacency(self) -> sp.csr_array | None:
        """The graph as a sparse 0/1 matrix (for drawing and tests; the engine walks the lists); None if complete."""
        if self.complete:
            return None
        return sp.csr_array((np.ones(self.indices.size, dtype=np.int8), self.indices, self.indptr),
                            shape=(self.n, self.n))

    @property
    def edges(self) -> int:
        return self.n * (self.n - 1) // 2 if self.complete else int(self.indices.size // 2)

    def to_networkx(self) -> nx.Graph:
        """The graph as networkx (for drawing); only sensible for small graphs."""
        if self.complete:
            return nx.complete_graph(self.n)
        graph = nx.Graph()
        graph.add_nodes_from(range(self.n))
        rows = np.repeat(np.arange(self.n), self.degree)
        graph.add_edges_from(zip(rows.tolist(), self.indices.tolist()))
        return graph

    @property
    def nbytes(self) -> int:
        if self.complete:
            return self.degree.nbytes
        return self.indices.nbytes + self.indptr.nbytes + self.degree.nbytes


def build_network(config: NetworkConfig, users: int, rng: np.random.Generator) -> Neighbourhood:
    """Build the graph the scenario asks for, with a seed drawn from the model's generator (with a graph
    file, the file's nodes are the users, whatever population.users says: load_scenario checks the two)."""
    seed = int(rng.integers(2**32))
    kind = config.kind
    if kind == "complete":
        return Neighbourhood(users, None)
    if kind == "barabasi_albert" and config.m >= users:
        raise ScenarioError(f"network.m: barabasi_albert needs m < users, found m={config.m} for {users} users")
    if kind == "watts_strogatz" and config.k >= users:
        raise ScenarioError(f"network.k: watts_strogatz needs k < users, found k={config.k} for {users} users")
    if kind in DIRECT_KINDS and users >= DIRECT_BUILD_FROM:
        return _build_direct(config, users, seed)
    if kind == "file":
        graph = read_graph_file(Path(config.path))
    elif kind == "barabasi_albert":
        graph = nx.barabasi_albert_graph(users, config.m, seed=seed)
    elif kind == "watts_strogatz":
        graph = nx.watts_strogatz_graph(users, config.k, config.rewire, seed=seed)
    elif kind == "erdos_renyi":
        graph = nx.fast_gnp_random_graph(users, _edge_probability(config, users), seed=seed)
    elif kind == "ring":
        graph = nx.cycle_graph(users)
    else:  # pragma: no cover - the schema lists every kind
        raise ScenarioError(f"network.kind: unknown generator '{kind}'")
    return from_networkx(graph)


def _edge_probability(config: NetworkConfig, users: int) -> float:
    """erdos_renyi: the probability of each pair that gives `mean_degree` neighbours on average."""
    return min(1.0, config.mean_degree / max(users - 1, 1))


def _build_direct(config: NetworkConfig, users: int, seed: int) -> Neighbourhood:
    """A large generated graph from the disk cache, or built straight into arrays and cached."""
    kind = config.kind
    params = {"barabasi_albert": {"m": int(config.m)},
              "watts_strogatz": {"k": int(config.k), "rewire": float(config.rewire)},
              "erdos_renyi": {"mean_degree": float(config.mean_degree)}}[kind]
    key = graph_cache.cache_key(kind, params, users, seed)
    cached = graph_cache.load(key, users)
    if cached is not None:
        return Neighbourhood.from_csr(users, *cached)
    if kind == "barabasi_albert":
        adjacency = barabasi_albert_csr(users, config.m, seed)
    elif kind == "watts_strogatz":
        adjacency = watts_strogatz_csr(users, config.k, config.rewire, seed)
    else:
        adjacency = erdos_renyi_csr(users, _edge_probability(config, users), seed)
    net = Neighbourhood(users, adjacency)
    graph_cache.store(key, users, net.indptr, net.indices)
    return net


def barabasi_albert_csr(n: int, m: int, seed: int) -> sp.csr_array:
    """Preferential attachment as `networkx.barabasi_albert_graph` grows it, straight into CSR arrays.

    A star of m + 1 nodes, then each new node links to m distinct nodes drawn
    uniformly from the list of all edge ends so far (so in proportion to degree).
    """
    draw = random.Random(seed).random
    ends = array("i", [0] * m + list(range(1, m + 1)))  # the star's edge ends
    sources = array("i", [0] * m)
    targets = array("i", range(1, m + 1))
    for source in range(m + 1, n):
        size = len(ends)
        chosen: set[int] = set()
        while len(chosen) < m:
            chosen.add(ends[int(draw() * size)])
        sources.extend([source] * m)
        targets.extend(chosen)
        ends.extend(chosen)
        ends.extend([source] * m)
    del ends
    u = np.frombuffer(sources, dtype=np.int32)
    v = np.frombuffer(targets, dtype=np.int32)
    return _symmetric_csr(n, u, v)


def watts_strogatz_csr(n: int, k: int, p: float, seed: int) -> sp.csr_array:
    """A small world as `networkx.watts_strogatz_graph` makes it, with numpy instead of a loop per edge.

    A ring lattice joins each node u to u + 1 .. u + k//2; each of these edges, in networkx's order
    (by distance, then by node), is rewired with probability p to (u, w), w uniform among the nodes
    not yet joined to u (skipped when u is joined to everyone). Here all rewirings draw at once, in
    rounds: a draw that would make a self-loop or an edge of the graph as rewired so far (lattice
    edges not yet rewired, new edges) is drawn again in the next round, and of two rewirings that
    draw the same new edge the earlier in networkx's order keeps it. networkx checks each draw
    against the graph of the earlier rewirings only: the two differ only in which rare collisions
    are redrawn (about k/n of the draws), not in the degree law or the edge count n * (k//2).
    """
    if k > n:
        raise ValueError(f"watts_strogatz needs k <= n, found k={k}, n={n}")
    if k == n:  # networkx returns the complete graph
        u, v = np.triu_indices(n, 1)
        return _symmetric_csr(n, u.astype(np.int32), v.astype(np.int32))
    rng = np.random.default_rng(seed)
    half = k // 2
    steps = n * half  # rewiring step e handles the lattice edge (e % n, (e % n + e // n + 1) % n)
    index = np.int32 if steps < 2**31 else np.int64
    target = np.empty(steps, dtype=np.int32)
    ring = np.arange(n, dtype=np.int32)
    for j in range(1, half + 1):
        target[(j - 1) * n:j * n] = np.roll(ring, -j)
    pending = np.flatnonzero(rng.random(steps, dtype=np.float32) < p).astype(index)
    done = np.zeros(steps, dtype=bool)  # rewired away (its lattice edge is gone)
    taken = np.empty(0, dtype=np.int64)  # the new edges, as sorted keys low * n + high
    gain = np.zeros(n, dtype=np.int32)  # degree change of each node so far
    while pending.size:
        u = (pending % n).astype(np.int32)
        w = rng.integers(0, n, size=pending.size, dtype=np.int32)
        ok = w != u
        # is (u, w) a lattice edge not rewired yet? Step (d - 1) * n + u joins u and u + d.
        d = (w.astype(np.int64) - u) % n
        lattice = np.where(d <= half, (d - 1) * n + u, np.where(n - d <= half, (n - d - 1) * n + w, -1))
        del d
        on_lattice = lattice >= 0
        ok &= ~(on_lattice & ~done[np.where(on_lattice, lattice, 0)])
        del lattice, on_lattice
        keys = np.minimum(u, w).astype(np.int64) * n + np.maximum(u, w)
        ok &= ~_in_sorted(keys, taken)
        fresh = np.flatnonzero(ok)
        del ok
        accepted = fresh[_first_of_each(keys[fresh])]  # a new edge drawn twice: the earliest step wins
        del fresh
        steps_done = pending[accepted]
        gain += np.bincount(w[accepted], minlength=n).astype(np.int32)
        gain -= np.bincount(target[steps_done], minlength=n).astype(np.int32)
        target[steps_done] = w[accepted]
        done[steps_done] = True
        taken = _merge_sorted(taken, np.sort(keys[accepted]))
        left = np.ones(pending.size, dtype=bool)
        left[accepted] = False
        pending, u = pending[left], u[left]
        del keys, w, accepted, steps_done, left
        full = gain[u] + 2 * half >= n - 1  # joined to everyone: networkx skips the rewiring
        pending = pending[~full]
    del done, taken, gain, pending
    sources = np.tile(ring, half)
    del ring
    return _symmetric_csr(n, sources, target)


def erdos_renyi_csr(n: int, p: float, seed: int) -> sp.csr_array:
    """G(n, p) as `networkx.fast_gnp_random_graph` makes it: each pair joined with probability p.

    The number of edges is Binomial(n(n-1)/2, p) and, given it, the set of edges is uniform: draw
    that many pairs, drop self-pairs and repeats, and draw the missing ones until the count is met.
    """
    rng = np.random.default_rng(seed)
    pairs = n * (n - 1) // 2
    if p <= 0 or pairs == 0:
        return _symmetric_csr(n, np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32))
    if p >= 1:
        u, v = np.triu_indices(n, 1)
        return _symmetric_csr(n, u.astype(np.int32), v.astype(np.int32))
    count = int(rng.binomial(pairs, p))
    keys = np.empty(0, dtype=np.int64)  # the edges so far, as sorted keys low * n + high
    while keys.size < count:
        ends = rng.integers(0, n, size=(2, count - keys.size), dtype=np.int32)
        low, high = ends.min(axis=0), ends.max(axis=0)
        del ends
        new = low.astype(np.int64) * n + high
        new = _distinct_sorted(new[low != high])
        del low, high
        keys = _merge_sorted(keys, new[~_in_sorted(new, keys)])
        del new
    u = (keys // n).astype(np.int32)
    v = (keys % n).astype(np.int32)
    del keys
    return _symmetric_csr(n, u, v)


def _in_sorted(values: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """Which of `values` are in the sorted array `sorted_values`."""
    if sorted_values.size == 0:
        return np.zeros(values.shape, dtype=bool)
    at = np.searchsorted(sorted_values, values)
    at[at == sorted_values.size] = 0
    return sorted_values[at] == values


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (np.unique without its slow hash path for large int64 arrays)."""
    values = np.sort(values)
    keep = np.ones(values.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _first_of_each(values: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct value, in increasing order of position."""
    ordered = np.sort(values)
    repeated = _distinct_sorted(ordered[1:][ordered[1:] == ordered[:-1]])  # usually few or none
    del ordered
    keep = np.ones(values.size, dtype=bool)
    if repeated.size:
        shared = np.flatnonzero(_in_sorted(values, repeated))
        keep[shared] = False
        order = np.argsort(values[shared], kind="stable")
        ordered = values[shared][order]
        first = np.ones(shared.size, dtype=bool)
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
        keep[shared[order[first]]] = True
    return np.flatnonzero(keep)


def _merge_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The union of two sorted arrays with no value in common, sorted."""
    if a.size == 0:
        return b
    return np.insert(a, np.searchsorted(a, b), b)


def _symmetric_csr(n: int, u: np.ndarray, v: np.ndarray) -> sp.csr_array:
    """CSR adjacency of the undirected simple graph with edges (u[i], v[i])."""
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    adjacency = sp.coo_array((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n, n))
    del rows, cols
    return adjacency.tocsr()  # a counting sort in C++, int32 indices while they fit, sorted rows


def from_networkx(graph: nx.Graph) -> Neighbourhood:
    """CSR adjacency of an undirected simple graph whose nodes are 0..n-1."""
    n = graph.number_of_nodes()
    adjacency = nx.to_scipy_sparse_array(graph, nodelist=range(n), dtype=np.float32, format="csr")
    adjacency = sp.csr_array(adjacency)
    adjacency.setdiag(0)
    adjacency.eliminate_zeros()
    adjacency.data[:] = 1.0
    adjacency.indices = adjacency.indices.astype(np.int32)
    adjacency.indptr = adjacency.indptr.astype(np.int64)
    return Neighbourhood(n, adjacency)


def read_graph_file(path: Path) -> nx.Graph:
    """An edge list ('u v' a line, '#' comments) or GraphML; nodes renumbered 0..n-1 in file order.

    Self-loops are dropped with a warning (a user is not their own neighbour; a node that had only a
    self-loop stays, without neighbours); a graph left with fewer than 2 nodes or without edges is a
    ScenarioError. Anything but a regular file (a device, a pipe) is refused before it is opened.
    """
    from simulation.scenario.loading import check_regular_file

    check_regular_file(path, "graph file", key="network.path")
    try:
        if path.suffix.lower() in (".graphml", ".xml"):
            graph = nx.read_graphml(path)
        else:
            graph = nx.read_edgelist(path, nodetype=str, data=False, comments="#")
    except Exception as exc:  # networkx raises many kinds of errors for malformed files
        raise ScenarioError(f"{path}: network.path: cannot read the graph ({type(exc).__name__}: {exc})") from None
    graph = nx.Graph(graph)  # undirected, no parallel edges
    loops = list(nx.selfloop_edges(graph))
    if loops:
        graph.remove_edges_from(loops)
        _warn_once(str(path), f"warning: {path}: network.path: {_count(len(loops), 'self-loop')} dropped (a user is "
                              f"not their own neighbour), e.g. '{loops[0][0]} {loops[0][1]}'")
    if graph.number_of_nodes() < 2:
        hint = ""
        if path.suffix.lower() not in (".graphml", ".xml") and "," in path.read_text(errors="replace")[:10_000]:
            hint = " (an edge list has one 'u v' pair a line, separated by spaces or tabs, not commas)"
        raise ScenarioError(f"{path}: network.path: expected a graph of at least 2 nodes, "
                            f"found {graph.number_of_nodes()}{hint}")
    if graph.number_of_edges() == 0:
        dropped = f" once its {_count(len(loops), 'self-loop')} are dropped" if loops else ""
        raise ScenarioError(f"{path}: network.path: expected a graph with edges (word of mouth flows along them), "
                            f"found {graph.number_of_nodes():,} nodes and no edge{dropped}")
    return nx.convert_node_labels_to_integers(graph, ordering="default")


_log = logging.getLogger(__name__)
_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    """Say `message` on stderr once per process (a comparison reads the same file for every run)."""
    if key not in _warned:
        _warned.add(key)
        _log.warning(message)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
