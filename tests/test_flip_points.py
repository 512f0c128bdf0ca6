"""The flip-point page says where a verdict changes sign, and only there."""

import importlib.util
import sys

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("flip_points", ROOT / "scripts" / "flip_points.py")
flip_points = importlib.util.module_from_spec(spec)
sys.modules["flip_points"] = flip_points  # (dataclasses look their module up)
spec.loader.exec_module(flip_points)


def rows(*verdicts, means=(-1.0, -0.5, 0.5, 1.0)):
    return [{"value": v, "mean": m, "low": 0.0, "high": 0.0, "verdict": verdict}
            for v, m, verdict in zip((1, 2, 4, 8), means, verdicts)]


def test_a_flip_is_between_neighbours_with_opposite_verdicts():
    probe = flip_points.Probe("C0", "", "relational_vs_billboard", "market.q", [1, 2, 4, 8], lambda s: 0.0)
    assert flip_points.flip_sentence(probe, rows("fails", "fails", "holds", "holds")) == \
        "flips between market.q = 2 and 4."
    assert flip_points.flip_sentence(probe, rows("fails", "not told", "not told", "holds")) == (
        "flips: fails at market.q = 1, holds at 8, not told from noise between; the mean changes sign between 2 and 4.")
    assert flip_points.flip_sentence(probe, rows("holds", "holds", "not told", "holds")).startswith(
        "holds at every value told from noise")
    assert flip_points.flip_sentence(probe, rows("not told", "not told", "not told", "not told")) == \
        "never told from noise on this grid."


def test_every_claim_has_a_probe_whose_parameter_is_a_key_of_its_scenario():
    from simulation.experiments.tasks import scenario_with
    from simulation.scenario import load_scenario

    assert [p.claim for p in flip_points.PROBES] == [f"C{i}" for i in range(1, 11)]
    for probe in flip_points.PROBES:
        data = load_scenario(flip_points.SCENARIOS / f"{probe.scenario}.yaml").scenario.model_dump(mode="json")
        data["sinks"] += list(probe.extra_sinks)
        for value in probe.values:
            for arm in probe.arms:  # every run the page makes is a valid scenario
                scenario_with(data, probe.base + flip_points.value_overrides(probe, value) + arm)
