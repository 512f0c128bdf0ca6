"""The figures of one run read without their code: titles, units, legends off the data, events marked,
brands' own sites on their own panel (tests/figure_checks.py measures the drawn figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from simulation.outputs import plots
from simulation.runner import run_simulation
from simulation.scenario import Scenario, load_scenario
from tests.conftest import SCENARIOS, small_data
from tests.figure_checks import check_counts, check_figure, draw, event_days

FILES = {"attention_share.png", "vanity_vs_outcome.png", "adoption.png"}
COUNT_TITLES = {"Platforms and sites, stacked", "Brands' own sites and pages", "Awareness",
                "Adoption: users who bought at least once", "Vanity: what was bought or attracted",
                "Outcome: what it earned"}


@pytest.fixture(scope="module")
def small_run():
    """40 days, 600 users, 3 brands, 4 events (a launch, a crisis, a budget change, a close)."""
    scenario = Scenario.model_validate(small_data())
    return run_simulation(scenario, scenario.seed, days=scenario.days)


def _run(path: str, days: int):
    scenario = load_scenario(SCENARIOS / path, ["population.users=2000"]).scenario
    return run_simulation(scenario, scenario.seed, days=days)


@pytest.fixture(scope="module")
def crisis_run():
    return _run("crisis.yaml", 150)


@pytest.fixture(scope="module")
def default_run():
    return _run("relational_vs_billboard.yaml", 60)


def _time_axes(figures: dict) -> list:
    return [*figures["attention_share.png"][0].axes, *figures["adoption.png"][0].axes]


def _check_run_figures(result) -> dict:
    figures = plots.run_figures(result)
    assert set(figures) == FILES
    for name, (fig, caption) in figures.items():
        assert isinstance(fig, Figure) and len(caption) > 40, name
        counts = [ax for ax in fig.axes if ax.get_title() in COUNT_TITLES]
        check_figure(fig, suptitle=True, counts=counts)
    return figures


def _check_brand_panel(result, fig: Figure) -> None:
    """Below the stack, a panel of the brands' own sites: a line per brand, its share of minutes in %."""
    top, bottom = fig.axes
    assert bottom.get_title() == "Brands' own sites and pages" and "%" in bottom.get_ylabel()
    lines = [line for line in bottom.get_lines() if line.get_gid() != plots.EVENT_GID]
    brands = list(result.summary["brands"])
    assert [line.get_label() for line in lines] == [f"{b} (site)" for b in brands]
    sinks = result.sinks
    for line in lines:
        rows = sinks[sinks.sink == line.get_label()]
        assert (rows["kind"] == plots.BRAND_KIND).all()
        np.testing.assert_allclose(line.get_ydata(), 100 * rows["share"].to_numpy())
    # the stack above holds every other sink, and no brand's site
    stacked = [t.get_text() for t in top.get_legend().get_texts()]
    assert not set(stacked) & {line.get_label() for line in lines}
    assert set(stacked) == set(sinks[(sinks.kind != plots.BRAND_KIND) & (sinks.share > 0)].sink)


def _check_event_lines(result, figures: dict) -> None:
    days = sorted({float(e["day"]) for e in result.summary["events"]})
    for ax in _time_axes(figures):
        assert event_days(ax) == days, ax.get_title()
        labels = [t.get_text() for sec in ax.child_axes for t in sec.get_xticklabels()]
        for e in result.summary["events"]:
            assert any(plots.event_label(e) in text for text in labels), (ax.get_title(), labels)


def test_small_run_figures_read(small_run):
    figures = _check_run_figures(small_run)
    _check_brand_panel(small_run, figures["attention_share.png"][0])
    _check_event_lines(small_run, figures)
    assert len(small_run.summary["events"]) == 4
    assert "day 15: crisis: Bill" in figures["adoption.png"][1]


def test_crisis_run_figures_read(crisis_run):
    figures = _check_run_figures(crisis_run)
    _check_brand_panel(crisis_run, figures["attention_share.png"][0])
    assert [e["day"] for e in crisis_run.summary["events"]] == [120]
    _check_event_lines(crisis_run, figures)


def test_default_run_figures_read(default_run):
    figures = _check_run_figures(default_run)
    _check_brand_panel(default_run, figures["attention_share.png"][0])
    assert default_run.summary["events"] == []
    for ax in _time_axes(figures):
        assert event_days(ax) == [] and not ax.child_axes


def test_the_old_builders_still_work(small_run):
    """report.py calls these until it switches to run_figures."""
    for fig in (plots.figure_attention(small_run.sinks), plots.figure_vanity_outcome(small_run.summary),
                plots.figure_adoption(small_run.brands)):
        check_figure(fig, suptitle=True)


