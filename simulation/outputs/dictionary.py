"""One name, one meaning and one unit per column and KPI, for every table and report.

The report, summary.json, the CSV and Parquet tables, compare's and sweep's
tables all use these names; `data_dictionary.csv` beside the tables is written
from here, so a column without an entry is a bug (a test reads every table).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

MONEY = "{currency}"  # replaced by the scenario's currency

# name: (meaning, unit)
KPIS: dict[str, tuple[str, str]] = {
    "impressions": ("Ad impressions the brand bought and users saw, over the run (vanity)", "impressions"),
    "reach": ("Users who saw at least one of the brand's impressions, by the end of the run (vanity)", "people"),
    "frequency": ("Impressions per user reached, by the end of the run (vanity)", "impressions per person"),
    "clicks": ("Expected clicks on the brand's impressions, over the run: a sum of click probabilities, "
               "so not a whole number (vanity)", "expected clicks"),
    "fans": ("Users who have spent time at the brand's destination (its own site or community page) at least "
             "once, by the end of the run (vanity)", "people"),
    "referrals": ("Conversations about the brand users took in, over the run: each day, each user's speaking "
                  "neighbours weighted by their voice and by both users' share of the feed (time on social "
                  "platforms); expected, so not a whole number", "conversations"),
    "engaged_minutes": ("Minutes users spent at the brand's destination, over the run (outcome)", "minutes"),
    "awareness": ("Mean awareness of the brand over all users, on the last day (0 none, 1 everyone fully aware)",
                  "share, 0 to 1"),
    "trust": ("Mean trust in the brand over all users, on the last day (-1 all distrust, 1 all trust)",
              "score, -1 to 1"),
    "adopters": ("Customers: users who have bought at least once, by the end of the run (outcome)", "people"),
    "sales": ("Purchases, first and repeat, over the run (outcome)", "sales"),
    "last_touch_sales": ("Sales to users who saw one of the brand's impressions or visited its site in the 7 days "
                         "before (today included), over the run: what last-touch attribution credits to the brand",
                         "sales"),
    "last_touch_revenue": ("Last-touch sales times price, over the run", MONEY),
    "revenue": ("Sales times price, over the run (outcome)", MONEY),
    "spend": ("Money the brand spent, over the run", MONEY),
    "roi": ("Return on spend over the run: (margin x revenue - spend) / spend, with the brand's margin; "
            "0 breaks even, -1 loses all the spend", "ratio"),
    "cost_per_acquisition": ("Spend per adopter (customer), over the run; lower is better", f"{MONEY} per adopter"),
}

# Columns of the daily tables, beyond the KPIs (which keep their meaning, per day or to date as said).
DAILY: dict[str, dict[str, tuple[str, str]]] = {
    "sinks": {
        "day": ("Day of the run (1 is the first simulated day)", "day"),
        "sink": ("Name of the attention sink (a site, a platform, or a brand's destination)", ""),
        "kind": ("Kind of site; brand destinations are of kind 'brand'", ""),
        "active": ("Whether the sink is open that day (a launched platform is closed before its launch)", "true/false"),
        "minutes": ("Minutes all users spent there that day", "minutes"),
        "share": ("Share of all minutes online spent there that day (a sink of kind 'offline', the outside option: "
                  "its share of the users' whole budget)", "share, 0 to 1"),
        "visitors": ("Users who spent at least one slot there that day", "people"),
        "members": ("Share of users who are members that night (1 for a sink open to everyone)", "share, 0 to 1"),
        "joins": ("Users who joined that night (a platform with members)", "people"),
    },
    "brands": {
        "day": ("Day of the run", "day"),
        "brand": ("Name of the brand", ""),
        "strategy": ("The brand's strategy that day (billboard, relational, mixed, copycat, influencer)", ""),
        "relational_share": ("Share of the day's budget spent relationally (0 billboard, 1 relational)", "share, 0 to 1"),
        "spend": ("Money spent that day", MONEY),
        "impressions": ("Impressions seen that day", "impressions"),
        "daily_reach": ("Users who saw at least one impression that day", "people"),
        "reach": ("Users who have seen at least one impression so far", "people"),
        "frequency": ("Impressions so far per user reached", "impressions per person"),
        "clicks": ("Expected clicks on that day's impressions (a sum of probabilities)", "expected clicks"),
        "fans": ("Users who have spent time at the brand's destination so far", "people"),
        "influencers": ("Users paid to recommend the brand that day", "people"),
        "novelty": ("Novelty of the brand's campaign (1 when new, a copy starts lower)", "score, 0 to 1"),
        "visitors": ("Users who spent at least one slot at the brand's destination that day", "people"),
        "answers": ("Visitors the brand answered that day", "people"),
        "engaged_minutes": ("Minutes spent at the brand's destination that day", "minutes"),
        "awareness": ("Mean awareness over all users that day", "share, 0 to 1"),
        "trust": ("Mean trust over all users that day", "score, -1 to 1"),
        "adopters": ("Customers so far: users who have bought at least once", "people"),
        "new_adopters": ("Users who bought for the first time that day", "people"),
        "sales": ("Purchases that day, first and repeat", "sales"),
        "last_touch_sales": ("That day's sales to users who saw one of the brand's impressions or visited its site "
                             "in the last 7 days (today included)", "sales"),
        "referrals": ("Conversations about the brand users took in that day (see the KPI referrals)", "conversations"),
        "revenue": ("Sales times price, that day", MONEY),
        "spend_to_date": ("Money spent so far", MONEY),
        "revenue_to_date": ("Revenue so far", MONEY),
        "roi_to_date": ("(margin x revenue so far - spend so far) / spend so far; empty before any spend", "ratio"),
        "cost_per_acquisition": ("Spend so far per adopter so far; empty before the first adopter", f"{MONEY} per adopter"),
    },
    "model": {
        "day": ("Day of the run", "day"),
        "total_minutes": ("Minutes all users spent online that day (the outside option left out)", "minutes"),
        "offline_minutes": ("Minutes all users spent on the outside option (sinks of kind 'offline') that day",
                            "minutes"),
        "mean_savviness": ("Mean ad blindness of users (an impression's effect falls by this share)", "share, 0 to 1"),
        "open_sinks": ("Sinks open that day, brand destinations included", "sinks"),
    },
    "users": {
        "day": ("Day of the run", "day"),
        "user": ("Index of the sampled user (a node of the graph)", ""),
        "minutes_per_day": ("The user's time online per day", "minutes"),
        "favourite_sink": ("The sink where the user spent most slots that day", ""),
        "savviness": ("The user's ad blindness", "share, 0 to 1"),
        "brand": ("Name of the brand the next four columns are about", ""),
        "awareness": ("The user's awareness of the brand", "share, 0 to 1"),
        "trust": ("The user's trust in the brand", "score, -1 to 1"),
        "adopted": ("Whether the user has bought from the brand at least once", "true/false"),
        "purchases": ("The user's purchases from the brand so far", "sales"),
    },
}

#: summary.json's per-brand figures beyond the KPIs.
SUMMARY_EXTRA: dict[str, tuple[str, str]] = {
    "strategy": ("The brand's strategy on the last day", ""),
    "relational_share": ("Share of the budget spent relationally on the last day", "share, 0 to 1"),
    "click_through_rate": ("Expected clicks per impression over the run; empty without impressions", "share, 0 to 1"),
    "ctr_first_exposure": ("Click-through on users' first day of exposure to the brand", "share, 0 to 1"),
    "ctr_later_exposures": ("Click-through on the days after a user's first exposure", "share, 0 to 1"),
}

#: compare's verdict.csv and differences.csv.
VERDICT: dict[str, tuple[str, str]] = {
    "group": ("What the alternatives of a row have in common: 'brands' (brands compared within the same runs) or "
              "the brand the arms change", ""),
    "alternative": ("The alternative: an arm, a brand, or 'arm / brand'", ""),
    "<kpi>_mean, <kpi>_low, <kpi>_high": ("Mean of a decisive KPI over the runs where it is defined, and its 95 % "
                                          "t interval", "the KPI's unit"),
    "<kpi>_best": ("True where the alternative has (or shares) the best place on that KPI, told from every other "
                   "alternative after Holm's correction", "true/false"),
    "<kpi>_n, <kpi>_runs": ("Runs where the KPI is defined, and runs of the alternative", "runs"),
    "kpi": ("The decisive KPI of a paired difference", ""),
    "better": ("1 when higher is better, -1 when lower is better", ""),
    "first, second": ("The pair; the difference is second minus first, paired by replication", ""),
    "n": ("Replications in the pair", "runs"),
    "undefined_runs": ("Replications where the KPI is undefined for one of the pair (then the pair is not tested)",
                       "runs"),
    "difference, sd, ci_low, ci_high": ("Mean paired difference, its standard deviation and 95 % t interval",
                                        "the KPI's unit"),
    "p_value, p_holm": ("Paired t-test p-value (exact sign-flip test when the difference never varies), and after "
                        "Holm's correction over every difference of the table", "probability"),
    "distinguishable": ("p_holm below 0.05", "true/false"),
}

#: compare's tables/<kpi>.csv: every KPI, each difference tested alone (for exploration).
KPI_TABLES: dict[str, tuple[str, str]] = {
    "row": ("alternative (its mean and interval) or difference (a paired difference from the first alternative)", ""),
    "mean, sd, ci_low, ci_high": ("An alternative's mean over runs, standard deviation and 95 % t interval",
                                  "the KPI's unit"),
    "difference, effect_size": ("Mean paired difference (second minus first) and its effect size d_z (mean / sd "
                                "of the differences; empty when they never vary)", "the KPI's unit; none"),
    "distinguishable": ("In these tables: the difference's own 95 % test, with NO correction for the many KPIs "
                        "(the verdict's differences.csv has the corrected one)", "true/false"),
}

#: compare --incremental's incremental.csv (each figure as <name>_mean, <name>_low, <name>_high).
INCREMENTAL: dict[str, tuple[str, str]] = {
    "arm, brand, n, margin": ("The alternative, the brand, the paired replications, the brand's margin", ""),
    "sales_*, revenue_*, roi_*, spend_*": ("The attributed figures: the brand's own sales, revenue, ROI and spend "
                                          "(mean, 95 % interval)", "the KPI's unit"),
    "sales_at_zero_spend_*": ("The brand's sales in the same runs with its budget at 0", "sales"),
    "incremental_sales_*, incremental_revenue_*": ("With spend minus at zero spend, paired by replication",
                                                   "sales; {currency}"),
    "incremental_roi_*": ("(margin x incremental revenue - spend) / spend", "ratio"),
    "roi_overstated_by_*": ("Attributed ROI minus incremental ROI, paired by replication", "ratio"),
    "last_touch_sales_*, last_touch_roi_*": ("What last-touch attribution credits: sales to users touched (an "
                                             "impression or a visit) in the 7 days before, and (margin x their "
                                             "revenue - spend) / spend", "sales; ratio"),
    "mmm_roi_*, mmm_estimable, mmm_runs": ("ROI a media-mix model estimates from each run's own weekly sales and "
                                           "spend (adstock regression), and in how many runs it could be estimated",
                                           "ratio; runs"),
}

EXPERIMENT: dict[str, tuple[str, str]] = {
    "run_id": ("Number of the run within the experiment", ""),
    "arm": ("The alternative (a set of overrides; 'as written' is the scenario unchanged)", ""),
    "brand": ("Name of the brand the KPI columns are about", ""),
    "replication": ("Replication number; replication r of every arm or point uses the same seed", ""),
    "point": ("Number of the sweep's point (one combination of the varied values)", ""),
    "seed": ("Seed of the run", ""),
    "status": ("ok, or failed (see error)", ""),
    "error": ("Why the run failed; empty when it did not", ""),
    "seconds": ("Time the run took on its worker", "seconds"),
    "param:<key>": ("Value of a varied scenario key at this point", "the key's unit (scenario reference)"),
    "<brand>/<kpi>": ("The KPI (above) of that brand, over the run", "the KPI's unit"),
}


def unit(name: str, currency: str) -> str:
    """The unit of a KPI, with the scenario's currency."""
    return KPIS[name][1].replace(MONEY, currency)


