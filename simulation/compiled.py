"""The day's phases on the compiled kernels: what `AttentionModel` runs when its engine is "compiled".

Each method mirrors the numpy method of the same name in `simulation.model`
and leaves the model in the same state (the same arrays, the same brand and
sink figures); the per-user arithmetic is in `simulation.kernels`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import numpy as np

from simulation import adoption, kernels
from simulation.attention import AWARENESS_FLOOR

if TYPE_CHECKING:
    from simulation.model import AttentionModel


@contextmanager
def _threads_for(users: int) -> Iterator[None]:
    """No more threads than chunks of users: a population of one chunk runs on the calling thread alone
    (a parallel region waits for its slowest thread, which on a busy machine may wait for a core)."""
    current = kernels.threads()
    wanted = min(current, kernels.chunks(users))
    if wanted == current:
        yield
        return
    kernels.set_threads(wanted)
    try:
        yield
    finally:
        kernels.set_threads(current)


def _aligned_zeros(shape: tuple[int, int], dtype: type, alignment: int = 64) -> np.ndarray:
    """Zeros whose first byte starts a cache line (of `alignment` bytes).

    numpy only promises 16 bytes. Rows of 32 bytes that start 16 bytes into a
    line straddle two lines every other row, and the neighbour walk, which
    reads rows at random, then fetches half as many lines again (55 instead of
    39 ms on a million users).
    """
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.zeros(size + alignment, dtype=np.uint8)
    start = -raw.ctypes.data % alignment
    return raw[start:start + size].view(dtype).reshape(shape)


class CompiledDay:
    """Scratch buffers and the calls to the kernels, for one model."""

    def __init__(self, model: "AttentionModel") -> None:
        if not kernels.AVAILABLE:
            raise RuntimeError("the compiled engine needs numba")
        self.run_key = int(model.rng.integers(2**63))  # every random number of the run derives from it
        network = model.network
        n, brands = model.population.n, len(model.brands)
        self.complete = network.complete
        empty = np.zeros(1, dtype=np.int32)
        self.indptr = empty if network.complete else network.indptr
        self.indices = empty if network.complete else network.indices
        self.degree = network.degree
        effects = np.array([s.network_effect for s in model.all_sinks])
        self.social_columns = np.flatnonzero(effects > 0).astype(np.int64)
        self.social_of_column = np.full(len(model.all_sinks), -1, dtype=np.int64)
        self.social_of_column[self.social_columns] = np.arange(self.social_columns.size)
        # what neighbours hear from each user (written by allocate and deliver): 4 figures per brand, then
        # slots on each social sink
        width = 4 * brands + self.social_columns.size
        self.voices = _aligned_zeros((n, -(-width // 8) * 8), np.uint16)  # rows of 16-byte multiples
        self.heard_social = np.zeros((self.social_columns.size, n), dtype=np.float32)  # nobody has spent time yet
        self.external = np.zeros((brands, n), dtype=np.float32)
        self.impressions = np.zeros((brands, n), dtype=np.float32)

    def key(self, day: int, stream: int) -> np.uint64:
        return np.uint64(kernels.stream_key(np.uint64(self.run_key), day, stream))

    def allocate_attention(self, model: "AttentionModel") -> None:
        with _threads_for(model.population.n):
            self._allocate_attention(model)

    def _allocate_attention(self, model: "AttentionModel") -> None:
        pop, cfg = model.population, model.config
        pull = np.array([s.pull if s.active else -np.inf for s in model.all_sinks], dtype=np.float64)
        for brand in model.brands:
            pull[brand.destination.column] += brand.content_boost
        social = np.array([s.network_effect if s.active else 0.0 for s in model.all_sinks], dtype=np.float64)
        # heard_social was gathered with yesterday's word of mouth. Slots have not changed since but for a
        # platform closed this morning, whose column is then inactive (social 0): what was heard there is ignored.
        minutes, visitors = kernels.allocate(
            pop.slots, pop.taste, model.kind_of_sink, pull, float(cfg.population.habit), social, self.heard_social,
            self.social_of_column, model.destination_columns, pop.trust, pop.awareness,
            float(cfg.relational.trust_pull), float(AWARENESS_FLOOR), self.key(model.day, kernels.STREAM_SLOTS),
            1.0 / model.slots_per_day, pop.budget, self.voices)
        self.minutes_per_sink = minutes.sum(axis=0)
        self.visitors_per_sink = visitors.sum(axis=0)

    def _answer_rule(self, model: "AttentionModel") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per brand: answer every visitor, or those whose random key is at most the k-th smallest."""
        brands = len(model.brands)
        answer_all = np.zeros(brands, dtype=np.bool_)
        below = np.zeros(brands, dtype=np.uint64)
        keys = np.array([self.key(model.day, kernels.STREAM_ANSWERS + b) for b in range(brands)], dtype=np.uint64)
        for brand in model.brands:
            b = brand.index
            visitors = int(self.visitors_per_sink[brand.destination.column])
            k = min(visitors, int(brand.answer_capacity))
            if k == visitors:
                answer_all[b] = True
            elif k > 0:
                candidates = kernels.visitor_keys(model.population.slots[brand.destination.column], keys[b])
                below[b] = np.partition(candidates, k - 1)[k - 1]
        return answer_all, below, keys

    def deliver_exposures(self, model: "AttentionModel") -> None:
        with _threads_for(model.population.n):
            self._deliver_exposures(model)

    def _deliver_exposures(self, model: "AttentionModel") -> None:
        pop, adv, market = model.population, model.config.advertising, model.config.market
        ad_load = np.array([s.ad_load if s.active else 0.0 for s in model.all_sinks], dtype=np.float64)
        inventory = self.minutes_per_sink * ad_load
        wanted = np.array([b.impressions_wanted for b in model.brands])
        rates = adoption.impression_rates(inventory, wanted, model.ad_mask).astype(np.float64)
        novelty = np.array([b.novelty for b in model.brands], dtype=np.float64)
        answer_all, below, answer_keys = self._answer_rule(model)
        sums = kernels.deliver(
            pop.slots, pop.budget, 1.0 / model.slots_per_day, ad_load, rates, model.destination_columns, novelty,
            pop.savviness, pop.fatigue, pop.awareness, pop.trust, pop.reached, pop.fan, self.impressions,
            self.external, float(adv.ad_effect), float(adv.click_rate), float(market.engagement_minutes),
            answer_all, below, answer_keys, float(model.config.relational.answer_trust_gain),
            float(adv.fatigue_per_impression), adv.savviness_growth / 1000.0, market.exposure == "full",
            self.key(model.day, kernels.STREAM_IMPRESSIONS), pop.adopted, pop.seeded,
            float(model.config.relational.paid_voice), self.voices).sum(axis=0)
        model.impressions = self.impressions  # today's; the same buffer is overwritten tomorrow
        model.record_exposures(
            delivered=sums[:, 0], reached=sums[:, 1],
            visitors=self.visitors_per_sink[model.destination_columns], answers=sums[:, 2], engaged=sums[:, 3],
            first_impressions=sums[:, 4], first_clicks=sums[:, 5], clicks=sums[:, 6],
            per_sink=self.minutes_per_sink, sink_visitors=self.visitors_per_sink)

    def spread_word_of_mouth(self, model: "AttentionModel") -> None:
        with _threads_for(model.population.n):
            self._spread_word_of_mouth(model)

    def _spread_word_of_mouth(self, model: "AttentionModel") -> None:
        """Word of mouth, then (for each block of users, in the same pass) purchases and the users' part of learning."""
        pop, cfg = model.population, model.config
        wom, market = cfg.word_of_mouth, cfg.market
        totals = kernels.column_totals(self.voices) if self.complete else np.zeros(1)
        quality = np.array([b.quality for b in model.brands], dtype=np.float64)
        self.sales = kernels.word_of_mouth(
            self.voices, self.indptr, self.indices, self.degree, self.complete, totals, pop.awareness, pop.trust,
            float(wom.awareness_spread), float(wom.trust_influence), float(wom.negativity_bias), self.heard_social,
            pop.adopted, pop.adoption_day, pop.purchases, pop.fatigue, self.external, float(market.p),
            float(market.q), float(market.repurchase_rate), float(market.experience_weight), quality, model.day,
            self.key(model.day, kernels.STREAM_PURCHASES), 1.0 - cfg.advertising.fatigue_recovery,
            1.0 - market.awareness_forgetting).sum(axis=0)

    def make_purchases(self, model: "AttentionModel") -> None:
        """The purchases were made with word of mouth: record them."""
        model.record_purchases(new=self.sales[:, 0], sales=self.sales[:, 1])
