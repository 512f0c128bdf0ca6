"""Regenerate docs/scenarios.md: every scenario of the library, run with paired replications.

    .venv/bin/python scripts/scenarios_doc.py [--replications 20] [--workers 2]

For each scenario: the question (its file's opening comment), what was varied
(its arms), and what the simulation found, with 95 % intervals over paired
replications and a figure. Every number in the page comes from these runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulation.scenario import load_scenario  # noqa: E402
from simulation.experiments.compare import compare, paired_values  # noqa: E402
from simulation.experiments.executors import LocalExecutor  # noqa: E402
from simulation.experiments.figures import plot_over_time  # noqa: E402
from simulation.experiments.output import _num, difference_sentence  # noqa: E402
from simulation.experiments.stats import interval, paired_difference  # noqa: E402
from simulation.experiments.tasks import derive_seeds, scenario_with  # noqa: E402
from simulation.runner import run_simulation  # noqa: E402

DOCS = ROOT / "docs"
FIGURES = DOCS / "scenarios"
# Pairs of arms the question contrasts directly (second minus first), besides each arm against the first.
CONTRASTS = {
    "crisis": [("silent", "answers"), ("silent - milder critics", "answers - milder critics")],
    "influencers": [],
}
LIBRARY = [  # (file, claims, KPIs the question is about)
    ("relational_vs_billboard", "C3, C10", ("sales", "roi", "engaged_minutes", "trust", "impressions")),
    ("misleading_metrics", "C4, C5", ("impressions", "reach", "sales", "roi", "trust")),
    ("copycat", "C6", ("sales", "roi", "awareness")),
    ("influencers", "C7", ("sales", "roi", "adopters")),
    ("crisis", "C9", ("trust", "sales", "roi")),
]


def question(path: Path) -> str:
    """The first paragraph of the file's opening comment, without its 'Question (...):' label."""
    lines = []
    for line in path.read_text().splitlines():
        text = line.lstrip("#").strip()
        if not line.startswith("#") or (not text and lines):
            break
        lines.append(text)
    sentence = " ".join(lines)
    return sentence.split(":", 1)[1].strip() if sentence.startswith("Question") else sentence


def cell(values: np.ndarray) -> str:
    mean, _, low, high = interval(values)
    return f"{_num(mean)} [{_num(low)}, {_num(high)}]"


def brand_differences(runs: pd.DataFrame, arm: str, brands: list[str], kpi: str) -> list[str]:
    """Each brand against the first, within the same runs of one arm."""
    out = []
    for brand in brands[1:]:
        d = paired_difference(*paired_values(runs, (arm, brands[0]), (arm, brand), kpi))
        row = pd.Series({**d, "brand": f"{brand} - {brands[0]}", "arm": arm, "first": brands[0], "second": brand})
        out.append(difference_sentence(row, kpi, by_arm=False).replace("- ", f"- *{arm}*: ", 1))
    return out


