"""The model against published results: the checks of `run.py check-model`.

Each check runs the model, compares it with a published curve or figure, and
returns a pass/fail line with its numbers and a figure. The tests run the same
checks at the `quick` sizes.

Time: one step is one day; a check that needs continuous time runs P steps per
unit of time with daily pulls p/P and q/P, so day d is time t = d/P.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simulation.scenario import Scenario, load_scenario
from simulation.runner import run_simulation

ROOT = Path(__file__).resolve().parents[2]
BASS_PAIRS = (  # (p, q, source)
    (0.03, 0.38, "Sultan, Farley & Lehmann 1990, meta-analysis averages"),
    (0.0279, 0.251, "black-and-white TV, Bass 1969"),
    (0.0248, 0.654, "record players, Bass 1969"),
)


@dataclass
class Check:
    name: str
    passed: bool
    summary: str
    details: list[str] = field(default_factory=list)
    figure: Figure | None = None
    figure_name: str = ""


def diffusion_scenario(kind: str, p: float, q: float, steps_per_period: int, days: int, users: int,
                       **network) -> Scenario:
    """One brand, every user fully exposed, trust fixed at 1: only p, q and the graph matter."""
    return Scenario.model_validate({
        "name": f"bass-{kind}", "days": days,
        "population": {"users": users, "slots_per_day": 1, "taste_sd": 0.0, "habit": 0.0},
        "network": {"kind": kind, **network},
        "sinks": [{"name": "everything", "kind": "other"}],
        "brands": [{"name": "Product", "strategy": "relational", "budget_per_day": 0, "initial_trust": 1.0,
                    "quality": 1.0}],
        "market": {"exposure": "full", "p": p / steps_per_period, "q": q / steps_per_period, "repurchase_rate": 0.0},
        "word_of_mouth": {"trust_influence": 0.0},
    })


def adopter_share(scenario: Scenario, replications: int, first_seed: int) -> np.ndarray:
    """Mean share of adopters after each day (day 0 first), over seeded replications."""
    curves = []
    for r in range(replications):
        result = run_simulation(scenario, first_seed + r)
        curves.append(np.concatenate([[0.0], result.brands["adopters"].to_numpy() / result.summary["users"]]))
    return np.mean(curves, axis=0)


def mean_field_recurrence(p: float, q: float, steps_per_period: int, days: int) -> np.ndarray:
    F = np.zeros(days + 1)
    for d in range(days):
        F[d + 1] = F[d] + (1 - (1 - p / steps_per_period) * (1 - q / steps_per_period * F[d])) * (1 - F[d])
    return F


def bass_curve(p: float, q: float, t: np.ndarray) -> np.ndarray:
    e = np.exp(-(p + q) * t)
    return (1 - e) / (1 + (q / p) * e)


def ring_curve(p: float, q: float, t: np.ndarray) -> np.ndarray:
    """Fibich & Gibori (2010): the one-dimensional Bass model, each of two neighbours weighing q/2."""
    return 1 - np.exp(-(p + q) * t + (q / p) * (1 - np.exp(-p * t)))


# ---------------------------------------------------------------- 1. Bass, mean field

def check_bass_mean_field(quick: bool = False) -> Check:
    P, periods, users = 10, 30, 10_000
    replications = 20  # as published checks average: fewer would test the noise, not the model
    days = P * periods
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    lines, ok = [], True
    for ax, (p, q, source) in zip(fig.subplots(1, 3), BASS_PAIRS):
        simulated = adopter_share(diffusion_scenario("complete", p, q, P, days, users), replications, 1000)
        t = np.arange(days + 1) / P
        gap_recurrence = float(np.abs(simulated - mean_field_recurrence(p, q, P, days)).max())
        gap_bass = float(np.abs(simulated - bass_curve(p, q, t)).max())
        new = np.diff(simulated)
        peak = float(t[1:][np.argmax(np.convolve(new, np.ones(P) / P, mode="same"))])
        expected_peak = float(np.log(q / p) / (p + q))
        passed = gap_recurrence <= 0.01 and gap_bass <= 0.02 and abs(peak - expected_peak) <= 1.0
        ok &= passed
        lines.append(f"(p, q) = ({p}, {q}), {source}: largest gap to the daily mean-field recurrence "
                     f"{gap_recurrence:.4f} (≤ 0.01), to the Bass curve {gap_bass:.4f} (≤ 0.02); peak adoption at "
                     f"t = {peak:.2f} periods, ln(q/p)/(p+q) = {expected_peak:.2f} (within 1) — "
                     f"{'pass' if passed else 'FAIL'}")
        ax.plot(t, bass_curve(p, q, t), color="black", lw=1, label="Bass curve")
        ax.plot(t, simulated, ls="--", label=f"model, mean of {replications}")
        ax.axvline(expected_peak, color="grey", lw=0.5)
        ax.set_title(f"p={p}, q={q}", fontsize="medium")
        ax.set_xlabel("t (periods)")
        ax.set_ylabel("share of adopters")
        ax.legend(fontsize="x-small", frameon=False)
    return Check("Bass, mean field", ok,
                 f"complete graph of {users:,} users, attention unconstrained, {replications} replications, "
                 f"P = {P} days a period", lines, fig, "bass_mean_field.png")


# ---------------------------------------------------------------- 2. Bass on a ring

def check_bass_ring(quick: bool = False) -> Check:
    p, q = 0.03, 0.38
    P, periods, users = 50, 20, 10_000
    replications = 2 if quick else 5
    days = P * periods
    simulated = adopter_share(diffusion_scenario("ring", p, q, P, days, users), replications, 2000)
    t = np.arange(days + 1) / P
    gap = float(np.abs(simulated - ring_curve(p, q, t)).max())
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(t, ring_curve(p, q, t), color="black", lw=1, label="Fibich & Gibori (2010), 1-D")
    ax.plot(t, simulated, ls="--", label=f"model on a ring, mean of {replications}")
    ax.plot(t, bass_curve(p, q, t), color="grey", lw=0.8, label="Bass (mean field)")
    ax.set_xlabel("t")
    ax.set_ylabel("share of adopters")
    ax.legend(fontsize="small", frameon=False)
    passed = gap <= 0.02
    return Check("Bass on a ring", passed,
                 f"ring of {users:,} users (one neighbour on each side), (p, q) = ({p}, {q}), time step 1/{P}: "
                 f"each step is a day with pulls p/{P} and q/{P}, and day d is t = d/{P}",
                 [f"largest gap to F(t) = 1 − exp(−(p+q)t + (q/p)(1 − e^(−pt))): {gap:.4f} (≤ 0.02) — "
                  f"{'pass' if passed else 'FAIL'}"], fig, "bass_ring.png")


# ---------------------------------------------------------------- 3. Bounds between ring and mean field

def check_bounds(quick: bool = False) -> Check:
    P, periods, users = 20, 30, 10_000
    replications = 3 if quick else 10
    days = P * periods
    t = np.arange(days + 1) / P
    graphs = {"Barabási–Albert (m = 3)": ("barabasi_albert", {"m": 3}),
              "Watts–Strogatz (k = 4, rewiring 0.1)": ("watts_strogatz", {"k": 4, "rewire": 0.1})}
    settings = ((0.03, 0.09), (0.03, 0.38), (0.03, 0.9))
    tolerance = 0.01 + (0.01 if quick else 0.0)
    lines, ok, spreads = [], True, {}
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    for ax, (p, q) in zip(fig.subplots(1, 3), settings):
        upper, lower = bass_curve(p, q, t), ring_curve(p, q, t)
        ax.plot(t, upper, color="black", lw=1, label="mean field")
        ax.plot(t, lower, color="grey", lw=1, label="ring")
        curves = {}
        for label, (kind, network) in graphs.items():
            curve = adopter_share(diffusion_scenario(kind, p, q, P, days, users, **network), replications, 3000)
            curves[label] = curve
            above, below = float((curve - upper).max()), float((lower - curve).max())
            inside = above <= tolerance and below <= tolerance
            ok &= inside
            lines.append(f"q/p = {q / p:.0f}, {label}: at most {max(above, 0):.4f} above the mean-field curve and "
                         f"{max(below, 0):.4f} below the ring curve (≤ {tolerance}) — {'pass' if inside else 'FAIL'}")
            ax.plot(t, curve, ls="--", label=label)
        a, b = curves.values()
        spreads[q / p] = float(np.abs(a - b).max())
        ax.set_title(f"p = {p}, q = {q} (q/p = {q / p:.0f})", fontsize="medium")
        ax.set_xlabel("t")
        ax.set_ylabel("share of adopters")
        ax.legend(fontsize="x-small", frameon=False)
    ratios = sorted(spreads)
    widening = all(spreads[x] < spreads[y] for x, y in zip(ratios, ratios[1:]))
    ok &= widening
    lines.append("largest gap between the two graphs' curves, by q/p: "
                 + ", ".join(f"{r:.0f}: {spreads[r]:.4f}" for r in ratios)
                 + f" — {'widens as q/p grows: pass' if widening else 'does NOT widen: FAIL'}")
    return Check("Bounds: between the ring and the mean field", ok,
                 f"{users:,} users, {replications} replications, P = {P}; tolerance for sampling error "
                 f"{tolerance}", lines, fig, "bounds.png")


# ---------------------------------------------------------------- 4 and 5. The 2010 baseline

def _baseline(quick: bool) -> tuple[Scenario, pd.DataFrame, dict]:
    scenario = load_scenario(ROOT / "scenarios" / "web_2010.yaml").scenario
    result = run_simulation(scenario)
    return scenario, result.sinks, result.summary


def check_advertising_response(quick: bool = False, baseline=None) -> Check:
    scenario, _, summary = baseline or _baseline(quick)
    ad = summary["brands"][scenario.brands[0].name]
    ctr, first, later = ad["click_through_rate"], ad["ctr_first_exposure"], ad["ctr_later_exposures"]
    in_range = 0.0005 <= ctr <= 0.002
    wears_out = first > later
    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.bar(["all impressions", "first day of exposure", "later days"], [100 * ctr, 100 * first, 100 * later])
    ax.axhline(0.1, color="black", lw=0.8, ls="--", label="DoubleClick 2009: about 0.1 %")
    ax.set_ylabel("click-through (%)")
    ax.legend(fontsize="small", frameon=False)
    return Check("Advertising response", in_range and wears_out,
                 f"web_2010 baseline, {ad['impressions']:,} impressions of one display advertiser",
                 [f"click-through {100 * ctr:.3f} % (about 0.1 %: between 0.05 % and 0.2 %) — "
                  f"{'pass' if in_range else 'FAIL'}",
                  f"first day of a user's exposure {100 * first:.3f} %, later days {100 * later:.3f} % "
                  f"(falls with repeated exposure) — {'pass' if wears_out else 'FAIL'}"],
                 fig, "advertising_response.png")


def check_calibration(quick: bool = False, baseline=None) -> Check:
    scenario, sinks, _ = baseline or _baseline(quick)
    targets = pd.read_csv(ROOT / "scenarios" / "data" / "nielsen_2010_06.csv", comment="#").set_index("sink")["share"]
    last = sinks[sinks["day"] > scenario.days - 90]
    minutes = last.groupby("sink")["minutes"].sum()
    simulated = 100 * minutes.reindex(targets.index) / minutes.sum()  # of all minutes, brand sites included
    gap = simulated - targets
    passed = bool(gap.abs().max() <= 1.0)
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(targets))
    ax.barh(y - 0.2, targets, 0.4, label="Nielsen, June 2010")
    ax.barh(y + 0.2, simulated, 0.4, label="model, last 90 days")
    ax.set_yticks(y, targets.index, fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel("share of online time (%)")
    ax.legend(fontsize="small", frameon=False)
    lines = [f"{name}: target {targets[name]:.1f} %, model {simulated[name]:.2f} % ({gap[name]:+.2f} pp)"
             for name in targets.index]
    lines.append(f"largest gap {gap.abs().max():.2f} percentage points (≤ 1) — {'pass' if passed else 'FAIL'}")
    return Check("Calibration to the web of 2010", passed,
                 "web_2010 scenario, share of all minutes over its last 90 days against Nielsen NetView, June 2010",
                 lines, fig, "calibration.png")


CHECKS: tuple[Callable[..., Check], ...] = (check_bass_mean_field, check_bass_ring, check_bounds)


def run_checks(quick: bool = False, progress: Callable[[Check], None] | None = None) -> list[Check]:
    checks = []
    for check in CHECKS:
        checks.append(check(quick))
        if progress:
            progress(checks[-1])
    baseline = _baseline(quick)
    for check in (check_advertising_response, check_calibration):
        checks.append(check(quick, baseline))
        if progress:
            progress(checks[-1])
    return checks


def write_validation(checks: list[Check], out: Path, quick: bool) -> Path:
    """docs/validation.md (or OUT/validation.md) and one figure per check in validation/."""
    figures = out / "validation"
    figures.mkdir(parents=True, exist_ok=True)
    passed = sum(c.passed for c in checks)
    lines = ["# Validation against published results", "",
             f"Generated by `python run.py check-model{' --quick' if quick else ''}`: {passed} of {len(checks)} "
             "checks pass. The same checks run as tests (`tests/test_validation.py`, at the --quick sizes).", ""]
    for i, check in enumerate(checks, 1):
        lines += [f"## {i}. {check.name}: {'PASS' if check.passed else 'FAIL'}", "", check.summary + ".", ""]
        lines += [f"- {line}" for line in check.details] + [""]
        if check.figure is not None:
            check.figure.savefig(figures / check.figure_name, dpi=100, metadata={"Software": None})
            lines += [f"![{check.name}](validation/{check.figure_name})", ""]
    lines += ["## Sources", "",
              "- Bass, F. M. (1969). A new product growth for model consumer durables. *Management Science* 15(5).",
              "- Sultan, F., Farley, J. U. & Lehmann, D. R. (1990). A meta-analysis of applications of diffusion "
              "models. *Journal of Marketing Research* 27(1).",
              "- Fibich, G. & Gibori, R. (2010). Aggregate diffusion dynamics in agent-based models with a spatial "
              "structure. *Operations Research* 58(5).",
              "- Fibich, G. & Levin, T. (2023). Diffusion of new products on networks (bounds between the ring and "
              "the complete graph).",
              "- DoubleClick (2009). *Benchmarks: display advertising* (click-through about 0.1 %).",
              "- Nielsen NetView, June 2010: share of US online time by category (`scenarios/data/`).", ""]
    path = out / "validation.md"
    path.write_text("\n".join(lines))
    return path
