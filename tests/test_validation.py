"""The check-model checks, at the --quick sizes: the model reproduces published results."""

from pathlib import Path

import pytest

from simulation.checks import validation
from simulation.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def baseline():
    return validation._baseline(quick=True)


def test_bass_mean_field_for_three_published_pairs():
    check = validation.check_bass_mean_field(quick=True)
    assert check.passed, check.details


def test_bass_on_a_ring_follows_fibich_and_gibori():
    check = validation.check_bass_ring(quick=True)
    assert check.passed, check.details


def test_networks_lie_between_ring_and_mean_field_and_spread_widens_with_q_over_p():
    check = validation.check_bounds(quick=True)
    assert check.passed, check.details


def test_click_through_about_a_tenth_of_a_percent_and_wearing_out(baseline):
    check = validation.check_advertising_response(quick=True, baseline=baseline)
    assert check.passed, check.details


def test_web_2010_reproduces_the_nielsen_split_within_a_point(baseline):
    check = validation.check_calibration(quick=True, baseline=baseline)
    assert check.passed, check.details


def test_out_of_sample_2009_moves_toward_2010():
    check = validation.check_out_of_sample(quick=True)
    assert check.passed, check.details


def test_platform_membership_is_an_s_curve_without_a_hype_wave():
    check = validation.check_platform_adoption(quick=True)
    assert check.passed, check.details


def test_referrals_outweigh_marketing_as_in_trusov_bucklin_pauwels():
    check = validation.check_referrals_vs_marketing(quick=True)
    assert check.passed, check.details


def test_crisis_opinion_recovers_with_and_without_answers():
    check = validation.check_crisis_half_life(quick=True)
    assert check.passed, check.details


def test_check_model_writes_its_report(tmp_path, monkeypatch):
    """The command itself, with the slow checks replaced by the fast ones (each is tested above)."""
    monkeypatch.setattr(validation, "CHECKS", ())
    monkeypatch.setattr(validation, "PATTERNS", ())
    assert main(["check-model", "--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "validation.md").read_text()
    assert "## 1. Pattern 1: the split of online time in June 2010: PASS" in text
    assert "## 2. Pattern 6: display click-through: PASS" in text
    assert (tmp_path / "validation" / "calibration.png").exists()


def test_a_quick_check_never_overwrites_the_committed_docs(tmp_path, monkeypatch, capsys):
    """Without --out, --quick writes into a new temporary folder and says where; docs/ is untouched."""
    monkeypatch.setattr(validation, "CHECKS", ())
    monkeypatch.setattr(validation, "PATTERNS", ())
    monkeypatch.chdir(tmp_path)  # a docs/ here would be where the old default wrote
    assert main(["check-model", "--quick"]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written.name == "validation.md" and written.exists()
    assert written.parent.name.startswith("attention-market-check-") and not (tmp_path / "docs").exists()
