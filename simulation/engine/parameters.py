"""The scenario, once, as the kernels' parameters.

Every rename and unit conversion between a scenario file and the kernels happens here and only
here (savviness per thousand ads to per ad, forgetting rates to shares kept, habit per slot, ...);
the kernels take this record, never a positional list of numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.scenario import Scenario

#: Added to awareness before its log enters a destination's utility without choice sets (§7.3).
AWARENESS_FLOOR = np.float32(1e-3)
#: Last-touch attribution (§4 Observation): a sale counts for a brand's ads and site if the buyer saw one of
#: its impressions or visited its destination within this many days (today included).
LAST_TOUCH_DAYS = 7


class DayParameters(NamedTuple):
    """The scenario's numbers the users' rules need, in the units the kernels use (see `mechanisms`)."""

    slots_per_day: int  # §7.4
    per_slot_share: float  # 1 / slots_per_day: the share of a day one slot is
    habit_per_slot: float  # §7.3: habit x share of one slot
    saturation_per_slot: float  # §7.3: saturation x share of one slot
    trust_pull: float  # §7.3
    awareness_floor: float  # §7.3
    choice_set: bool  # §7.3: a destination is considered only on days the brand comes to mind
    ad_effect: float  # §7.6
    click_rate: float  # §7.6b
    engagement_minutes: float  # §7.7
    answer_gain: float  # §7.7
    fatigue_per_impression: float  # §7.8
    savviness_per_ad: float  # §7.8: growth per thousand ads / 1,000
    savviness_initial: float  # §7.8: the level savviness fades back toward
    savviness_kept: float  # §7.8: 1 - savviness decay
    banner_weight: float  # §7.8: trust in banner ads / trust in a friend's recommendation (Nielsen 2009)
    site_weight: float  # §7.8: trust in brand websites / trust in a friend's recommendation
    funnel: bool  # §7.10: the external pull works on aware users, scaled by trust (never with exposure full)
    full_exposure: bool  # §7.10: p applies to everyone (the classic Bass model), not through attention
    paid_voice: float  # §7.16
    talk_threshold: float  # §7.9: trust from which customers and fans speak well of a brand every day
    feed_minutes: float  # §7.9: social-platform minutes at which a user takes in the whole feed (0: no limit)
    awareness_spread: float  # §7.9
    trust_influence: float  # §7.9
    negativity_bias: float  # §7.9
    p: float  # §7.10
    q: float  # §7.10
    repurchase_rate: float  # §7.11
    experience_weight: float  # §7.11
    fatigue_kept: float  # §7.13: 1 - fatigue recovery
    awareness_kept: float  # §7.13: 1 - awareness forgetting
    trust_kept: float  # §7.13: 1 - trust forgetting (of the gap to the brand's baseline)
    urge_kept: float  # §7.13: 1 - urge fading
    last_touch_days: int  # §4: the window of last-touch attribution


def day_parameters(config: Scenario) -> DayParameters:
    """The kernels' parameters of a scenario."""
    population, advertising, market = config.population, config.advertising, config.market
    funnel = market.funnel and market.exposure != "full"  # the Bass limit has no funnel
    wom, relational = config.word_of_mouth, config.relational
    per_slot_share = 1.0 / population.slots_per_day
    return DayParameters(
        slots_per_day=population.slots_per_day,
        per_slot_share=per_slot_share,
        habit_per_slot=float(population.habit) * per_slot_share,
        saturation_per_slot=float(population.saturation) * per_slot_share,
        trust_pull=float(relational.trust_pull),
        awareness_floor=float(AWARENESS_FLOOR),
        choice_set=bool(market.choice_set),
        ad_effect=float(advertising.ad_effect),
        click_rate=float(advertising.click_rate),
        engagement_minutes=float(market.engagement_minutes),
        answer_gain=float(relational.answer_trust_gain),
        fatigue_per_impression=float(advertising.fatigue_per_impression),
        savviness_per_ad=advertising.savviness_growth / 1000.0,
        savviness_initial=float(advertising.savviness_initial),
        savviness_kept=1.0 - advertising.savviness_decay,
        banner_weight=market.source_trust.banner / market.source_trust.friend if funnel else 1.0,
        site_weight=market.source_trust.brand_site / market.source_trust.friend if funnel else 1.0,
        funnel=funnel,
        full_exposure=market.exposure == "full",
        paid_voice=float(relational.paid_voice),
        talk_threshold=float(wom.talk_threshold),
        feed_minutes=float(wom.feed_minutes),
        awareness_spread=float(wom.awareness_spread),
        trust_influence=float(wom.trust_influence),
        negativity_bias=float(wom.negativity_bias),
        p=float(market.p),
        q=float(market.q),
        repurchase_rate=float(market.repurchase_rate),
        experience_weight=float(market.experience_weight),
        fatigue_kept=1.0 - advertising.fatigue_recovery,
        awareness_kept=1.0 - market.awareness_forgetting,
        trust_kept=1.0 - market.trust_forgetting,
        urge_kept=1.0 - wom.urge_fading,
        last_touch_days=LAST_TOUCH_DAYS,
    )


def effect_per_slot(network_effect: np.ndarray, params: DayParameters) -> np.ndarray:
    """§7.3: each sink's network effect per slot that neighbours spent there (neighbours' slots, not shares)."""
    return network_effect * params.per_slot_share
