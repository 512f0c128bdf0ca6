"""Each per-user rule of the day, stated once (ODD §7), as a function of one user's numbers.

The kernels call these for every user (inlined, so that their loops stay vector code); the
benchmark's naive Mesa reference calls the same functions in Python, through `python_of`. The
readable numpy reference in `tests/reference/` states each rule again, independently, so that a
test can compare the two phase by phase.

Types follow the arguments: float32 state stays float32 where the kernels pass float32, and a
function given Python floats computes in double precision.
"""

from __future__ import annotations

import math
import types

import numpy as np

from simulation.engine.jit import scalar
from simulation.engine.numerics import exp32, log32


#: What `python_of` gives the rules for numpy: Python floats and math (float64 throughout).
_PYTHON_NUMBERS = types.SimpleNamespace(float32=float, floor=math.floor, inf=math.inf)


def python_of(rule):
    """A rule as a plain-Python function of Python floats: the same code, with math's exp, log and floor.

    For the benchmark's naive Mesa reference and for tests on hand-made numbers.
    The kernels' exp32 and log32 are polynomials written for vector code, and
    numpy's float32 scalars are slow in Python; here they are math's functions
    and Python floats, so the rule computes in double precision. Every argument
    the rules give exp is at most 0, where math.exp cannot overflow.
    """
    function = getattr(rule, "py_func", rule)
    namespace = {**function.__globals__, "exp32": math.exp, "log32": math.log, "np": _PYTHON_NUMBERS}
    return types.FunctionType(function.__code__, namespace, function.__name__, function.__defaults__,
                              function.__closure__)


# --------------------------------------------------------------------------- §2, §7.3–7.4 attention

@scalar
def minutes_per_slot(budget, per_slot_share):
    """§2: a slot lasts the user's daily minutes / slots per day (per_slot_share = 1 / slots per day)."""
    return budget * per_slot_share


@scalar
def sink_utility(taste, pull, reinforcement):
    """§7.3: taste for the sink's kind + the sink's pull (appeal + novelty, + content for a brand's site)
    + the reinforcement of habit and friends."""
    return taste + pull + reinforcement


@scalar
def reinforcement(habit_per_slot, yesterday_slots, effect_per_slot, neighbours_slots, saturation_per_slot):
    """§7.3: habit x yesterday's share of slots + network effect x the neighbours' mean share, with
    diminishing returns: scaled by 1 - saturation x yesterday's share (per-slot weights: x 1 / slots per day)."""
    return ((habit_per_slot * yesterday_slots + effect_per_slot * neighbours_slots)
            * (np.float32(1.0) - saturation_per_slot * yesterday_slots))


@scalar
def open_to(utility, member):
    """§7.3a: a sink with members is open to its members only (for anyone else its logit weight is 0)."""
    return utility if member else np.float32(-np.inf)


@scalar
def destination_pull(trust, awareness, trust_pull, awareness_floor, considered, choice_set):
    """§7.3: what draws a user to a brand's destination: strong opinions (either sign), if the site is
    in today's choice set (`considered`: the brand came to mind); without choice sets, awareness
    weighs the site instead (ln(awareness + floor))."""
    pull = trust_pull * abs(trust)
    if choice_set:
        return pull if considered else np.float32(-np.inf)
    return pull + log32(awareness + awareness_floor)


@scalar
def comes_to_mind(awareness, uniform):
    """§7.3: the brand is in today's choice set with probability equal to the user's awareness of it."""
    return uniform < awareness


@scalar
def logit_weight(utility, top):
    """§7.3: the multinomial logit's weight of a sink, e^(utility - the user's highest utility)."""
    return exp32(utility - top)


@scalar
def slots_up_to(cumulative, total, slots, uniform):
    """§7.4: systematic sampling: slots on this sink and those before it, from the cumulative logit weight.
    None at all for a user with nothing to choose from (every sink closed, no brand in mind): a day offline."""
    return min(np.floor(cumulative / total * slots + uniform), slots) if total > 0 else np.float32(0.0)


# --------------------------------------------------------------------------- §7.5–7.8 exposure

@scalar
def campaign_effect(ad_effect, novelty):
    """§7.6, §7.15: the effect of one impression on a naive, unfatigued user, scaled by the campaign's novelty."""
    return ad_effect * novelty


