"""Paired strategy comparisons: arms x replications with common random numbers.

Replication i of every arm runs with the same seed, so the same graph, the same
initial population and the same stream of random numbers until the arms'
decisions make them diverge: the difference between arms is measured with far
less noise than between independent runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulation.scenario import Scenario, ScenarioError
from simulation.experiments.incremental import counterfactual_name, incremental_table, zero_spend_overrides
from simulation.experiments.stats import holm, interval, paired_difference, summarise_groups
from simulation.experiments.tasks import KPIS, RunTask, derive_seeds, scenario_with, split_top_level

AS_WRITTEN = "as written"


@dataclass(frozen=True)
class Arm:
    """One alternative: a name and the overrides that make it."""

    name: str
    overrides: tuple[str, ...] = ()


def parse_arm(text: str) -> Arm:
    """'NAME:key=value,key=value' (commas inside [...] or {...} stay in the value)."""
    name, sep, rest = text.partition(":")
    if not sep or not name.strip():
        raise ScenarioError(f"--arm {text}: expected NAME:key.path=value[,key.path=value...] (NAME: alone is the scenario as written)")
    overrides = tuple(split_top_level(rest))
    for item in overrides:
        if not re.match(r"^[^=\s][^=]*=", item):
            raise ScenarioError(f"--arm {text}: '{item}' is not key.path=value")
    return Arm(name.strip(), overrides)


@dataclass
class Comparison:
    """What a comparison produced: one row per run and brand, daily series, and the tables per KPI."""

    arms: list[Arm]
    brands: list[str]
    replications: int
    seeds: list[int]
    runs: pd.DataFrame  # one row per run and brand: arm, brand, replication, seed, KPIs
    series: pd.DataFrame  # daily brand tables of every run, with arm and replication
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    failed: pd.DataFrame | None = None
    verdict: "Verdict | None" = None
    days: int | None = None  # days per run (None: the scenario's)
    incremental: pd.DataFrame | None = None  # with incremental=True: attributed against incremental figures
    counterfactual_runs: pd.DataFrame | None = None  # the zero-spend runs behind it

    @property
    def by_arm(self) -> bool:
        return len(self.arms) > 1

    def long_table(self) -> pd.DataFrame:
        """Every KPI's table in one: a row per KPI and alternative or paired difference."""
        return pd.concat([t.assign(kpi=k) for k, t in self.tables.items()], ignore_index=True)


def check_arms(base: dict, arms: list[Arm]) -> None:
    """Every arm must make a valid scenario (checked before any run); names must be unique."""
    names = [a.name for a in arms]
    for name in names:
        if names.count(name) > 1:
            raise ScenarioError(f"--arm {name}: two arms have this name")
    for arm in arms:
        try:
            scenario_with(base, arm.overrides, source=f"arm '{arm.name}'")
        except ScenarioError as exc:
            raise ScenarioError(f"arm '{arm.name}': {exc}") from None


def counterfactual_arms(base: dict, arms: list[Arm], brands: list[str]) -> list[Arm]:
    """For each arm and brand, the same arm with that brand's spend at zero (simulation.experiments.incremental)."""
    return [Arm(counterfactual_name(arm.name, brand), arm.overrides + zero_spend_overrides(base, brand))
            for arm in arms for brand in brands]


def compare(scenario: Scenario, *, replications: int, arms: list[Arm] | None = None, executor=None,
            days: int | None = None, master_seed: int | None = None,
            progress: Callable[[dict], None] | None = None, incremental: bool = False) -> Comparison:
    """Run every arm `replications` times with paired seeds and tabulate every KPI.

    With `incremental`, also run each arm with each brand's spend at zero on the same seeds, and measure what
    the spend added (`Comparison.incremental`).
    """
    from simulation.experiments.executors import LocalExecutor

    if replications < 1:
        raise ScenarioError(f"--replications: expected at least 1, found {replications}")
    base = scenario.model_dump(mode="json")
    arms = arms or [Arm(a.name, tuple(a.set_overrides())) for a in scenario.arms] or [Arm(AS_WRITTEN)]
    check_arms(base, arms)
    seeds = derive_seeds(scenario.seed if master_seed is None else master_seed, replications)
    brands = [b.name for b in scenario.brands]
    counterfactuals = counterfactual_arms(base, arms, brands) if incremental else []
    check_arms(base, counterfactuals)
    tasks = [RunTask(run_id=i * replications + r, scenario=base, overrides=arm.overrides, seed=seeds[r], days=days,
                     series=i < len(arms), labels={"arm": arm.name, "replication": r})
             for i, arm in enumerate(arms + counterfactuals) for r in range(replications)]
    executor = executor or LocalExecutor()
    rows, series, failed = [], [], []
    for row in executor.run(tasks):
        if progress is not None:
            progress(row)
        if row.get("status") != "ok":
            failed.append({k: row.get(k) for k in ("run_id", "arm", "replication", "seed", "error")})
            continue
        frame = row.pop("_series", None)
        if frame is not None:
            series.append(frame.assign(arm=row["arm"], replication=row["replication"]))
        rows.append(row)
    if not rows:
        from simulation.experiments.executors import ExperimentFailed

        raise ExperimentFailed(f"all {len(failed)} runs failed; the first error: {failed[0]['error']}")
    names = {a.name for a in counterfactuals}
    runs = _long([r for r in rows if r["arm"] not in names], brands)
    zero = _long([r for r in rows if r["arm"] in names], brands)
    result = Comparison(arms=arms, brands=brands, replications=replications, seeds=seeds, runs=runs,
                        series=pd.concat(series, ignore_index=True) if series else pd.DataFrame(),
                        failed=pd.DataFrame(failed) if failed else None)
    result.tables = {kpi: kpi_table(result, kpi) for kpi in KPIS}
    result.days = days
    result.verdict = make_verdict(result, scenario.question)
    if incremental:
        margins = []
        for arm in arms:
            arm_scenario = scenario_with(base, arm.overrides)
            margins += [(arm.name, b.name, b.margin) for b in arm_scenario.brands]
        result.incremental = incremental_table(runs, zero, margins, result.series)
        result.counterfactual_runs = zero
    return result


