"""Writing a run's outputs: tables, figures, summary.json and report.md.

Everything the report says comes from the run's tables and summary.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

from simulation.outputs import dictionary, plots
from simulation.outputs import provenance as what_was_run
from simulation.outputs.html import write_html_report
from simulation.outputs.tables import FLOAT_FORMAT, write_table
from simulation.scenario import LoadedScenario
from simulation.runner import RunResult

PACKAGES = ("attention-market", "mesa", "numpy", "numba", "scipy", "networkx", "pandas", "pyarrow", "pydantic", "matplotlib")
def provenance(loaded: LoadedScenario | None, result: RunResult) -> dict:
    """Where a run came from: enough to run it again."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    what = run_record(loaded, result)
    return {
        **what,
        "seed": result.seed,
        "resolved_scenario": result.scenario.model_copy(update={"days": result.days, "seed": result.seed}).model_dump(mode="json"),
        "python": platform.python_version(),
        "packages": versions,
        "run_seconds": round(result.seconds, 3),
        "compile_seconds": round(result.compile_seconds, 3),
    }


def run_record(loaded: LoadedScenario | None, result: RunResult) -> dict:
    """What was run (simulation.outputs.provenance), for one run."""
    return what_was_run.record(loaded, result.scenario, days=result.days, seeds=[result.seed])


def write_outputs(result: RunResult, out: Path, loaded: LoadedScenario | None = None) -> list[Path]:
    """Write every output file of one run into the folder `out` (which must exist)."""
    written = []
    tables = [(name, table) for name, table in (("sinks", result.sinks), ("brands", result.brands),
                                                ("model", result.model_vars), ("users", result.users))
              if table is not None]
    for name, table in tables:
        written += write_table(table, out, name)
    if result.incremental is not None:
        result.incremental.incremental.to_csv(out / "incremental.csv", index=False, float_format=FLOAT_FORMAT)
        written.append(out / "incremental.csv")
    written.append(dictionary.write_dictionary(out, [name for name, _ in tables], result.scenario.currency,
                                               incremental=result.incremental is not None))
    summary = {**result.summary, "currency": result.scenario.currency, "provenance": provenance(loaded, result)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False, allow_nan=False) + "\n")
    written.append(out / "summary.json")
    captions = {}
    for name, (fig, caption) in plots.run_figures(result).items():
        fig.savefig(out / name, dpi=110, metadata={"Software": None})
        written.append(out / name)
        captions[name] = caption
    (out / "report.md").write_text(report_markdown(result, loaded, captions), encoding="utf-8")
    written += [out / "report.md", write_html_report(out)]
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


def _money(x, currency: str) -> str:
    return "n/a" if x is None else f"{x:,.0f} {currency}"


def brands_as_run(scenario, alternatives: list[tuple[str, object]] | None = None) -> list[str]:
    """The brands' settings as run (after overrides), per alternative when there are several, and whether
    their budgets are equal: what the figures come from, whatever the scenario's description says."""
    alternatives = alternatives or [("", scenario)]
    named = len(alternatives) > 1
    c = scenario.currency
    lines = [("| alternative " if named else "") + "| brand | strategy | budget per day | price | margin | "
             "cost per 1,000 impressions |", ("|---" if named else "") + "|---|---|---:|---:|---:|---:|"]
    unequal = []
    for label, run in alternatives:
        for b in run.brands:
            share = "" if b.strategy not in ("mixed", "copycat") or b.relational_share is None else \
                f" ({100 * b.relational_share:.0f} % relational)"
            lines.append((f"| {label} " if named else "") + f"| {b.name} | {b.strategy}{share} | "
                         f"{b.budget_per_day:,.4g} {c} | {b.price:,.4g} {c} | {b.margin:g} | {b.cpm:,.4g} {c} |")
        if len({b.budget_per_day for b in run.brands}) > 1:
            unequal.append(label)
    if len(scenario.brands) > 1:
        if not unequal:
            lines += ["", "The brands' budgets are equal" + (" in every alternative." if named else ".")]
        else:
            where = f" in {', '.join(unequal)}" if named else ""
            lines += ["", f"The brands' budgets differ{where}: compare sales and ROI with that in mind."]
    return lines + [""]


