"""Sensitivity analysis finds the parameter that matters and the one that cannot."""

import pandas as pd
import pytest

from simulation.cli import main
from tests.conftest import small_data

pytestmark = pytest.mark.slow

PARAMS = ["--param", "brands.Bill.budget_per_day=5:60", "--param", "brands.Rel.price=10:90"]


@pytest.mark.parametrize("method,samples", [("sobol", "16"), ("morris", "6")])
def test_indices_tell_an_active_parameter_from_an_inert_one(tmp_path, write_yaml, method, samples):
    """Bill's budget drives its impressions; Rel's price cannot change Bill's impressions at all."""
    out = tmp_path / method
    path = write_yaml(small_data(days=10, events=[], population={"users": 300}))
    code = main(["sensitivity", str(path), "--method", method, "--samples", samples, "--kpi", "Bill/impressions",
                 "--workers", "2", "--out", str(out), "--quiet", *PARAMS])
    assert code == 0
    indices = pd.read_csv(out / "indices.csv").set_index("parameter")
    budget, price = indices.loc["brands.Bill.budget_per_day"], indices.loc["brands.Rel.price"]
    if method == "sobol":
        assert budget["ST"] > 0.5 and abs(price["ST"]) < 0.05 and abs(price["S1"]) < 0.05
    else:
        assert budget["mu_star"] > 0 and price["mu_star"] == 0
    assert (out / "indices.png").exists() and "Sensitivity of Bill/impressions" in (out / "report.md").read_text()
    # resumable like a sweep: the same command again runs nothing new and gives the same indices
    assert main(["sensitivity", str(path), "--method", method, "--samples", samples, "--kpi", "Bill/impressions",
                 "--workers", "1", "--out", str(out), "--quiet", *PARAMS]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "indices.csv").set_index("parameter"), indices)


@pytest.mark.parametrize("argv,message", [
    (["--samples", "10", *PARAMS], "power of two"),
    (["--param", "brands.Bill.budgt=1:2"], "did you mean 'budget_per_day'"),
    (["--param", "market.q=0.5:0.1"], "lo (0.5) is greater than hi (0.1)"),
    (["--param", "market.q=0.1,0.2"], "expected a range"),
    (["--kpi", "Bill/salez", *PARAMS], "no KPI named 'salez'"),
    (["--kpi", "Nobody/sales", *PARAMS], "no brand named 'Nobody'"),
])
def test_sensitivity_bad_input(tmp_path, write_yaml, capsys, argv, message):
    out = tmp_path / "s"
    code = main(["sensitivity", str(write_yaml(small_data(days=3))), "--out", str(out), "--quiet", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()