def _long(rows: list[dict], brands: list[str]) -> pd.DataFrame:
    """One row per run and brand."""
    records = []
    for row in sorted(rows, key=lambda r: r["run_id"]):
        for brand in brands:
            records.append({"arm": row["arm"], "brand": brand, "replication": row["replication"], "seed": row["seed"],
                            **{kpi: row.get(f"{brand}/{kpi}", np.nan) for kpi in KPIS}})
    return pd.DataFrame(records, columns=["arm", "brand", "replication", "seed", *KPIS])


def kpi_table(result: Comparison, kpi: str) -> pd.DataFrame:
    """Per alternative: mean, sd, 95 % interval; then each paired difference from the first alternative."""
    runs = result.runs
    groups = summarise_groups(runs, ["arm", "brand"], kpi).assign(row="alternative")
    differences = []
    if result.by_arm:  # the same brand across arms
        reference = result.arms[0].name
        for brand in result.brands:
            for arm in result.arms[1:]:
                a, b = paired_values(runs, (reference, brand), (arm.name, brand), kpi)
                differences.append({"row": "difference", "arm": f"{arm.name} - {reference}", "brand": brand,
                                    "first": reference, "second": arm.name, **paired_difference(a, b)})
    else:  # brands against the first brand, within the same runs
        arm = result.arms[0].name
        for brand in result.brands[1:]:
            a, b = paired_values(runs, (arm, result.brands[0]), (arm, brand), kpi)
            differences.append({"row": "difference", "arm": arm, "brand": f"{brand} - {result.brands[0]}",
                                "first": result.brands[0], "second": brand, **paired_difference(a, b)})
    table = pd.concat([groups, pd.DataFrame(differences)], ignore_index=True)
    columns = ["row", "arm", "brand", "first", "second", "n", "mean", "sd", "ci_low", "ci_high", "difference",
               "effect_size", "p_value", "distinguishable"]
    return table.reindex(columns=columns)