def test_attention_share_by_default_stacks_every_sink(small_run):
    """The dashboard's chart: brands' sites in the stack, in %, up to 100."""
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = plots.attention_share(small_run.sinks, fig.subplots())
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"Rel (site)", "Bill (site)", "Mix (site)"} <= labels
    top = np.max(np.concatenate([p.vertices[:, 1] for c in ax.collections for p in c.get_paths()]))
    assert top == pytest.approx(100, abs=1e-6)
    check_figure(fig)


def test_labels_close_in_time_go_on_another_row():
    brands = pd.DataFrame({"day": np.arange(1, 101), "brand": "A", "adopters": np.arange(100)})
    events = [{"day": 50, "type": "crisis", "brand": "A"}, {"day": 52, "type": "platform_launch", "sink": "Blog"},
              {"day": 52, "type": "budget_change", "brand": "A"}, {"day": 90, "type": "copy", "brand": "A",
                                                                    "copies": "B"}]
    fig = Figure(figsize=(6, 3), layout="constrained")
    ax = plots.brand_metric(brands, "adopters", fig.subplots(), title="t", events=events, count=True)
    assert event_days(ax) == [50, 52, 90]
    (sec,) = ax.child_axes
    assert [t.get_text() for t in sec.get_xticklabels()] == ["crisis: A", "Blog opens / A: budget\n", "A copies B"]
    check_figure(fig, counts=[ax])
    # an event outside the days drawn is not marked
    fig = Figure()
    assert event_days(plots.brand_metric(brands, "adopters", fig.subplots(), events=[{"day": 500, "type": "x"}])) == []


# ---- the checks themselves catch what they are for

def _plain(legend: dict | None = None) -> tuple[Figure, object]:
    fig = Figure(figsize=(6, 3), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set(title="t", xlabel="x", ylabel="y")
    if legend is not None:
        ax.legend(**legend)
    return fig, ax


def test_check_figure_catches_a_legend_on_the_data():
    fig, _ = _plain({"loc": "upper left", "bbox_to_anchor": (1.01, 1)})
    check_figure(fig)
    fig, _ = _plain({"loc": "upper left"})
    with pytest.raises(AssertionError, match="overlaps the data area of axes 0"):
        check_figure(fig)


def test_check_figure_catches_a_legend_over_another_axes():
    fig = Figure(figsize=(8, 3))  # no layout, which would move the neighbour away
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        ax.plot([0, 1], [0, 1], label="a line")
        ax.set(title="t", xlabel="x", ylabel="y")
    left.legend(loc="center left", bbox_to_anchor=(1.1, 0.5))  # outside its own axes, on its neighbour's
    with pytest.raises(AssertionError, match="overlaps the data area of axes 1"):
        check_figure(fig)


def test_check_figure_catches_a_legend_cut_off_by_the_figure():
    fig = Figure(figsize=(6, 3))  # no layout: nothing makes room
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="a line with a long name")
    ax.set(title="t", xlabel="x", ylabel="y")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    with pytest.raises(AssertionError, match="cut off"):
        check_figure(fig)


def test_check_figure_catches_a_label_cut_off_by_the_figure():
    fig = Figure(figsize=(4, 2.5))  # no layout: the default margins are too small for a big x label
    ax = fig.subplots()
    ax.set(title="t", ylabel="y")
    ax.set_xlabel("a label on\nthree lines\nat the bottom", fontsize=14)
    with pytest.raises(AssertionError, match="cut off by the edge of the figure"):
        check_figure(fig)
    fig.set_layout_engine("constrained")
    check_figure(fig)


@pytest.mark.parametrize("missing", ["title", "xlabel", "ylabel"])
def test_check_figure_catches_a_missing_title_or_label(missing):
    fig, ax = _plain()
    ax.set(**{missing: ""})
    with pytest.raises(AssertionError, match="no title" if missing == "title" else f"no {missing[0]} label"):
        check_figure(fig)
    check_figure(fig, exempt=[ax])


def test_check_figure_suptitle_and_colorbar():
    fig, ax = _plain()
    with pytest.raises(AssertionError, match="no suptitle"):
        check_figure(fig, suptitle=True)
    fig.suptitle("what it shows")
    image = ax.imshow([[0, 1], [2, 3]])
    bar = fig.colorbar(image)
    with pytest.raises(AssertionError, match="colorbar 1 has no label"):
        check_figure(fig, suptitle=True)
    bar.set_label("value (units)")
    check_figure(fig, suptitle=True)


def test_check_counts_catches_a_negative_count():
    fig, ax = _plain()
    draw(fig)
    with pytest.raises(AssertionError, match="shows values down to"):
        check_counts(ax)  # the default margins go below 0
    ax.set_ylim(bottom=0)
    check_counts(ax)
    ax.plot([0, 1], [-1, 1])
    with pytest.raises(AssertionError, match="goes down to -1"):
        check_counts(ax)
