"""Figures of experiments: compare's forest plot and bands over time, sweep's KPI curves and heat map.

Plot functions take tables and an `ax` and return it; `figure_*` builders make a
`matplotlib.figure.Figure` (never pyplot) that the report writers save.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import t as t_dist

from simulation.experiments.tasks import KPIS
from simulation.outputs import dictionary

#: Daily columns that count things or money: never drawn below zero.
NON_NEGATIVE = {"adopters", "sales", "revenue", "revenue_to_date", "spend_to_date", "sales_to_date", "reach",
                "fans", "impressions", "clicks", "engaged_minutes", "cost_per_acquisition", "awareness"}

#: The lowest value each KPI can take: intervals are drawn and printed no lower (ROI cannot fall below -1:
#: revenue is never negative).
LOWER_BOUND = {**{name: 0.0 for name in NON_NEGATIVE}, "roi": -1.0, "roi_to_date": -1.0, "trust": -1.0}

#: Compare's bands over time: the decisive KPIs as they build up.
OVER_TIME = (("sales_to_date", "sales to date", "sales"), ("revenue_to_date", "revenue to date", "{currency}"),
             ("roi_to_date", "ROI to date", "ratio"), ("trust", "mean trust", "score, -1 to 1"))


def _num(x) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    x = float(x)
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def mark_events(ax, events: list[tuple[int, str]]) -> None:
    """A thin dashed line at each event day, labelled at the top of the axes."""
    for day, what in events:
        ax.axvline(day, color="0.35", lw=0.8, ls="--", zorder=0, gid="event")
        ax.annotate(what.replace("_", " "), (day, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                    textcoords="offset points", ha="left", va="top", fontsize="x-small", color="0.3", rotation=90)


# ---------------------------------------------------------------- compare

def plot_forest(differences: pd.DataFrame, kpi: str, ax, *, labels: list[str], currency: str = "units"):
    """Each pair's paired difference on one KPI: mean, 95 % interval, a zero line, and whom it favours.

    Filled blue when the difference is told from noise after Holm's correction, hollow grey otherwise.
    """
    rows = differences[differences["kpi"] == kpi].set_index("_label").reindex(labels)
    y = np.arange(len(labels))
    for position, row in zip(y, rows.itertuples()):
        if np.isnan(row.difference):
            continue
        low = row.ci_low if not np.isnan(row.ci_low) else row.difference
        high = row.ci_high if not np.isnan(row.ci_high) else row.difference
        colour = "tab:blue" if row.distinguishable else "0.55"
        ax.plot([low, high], [position, position], color=colour, lw=2.5, solid_capstyle="butt")
        ax.plot([row.difference], [position], "o", color=colour, markersize=8,
                markerfacecolor=colour if row.distinguishable else "white")
        if row.distinguishable:
            favoured = row.second if row.difference * row.better > 0 else row.first
            note = f"{_num(row.difference)}: favours {favoured}"
        else:
            note = f"{_num(row.difference)}: not told from 0"
        ax.annotate(note, (row.difference, position), xytext=(0, 7), textcoords="offset points", ha="center",
                    va="bottom", fontsize="small", color="black" if row.distinguishable else "0.35")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels)
    ax.set_ylabel("pair", fontsize="small")
    ax.set_ylim(len(labels) - 0.4, -0.9)
    better = int(rows["better"].dropna().iloc[0]) if rows["better"].notna().any() else 1
    unit = dictionary.unit(kpi, currency)
    ax.set_title(f"{dictionary.label(kpi)}: {'higher' if better > 0 else 'lower'} is better", loc="left",
                 fontsize="medium")
    shown = f" ({unit})" if unit and unit != dictionary.label(kpi) else ""
    ax.set_xlabel(f"difference in {dictionary.label(kpi)}{shown}", fontsize="small")
    lo, hi = np.nanmin([rows["ci_low"].min(), rows["difference"].min(), 0.0]), \
        np.nanmax([rows["ci_high"].max(), rows["difference"].max(), 0.0])
    pad = 0.25 * (hi - lo) if hi > lo else 1.0
    ax.set_xlim(lo - pad, hi + pad)  # room for the notes, zero always in view
    return ax


def figure_forest(differences: pd.DataFrame, *, currency: str = "units", replications: int | None = None) -> Figure:
    """The first figure of a compare report: every pair's paired difference, one panel per decisive KPI."""
    differences = differences.assign(_label=[f"{r.second} minus {r.first}" for r in differences.itertuples()])
    if differences["group"].nunique() > 1:
        differences["_label"] = [f"{r.group}: {r._label}" for r in differences.itertuples()]
    labels = list(dict.fromkeys(differences["_label"]))
    kpis = list(dict.fromkeys(differences["kpi"]))
    panel = 0.75 + 0.38 * len(labels)
    fig = Figure(figsize=(9, 1.1 + panel * len(kpis)), layout="constrained")
    axes = fig.subplots(len(kpis), 1, squeeze=False)[:, 0]
    for ax, kpi in zip(axes, kpis):
        plot_forest(differences, kpi, ax, labels=labels, currency=currency)
    over = f" over {replications} paired replications" if replications else ""
    family = int(differences["p_value"].notna().sum())
    fig.suptitle(f"Paired differences{over}: mean and 95 % interval", fontsize="large")
    fig.supxlabel(f"Blue, filled: told from noise after Holm's correction over the {family} differences shown "
                  "(5 % family-wise). Grey, hollow: not.\nThe lines are 95 % intervals of each difference alone: "
                  "a hollow point's line can clear 0 when the correction is what keeps it undecided.",
                  fontsize="small")
    return fig