def paired_values(runs: pd.DataFrame, first: tuple[str, str], second: tuple[str, str], kpi: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The KPI of two (arm, brand) alternatives, only for replications where both ran, in the same order."""
    def side(arm: str, brand: str) -> pd.Series:
        rows = runs[(runs["arm"] == arm) & (runs["brand"] == brand)]
        return rows.set_index("replication")[kpi]

    joined = pd.concat([side(*first), side(*second)], axis=1, join="inner").sort_index()
    return joined.iloc[:, 0].to_numpy(dtype=float), joined.iloc[:, 1].to_numpy(dtype=float)


# ---------------------------------------------------------------- the verdict

#: The KPIs a strategist decides on, and which way is better (+1 higher, -1 lower).
DECISIVE = (("sales", 1), ("revenue", 1), ("roi", 1), ("cost_per_acquisition", -1), ("trust", 1))
FAMILY_ERROR = 0.05


@dataclass
class Verdict:
    """The answer of a comparison: alternatives x decisive KPIs, and every paired difference behind the marks.

    `table`: one row per alternative (its arm and brand), for each decisive KPI its mean, 95 % interval and
    `<kpi>_best`, true for the alternatives that share the best place (`best_set`): each better than every
    alternative outside it by a paired difference told from noise after Holm's correction over all `family`
    differences of the table.
    `differences`: one row per KPI and pair (`second - first`, paired by replication). A pair where the KPI is
    undefined in some runs (`undefined_runs`: cost per acquisition without adopters, ROI without spend) is not
    tested: dropping those runs would keep only the lucky ones.
    """

    question: str | None
    groups: dict[str, list[str]]  # group label (a brand, or "brands") -> its alternatives' labels, in order
    table: pd.DataFrame
    differences: pd.DataFrame
    family: int
    replications: int


def focus_brands(result: Comparison) -> list[str]:
    """The brands the arms change (named in their overrides); every brand when none is named."""
    named = [b for b in result.brands if any(o.startswith(f"brands.{b}.") for a in result.arms for o in a.overrides)]
    return named or list(result.brands)


def _alternatives(result: Comparison) -> dict[str, list[tuple[str, str, str]]]:
    """Groups of alternatives compared with each other: (label, arm, brand)."""
    if not result.by_arm:
        arm = result.arms[0].name
        return {"brands": [(b, arm, b) for b in result.brands]}
    brands = focus_brands(result)
    return {brand: [(a.name if len(brands) == 1 else f"{a.name} / {brand}", a.name, brand) for a in result.arms]
            for brand in brands}


def make_verdict(result: Comparison, question: str | None) -> Verdict:
    """Means and intervals per alternative, every paired difference, Holm's correction, the marks."""
    runs = result.runs
    groups = _alternatives(result)
    rows, differences = [], []
    for group, alternatives in groups.items():
        for label, arm, brand in alternatives:
            row = {"group": group, "alternative": label, "arm": arm, "brand": brand}
            values = runs[(runs["arm"] == arm) & (runs["brand"] == brand)]
            for kpi, _ in DECISIVE:
                mean, _, low, high = interval(values[kpi].to_numpy())
                row.update({f"{kpi}_mean": mean, f"{kpi}_low": low, f"{kpi}_high": high, f"{kpi}_best": False,
                            f"{kpi}_n": int(values[kpi].notna().sum()), f"{kpi}_runs": len(values)})
            rows.append(row)
        for i, (first, arm_a, brand_a) in enumerate(alternatives):
            for second, arm_b, brand_b in alternatives[i + 1:]:
                for kpi, better in DECISIVE:
                    a, b = paired_values(runs, (arm_a, brand_a), (arm_b, brand_b), kpi)
                    d = paired_difference(a, b)
                    undefined = int((np.isnan(a) | np.isnan(b)).sum())
                    if undefined:  # e.g. no adopters: leaving those runs out would keep only the lucky ones
                        d["p_value"] = np.nan
                    differences.append({"group": group, "kpi": kpi, "better": better, "first": first,
                                        "second": second, **{k: d[k] for k in ("n", "difference", "sd", "ci_low",
                                                                                "ci_high", "p_value")},
                                        "undefined_runs": undefined})
    table = pd.DataFrame(rows)
    columns = ["group", "kpi", "better", "first", "second", "n", "undefined_runs", "difference", "sd", "ci_low",
               "ci_high", "p_value", "p_holm", "distinguishable"]
    diffs = pd.DataFrame(differences).reindex(columns=columns)
    if len(diffs):
        diffs["p_holm"] = holm(diffs["p_value"].to_numpy())
        diffs["distinguishable"] = (diffs["p_holm"] < FAMILY_ERROR).fillna(False).astype(bool)
    family = int(diffs["p_value"].notna().sum()) if len(diffs) else 0
    for kpi, better in DECISIVE:
        for group, alternatives in groups.items():
            means = table[table["group"] == group].set_index("alternative")[f"{kpi}_mean"]
            for label in best_set(diffs[(diffs["group"] == group) & (diffs["kpi"] == kpi)], means, better):
                table.loc[(table["group"] == group) & (table["alternative"] == label), f"{kpi}_best"] = True
    return Verdict(question=question, groups={g: [a[0] for a in alts] for g, alts in groups.items()}, table=table,
                   differences=diffs, family=family, replications=result.replications)


def best_set(diffs: pd.DataFrame, means: pd.Series, better: int) -> list[str]:
    """The alternatives that share the best place on one KPI, or none when the replications cannot tell.

    The best place: the alternative with the best mean, and those not told from it (tied). They are marked
    only when each of them beats every other alternative by a difference told from noise.
    """
    means = means.dropna()
    if len(means) < 2:
        return []
    top = (means * better).idxmax()

    def told(a: str, b: str) -> tuple[bool, float]:
        """(told from noise, b - a) for a pair, whichever way the table holds it."""
        row = diffs[((diffs["first"] == a) & (diffs["second"] == b)) | ((diffs["first"] == b) & (diffs["second"] == a))]
        if not len(row):
            return False, float("nan")
        r = row.iloc[0]
        return bool(r["distinguishable"]), float(r["difference"] if r["second"] == b else -r["difference"])

    tied = [a for a in means.index if a == top or not told(top, a)[0]]
    rest = [a for a in means.index if a not in tied]
    if not rest:
        return []
    for a in tied:
        for b in rest:
            distinguishable, b_minus_a = told(a, b)
            if not distinguishable or not b_minus_a * better < 0:
                return []
    return tied
