"""Named reporter functions, shared by the data collection and the report.

No lambdas: a model and its reporters must pickle for parallel sweeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from simulation.model.brands import Brand
    from simulation.model import AttentionModel
    from simulation.model.sinks import Sink


# ---- per sink, per day

def sink_name(sink: "Sink") -> str:
    return sink.name


def sink_kind(sink: "Sink") -> str:
    return sink.kind


def sink_active(sink: "Sink") -> bool:
    return sink.active


def sink_minutes(sink: "Sink") -> float:
    return sink.minutes_today


def sink_share(sink: "Sink") -> float:
    return sink.share_today


def sink_visitors(sink: "Sink") -> int:
    return sink.visitors_today


def sink_members(sink: "Sink") -> float:
    """Share of users who are members tonight (§7.3a); 1 for a sink open to everyone."""
    return sink.member_share(sink.model.population.n)


def sink_joins(sink: "Sink") -> int:
    """Users who joined tonight (a sink with members, §7.3a)."""
    return sink.joins_today


SINK_REPORTERS = {
    "sink": sink_name,
    "kind": sink_kind,
    "active": sink_active,
    "minutes": sink_minutes,
    "share": sink_share,
    "visitors": sink_visitors,
    "members": sink_members,
    "joins": sink_joins,
}


# ---- per brand, per day

def brand_name(brand: "Brand") -> str:
    return brand.name


def brand_strategy(brand: "Brand") -> str:
    return brand.strategy


def relational_share(brand: "Brand") -> float:
    return brand.relational_share


def spend(brand: "Brand") -> float:
    return brand.spend_today


def impressions(brand: "Brand") -> int:
    return brand.impressions_today


def daily_reach(brand: "Brand") -> int:
    return brand.daily_reach


def reach(brand: "Brand") -> int:
    """Users who have seen at least one of the brand's impressions so far."""
    return int(np.count_nonzero(brand.model.population.reached[brand.index]))


def frequency(brand: "Brand") -> float:
    """Impressions so far per user reached."""
    r = reach(brand)
    return brand.impressions_total / r if r else 0.0


def clicks(brand: "Brand") -> float:
    """Expected clicks on today's impressions."""
    return brand.clicks_today


def fans(brand: "Brand") -> int:
    """Users who have spent time at the brand's destination so far."""
    return int(np.count_nonzero(brand.model.population.fan[brand.index]))


def influencers(brand: "Brand") -> int:
    """Users paid to recommend the brand today."""
    return brand.influencers_today


def novelty(brand: "Brand") -> float:
    """Novelty of the brand's campaign (1 when new; a copy starts lower)."""
    return brand.novelty


def visitors(brand: "Brand") -> int:
    return brand.visitors_today


def answers(brand: "Brand") -> int:
    return brand.answers_today


def engaged_minutes(brand: "Brand") -> float:
    return brand.engaged_minutes_today


def awareness(brand: "Brand") -> float:
    return float(brand.model.population.awareness[brand.index].mean(dtype=np.float64))


def trust(brand: "Brand") -> float:
    return float(brand.model.population.trust[brand.index].mean(dtype=np.float64))


def adopters(brand: "Brand") -> int:
    return int(np.count_nonzero(brand.model.population.adopted[brand.index]))


def new_adopters(brand: "Brand") -> int:
    return brand.new_adopters_today


def sales(brand: "Brand") -> int:
    return brand.sales_today


def last_touch_sales(brand: "Brand") -> int:
    """Today's sales to users who saw one of the brand's impressions or visited its site in the last 7 days."""
    return brand.last_touch_sales_today


def referrals(brand: "Brand") -> float:
    """Conversations about the brand users took in today: the sum over users of the speaking neighbours, each
    weighted by its voice and by both users' share of the feed (§7.9; expected, not drawn)."""
    return brand.referrals_today


def revenue(brand: "Brand") -> float:
    return brand.sales_today * brand.price


def spend_to_date(brand: "Brand") -> float:
    return brand.spend_total


