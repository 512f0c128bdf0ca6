"""Writing a run's outputs: tables, figures, summary.json and report.md.

Everything the report says comes from the run's tables and summary.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

from simulation.outputs import plots
from simulation.scenario import LoadedScenario
from simulation.runner import RunResult

PACKAGES = ("attention-market", "mesa", "numpy", "numba", "scipy", "networkx", "pandas", "pyarrow", "pydantic", "matplotlib")
FIGURES = {
    "attention_share.png": "Share of all attention by sink over time",
    "vanity_vs_outcome.png": "Vanity metrics beside outcome metrics, per brand",
    "adoption.png": "Awareness, trust and adoption over time",
}


def provenance(loaded: LoadedScenario | None, result: RunResult) -> dict:
    """Where a run came from: enough to run it again."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "scenario_file": str(loaded.path) if loaded else None,
        "scenario_sha256": loaded.sha256 if loaded else None,
        "overrides": list(loaded.overrides) if loaded else [],
        "seed": result.seed,
        "days": result.days,
        "resolved_scenario": result.scenario.model_copy(update={"days": result.days, "seed": result.seed}).model_dump(mode="json"),
        "python": platform.python_version(),
        "packages": versions,
        "run_seconds": round(result.seconds, 3),
        "compile_seconds": round(result.compile_seconds, 3),
    }


def write_outputs(result: RunResult, out: Path, loaded: LoadedScenario | None = None) -> list[Path]:
    """Write every output file of one run into the folder `out` (which must exist)."""
    written = []
    for name, table in (("sinks", result.sinks), ("brands", result.brands), ("model", result.model_vars),
                        ("users", result.users)):
        if table is None:
            continue
        table.to_csv(out / f"{name}.csv", index=False, float_format="%.10g")
        table.to_parquet(out / f"{name}.parquet", index=False)
        written += [out / f"{name}.csv", out / f"{name}.parquet"]
    summary = {**result.summary, "provenance": provenance(loaded, result)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False, allow_nan=False) + "\n")
    written.append(out / "summary.json")
    figures = {
        "attention_share.png": plots.figure_attention(result.sinks),
        "vanity_vs_outcome.png": plots.figure_vanity_outcome(result.summary),
        "adoption.png": plots.figure_adoption(result.brands),
    }
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=110, metadata={"Software": None})
        written.append(out / name)
    (out / "report.md").write_text(report_markdown(result, loaded))
    written.append(out / "report.md")
    return written


def _fmt(x, digits: int = 0) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float) and digits:
        return f"{x:,.{digits}f}"
    return f"{x:,.0f}" if isinstance(x, (int, float)) else str(x)


def dominant_sinks(result: RunResult) -> list[str]:
    """A paragraph for each sink that held most of all minutes on some day, with the scenario's numbers behind it."""
    sinks = result.sinks
    if sinks.empty:
        return []
    config = result.scenario
    configs = {c.name: c for c in config.sinks} | {e.sink.name: e.sink for e in config.events if e.type == "platform_launch"}
    lines = []
    for name, rows in sinks.groupby("sink", sort=False):
        peak_at = rows["share"].idxmax()
        peak = float(rows.at[peak_at, "share"])
        if peak <= 0.5 or name not in configs:
            continue
        c = configs[name]
        lines.append(f"**{name} held most of the day**: {100 * peak:.1f} % of all minutes on day "
                     f"{int(rows.at[peak_at, 'day'])}, with {100 * float(rows.at[peak_at, 'members']):.0f} % of users "
                     f"members. What the scenario gives it: appeal {c.appeal:g}, novelty {c.novelty:g} (decaying "
                     f"{c.novelty_decay:g} a day), network effect {c.network_effect:g}; and every user habit "
                     f"{config.population.habit:g} with saturation {config.population.saturation:g} (ODD §7.3). "
                     "A high appeal or novelty, a network effect well above the others', or saturation near 0 let "
                     "one sink take most of everyone's day.")
        lines.append("")
    return lines


