"""Figures from the tidy tables. Each plot function takes tables and an `ax` and returns the ax.

No global pyplot state: figure builders make a `matplotlib.figure.Figure` and pass its axes.
Legends sit outside the axes' data area (to the right); event days are dashed vertical lines
(gid "event") named on a thin axis above the data; counts never go below zero; day axes tick on
whole days.
`run_figures(result)` makes the three figures of one run, with their captions.

Colours: by default a plot colours its series in the order it draws them. Pass `colours=` (a name ->
colour mapping, e.g. from `market_colours`) to give every sink and brand one colour whatever the
day, the rank or the series present; `drawn_colours(ax)` reads back the colours actually drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from simulation.runner import RunResult

BRAND_KIND = "brand"  # the kind of a brand's own destination (its site or community page) in the sinks table
EVENT_GID = "event"   # gid of the vertical line that marks an event day
EVENT_FONT = 7.0      # points
LEGEND_RIGHT = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False, "fontsize": "small"}


# ---- colours

#: tab10 without its grey (grey is for "nobody" and for edges), then tab20's lighter shades.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5", "#dbdb8d")


def palette(names: Iterable[str]) -> dict[str, str]:
    """One colour (hex) per name, in the order given (cycling through PALETTE beyond its length)."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(dict.fromkeys(names))}


def market_colours(brands: Sequence[str], sinks: Sequence[str],
                   destinations: Mapping[str, str] | None = None) -> dict[str, str]:
    """Name -> colour for a whole market, fixed by its scenario's order: the brands first, then the sinks.

    `sinks`: every sink the run can have, in the scenario's order, those launched later included (not
    the brands' own destinations). `destinations`: a brand's destination (sink name -> brand name),
    which takes its brand's colour. Build it once per run and pass it to every plot: a colour then
    never depends on the day, the rank or which series are present.
    """
    colours = palette([*brands, *sinks])
    for sink, brand in (destinations or {}).items():
        colours[sink] = colours[brand]
    return colours


def _colour(colours: Mapping[str, str] | None, name: str, i: int) -> str:
    """`colours[name]` (a name the mapping lacks is the caller's mistake, not a silent new colour), else C<i>."""
    return colours[name] if colours is not None else f"C{i % 10}"


def drawn_colours(ax: Axes) -> dict[str, str]:
    """Label -> hex colour of every labelled series drawn on `ax`: lines, filled areas and scatters (their
    face colour), bars (a BarContainer's). A series drawn in several colours is an AssertionError."""
    found: dict[str, str] = {}

    def note(label: str, colour: str) -> None:
        if not label or label.startswith("_"):
            return
        assert found.setdefault(label, colour) == colour, f"{label!r} is drawn in {found[label]} and {colour}"

    for line in ax.get_lines():
        note(line.get_label(), to_hex(line.get_color(), keep_alpha=False))
    for coll in ax.collections:
        faces = {to_hex(c, keep_alpha=False) for c in coll.get_facecolors()}
        if str(coll.get_label()).startswith("_") or not faces:
            continue
        assert len(faces) == 1, f"{coll.get_label()!r} is drawn in {len(faces)} colours"
        note(coll.get_label(), faces.pop())
    for container in ax.containers:
        faces = {to_hex(p.get_facecolor(), keep_alpha=False) for p in container.patches}
        assert len(faces) <= 1, f"{container.get_label()!r} is drawn in {len(faces)} colours"
        if faces:
            note(container.get_label(), faces.pop())
    return found


def legend_colours(fig: Figure) -> dict[str, str]:
    """Label -> hex colour of every key in the figure's legends and its axes' (a line's colour, a patch's or
    a marker's face), to compare with `drawn_colours`: a legend can be built from proxies."""
    found: dict[str, str] = {}
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    for legend in legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts()):
            if isinstance(handle, Line2D):
                colour = handle.get_markerfacecolor() if handle.get_linestyle() in ("None", "", " ") else handle.get_color()
            elif hasattr(handle, "get_facecolor"):
                face = handle.get_facecolor()
                colour = face[0] if np.ndim(face) == 2 else face
            else:
                continue
            found[text.get_text()] = to_hex(colour, keep_alpha=False)
    return found