def incremental_one_draw(summary: dict, currency: str, seed: int, source: str,
                         with_intervals: bool = False) -> list[str]:
    """With `run --incremental`: each brand's sales and ROI against the same seed with its spend at zero."""
    figures = summary.get("incremental")
    if not figures:
        return []
    lines = ["### What the spend added in this run", "",
             f"Each brand was run again on seed {seed} with its budget at 0 for the whole run. Incremental = with "
             "spend minus at zero spend. One draw, no interval: "
             + ("the next section gives the intervals." if with_intervals else
                f"`run --incremental 10` or `{source} --replications 20 --incremental` gives the intervals."), "",
             "| brand | sales (attributed) | sales at zero spend | incremental sales | ROI (attributed) | incremental ROI |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, f in figures.items():
        roi = "n/a" if f["roi"] is None else f"{f['roi']:+.2f}"
        incremental = "n/a" if f["incremental_roi"] is None else f"{f['incremental_roi']:+.2f}"
        lines.append(f"| {name} | {_fmt(f['sales'])} | {_fmt(f['sales_at_zero_spend'])} | "
                     f"{_fmt(f['incremental_sales'])} | {roi} | {incremental} |")
    return lines + ["", f"Money in {currency}. Incremental ROI = (margin x incremental revenue - spend) / spend.", ""]


def _figure(name: str, alt: str, captions: dict[str, str]) -> list[str]:
    """An image line, and its caption in italics when there is one."""
    lines = [f"![{alt}]({name})"]
    if captions.get(name):
        lines += ["", f"*{captions[name]}*"]
    return lines + [""]


def report_markdown(result: RunResult, loaded: LoadedScenario | None = None,
                    captions: dict[str, str] | None = None) -> str:
    """The strategist's page: what was run, what happened in this one run, where the time went."""
    s, scenario = result.summary, result.scenario
    brands, currency = s["brands"], scenario.currency
    captions = captions or {}
    overrides = list(loaded.overrides) if loaded else []
    lines = [f"# {scenario.name}: {s['days']} days, {s['users']:,} users", ""]
    if scenario.description:
        said = scenario.description.strip()
        lines += [f"As written, the scenario file says: *{said}* The overrides of this run change it (see below)."
                  if overrides else said, ""]
    source = f"python run.py compare {loaded.path}" if loaded else "simulation.compare(...)"
    if loaded and result.days != scenario.days:
        source += f" --days {result.days}"
    lines += ["## One run is one draw", ""]
    if scenario.question:
        lines += [f"**Question of the scenario.** {scenario.question}", ""]
    lines += [f"This report is **one run** (seed {result.seed}): one draw of a random world, not an answer. "
              "Another seed can put the brands in another order. For an answer, with paired replications, "
              f"95 % intervals and a verdict, run `{source} --replications 20`"
              + (" with the same `--set` overrides" if overrides else "") + ".", ""]
    lines += ["In this run:", ""]
    for name, b in brands.items():
        roi = "n/a" if b["roi"] is None else f"{b['roi']:+.2f}"
        lines.append(f"- {name} ({b['strategy']}): {_fmt(b['sales'])} sales to {_fmt(b['adopters'])} adopters, "
                     f"revenue {_money(b['revenue'], currency)}, spend {_money(b['spend'], currency)}, ROI {roi}.")
    lines += [""] + incremental_one_draw(s, currency, result.seed, source, result.incremental is not None)
    if result.incremental is not None:
        from simulation.experiments.output import incremental_lines

        comparison = result.incremental
        lines += [f"Over {comparison.replications} paired replications (seeds derived from {result.seed}, as "
                  "`compare` derives them), each brand as written and at zero spend:", ""]
        lines += ["#" + line if line.startswith("## ") else line for line in incremental_lines(comparison, currency)]
    lines += ["## The brands as run", ""] + brands_as_run(scenario)

    lines += ["## Brands: vanity metrics beside outcome metrics", "",
              f"| brand | impressions | reach | frequency | expected clicks | fans | engaged minutes | awareness | "
              f"trust | adopters | sales | revenue ({currency}) | spend ({currency}) | ROI | "
              f"cost per acquisition ({currency}) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, b in brands.items():
        lines.append(f"| {name} | {_fmt(b['impressions'])} | {_fmt(b['reach'])} | "
                     f"{_fmt(b['frequency'], 1)} | {_fmt(b['clicks'], 1)} | {_fmt(b['fans'])} | {_fmt(b['engaged_minutes'])} | "
                     f"{_fmt(b['awareness'], 2)} | {_fmt(b['trust'], 2)} | {_fmt(b['adopters'])} | "
                     f"{_fmt(b['sales'])} | {_fmt(b['revenue'])} | {_fmt(b['spend'])} | "
                     f"{'n/a' if b['roi'] is None else f'{b['roi']:+.2f}'} | {_fmt(b['cost_per_acquisition'], 2)} |")
    margins = ", ".join(f"{b.name} {b.margin:g}" for b in scenario.brands)
    lines += ["", "Impressions, reach, frequency, clicks and fans are *vanity* metrics: they count what a brand bought "
              "or attracted, not what it sold. Engaged minutes, trust, adopters, sales, revenue and ROI are "
              "*outcomes*. Reach: users who saw at least one impression. Expected clicks: a sum of click "
              "probabilities, not a count of clicks. Fans: users who spent time at the brand's own site or "
              "community page at least once. Adopters: customers, users who bought at least once. "
              f"ROI = (margin x revenue - spend) / spend, with the margins {margins}. Every column's meaning and "
              "unit: `data_dictionary.csv`.",
              "", *_figure("vanity_vs_outcome.png", "Vanity and outcome metrics", captions)]

    lines += ["## Where the time goes", "",
              "| sink | kind | share of all minutes | share, last 30 days |", "|---|---|---:|---:|"]
    for name, k in sorted(s["sinks"].items(), key=lambda kv: -(kv[1]["share"] or 0)):
        lines.append(f"| {name} | {k['kind']} | {100 * (k['share'] or 0):.2f} % | {100 * (k['share_last_30_days'] or 0):.2f} % |")
    lines += [""] + dominant_sinks(result)
    lines += ["Every brand competes for the same minutes as social platforms, e-mail and games; a brand's own "
              "site is one more place to spend them.", "", *_figure("attention_share.png", "Attention share", captions)]

    lines += ["## Awareness, trust and adoption", "", *_figure("adoption.png", "Awareness, trust and adoption",
                                                                 captions)]
    if s["events"] or s.get("events_not_reached"):
        lines += ["## Events", ""]
        for e in s["events"]:
            detail = ", ".join(f"{k} {v}" for k, v in e.items() if k not in ("day", "type"))
            lines.append(f"- day {e['day']}: {e['type'].replace('_', ' ')} ({detail})")
        for e in s.get("events_not_reached", []):
            lines.append(f"- not reached: {e['type'].replace('_', ' ')} on day {e['day']}, after the last day simulated")
        lines.append("")
    lines += what_was_run.run_lines(run_record(loaded, result))
    lines += ["## Files", "", "- `summary.json`: the figures above, with the resolved scenario, seed and package versions",
              "- `sinks.csv`, `brands.csv`, `model.csv` (and `.parquet` twins, same column types): one row per day "
              "(and sink or brand)", "- `data_dictionary.csv`: every column's meaning and unit",
              "- `report.html`: this report as one self-contained page, figures included"]
    if result.users is not None:
        lines.append("- `users.csv` (and `.parquet`): the sampled users, one row per day and brand")
    lines.append("")
    return "\n".join(lines)