def plot_over_time(series: pd.DataFrame, column: str, ax, *, label: str, group: list[str],
                   unit: str = "", events: list[tuple[int, str]] = ()):
    """Mean over replications per day with a 95 % band, a line per alternative."""
    for key, rows in series.groupby(group, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        stats = rows.groupby("day")[column].agg(["mean", "std", "count"])
        quantile = t_dist.ppf(0.975, np.maximum(stats["count"] - 1, 1))
        half = quantile * stats["std"].fillna(0) / np.sqrt(stats["count"])
        low, high = stats["mean"] - half, stats["mean"] + half
        if column in LOWER_BOUND:
            low = low.clip(lower=LOWER_BOUND[column])
        line, = ax.plot(stats.index, stats["mean"], label=" / ".join(str(k) for k in key if k != "as written"))
        ax.fill_between(stats.index, low, high, color=line.get_color(), alpha=0.2)
    mark_events(ax, events)
    if column in NON_NEGATIVE:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("day")
    ax.set_ylabel(f"{label} ({unit})" if unit and unit not in label else label)
    ax.set_title(label)
    return ax


def figure_over_time(series: pd.DataFrame, group: list[str], *, replications: int, currency: str = "units",
                     events: list[tuple[int, str]] = ()) -> Figure:
    """The decisive KPIs day by day, a band per alternative, one legend below the panels."""
    series = series.sort_values([*group, "replication", "day"]).copy()
    series["sales_to_date"] = series.groupby([*group, "replication"], sort=False)["sales"].cumsum()
    fig = Figure(figsize=(12, 7.5), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for ax, (column, label, unit) in zip(axes, OVER_TIME):
        plot_over_time(series, column, ax, label=label, group=group, unit=unit.replace("{currency}", currency),
                       events=events)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 4), frameon=False)
    fig.suptitle(f"Mean of {replications} paired replications per day, with 95 % bands")
    return fig


# ---------------------------------------------------------------- sweeps

def _binned(values: pd.Series, bins: int = 10) -> pd.Series:
    """The values themselves when few; else the middle of quantile bins."""
    if values.nunique() <= 12:
        return values
    cut = pd.qcut(values, q=bins, duplicates="drop")
    return cut.map(lambda interval: interval.mid).astype(float)


