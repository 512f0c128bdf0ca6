"""The disk cache of large generated graphs: hits, keys, switching it off, damaged files."""

import numpy as np
import pytest

from simulation.model import graph_cache
from simulation.model import network
from simulation.scenario import NetworkConfig

USERS = network.DIRECT_BUILD_FROM


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    """Each test gets its own cache folder (never the user's home cache)."""
    folder = tmp_path / "graphs"
    monkeypatch.setenv(graph_cache.ENVIRONMENT, str(folder))
    return folder


@pytest.fixture
def calls(monkeypatch):
    """Counts the direct BA builder's calls, so a test can tell a cache hit from a rebuild."""
    count = {"builds": 0}
    build = network.barabasi_albert_csr

    def counting(*args, **kwargs):
        count["builds"] += 1
        return build(*args, **kwargs)

    monkeypatch.setattr(network, "barabasi_albert_csr", counting)
    return count


def _build(seed=0, m=2, kind="barabasi_albert", users=USERS):
    return network.build_network(NetworkConfig(kind=kind, m=m), users, np.random.default_rng(seed))


def test_second_build_is_a_cache_hit_with_identical_arrays(cache, calls):
    first = _build()
    assert calls["builds"] == 1 and len(list(cache.glob("*.npz"))) == 1
    second = _build()
    assert calls["builds"] == 1
    assert np.array_equal(first.indptr, second.indptr) and np.array_equal(first.indices, second.indices)
    assert second.indptr.dtype == first.indptr.dtype and second.indices.dtype == np.int32
    assert np.array_equal(first.degree, second.degree) and second.edges == first.edges
    assert second.degree.dtype == first.degree.dtype == np.int32
    assert not list(cache.glob("*.tmp"))  # the temporary file was renamed


def test_the_key_depends_on_what_decides_the_graph():
    key = graph_cache.cache_key("watts_strogatz", {"k": 6, "rewire": 0.1}, USERS, 7)
    assert key == graph_cache.cache_key("watts_strogatz", {"rewire": 0.1, "k": 6}, USERS, 7)
    others = {
        graph_cache.cache_key("watts_strogatz", {"k": 6, "rewire": 0.1}, USERS, 8),
        graph_cache.cache_key("watts_strogatz", {"k": 8, "rewire": 0.1}, USERS, 7),
        graph_cache.cache_key("watts_strogatz", {"k": 6, "rewire": 0.2}, USERS, 7),
        graph_cache.cache_key("watts_strogatz", {"k": 6, "rewire": 0.1}, USERS + 1, 7),
        graph_cache.cache_key("erdos_renyi", {"k": 6, "rewire": 0.1}, USERS, 7),
    }
    assert key not in others and len(others) == 5


def test_different_seed_or_parameter_is_built_again(cache, calls):
    _build(seed=0)
    _build(seed=1)
    _build(seed=0, m=3)
    assert calls["builds"] == 3 and len(list(cache.glob("*.npz"))) == 3


def test_parameters_other_kinds_read_do_not_change_the_key(cache, monkeypatch):
    """A watts_strogatz graph does not depend on m or mean_degree, so neither does its key."""
    calls = []
    build = network.watts_strogatz_csr
    monkeypatch.setattr(network, "watts_strogatz_csr", lambda *args: calls.append(args) or build(*args))
    for m, mean_degree in ((2, 6.0), (5, 9.0)):
        network.build_network(NetworkConfig(kind="watts_strogatz", k=4, m=m, mean_degree=mean_degree),
                              USERS, np.random.default_rng(0))
    assert len(calls) == 1


@pytest.mark.parametrize("value", ["off", "OFF", "0"])
def test_off_disables_the_cache(cache, calls, monkeypatch, value):
    monkeypatch.setenv(graph_cache.ENVIRONMENT, value)
    assert graph_cache.cache_folder() is None
    _build()
    _build()
    assert calls["builds"] == 2 and not cache.exists()


def test_default_folder_is_in_the_home_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(graph_cache.ENVIRONMENT)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert graph_cache.cache_folder() == tmp_path / ".cache" / "attention-market" / "graphs"


def test_small_complete_and_file_graphs_are_not_cached(cache, tmp_path):
    _build(users=USERS - 1)
    network.build_network(NetworkConfig(kind="complete"), USERS, np.random.default_rng(0))
    network.build_network(NetworkConfig(kind="ring"), USERS, np.random.default_rng(0))
    (tmp_path / "g.txt").write_text("a b\nb c\n")
    network.build_network(NetworkConfig(kind="file", path=str(tmp_path / "g.txt")), 3, np.random.default_rng(0))
    assert not cache.exists() or not list(cache.iterdir())


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "wrong arrays"])
def test_a_damaged_file_is_rebuilt_and_overwritten(cache, calls, damage):
    first = _build()
    (path,) = cache.glob("*.npz")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # a readable file whose arrays do not describe this graph
        np.savez(path, key=np.array(path.stem), n=np.array(USERS), indptr=np.zeros(3), indices=np.zeros(2))
    again = _build()
    assert calls["builds"] == 2
    assert np.array_equal(first.indices, again.indices) and np.array_equal(first.indptr, again.indptr)
    third = _build()  # the rebuilt graph was written back
    assert calls["builds"] == 2 and np.array_equal(third.indices, first.indices)


def test_an_unwritable_folder_only_warns(tmp_path, calls, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv(graph_cache.ENVIRONMENT, str(blocker / "graphs"))  # cannot make a folder in a file
    with pytest.warns(RuntimeWarning, match="graph cache"):
        net = _build()
    assert net.n == USERS and calls["builds"] == 1


def test_store_replaces_an_existing_file_atomically(cache):
    """Readers see the old file or the new one, never a partial write: store writes elsewhere, then renames."""
    key = graph_cache.cache_key("barabasi_albert", {"m": 1}, 3, 0)
    indptr, indices = np.array([0, 1, 3, 4]), np.array([1, 0, 2, 1], dtype=np.int32)
    path = graph_cache.store(key, 3, indptr, indices)
    inode = path.stat().st_ino
    graph_cache.store(key, 3, indptr, indices)
    assert path.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    loaded = graph_cache.load(key, 3)
    assert np.array_equal(loaded[0], indptr) and np.array_equal(loaded[1], indices)
    assert graph_cache.load(key, 4) is None  # another size under the same name is not this graph


def test_files_are_readable_by_others_and_stale_temporaries_are_removed(cache):
    import os
    import time

    cache.mkdir(parents=True)
    stale = cache / ".0123456789abcdef-xyz.tmp"
    stale.write_bytes(b"half a graph")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    fresh = cache / ".fedcba9876543210-abc.tmp"
    fresh.write_bytes(b"being written")
    path = graph_cache.store("k" * 64, 3, np.array([0, 1, 2, 2]), np.array([1, 0]))
    assert path is not None and (path.stat().st_mode & 0o044) == 0o044 & ~_umask()
    assert not stale.exists() and fresh.exists()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
