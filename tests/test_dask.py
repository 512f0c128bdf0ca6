"""A real Dask cluster on 127.0.0.1: a scheduler, two workers, one of them killed mid-sweep; the README's
recipe for a cluster keeps every socket on loopback."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from simulation.cli import main
from tests.conftest import ROOT, free_port, small_data

pytestmark = pytest.mark.slow

DASK = Path(sys.executable).with_name("dask")


def _start(args, log):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([str(DASK), *args], cwd=ROOT, env=env, start_new_session=True,
                            stdout=log, stderr=subprocess.STDOUT)


def _stop(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path):
    if not DASK.exists() and not shutil.which("dask"):
        pytest.fail("the dask command is not installed (it comes with dask[distributed])")
    scheduler_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "cluster.log", "w")
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
                        "--scheduler-file", str(scheduler_file)], log)
    deadline = time.time() + 60
    while not scheduler_file.exists() and time.time() < deadline:
        time.sleep(0.1)
    workers = [_start(["worker", "--scheduler-file", str(scheduler_file), "--nworkers", "1", "--nthreads", "1",
                       "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}"], log)
               for i in range(2)]
    from dask.distributed import Client

    with Client(scheduler_file=str(scheduler_file), timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    _assert_loopback([scheduler, *workers])
    yield scheduler_file, workers
    for process in [*workers, scheduler]:
        _stop(process)
    log.close()


def _argv(path, out, *where):
    return ["sweep", str(path), "--vary", "market.q=0.01,0.05,0.1,0.2,0.3,0.4", "--replications", "2",
            "--days", "60", "--out", str(out), "--quiet", *where]


def test_sweep_on_a_dask_cluster_survives_a_killed_worker(cluster, tmp_path, write_yaml):
    scheduler_file, workers = cluster
    path = write_yaml(small_data(days=60, population={"users": 3000}))
    out = tmp_path / "dask"
    import threading

    def kill_when_started():
        deadline = time.time() + 120
        while time.time() < deadline and len(list((out / "runs").glob("run-*.parquet"))) < 2:
            time.sleep(0.05)
        os.killpg(workers[0].pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    code = main(_argv(path, out, "--scheduler-file", str(scheduler_file)))
    killer.join()
    assert workers[0].poll() is not None, "the first worker should be dead"
    assert code == 0
    results = pd.read_parquet(out / "results.parquet")
    assert sorted(results["run_id"]) == list(range(12)) and (results["status"] == "ok").all()

    local = tmp_path / "local"
    assert main(_argv(path, local, "--workers", "1")) == 0
    expected = pd.read_parquet(local / "results.parquet")
    columns = ["run_id", "seed", *[c for c in expected.columns if "/" in c or c.startswith("param:")]]
    pd.testing.assert_frame_equal(results[columns], expected[columns])  # same runs, wherever they ran


def test_unreachable_scheduler_is_a_clear_error(tmp_path, write_yaml, capsys):
    start = time.time()
    code = main(_argv(write_yaml(small_data(days=3)), tmp_path / "x", "--scheduler", "tcp://127.0.0.1:9"))
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err and "Traceback" not in err
    assert time.time() - start < 30
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("flag,value,message", [
    ("--scheduler", "nonsense", "expected tcp://HOST:PORT"),
    ("--scheduler-file", "bad.json", "not a Dask scheduler file"),
    ("--scheduler", "SILENT", "cannot reach the Dask scheduler"),
    ("--scheduler", "TLS", "a TLS scheduler needs this client's certificates: set DASK_DISTRIBUTED__COMM__TLS__CA_FILE"),
])
def test_bad_schedulers_are_clear_errors_within_seconds(tmp_path, write_yaml, capsys, flag, value, message):
    import socket
    import threading

    (tmp_path / "bad.json").write_text("{not json")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    if value == "SILENT":  # listens, accepts, never speaks Dask
        value = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    elif value == "TLS":  # a tls:// address, and no certificate in Dask's configuration
        value = f"tls://127.0.0.1:{server.getsockname()[1]}"
    elif value == "bad.json":
        value = str(tmp_path / "bad.json")
    start = time.time()
    code = main(_argv(write_yaml(small_data(days=3)), tmp_path / "x", flag, value))
    err = capsys.readouterr().err
    server.close()
    assert code == 2 and message in err and "Traceback" not in err, err
    assert time.time() - start < 30 and not (tmp_path / "x").exists()


def test_two_sweeps_on_one_scheduler_never_mix(cluster, tmp_path, write_yaml):
    """Task keys are unique to each sweep: the same run ids and seeds with other parameters stay apart."""
    scheduler_file, _ = cluster
    import threading

    outs = {}

    def sweep(budget):
        path = write_yaml(small_data(days=10, events=[]), name=f"s{budget}.yaml")
        out = tmp_path / f"b{budget}"
        argv = ["sweep", str(path), "--vary", f"brands.Bill.budget_per_day={budget}", "--replications", "3",
                "--scheduler-file", str(scheduler_file), "--out", str(out), "--quiet"]
        outs[budget] = main(argv)

    threads = [threading.Thread(target=sweep, args=(b,)) for b in (1, 500)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert outs == {1: 0, 500: 0}
    low = pd.read_parquet(tmp_path / "b1" / "results.parquet")
    high = pd.read_parquet(tmp_path / "b500" / "results.parquet")
    assert (low["param:brands.Bill.budget_per_day"] == 1).all() and (high["param:brands.Bill.budget_per_day"] == 500).all()
    assert (low["Bill/spend"] < high["Bill/spend"]).all()


def _listening(processes) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every listening TCP socket of these processes and their children."""
    found = []
    for process in processes:
        tree = psutil.Process(process.pid)
        for member in [tree, *tree.children(recursive=True)]:
            try:
                found += [(member.pid, c.laddr.ip, c.laddr.port) for c in member.net_connections(kind="tcp")
                          if c.status == psutil.CONN_LISTEN]
            except psutil.NoSuchProcess:
                pass
    return found