def comparison_section(name: str, claims: str, kpis: tuple[str, ...], replications: int, workers: int) -> list[str]:
    path = ROOT / "scenarios" / f"{name}.yaml"
    scenario = load_scenario(path).scenario
    result = compare(scenario, replications=replications, executor=LocalExecutor(workers))
    brands = result.brands
    lines = [f"## {name} ({claims})", "", f"**Question.** {question(path)}", "",
             f"**Varied.** " + ("; ".join(f"*{a.name}*: " + (", ".join(f"`{o}`" for o in a.overrides) or "as written")
                                         for a in result.arms) if result.by_arm else "nothing: the brands of the file, "
                                "compared within the same runs") +
             f". {replications} paired replications per arm (the same seeds in every arm), "
             f"{scenario.population.users:,} users, {scenario.days} days.", "",
             "**Found** (means with 95 % intervals; a difference is stated only when its interval excludes zero):", ""]
    table = ["| arm | brand | " + " | ".join(k.replace("_", " ") for k in kpis) + " |",
             "|---|---|" + "---:|" * len(kpis)]
    for arm in result.arms:
        for brand in brands:
            rows = result.runs[(result.runs["arm"] == arm.name) & (result.runs["brand"] == brand)]
            table.append(f"| {arm.name} | {brand} | " + " | ".join(cell(rows[k].to_numpy(float)) for k in kpis) + " |")
    sentences = []
    for arm in result.arms:
        for kpi in kpis:
            sentences += brand_differences(result.runs, arm.name, brands, kpi)
    if result.by_arm:
        for kpi in kpis:
            t = result.tables[kpi]
            for _, row in t[t["row"] == "difference"].iterrows():
                sentences.append(difference_sentence(row, kpi, by_arm=True))
        for first, second in CONTRASTS.get(name, []):
            for brand in brands:
                for kpi in kpis:
                    d = paired_difference(*paired_values(result.runs, (first, brand), (second, brand), kpi))
                    row = pd.Series({**d, "brand": brand, "arm": f"{second} - {first}", "first": first,
                                     "second": second})
                    sentences.append(difference_sentence(row, kpi, by_arm=True))
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (column, label) in zip(axes, (("adopters", "customers"), ("trust", "mean trust"),
                                          ("revenue_to_date", "revenue to date"))):
        plot_over_time(result.series, column, ax, label=label, group=["arm", "brand"] if result.by_arm else ["brand"])
    handles, names = axes[0].get_legend_handles_labels()  # which line is which: one legend under the panels
    fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 4), frameon=False)
    fig.savefig(FIGURES / f"{name}.png", dpi=90, metadata={"Software": None})
    return lines + sentences + ["", *table, "", f"![{name}](scenarios/{name}.png)", ""]


def platform_wave_section(replications: int) -> list[str]:
    path = ROOT / "scenarios" / "platform_wave.yaml"
    loaded = load_scenario(path)
    base = loaded.scenario.model_dump(mode="json")
    seeds = derive_seeds(loaded.scenario.seed, replications)
    launched = [e.sink.name for e in loaded.scenario.events if e.type == "platform_launch"]
    arms = loaded.scenario.arms
    results = {}
    fig = Figure(figsize=(12, 4), layout="constrained")
    axes = fig.subplots(1, len(arms))
    for ax, arm in zip(axes, arms):
        scenario = scenario_with(base, arm.set_overrides())
        peaks, ends, curves = {n: [] for n in launched}, {n: [] for n in launched}, {n: [] for n in launched}
        members = {n: [] for n in launched}
        for seed in seeds:
            sinks = run_simulation(scenario, seed).sinks
            for n in launched:
                share = sinks[sinks["sink"] == n]["share"].to_numpy()
                peaks[n].append(share.max())
                ends[n].append(share[-90:].mean())
                curves[n].append(share)
                members[n].append(sinks[sinks["sink"] == n]["members"].iloc[-1])
        results[arm.name] = (peaks, ends, members)
        for n in launched:
            ax.plot(np.arange(1, scenario.days + 1) / 365 + 2005, np.mean(curves[n], axis=0), label=n)
        ax.set_title(arm.name, fontsize="medium")
        ax.set_ylabel("share of all minutes (mean)")
        ax.legend(fontsize="x-small", frameon=False)
    fig.savefig(FIGURES / "platform_wave.png", dpi=90, metadata={"Software": None})
    lines = ["## platform_wave (C8)", "", f"**Question.** {question(path)}", "",
             "**Varied.** " + "; ".join(f"*{a.name}*: " + (", ".join(f"`{o}`" for o in a.set_overrides()) or "as written")
                                       for a in arms)
             + f". {replications} paired replications per arm, {loaded.scenario.population.users:,} users, "
               f"{loaded.scenario.days} days (2005 to 2010).", "",
             "**Found.** Each platform's peak share of all minutes, and its share over the last 90 days "
             "(means with 95 % intervals):", "",
             "| arm | platform | peak share | share at the end | kept at the end, of its peak | members at the end |",
             "|---|---|---:|---:|---:|---:|"]
    for arm, (peaks, ends, members) in results.items():
        for n in launched:
            kept = np.array(ends[n]) / np.array(peaks[n])
            lines.append(f"| {arm} | {n} | {cell(np.array(peaks[n]))} | {cell(np.array(ends[n]))} | {cell(kept)} | "
                         f"{cell(np.array(members[n]))} |")
    lines.append("")
    first, second = arms[0].name, arms[1].name
    for n in launched:
        d = paired_difference(np.array(results[second][1][n]), np.array(results[first][1][n]))
        verdict = ("keeps more of the web's time thanks to its network effect" if d["distinguishable"] and d["difference"] > 0
                   else "is not held up by its network effect" if not d["distinguishable"]
                   else "keeps less with its network effect")
        lines.append(f"- {n}: *{first}* minus *{second}*, share at the end {_num(100 * d['difference'])} points "
                     f"(95 % interval {_num(100 * d['ci_low'])} to {_num(100 * d['ci_high'])}): {verdict}.")
    peaks, ends, _ = results[first]
    highest = max(max(peaks[n]) for n in launched)
    waves = [n for n in launched if np.mean(np.array(ends[n]) / np.array(peaks[n])) < 2 / 3]
    lines += ["", f"No platform held more than {_num(100 * highest)} % of all minutes on any day of any run of "
              f"*{first}*. "
              + (f"{', '.join(waves)} lost more than a third of its peak by the end (a wave). " if waves else
                 "None lost more than a third of its peak share by the end: with membership (users join through "
                 "the network Bass hazard) and saturation, a platform's time grows with its members instead of "
                 "spiking on hype. ")
              + "The platforms' appeals, hype, network effects and joining rates are inputs of the scenario "
              "(which platform is intrinsically more attractive is not something the model explains); what the "
              "arms test is whether the network effect is what keeps a platform's time.",
              "", "![platform_wave](scenarios/platform_wave.png)", ""]
    return lines