def label(name: str, currency: str | None = None) -> str:
    """'sales', 'cost per acquisition (EUR per adopter)': the one name of a KPI, with its unit when it helps."""
    text = "ROI" if name == "roi" else name.replace("_", " ")
    if currency is not None and MONEY in KPIS[name][1]:
        text += f" ({unit(name, currency)})"
    return text


def dictionary_table(tables: list[str], currency: str, kpis: bool = True, experiment: str | None = None,
                     incremental: bool = False) -> pd.DataFrame:
    """The rows of data_dictionary.csv for the given daily tables, the KPIs, and an experiment's tables
    (`experiment`: "compare" or "sweep"; `incremental`: a run's incremental.csv, from `run --incremental N`)."""
    rows = []
    if kpis:
        where = "summary.json" if experiment is None else "KPIs (columns of runs.csv, <brand>/<kpi> in results.csv)"
        rows += [(where, name, meaning, unit_) for name, (meaning, unit_) in KPIS.items()]
    if experiment is None:
        rows += [("summary.json", name, meaning, unit_) for name, (meaning, unit_) in SUMMARY_EXTRA.items()]
    for table in tables:
        rows += [(f"{table}.csv", name, meaning, unit_) for name, (meaning, unit_) in DAILY[table].items()]
    if experiment == "compare":
        keep = ("arm", "brand", "replication", "seed")
        rows += [("runs.csv", name, *EXPERIMENT[name]) for name in keep]
        rows += [("verdict.csv / differences.csv", name, meaning, unit_) for name, (meaning, unit_) in VERDICT.items()]
        rows += [("tables/<kpi>.csv", name, meaning, unit_) for name, (meaning, unit_) in KPI_TABLES.items()]
        rows += [("incremental.csv (--incremental)", name, meaning, unit_)
                 for name, (meaning, unit_) in INCREMENTAL.items()]
    elif incremental:
        rows += [("incremental.csv (run --incremental N)", name, meaning, unit_)
                 for name, (meaning, unit_) in INCREMENTAL.items()]
    if experiment == "sweep":
        rows += [("results.csv", name, meaning, unit_) for name, (meaning, unit_) in EXPERIMENT.items()
                 if name not in ("arm", "brand")]
    frame = pd.DataFrame(rows, columns=["table", "column", "meaning", "unit"])
    frame["unit"] = frame["unit"].str.replace(MONEY, currency, regex=False)
    return frame


def write_dictionary(out: Path, tables: list[str], currency: str, *, experiment: str | None = None,
                     incremental: bool = False) -> Path:
    """Write data_dictionary.csv into `out`."""
    path = out / "data_dictionary.csv"
    dictionary_table(tables, currency, experiment=experiment, incremental=incremental).to_csv(path, index=False)
    return path