def _assert_loopback(processes) -> list[tuple[int, str, int]]:
    listening = _listening(processes)
    assert listening, "no listening socket found"
    exposed = [entry for entry in listening if entry[1] != "127.0.0.1"]
    assert not exposed, f"sockets beyond loopback (pid, address, port): {exposed}"
    return listening


def _readme_recipe() -> list[str]:
    """The command lines of the README's Dask recipe (its first shell block under "On a Dask cluster")."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^### On a Dask cluster\n.*?```sh\n(.*?)```", text, re.S | re.M)
    assert match, "the README has no Dask recipe (a shell block under '### On a Dask cluster')"
    return [line.strip() for line in match.group(1).splitlines() if line.strip()]


def test_the_readme_recipe_keeps_the_cluster_on_loopback(tmp_path, write_yaml):
    """The README's lines, as written (only the ports moved to free ones): a sweep runs on the cluster, and no
    socket of the scheduler, the nanny or the workers listens on 0.0.0.0 or ::."""
    ports = {"8786": str(free_port()), "8787": str(free_port())}
    lines = [re.sub(r"\b(8786|8787)\b", lambda m: ports[m[1]], line) for line in _readme_recipe()]
    starts = [line for line in lines if line.startswith(".venv/bin/dask ")]
    sweeps = [line for line in lines if line.startswith(".venv/bin/python run.py sweep ")]
    assert [s.split()[1] for s in starts] == ["scheduler", "worker"] and len(sweeps) == 1, lines
    log = open(tmp_path / "cluster.log", "w")
    processes = []
    try:
        for line in starts:
            argv = shlex.split(line.removesuffix("&").strip())
            processes.append(_start(argv[1:], log))
            if argv[1] == "scheduler":
                deadline = time.time() + 60
                while time.time() < deadline:
                    try:
                        socket.create_connection(("127.0.0.1", int(ports["8786"])), timeout=1).close()
                        break
                    except OSError:
                        time.sleep(0.2)
        from dask.distributed import Client

        with Client(f"tcp://127.0.0.1:{ports['8786']}", timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        argv = shlex.split(sweeps[0])[2:]
        argv[1] = str(write_yaml(small_data(days=3, population={"users": 200}, events=[])))
        argv[argv.index("--out") + 1] = str(tmp_path / "out")
        assert main([*argv, "--replications", "1", "--quiet"]) == 0
        results = pd.read_parquet(tmp_path / "out" / "results.parquet")
        assert len(results) == 3 and (results["status"] == "ok").all()
        listening = _assert_loopback(processes)
        assert ("127.0.0.1", int(ports["8786"])) in {(ip, port) for _, ip, port in listening}
        assert ("127.0.0.1", int(ports["8787"])) in {(ip, port) for _, ip, port in listening}
    finally:
        for process in processes:
            _stop(process)
        log.close()
