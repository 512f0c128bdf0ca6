"""Graphs: generators seeded from the model, files, and the edge-free complete graph."""

import networkx as nx
import numpy as np
import pytest

from simulation.scenario import NetworkConfig, Scenario
from simulation.model import AttentionModel
from simulation.model.network import Neighbourhood, build_network, from_networkx
from tests.conftest import small_data


@pytest.fixture(autouse=True)
def _no_graph_cache(monkeypatch):
    """These tests exercise the builders: no graph comes from, or goes to, the disk cache."""
    monkeypatch.setenv("ATTENTION_MARKET_GRAPH_CACHE", "off")


@pytest.mark.parametrize("kind,degree", [("barabasi_albert", None), ("watts_strogatz", 6), ("ring", 2), ("complete", 199)])
def test_generators(kind, degree):
    net = build_network(NetworkConfig(kind=kind), 200, np.random.default_rng(0))
    assert net.n == 200
    if degree is not None:
        assert net.degree.mean() == degree and net.edges == 200 * degree // 2
    else:
        assert net.degree.min() >= 3 and net.degree.max() > 3 * net.degree.mean()  # scale-free hubs


def test_same_generator_seed_same_graph_different_seed_differs():
    cfg = NetworkConfig(kind="barabasi_albert")
    a = nx.to_edgelist(build_network(cfg, 300, np.random.default_rng(5)).to_networkx())
    b = nx.to_edgelist(build_network(cfg, 300, np.random.default_rng(5)).to_networkx())
    c = nx.to_edgelist(build_network(cfg, 300, np.random.default_rng(6)).to_networkx())
    assert sorted(a) == sorted(b) and sorted(a) != sorted(c)


