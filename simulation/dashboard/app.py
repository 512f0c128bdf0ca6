"""The classroom dashboard: one page for a projector, over the attention model.

Nothing imports this module but `run.py serve` (through `solara run`): the model never knows about the
page. The scenario comes from the environment variable ATTENTION_MARKET_SCENARIO (set by `serve`,
after validating it). `Dashboard` is the page; `page = Dashboard` is what `solara run` serves.

Why not Mesa's SolaraViz frame: SolaraViz puts its own controls around the components (Play Interval,
Render Interval, Use Threads), page tabs ("Page 0"), a draggable grid and "Time: 1.0" — machinery a
class does not need and cannot read from the back of the room. So the page is composed from Mesa's
own parts instead: `ModelController` (Reset, ▶/❚❚ and Step: it really steps the model, and at Reset
builds a new one from a reactive dict of keyword arguments) sits in `solara.Sidebar` beside our own
settings card, which writes into that same reactive dict; Mesa's `update_counter` makes the charts
redraw after each step. The page uses `solara.AppBar`/`solara.Sidebar` (portals into whatever layout
serves it) and never an AppLayout of its own, so it can be one route among others.

Colours: one per sink and per brand for the whole session, from the scenario's order
(`plots.market_colours`), shared by the graph and every chart. Each chart is an <img> carrying, in
data attributes, the day it shows and the colours and event days read back from the artists drawn
(`plots.drawn_colours`, `plots.drawn_events`): what the browser test checks.
"""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import solara
import solara.server.settings
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import force_update, update_counter

from simulation.outputs import plots
from simulation.runner import daily_tables
from simulation.scenario import Scenario, SinkLaunch, load_scenario
from simulation.model import AttentionModel

SCENARIO = Path(os.environ.get("ATTENTION_MARKET_SCENARIO",
                               Path(__file__).resolve().parents[2] / "scenarios" / "classroom.yaml"))
GRAPH_LIMIT = 1_500  # above this many users the graph is not drawn: it would be a smudge
NEW_PLATFORM = "New platform"
PLAY_MS = 300        # pause between two days while playing
TITLE = "Attention Market: who gets the class's time?"
solara.server.settings.theme.show_banner = False  # "This website runs on Solara", over the charts' corner

# ---- type for a projector: sizes in points at DPI, so that 12 pt is 16 screen pixels
DPI = 96
FONT = 12.0          # tick labels, axis labels, legends, figures on bars
TITLE_FONT = 14.0
EVENT_FONT = 11.0    # the names of event days, above the charts
MAIN_PX = 936        # width of the main column at 1280 px, beside the sidebar (SIDEBAR_PX) and its padding
SIDEBAR_PX = 320
HALF_PX = 460        # a chart in half of it
NOT_YET = "#c7c7c7"  # users who are not customers, in the graph's customers view
EDGE = "0.85"