def web_2010_section() -> list[str]:
    from simulation.checks.validation import _baseline, check_calibration

    check = check_calibration(baseline=_baseline(False))
    check.figure.savefig(FIGURES / "web_2010.png", dpi=90, metadata={"Software": None})
    return ["## web_2010 (C1, C2)", "", f"**Question.** {question(ROOT / 'scenarios' / 'web_2010.yaml')}", "",
            "**Varied.** Nothing: one run at the scenario's seed (the fit is to a measured split; "
            "`run.py check-model` checks it).", "", "**Found.**", "", *[f"- {line}" for line in check.details],
            "", "![web_2010](scenarios/web_2010.png)", ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    FIGURES.mkdir(parents=True, exist_ok=True)
    lines = ["# The scenario library: what the simulation found", "",
             f"Generated by `python scripts/scenarios_doc.py --replications {args.replications}` from real runs; "
             "run it again to regenerate this page. Each section states a claim of the source article as a "
             "question, what was varied, and what the simulation found. Where a claim does not hold in some "
             "region of the parameters, that is a finding, not a failure. Choice sets, who-talks, the finite "
             "feed and savviness that settles (ODD §7.3, §7.8–7.9) are on in relational_vs_billboard, as its file "
             "says, and off in the other files, as in the schema; the purchase funnel (§7.10) is off everywhere. "
             "The last section varies them among the parameters where each claim's verdict flips.", ""]
    lines += web_2010_section()
    for name, claims, kpis in LIBRARY:
        print(f"{name} ...", file=sys.stderr)
        lines += comparison_section(name, claims, kpis, args.replications, args.workers)
    print("platform_wave ...", file=sys.stderr)
    lines += platform_wave_section(args.replications)
    page = DOCS / "scenarios.md"
    old = page.read_text() if page.exists() else ""
    begin, end = "<!-- FLIP POINTS", "<!-- END FLIP POINTS -->"
    if begin in old and end in old:  # scripts/flip_points.py's section is kept (it has its own runs)
        lines += ["", old[old.index(begin):old.index(end) + len(end)]]
    page.write_text("\n".join(lines) + "\n")
    print(DOCS / "scenarios.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
