"""`run` writes every output a strategist reads, and the report says what the tables say."""

import json
import re

import pandas as pd

from simulation.cli import main
from simulation.outputs.metrics import BRAND_REPORTERS, SINK_REPORTERS
from tests.conftest import small_data

KPIS = {"impressions", "reach", "frequency", "clicks", "fans", "engaged_minutes", "awareness", "trust", "adopters",
        "sales", "revenue", "spend", "roi", "cost_per_acquisition"}


def test_run_writes_every_output(tmp_path, write_yaml, capsys):
    out = tmp_path / "out"
    assert main(["run", str(write_yaml(small_data())), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.md")
    expected = {".attention-market", "summary.json", "report.md", "report.html", "data_dictionary.csv",
                "attention_share.png", "vanity_vs_outcome.png", "adoption.png"}
    for table in ("sinks", "brands", "model"):
        expected |= {f"{table}.csv", f"{table}.parquet"}
    assert {p.name for p in out.iterdir()} == expected
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000

    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["brands"]) == {"Rel", "Bill", "Mix"}
    for figures in summary["brands"].values():
        assert KPIS <= set(figures)
    assert {"minutes", "share"} <= set(summary["sinks"]["social"])
    assert abs(sum(s["share"] for s in summary["sinks"].values()) - 1.0) < 1e-9
    prov = summary["provenance"]
    assert len(prov["scenario_sha256"]) == 64 and prov["seed"] == 3 and prov["packages"]["mesa"].startswith("3.")
    assert prov["resolved_scenario"]["population"]["users"] == 600

    brands = pd.read_csv(out / "brands.csv")
    assert list(brands.columns) == ["day", *BRAND_REPORTERS]
    assert list(pd.read_parquet(out / "sinks.parquet").columns) == ["day", *SINK_REPORTERS]
    assert len(brands) == 40 * 3
    # the report's figures are the summary's
    report = (out / "report.md").read_text()
    for image in re.findall(r"\]\(([^)]+\.png)\)", report):
        assert (out / image).exists()
    for name, figures in summary["brands"].items():
        assert f"| {name} | {figures['impressions']:,} | {figures['reach']:,} |" in report
        assert brands[brands.brand == name]["sales"].sum() == figures["sales"]
    assert "crisis" in report and "platform launch" in report


def test_a_run_report_names_no_winner_and_points_to_compare(tmp_path, write_yaml):
    """One run is one draw: the report never bolds a brand, and says how to get an answer."""
    out = tmp_path / "one"
    path = write_yaml(small_data(days=10, events=[]))
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "**one run**" in report and f"run.py compare {path} --replications 20" in report
    assert not re.search(r"\*\*(Rel|Bill|Mix)\b", report)
    assert "Most sales" not in report and "Best return" not in report


def test_provenance_records_the_days_and_seed_actually_run(tmp_path, write_yaml):
    out = tmp_path / "p"
    assert main(["run", str(write_yaml(small_data())), "--days", "5", "--seed", "77", "--out", str(out), "--quiet"]) == 0
    resolved = json.loads((out / "summary.json").read_text())["provenance"]["resolved_scenario"]
    assert resolved["days"] == 5 and resolved["seed"] == 77


def test_report_says_why_one_platform_holds_most_of_the_day(tmp_path, write_yaml):
    dominated = small_data(days=20)
    dominated["sinks"][0].update(appeal=4.0, network_effect=3.0)
    plain = small_data(days=20, events=[])
    plain["sinks"][0].update(appeal=-0.5)
    for data, name in ((dominated, "dominated"), (plain, "plain")):
        out = tmp_path / name
        assert main(["run", str(write_yaml(data, f"{name}.yaml")), "--out", str(out), "--quiet"]) == 0
        text = (out / "report.md").read_text()
        if name == "dominated":
            assert re.search(r"\*\*social held most of the day\*\*: \d+\.\d % of all minutes on day \d+", text)
            assert "appeal 4, novelty 0" in text and "network effect 3" in text
        else:
            assert "held most of the day" not in text