class ClassroomModel(AttentionModel):
    """The scenario, with the few knobs a class plays with as keyword arguments (Reset rebuilds it from them).

    `step`, `launch_platform_now` and `crisis_now` hold `lock`: the buttons may be pressed while ▶ plays
    days in another thread. The teacher's events go into the event log as scheduled events do.
    """

    def __init__(self, users: int = 300, relational_share: float = 1.0, word_of_mouth: float = 0.05,
                 savviness_growth: float = 0.02, seed: int = 7) -> None:
        loaded = load_scenario(SCENARIO)
        data = loaded.scenario.model_dump(mode="json")
        data["population"]["users"] = int(users)
        data["market"]["q"] = float(word_of_mouth)
        data["advertising"]["savviness_growth"] = float(savviness_growth)
        first = data["brands"][0]
        first["strategy"], first["relational_share"] = "mixed", float(relational_share)
        data["days"] = 36_500
        data["events"] = list(data.get("events", [])) + [{  # a platform the teacher can launch at any time
            "type": "platform_launch", "day": 36_500,
            "sink": {"name": NEW_PLATFORM, "kind": "social", "appeal": 0.0, "ad_load": 1.0,
                     "network_effect": 2.0, "novelty": 2.0, "novelty_decay": 0.02}}]
        super().__init__(Scenario.model_validate(data), int(seed))
        self.settings = {"users": int(users), "relational_share": float(relational_share),
                         "word_of_mouth": float(word_of_mouth), "savviness_growth": float(savviness_growth),
                         "seed": int(seed)}
        self.lock = threading.RLock()
        self.colours = plots.market_colours([b.name for b in self.brands],
                                            [s.name for s in self.all_sinks if s.kind != plots.BRAND_KIND],
                                            {b.destination.name: b.name for b in self.brands})
        self.layout = None
        if self.population.n <= GRAPH_LIMIT and not self.network.complete:
            import networkx as nx

            graph = self.network.to_networkx()
            self.layout = np.array([p for _, p in sorted(nx.spring_layout(graph, seed=int(seed), iterations=30).items())])

    def step(self) -> None:
        with self.lock:
            super().step()

    def launch_platform_now(self) -> dict | None:
        """Open the new platform now (its first day is tomorrow); None if it is already open."""
        with self.lock:
            if self.sink(NEW_PLATFORM).active:
                return None
            self.launch_sink(NEW_PLATFORM)
            self.events.pending = [e for e in self.events.pending
                                   if not (isinstance(e, SinkLaunch) and e.sink.name == NEW_PLATFORM)]
            return self._log({"type": "platform_launch", "sink": NEW_PLATFORM})

    def crisis_now(self) -> dict:
        """The first brand (whose relational share the class sets) is hit: does answering help?"""
        with self.lock:
            name = self.brands[0].name
            return self._log({"type": "crisis", "brand": name, "users_hit": self.crisis(name, share=0.5, trust_loss=0.8)})

    def _log(self, event: dict) -> dict:
        """As a scheduled event of tomorrow would be logged: it acts on the next day's choices."""
        event = {"day": self.day + 1, **event, "by": "teacher"}
        self.events.log.append(event)
        return event


# ---- what the page shows of a model, read at once under its lock

@dataclass(frozen=True)
class View:
    day: int
    users: int
    sinks: pd.DataFrame
    brands: pd.DataFrame
    events: list[dict]
    colours: dict[str, str]
    brand_names: list[str]
    open_sinks: list[str]                 # today, in the scenario's order
    sink_names: list[str]                 # by column
    favourite: np.ndarray                 # per user: column of the sink that had most of their time today
    adopted: dict[str, np.ndarray] = field(repr=False)  # brand -> per user: has bought
    layout: np.ndarray | None = field(default=None, repr=False)
    degree: np.ndarray | None = field(default=None, repr=False)
    edges: np.ndarray | None = field(default=None, repr=False)  # (edges, 2, 2) end points, each edge once
    launched: bool = False


def snapshot(model: ClassroomModel) -> View:
    with model.lock:
        sinks, brands = daily_tables(model)
        edges = None
        if model.layout is not None:
            w = model.network.adjacency().tocoo()
            upper = w.row < w.col
            edges = np.stack([model.layout[w.row[upper]], model.layout[w.col[upper]]], axis=1)
        return View(day=model.day, users=model.population.n, sinks=sinks, brands=brands,
                    events=[dict(e) for e in model.events.log], colours=model.colours,
                    brand_names=[b.name for b in model.brands], open_sinks=[s.name for s in model.sinks],
                    sink_names=[s.name for s in model.all_sinks],
                    favourite=np.argmax(model.population.slots, axis=0),
                    adopted={b.name: model.population.adopted[b.index].copy() for b in model.brands},
                    layout=model.layout, degree=model.network.degree, edges=edges,
                    launched=model.sink(NEW_PLATFORM).active)


# ---- the figures (pure functions of a View: tests/test_dashboard.py checks them without a browser)

def _figure(width_px: float, height_px: float, layout: str | None = None) -> Figure:
    return Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout=layout)


ROW_PX = 24  # a line of 12-point text, in a legend or as an event name's row


def _margins(fig: Figure, *, left: float, right: float, top: float, bottom: float, gap: float = 0.0,
             columns: int = 1) -> None:
    """Axes placed by margins in pixels (a layout engine would draw each figure once more, every day)."""
    width, height = fig.get_size_inches() * DPI
    each = (width - left - right - (columns - 1) * gap) / columns
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height,
                        wspace=gap / each if columns > 1 else None)


def _event_rows(ax) -> int:
    """How many rows of event names mark_events put above `ax`."""
    return max((t.get_text().count("\n") + 1 for sec in ax.child_axes for t in sec.get_xticklabels()), default=0)


def _title_room(axes) -> float:
    """Pixels above the axes for their title and the rows of event names under it."""
    return 36 + ROW_PX * max(_event_rows(ax) for ax in axes) + (6 if any(ax.child_axes for ax in axes) else 0)


