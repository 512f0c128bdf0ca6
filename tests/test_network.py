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
    a = build_network(cfg, 300, np.random.default_rng(5)).adjacency
    b = build_network(cfg, 300, np.random.default_rng(5)).adjacency
    c = build_network(cfg, 300, np.random.default_rng(6)).adjacency
    assert (a != b).nnz == 0 and (a != c).nnz > 0


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
