"""Tables: CSV and Parquet twins with the same column types, every column in the data dictionary."""

import json

import pandas as pd
import pytest

from simulation.cli import main
from simulation.outputs import dictionary
from simulation.outputs.tables import format_float
from tests.conftest import small_data


def test_a_float_keeps_its_point_in_the_csv():
    assert [format_float(x) for x in (3.0, 0.5, 1e20, -2.0, float("nan"), 1 / 3)] == \
        ["3.0", "0.5", "1e+20", "-2.0", "", "0.3333333333"]


@pytest.mark.slow
def test_every_table_of_a_run_has_twins_of_one_type_and_a_dictionary_entry(tmp_path, write_yaml):
    data = small_data(days=12)
    data["collect"] = {"sample_users": 5}
    out = tmp_path / "run"
    assert main(["run", str(write_yaml(data)), "--out", str(out), "--quiet"]) == 0
    entries = pd.read_csv(out / "data_dictionary.csv")
    for name in ("sinks", "brands", "model", "users"):
        csv, parquet = pd.read_csv(out / f"{name}.csv"), pd.read_parquet(out / f"{name}.parquet")
        assert dict(csv.dtypes) == dict(parquet.dtypes), name
        listed = set(entries[entries["table"] == f"{name}.csv"]["column"])
        assert set(csv.columns) == listed, name
    listed = set(entries[entries["table"] == "summary.json"]["column"])
    summary = json.loads((out / "summary.json").read_text())
    assert listed == set(dictionary.KPIS) | set(dictionary.SUMMARY_EXTRA)
    assert all(set(figures) <= listed for figures in summary["brands"].values())
    money = entries[entries["column"].isin(["revenue", "spend"])]["unit"]
    assert (money == "units").all() and not entries["unit"].str.contains("{", regex=False).any()


@pytest.mark.slow
def test_the_currency_is_shown_with_money(tmp_path, write_yaml):
    data = small_data(days=5, events=[])
    data["currency"] = "EUR"
    out = tmp_path / "eur"
    assert main(["run", str(write_yaml(data)), "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "revenue (EUR)" in report and "spend (EUR)" in report and " EUR |" in report
    entries = pd.read_csv(out / "data_dictionary.csv")
    assert set(entries[entries["column"] == "revenue"]["unit"]) == {"EUR"}


def _expanded(columns) -> set[str]:
    """Dictionary entries such as '<kpi>_mean, <kpi>_low' as the column names they stand for."""
    from simulation.experiments.compare import DECISIVE

    names = set()
    for entry in columns:
        for name in entry.split(", "):
            names |= {name.replace("<kpi>", kpi) for kpi, _ in DECISIVE} if "<kpi>" in name else {name}
    return names


@pytest.mark.slow
def test_every_column_compare_writes_is_in_its_dictionary(tmp_path, write_yaml):
    out = tmp_path / "cmp"
    assert main(["compare", str(write_yaml(small_data(days=6, events=[]))), "--replications", "2", "--workers", "1",
                 "--out", str(out), "--quiet"]) == 0
    listed = _expanded(pd.read_csv(out / "data_dictionary.csv")["column"])
    for table in ("runs", "verdict", "differences"):
        missing = set(pd.read_csv(out / f"{table}.csv").columns) - listed
        assert not missing, (table, missing)