def revenue_to_date(brand: "Brand") -> float:
    return brand.revenue_total


def roi_to_date(brand: "Brand") -> float:
    """(margin x revenue - spend) / spend so far; NaN before any spend."""
    if brand.spend_total <= 0:
        return float("nan")
    return (brand.margin * brand.revenue_total - brand.spend_total) / brand.spend_total


def click_through_rate(brand: "Brand") -> float:
    """Clicks per impression so far; NaN before any impression."""
    return brand.clicks_total / brand.impressions_total if brand.impressions_total else float("nan")


def first_exposure_ctr(brand: "Brand") -> float:
    """Click-through on users' first day of exposure to the brand."""
    first = brand.first_impressions_total
    return brand.first_clicks_total / first if first else float("nan")


def later_exposure_ctr(brand: "Brand") -> float:
    """Click-through on the days after a user's first exposure."""
    later = brand.impressions_total - brand.first_impressions_total
    return (brand.clicks_total - brand.first_clicks_total) / later if later > 0 else float("nan")


def cost_per_acquisition(brand: "Brand") -> float:
    a = adopters(brand)
    return brand.spend_total / a if a else float("nan")


BRAND_REPORTERS = {
    "brand": brand_name,
    "strategy": brand_strategy,
    "relational_share": relational_share,
    "spend": spend,
    "impressions": impressions,
    "daily_reach": daily_reach,
    "reach": reach,
    "frequency": frequency,
    "clicks": clicks,
    "fans": fans,
    "influencers": influencers,
    "novelty": novelty,
    "visitors": visitors,
    "answers": answers,
    "engaged_minutes": engaged_minutes,
    "awareness": awareness,
    "trust": trust,
    "adopters": adopters,
    "new_adopters": new_adopters,
    "sales": sales,
    "last_touch_sales": last_touch_sales,
    "referrals": referrals,
    "revenue": revenue,
    "spend_to_date": spend_to_date,
    "revenue_to_date": revenue_to_date,
    "roi_to_date": roi_to_date,
    "cost_per_acquisition": cost_per_acquisition,
}


# ---- whole model, per day (Mesa DataCollector)

def day(model: "AttentionModel") -> int:
    return model.day


def total_minutes(model: "AttentionModel") -> float:
    """Today's minutes online: every sink but the outside option (kind 'offline')."""
    return float(sum(s.minutes_today for s in model.all_sinks if s.kind != "offline"))


def offline_minutes(model: "AttentionModel") -> float:
    """Today's minutes spent on the outside option (sinks of kind 'offline'; 0 without one)."""
    return float(sum(s.minutes_today for s in model.all_sinks if s.kind == "offline"))


def mean_savviness(model: "AttentionModel") -> float:
    return float(model.population.savviness.mean(dtype=np.float64))


def open_sinks(model: "AttentionModel") -> int:
    return sum(1 for s in model.all_sinks if s.active)


MODEL_REPORTERS = {
    "day": day,
    "total_minutes": total_minutes,
    "offline_minutes": offline_minutes,
    "mean_savviness": mean_savviness,
    "open_sinks": open_sinks,
}


# ---- sampled users (opt-in)

USER_COLUMNS = ("day", "user", "minutes_per_day", "favourite_sink", "savviness", "brand", "awareness", "trust", "adopted", "purchases")


def user_rows(model: "AttentionModel", users: np.ndarray) -> list[tuple]:
    """One row per sampled user and brand for today."""
    pop = model.population
    names = [s.name for s in model.all_sinks]
    favourite = np.argmax(pop.slots[:, users], axis=0)
    rows = []
    for k, u in enumerate(users):
        for brand in model.brands:
            b = brand.index
            rows.append((model.day, int(u), float(pop.budget[u]), names[favourite[k]], float(pop.savviness[u]),
                         brand.name, float(pop.awareness[b, u]), float(pop.trust[b, u]),
                         bool(pop.adopted[b, u]), int(pop.purchases[b, u])))
    return rows
