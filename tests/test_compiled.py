"""The compiled engine: its random numbers, its independence from the thread count, its agreement with numpy."""

import numba
import numpy as np
import pytest
from scipy import stats

from simulation import kernels
from simulation.config import Scenario, ScenarioError, load_scenario
from simulation.model import COMPILED_FROM, AttentionModel, resolve_engine
from simulation.runner import run_simulation
from tests.conftest import ROOT, SCENARIOS, check_golden, small_data, summary_figures

GOLDEN = ROOT / "tests" / "golden" / "relational_vs_billboard_compiled.json"


def test_counter_generator_gives_independent_uniform_streams():
    key = kernels.stream_key(np.uint64(12345), 7, kernels.STREAM_SLOTS)
    draws = kernels.uniforms(np.uint64(key), 0, 200_000)
    assert stats.kstest(draws, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(draws[:-1], draws[1:])[0, 1]) < 0.01  # consecutive counters
    again = kernels.uniforms(np.uint64(key), 0, 1000)
    np.testing.assert_array_equal(again, draws[:1000])  # a pure function of key and counter
    for other in (kernels.stream_key(np.uint64(12345), 8, kernels.STREAM_SLOTS),  # next day
                  kernels.stream_key(np.uint64(12345), 7, kernels.STREAM_PURCHASES),  # another use
                  kernels.stream_key(np.uint64(12346), 7, kernels.STREAM_SLOTS)):  # another run
        assert abs(np.corrcoef(draws[:50_000], kernels.uniforms(np.uint64(other), 0, 50_000))[0, 1]) < 0.02


@pytest.mark.parametrize("lam", [0.05, 0.7, 4.0, 9.9, 10.0, 35.0, 400.0])
def test_poisson_sampler_has_the_poisson_distribution(lam):
    key = np.uint64(kernels.stream_key(np.uint64(99), 1, kernels.STREAM_IMPRESSIONS))
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
    key = np.uint64(kernels.stream_key(np.uint64(7), 3, kernels.STREAM_IMPRESSIONS))
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


def test_vector_exponential_and_logarithm_are_accurate():
    """The polynomials that replace libm's exp and log in the kernels, against numpy in double precision."""
    rng = np.random.default_rng(5)
    size = kernels.BLOCK
    x = np.concatenate([-rng.exponential(3.0, size - 6), [0.0, -1e-12, -86.9, -87.5, -700.0, -800.0]])
    exact = np.exp(x)
    values = x.copy()
    kernels._exp_negative(values, size, np.empty(size, dtype=np.int64))  # double precision, x <= 0
    normal = x >= -708
    error = np.abs(values[normal] - exact[normal]) / exact[normal]
    assert error[x[normal] >= -10.0].max() <= 1e-15  # where the Poisson sampler uses it
    assert error.max() <= 5e-14  # n ln 2 grows with |x|
    assert np.all(values[x < -708] == 0.0)

    row = x.astype(np.float32)
    kernels._exp_shifted(row, np.zeros(size, dtype=np.float32), size, np.empty(size, dtype=np.int32),
                         np.empty(size, dtype=np.float32))  # single precision, e^(x - 0)
    reference = np.exp(x.astype(np.float32).astype(np.float64))
    kept = reference > 1e-37  # float32's normal range; below e^-87 the polynomial gives 0
    assert np.all(np.abs(row[kept] - reference[kept]) <= 3e-7 * reference[kept])
    assert np.all(row[x.astype(np.float32) <= -87.0] == 0.0)

    positive = np.exp(rng.uniform(-80.0, 80.0, size)).astype(np.float32)
    logs = positive.copy()
    kernels._log_positive(logs, size, np.empty(size, dtype=np.int32))
    assert np.all(np.abs(logs - np.log(positive.astype(np.float64))) <= 3e-7 * np.maximum(1.0, np.abs(np.log(positive.astype(np.float64)))))


def test_what_neighbours_hear_starts_on_a_cache_line():
    """The walk reads voices' rows at random: a row must not straddle two cache lines (it costs half as much again)."""
    data = small_data(days=1, population={"users": 3000}, engine="compiled", events=[])
    model = AttentionModel(Scenario.model_validate(data), 1)
    assert model.compiled.voices.ctypes.data % 64 == 0
    assert model.compiled.voices.strides[0] == 32  # 2 brands x 4 figures + 1 social sink, padded to 16 columns


def test_auto_engine_is_numpy_for_small_populations_and_compiled_from_the_threshold():
    assert resolve_engine("auto", COMPILED_FROM - 1) == "numpy"
    assert resolve_engine("auto", COMPILED_FROM) == "compiled"
    assert resolve_engine("numpy", 10**7) == "numpy"


