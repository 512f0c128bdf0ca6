"""Writing an experiment's folder: tables, figures and a report in plain words."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.experiments.compare import AS_WRITTEN, DECISIVE, focus_brands
from simulation.experiments.figures import (LOWER_BOUND, _num, figure_forest, figure_heatmap, figure_kpis_against,
                                            figure_over_time, heatmap_table)
from simulation.experiments.tasks import OUTCOME_KPIS, VANITY_KPIS, scenario_with
from simulation.outputs import dictionary, provenance
from simulation.outputs.html import write_html_report
from simulation.outputs.report import brands_as_run
from simulation.outputs.tables import FLOAT_FORMAT, write_table


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that it is either whole or absent, even after kill -9.

    A failed write (a full disk) or an interruption removes its temporary file; one left by kill -9 is
    removed when the sweep's folder is opened again (SweepStore). A failure names the file it was writing.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)
        raise


# ---------------------------------------------------------------- words

def difference_sentence(row: pd.Series, kpi: str, by_arm: bool) -> str:
    """One line: who is higher on this KPI, by how much, and whether it is told from noise (one test alone)."""
    better, reference = row["second"], row["first"]
    what = f"for **{row['brand']}**, **{better}**" if by_arm else f"**{better}**"
    name = kpi.replace("_", " ")
    if row["n"] < 2 or (isinstance(row["difference"], float) and math.isnan(row["difference"])):
        return f"- {name}: {what} against **{reference}**: too few runs with a value to compare."
    if row["difference"] == 0 and (row["sd"] == 0 or math.isnan(row["sd"])):
        return f"- {name}: {what} and **{reference}** are identical in every replication."
    interval = f"95 % interval of the difference {_num(row['ci_low'])} to {_num(row['ci_high'])}"
    if row["distinguishable"]:
        direction = "higher" if row["difference"] > 0 else "lower"
        size = "" if math.isnan(row["effect_size"]) else f", effect size {_num(row['effect_size'])}"
        return f"- {name}: {what} is {_num(abs(row['difference']))} {direction} than **{reference}** ({interval}{size})."
    return (f"- {name}: {what} against **{reference}**: the difference ({_num(row['difference'])}) is not "
            f"distinguishable from noise ({interval}).")


_BEST_WORDS = {"sales": "the most sales", "revenue": "the most revenue", "roi": "the best ROI",
               "cost_per_acquisition": "the lowest cost per acquisition", "trust": "the highest trust"}


_UNDEFINED = {"cost_per_acquisition": "no adopters", "roi": "no spend"}


def _money_or(kpi: str, value, currency: str) -> str:
    text = _num(value)
    return f"{text} {currency}" if "{currency}" in dictionary.KPIS[kpi][1] and text != "n/a" else text


def _span(mean, low, high, bound: float | None = None) -> str:
    """'1,392 (1,310 to 1,474)': a mean and its interval, the low end never below what the KPI can reach."""
    if bound is not None:
        low = max(low, bound)  # NaN stays NaN
    return f"{_num(mean)} ({_num(low)} to {_num(high)})"


def _cell(row: pd.Series, kpi: str) -> str:
    """A verdict cell: the KPI's mean and interval, where it is defined, bold when best."""
    text = _span(row[f"{kpi}_mean"], row[f"{kpi}_low"], row[f"{kpi}_high"], LOWER_BOUND.get(kpi))
    if row[f"{kpi}_n"] < row[f"{kpi}_runs"]:
        text += f", defined in {row[f'{kpi}_n']} of {row[f'{kpi}_runs']} runs"
    return f"**{text} best**" if row[f"{kpi}_best"] else text