def _day_axis(ax: Axes) -> None:
    """Ticks on whole days only (a day is a step: 1.5 means nothing)."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


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


def mark_events(ax: Axes, events: Iterable[dict] | None, *, label: bool = True, fontsize: float = EVENT_FONT) -> Axes:
    """A thin dashed vertical line at each event day; with `label`, its name (in `fontsize` points) on a
    thin axis above the data.

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
    # rows, so that labels close in time do not overlap: a label's width estimated from its characters;
    # a label that would run past the last day ends at its line instead (it then squeezes nothing)
    fig = ax.get_figure(root=True)
    width_in = max(ax.get_position().width * fig.get_figwidth(), 0.5)
    days_per_char = (hi - lo) * 0.58 * fontsize / 72 / width_in
    row_ends: list[float] = []
    ticks, labels, right = [], [], []
    for day, text in days.items():
        width = (len(text) + 2) * days_per_char
        flush_right = day + width > hi and day - width >= lo
        start, end = (day - width, day) if flush_right else (day, day + width)
        row = next((i for i, e in enumerate(row_ends) if e < start), len(row_ends))
        if row == len(row_ends):
            row_ends.append(end)
        row_ends[row] = end
        ticks.append(day)
        labels.append(text + "\n" * row)
        right.append(flush_right)
    top = ax.secondary_xaxis("top")
    top.set_xticks(ticks, labels)
    top.tick_params(axis="x", length=3, width=0.6, pad=1, labelsize=fontsize, colors="0.3")
    for t, flush_right in zip(top.get_xticklabels(), right):
        t.set_horizontalalignment("right" if flush_right else "left")
    top.spines["top"].set_visible(False)
    return ax


def drawn_events(ax: Axes) -> list[tuple[int, str]]:
    """(day, label) of each event line drawn on `ax` (label "" when unnamed), in day order."""
    days = sorted({int(round(line.get_xdata()[0])) for line in ax.get_lines() if line.get_gid() == EVENT_GID})
    names: dict[int, str] = {}
    for sec in ax.child_axes:
        for tick, text in zip(sec.get_xticks(), sec.get_xticklabels()):
            names[int(round(tick))] = text.get_text().strip()
    return [(day, names.get(day, "")) for day in days]


# ---- time plots

def attention_share(sinks: pd.DataFrame, ax: Axes, *, include_brands: bool = True,
                    events: Iterable[dict] | None = None, colours: Mapping[str, str] | None = None,
                    order: Sequence[str] | None = None, legend: bool = True) -> Axes:
    """Share of all minutes online by sink over time, stacked, in %; `include_brands=False` leaves brands' own sites out.

    The largest sink (over the days drawn) is at the bottom, unless `order` (sink names, bottom first)
    fixes the stack; sinks not in `order` go on top, largest first. `colours`: name -> colour.
    """
    rows = sinks if include_brands else sinks[sinks["kind"] != BRAND_KIND]
    wide = rows.pivot_table(index="day", columns="sink", values="share", aggfunc="sum", sort=False).fillna(0.0)
    wide = wide.loc[:, wide.sum() > 0]  # a platform that has not opened yet has no place in the legend
    ranked = list(wide.mean().sort_values(ascending=False).index)
    fixed = [name for name in (order or ()) if name in wide.columns]
    wide = 100 * wide[fixed + [name for name in ranked if name not in fixed]]
    drawn = ([_colour(colours, name, i) for i, name in enumerate(wide.columns)] if colours is not None
             else [colormaps["tab20"](i % 20) for i in range(len(wide.columns))])
    ax.stackplot(wide.index, wide.T.values, labels=list(wide.columns), colors=drawn, alpha=0.9)
    if len(wide.index) and wide.index.max() > wide.index.min():
        ax.set_xlim(wide.index.min(), wide.index.max())
    ax.set_ylim(0, 100)
    _day_axis(ax)
    ax.set_xlabel("day")
    ax.set_ylabel("% of all minutes online")
    ax.set_title("Where the time goes" if include_brands else "Platforms and sites, stacked")
    if legend:
        _legend_outside(ax, reverse=True)  # top of the legend = top of the stack
    mark_events(ax, events)
    return ax