def _projector(fig: Figure) -> Figure:
    """Every text of the figure in projector sizes (event names are sized by mark_events)."""
    for ax in fig.axes:
        ax.title.set_fontsize(TITLE_FONT)
        ax.title.set_fontweight("bold")
        ax.xaxis.label.set_fontsize(FONT)
        ax.yaxis.label.set_fontsize(FONT)
        ax.tick_params(labelsize=FONT)
        for text in ax.texts:
            text.set_fontsize(FONT)
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]:
        for text in [*legend.get_texts(), legend.get_title()]:
            text.set_fontsize(FONT)
    return fig


MIN_DAYS = 30  # the day axis starts this long: the first days fill it from the left instead of stretching


def _days(view: View, ax) -> None:
    """Day axis: day 1 to today (at least MIN_DAYS), and on to a day the teacher has just marked (its line
    shows at once, although its day has not been played yet)."""
    last = max([view.day, *(int(e["day"]) for e in view.events)])
    ax.set_xlim(1, max(last, MIN_DAYS))  # whole-day ticks: plots' time plots set them
    plots.mark_events(ax, view.events, fontsize=EVENT_FONT)


def _count_axis(ax) -> None:
    """People and purchases are whole numbers: integer ticks, and room for a few before any come."""
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(5.0, ax.get_ylim()[1]))


TIME = "where time went"


def graph_options(view: View) -> list[str]:
    return [TIME, *(f"customers of {b}" for b in view.brand_names)]


