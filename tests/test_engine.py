"""The engine: its random numbers, its numerics, its threads, its compile step and plain-Python mode."""

import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from numba import njit
from scipy import stats

from simulation.engine import kernels, numerics, streams, threads
from simulation.engine.jit import FAST, serial
from simulation.model import AttentionModel
from simulation.scenario import Scenario
from tests.conftest import ROOT, SCENARIOS, small_data


def test_counter_generator_gives_independent_uniform_streams():
    key = streams.stream_key(np.uint64(12345), 7, streams.STREAM_SLOTS)
    draws = streams.uniforms(np.uint64(key), 0, 200_000)
    assert stats.kstest(draws, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(draws[:-1], draws[1:])[0, 1]) < 0.01  # consecutive counters
    again = streams.uniforms(np.uint64(key), 0, 1000)
    np.testing.assert_array_equal(again, draws[:1000])  # a pure function of key and counter
    for other in (streams.stream_key(np.uint64(12345), 8, streams.STREAM_SLOTS),  # next day
                  streams.stream_key(np.uint64(12345), 7, streams.STREAM_PURCHASES),  # another use
                  streams.stream_key(np.uint64(12346), 7, streams.STREAM_SLOTS)):  # another run
        assert abs(np.corrcoef(draws[:50_000], streams.uniforms(np.uint64(other), 0, 50_000))[0, 1]) < 0.02


@pytest.mark.parametrize("lam", [0.05, 0.7, 4.0, 9.9, 10.0, 35.0, 400.0])
def test_poisson_sampler_has_the_poisson_distribution(lam):
    key = np.uint64(streams.stream_key(np.uint64(99), 1, streams.STREAM_IMPRESSIONS))
    n = 40_000
    draws = kernels.poissons(np.full(n, lam), key).astype(np.int64)  # the sampler deliver uses
    assert abs(draws.mean() - lam) < 4 * np.sqrt(lam / n)
    assert abs(draws.var() / lam - 1) < 4 * np.sqrt(2 / n) + 0.01
    # chi-square over the bins that expect at least 20 draws
    values = np.arange(draws.max() + 1)
    expected = stats.poisson.pmf(values, lam) * n
    keep = expected >= 20
    observed = np.bincount(draws, minlength=values.size)
    rest_obs, rest_exp = observed[~keep].sum(), n - expected[keep].sum()
    chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    dof = keep.sum()
    if rest_exp >= 20:
        chi2 += (rest_obs - rest_exp) ** 2 / rest_exp
        dof += 1
    assert stats.chi2.sf(chi2, max(dof - 1, 1)) > 1e-3


def test_a_block_of_mixed_means_gets_each_its_own_poisson_law():
    """deliver draws a block's users together: no draw, inversion and PTRS side by side must not mix."""
    key = np.uint64(streams.stream_key(np.uint64(7), 3, streams.STREAM_IMPRESSIONS))
    means = np.array([0.0, 0.3, 4.0, 9.99, 10.0, 60.0])
    lam = np.tile(means, 30_000)  # every block holds every mean
    draws = kernels.poissons(lam, key).reshape(-1, means.size)
    assert np.all(draws == np.floor(draws))
    assert np.all(draws[:, 0] == 0)
    # a mean of 0 or below (never made by deliver) draws 0 and leaves the block's other draws alone
    odd = lam.copy()
    odd[::means.size] = -5.0
    assert np.array_equal(kernels.poissons(odd, key), kernels.poissons(lam, key))
    for column, mean in enumerate(means[1:], start=1):
        assert abs(draws[:, column].mean() - mean) < 4 * np.sqrt(mean / draws.shape[0]), mean
        assert abs(draws[:, column].var() / mean - 1) < 4 * np.sqrt(2 / draws.shape[0]) + 0.01, mean


@serial
def _apply_exact(function, values):
    out = np.empty_like(values)
    for k in range(values.size):
        out[k] = function(values[k])
    return out


@njit(fastmath=FAST)
def _apply_fast(function, values):
    """As the kernels call the polynomials: inlined into a loop compiled with fast-math."""
    out = np.empty_like(values)
    for k in range(values.size):
        out[k] = function(values[k])
    return out