def verdict_lines(verdict, scenario) -> list[str]:
    """The verdict: the question, a table of alternatives x decisive KPIs, then the answer in words."""
    currency = scenario.currency
    lines = []
    if verdict.question:
        lines += [f"**Question.** {verdict.question}", ""]
    n = verdict.replications
    lines += ["## Verdict", "",
              f"Means over {n} paired replications, with 95 % intervals. **Bold, best**: the best on that KPI (two "
              "bold cells in a column: tied, not told apart), better than every unmarked alternative by a paired "
              f"difference told from noise after Holm's correction over the {verdict.family} paired differences "
              "of this table (5 % family-wise error). No bold in a column: the replications do not single out "
              "a best on that KPI.", ""]
    kpis = [k for k, _ in DECISIVE]
    header = "| alternative | " + " | ".join(dictionary.label(k, currency) for k in kpis) + " |"
    for group, alternatives in verdict.groups.items():
        if len(verdict.groups) > 1:
            lines += [f"Brand **{group}**:", ""]
        lines += [header, "|---|" + "---:|" * len(kpis)]
        rows = verdict.table[verdict.table["group"] == group]
        for _, row in rows.iterrows():
            lines.append(f"| {row['alternative']} | " + " | ".join(_cell(row, k) for k in kpis) + " |")
        lines.append("")
    lines += verdict_paragraph(verdict, scenario) + [""]
    lines += pair_lines(verdict)
    return lines


