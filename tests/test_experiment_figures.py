"""Every figure of compare and sweep, rendered from small experiments and read as a person would."""

import numpy as np
import pandas as pd
import pytest

from simulation.experiments.compare import Arm, compare
from simulation.experiments.executors import LocalExecutor
from simulation.experiments.figures import (figure_forest, figure_heatmap, figure_kpis_against, figure_over_time,
                                            heatmap_table)
from simulation.scenario import Scenario
from tests.conftest import small_data, well_known
from tests.figure_checks import check_figure, event_days


@pytest.fixture(scope="module")
def comparison():
    scenario = Scenario.model_validate(well_known(small_data(days=25, market={"p": 0.2}), awareness=0.9))
    return scenario, compare(scenario, replications=3, executor=LocalExecutor(1),
                             arms=[Arm("cheap"), Arm("dear", ("brands.Bill.price=100",))])


def test_the_forest_plot_has_a_panel_per_decisive_kpi_and_a_row_per_pair(comparison):
    scenario, result = comparison
    fig = figure_forest(result.verdict.differences, currency="EUR", replications=3)
    check_figure(fig, suptitle=True)
    axes = fig.get_axes()
    assert [ax.get_title(loc="left").split(":")[0] for ax in axes] == \
        ["sales", "revenue", "ROI", "cost per acquisition", "trust"]
    for ax in axes:
        assert [t.get_text() for t in ax.get_yticklabels()] == ["dear minus cheap"]
        lo, hi = ax.get_xlim()
        assert lo < 0 < hi  # the zero line is always in view
    notes = [t.get_text() for t in axes[1].texts]
    assert any(n.endswith("favours dear") for n in notes)  # revenue: a dearer price earns more
    assert any("not told from 0" in t.get_text() for t in axes[0].texts)  # sales: identical


def test_the_bands_over_time_mark_events_and_stay_above_zero_for_counts(comparison):
    scenario, result = comparison
    events = [(e.day, e.type) for e in scenario.events]
    fig = figure_over_time(result.series[result.series["brand"] == "Bill"], ["arm"], replications=3,
                           events=events)
    sales, revenue, roi, trust = fig.get_axes()
    check_figure(fig, suptitle=True, counts=[sales, revenue])
    for ax in (sales, revenue, roi, trust):
        assert event_days(ax) == [float(d) for d, _ in events]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["cheap", "dear"]


def _sweep_results() -> pd.DataFrame:
    """A sweep's results table as `sweep` writes it: two varied parameters, two brands, two replications."""
    rows = []
    rng = np.random.default_rng(0)
    for x in (10, 50, 200):
        for y in (0.01, 0.1):
            for r in range(2):
                rows.append({"param:brands.A.budget_per_day": x, "param:market.q": y, "status": "ok", "replication": r,
                             **{f"{b}/{k}": rng.uniform(1, 100) for b in ("A", "B") for k in
                                ("sales", "revenue", "roi", "cost_per_acquisition", "trust", "adopters")}})
    return pd.DataFrame(rows)


def test_the_sweep_figures_are_titled_labelled_and_legends_stay_off_the_data():
    results = _sweep_results()
    fig = figure_kpis_against(results, "param:brands.A.budget_per_day", ["A", "B"], several=True,
                              kpis=("sales", "revenue", "roi", "cost_per_acquisition", "trust", "adopters"))
    axes = [ax for ax in fig.get_axes() if ax.get_visible()]
    check_figure(fig, suptitle=True, counts=[axes[0], axes[5]])
    assert "spread over the other varied parameters" in fig.get_suptitle()


@pytest.mark.parametrize("shift,cmap", [(0.0, "viridis"), (-50.0, "RdBu")])
def test_the_heat_map_writes_every_cell_and_diverges_only_around_zero(shift, cmap):
    results = _sweep_results()
    results["difference"] = results["B/roi"] + shift  # all positive, or of both signs
    table = heatmap_table(results, "param:brands.A.budget_per_day", "param:market.q", "difference")
    fig = figure_heatmap(table, "param:brands.A.budget_per_day", "param:market.q", label="ROI of B minus ROI of A",
                         title="ROI of B minus ROI of A, mean over replications")
    check_figure(fig)
    ax = fig.get_axes()[0]
    assert ax.images[0].get_cmap().name == cmap
    assert len(ax.texts) == table.size == 6
    assert ax.get_title() == "ROI of B minus ROI of A, mean over replications"