@pytest.mark.parametrize("_apply", [_apply_exact, _apply_fast], ids=["exact", "fast-math"])
def test_vector_exponential_and_logarithm_are_accurate(_apply):
    """The polynomials that replace libm's exp and log in the rules, against numpy in double precision."""
    rng = np.random.default_rng(5)
    x = np.concatenate([-rng.exponential(3.0, 250), [0.0, -1e-12, -86.9, -87.5, -700.0, -800.0]])
    exact = np.exp(x)
    values = _apply(numerics.exp64_negative, x)  # double precision, x <= 0
    normal = x >= -708
    error = np.abs(values[normal] - exact[normal]) / exact[normal]
    assert error[x[normal] >= -10.0].max() <= 1e-15  # where the Poisson sampler uses it
    assert error.max() <= 5e-14  # n ln 2 grows with |x|
    assert np.all(values[x < -708] == 0.0)

    single = x.astype(np.float32)
    row = _apply(numerics.exp32, single)
    reference = np.exp(single.astype(np.float64))
    kept = reference > 1e-37  # float32's normal range; below e^-87 the polynomial gives 0
    assert np.all(np.abs(row[kept] - reference[kept]) <= 3e-7 * reference[kept])
    assert np.all(row[single <= -87.0] == 0.0)
    assert _apply(numerics.exp32, np.array([-np.inf], dtype=np.float32))[0] == 0.0  # a closed sink

    positive = np.exp(rng.uniform(-80.0, 80.0, 256)).astype(np.float32)
    logs = _apply(numerics.log32, positive)
    exact_logs = np.log(positive.astype(np.float64))
    assert np.all(np.abs(logs - exact_logs) <= 3e-7 * np.maximum(1.0, np.abs(exact_logs)))


def test_what_neighbours_hear_starts_on_a_cache_line():
    """The walk reads voices' rows at random: a row must not straddle two cache lines (it costs half as much again)."""
    data = small_data(days=1, population={"users": 3000}, events=[])
    model = AttentionModel(Scenario.model_validate(data), 1)
    assert model.engine.voices.ctypes.data % 64 == 0
    assert model.engine.voices.strides[0] == 32  # 3 brands x 4 figures + 1 social sink, padded to 16 columns


def _figures(model: AttentionModel) -> dict:
    pop = model.population
    return {"slots": pop.slots.copy(), "awareness": pop.awareness.copy(), "trust": pop.trust.copy(),
            "purchases": pop.purchases.copy(), "impressions": model.impressions.copy(),
            "brands": [(b.impressions_total, b.sales_total, b.clicks_total, b.answers_today) for b in model.brands]}


@pytest.mark.slow
@pytest.mark.parametrize("users", [9_000, 5 * kernels.CHUNK + 123])  # chunks of 1,024 and of 4,096 users
def test_results_do_not_depend_on_the_number_of_threads(users, monkeypatch):
    """Per-chunk random streams and partial sums: one thread or all of them give the same run, bit for bit."""
    assert kernels.chunks(users) >= kernels.MIN_CHUNKS // 2
    data = small_data(days=8, population={"users": users})
    runs = []
    counts = sorted({1, numba.config.NUMBA_NUM_THREADS})
    if len(counts) == 1:
        pytest.skip("one core only: nothing to compare")
    for count in counts:
        monkeypatch.setattr(threads.Chooser, "choose", lambda self, phase, count=count: count)
        model = AttentionModel(Scenario.model_validate(data))
        for _ in range(model.days):
            model.step()
        assert set(model.engine.threads.last.values()) == {count}
        runs.append(_figures(model))
    one, many = runs
    for name in one:
        np.testing.assert_array_equal(np.asarray(one[name]), np.asarray(many[name]), err_msg=name)


def test_thread_chooser_keeps_the_faster_count_and_probes_ever_less_often(monkeypatch):
    """A phase keeps the thread count that ran fastest; losing probes of the other come ever more rarely."""
    monkeypatch.setattr(threads, "_budget", 2)
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 2)
    monkeypatch.setattr(numba, "set_num_threads", lambda count: None)
    chooser = threads.Chooser(threads.TWO_THREADS_FROM)
    assert chooser.counts == [1, 2]
    cost = {1: 3.0, 2: 1.0}  # two threads are three times faster ...
    used = []
    for day in range(600):
        if day == 300:
            cost = {1: 1.0, 2: 4.0}  # ... until the other core gets busy
        monkeypatch.setattr(threads.time, "perf_counter", lambda: 0.0)
        with chooser.phase(0) as count:
            used.append(count)
            monkeypatch.setattr(threads.time, "perf_counter", lambda c=count, costs=cost: costs[c])
    assert used[0] == 1  # the first call (the kernel loads) is not timed
    probes = [day for day in range(3, 300) if used[day] == 1]
    assert len(probes) >= 3 and used[3:300].count(2) > 280
    gaps = np.diff(probes)
    assert gaps[1] >= 2 * gaps[0] - 1 and (np.diff(gaps) >= 0).all(), probes  # a losing probe doubles the wait
    assert gaps.max() <= threads.LONGEST_INTERVAL + 1, probes  # up to a bound
    assert used[310:].count(1) > 280  # switched soon after two threads became slow
    assert 2 in used[310:]  # and two threads are still tried now and then
    assert threads.Chooser(threads.TWO_THREADS_FROM - 1).counts == [1]  # small populations: one thread


