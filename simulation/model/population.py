"""Users: state in numpy arrays (structure of arrays), Mesa agents as thin views.

Everything the daily step touches is a column or a matrix here, so the step
has no Python loop over users. `User` agents are read-only views of these arrays; they
exist for `model.agents` and agent reporters.
"""

from __future__ import annotations

import mesa
import numpy as np

from simulation.engine.mechanisms import minutes_per_slot, python_of
from simulation.scenario import AdvertisingConfig, BrandConfig, PopulationConfig


#: `last_touch` of a user a brand never reached: far enough in the past for any attribution window.
NEVER_TOUCHED = -1_000_000


class Population:
    """All users' state: vectors over users, and sinks x users or brands x users matrices."""

    def __init__(self, *, users: int, config: PopulationConfig, advertising: AdvertisingConfig,
                 brands: list[BrandConfig], sinks: int, kinds: int, members: list[float],
                 rng: np.random.Generator, outside_option: bool = False) -> None:
        """`members`: for each sink with members (§7.3a), the share of users who are members on day 0.
        The last kind is 'offline': its taste is drawn only with an `outside_option` (0 otherwise)."""
        n, b = users, len(brands)
        self.n = n
        self.budget = _daily_minutes(n, config.minutes_mean, config.minutes_sd, rng)
        self.taste = np.zeros((kinds, n), dtype=np.float32)
        self.taste[:kinds - 1] = rng.normal(0.0, config.taste_sd, size=(kinds - 1, n))
        if outside_option:
            self.taste[kinds - 1] = rng.normal(0.0, config.taste_sd, size=n)
        self.slots = np.zeros((sinks, n), dtype=np.uint8)  # today's split; yesterday's at the start of a day
        self.savviness = np.full(n, advertising.savviness_initial, dtype=np.float32)
        self.awareness = _per_brand([c.initial_awareness for c in brands], n)
        self.trust = _per_brand([c.initial_trust for c in brands], n)
        self.fatigue = np.zeros((b, n), dtype=np.float32)
        self.adopted = np.zeros((b, n), dtype=bool)
        self.adoption_day = np.full((b, n), -1, dtype=np.int32)
        self.purchases = np.zeros((b, n), dtype=np.int32)
        self.reached = np.zeros((b, n), dtype=bool)  # ever saw one of the brand's impressions
        self.fan = np.zeros((b, n), dtype=bool)  # ever spent time at the brand's destination
        self.seeded = np.zeros((b, n), dtype=bool)  # paid by the brand to recommend it today (influencers)
        # the urge to talk of a fresh experience: fresh (1) for whoever starts with a negative opinion
        self.urge = (self.trust < 0).astype(np.float32)
        self.last_touch = np.full((b, n), NEVER_TOUCHED, dtype=np.int32)  # day of the last impression or visit
        self.member = np.zeros((len(members), n), dtype=bool)  # sinks with members x users
        for row, share in zip(self.member, members):
            row[:] = draw_members(share, n, rng)

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


def draw_members(share: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Who is a member of a platform when it opens: each user with probability `share` (no draw at 0 or 1)."""
    if share <= 0 or share >= 1:
        return np.full(n, share >= 1)
    return rng.random(n) < share


def _per_brand(values: list[float], n: int) -> np.ndarray:
    return np.repeat(np.array(values, dtype=np.float32)[:, None], n, axis=1)


def _daily_minutes(n: int, mean: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    """Gamma-distributed minutes online per day, at least one minute, at most a whole day."""
    if sd == 0:
        minutes = np.full(n, mean)
    else:
        shape = (mean / sd) ** 2
        minutes = rng.gamma(shape, mean / shape, size=n)
    return np.clip(minutes, 1.0, 1440.0).astype(np.float32)


class User(mesa.Agent):
    """One user, as a view over row `index` of the population arrays."""

    __slots__ = ("index",)

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def _pop(self) -> Population:
        return self.model.population

    @property
    def minutes_per_day(self) -> float:
        return float(self._pop.budget[self.index])

    @property
    def savviness(self) -> float:
        return float(self._pop.savviness[self.index])

    @property
    def degree(self) -> int:
        return int(self.model.network.degree[self.index])

    @property
    def time_split(self) -> dict[str, float]:
        """Minutes spent today on each sink that got any."""
        pop = self._pop
        minutes = pop.slots[:, self.index] * python_of(minutes_per_slot)(float(pop.budget[self.index]),
                                                                         self.model.engine.params.per_slot_share)
        return {sink.name: float(minutes[sink.column]) for sink in self.model.all_sinks if minutes[sink.column] > 0}

    @property
    def favourite_sink(self) -> str:
        """Where most of today's time went."""
        return self.model.all_sinks[int(np.argmax(self._pop.slots[:, self.index]))].name

    def awareness(self, brand: str) -> float:
        return float(self._pop.awareness[self.model.brand_index(brand), self.index])

    def trust(self, brand: str) -> float:
        return float(self._pop.trust[self.model.brand_index(brand), self.index])

    def adopted(self, brand: str) -> bool:
        return bool(self._pop.adopted[self.model.brand_index(brand), self.index])

    def purchases(self, brand: str) -> int:
        return int(self._pop.purchases[self.model.brand_index(brand), self.index])

    def __repr__(self) -> str:
        return f"User({self.index})"
