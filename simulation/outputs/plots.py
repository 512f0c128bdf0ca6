"""Figures from the tidy tables. Each plot function takes tables and an `ax` and returns the ax.

No global pyplot state: figure builders make a `matplotlib.figure.Figure` and pass its axes.
Legends sit outside the axes' data area (to the right); event days are dashed vertical lines
(gid "event") named on a thin axis above the data; counts never go below zero.
`run_figures(result)` makes the three figures of one run, with their captions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from simulation.runner import RunResult

BRAND_KIND = "brand"  # the kind of a brand's own destination (its site or community page) in the sinks table
EVENT_GID = "event"   # gid of the vertical line that marks an event day
EVENT_FONT = 7.0      # points
LEGEND_RIGHT = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False, "fontsize": "small"}


def _legend_outside(ax: Axes, *, reverse: bool = False, title: str | None = None) -> None:
    """A legend to the right of the axes, never on the data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    ax.legend(handles, labels, title=title, title_fontsize="small", alignment="left", **LEGEND_RIGHT)


# ---- events

def event_label(event: dict) -> str:
    """A few words for one event of summary["events"]."""
    kind = event.get("type", "event")
    who = event.get("sink") or event.get("brand")
    if kind == "platform_launch":
        return f"{who} opens"
    if kind == "platform_close":
        return f"{who} closes"
    if kind == "crisis":
        return f"crisis: {who}"
    if kind == "budget_change":
        return f"{who}: budget"
    if kind == "strategy_change":
        return f"{who}: {event.get('strategy', 'strategy')}"
    if kind == "copy":
        return f"{who} copies {event.get('copies', '')}".rstrip()
    return f"{kind.replace('_', ' ')}" + (f": {who}" if who else "")


def _event_days(events: Iterable[dict] | None) -> dict[int, str]:
    """Event day -> label; several events on one day share a label."""
    days: dict[int, list[str]] = {}
    for event in events or ():
        days.setdefault(int(event["day"]), []).append(event_label(event))
    return {day: " / ".join(dict.fromkeys(labels)) for day, labels in sorted(days.items())}


def mark_events(ax: Axes, events: Iterable[dict] | None, *, label: bool = True) -> Axes:
    """A thin dashed vertical line at each event day; with `label`, its name on a thin axis above the data.

    Call it after the data are drawn (it reads the x limits). Labels that would touch go on a higher row.
    """
    days = _event_days(events)
    if not days:
        return ax
    lo, hi = ax.get_xlim()
    days = {d: text for d, text in days.items() if lo <= d <= hi}
    if not days:
        return ax
    for day in days:
        ax.axvline(day, color="0.35", lw=0.8, ls=(0, (4, 3)), zorder=1.5, gid=EVENT_GID, label="_event")
    if not label:
        return ax
    # rows, so that labels close in time do not overlap: a label's width estimated from its characters
    fig = ax.get_figure(root=True)
    width_in = max(ax.get_position().width * fig.get_figwidth(), 0.5)
    days_per_char = (hi - lo) * 0.58 * EVENT_FONT / 72 / width_in
    row_ends: list[float] = []
    ticks, labels = [], []
    for day, text in days.items():
        start, end = day, day + (len(text) + 2) * days_per_char
        row = next((i for i, e in enumerate(row_ends) if e < start), len(row_ends))
        if row == len(row_ends):
            row_ends.append(end)
        row_ends[row] = end
        ticks.append(day)
        labels.append(text + "\n" * row)
    top = ax.secondary_xaxis("top")
    top.set_xticks(ticks, labels)
    top.tick_params(axis="x", length=3, width=0.6, pad=1, labelsize=EVENT_FONT, colors="0.3")
    for t in top.get_xticklabels():
        t.set_horizontalalignment("left")
    top.spines["top"].set_visible(False)
    return ax


# ---- time plots