@scalar
def ad_wear(savviness, fatigue):
    """§7.6: what is left of an impression's effect: (1 - savviness) e^-fatigue."""
    return (np.float32(1.0) - savviness) * exp32(-fatigue)


@scalar
def unmoved_by_ads(impressions, effect, wear):
    """§7.6: the chance that none of today's impressions moved the user: (1 - effect x wear)^impressions."""
    return exp32(log32(max(np.float32(1.0) - effect * wear, np.float32(1e-30))) * np.float32(impressions))


@scalar
def ad_response(unmoved):
    """§7.6: the combined effect of today's impressions, 1 - (1 - effect x wear)^impressions (0 if none)."""
    return np.float32(1.0) - unmoved


@scalar
def clicks(impressions, click_rate, wear):
    """§7.6b: expected clicks on today's impressions, worn out like their effect (observed only)."""
    return impressions * click_rate * wear


@scalar
def unengaged(minutes, engagement_minutes):
    """§7.7: the chance that time at the destination left no mark: e^(-minutes / engagement_minutes)."""
    return exp32(np.float32(-minutes / engagement_minutes))


@scalar
def external_pull(ad_response, unengaged, visiting):
    """§7.8: today's external pull: 1 - (1 - ad response)(1 - engagement), the ads alone without a visit."""
    return np.float32(1.0) - (np.float32(1.0) - ad_response) * unengaged if visiting else ad_response


@scalar
def bass_external(pull, full_exposure):
    """§7.10: the external pull the hazard uses: today's pull, or 1 for everyone (`market.exposure: full`)."""
    return 1.0 if full_exposure else pull


@scalar
def awareness_after_exposure(awareness, pull):
    """§7.8: awareness rises toward 1 by the external pull."""
    return awareness + (1.0 - awareness) * pull


@scalar
def trust_after_answer(trust, answer_gain):
    """§7.7: an answered visitor's trust moves toward 1 by the answer's gain."""
    return trust + answer_gain * (1.0 - trust)


@scalar
def fatigue_after_impressions(fatigue, impressions, per_impression):
    """§7.8: ad fatigue grows with each impression of the brand."""
    return fatigue + impressions * per_impression


@scalar
def savviness_after_ads(savviness, ads_seen, per_ad, initial, kept):
    """§7.8: savviness grows toward 1 with every ad seen, of any brand (per_ad = growth per 1,000 / 1,000),
    then fades toward its initial level (kept = 1 - savviness_decay): it settles where the two balance."""
    grown = min(savviness + per_ad * ads_seen * (1.0 - savviness), 1.0)
    return grown if kept >= 1.0 else initial + (grown - initial) * kept  # (no decay: exactly the growth)


@scalar
def feed_share(social_minutes, feed_minutes):
    """§7.9: the share of neighbours' talk a user takes in today: social-platform minutes / feed_minutes,
    at most 1 (a finite feed: limited attention); everything at feed_minutes 0 (talk needs no attention)."""
    return min(social_minutes / feed_minutes, 1.0) if feed_minutes > 0 else 1.0


@scalar
def voices(trust, adopted, fan, seeded, urge, paid_voice, talk_threshold, feed):
    """§7.9, §7.16: what a user posts about a brand: (advocacy, voice weight, positive, negative opinion).

    Customers and fans speak well of a brand at full weight while their
    opinion is strong (trust >= talk_threshold); anyone speaks with the urge
    of a fresh experience (a purchase, an answer, turning against the brand),
    which fades (§7.13): a grievance is told while it is fresh, as a rumour;
    paid influencers always speak. The voice is trust x weight, split
    in its positive and negative parts. Customers advocate with their trust if
    it is positive; a paid influencer advocates and speaks well of the brand
    with at least `paid_voice`, never badly, at full weight. Everything is
    scaled by `feed`, the share of the day's feed the user takes part in
    (their social-platform time, §7.9): talk travels through attention.
    """
    engaged = 1.0 if (adopted | fan) & (trust >= talk_threshold) else 0.0
    weight = max(urge, engaged)
    weight = 1.0 if seeded else weight
    advocacy = max(trust, 0.0) if adopted else 0.0
    positive = max(trust, 0.0) * weight
    negative = max(-trust, 0.0) * weight
    advocacy = max(advocacy, paid_voice) if seeded else advocacy  # a paid recommendation is never negative
    positive = max(positive, paid_voice) if seeded else positive
    negative = 0.0 if seeded else negative
    return advocacy * feed, weight * feed, positive * feed, negative * feed