def test_compiled_engine_without_numba_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    with pytest.raises(ScenarioError, match="engine: 'compiled' needs numba"):
        resolve_engine("compiled", 100)
    assert resolve_engine("auto", 10**6) == "numpy"  # auto falls back


def _figures(model: AttentionModel) -> dict:
    pop = model.population
    return {"slots": pop.slots.copy(), "awareness": pop.awareness.copy(), "trust": pop.trust.copy(),
            "purchases": pop.purchases.copy(), "impressions": model.impressions.copy(),
            "brands": [(b.impressions_total, b.sales_total, b.clicks_total, b.answers_today) for b in model.brands]}


@pytest.mark.parametrize("users", [9_000, 5 * kernels.CHUNK + 123])  # chunks of 1,024 and of 4,096 users
def test_results_do_not_depend_on_the_number_of_threads(users):
    """Per-chunk random streams and partial sums: one thread or all of them give the same run, bit for bit."""
    assert kernels.chunks(users) >= kernels.MIN_CHUNKS // 2
    data = small_data(days=8, population={"users": users}, engine="compiled")
    runs = []
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            model = AttentionModel(Scenario.model_validate(data))
            for _ in range(model.days):
                model.step()
            runs.append(_figures(model))
    finally:
        numba.set_num_threads(before)
    if len(runs) == 1:
        pytest.skip("one core only: nothing to compare")
    one, many = runs
    for name in one:
        np.testing.assert_array_equal(np.asarray(one[name]), np.asarray(many[name]), err_msg=name)


KPIS = ("adopters", "awareness", "trust", "sales", "impressions", "reach", "fans", "visitors", "clicks")


def _kpis(scenario: Scenario, seed: int) -> dict[str, float]:
    result = run_simulation(scenario, seed)
    last = result.brands[result.brands["day"] == result.brands["day"].max()].set_index("brand")
    figures = {f"{brand}/{kpi}": float(last.loc[brand, kpi]) for brand in last.index for kpi in KPIS}
    for sink, share in result.sinks.groupby("sink")["share"].mean().items():
        figures[f"{sink}/share"] = float(share)
    figures["total_sales"] = float(result.brands["sales"].sum())
    return figures


@pytest.mark.parametrize("network", ["barabasi_albert", "complete"])
def test_compiled_and_numpy_engines_agree_in_distribution(network):
    """Over replications, every KPI's mean agrees between the two engines within sampling error."""
    base = load_scenario(SCENARIOS / "relational_vs_billboard.yaml",
                         ["population.users=3000", "days=90", f"network.kind={network}"]).scenario
    seeds = range(10)
    runs = {engine: [_kpis(base.model_copy(update={"engine": engine}), seed) for seed in seeds]
            for engine in ("numpy", "compiled")}
    far = []
    for key in runs["numpy"][0]:
        a = np.array([r[key] for r in runs["numpy"]])
        b = np.array([r[key] for r in runs["compiled"]])
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        if se == 0:
            assert a.mean() == b.mean(), key
        elif abs(a.mean() - b.mean()) > 4.5 * se:
            far.append((key, a.mean(), b.mean(), se))
    assert not far, far


def test_compiled_engine_matches_its_golden_values():
    """Seeded regression of the compiled path (regenerate with UPDATE_GOLDEN=1 for a deliberate change)."""
    scenario = load_scenario(SCENARIOS / "relational_vs_billboard.yaml", ["engine=compiled"]).scenario
    check_golden(summary_figures(scenario), GOLDEN)


def test_sweep_workers_share_the_cores_and_give_the_in_process_results():
    """Local workers run compiled runs with cores / workers threads each; the rows are those of one process."""
    from simulation.experiments.executors import LocalExecutor
    from simulation.experiments.tasks import RunTask

    data = small_data(days=6, population={"users": 2 * kernels.CHUNK + 7}, engine="compiled", events=[])
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
    """The inverse of kernels.mix64 (splitmix64's finaliser is a bijection)."""
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
    assert int(kernels.mix64(key)) == 2**64 - 1
    assert np.float32(kernels._unit(key, np.uint64(0))) == 1.0  # what float32 does to the 53-bit draw
    assert kernels._unit32(key, np.uint64(0)) == np.float32(1 - 2**-24)


def test_run_says_when_the_kernels_are_compiled_for_the_first_time(monkeypatch, capsys, tmp_path):
    from simulation.cli import main

    assert isinstance(kernels.compiled_on_disk(), bool)
    args = ["run", str(SCENARIOS / "classroom.yaml"), "--set", "engine=compiled", "--days", "2"]
    monkeypatch.setattr(kernels, "compiled_on_disk", lambda: False)
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert "Compiling the compiled engine's kernels" in capsys.readouterr().err
    monkeypatch.setattr(kernels, "compiled_on_disk", lambda: True)
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert "Compiling" not in capsys.readouterr().err