def test_the_complete_graph_without_edges_hears_what_the_explicit_one_does(tmp_path):
    """The engine's complete graph (column sums, no edges) and the same graph written as edges: the same run."""
    users = 60
    (tmp_path / "k.txt").write_text("".join(f"{i} {j}\n" for i, j in nx.complete_graph(users).edges()))
    runs = []
    for network in ({"kind": "complete"}, {"kind": "file", "path": str(tmp_path / "k.txt")}):
        model = AttentionModel(Scenario.model_validate(small_data(days=12, population={"users": users},
                                                                  network=network)))
        for _ in range(model.days):
            model.step()
        runs.append(model.population)
    implicit, explicit = runs
    for name in ("slots", "adopted", "purchases", "reached", "fan"):
        np.testing.assert_array_equal(getattr(implicit, name), getattr(explicit, name), err_msg=name)
    for name in ("awareness", "trust", "fatigue", "savviness"):
        np.testing.assert_allclose(getattr(implicit, name), getattr(explicit, name), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


def test_edge_list_and_graphml_files(tmp_path):
    (tmp_path / "g.txt").write_text("# a triangle and a tail\na b\nb c\nc a\nc d\n")
    graph = nx.path_graph(5)
    nx.write_graphml(graph, tmp_path / "g.graphml")
    for name, n, edges in (("g.txt", 4, 4), ("g.graphml", 5, 4)):
        data = small_data(network={"kind": "file", "path": str(tmp_path / name)}, events=[], days=2,
                          population={})  # the graph's nodes are the users
        model = AttentionModel(Scenario.model_validate(data))
        assert model.population.n == n and model.network.edges == edges
        model.step()


@pytest.mark.slow
def test_direct_barabasi_albert_builder_matches_networkx_in_distribution():
    """Above DIRECT_BUILD_FROM users the BA graph is built straight into arrays; same degree law."""
    from scipy import stats

    from simulation.model.network import barabasi_albert_csr

    n, m = 20_000, 3
    fast_max, nx_max = [], []
    for seed in range(6):
        fast = Neighbourhood(n, barabasi_albert_csr(n, m, seed))
        reference = nx.barabasi_albert_graph(n, m, seed=seed)
        degrees = np.array([d for _, d in reference.degree()])
        assert fast.edges == reference.number_of_edges()  # the edge count is fixed by n and m
        assert stats.ks_2samp(fast.degree, degrees).pvalue > 0.001
        assert fast.degree.min() == degrees.min() == m
        fast_max.append(fast.degree.max())
        nx_max.append(degrees.max())
    # the largest hub is noisy; the means over seeds must agree within sampling error
    spread = np.sqrt(np.var(fast_max, ddof=1) / 6 + np.var(nx_max, ddof=1) / 6)
    assert abs(np.mean(fast_max) - np.mean(nx_max)) < 3 * spread
    # simple graph: no self-loops, no repeated edges, symmetric
    adjacency = fast.adjacency()
    adjacency.data[:] = 1.0
    assert (adjacency != adjacency.T).nnz == 0 and adjacency.max() == 1.0
    assert not np.any(adjacency.indices[adjacency.indptr[5]:adjacency.indptr[6]] == 5)


def test_large_barabasi_albert_uses_the_direct_builder(monkeypatch):
    from simulation.model import network

    def refuse(*args, **kwargs):
        raise AssertionError("networkx must not build a graph this large")

    monkeypatch.setattr(network.nx, "barabasi_albert_graph", refuse)
    net = build_network(NetworkConfig(kind="barabasi_albert", m=2), network.DIRECT_BUILD_FROM, np.random.default_rng(3))
    assert net.n == network.DIRECT_BUILD_FROM and net.edges == 2 * (network.DIRECT_BUILD_FROM - 3) + 2
    with pytest.raises(AssertionError, match="networkx must not"):
        build_network(NetworkConfig(kind="barabasi_albert", m=2), network.DIRECT_BUILD_FROM - 1, np.random.default_rng(3))


def _assert_simple(net: Neighbourhood) -> None:
    """Symmetric, no self-loops, no repeated edges."""
    adjacency = net.adjacency()
    adjacency.data[:] = 1.0
    adjacency.sum_duplicates()
    assert (adjacency != adjacency.T).nnz == 0 and adjacency.max() == 1.0
    assert adjacency.diagonal().sum() == 0


def _compare_with_networkx(fast_builder, networkx_builder, n, seeds=6, exact_edges=None):
    """Degrees of the direct builder against networkx over a few seeds: KS, mean, mean largest degree."""
    from scipy import stats

    fast_mean, nx_mean, fast_max, nx_max = [], [], [], []
    for seed in range(seeds):
        fast = Neighbourhood(n, fast_builder(seed))
        reference = networkx_builder(seed)
        degrees = np.array([d for _, d in reference.degree()])
        _assert_simple(fast)
        if exact_edges is not None:
            assert fast.edges == reference.number_of_edges() == exact_edges
        assert stats.ks_2samp(fast.degree, degrees).pvalue > 0.001
        fast_mean.append(fast.degree.mean())
        nx_mean.append(degrees.mean())
        fast_max.append(fast.degree.max())
        nx_max.append(degrees.max())
    for fast_values, nx_values in ((fast_mean, nx_mean), (fast_max, nx_max)):
        spread = np.sqrt(np.var(fast_values, ddof=1) / seeds + np.var(nx_values, ddof=1) / seeds)
        assert abs(np.mean(fast_values) - np.mean(nx_values)) <= 3 * spread


@pytest.mark.slow
@pytest.mark.parametrize("rewire", [0.1, 1.0])
def test_direct_watts_strogatz_builder_matches_networkx_in_distribution(rewire):
    """Above DIRECT_BUILD_FROM users the WS graph is rewired in numpy; same degree law, n k / 2 edges."""
    from simulation.model.network import watts_strogatz_csr

    n, k = 20_000, 6
    _compare_with_networkx(lambda seed: watts_strogatz_csr(n, k, rewire, seed),
                           lambda seed: nx.watts_strogatz_graph(n, k, rewire, seed=seed), n, exact_edges=n * k // 2)


@pytest.mark.slow
def test_direct_erdos_renyi_builder_matches_networkx_in_distribution():
    """Above DIRECT_BUILD_FROM users G(n, p) is drawn in numpy; same degree law (Poisson-like)."""
    from simulation.model.network import erdos_renyi_csr

    n, p = 20_000, 6 / (20_000 - 1)
    _compare_with_networkx(lambda seed: erdos_renyi_csr(n, p, seed),
                           lambda seed: nx.fast_gnp_random_graph(n, p, seed=seed), n)
    # the edge count is Binomial(n(n-1)/2, p): check it over a few more seeds
    counts = [Neighbourhood(n, erdos_renyi_csr(n, p, seed)).edges for seed in range(20)]
    pairs = n * (n - 1) / 2
    assert abs(np.mean(counts) - pairs * p) < 3 * np.sqrt(pairs * p * (1 - p) / 20)


@pytest.mark.parametrize("n,k,p", [(5, 4, 1.0), (9, 8, 0.5), (30, 20, 1.0), (7, 7, 0.3)])
def test_direct_watts_strogatz_builder_on_dense_graphs(n, k, p):
    """Dense corner cases still give a simple graph with n k/2 edges (k == n: the complete graph)."""
    from simulation.model.network import watts_strogatz_csr

    for seed in range(3):
        net = Neighbourhood(n, watts_strogatz_csr(n, k, p, seed))
        _assert_simple(net)
        assert net.edges == (n * (n - 1) // 2 if k == n else n * (k // 2))


def test_direct_erdos_renyi_builder_edge_cases():
    from simulation.model.network import erdos_renyi_csr

    assert Neighbourhood(10, erdos_renyi_csr(10, 0.0, 1)).edges == 0
    assert Neighbourhood(10, erdos_renyi_csr(10, 1.0, 1)).edges == 45
    dense = Neighbourhood(40, erdos_renyi_csr(40, 0.9, 1))
    _assert_simple(dense)


@pytest.mark.parametrize("kind,generator,config", [
    ("watts_strogatz", "watts_strogatz_graph", {"k": 4, "rewire": 0.2}),
    ("erdos_renyi", "fast_gnp_random_graph", {"mean_degree": 4.0}),
])
def test_large_graphs_use_the_direct_builders(monkeypatch, kind, generator, config):
    from simulation.model import network

    def refuse(*args, **kwargs):
        raise AssertionError("networkx must not build a graph this large")

    monkeypatch.setattr(network.nx, generator, refuse)
    cfg = NetworkConfig(kind=kind, **config)
    net = build_network(cfg, network.DIRECT_BUILD_FROM, np.random.default_rng(3))
    assert net.n == network.DIRECT_BUILD_FROM
    assert abs(net.degree.mean() - 4) < 0.1 and net.indices.dtype == np.int32
    if kind == "watts_strogatz":
        assert net.edges == 2 * network.DIRECT_BUILD_FROM
    with pytest.raises(AssertionError, match="networkx must not"):
        build_network(cfg, network.DIRECT_BUILD_FROM - 1, np.random.default_rng(3))


def test_direct_builder_keeps_the_model_random_stream():
    """The builder's seed is the first draw from the model's generator, whatever builds the graph."""
    from simulation.model import network

    for users in (network.DIRECT_BUILD_FROM - 1, network.DIRECT_BUILD_FROM):
        rng, reference = np.random.default_rng(11), np.random.default_rng(11)
        build_network(NetworkConfig(kind="erdos_renyi", mean_degree=2.0), users, rng)
        reference.integers(2**32)
        assert rng.integers(2**32) == reference.integers(2**32)
