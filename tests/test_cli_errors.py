"""Bad input through the CLI: exit code 2, one clear message, no output folder."""

import pytest
import yaml

from simulation.cli import main
from tests.conftest import small_data


def run_bad(path, tmp_path, capsys, *extra):
    out = tmp_path / "out"
    code = main(["run", str(path), "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not out.exists()
    assert "Traceback" not in err
    assert err.startswith("error: ")
    return err


def test_missing_file(tmp_path, capsys):
    err = run_bad(tmp_path / "nope.yaml", tmp_path, capsys)
    assert "nope.yaml" in err and "no such scenario file" in err


def test_yaml_syntax_error_names_the_line(tmp_path, capsys, write_yaml):
    path = write_yaml("name: x\nsinks:\n  - {name: a, kind: social\nbrands: []\n")
    err = run_bad(path, tmp_path, capsys)
    assert f"{path}:" in err and "YAML syntax error" in err
    assert any(f"{path}:{n}:" in err for n in (3, 4))


def test_unknown_key_suggests_the_nearest(tmp_path, capsys, write_yaml):
    data = small_data()
    data["brands"][1]["budget_per_dya"] = 10
    path = write_yaml(data)
    err = run_bad(path, tmp_path, capsys)
    assert "brands[1].budget_per_dya" in err and "did you mean 'budget_per_day'" in err
    line = yaml.safe_dump(data, sort_keys=False).splitlines().index("  budget_per_dya: 10") + 1
    assert f"{path}:{line}:" in err


def test_wrong_type(tmp_path, capsys, write_yaml):
    data = small_data()
    data["population"]["users"] = "many"
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "population.users" in err and "expected a valid integer" in err and "'many'" in err


def test_value_out_of_range(tmp_path, capsys, write_yaml):
    data = small_data()
    data["sinks"][0]["ad_load"] = 99
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "sinks[0].ad_load" in err and "less than or equal to 20" in err and "99" in err


def test_negative_budget(tmp_path, capsys, write_yaml):
    data = small_data()
    data["brands"][0]["budget_per_day"] = -5
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "brands[0].budget_per_day" in err and "greater than or equal to 0" in err and "-5" in err


def test_no_brands(tmp_path, capsys, write_yaml):
    data = small_data(brands=[])
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "brands" in err and "at least 1 item" in err


def test_two_brands_with_one_name(tmp_path, capsys, write_yaml):
    data = small_data()
    data["brands"][1]["name"] = "Rel"
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "brands[1].name" in err and "two brands are named 'Rel'" in err


def test_reference_to_a_sink_that_does_not_exist(tmp_path, capsys, write_yaml):
    data = small_data()
    data["brands"][1]["ad_sinks"] = ["socail"]
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "brands[1].ad_sinks[0]" in err and "no sink named 'socail'" in err and "did you mean 'social'" in err


def test_event_for_an_unknown_brand(tmp_path, capsys, write_yaml):
    data = small_data()
    data["events"][1]["brand"] = "Nobody"
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "events[1].brand" in err and "no brand named 'Nobody'" in err


def test_unreadable_graph_file(tmp_path, capsys, write_yaml):
    graph = tmp_path / "graph.graphml"
    graph.write_text("<graphml><this is not xml")
    data = small_data(network={"kind": "file", "path": "graph.graphml"})
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "graph.graphml" in err and "cannot read the graph" in err


def test_missing_graph_file(tmp_path, capsys, write_yaml):
    data = small_data(network={"kind": "file", "path": "missing.txt"})
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "missing.txt" in err and "no such graph file" in err


def test_bad_override(tmp_path, capsys, write_yaml):
    path = write_yaml(small_data())
    err = run_bad(path, tmp_path, capsys, "--set", "brands.Bill.budget_per_day=-1")
    assert "--set brands.Bill.budget_per_day=-1" in err and "greater than or equal to 0" in err
    err = run_bad(path, tmp_path, capsys, "--set", "population.usres=5")
    assert "did you mean 'users'" in err


def test_not_a_mapping(tmp_path, capsys, write_yaml):
    err = run_bad(write_yaml("- just\n- a list\n"), tmp_path, capsys)
    assert "expected a mapping" in err


def test_validate_says_ok_or_explains(tmp_path, capsys, write_yaml):
    assert main(["validate", str(write_yaml(small_data()))]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
    data = small_data()
    data["sinks"][0]["kind"] = "socal"
    assert main(["validate", str(write_yaml(data))]) == 2
    err = capsys.readouterr().err
    assert "sinks[0].kind" in err and "'socal'" in err


def test_refuses_a_non_empty_out_and_replaces_only_its_own(tmp_path, capsys, write_yaml):
    path = write_yaml(small_data(days=3))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    # --force never replaces a folder it did not write
    assert main(["run", str(path), "--out", str(out), "--quiet", "--force"]) == 2
    assert "was not written by Attention Market" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    ours = tmp_path / "ours"
    assert main(["run", str(path), "--out", str(ours), "--quiet"]) == 0
    (ours / "report.md").write_text("old")
    assert main(["run", str(path), "--out", str(ours), "--quiet", "--force"]) == 0
    assert (ours / "report.md").read_text() != "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind


@pytest.mark.parametrize("where", [".", "..", "~"])
def test_never_writes_into_the_current_or_home_folder(tmp_path, capsys, write_yaml, monkeypatch, where):
    path = write_yaml(small_data(days=3))
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("precious")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(work))
    out = str(work) if where == "~" else where
    assert main(["run", str(path), "--out", out, "--quiet", "--force"]) == 2
    assert "give a new folder" in capsys.readouterr().err
    assert (work / "notes.txt").read_text() == "precious" and path.exists()


def test_refuses_an_out_folder_holding_the_scenario(tmp_path, capsys, write_yaml):
    path = write_yaml(small_data(days=3))
    assert main(["run", str(path), "--out", str(tmp_path), "--quiet", "--force"]) == 2
    assert path.exists()


def test_usage_errors_exit_2(capsys):
    assert main(["run"]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["run", "x.yaml", "--days", "ten"]) == 2


def test_unwritable_out_is_a_clear_error(tmp_path, capsys, write_yaml):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    code = main(["run", str(write_yaml(small_data(days=2))), "--out", str(blocker / "sub"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write there" in err and "Traceback" not in err


def test_a_key_written_twice_is_an_error(tmp_path, capsys, write_yaml):
    text = yaml.safe_dump(small_data(), sort_keys=False) + "market:\n  p: 0.5\nmarket:\n  q: 0.1\n"
    err = run_bad(write_yaml(text), tmp_path, capsys)
    assert "'market' is written twice" in err


def test_validate_agrees_with_run(tmp_path, capsys, write_yaml):
    data = small_data(population={"users": 3})  # barabasi_albert with m=3 needs more users
    path = write_yaml(data)
    assert main(["validate", str(path)]) == 2
    assert "network.m" in capsys.readouterr().err
    run_bad(path, tmp_path, capsys)


def test_a_scenario_too_big_for_memory_is_refused_before_building(tmp_path, capsys, write_yaml):
    err = run_bad(write_yaml(small_data(population={"users": 50_000_000})), tmp_path, capsys)
    assert "GB" in err and "use fewer users" in err


def test_close_before_launch_and_double_close_are_errors(tmp_path, capsys, write_yaml):
    data = small_data()
    data["events"].append({"type": "platform_close", "day": 5, "sink": "newcomer"})
    data["events"].append({"type": "platform_close", "day": 35, "sink": "news"})
    err = run_bad(write_yaml(data), tmp_path, capsys)
    assert "before it launches on day 10" in err and "'news' is already closed" in err


def test_unicode_names_and_a_name_that_looks_like_an_index(tmp_path, capsys, write_yaml):
    data = small_data(days=2)
    data["sinks"][0]["name"] = "Réseau social"
    data["sinks"][2]["name"] = "3"
    data["events"] = []
    path = write_yaml(data)
    from simulation.scenario import load_scenario

    scenario = load_scenario(path, ["sinks.3.appeal=2.5"]).scenario
    assert scenario.sinks[2].appeal == 2.5 and scenario.sinks[3].appeal == -0.5  # the name wins
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 0


def test_events_after_the_last_day_are_reported(tmp_path, capsys, write_yaml):
    out = tmp_path / "o"
    assert main(["run", str(write_yaml(small_data())), "--days", "12", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "the crisis event on day 15 was not reached" in err
    assert "not reached: crisis on day 15" in (out / "report.md").read_text()