def attention_share(sinks: pd.DataFrame, ax: Axes, *, include_brands: bool = True,
                    events: Iterable[dict] | None = None) -> Axes:
    """Share of all minutes online by sink over time, stacked, in %; `include_brands=False` leaves brands' own sites out."""
    rows = sinks if include_brands else sinks[sinks["kind"] != BRAND_KIND]
    wide = rows.pivot_table(index="day", columns="sink", values="share", aggfunc="sum", sort=False).fillna(0.0)
    wide = wide.loc[:, wide.sum() > 0]  # a platform that has not opened yet has no place in the legend
    order = wide.mean().sort_values(ascending=False).index
    wide = 100 * wide[order]
    colours = [colormaps["tab20"](i % 20) for i in range(len(wide.columns))]
    ax.stackplot(wide.index, wide.T.values, labels=list(wide.columns), colors=colours, alpha=0.9)
    if len(wide.index) and wide.index.max() > wide.index.min():
        ax.set_xlim(wide.index.min(), wide.index.max())
    ax.set_ylim(0, 100)
    ax.set_xlabel("day")
    ax.set_ylabel("% of all minutes online")
    ax.set_title("Where the time goes" if include_brands else "Platforms and sites, stacked")
    _legend_outside(ax, reverse=True)  # top of the legend = top of the stack
    mark_events(ax, events)
    return ax


def brand_destinations(sinks: pd.DataFrame, ax: Axes, *, events: Iterable[dict] | None = None) -> Axes:
    """Each brand's own destination (site or community page): its share of all minutes online, in %, a line per brand."""
    rows = sinks[sinks["kind"] == BRAND_KIND]
    for i, (name, one) in enumerate(rows.groupby("sink", sort=False)):
        ax.plot(one["day"], 100 * one["share"], color=f"C{i % 10}", lw=1.4, label=name)
    days = sinks["day"]
    if len(days) and days.max() > days.min():
        ax.set_xlim(days.min(), days.max())
    ax.set_ylim(bottom=0)
    ax.set_xlabel("day")
    ax.set_ylabel("% of all minutes online")
    ax.set_title("Brands' own sites and pages")
    _legend_outside(ax)
    mark_events(ax, events)
    return ax


def brand_metric(brands: pd.DataFrame, column: str, ax: Axes, *, label: str | None = None, title: str | None = None,
                 events: Iterable[dict] | None = None, legend: bool = True, count: bool = False) -> Axes:
    """One daily brand metric over time, a line per brand; `count=True` keeps the y axis at zero or above."""
    for i, (name, rows) in enumerate(brands.groupby("brand", sort=False)):
        ax.plot(rows["day"], rows[column], color=f"C{i % 10}", label=name)
    days = brands["day"]
    if len(days) and days.max() > days.min():
        ax.set_xlim(days.min(), days.max())
    if count:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("day")
    ax.set_ylabel(label or column.replace("_", " "))
    if title:
        ax.set_title(title)
    if legend:
        _legend_outside(ax)
    mark_events(ax, events)
    return ax


# ---- vanity beside outcome

# metric -> tick label with its unit ({money}: the currency)
VANITY = (("impressions", "impressions\n(count)"), ("reach", "reach\n(people)"), ("fans", "fans\n(people)"))
OUTCOME = (("engaged_minutes", "engaged\nminutes"), ("adopters", "adopters\n(people)"),
           ("sales", "sales\n(purchases)"), ("revenue", "revenue\n({money})"))


def vanity_vs_outcome(summary: dict, ax_vanity: Axes, ax_outcome: Axes, *,
                      currency: str | None = None) -> tuple[Axes, Axes]:
    """Per brand, vanity metrics beside outcome metrics, each in % of the best brand's figure; bars carry the raw figures.

    One legend, to the right of the outcome axes. Revenue is in `currency` (default: summary["currency"]).
    """
    brands = list(summary["brands"])
    money = currency or summary.get("currency") or "units"
    money = "currency units" if money == "units" else money
    width = 0.8 / max(len(brands), 1)
    for ax, metrics, title in ((ax_vanity, VANITY, "Vanity: what was bought or attracted"),
                               (ax_outcome, OUTCOME, "Outcome: what it earned")):
        x = np.arange(len(metrics))
        for i, brand in enumerate(brands):
            values = []
            for m, _ in metrics:
                best = max((summary["brands"][b][m] or 0) for b in brands)
                values.append(100 * max(summary["brands"][brand][m] or 0, 0) / best if best > 0 else 0.0)
            bars = ax.bar(x + i * width - 0.4 + width / 2, values, width, color=f"C{i % 10}", label=brand)
            for bar, (m, _) in zip(bars, metrics):
                raw = summary["brands"][brand][m] or 0
                ax.annotate(_short(raw), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            xytext=(0, 1), textcoords="offset points", ha="center", va="bottom", fontsize="x-small")
        ax.set_xticks(x, [tick.format(money=money) for _, tick in metrics], fontsize="small")
        ax.set_xlim(-0.5, len(metrics) - 0.5)
        ax.set_ylim(0, 115)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel("% of the best brand's figure")
        ax.set_xlabel("vanity metric" if ax is ax_vanity else "outcome metric")
        ax.set_title(title)
    _legend_outside(ax_outcome, title="brand")
    return ax_vanity, ax_outcome


