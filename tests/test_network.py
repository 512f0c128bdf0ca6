"""Graphs: generators seeded from the model, files, and the edge-free complete graph."""

import networkx as nx
import numpy as np
import pytest

from simulation.config import NetworkConfig, Scenario
from simulation.model import AttentionModel
from simulation.network import Neighbourhood, build_network, from_networkx
from tests.conftest import small_data


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


def test_complete_graph_mean_equals_the_explicit_graph():
    rng = np.random.default_rng(1)
    values = rng.random((3, 50)).astype(np.float32)
    implicit = Neighbourhood(50, None).mean(values)
    explicit = from_networkx(nx.complete_graph(50)).mean(values)
    np.testing.assert_allclose(implicit, explicit, rtol=1e-5)


def test_neighbour_mean_on_a_small_graph():
    net = from_networkx(nx.path_graph(3))  # 0 - 1 - 2
    np.testing.assert_allclose(net.mean(np.array([[1.0, 0.0, 3.0]])), [[0.0, 2.0, 0.0]])


def test_edge_list_and_graphml_files(tmp_path):
    (tmp_path / "g.txt").write_text("# a triangle and a tail\na b\nb c\nc a\nc d\n")
    graph = nx.path_graph(5)
    nx.write_graphml(graph, tmp_path / "g.graphml")
    for name, n, edges in (("g.txt", 4, 4), ("g.graphml", 5, 4)):
        data = small_data(network={"kind": "file", "path": str(tmp_path / name)}, events=[], days=2)
        model = AttentionModel(Scenario.model_validate(data))
        assert model.population.n == n and model.network.edges == edges
        model.step()


def test_direct_barabasi_albert_builder_matches_networkx_in_distribution():
    """Above DIRECT_BUILD_FROM users the BA graph is built straight into arrays; same degree law."""
    from scipy import stats

    from simulation.network import barabasi_albert_csr

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
    adjacency = fast.weights.copy()
    adjacency.data[:] = 1.0
    assert (adjacency != adjacency.T).nnz == 0 and adjacency.max() == 1.0
    assert not np.any(adjacency.indices[adjacency.indptr[5]:adjacency.indptr[6]] == 5)


def test_large_barabasi_albert_uses_the_direct_builder(monkeypatch):
    from simulation import network

    def refuse(*args, **kwargs):
        raise AssertionError("networkx must not build a graph this large")

    monkeypatch.setattr(network.nx, "barabasi_albert_graph", refuse)
    net = build_network(NetworkConfig(kind="barabasi_albert", m=2), network.DIRECT_BUILD_FROM, np.random.default_rng(3))
    assert net.n == network.DIRECT_BUILD_FROM and net.edges == 2 * (network.DIRECT_BUILD_FROM - 3) + 2
    with pytest.raises(AssertionError, match="networkx must not"):
        build_network(NetworkConfig(kind="barabasi_albert", m=2), network.DIRECT_BUILD_FROM - 1, np.random.default_rng(3))