def plot_kpi_against(results: pd.DataFrame, param: str, kpi: str, brands: list[str], ax, *, currency: str = "units"):
    """Mean KPI per value of a varied parameter with 95 % intervals, a line per brand."""
    from simulation.experiments.stats import interval

    ok = results[results["status"] == "ok"]
    x = _binned(ok[param]) if pd.api.types.is_numeric_dtype(ok[param]) else ok[param].astype(str)
    for brand in brands:
        column = f"{brand}/{kpi}"
        if column not in ok:
            continue
        stats = [(value, *interval(group[column].to_numpy())) for value, group in ok.groupby(x, sort=True)]
        if not stats:
            continue
        xs, means, _, lows, highs = zip(*stats)
        if kpi in LOWER_BOUND:
            lows = np.maximum(lows, LOWER_BOUND[kpi])
        positions = np.arange(len(xs)) if not pd.api.types.is_numeric_dtype(x) else np.array(xs, dtype=float)
        yerr = np.nan_to_num(np.vstack([np.subtract(means, lows), np.subtract(highs, means)]))
        ax.errorbar(positions, means, yerr=yerr, marker="o", capsize=3, label=brand)
        if not pd.api.types.is_numeric_dtype(x):
            ax.set_xticks(positions, xs, rotation=30, fontsize="small")
    ax.set_xlabel(param.removeprefix("param:"))
    unit = dictionary.unit(kpi, currency)
    ax.set_ylabel(f"{dictionary.label(kpi)} ({unit})" if unit and unit != dictionary.label(kpi) else dictionary.label(kpi))
    ax.set_title(dictionary.label(kpi))
    if kpi in NON_NEGATIVE:
        ax.set_ylim(bottom=0)
    return ax


def figure_kpis_against(results: pd.DataFrame, param: str, brands: list[str], *, several: bool,
                        currency: str = "units", kpis: tuple[str, ...] = KPIS) -> Figure:
    """Every KPI against one varied parameter, a panel per KPI, one legend below."""
    columns = 5 if len(kpis) > 8 else min(len(kpis), 3)
    rows = -(-len(kpis) // columns)
    fig = Figure(figsize=(3.3 * columns, 2.9 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, kpi in zip(axes, kpis):
        plot_kpi_against(results, param, kpi, brands, ax, currency=currency)
    for ax in axes[len(kpis):]:
        ax.set_visible(False)
    handles, names = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 5), frameon=False)
    others = "\nthe intervals include the spread over the other varied parameters" if several else ""
    fig.suptitle(f"KPIs against {param.removeprefix('param:')}: means over runs, 95 % intervals{others}")
    return fig


def heatmap_table(results: pd.DataFrame, px: str, py: str, column: str) -> pd.DataFrame:
    """Mean of a column over two varied parameters (binned when continuous): rows py, columns px."""
    ok = results[results["status"] == "ok"]
    x = _binned(ok[px], 8) if pd.api.types.is_numeric_dtype(ok[px]) else ok[px].astype(str)
    y = _binned(ok[py], 8) if pd.api.types.is_numeric_dtype(ok[py]) else ok[py].astype(str)
    return ok.assign(_x=x, _y=y).pivot_table(index="_y", columns="_x", values=column, aggfunc="mean")


def plot_heatmap(table: pd.DataFrame, px: str, py: str, ax, *, label: str, title: str):
    """A heat map with its value written in every cell; diverging around 0 only when values straddle 0."""
    values = table.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if low < 0 < high:
        limit = max(-low, high)
        image = ax.imshow(values, origin="lower", aspect="auto", cmap="RdBu", vmin=-limit, vmax=limit)
    else:
        image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis", vmin=low, vmax=high)
    norm = image.norm
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            shade = image.cmap(norm(value))
            dark = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] < 0.5
            ax.text(j, i, _num(value), ha="center", va="center", fontsize="small", color="white" if dark else "black")
    ax.set_xticks(range(len(table.columns)), [_num(v) if isinstance(v, float) else v for v in table.columns],
                  rotation=30, fontsize="small")
    ax.set_yticks(range(len(table.index)), [_num(v) if isinstance(v, float) else v for v in table.index],
                  fontsize="small")
    ax.set_xlabel(px.removeprefix("param:"))
    ax.set_ylabel(py.removeprefix("param:"))
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label=label)
    return ax


def figure_heatmap(table: pd.DataFrame, px: str, py: str, *, label: str, title: str) -> Figure:
    fig = Figure(figsize=(7.5, 5.8), layout="constrained")
    plot_heatmap(table, px, py, fig.subplots(), label=label, title=title)
    return fig
