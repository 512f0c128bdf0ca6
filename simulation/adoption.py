"""Exposure, word of mouth, adoption and purchases: pure functions on arrays.

Adoption generalises the Bass model on a network: a user who has not bought
adopts a brand with the daily hazard 1 - (1 - p_eff)(1 - q_eff), where p_eff is
the external pull received through the attention the user actually gave
(impressions seen, time at the brand's destination) and q_eff the pull of
neighbours who adopted and trust the brand.
"""

from __future__ import annotations

import numpy as np


def impression_rates(inventory: np.ndarray, wanted: np.ndarray, ad_mask: np.ndarray) -> np.ndarray:
    """Impressions per unit of ad inventory, sinks x brands.

    Each brand spreads the impressions it wants over its ad sinks in proportion
    to their inventory; where demand exceeds a sink's inventory every brand on it
    is scaled down alike. Nothing is delivered where nobody spends time.
    """
    sinks, brands = ad_mask.shape
    demand = np.zeros((sinks, brands))
    for b in range(brands):
        reachable = inventory * ad_mask[:, b]
        total = reachable.sum()
        if total > 0 and wanted[b] > 0:
            demand[:, b] = wanted[b] * reachable / total
    asked = demand.sum(axis=1)
    scale = np.ones(sinks)
    np.divide(inventory, asked, out=scale, where=asked > inventory)
    rates = np.zeros((sinks, brands))
    np.divide(demand * scale[:, None], inventory[:, None], out=rates, where=inventory[:, None] > 0)
    return rates.astype(np.float32)


def impression_response(impressions: np.ndarray, savviness: np.ndarray, fatigue: np.ndarray,
                        ad_effect: float) -> np.ndarray:
    """Combined effect of today's impressions, in [0, 1]: 1 - (1 - e)^k with e worn out by savviness and fatigue."""
    per_impression = ad_effect * (1.0 - savviness) * np.exp(-fatigue)
    return 1.0 - np.power(1.0 - per_impression, impressions, dtype=np.float32)


def click_probability(savviness: np.ndarray, fatigue: np.ndarray, click_rate: float) -> np.ndarray:
    """Chance that one of today's impressions is clicked, worn out like its effect (brands x users)."""
    return np.float32(click_rate) * (1.0 - savviness) * np.exp(-fatigue)


def engagement_response(minutes: np.ndarray, engagement_minutes: float) -> np.ndarray:
    """Effect of time at a brand's destination, in [0, 1)."""
    return 1.0 - np.exp(-minutes / np.float32(engagement_minutes))


def adoption_hazard(p_eff: np.ndarray, q_eff: np.ndarray) -> np.ndarray:
    """Daily probability of a first purchase: 1 - (1 - p_eff)(1 - q_eff)."""
    return 1.0 - (1.0 - p_eff) * (1.0 - q_eff)


def repurchase_probability(trust: np.ndarray, rate: float) -> np.ndarray:
    """Daily probability that a customer buys again: rate at trust 1, half at 0, none at -1."""
    return rate * (1.0 + trust) * 0.5


def voiced_opinion(trust: np.ndarray, speaking: np.ndarray, negativity_bias: float) -> np.ndarray:
    """What a user says about each brand to neighbours: trust, negative opinions weighted up."""
    voice = np.where(trust < 0, trust * np.float32(negativity_bias), trust)
    return voice * speaking
