"""Every report and record says what was run: file, SHA-256, overrides, days, seeds, engine."""

import hashlib
import json

import pytest

from simulation.cli import main
from tests.conftest import small_data


def test_a_run_report_states_its_overrides_and_adapts_its_words(tmp_path, write_yaml):
    data = small_data(days=20, events=[], description="Three brands with equal budgets.")
    path = write_yaml(data)
    out = tmp_path / "run"
    assert main(["run", str(path), "--set", "brands.Bill.budget_per_day=5", "--days", "8", "--out", str(out),
                 "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "- Overrides: `brands.Bill.budget_per_day=5`." in report and "- Days: 8; seed 3." in report
    assert "As written, the scenario file says: *Three brands with equal budgets.*" in report
    assert "The brands' budgets differ" in report and "| Bill | billboard | 5 units |" in report
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"SHA-256 `{digest[:16]}...`" in report
    record = json.loads((out / "summary.json").read_text())["provenance"]
    assert record["overrides"] == ["brands.Bill.budget_per_day=5"] and record["days"] == 8
    assert record["scenario_sha256"] == digest and record["seeds"] == [3] and record["engine"]["engine_digest"]


def test_without_overrides_the_report_says_so(tmp_path, write_yaml):
    out = tmp_path / "plain"
    assert main(["run", str(write_yaml(small_data(days=5, events=[]))), "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "- Overrides: none (the file as written)." in report and "The brands' budgets are equal." in report


def test_default_folders_differ_with_the_overrides(tmp_path, write_yaml, monkeypatch, capsys):
    path = write_yaml(small_data(days=5, events=[]))
    monkeypatch.chdir(tmp_path)
    folders = []
    for extra in ([], ["--set", "brands.Bill.budget_per_day=5"], ["--set", "brands.Bill.budget_per_day=6"],
                  ["--days", "4"]):
        assert main(["run", str(path), "--quiet", *extra]) == 0
        folders.append(capsys.readouterr().out.strip())
    assert folders[0] == "results/scenario-seed3/report.md"
    assert len(set(folders)) == 4 and all(f.startswith("results/scenario-seed3-") for f in folders[1:])
    assert main(["run", str(path), "--quiet", "--set", "brands.Bill.budget_per_day=5"]) == 2  # the same again: refused
    assert "not empty" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sweep_records_the_days_it_ran(tmp_path, write_yaml):
    out = tmp_path / "sweep"
    assert main(["sweep", str(write_yaml(small_data(days=40, events=[]))), "--vary", "brands.Bill.cpm=2,8",
                 "--replications", "2", "--days", "6", "--workers", "1", "--out", str(out), "--quiet",
                 "--set", "population.users=300"]) == 0
    record = json.loads((out / "sweep.json").read_text())
    spec = json.loads((out / "spec.json").read_text())
    assert record["days"] == spec["days"] == 6 and record["constant"]["days"] == 6
    assert record["overrides"] == ["population.users=300"] and len(record["seeds"]) == 2
    assert (out / "results.csv").exists() and (out / "report.html").exists()
    report = (out / "report.md").read_text()
    assert "- Days: 6; 2 seeds" in report and "`population.users=300`" in report


def test_an_experiment_default_folder_follows_every_flag_that_changes_it():
    from simulation.cli import _variant, build_parser

    def folder(*argv):
        return _variant(build_parser().parse_args(["compare", "f.yaml", *argv]))

    assert folder() == "" and folder("--workers", "2", "--quiet", "--force") == ""
    variants = [folder("--arm", "a:"), folder("--arm", "b:"), folder("--seed", "5"), folder("--replications", "3"),
                folder("--set", "population.users=300"), folder("--days", "3")]
    assert len(set(variants)) == len(variants) and all(v.startswith("-") for v in variants)
    assert folder("--arm", "a:") == folder("--arm", "a:")  # the same command, the same folder (a sweep resumes)
    sweep = build_parser().parse_args(["sweep", "f.yaml", "--vary", "market.q=0.1,0.2"])
    assert _variant(sweep) != _variant(build_parser().parse_args(["sweep", "f.yaml", "--vary", "market.q=0.1,0.3"]))
