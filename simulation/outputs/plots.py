"""Figures from the tidy tables. Each function takes tables and an `ax` and returns the ax.

No global pyplot state: callers make a `matplotlib.figure.Figure` and pass its axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def attention_share(sinks: pd.DataFrame, ax: Axes) -> Axes:
    """Share of all attention by sink over time, stacked."""
    wide = sinks.pivot_table(index="day", columns="sink", values="share", aggfunc="sum", sort=False).fillna(0.0)
    wide = wide.loc[:, wide.sum() > 0]  # a platform that has not opened yet has no place in the legend
    order = wide.mean().sort_values(ascending=False).index
    wide = wide[order]
    colours = [colormaps["tab20"](i % 20) for i in range(len(wide.columns))]
    ax.stackplot(wide.index, wide.T.values, labels=list(wide.columns), colors=colours, alpha=0.9)
    if wide.index.max() > wide.index.min():
        ax.set_xlim(wide.index.min(), wide.index.max())
    ax.set_ylim(0, 1)
    ax.set_xlabel("day")
    ax.set_ylabel("share of all minutes online")
    ax.set_title("Where the time goes")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small", frameon=False)
    return ax


def brand_metric(brands: pd.DataFrame, column: str, ax: Axes, *, label: str | None = None) -> Axes:
    """One daily brand metric over time, a line per brand."""
    for name, rows in brands.groupby("brand", sort=False):
        ax.plot(rows["day"], rows[column], label=name)
    ax.set_xlabel("day")
    ax.set_ylabel(label or column.replace("_", " "))
    ax.legend(fontsize="small", frameon=False)
    return ax


def vanity_vs_outcome(summary: dict, ax_vanity: Axes, ax_outcome: Axes) -> tuple[Axes, Axes]:
    """Per brand, vanity metrics beside outcome metrics, each as a share of the best brand's figure."""
    brands = list(summary["brands"])
    groups = [("impressions", "reach", "fans"), ("engaged_minutes", "adopters", "sales", "revenue")]
    for ax, metrics, title in ((ax_vanity, groups[0], "Vanity metrics"), (ax_outcome, groups[1], "Outcome metrics")):
        width = 0.8 / max(len(brands), 1)
        x = np.arange(len(metrics))
        for i, brand in enumerate(brands):
            values = []
            for m in metrics:
                best = max((summary["brands"][b][m] or 0) for b in brands)
                values.append((summary["brands"][brand][m] or 0) / best if best else 0.0)
            bars = ax.bar(x + i * width - 0.4 + width / 2, values, width, label=brand)
            for bar, m in zip(bars, metrics):
                raw = summary["brands"][brand][m] or 0
                ax.annotate(_short(raw), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize="x-small")
        ax.set_xticks(x, [m.replace("_", " ") for m in metrics])
        ax.set_ylim(0, 1.15)
        ax.set_ylabel("share of the best brand's figure")
        ax.set_title(title)
        ax.legend(fontsize="small", frameon=False)
    return ax_vanity, ax_outcome


def _short(x: float) -> str:
    x = float(x)
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.1f}{unit}"
    return f"{x:.0f}" if abs(x) >= 10 else f"{x:.2g}"


def figure_attention(sinks: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    attention_share(sinks, fig.subplots())
    return fig


def figure_vanity_outcome(summary: dict) -> Figure:
    fig = Figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    vanity_vs_outcome(summary, left, right)
    return fig


def figure_adoption(brands: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    a, t, d = fig.subplots(1, 3)
    brand_metric(brands, "awareness", a, label="mean awareness")
    brand_metric(brands, "trust", t, label="mean trust")
    t.axhline(0, color="grey", lw=0.5)
    brand_metric(brands, "adopters", d, label="customers (adopters)")
    a.set_title("Awareness")
    t.set_title("Trust")
    d.set_title("Adoption")
    return fig