@pytest.mark.slow
def test_sweep_workers_share_the_cores_and_give_the_in_process_results():
    """Local workers run with cores / workers threads each; the rows are those of one process."""
    from simulation.experiments.executors import LocalExecutor
    from simulation.experiments.tasks import RunTask

    data = small_data(days=6, population={"users": 2 * kernels.CHUNK + 7}, events=[])
    tasks = [RunTask(run_id=i, scenario=data, overrides=(), seed=10 + i) for i in range(2)]
    here = sorted(LocalExecutor(1).run(tasks), key=lambda r: r["run_id"])
    there = sorted(LocalExecutor(2).run(tasks), key=lambda r: r["run_id"])
    assert [r["status"] for r in there] == ["ok", "ok"], there
    for a, b in zip(here, there):
        assert a.keys() == b.keys()
        for key in a.keys() - {"seconds"}:
            same = a[key] == b[key] or (isinstance(a[key], float) and np.isnan(a[key]) and np.isnan(b[key]))
            assert same, (key, a[key], b[key])


def _unmix64(z: int) -> int:
    """The inverse of streams.mix64 (splitmix64's finaliser is a bijection)."""
    def unshift(value: int, shift: int) -> int:
        x = value
        for _ in range(64 // shift + 1):
            x = value ^ (x >> shift)
        return x
    mask = 2**64 - 1
    z = unshift(z, 31)
    z = (z * pow(0x94D049BB133111EB, -1, 2**64)) & mask
    z = unshift(z, 27)
    z = (z * pow(0xBF58476D1CE4E5B9, -1, 2**64)) & mask
    return unshift(z, 30)


def test_the_slot_draw_is_below_one_even_for_the_largest_mix():
    """A 53-bit uniform rounded to float32 can be 1.0 (and give a slot to a closed sink); the slot draw cannot."""
    key = np.uint64(_unmix64(2**64 - 1))  # counter 0: mix64(key) is all ones
    assert int(streams.mix64(key)) == 2**64 - 1
    assert np.float32(streams.unit(key, np.uint64(0))) == 1.0  # what float32 does to the 53-bit draw
    assert streams.unit32(key, np.uint64(0)) == np.float32(1 - 2**-24)


def test_run_says_when_it_compiles_the_engine_and_times_it_apart(monkeypatch, capsys, tmp_path):
    from simulation import cli
    from simulation.engine import warm

    assert isinstance(warm.compiled_on_disk(), bool)
    args = ["run", str(SCENARIOS / "classroom.yaml"), "--days", "2"]
    monkeypatch.setattr(cli, "compiled_on_disk", lambda: False)
    assert cli.main([*args, "--out", str(tmp_path / "a")]) == 0
    assert "Compiling the engine for this machine" in capsys.readouterr().err
    monkeypatch.setattr(cli, "compiled_on_disk", lambda: True)
    assert cli.main([*args, "--out", str(tmp_path / "b")]) == 0
    assert "Compiling" not in capsys.readouterr().err
    provenance = json.loads((tmp_path / "b" / "summary.json").read_text())["provenance"]
    assert provenance["compile_seconds"] >= 0 and provenance["run_seconds"] > 0


_CACHE_PROBE = """
import sys
sys.path.insert(0, {root!r})
from simulation.engine import warm
before = warm.compiled_on_disk()
warm.warm_up()
print(before, warm.compiled_on_disk())
"""


@pytest.mark.slow
def test_compiled_on_disk_sees_an_empty_cache_and_a_warm_one(tmp_path):
    """What `run` relies on to say it compiles: an empty cache folder is seen as such, a warmed one too."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "ATTENTION_MARKET_NUMBA_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", _CACHE_PROBE.format(root=str(ROOT))], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["False", "True"]
    assert any(tmp_path.rglob("*.nbi"))  # the kernels went to that folder


_PLAIN_PYTHON_RUN = """
import json, sys
sys.path.insert(0, {root!r})
from simulation.scenario import Scenario
from simulation.engine import jit
from simulation.runner import run_simulation
from tests.conftest import small_data
assert jit.INTERPRETED == {interpreted}
result = run_simulation(Scenario.model_validate(small_data(days=12, population={{"users": 150}})))
print(json.dumps(result.summary["brands"], sort_keys=True))
"""


@pytest.mark.slow
def test_plain_python_mode_runs_the_whole_model_and_gives_the_same_run():
    """NUMBA_DISABLE_JIT=1 (for a debugger or coverage) steps every kernel in Python, with the same results."""
    runs = {}
    for interpreted in (False, True):
        env = {**os.environ, "NUMBA_DISABLE_JIT": "1" if interpreted else "0"}
        code = _PLAIN_PYTHON_RUN.format(root=str(ROOT), interpreted=interpreted)
        done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[interpreted] = json.loads(done.stdout)
    # the same counts; float figures within float32 roundings (compiled code fuses multiply-adds, Python does not)
    for brand, figures in runs[False].items():
        for key, value in figures.items():
            if isinstance(value, float):
                assert runs[True][brand][key] == pytest.approx(value, rel=1e-5), (brand, key)
            else:
                assert runs[True][brand][key] == value, (brand, key)
