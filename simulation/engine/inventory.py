"""§7.5: how the impressions brands buy are spread over the ad inventory of the sinks (sinks x brands)."""

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