# --------------------------------------------------------------------------- §7.9–7.13 word of mouth, purchases, learning

@scalar
def neighbours_mean(total, count):
    """§7.9: what a user hears is the mean over the neighbours (0 for a user without any)."""
    return total * (1.0 / count) if count > 0 else 0.0


@scalar
def awareness_after_listening(awareness, spread, listening):
    """§7.9: awareness rises with the neighbours' mean voice weight (the share who speak of the brand)."""
    return awareness + spread * listening * (1.0 - awareness)


@scalar
def trust_after_listening(trust, influence, positive, negative, negativity_bias, listening):
    """§7.9: trust moves toward the neighbours' voiced opinion, negative talk weighted by the negativity bias."""
    moved = trust + influence * ((positive - negativity_bias * negative) - listening * trust)
    return min(max(moved, -1.0), 1.0)


@scalar
def adoption_hazard(external, advocacy):
    """§7.10: the network Bass hazard 1 - (1 - p_eff)(1 - q_eff), from p x external pull and q x advocacy."""
    return 1.0 - (1.0 - external) * (1.0 - advocacy)


@scalar
def persuaded(ad_response, unengaged, visiting, banner_weight, site_weight):
    """§7.8, §7.10: the external pull as a purchase hazard counts it: the ads' response and the visit's
    engagement (1 - unengaged), each weighted by how far people trust its source against a friend's
    recommendation (Nielsen 2009), combined as independent chances. At weights 1 it is `external_pull`
    to the last bit (1 - site_weight + site_weight x unengaged is then unengaged exactly)."""
    from_ads = banner_weight * ad_response
    return (np.float32(1.0) - (np.float32(1.0) - from_ads) * (np.float32(1.0) - site_weight + site_weight * unengaged)
            if visiting else from_ads)


@scalar
def touched_lately(day, last_touch, window):
    """§4 Observation: last-touch attribution credits a sale to a brand whose impression or site the buyer met
    within the last `window` days, today included."""
    return day - last_touch < window


@scalar
def funnel(awareness, trust, gated):
    """§7.10: the share of the external pull that works on a user: only on the aware, more on the trusting
    (awareness x (1 + trust) / 2); 1 without the funnel (the Bass limit, `market.exposure: full`)."""
    return awareness * (1.0 + trust) * 0.5 if gated else 1.0


@scalar
def buys(draw, adopted, repurchase, hazard):
    """§7.10–7.11: one uniform draw decides today's purchase: a first one by the hazard, a repeat one by trust."""
    return draw < (repurchase if adopted else hazard)


@scalar
def repurchase_probability(trust, repurchase_rate):
    """§7.11: a customer buys again at `repurchase_rate` at trust 1, half of it at 0, never at -1."""
    return repurchase_rate * (1.0 + trust) * 0.5


@scalar
def trust_after_purchase(trust, experience_weight, quality):
    """§7.11: a purchase moves trust toward the product's quality."""
    return trust + experience_weight * (quality - trust)


@scalar
def overnight(value, kept):
    """§7.13: fatigue recovers and awareness fades overnight: the share `kept` of it is left."""
    return value * kept


@scalar
def urge_after_the_day(trust_before, trust_after, bought, urge):
    """§7.13: a user who bought today, or whose trust turned negative today (it was not before), has a
    fresh urge to talk (1)."""
    return 1.0 if bought | ((trust_after < 0) & (trust_before >= 0)) else urge


@scalar
def toward_baseline(value, baseline, kept):
    """§7.13: trust fades overnight toward the brand's baseline (its initial_trust): the share `kept` of the gap is left."""
    return baseline + (value - baseline) * kept


# --------------------------------------------------------------------------- §7.3a platform membership

@scalar
def joining_hazard(join_p, join_q, members_around):
    """§7.3a: the network Bass hazard of joining a platform, 1 - (1 - p)(1 - q x share of neighbours who are members)."""
    return 1.0 - (1.0 - join_p) * (1.0 - join_q * members_around)


@scalar
def member_tomorrow(member, draw, hazard, lapse):
    """§7.3a: one uniform draw: a member stays unless it is below the lapse rate, a non-member joins if below the hazard."""
    return draw >= lapse if member else draw < hazard