def graph_figure(view: View, colour_by: str = TIME) -> Figure | None:
    """The social graph, each user a dot sized by degree, coloured by where their time went (or a
    brand's customers in the brand's colour); None when there are too many users to draw."""
    if view.layout is None:
        return None
    fig = _figure(HALF_PX, 470)
    ax = fig.subplots()
    ax.set_in_layout(False)
    xy, degree = view.layout, view.degree
    size = (8 + 4 * degree) * min(1.0, 300 / view.users) ** 0.5
    ax.add_collection(LineCollection(view.edges, colors=EDGE, linewidths=0.3, zorder=0))
    if colour_by == TIME and view.day == 0:  # nobody has spent a minute yet: no colour would be true
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color=NOT_YET, label="no day played yet", zorder=1, linewidths=0)
        title = "press Step to start"
        ncol = 1
    elif colour_by == TIME:
        shown = list(view.open_sinks) + [view.sink_names[c] for c in np.unique(view.favourite)
                                         if view.sink_names[c] not in view.open_sinks]
        for name in shown:
            who = view.favourite == view.sink_names.index(name)
            ax.scatter(xy[who, 0], xy[who, 1], s=size[who], color=view.colours[name], label=name, zorder=1,
                       linewidths=0)
        title = "where time went"
        ncol = 2
    else:
        brand = colour_by.removeprefix("customers of ")
        adopted = view.adopted[brand]
        ax.scatter(xy[~adopted, 0], xy[~adopted, 1], s=size[~adopted], color=NOT_YET, label="not yet", zorder=1,
                   linewidths=0)
        ax.scatter(xy[adopted, 0], xy[adopted, 1], s=size[adopted], color=view.colours[brand],
                   label=f"customer of {brand}", zorder=2, linewidths=0)
        title = f"customers of {brand}"
        ncol = 2
    ax.set_axis_off()
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.set_title(f"Day {view.day}: {title}")
    # the legend's keys in the colours of the dots drawn (an empty series keeps its place and colour)
    keys = [Line2D([], [], ls="", marker="o", markersize=11, color=to_hex(c.get_facecolors()[0], keep_alpha=False),
                   label=c.get_label()) for c in ax.collections if not str(c.get_label()).startswith("_")]
    fig.legend(handles=keys, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False,
               handletextpad=0.2, columnspacing=1.2)
    _margins(fig, left=4, right=4, top=36, bottom=12 + ROW_PX * -(-len(keys) // ncol))
    return _projector(fig)


def attention_figure(view: View) -> Figure | None:
    """Share of all minutes online per sink, stacked in the scenario's order (it does not reshuffle as ranks change)."""
    if view.sinks.empty:
        return None
    fig = _figure(HALF_PX, 470)
    ax = fig.subplots()
    plots.attention_share(view.sinks, ax, colours=view.colours, order=view.sink_names, legend=False)
    ax.set_title("Where the time goes")
    ax.set_ylabel("% of minutes online")
    handles, labels = ax.get_legend_handles_labels()
    bottom = 60 + ROW_PX * -(-len(labels) // 2)
    _margins(fig, left=76, right=16, top=36, bottom=bottom)  # first: mark_events reads the axes' width
    _days(view, ax)
    _margins(fig, left=76, right=16, top=_title_room([ax]), bottom=bottom)
    fig.legend(handles[::-1], labels[::-1], loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False,
               handletextpad=0.4, columnspacing=1.0)  # top of the stack first
    return _projector(fig)


def sales_figure(view: View) -> Figure | None:
    """Each brand's customers (people who bought) and sales to date, day by day."""
    if view.brands.empty:
        return None
    fig = _figure(MAIN_PX, 360)
    customers, sales = fig.subplots(1, 2)
    plots.brand_metric(view.brands, "adopters", customers, label="people", title="Customers", legend=False,
                       count=True, colours=view.colours, lw=3)
    cumulative = view.brands.assign(sales_to_date=view.brands.groupby("brand")["sales"].cumsum())
    plots.brand_metric(cumulative, "sales_to_date", sales, label="purchases", title="Sales to date",
                       legend=False, count=True, colours=view.colours, lw=3)
    place = {"left": 76, "right": 160, "bottom": 56, "gap": 92, "columns": 2}
    _margins(fig, top=36, **place)  # first: mark_events reads the axes' width
    for ax in (customers, sales):
        _count_axis(ax)
        _days(view, ax)
    top = _title_room([customers, sales])
    _margins(fig, top=top, **place)
    fig.legend(*customers.get_legend_handles_labels(), loc="upper left", bbox_to_anchor=(1 - 150 / MAIN_PX, 1 - top / 360),
               frameon=False, title="brand", alignment="left")
    return _projector(fig)


def summary_of(view: View) -> dict:
    """Per brand, to date: the vanity and outcome figures plots.vanity_vs_outcome draws."""
    brands = view.brands
    last = brands.groupby("brand", sort=False).last()
    return {"brands": {name: {"impressions": int(brands[brands.brand == name]["impressions"].sum()),
                              "reach": int(row["reach"]), "fans": int(row["fans"]),
                              "engaged_minutes": float(brands[brands.brand == name]["engaged_minutes"].sum()),
                              "adopters": int(row["adopters"]),
                              "sales": int(brands[brands.brand == name]["sales"].sum()),
                              "revenue": float(row["revenue_to_date"]),
                              "roi": row["roi_to_date"]}
                       for name, row in last.iterrows()}}


def vanity_figure(view: View) -> Figure | None:
    """Vanity metrics (what was bought or attracted) beside outcome metrics (what it earned), per brand."""
    if view.brands.empty:
        return None
    fig = _figure(MAIN_PX, 400)
    left, right = fig.subplots(1, 2)
    plots.vanity_vs_outcome(summary_of(view), left, right, colours=view.colours, horizontal=True, legend=False,
                            fontsize=FONT)
    left.set_title("Vanity: bought or attracted")
    right.set_title("Outcome: what it earned")
    for ax in (left, right):
        ax.set_xlabel("% of the best brand")
    # room for the metrics' names (the revenue's says the currency), measured in the type they are drawn in
    _projector(fig)
    renderer = FigureCanvasAgg(fig).get_renderer()
    names = [max(t.get_window_extent(renderer).width for t in ax.get_yticklabels()) + 36 for ax in (left, right)]
    _margins(fig, left=names[0], right=16, top=36 + ROW_PX + 8, bottom=56, gap=names[1] + 20, columns=2)
    fig.legend(*left.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 1.0),
               ncol=len(view.brand_names), frameon=False)
    return _projector(fig)


def roi_text(view: View) -> str:
    return ", ".join(f"{name} {'n/a' if pd.isna(b['roi']) else format(b['roi'], '+.2f')}"
                     for name, b in summary_of(view)["brands"].items())


# ---- the page

def _caption(text: str) -> None:
    """A caption in plain words (solara.Markdown would fetch KaTeX from a CDN: the page must work offline)."""
    solara.HTML(tag="p", unsafe_innerHTML=text, style="font-size: 17px; line-height: 1.35; margin: 4px 0 0 0")


def figure_data(fig: Figure) -> dict[str, str]:
    """The figure as a PNG, with what it draws: the colour of each series (by label), of each key of its
    legends (by label), and the event days of each time axes (by title)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)  # no tight bbox: it would draw every figure twice
    png = buf.getvalue()
    colours: dict[str, str] = {}
    for ax in fig.axes:
        for label, colour in plots.drawn_colours(ax).items():
            assert colours.setdefault(label, colour) == colour, f"{label!r} has two colours in one figure"
    events = {ax.get_title(): plots.drawn_events(ax) for ax in fig.axes if ax.get_xlabel() == "day"}
    return {"src": "data:image/png;base64," + base64.b64encode(png).decode(), "sum": f"{zlib.crc32(png):08x}",
            "colours": json.dumps(colours, sort_keys=True), "events": json.dumps(events),
            "legend": json.dumps(plots.legend_colours(fig), sort_keys=True)}


def _show(fig: Figure, name: str, day: int, alt: str) -> None:
    """The figure as an <img> whose data attributes say its day and the colours and events it drew."""
    data = figure_data(fig)
    solara.HTML(tag="img", attributes={"src": data["src"], "alt": alt, "data-chart": name, "data-day": str(day),
                                       "data-sum": data["sum"], "data-colours": data["colours"],
                                       "data-events": data["events"], "data-legend": data["legend"],
                                       "style": "max-width: 100%; height: auto; display: block"})


@solara.component
def GraphView(view: View):
    colour_by, set_colour_by = solara.use_state(TIME)
    if view.layout is None:
        _caption(f"<b>Day {view.day}: {view.users:,} users</b>: too many to draw the graph legibly; "
                 "the charts show them.")
        return
    solara.ToggleButtonsSingle(value=colour_by, on_value=set_colour_by, values=graph_options(view), dense=True,
                               classes=["graph-toggle"])
    _show(graph_figure(view, colour_by), "graph", view.day, "the social graph")
    _caption("Each dot is a user, sized by how many friends they have. Users choose where to spend their "
             "time; nobody is shown an ad where they do not go.")


@solara.component
def AttentionChart(view: View):
    fig = attention_figure(view)
    if fig is None:
        _caption("Press <b>Step</b> or <b>▶</b> to start the days.")
        return
    _show(fig, "attention", view.day, "share of minutes per site")
    _caption("Share of all minutes online, day by day: every site, brand pages included, competes for the same hours.")


@solara.component
def SalesChart(view: View):
    fig = sales_figure(view)
    if fig is None:
        return
    _show(fig, "sales", view.day, "customers and sales per brand")
    _caption("Customers and sales of each brand: word of mouth spreads from friends who bought and trust the brand.")


@solara.component
def VanityChart(view: View):
    fig = vanity_figure(view)
    if fig is None:
        return
    _show(fig, "vanity", view.day, "vanity and outcome metrics per brand")
    _caption(f"Return on spend so far (margin x revenue minus spend, over spend): {roi_text(view)}.")
    _caption("Vanity (impressions, reach, fans) against outcome (engaged minutes, customers, sales, revenue): "
             "a billboard can win the first and lose the second.")


@solara.component
def Happenings(model: ClassroomModel, view: View):
    def launch():
        if model.launch_platform_now() is not None:
            force_update()

    def crisis():
        model.crisis_now()
        force_update()

    with solara.Row(style="align-items: center; flex-wrap: wrap"):
        solara.HTML(tag="div", unsafe_innerHTML=f"Day {view.day}", attributes={"data-day": str(view.day)},
                    style="font-size: 30px; font-weight: bold; min-width: 4.2em")
        solara.Button("Launch a new platform now", on_click=launch, disabled=view.launched, color="primary",
                      outlined=True)
        solara.Button(f"Crisis for {view.brand_names[0]} now", on_click=crisis, color="error", outlined=True)
    if view.events:
        said = "; ".join(f"day {e['day']}: {plots.event_label(e)}" for e in view.events)
        _caption(f"Marked on the charts: {said}.")


# ---- settings: written into the dict ModelController's Reset reads

@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    min: float
    max: float
    step: float
    unit: str = ""
    percent: bool = False  # the model takes a fraction; the slider shows and moves in %

    def shown(self, value: float) -> str:
        if self.percent:
            return f"{100 * value:.0f} %"
        if isinstance(self.step, int):
            return f"{int(value):,}{self.unit}"
        return f"{value:.2f}{self.unit}"


DEFAULTS = {"users": 300, "relational_share": 1.0, "word_of_mouth": 0.05, "savviness_growth": 0.02, "seed": 7}


def settings(first_brand: str) -> list[Setting]:
    return [
        Setting("relational_share", f"Relational share of {first_brand}'s budget", 0, 100, 10, percent=True),
        Setting("word_of_mouth", "Word-of-mouth strength (q)", 0.0, 0.3, 0.01, " a day"),
        Setting("savviness_growth", "How fast users grow ad-savvy", 0.0, 0.3, 0.01, " per 1,000 ads seen"),
        Setting("users", "Number of users", 50, 3000, 50, " users"),
    ]


@solara.component
def SettingSlider(setting: Setting, params: solara.Reactive[dict]):
    value = params.value[setting.name]

    def set_value(new) -> None:  # to the step's precision: 0.05, not 0.05000000000000001
        params.value = {**params.value, setting.name: round(new / 100, 4) if setting.percent else round(new, 4)}

    with solara.Div(classes=["setting", f"setting-{setting.name}"], style="margin-bottom: 6px"):
        shown = setting.shown(value).replace(" ", "&nbsp;")  # a value and its unit stay on one line
        solara.HTML(tag="div", unsafe_innerHTML=f"{setting.label}: <b>{shown}</b>",
                    classes=["setting-label"], style="font-size: 16px")
        if setting.percent:
            solara.SliderInt("", value=round(100 * value), on_value=set_value, min=int(setting.min),
                             max=int(setting.max), step=int(setting.step), thumb_label=False)
        elif isinstance(setting.step, int):
            solara.SliderInt("", value=int(value), on_value=set_value, min=int(setting.min), max=int(setting.max),
                             step=int(setting.step), thumb_label=False)
        else:
            solara.SliderFloat("", value=float(value), on_value=set_value, min=setting.min, max=setting.max,
                               step=setting.step, thumb_label=False)


@solara.component
def Settings(model: solara.Reactive[ClassroomModel], params: solara.Reactive[dict]):
    current = model.value.settings
    with solara.Card("Settings", margin=0):
        for setting in settings(model.value.brands[0].name):
            SettingSlider(setting, params)
        with solara.Div(classes=["setting", "setting-seed"]):
            solara.InputInt("Seed", value=int(params.value["seed"]),
                            on_value=lambda v: params.set({**params.value, "seed": int(v)}))
        pending = params.value != current
        _caption("<b>Press Reset</b> to start again with these settings." if pending
                 else "Reset starts again with these settings.")


@solara.component
def Dashboard():
    """The classroom page. Each browser session has its own model (made here, once per session)."""
    first = solara.use_memo(lambda: ClassroomModel(**DEFAULTS), [])
    model = solara.use_reactive(first)
    params = solara.use_reactive(dict(DEFAULTS))
    play_interval = solara.use_reactive(PLAY_MS)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    update_counter.get()  # redrawn after each step (ModelController) and each button below
    view = snapshot(model.value)

    solara.Title("Attention Market")
    solara.Style(f".v-navigation-drawer {{ min-width: {SIDEBAR_PX}px !important; max-width: {SIDEBAR_PX}px !important; }}"
                 " .setting .v-input__slot { margin: 0 }"
                 " .graph-toggle .v-btn { text-transform: none; font-size: 14px; letter-spacing: 0;"
                 " padding: 0 8px !important }")
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar():
        with solara.Column(gap="12px"):
            with solara.Card("Days", margin=0):
                ModelController(model, model_parameters=params, play_interval=play_interval,
                                render_interval=render_interval, use_threads=use_threads)
                _caption("<b>Step</b> moves one day; <b>▶</b> plays, <b>❚❚</b> pauses.")
            Settings(model, params)

    with solara.Column(gap="8px", style=f"max-width: {MAIN_PX}px"):
        Happenings(model.value, view)
        with solara.Row(gap="16px", style="align-items: flex-start"):
            with solara.Column(gap="4px", style=f"width: {HALF_PX}px"):
                GraphView(view)
            # level with the graph, under its row of buttons
            with solara.Column(gap="4px", style=f"width: {HALF_PX}px; padding-top: {40 if view.layout is not None else 0}px"):
                AttentionChart(view)
        SalesChart(view)
        VanityChart(view)


page = Dashboard