def report_markdown(result: RunResult, loaded: LoadedScenario | None = None) -> str:
    """The strategist's page: what happened, which strategy sold more, at what cost."""
    s, scenario = result.summary, result.scenario
    brands = s["brands"]
    lines = [f"# {scenario.name}: {s['days']} days, {s['users']:,} users", ""]
    if scenario.description:
        lines += [scenario.description.strip(), ""]
    lines += [f"Scenario `{loaded.path if loaded else scenario.name}`, seed {result.seed}. "
              "One run: differences between brands smaller than the run-to-run noise mean nothing; "
              "replicate with other seeds before concluding.", ""]

    by_sales = sorted(brands, key=lambda b: brands[b]["sales"], reverse=True)
    by_roi = sorted(brands, key=lambda b: -1e18 if brands[b]["roi"] is None else brands[b]["roi"], reverse=True)
    by_impr = sorted(brands, key=lambda b: brands[b]["impressions"], reverse=True)
    lines += ["## The answer in brief", ""]
    lead = by_sales[0]
    top_sales = brands[lead]["sales"]
    sole_lead = len(brands) == 1 or top_sales > brands[by_sales[1]]["sales"]
    if top_sales == 0:
        lines.append("- **Sales:** no brand sold anything.")
    elif sole_lead:
        lines.append(f"- **Most sales:** {lead} ({brands[lead]['strategy']}) with {_fmt(top_sales)} sales "
                     f"to {_fmt(brands[lead]['adopters'])} customers, revenue {_fmt(brands[lead]['revenue'])}.")
    else:
        tied = [b for b in by_sales if brands[b]["sales"] == top_sales]
        lines.append(f"- **Most sales:** a tie between {', '.join(tied)} at {_fmt(top_sales)} sales.")
    rois = [b for b in by_roi if brands[b]["roi"] is not None]
    if rois:
        best = brands[rois[0]]["roi"]
        tied = [b for b in rois if brands[b]["roi"] == best]
        who = rois[0] + f" ({brands[rois[0]]['strategy']})" if len(tied) == 1 else "a tie between " + ", ".join(tied)
        lines.append(f"- **Best return on spend:** {who}, ROI {best:+.2f} (margin x revenue minus spend, over spend).")
    if (len(brands) > 1 and top_sales > 0 and sole_lead and by_impr[0] != lead
            and brands[by_impr[0]]["impressions"] > brands[lead]["impressions"]):
        lines.append(f"- **Vanity and outcome disagree:** {by_impr[0]} bought the most impressions "
                     f"({_fmt(brands[by_impr[0]]['impressions'])}) but {lead} sold the most.")
    lines.append("")

    lines += ["## Brands: vanity metrics beside outcome metrics", "",
              "| brand | strategy | impressions | reach | frequency | clicks | fans | engaged minutes | awareness | trust | "
              "customers | sales | revenue | spend | ROI | cost per customer |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, b in brands.items():
        lines.append(f"| {name} | {b['strategy']} | {_fmt(b['impressions'])} | {_fmt(b['reach'])} | "
                     f"{_fmt(b['frequency'], 1)} | {_fmt(b['clicks'])} | {_fmt(b['fans'])} | {_fmt(b['engaged_minutes'])} | "
                     f"{_fmt(b['awareness'], 2)} | {_fmt(b['trust'], 2)} | {_fmt(b['adopters'])} | "
                     f"{_fmt(b['sales'])} | {_fmt(b['revenue'])} | {_fmt(b['spend'])} | "
                     f"{'n/a' if b['roi'] is None else f'{b['roi']:+.2f}'} | {_fmt(b['cost_per_acquisition'], 2)} |")
    lines += ["", "Impressions, reach, frequency, clicks and fans are *vanity* metrics: they count what a brand bought or "
              "attracted, not what it sold. Engaged minutes, trust, customers, sales, revenue and ROI are *outcomes*.",
              "", "![Vanity and outcome metrics](vanity_vs_outcome.png)", ""]

    lines += ["## Where the time goes", "",
              "| sink | kind | share of all minutes | share, last 30 days |", "|---|---|---:|---:|"]
    for name, k in sorted(s["sinks"].items(), key=lambda kv: -(kv[1]["share"] or 0)):
        lines.append(f"| {name} | {k['kind']} | {100 * (k['share'] or 0):.1f} % | {100 * (k['share_last_30_days'] or 0):.1f} % |")
    lines += [""] + dominant_sinks(result)
    lines += ["Every brand competes for the same minutes as social platforms, e-mail and games; a brand's own "
              "site is one more place to spend them.", "", "![Attention share](attention_share.png)", ""]

    lines += ["## Awareness, trust and adoption", "", "![Awareness, trust and adoption](adoption.png)", ""]
    if s["events"] or s.get("events_not_reached"):
        lines += ["## Events", ""]
        for e in s["events"]:
            detail = ", ".join(f"{k} {v}" for k, v in e.items() if k not in ("day", "type"))
            lines.append(f"- day {e['day']}: {e['type'].replace('_', ' ')} ({detail})")
        for e in s.get("events_not_reached", []):
            lines.append(f"- not reached: {e['type'].replace('_', ' ')} on day {e['day']}, after the last day simulated")
        lines.append("")
    lines += ["## Files", "", "- `summary.json`: the figures above, with the resolved scenario, seed and package versions",
              "- `sinks.csv`, `brands.csv`, `model.csv` (and `.parquet` twins): one row per day (and sink or brand)"]
    if result.users is not None:
        lines.append("- `users.csv` (and `.parquet`): the sampled users, one row per day and brand")
    lines.append("")
    return "\n".join(lines)
