"""The classroom dashboard: Mesa's SolaraViz page over the attention model.

Nothing imports this module but `run.py serve` (through `solara run`): the
model never knows about the page. The scenario comes from the environment
variable ATTENTION_MARKET_SCENARIO (set by `serve`, after validating it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from simulation.outputs import plots
from simulation.scenario import load_scenario
from simulation.model import AttentionModel
from simulation.runner import daily_tables

SCENARIO = Path(os.environ.get("ATTENTION_MARKET_SCENARIO",
                               Path(__file__).resolve().parents[2] / "scenarios" / "classroom.yaml"))
GRAPH_LIMIT = 1_500  # above this many users the graph is not drawn: it would be a smudge
NEW_PLATFORM = "New platform"


class ClassroomModel(AttentionModel):
    """The scenario, with the few knobs a class plays with as keyword arguments (SolaraViz resets by them)."""

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
        from simulation.scenario import Scenario

        super().__init__(Scenario.model_validate(data), int(seed))
        self.layout = None
        if self.population.n <= GRAPH_LIMIT and not self.network.complete:
            import networkx as nx

            graph = self.network.to_networkx()
            self.layout = np.array([p for _, p in sorted(nx.spring_layout(graph, seed=int(seed), iterations=30).items())])

    def launch_platform_now(self) -> None:
        self.launch_sink(NEW_PLATFORM)

    def crisis_now(self) -> None:
        """The first brand (whose relational share the class sets) is hit: does answering help?"""
        self.crisis(self.brands[0].name, share=0.5, trust_loss=0.8)


def _caption(text: str) -> None:
    """A caption in plain words (solara.Markdown would fetch KaTeX from a CDN: the page must work offline)."""
    solara.HTML(tag="p", unsafe_innerHTML=text.replace("**", ""), style="max-width: 40em")


def _show(fig: Figure) -> None:
    """PNG at screen resolution: an SVG of a graph with thousands of edges is slow to draw and to send."""
    solara.FigureMatplotlib(fig, format="png", dpi=80)  # no tight bbox: it draws every figure twice


TIME = "where time went"


@solara.component
def GraphView(model):
    update_counter.get()
    colour_by, set_colour_by = solara.use_state(TIME)
    if model.layout is None:
        _caption(f"**{model.population.n:,} users**: too many to draw the graph legibly; the charts show them.")
        return
    solara.ToggleButtonsSingle(value=colour_by, on_value=set_colour_by,
                               values=[TIME, *(f"customers of {b.name}" for b in model.brands)])
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    degree = model.network.degree
    w = model.network.adjacency().tocoo()
    xy = model.layout
    upper = w.row < w.col  # each edge once
    ax.add_collection(LineCollection(np.stack([xy[w.row[upper]], xy[w.col[upper]]], axis=1), colors="0.85",
                                     linewidths=0.3, zorder=0))
    if colour_by == TIME:
        favourite = np.argmax(model.population.slots, axis=0)
        colours = [plots.colormaps["tab20"](i % 20) for i in range(len(model.all_sinks))]
        ax.scatter(xy[:, 0], xy[:, 1], s=8 + 4 * degree, c=[colours[f] for f in favourite], zorder=1)
        for sink in model.sinks:
            ax.scatter([], [], color=colours[sink.column], label=sink.name)
        title = "each user coloured by where most of their time went"
    else:
        brand = model.brand(colour_by.removeprefix("customers of "))
        adopted = model.population.adopted[brand.index]
        ax.scatter(xy[~adopted, 0], xy[~adopted, 1], s=8 + 4 * degree[~adopted], color="0.75", label="not yet", zorder=1)
        ax.scatter(xy[adopted, 0], xy[adopted, 1], s=8 + 4 * degree[adopted], color="tab:red", label="customer", zorder=2)
        title = f"customers of {brand.name} in red"
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1, 1), frameon=False)
    ax.set_axis_off()
    fig.subplots_adjust(left=0.01, right=0.72, bottom=0.01, top=0.93)
    ax.set_title(f"Day {model.day}: {title}", fontsize="small", loc="left")
    _show(fig)
    _caption("Each dot is a user, sized by how many friends they have. Users choose where to spend "
             "their time; nobody is shown an ad where they do not go.")


@solara.component
def AttentionChart(model):
    update_counter.get()
    sinks, _ = daily_tables(model)
    if sinks.empty:
        _caption("Press **Step** or **Play** to start the days.")
        return
    fig = Figure(figsize=(7, 3.5))
    plots.attention_share(sinks, fig.subplots())
    fig.subplots_adjust(left=0.09, right=0.7, bottom=0.15, top=0.9)
    _show(fig)
    _caption("Share of all minutes online, day by day: every site, brand pages included, competes for "
             "the same hours.")


@solara.component
def SalesChart(model):
    update_counter.get()
    _, brands = daily_tables(model)
    if brands.empty:
        return
    fig = Figure(figsize=(9, 3.2))
    adopters, sales = fig.subplots(1, 2)
    plots.brand_metric(brands, "adopters", adopters, label="customers (people)", title="Customers", legend=False,
                       count=True)
    cumulative = brands.assign(sales_to_date=brands.groupby("brand")["sales"].cumsum())
    plots.brand_metric(cumulative, "sales_to_date", sales, label="sales to date (purchases)", title="Sales",
                       count=True)  # its legend, to the right, names the brands of both
    fig.subplots_adjust(left=0.08, right=0.84, bottom=0.17, top=0.88, wspace=0.3)
    _show(fig)
    _caption("Customers and sales of each brand: word of mouth spreads from friends who bought and "
             "trust the brand.")


@solara.component
def VanityChart(model):
    update_counter.get()
    _, brands = daily_tables(model)
    if brands.empty:
        return
    last = brands.groupby("brand", sort=False).last()
    summary = {"brands": {name: {"impressions": int(brands[brands.brand == name]["impressions"].sum()),
                                 "reach": int(row["reach"]), "fans": int(row["fans"]),
                                 "engaged_minutes": float(brands[brands.brand == name]["engaged_minutes"].sum()),
                                 "adopters": int(row["adopters"]),
                                 "sales": int(brands[brands.brand == name]["sales"].sum()),
                                 "revenue": float(row["revenue_to_date"])}
                          for name, row in last.iterrows()}}
    fig = Figure(figsize=(10, 3.4))
    left, right = fig.subplots(1, 2)
    plots.vanity_vs_outcome(summary, left, right)
    fig.subplots_adjust(left=0.07, right=0.87, bottom=0.2, top=0.9, wspace=0.25)  # the legend is to the right
    _show(fig)
    roi = ", ".join(f"{name} {'n/a' if pd.isna(row['roi_to_date']) else format(row['roi_to_date'], '+.2f')}"
                    for name, row in last.iterrows())
    _caption(f"Return on spend so far (margin x revenue minus spend, over spend): {roi}.")
    _caption("Vanity (impressions, reach, fans) against outcome (engaged minutes, customers, sales, "
             "revenue): a billboard can win the first and lose the second.")


@solara.component
def Happenings(model):
    update_counter.get()

    def launch():
        model.launch_platform_now()

    def crisis():
        model.crisis_now()

    with solara.Column(style="max-width: 22em"):
        solara.Button("Launch a new platform now", on_click=launch)
        solara.Button(f"Crisis for {model.brands[0].name} now", on_click=crisis)


model_params = {
    "users": {"type": "SliderInt", "value": 300, "label": "Number of users", "min": 50, "max": 3000, "step": 50},
    "relational_share": {"type": "SliderFloat", "value": 1.0, "label": "Relational share of the first brand's budget",
                         "min": 0.0, "max": 1.0, "step": 0.1},
    "word_of_mouth": {"type": "SliderFloat", "value": 0.05, "label": "Word-of-mouth strength (q)",
                      "min": 0.0, "max": 0.3, "step": 0.01},
    "savviness_growth": {"type": "SliderFloat", "value": 0.02, "label": "How fast users grow ad-savvy",
                         "min": 0.0, "max": 0.3, "step": 0.01},
    "seed": {"type": "InputText", "value": 7, "label": "Seed"},
}

page = SolaraViz(ClassroomModel(), components=[Happenings, GraphView, AttentionChart, SalesChart, VanityChart],
                 model_params=model_params, name="Attention Market: who gets the class's time?", play_interval=300)