def _short(x: float) -> str:
    x = float(x)
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.1f}{unit}"
    return f"{x:.0f}" if abs(x) >= 10 else f"{x:.2g}"


# ---- the figures of one run

def figure_attention(sinks: pd.DataFrame, events: Iterable[dict] | None = None) -> Figure:
    """Stacked share of minutes of every sink but the brands' own; below, each brand's destination, in %."""
    has_brands = bool((sinks["kind"] == BRAND_KIND).any()) if len(sinks) else False
    if not has_brands:
        fig = Figure(figsize=(10, 5), layout="constrained")
        attention_share(sinks, fig.subplots(), events=events)
    else:
        fig = Figure(figsize=(10, 7), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
        attention_share(sinks, top, include_brands=False, events=events)
        top.tick_params(labelbottom=True)
        brand_destinations(sinks, bottom, events=events)
    fig.suptitle("Where users' online time goes, day by day", fontweight="bold")
    return fig


def figure_vanity_outcome(summary: dict, currency: str | None = None) -> Figure:
    """Vanity metrics (left) beside outcome metrics (right), per brand."""
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(3, 4))
    vanity_vs_outcome(summary, left, right, currency=currency)
    fig.suptitle("Vanity beside outcome: each brand in % of the best brand's figure", fontweight="bold")
    return fig


def figure_adoption(brands: pd.DataFrame, events: Iterable[dict] | None = None) -> Figure:
    """Awareness, trust and customers over time, one panel each, sharing the day axis."""
    fig = Figure(figsize=(10, 8), layout="constrained")
    a, t, d = fig.subplots(3, 1, sharex=True)
    brand_metric(brands, "awareness", a, label="mean awareness\n(0 none to 1 all)", title="Awareness", count=True)
    brand_metric(brands, "trust", t, label="mean trust\n(-1 to 1)", title="Trust", legend=False)
    t.axhline(0, color="grey", lw=0.5, zorder=1)
    brand_metric(brands, "adopters", d, label="adopters (people)", title="Adopters: users who bought at least once",
                 legend=False, count=True)
    for ax in (a, t, d):
        ax.tick_params(labelbottom=True)
        mark_events(ax, events)
    fig.suptitle("Awareness, trust and adoption of each brand, day by day", fontweight="bold")
    return fig


def _events_caption(events: Sequence[dict]) -> str:
    if not events:
        return ""
    said = "; ".join(f"day {day}: {text}" for day, text in _event_days(events).items())
    return f" Dashed lines mark the events ({said})."


def run_figures(result: "RunResult") -> dict[str, tuple[Figure, str]]:
    """The figures of one run: file name -> (figure, caption for the report)."""
    events = list(result.summary.get("events") or [])
    currency = getattr(result.scenario, "currency", None) or result.summary.get("currency") or "units"
    money = "currency units" if currency == "units" else currency
    said = _events_caption(events)
    return {
        "attention_share.png": (
            figure_attention(result.sinks, events),
            "Share of all minutes online, day by day: platforms and sites stacked (top), and each brand's own site "
            "or page on its own scale (bottom, in %), since a brand's destination holds a sliver of the day." + said),
        "vanity_vs_outcome.png": (
            figure_vanity_outcome(result.summary, currency),
            "Vanity metrics (impressions, reach, fans) beside outcome metrics (engaged minutes, adopters, sales, "
            f"revenue in {money}) per brand, each as a % of the best brand's figure; the bars carry the raw figures. "
            "A brand can lead the first and trail the second."),
        "adoption.png": (
            figure_adoption(result.brands, events),
            "Mean awareness and trust of each brand over all users, and its adopters (customers: users who bought "
            "at least once), day by day." + said),
    }