def pair_lines(verdict) -> list[str]:
    """With three or more alternatives: each pair's answer on each decisive KPI (whom it favours, by how much)."""
    if all(len(alternatives) < 3 for alternatives in verdict.groups.values()):
        return []
    kpis = [k for k, _ in DECISIVE]
    lines = ["Pair by pair (each cell: whom the paired difference favours and by how much, where it is told from "
             "noise after the same correction; '-' where it is not):", "",
             "| pair | " + " | ".join(dictionary.label(k) for k in kpis) + " |", "|---|" + "---|" * len(kpis)]
    for (group, first, second), rows in verdict.differences.groupby(["group", "first", "second"], sort=False):
        cells = []
        by_kpi = rows.set_index("kpi")
        for kpi, better in DECISIVE:
            r = by_kpi.loc[kpi]
            if not r["distinguishable"]:
                cells.append("-")
                continue
            favoured = second if r["difference"] * better > 0 else first
            cells.append(f"{favoured} ({_num(abs(r['difference']))})")
        label = f"{second} vs {first}" + (f" ({group})" if len(verdict.groups) > 1 else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines + [""]


def verdict_paragraph(verdict, scenario) -> list[str]:
    """The verdict in words, KPI by KPI: who is best and by how much, or that it is undecided."""
    currency = scenario.currency
    margins = sorted({b.margin for b in scenario.brands})
    lines = []
    for group, alternatives in verdict.groups.items():
        rows = verdict.table[verdict.table["group"] == group].set_index("alternative")
        diffs = verdict.differences[verdict.differences["group"] == group]
        if len(alternatives) < 2:
            lines.append("One alternative only: nothing to compare; the table gives its means and intervals.")
            continue
        decided, undecided, wins = [], [], {}
        for kpi, _ in DECISIVE:
            best = rows.index[rows[f"{kpi}_best"]].tolist()
            if not best:
                undecided.append(kpi)
                continue
            wins.setdefault(tuple(best), []).append(_BEST_WORDS[kpi].removeprefix("the "))
            others = [a for a in alternatives if a not in best]
            word = "less" if kpi == "cost_per_acquisition" else "more"
            against = ", ".join(f"{_money_or(kpi, rows.at[o, f'{kpi}_mean'], currency)} for {o}" for o in others)
            leaders = " and ".join(f"**{w}** ({_money_or(kpi, rows.at[w, f'{kpi}_mean'], currency)})" for w in best)
            verb = f"has {_BEST_WORDS[kpi]}" if len(best) == 1 else f"share {_BEST_WORDS[kpi]} (not told apart)"
            gaps = []
            for winner in best:
                for other in others:
                    r = diffs[(diffs["kpi"] == kpi) & (((diffs["first"] == winner) & (diffs["second"] == other))
                                                      | ((diffs["first"] == other) & (diffs["second"] == winner)))].iloc[0]
                    low, high = sorted((abs(r["ci_low"]), abs(r["ci_high"])))
                    gaps.append((r["p_holm"], f"{winner} {_num(abs(r['difference']))} {word} than {other} (95 % "
                                 f"interval {_num(low)} to {_num(high)}, Holm-adjusted p {_p(r['p_holm'])})"))
            gap = (gaps[0][1] if len(gaps) == 1 else
                   "the least certain of the gaps, " + max(gaps, key=lambda g: g[0])[1] + "; all in `differences.csv`")
            decided.append(f"- {dictionary.label(kpi)}: {leaders} {verb}, against {against}: {gap}.")
        for kpi in undecided:
            same = diffs[diffs["kpi"] == kpi]
            missing = [(a, int(rows.at[a, f"{kpi}_runs"] - rows.at[a, f"{kpi}_n"])) for a in alternatives]
            missing = [(a, k) for a, k in missing if k]
            if missing:
                where = ", ".join(f"{k} of {int(rows.at[a, f'{kpi}_runs'])} runs of {a}" for a, k in missing)
                decided.append(f"- {dictionary.label(kpi)}: not compared: undefined in {where} "
                               f"({_UNDEFINED.get(kpi, 'no value')}); leaving those runs out would keep only the "
                               "lucky ones.")
                continue
            if len(same) and ((same["difference"] == 0) & (same["sd"].fillna(0) == 0)).all():
                decided.append(f"- {dictionary.label(kpi)}: undecided: the alternatives are identical in every "
                               "paired replication.")
                continue
            close = same.assign(_z=lambda d: (d["difference"] / d["sd"]).abs())
            close = close.sort_values("_z", ascending=False).head(1)
            detail = ""
            if len(close):
                r = close.iloc[0]
                detail = (f"; the closest call, {r['second']} minus {r['first']}, is {_num(r['difference'])} "
                          f"(95 % interval {_num(r['ci_low'])} to {_num(r['ci_high'])}, Holm-adjusted p "
                          f"{_p(r['p_holm'])})")
            decided.append(f"- {dictionary.label(kpi)}: undecided: no alternative is told from every other with "
                           f"{verdict.replications} replications{detail}.")
        brief = "; ".join(_and([f"**{w}**" for w in leaders]) + (" has " if len(leaders) == 1 else " share ")
                          + _and(k) for leaders, k in wins.items()) or "no alternative is best on any KPI"
        if undecided:
            brief += f"; undecided on {', '.join(dictionary.label(k) for k in undecided)}"
        prefix = f"For brand {group}, in" if len(verdict.groups) > 1 else "In"
        lines += [f"{prefix} brief: {brief}.", "", *decided, ""]
        if undecided:
            lines += ["Undecided means the replications cannot tell the alternatives apart on that KPI: more "
                      "replications (`--replications`) may settle it, or the difference is too small to matter.", ""]
    lines += [f"ROI is (margin x revenue - spend) / spend with each brand's margin "
              f"({' and '.join(f'{m:g}' for m in margins)}); money is in {currency}."]
    return lines


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def incremental_lines(result, currency: str) -> list[str]:
    """Attributed beside incremental figures: what each brand's spend added, against the same runs at zero spend."""
    table = result.incremental
    if table is None or table.empty:
        return []
    named = result.by_arm
    lines = ["## What the spend added: incremental against attributed", "",
             "Each alternative was also run with each brand's budget at 0 for the whole run, on the same seeds. "
             "The brand still sells then (word of mouth, its own site, the market's external pull): the sales a "
             "report attributes to a brand are not all bought by its spend. Incremental = with spend minus at "
             "zero spend, paired by replication; incremental ROI = (margin x incremental revenue - spend) / spend. "
             "Means with 95 % intervals.", "",
             ("| alternative " if named else "") + "| brand | sales (attributed) | sales at zero spend | "
             "incremental sales | ROI (attributed) | incremental ROI | attributed ROI overstates by | "
             "last-touch sales | last-touch ROI | ROI by a media-mix model |",
             ("|---" if named else "") + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def cell(row, name: str, bound: float | None = None) -> str:
        return _span(row[f"{name}_mean"], row[f"{name}_low"], row[f"{name}_high"], bound)

    def mmm_cell(row) -> str:
        if "mmm_runs" not in row or not row["mmm_runs"]:
            return "n/a"
        if not row["mmm_estimable"]:
            return "not estimable: spend never varies"
        text = cell(row, "mmm_roi")
        if row["mmm_estimable"] < row["mmm_runs"]:
            text += f", in {int(row['mmm_estimable'])} of {int(row['mmm_runs'])} runs"
        return text

    sentences = []
    for _, row in table.iterrows():
        label = f"| {row['arm']} " if named else ""
        lines.append(f"{label}| {row['brand']} | {cell(row, 'sales', 0)} | {cell(row, 'sales_at_zero_spend', 0)} | "
                     f"{cell(row, 'incremental_sales')} | {cell(row, 'roi', -1)} | {cell(row, 'incremental_roi', -1)} | "
                     f"{cell(row, 'roi_overstated_by')} | {cell(row, 'last_touch_sales', 0)} | "
                     f"{cell(row, 'last_touch_roi', -1)} | {mmm_cell(row)} |")
        if math.isnan(row["incremental_roi_mean"]):
            continue
        who = row["brand"] + (f" ({row['arm']})" if named else "")
        share = row["sales_at_zero_spend_mean"] / row["sales_mean"] if row["sales_mean"] else float("nan")
        sentences.append(f"- {who}: {_num(row['sales_at_zero_spend_mean'])} of its {_num(row['sales_mean'])} sales "
                         f"({100 * share:.0f} %) happen without any spend; its spend bought "
                         f"{_num(row['incremental_sales_mean'])}. Its ROI is {_num(row['roi_mean'])} as attributed, "
                         f"{_num(row['incremental_roi_mean'])} as incremental (95 % interval "
                         f"{_num(max(row['incremental_roi_low'], -1))} to {_num(row['incremental_roi_high'])}): "
                         + ("the spend pays for itself." if row["incremental_roi_low"] > 0 else
                            "the spend does not pay for itself." if row["incremental_roi_high"] < 0 else
                            "whether the spend pays for itself is not told from noise."))
    return lines + [""] + sentences + [
        "", "Last-touch is what web analytics would credit to the brand's ads and site: the sales to users who saw "
        "one of its impressions or visited its site in the 7 days before (today included); last-touch ROI = "
        "(margin x their revenue - spend) / spend. It credits sales the brand would have made anyway, and misses "
        "those its word of mouth brought in without a touch.",
        "", "The media-mix model is what a strategist's dashboard would estimate from one run's own data: weekly "
        "sales regressed on weekly spend with a geometric adstock (decay 0 to 0.9 a week, the best fit), its "
        "incremental sales the slope times the adstock. With a steady budget it has nothing to learn from "
        "(not estimable), and small accidental variations in spend make it say anything: set it beside the "
        "incremental ROI, which the counterfactual runs measure.", "",
        f"Money in {currency}; `incremental.csv` has every figure.", ""]


def all_kpis_lines(result, currency: str) -> list[str]:
    """Every KPI (vanity first), alternatives as columns: mean and 95 % interval."""
    names = [(r.arm, r.brand) for r in result.tables["sales"][result.tables["sales"]["row"] == "alternative"].itertuples()]
    labels = [" / ".join(x for x in pair if x != AS_WRITTEN) for pair in names]
    lines = ["## Every KPI", "", "Vanity metrics (what a brand bought or attracted) first, then outcomes (what it "
             "sold). Means with 95 % intervals; the meaning and unit of each is in `data_dictionary.csv`.", "",
             "| KPI | unit | " + " | ".join(labels) + " |", "|---|---|" + "---:|" * len(labels)]
    for kpi in VANITY_KPIS + OUTCOME_KPIS:
        rows = result.tables[kpi][result.tables[kpi]["row"] == "alternative"]
        cells = [_span(r.mean, r.ci_low, r.ci_high, LOWER_BOUND.get(kpi)) for r in rows.itertuples()]
        lines.append(f"| {dictionary.label(kpi)} | {dictionary.unit(kpi, currency)} | " + " | ".join(cells) + " |")
    return lines + [""]


def write_comparison(result, out: Path, *, loaded, scenario, executor: str) -> None:
    """The verdict, the forest plot, every KPI, the bands over time, the tables and the record of what was run."""
    tables = out / "tables"
    tables.mkdir()
    write_table(result.runs, out, "runs")
    for kpi, table in result.tables.items():
        table.to_csv(tables / f"{kpi}.csv", index=False, float_format=FLOAT_FORMAT)
    verdict = result.verdict
    verdict.table.to_csv(out / "verdict.csv", index=False, float_format=FLOAT_FORMAT)
    verdict.differences.to_csv(out / "differences.csv", index=False, float_format=FLOAT_FORMAT)
    if result.incremental is not None:
        result.incremental.to_csv(out / "incremental.csv", index=False, float_format=FLOAT_FORMAT)
    if result.failed is not None:
        result.failed.to_csv(out / "failed_runs.csv", index=False)
    dictionary.write_dictionary(out, [], scenario.currency, experiment="compare")

    days = result.days or scenario.days
    events = [(e.day, e.type) for e in scenario.events if e.day <= days]
    figures = {}
    if len(verdict.differences):
        figures["forest.png"] = ("Paired differences: the verdict at a glance", figure_forest(
            verdict.differences, currency=scenario.currency, replications=result.replications))
    if not result.series.empty:
        focus = focus_brands(result) if result.by_arm else result.brands
        series = result.series[result.series["brand"].isin(focus)]
        group = (["arm"] if len(focus) == 1 else ["arm", "brand"]) if result.by_arm else ["brand"]
        figures["over_time.png"] = ("The decisive KPIs day by day", figure_over_time(
            series, group, replications=result.replications, currency=scenario.currency, events=events))
    for name, (_, fig) in figures.items():
        fig.savefig(out / name, dpi=110, metadata={"Software": None})

    what = provenance.record(loaded, scenario, days=days, seeds=result.seeds)
    lines = [f"# Comparison: {scenario.name}", ""]
    lines += verdict_lines(verdict, scenario)
    if "forest.png" in figures:
        lines += ["![Paired differences](forest.png)", ""]
    lines += incremental_lines(result, scenario.currency)
    arms_text = (["- Alternatives (arms): " + "; ".join(
        f"**{a.name}**: " + (", ".join(f"`{o}`" for o in a.overrides) or "the scenario as written")
        for a in result.arms) + "."] if result.by_arm else
        ["- Alternatives: the brands of the scenario, compared within the same runs."])
    if result.by_arm:
        base = scenario.model_dump(mode="json")
        alternatives = [(a.name, scenario_with(base, a.overrides)) for a in result.arms]
    else:
        alternatives = [("", scenario)]
    lines += ["## The brands as run", ""] + brands_as_run(scenario, alternatives)
    lines += provenance.run_lines(what, extra=arms_text + [
        f"- Replications: {result.replications} per alternative, paired: replication *i* of every alternative "
        "uses the same seed (the same graph, the same initial population, the same random numbers until the "
        f"alternatives' decisions make them diverge). Run on {executor}."])
    if result.failed is not None:
        lines += [f"**{len(result.failed)} runs failed** (see `failed_runs.csv`); they are left out of every pair.", ""]
    lines += all_kpis_lines(result, scenario.currency)
    if "over_time.png" in figures:
        lines += ["## Over time", "", "![Over time](over_time.png)", ""]
    lines += ["## Files", "", "- `verdict.csv`: the verdict table; `differences.csv`: every paired difference behind "
              "it, with raw and Holm-adjusted p-values",
              "- `runs.csv` (and `runs.parquet`): one row per run and brand, every KPI",
              "- `tables/<kpi>.csv`: per KPI, each alternative's mean and interval, and each paired difference "
              "from the first alternative (tested one at a time, for exploration)",
              "- `data_dictionary.csv`: every column's meaning and unit; `comparison.json`: what was run", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    (out / "comparison.json").write_text(json.dumps({
        **what, "replications": result.replications, "executor": executor,
        "arms": [{"name": a.name, "overrides": list(a.overrides)} for a in result.arms],
        "failed": 0 if result.failed is None else len(result.failed),
        "question": verdict.question, "holm_family": verdict.family}, indent=2) + "\n")
    write_html_report(out)

# ---------------------------------------------------------------- sweeps

SWEEP_KPIS = ("sales", "revenue", "roi", "cost_per_acquisition", "trust", "adopters")


def _value(v) -> str:
    return _num(v) if isinstance(v, (float, np.floating)) else str(v)


def winner_along(results: pd.DataFrame, param: str, brands: list[str], kpi: str) -> str | None:
    """Which brand leads on a KPI at each value of one varied parameter, and where the lead changes hands."""
    from simulation.experiments.figures import _binned

    ok = results[results["status"] == "ok"]
    present = [b for b in brands if f"{b}/{kpi}" in ok]
    columns = [f"{b}/{kpi}" for b in present]
    if len(columns) < 2 or not len(ok):
        return None
    x = _binned(ok[param]) if pd.api.types.is_numeric_dtype(ok[param]) else ok[param].astype(str)
    means = ok.assign(_x=x).groupby("_x", sort=True)[columns].mean()
    better = -1 if kpi == "cost_per_acquisition" else 1
    leaders = [(value, present[int(np.nanargmax(better * row.to_numpy()))]) for value, row in means.iterrows()
               if np.isfinite(row.to_numpy()).any()]
    if not leaders:
        return None
    name = param.removeprefix("param:")
    flips = [f"{_value(b[0])}" for a, b in zip(leaders, leaders[1:]) if a[1] != b[1]]
    if not flips:
        return (f"- {dictionary.label(kpi)}: **{leaders[0][1]}** leads at every value of `{name}` tried "
                f"({_value(leaders[0][0])} to {_value(leaders[-1][0])}).")
    runs = []
    for value, leader in leaders:
        if runs and runs[-1][0] == leader:
            runs[-1][2] = value
        else:
            runs.append([leader, value, value])
    parts = [f"**{leader}** from {_value(lo)} to {_value(hi)}" if lo != hi else f"**{leader}** at {_value(lo)}"
             for leader, lo, hi in runs]
    return (f"- {dictionary.label(kpi)}: the lead changes hands along `{name}`: " + ", then ".join(parts)
            + ". (Means over replications; a lead smaller than the intervals of the figure is not a lead.)")


def write_sweep_outputs(results: pd.DataFrame, plan, out: Path, brands: list[str], executor: str, *,
                        loaded=None, scenario=None) -> list[str]:
    """Figures, sweep.json, data_dictionary.csv, report.md and report.html of a finished sweep.

    runs/, results.parquet and results.csv are already there.
    """
    params = [c for c in results.columns if c.startswith("param:")]
    ok = results[results["status"] == "ok"] if len(results) else results
    failed = results[results["status"] != "ok"] if len(results) else results
    currency = scenario.currency if scenario is not None else plan.base.get("currency", "units")
    days = plan.days or plan.base["days"]
    figures = []
    for param in params:
        if not len(ok):
            break
        fig = figure_kpis_against(results, param, brands, several=len(params) > 1, currency=currency,
                                  kpis=SWEEP_KPIS)
        name = f"kpis_vs_{param.removeprefix('param:').replace('.', '_').replace(' ', '_')}.png"
        fig.savefig(out / name, dpi=100, metadata={"Software": None})
        figures.append(name)
    heat_lines = []
    if len(params) == 2 and len(ok):
        px, py = params
        if len(brands) >= 2:
            column, label = "_roi_difference", f"ROI of {brands[1]} minus ROI of {brands[0]}"
            results = results.assign(_roi_difference=results[f"{brands[1]}/roi"] - results[f"{brands[0]}/roi"])
        else:
            column, label = f"{brands[0]}/roi", f"ROI of {brands[0]}"
        table = heatmap_table(results, px, py, column)
        title = f"{label}, mean over replications"
        fig = figure_heatmap(table, px, py, label=label, title=title)
        fig.savefig(out / "heatmap_roi.png", dpi=100, metadata={"Software": None})
        figures.append("heatmap_roi.png")
        if len(brands) >= 2:
            values = table.to_numpy(dtype=float)
            ahead = int(np.sum(values > 0))
            behind = int(np.sum(values < 0))
            heat_lines = [f"Heat map: {brands[1]}'s ROI is above {brands[0]}'s in {ahead} of {values.size} cells "
                          f"and below it in {behind}"
                          + ("; the winner on ROI flips inside the region swept." if ahead and behind else
                             "; the same brand has the better ROI everywhere in the region swept.")]
    what = provenance.record(loaded, scenario, days=days, seeds=plan.seeds) if scenario is not None else None
    constant = {**plan.base, "days": days}
    summary = {**(what or {}), "spec_sha256": plan.spec_hash, "runs": int(len(results)), "ok": int(len(ok)),
               "failed": int(len(failed)), "points": len(plan.points), "replications": plan.replications,
               "varied": [v.text for v in plan.varies], "constant": constant,
               "master_seed": plan.master_seed, "seeds": plan.seeds, "executor": executor}
    (out / "sweep.json").write_text(json.dumps(summary, indent=2) + "\n")
    dictionary.write_dictionary(out, ["brands"] if plan.series else [], currency, experiment="sweep")

    title = scenario.name if scenario is not None else plan.base.get("name", "scenario")
    lines = [f"# Sweep: {title}", ""]
    if scenario is not None and scenario.question:
        lines += [f"**Question of the scenario.** {scenario.question}", "",
                  "The question was written for the scenario as written; this sweep varies "
                  + ", ".join(f"`{v.key}`" for v in plan.varies) + ", so what it takes as given (a budget, a "
                  "price, a strategy) holds only at the points where those keys keep the file's values.", ""]
    lines += [f"{len(plan.points)} points x {plan.replications} replications = {len(plan.points) * plan.replications} "
              f"runs ({plan.sample} sampling), on {executor}: **{len(ok)} ok, {len(failed)} failed**.", "",
              "Varied: " + ", ".join(f"`{v.text}`" for v in plan.varies) + ". Every other key is constant "
              "(`sweep.json`, key `constant`). Replication *r* uses the same seed at every point.", ""]
    flips = [line for param in params for kpi in ("sales", "roi")
             if (line := winner_along(results, param, brands, kpi))]
    if flips or heat_lines:
        lines += ["## Where the winner changes", "", *flips, *([""] + heat_lines if heat_lines else []), ""]
    if what is not None:
        lines += provenance.run_lines(what)
    if len(failed):
        lines += ["## Failed runs", "", "| run | seed | error |", "|---:|---:|---|"]
        for _, row in failed.head(20).iterrows():
            lines.append(f"| {row['run_id']} | {row['seed']} | {str(row.get('error', '')).splitlines()[0][:200]} |")
        lines.append("")
    lines += ["## Figures", ""] + [f"![{name}]({name})" for name in figures] + [
        "", "Files: `results.csv` and `results.parquet` (one row per run: parameters as `param:<key>`, seed, status, "
        "every KPI as `<brand>/<kpi>`), `runs/` (the same, one file per run), `series/` with `--series` (daily "
        "tables per run), `data_dictionary.csv` (meaning and unit of every column), `sweep.json` (what was run).", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    write_html_report(out)
    return figures