def brand_destinations(sinks: pd.DataFrame, ax: Axes, *, events: Iterable[dict] | None = None,
                       colours: Mapping[str, str] | None = None) -> Axes:
    """Each brand's own destination (site or community page): its share of all minutes online, in %, a line per brand."""
    rows = sinks[sinks["kind"] == BRAND_KIND]
    for i, (name, one) in enumerate(rows.groupby("sink", sort=False)):
        ax.plot(one["day"], 100 * one["share"], color=_colour(colours, name, i), lw=1.4, label=name)
    days = sinks["day"]
    if len(days) and days.max() > days.min():
        ax.set_xlim(days.min(), days.max())
    ax.set_ylim(bottom=0)
    _day_axis(ax)
    ax.set_xlabel("day")
    ax.set_ylabel("% of all minutes online")
    ax.set_title("Brands' own sites and pages")
    _legend_outside(ax)
    mark_events(ax, events)
    return ax


def brand_metric(brands: pd.DataFrame, column: str, ax: Axes, *, label: str | None = None, title: str | None = None,
                 events: Iterable[dict] | None = None, legend: bool = True, count: bool = False,
                 colours: Mapping[str, str] | None = None, lw: float | None = None) -> Axes:
    """One daily brand metric over time, a line per brand; `count=True` keeps the y axis at zero or above."""
    for i, (name, rows) in enumerate(brands.groupby("brand", sort=False)):
        ax.plot(rows["day"], rows[column], color=_colour(colours, name, i), label=name, lw=lw)
    days = brands["day"]
    if len(days) and days.max() > days.min():
        ax.set_xlim(days.min(), days.max())
    if count:
        ax.set_ylim(bottom=0)
    _day_axis(ax)
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
                      currency: str | None = None, colours: Mapping[str, str] | None = None,
                      horizontal: bool = False, legend: bool = True, fontsize: float | str = "x-small") -> tuple[Axes, Axes]:
    """Per brand, vanity metrics beside outcome metrics, each in % of the best brand's figure; bars carry the raw figures.

    One legend (unless `legend=False`), to the right of the outcome axes. Revenue is in `currency`
    (default: summary["currency"]). `horizontal=True`: a bar per brand along the x axis, metrics named
    on one line each down the y axis (the first brand on top), room for long names and large type.
    `fontsize`: of the raw figures on the bars.
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
            offset = i * width - 0.4 + width / 2
            colour = _colour(colours, brand, i)
            if horizontal:
                bars = ax.barh(x + offset, values, width, color=colour, label=brand)
            else:
                bars = ax.bar(x + offset, values, width, color=colour, label=brand)
            for bar, (m, _) in zip(bars, metrics):
                raw = _short(summary["brands"][brand][m] or 0)
                if horizontal:
                    ax.annotate(raw, (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                                textcoords="offset points", ha="left", va="center", fontsize=fontsize)
                else:
                    ax.annotate(raw, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                                xytext=(0, 1), textcoords="offset points", ha="center", va="bottom", fontsize=fontsize)
        ticks = [tick.format(money=money) for _, tick in metrics]
        value_axis = "% of the best brand's figure"
        if horizontal:
            ax.set_yticks(x, [t.replace("\n", " ") for t in ticks])
            ax.set_ylim(len(metrics) - 0.5, -0.5)  # the first metric on top, the first brand first within it
            ax.set_xlim(0, 125)
            ax.set_xticks([0, 25, 50, 75, 100])
            ax.set_xlabel(value_axis)
            ax.set_ylabel("vanity metric" if ax is ax_vanity else "outcome metric")
        else:
            ax.set_xticks(x, ticks, fontsize="small")
            ax.set_xlim(-0.5, len(metrics) - 0.5)
            ax.set_ylim(0, 115)
            ax.set_yticks([0, 25, 50, 75, 100])
            ax.set_ylabel(value_axis)
            ax.set_xlabel("vanity metric" if ax is ax_vanity else "outcome metric")
        ax.set_title(title)
    if legend:
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
