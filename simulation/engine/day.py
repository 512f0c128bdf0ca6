"""`EngineDay`: the users' part of a day, on the kernels, for one `AttentionModel`.

Each method is one phase of the model's `step()`; it calls a kernel and writes the day's
figures into the brands' and sinks' books (`AttentionModel.record_exposures`, `record_purchases`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.engine.inventory import impression_rates
from simulation.engine import kernels, streams, threads
from simulation.engine.parameters import day_parameters, effect_per_slot

if TYPE_CHECKING:
    from simulation.model import AttentionModel


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


class EngineDay:
    """Scratch buffers, the scenario's parameters and the calls to the kernels, for one model."""

    def __init__(self, model: "AttentionModel") -> None:
        self.run_key = int(model.rng.integers(2**63))  # every random number of the run derives from it
        self.params = day_parameters(model.config)
        network = model.network
        n, brands = model.population.n, len(model.brands)
        empty = np.zeros(1, dtype=np.int32)
        self.graph = kernels.Graph(indptr=empty if network.complete else network.indptr,
                                   indices=empty if network.complete else network.indices,
                                   degree=network.degree, complete=network.complete)
        effects = np.array([s.network_effect for s in model.all_sinks])
        self.social_columns = np.flatnonzero(effects > 0).astype(np.int64)
        self.social_of_column = np.full(len(model.all_sinks), -1, dtype=np.int64)
        self.social_of_column[self.social_columns] = np.arange(self.social_columns.size)
        self.member_columns = model.member_columns
        self.member_of_column = np.full(len(model.all_sinks), -1, dtype=np.int64)
        self.member_of_column[self.member_columns] = np.arange(self.member_columns.size)
        self.baseline = np.array([b.initial_trust for b in model.config.brands], dtype=np.float64)
        # what neighbours hear from each user (written by allocate and deliver): 4 figures per brand, then
        # slots on each social sink, then membership of each sink with members
        width = 4 * brands + self.social_columns.size + self.member_columns.size
        self.voices = _aligned_zeros((n, -(-width // 8) * 8), np.uint16)  # rows of 16-byte multiples
        self.heard_social = np.zeros((self.social_columns.size, n), dtype=np.float32)  # nobody has spent time yet
        self.external = np.zeros((brands, n), dtype=np.float32)
        self.impressions = np.zeros((brands, n), dtype=np.float32)
        self.feed = np.ones(n, dtype=np.float32)  # each user's share of today's feed (§7.9), written by deliver
        self.feed_columns = np.array([s.column for s in model.all_sinks if s.kind == "social"], dtype=np.int64)
        self.threads = threads.Chooser(n)

    def key(self, day: int, stream: int) -> np.uint64:
        return np.uint64(streams.stream_key(np.uint64(self.run_key), day, stream))

    def users(self, model: "AttentionModel") -> kernels.Users:
        pop = model.population
        return kernels.Users(slots=pop.slots, budget=pop.budget, taste=pop.taste, savviness=pop.savviness,
                             awareness=pop.awareness, trust=pop.trust, fatigue=pop.fatigue, adopted=pop.adopted,
                             adoption_day=pop.adoption_day, purchases=pop.purchases, reached=pop.reached,
                             fan=pop.fan, seeded=pop.seeded, urge=pop.urge, last_touch=pop.last_touch,
                             member=pop.member)

    def allocate_attention(self, model: "AttentionModel") -> None:
        """§7.3–7.4: today's slots."""
        pull = np.array([s.pull if s.active else -np.inf for s in model.all_sinks], dtype=np.float64)
        for brand in model.brands:
            pull[brand.destination.column] += brand.content_boost
        effect = effect_per_slot(np.array([s.network_effect if s.active else 0.0 for s in model.all_sinks],
                                          dtype=np.float64), self.params)
        # heard_social was gathered with yesterday's word of mouth. Slots have not changed since but for a
        # platform closed this morning, whose column is then inactive (effect 0): what was heard there is ignored.
        with self.threads.phase(0):
            minutes, visitors = kernels.allocate(
                self.users(model), self.params, model.kind_of_sink, pull, effect, self.heard_social,
                self.social_of_column, self.member_of_column, model.destination_columns, self.key(model.day, streams.STREAM_SLOTS),
                self.key(model.day, streams.STREAM_CONSIDER), self.voices)
        self.minutes_per_sink = minutes.sum(axis=0)
        self.visitors_per_sink = visitors.sum(axis=0)

    def _answer_rule(self, model: "AttentionModel") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """§7.7, per brand: answer every visitor, nobody, or those whose random key is at most the k-th smallest.

        Returns per brand: 1 (answer all), 0 (nobody) or -1 (by key); the k-th smallest key; the keys' stream.
        """
        brands = len(model.brands)
        answer_mode = np.zeros(brands, dtype=np.int8)
        below = np.zeros(brands, dtype=np.uint64)
        keys = np.array([self.key(model.day, streams.STREAM_ANSWERS + b) for b in range(brands)], dtype=np.uint64)
        for brand in model.brands:
            b = brand.index
            visitors = int(self.visitors_per_sink[brand.destination.column])
            k = min(visitors, int(brand.answer_capacity))
            if k == visitors:
                answer_mode[b] = 1
            elif k > 0:
                answer_mode[b] = -1
                candidates = kernels.visitor_keys(model.population.slots[brand.destination.column], keys[b])
                below[b] = np.partition(candidates, k - 1)[k - 1]
        return answer_mode, below, keys

    def deliver_exposures(self, model: "AttentionModel") -> None:
        """§7.5–7.8: impressions, visits and answers, and what they do."""
        ad_load = np.array([s.ad_load if s.active else 0.0 for s in model.all_sinks], dtype=np.float64)
        inventory = self.minutes_per_sink * ad_load
        wanted = np.array([b.impressions_wanted for b in model.brands])
        rates = impression_rates(inventory, wanted, model.ad_mask).astype(np.float64)
        novelty = np.array([b.novelty for b in model.brands], dtype=np.float64)
        caps = np.array([-1.0 if b.frequency_cap is None else b.frequency_cap for b in model.brands], dtype=np.float64)
        with self.threads.phase(1):
            answer_mode, below, answer_keys = self._answer_rule(model)
            sums = kernels.deliver(
                self.users(model), self.params, ad_load, rates, model.destination_columns, self.feed_columns, novelty,
                caps, answer_mode, below, answer_keys, model.day, self.key(model.day, streams.STREAM_IMPRESSIONS),
                self.impressions, self.external, self.feed, self.voices).sum(axis=0)
        model.impressions = self.impressions  # today's; the same buffer is overwritten tomorrow
        model.record_exposures(
            delivered=sums[:, 0], reached=sums[:, 1],
            visitors=self.visitors_per_sink[model.destination_columns], answers=sums[:, 2], engaged=sums[:, 3],
            first_impressions=sums[:, 4], first_clicks=sums[:, 5], clicks=sums[:, 6],
            per_sink=self.minutes_per_sink, sink_visitors=self.visitors_per_sink)

    def word_of_mouth_and_purchases(self, model: "AttentionModel") -> None:
        """§7.9–7.13: word of mouth, purchases and the users' part of learning, in one pass over users."""
        quality = np.array([b.quality for b in model.brands], dtype=np.float64)
        joining = np.zeros((max(self.member_columns.size, 1), 3))
        for m, column in enumerate(self.member_columns):
            sink = model.all_sinks[column]
            if sink.active:  # nobody joins or leaves a platform before it opens
                joining[m] = sink.join_p, sink.join_q, sink.lapse
        with self.threads.phase(2):
            totals = kernels.column_totals(self.voices) if self.graph.complete else np.zeros(1)
            sales, members = kernels.word_of_mouth(
                self.users(model), self.params, self.graph, self.voices, totals, self.heard_social, self.external,
                self.feed, quality, self.baseline, joining, model.day, self.key(model.day, streams.STREAM_PURCHASES),
                self.key(model.day, streams.STREAM_MEMBERSHIP))
        sales, members = sales.sum(axis=0), members.sum(axis=0)
        model.record_purchases(new=sales[:, 0], sales=sales[:, 1], last_touch_sales=sales[:, 2], referrals=sales[:, 3])
        model.record_memberships(joins=members[:, 0], lapses=members[:, 1])
