"""Throughput and memory of the Attention Market model, against a naive Mesa reference.

Run from the repository root::

    python benchmarks/throughput.py [--sizes 10000,...,1000000] [--days N] [--quick] [--json PATH] [--figure PATH]

For each size N the full model (`simulation.model.AttentionModel`: numba kernels, on as many
threads as pay) is built twice in one process:

* a timing pass, untraced: the build is timed, a few warm-up days run, then K
  days (`model.step()`) are timed; throughput is N x K / seconds;
* a memory pass under `tracemalloc` (numpy reports its buffers to it): the peak
  while building, the memory still held once built (the steady state) and the
  peak during the same K days (peak reset before stepping), each divided by N;
  beside it the process's resident-set high-water mark (VmHWM, reset before
  building), which also counts what tracemalloc cannot see (numba's own
  allocations, the allocator's slack).

The exponent of a least-squares fit of log(step time) on log(N) tells how the
cost grows with the population (the graph's edges grow with N: m = 3).

The naive reference is one `mesa.Agent` per user with a pure-Python `step()`
calling the engine's own rules (`simulation.engine.mechanisms`, see `NaiveUser.step`),
activated by `model.agents.shuffle_do("step")`. It is timed at one small size only.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `simulation` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mesa
import networkx as nx
import numba
import numpy as np

from simulation.scenario import SINK_KINDS, Scenario
from simulation.engine import mechanisms
from simulation.engine.threads import threads
from simulation.engine.warm import warm_up
from simulation.engine.inventory import impression_rates
from simulation.engine.parameters import day_parameters, effect_per_slot
from simulation.model import AGENT_VIEW_LIMIT, AttentionModel

# The engine's rules, as plain Python functions, for the naive reference.
(minutes_per_slot, sink_utility, reinforcement, comes_to_mind, destination_pull, logit_weight, slots_up_to,
 campaign_effect, ad_wear, unmoved_by_ads, ad_response, unengaged, external_pull, persuaded, bass_external,
 awareness_after_exposure, trust_after_answer, fatigue_after_impressions, savviness_after_ads, feed_share, voices,
 neighbours_mean, awareness_after_listening, trust_after_listening, funnel, adoption_hazard, buys,
 repurchase_probability, trust_after_purchase, overnight, urge_after_the_day, toward_baseline) = (
    mechanisms.python_of(getattr(mechanisms, name)) for name in (
        "minutes_per_slot", "sink_utility", "reinforcement", "comes_to_mind", "destination_pull", "logit_weight",
        "slots_up_to", "campaign_effect", "ad_wear", "unmoved_by_ads", "ad_response", "unengaged", "external_pull",
        "persuaded", "bass_external", "awareness_after_exposure", "trust_after_answer", "fatigue_after_impressions",
        "savviness_after_ads", "feed_share", "voices", "neighbours_mean", "awareness_after_listening",
        "trust_after_listening", "funnel", "adoption_hazard", "buys", "repurchase_probability",
        "trust_after_purchase", "overnight", "urge_after_the_day", "toward_baseline"))

TARGET_SIZE = 1_000_000  # every target is checked at this many users
TARGET_THROUGHPUT = 8_000_000  # user-steps per second, on a quiet machine (issue: one engine)
TARGET_RATIO = 150.0  # times the naive reference
TARGET_BYTES = 400  # bytes per user at peak
EXPONENT_RANGE = (0.9, 1.1)  # of the log-log fit of step time on N: linear cost
SEED = 12345
DEFAULT_SIZES = "10000,30000,100000,300000,1000000"

# (name, kind, appeal, ad_load, network_effect): one sink of every kind.
SINK_TABLE: tuple[tuple[str, str, float, float, float], ...] = (
    ("Chatter", "social", 1.0, 1.0, 2.0),
    ("Mailbox", "email", 0.5, 0.0, 0.0),
    ("Arcade", "game", 0.0, 0.5, 0.0),
    ("Newsroom", "media", 0.2, 1.5, 0.0),
    ("Showtime", "entertainment", 0.5, 0.3, 0.0),
    ("Gateway", "portal", 0.0, 1.0, 0.0),
    ("Finder", "search", 0.3, 0.5, 0.0),
    ("Pager", "messaging", 0.8, 0.0, 1.5),
    ("Tube", "video", 1.0, 1.0, 0.5),
    ("Toolbox", "software", -0.5, 0.0, 0.0),
    ("Bazaar", "shopping", -0.2, 2.0, 0.0),
    ("Elsewhere", "other", -0.5, 0.0, 0.0),
)


# --------------------------------------------------------------------------- scenario

def build_scenario(users: int, days: int, launch_day: int, crisis_day: int) -> Scenario:
    """12 sinks, a billboard and a relational brand with equal budgets, BA graph m=3, a launch and a crisis.

    Budgets and the content scale grow with N (0.02 and 0.05 per user per day)
    so that every size sees the same pressure per user.
    """
    sinks = [{"name": n, "kind": k, "appeal": a, "ad_load": ad, "network_effect": ne}
             for n, k, a, ad, ne in SINK_TABLE]
    budget = 0.02 * users
    common = {"budget_per_day": budget, "content_scale": 0.05 * users}
    return Scenario.model_validate({
        "name": "throughput benchmark",
        "days": days,
        "seed": SEED,
        "population": {"users": users},  # agent_views stays null: the model's default
        "network": {"kind": "barabasi_albert", "m": 3},
        "sinks": sinks,
        "brands": [
            {"name": "Billboard Co", "strategy": "billboard", **common},
            {"name": "Kin & Co", "strategy": "relational", **common},
        ],
        "events": [
            {"type": "platform_launch", "day": launch_day,
             "sink": {"name": "Sparkle", "kind": "social", "appeal": 0.0, "ad_load": 0.5,
                      "network_effect": 1.0, "novelty": 2.0}},
            {"type": "crisis", "day": crisis_day, "brand": "Billboard Co", "share": 0.2, "trust_loss": 0.8},
        ],
    })


def scenario_for(users: int, warmup: int, steps: int) -> Scenario:
    """The benchmark scenario: the launch during warm-up, the crisis on the first timed day."""
    return build_scenario(users, days=warmup + steps, launch_day=min(2, warmup + 1), crisis_day=warmup + 1)


# --------------------------------------------------------------------------- the full model

@dataclass
class SizeResult:
    """Figures for one population size."""

    users: int
    threads: str  # the thread count each phase (attention / exposure / word of mouth) last ran on
    agent_views: bool
    columns: int
    warmup: int
    steps: int
    build_seconds: float
    step_seconds: float
    user_steps_per_second: float
    steady_bytes_per_user: float
    step_peak_bytes_per_user: float
    build_peak_bytes_per_user: float
    rss_peak_bytes_per_user: float | None = None
    ratio_to_naive: float | None = None
    step_seconds_each: list[float] = field(default_factory=list)


def time_full_model(config: Scenario, warmup: int, steps: int) -> tuple[float, list[float], AttentionModel]:
    """Untraced: build seconds, seconds of each timed step, and the model."""
    gc.collect()
    start = time.perf_counter()
    model = AttentionModel(config, SEED)
    build = time.perf_counter() - start
    for _ in range(warmup):
        model.step()
    gc.collect()
    each = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.step()
        each.append(time.perf_counter() - t0)
    return build, each, model


def _status_bytes(field: str) -> int | None:
    """A memory figure of this process from /proc/self/status (Linux), in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_rss_peak() -> bool:
    """Reset the resident-set high-water mark (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def trace_full_model(config: Scenario, warmup: int, steps: int) -> tuple[int, int, int, int | None]:
    """Under tracemalloc: (build peak, held after build, peak during the timed steps, RSS high-water), in bytes.

    The RSS figure is the high-water mark of the whole process since just before building, minus the
    resident set then: None where Linux's /proc does not tell it.
    """
    gc.collect()
    rss_base = _status_bytes("VmRSS")
    rss_ok = rss_base is not None and _reset_rss_peak()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        model = AttentionModel(config, SEED)
        gc.collect()
        held, build_peak = tracemalloc.get_traced_memory()
        for _ in range(warmup):
            model.step()
        gc.collect()
        tracemalloc.reset_peak()
        for _ in range(steps):
            model.step()
        step_peak = tracemalloc.get_traced_memory()[1]
        rss_peak = _status_bytes("VmHWM") if rss_ok else None
        del model
    finally:
        tracemalloc.stop()
    # The step peak counts what the model already holds: the whole footprint while stepping, not an increment.
    rss = rss_peak - rss_base if rss_peak is not None else None
    return build_peak - base, held - base, step_peak - base, rss


def bench_size(users: int, warmup: int, steps: int) -> SizeResult:
    """Time and trace the full model at one size."""
    config = scenario_for(users, warmup, steps)
    build, each, model = time_full_model(config, warmup, steps)
    views = bool(model.users)
    columns = len(model.all_sinks)
    used = "/".join(str(t) for t in model.engine.threads.summary()["last"].values())
    del model
    build_peak, held, step_peak, rss = trace_full_model(config, warmup, steps)
    total = sum(each)
    return SizeResult(users=users, threads=used, agent_views=views, columns=columns, warmup=warmup, steps=steps,
                      build_seconds=build, step_seconds=total, user_steps_per_second=users * steps / total,
                      steady_bytes_per_user=held / users, step_peak_bytes_per_user=step_peak / users,
                      build_peak_bytes_per_user=build_peak / users,
                      rss_peak_bytes_per_user=rss / users if rss is not None else None, step_seconds_each=each)


def scaling_exponent(rows: list[SizeResult]) -> float | None:
    """Slope of the least-squares line of log(median step seconds) on log(N): 1.0 is linear cost."""
    if len({r.users for r in rows}) < 2:
        return None
    x = np.log([r.users for r in rows])
    y = np.log([statistics.median(r.step_seconds_each) for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def plot_scaling(rows: list[SizeResult], ax):
    """Median step time against N on log-log axes, with the fitted power law and a linear guide."""
    n = np.array([r.users for r in rows], dtype=float)
    t = np.array([statistics.median(r.step_seconds_each) for r in rows])
    slope, intercept = np.polyfit(np.log(n), np.log(t), 1)
    ax.loglog(n, t * 1e3, "o", color="C0", label="median step (measured)")
    ax.loglog(n, np.exp(intercept + slope * np.log(n)) * 1e3, "-", color="C0",
              label=f"fit: time ∝ N^{slope:.2f}")
    ax.loglog(n, t[-1] * (n / n[-1]) * 1e3, ":", color="0.5", label="linear (∝ N), through the largest N")
    ax.set_xlabel("users N (Barabási–Albert m = 3: edges ≈ 3N)")
    ax.set_ylabel("milliseconds per day (one step)")
    ax.set_title("Cost of a day against population")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


# --------------------------------------------------------------------------- the naive reference

class NaiveUser(mesa.Agent):
    """One user as a plain Mesa agent: all its state in Python attributes, its day in Python.

    Every per-user rule is the engine's own (`simulation.engine.mechanisms`, called
    in Python through `python_of`), so the two cannot drift apart: this class only
    says in which order and over which numbers, as the kernels do. The Poisson and
    uniform draws come from Mesa's generators instead of the engine's streams.
    What a one-pass agent loop cannot know yet today is taken from yesterday:
    neighbours are read through a double buffer (index `model.parity ^ 1`: their
    state at the end of yesterday), so the order `shuffle_do` picks does not
    matter, and market-wide totals (ad inventory, visitors per destination) are
    yesterday's, gathered by the model.
    """

    def __init__(self, model: "NaiveModel", kinds: int, brands: int) -> None:
        super().__init__(model)
        pc, adv = model.config.population, model.config.advertising
        rnd = model.random
        if pc.minutes_sd == 0:
            minutes = pc.minutes_mean
        else:
            shape = (pc.minutes_mean / pc.minutes_sd) ** 2
            minutes = rnd.gammavariate(shape, pc.minutes_mean / shape)
        self.budget = min(max(minutes, 1.0), 1440.0)
        self.taste = [rnd.gauss(0.0, pc.taste_sd) for _ in range(kinds)]
        columns = len(model.columns)
        self.slots = [[0] * columns, [0] * columns]  # [day parity][column]
        self.savviness = adv.savviness_initial
        self.awareness = [b.initial_awareness for b in model.config.brands]
        self.trust = [b.initial_trust for b in model.config.brands]
        self.fatigue = [0.0] * brands
        self.adopted = [False] * brands
        self.adoption_day = [-1] * brands
        self.purchases = [0] * brands
        self.reached = [False] * brands
        self.fan = [False] * brands
        self.urge = [1.0 if t < 0 else 0.0 for t in self.trust]
        zeros = [[0.0] * brands, [0.0] * brands]  # [parity][brand]: what neighbours hear
        self.advocacy, self.speaking, self.positive, self.negative = ([list(z) for z in zeros] for _ in range(4))
        self.neighbours: list[NaiveUser] = []

    def step(self) -> None:
        """Choose today's slots, see ads and visit destinations, listen, buy, forget."""
        m = self.model
        p = m.params
        today, yesterday = m.parity, m.parity ^ 1
        neighbours = self.neighbours
        degree = len(neighbours)
        before = self.slots[yesterday]
        columns = len(before)

        # §7.3 utilities, §7.4 the slots by systematic sampling
        utility = [0.0] * columns
        for j in range(columns):
            if not m.active[j]:
                utility[j] = -math.inf
                continue
            heard = 0.0
            if m.network_effect[j] > 0 and degree:
                heard = neighbours_mean(sum(nb.slots[yesterday][j] for nb in neighbours), degree)
            utility[j] = sink_utility(self.taste[m.kind_of[j]], m.pull[j],
                                      reinforcement(p.habit_per_slot, before[j], m.effect_per_slot[j], heard,
                                                    p.saturation_per_slot))
        for b, column in enumerate(m.destinations):
            considered = comes_to_mind(self.awareness[b], m.random.random())
            utility[column] += destination_pull(self.trust[b], self.awareness[b], p.trust_pull, p.awareness_floor,
                                                considered, p.choice_set)
        top = max(utility)
        cumulative = []
        total = 0.0
        for u in utility:
            total += logit_weight(u, top)
            cumulative.append(total)
        offset = m.random.random()
        counts = self.slots[today]
        previous = 0
        for j in range(columns):
            edge = int(slots_up_to(cumulative[j], total, p.slots_per_day, offset))
            counts[j] = edge - previous
            previous = edge

        # §7.5-7.8 exposures: impressions where the time goes, answers at destinations
        per_slot = minutes_per_slot(self.budget, p.per_slot_share)
        ads_seen = 0.0
        social_minutes = 0.0
        expected = [0.0] * m.n_brands
        for j in range(columns):
            if counts[j]:
                minutes = counts[j] * per_slot
                m.minutes_today[j] += minutes
                m.sink_visitors_today[j] += 1
                social_minutes += minutes if m.social[j] else 0.0
                weight = minutes * m.ad_load[j]
                if weight:
                    ads_seen += weight
                    m.inventory_today[j] += weight
                    for b in range(m.n_brands):
                        expected[b] += m.rates[j][b] * weight
        external = [0.0] * m.n_brands
        feed = feed_share(social_minutes, p.feed_minutes)  # §7.9: what the user posts and hears today
        for b, column in enumerate(m.destinations):
            shown = int(m.rng.poisson(expected[b])) if expected[b] > 0 else 0
            wear = ad_wear(self.savviness, self.fatigue[b])
            response = ad_response(unmoved_by_ads(shown, campaign_effect(p.ad_effect, m.campaign_novelty[b]), wear))
            stay = counts[column] * per_slot
            visiting = stay > 0
            if visiting:
                m.visitors_today[b] += 1
                if m.random.random() < m.answer_chance[b]:
                    self.trust[b] = trust_after_answer(self.trust[b], p.answer_gain)
                    self.urge[b] = 1.0
            unmoved = unengaged(stay, p.engagement_minutes)
            pull = external_pull(response, unmoved, visiting)
            external[b] = bass_external(persuaded(response, unmoved, visiting, p.banner_weight, p.site_weight),
                                        p.full_exposure)
            self.awareness[b] = awareness_after_exposure(self.awareness[b], pull)
            self.fatigue[b] = fatigue_after_impressions(self.fatigue[b], shown, p.fatigue_per_impression)
            self.reached[b] = self.reached[b] or shown > 0
            self.fan[b] = self.fan[b] or visiting
            m.impressions_today[b] += shown
            # what tomorrow's listeners will hear (§7.9, §7.16)
            said = voices(self.trust[b], self.adopted[b], self.fan[b], False, self.urge[b], p.paid_voice,
                          p.talk_threshold, feed)
            self.advocacy[today][b], self.speaking[today][b], self.positive[today][b], self.negative[today][b] = said
        self.savviness = savviness_after_ads(self.savviness, ads_seen, p.savviness_per_ad, p.savviness_initial,
                                             p.savviness_kept)

        # §7.9-7.13 word of mouth, then first and repeat purchases, then the night
        for b in range(m.n_brands):
            heard = [neighbours_mean(sum(getattr(nb, name)[yesterday][b] for nb in neighbours), degree)
                     for name in ("advocacy", "speaking", "positive", "negative")]
            advocacy, listening, positive, negative = (figure * feed for figure in heard)
            aware = awareness_after_listening(self.awareness[b], p.awareness_spread, listening)
            before = self.trust[b]
            trust = trust_after_listening(before, p.trust_influence, positive, negative, p.negativity_bias,
                                          listening)
            draw = m.random.random()
            bought = buys(draw, self.adopted[b], repurchase_probability(trust, p.repurchase_rate),
                          adoption_hazard(p.p * external[b] * funnel(aware, trust, p.funnel),
                                          p.q * advocacy))
            if bought and not self.adopted[b]:
                self.adopted[b] = True
                self.adoption_day[b] = m.day
                m.new_adopters_today[b] += 1
            if bought:
                self.purchases[b] += 1
                m.sales_today[b] += 1
                trust = trust_after_purchase(trust, p.experience_weight, m.quality[b])
            self.urge[b] = overnight(urge_after_the_day(before, trust, bought, self.urge[b]), p.urge_kept)
            self.trust[b] = toward_baseline(trust, m.baseline[b], p.trust_kept)
            self.fatigue[b] = overnight(self.fatigue[b], p.fatigue_kept)
            self.awareness[b] = overnight(aware, p.awareness_kept)


class NaiveModel(mesa.Model):
    """The same market with one Python agent per user: the textbook Mesa way."""

    def __init__(self, config: Scenario, seed: int) -> None:
        super().__init__(rng=seed)
        self.config = config
        self.day = 0
        self.parity = 0
        self.slots_per_day = config.population.slots_per_day
        self.params = day_parameters(config)
        launches = [e for e in config.events if e.type == "platform_launch"]
        sinks = list(config.sinks) + [e.sink for e in launches]
        self.launch_days = {len(config.sinks) + i: e.day for i, e in enumerate(launches)}
        self.crises = [e for e in config.events if e.type == "crisis"]
        self.brand_configs = list(config.brands)
        self.n_brands = len(self.brand_configs)
        self.columns = [s.name for s in sinks] + [f"{b.name} (site)" for b in self.brand_configs]
        self.destinations = list(range(len(sinks), len(self.columns)))
        self.kind_of = [SINK_KINDS.index(s.kind) for s in sinks] + [SINK_KINDS.index("brand")] * self.n_brands
        self.appeal = [s.appeal for s in sinks] + [b.destination.appeal for b in self.brand_configs]
        self.novelty = [s.novelty for s in sinks] + [0.0] * self.n_brands
        self.novelty_decay = [s.novelty_decay for s in sinks] + [0.0] * self.n_brands
        self.ad_load = [s.ad_load for s in sinks] + [0.0] * self.n_brands
        self.social = [s.kind == "social" for s in sinks] + [False] * self.n_brands
        self.network_effect = [s.network_effect for s in sinks] + [b.destination.network_effect for b in self.brand_configs]
        self.effect_per_slot = effect_per_slot(np.array(self.network_effect), self.params).tolist()
        self.active = [j not in self.launch_days for j in range(len(sinks))] + [True] * self.n_brands
        self.quality = [b.quality for b in self.brand_configs]
        self.baseline = [b.initial_trust for b in self.brand_configs]
        self.campaign_novelty = [1.0] * self.n_brands
        columns = len(self.columns)
        self.inventory_today = [0.0] * columns
        self.visitors_today = [0] * self.n_brands
        self.minutes_today = [0.0] * columns
        self.sink_visitors_today = [0] * columns
        self.impressions_today = [0] * self.n_brands
        self.new_adopters_today = [0] * self.n_brands
        self.sales_today = [0] * self.n_brands

        users = [NaiveUser(self, len(SINK_KINDS), self.n_brands) for _ in range(config.population.users)]
        graph = nx.barabasi_albert_graph(len(users), config.network.m, seed=int(self.rng.integers(2**32)))
        for u, v in graph.edges():
            users[u].neighbours.append(users[v])
            users[v].neighbours.append(users[u])

    def plan(self) -> None:
        """Events, the brands' split of their budgets, impression rates from yesterday's inventory."""
        for column, day in self.launch_days.items():
            if day == self.day:
                self.active[column] = True
        for crisis in self.crises:
            if crisis.day == self.day:
                b = next(i for i, c in enumerate(self.brand_configs) if c.name == crisis.brand)
                for user in self.agents:
                    if self.random.random() < crisis.share * user.awareness[b]:
                        user.trust[b] = max(user.trust[b] - crisis.trust_loss, -1.0)
                        user.urge[b] = 1.0
        self.pull = [a + n for a, n in zip(self.appeal, self.novelty)]
        wanted, capacity = [], []
        for b, brand in enumerate(self.brand_configs):
            share = brand.relational_fraction
            relational = brand.budget_per_day * share
            wanted.append(brand.budget_per_day * (1.0 - share) / brand.cpm * 1000.0)
            capacity.append(relational * brand.service_share / brand.cost_per_answer)
            content = relational * (1.0 - brand.service_share)
            self.pull[self.destinations[b]] += (self.campaign_novelty[b] * self.config.relational.content_pull
                                                * math.log1p(content / brand.content_scale))
        ad_mask = np.array([[self.ad_load[j] > 0 and j not in self.destinations] * self.n_brands
                            for j in range(len(self.columns))], dtype=bool)
        if self.day > 1:
            inventory = np.array(self.inventory_today)
        else:  # no yesterday yet: assume everyone's minutes spread evenly over the open sinks
            spread = self.config.population.users * self.config.population.minutes_mean / sum(self.active)
            inventory = np.array(self.ad_load) * spread * np.array(self.active)
        self.rates = impression_rates(inventory, np.array(wanted), ad_mask).tolist()
        self.answer_chance = [min(1.0, c / v) if v else 1.0 for c, v in zip(capacity, self.visitors_today)]
        for totals in (self.inventory_today, self.minutes_today, self.sink_visitors_today):
            totals[:] = [0] * len(totals)
        for totals in (self.visitors_today, self.impressions_today, self.new_adopters_today, self.sales_today):
            totals[:] = [0] * len(totals)

    def step(self) -> None:
        self.day += 1
        self.parity = self.day & 1
        self.plan()
        self.agents.shuffle_do("step")
        self.novelty = [n * (1.0 - d) if on else n for n, d, on in zip(self.novelty, self.novelty_decay, self.active)]
        decay = self.config.market.campaign_novelty_decay
        self.campaign_novelty = [n * (1.0 - decay) for n in self.campaign_novelty]


@dataclass
class NaiveResult:
    users: int
    steps: int
    build_seconds: float
    step_seconds: float
    user_steps_per_second: float


def bench_naive(users: int, warmup: int, steps: int) -> NaiveResult:
    """Time the naive reference on the same scenario."""
    config = scenario_for(users, warmup, steps)
    gc.collect()
    start = time.perf_counter()
    model = NaiveModel(config, SEED)
    build = time.perf_counter() - start
    for _ in range(warmup):
        model.step()
    gc.collect()
    start = time.perf_counter()
    for _ in range(steps):
        model.step()
    seconds = time.perf_counter() - start
    return NaiveResult(users=users, steps=steps, build_seconds=build, step_seconds=seconds,
                       user_steps_per_second=users * steps / seconds)


# --------------------------------------------------------------------------- report

def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "networkx": nx.__version__,
        "numba": numba.__version__,
        "threads allowed": threads(),
        "load average (1 min)": round(os.getloadavg()[0], 2),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def floor_to(value: float, digits: int) -> float:
    """Round down: a throughput is never shown higher than measured."""
    scale = 10 ** digits
    return math.floor(value * scale) / scale


def ceil_to(value: float, digits: int) -> float:
    """Round up: a memory figure is never shown lower than measured."""
    scale = 10 ** digits
    return math.ceil(value * scale) / scale


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def targets(rows: list[SizeResult]) -> list[dict[str, Any]]:
    """The targets, checked on the exact (unrounded) figures."""
    at = {r.users: r for r in rows}.get(TARGET_SIZE)
    size = f"N={TARGET_SIZE:,}"
    out = [
        {"target": f">= {TARGET_THROUGHPUT:,} user-steps/s at {size}",
         "value": at.user_steps_per_second if at else None,
         "ok": at.user_steps_per_second >= TARGET_THROUGHPUT if at else None},
        {"target": f">= {TARGET_RATIO:g}x the naive reference at {size}",
         "value": at.ratio_to_naive if at else None,
         "ok": at.ratio_to_naive >= TARGET_RATIO if at and at.ratio_to_naive is not None else None},
    ]
    for label, attr in (("steady state", "steady_bytes_per_user"), ("peak while stepping", "step_peak_bytes_per_user"),
                        ("peak while building", "build_peak_bytes_per_user"),
                        ("resident-set high-water", "rss_peak_bytes_per_user")):
        value = getattr(at, attr) if at else None
        out.append({"target": f"<= {TARGET_BYTES:,} bytes/user at {size} ({label})",
                    "value": value, "ok": value <= TARGET_BYTES if value is not None else None})
    exponent = scaling_exponent(rows)
    low, high = EXPONENT_RANGE
    out.append({"target": f"log-log exponent of step time on N within [{low}, {high}] "
                          f"(N = {min(r.users for r in rows):,} ... {max(r.users for r in rows):,})",
                "value": exponent, "ok": low <= exponent <= high if exponent is not None else None})
    return out


def markdown(rows: list[SizeResult], naive: NaiveResult, checks: list[dict[str, Any]], info: dict[str, Any]) -> str:
    """The report: table, naive reference, targets, machine."""
    lines = [
        "| N | threads | agent views | build s | user-steps/s | x naive | steady B/user | step-peak B/user "
        "| build-peak B/user | RSS high-water B/user |",
        "|---:|:---|:---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        views = "on" if r.agent_views else "off"
        ratio = f"{floor_to(r.ratio_to_naive, 1):,.1f}" if r.ratio_to_naive is not None else "-"
        rss = f"{ceil_to(r.rss_peak_bytes_per_user, 1):,.1f}" if r.rss_peak_bytes_per_user is not None else "-"
        lines.append(f"| {r.users:,} | {r.threads} | {views} | {ceil_to(r.build_seconds, 2):,.2f} | "
                     f"{math.floor(r.user_steps_per_second):,} | {ratio} | "
                     f"{ceil_to(r.steady_bytes_per_user, 1):,.1f} | {ceil_to(r.step_peak_bytes_per_user, 1):,.1f} | "
                     f"{ceil_to(r.build_peak_bytes_per_user, 1):,.1f} | {rss} |")
    lines.append(f"| {naive.users:,} (naive Mesa) | - | one agent each | {ceil_to(naive.build_seconds, 2):,.2f} | "
                 f"{math.floor(naive.user_steps_per_second):,} | 1.0 | - | - | - | - |")
    r0 = rows[0]
    launch = min(2, r0.warmup + 1)
    lines += [
        "",
        f"Scenario: {len(SINK_TABLE)} sinks + 1 launched (platform_launch on day {launch}, "
        f"{'in the warm-up' if launch <= r0.warmup else 'the first timed day'}) "
        f"+ 2 brand destinations = {r0.columns} columns; 2 brands (billboard, relational; equal budgets of 0.02 per user per day); "
        f"barabasi_albert m=3; crisis on day {r0.warmup + 1} (the first timed day).",
        f"Timing: build timed alone, then {r0.warmup} warm-up step(s), then {r0.steps} timed steps of `model.step()`; "
        "user-steps/s = N x steps / seconds. Memory: a second build under tracemalloc (untimed); "
        "steady = traced bytes held after the build; step-peak = traced peak over the timed steps (reset before them), "
        "so it includes the steady state; build-peak = traced peak while building (the graph builder dominates: networkx below 50,000 users, the direct Barabási–Albert builder from there on); "
        "RSS high-water = the process's resident-set peak from just before the traced build to the end of its steps, "
        "less the resident set then (it also counts numba's own allocations and the allocator's slack, which tracemalloc does not see).",
        f"Agent views: population.agent_views is null (the default), so per-user Mesa `User` views are made only for "
        f"N <= {AGENT_VIEW_LIMIT:,} and are off above that (column 'agent views'; off at 1,000,000).",
        f"Naive reference: one mesa.Agent per user, pure-Python step(), model.agents.shuffle_do('step'), "
        f"N={naive.users:,}, {naive.steps} timed steps after 1 warm-up; x naive = full-model user-steps/s at that N "
        "over the naive user-steps/s.",
        "Step-time spread, min / median / max of one step (a wide spread means a noisy machine): " + "; ".join(
            f"N={r.users:,}: {min(r.step_seconds_each) * 1e3:,.1f} / "
            f"{statistics.median(r.step_seconds_each) * 1e3:,.1f} / {max(r.step_seconds_each) * 1e3:,.1f} ms"
            for r in rows) + ".",
        "Rounding: throughput and ratios rounded down, seconds and bytes rounded up; PASS/MISS on the exact figures.",
        "",
        "Targets:",
    ]
    for c in checks:
        value = c["value"]
        if value is None:
            shown = "not measured (size not run, or no /proc)"
        elif "exponent" in c["target"]:
            shown = f"measured {value:.3f}"
        else:
            shown = "measured " + (f"{floor_to(value, 1) if 'naive' in c['target'] else ceil_to(value, 1):,.1f}"
                                   if value < 1e5 else f"{math.floor(value):,}")
        lines.append(f"- {verdict(c['ok'])}: {c['target']} ({shown})")
    lines += ["", "Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items())]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None, help=f"Comma-separated user counts (default {DEFAULT_SIZES}).")
    parser.add_argument("--days", type=int, default=None, help="Timed steps per size (default 20; 5 with --quick).")
    parser.add_argument("--warmup", type=int, default=None, help="Untimed steps before timing (default 3; 1 with --quick).")
    parser.add_argument("--naive-users", type=int, default=None, help="Users in the naive reference (default 10000; 2000 with --quick).")
    parser.add_argument("--naive-days", type=int, default=None, help="Timed steps of the naive reference (default 3; 2 with --quick).")
    parser.add_argument("--quick", action="store_true", help="Tiny sizes and few steps: a smoke run of a few seconds.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures as JSON to this path.")
    parser.add_argument("--figure", type=Path, default=None, help="Also draw step time against N (log-log) to this PNG.")
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = [int(float(s)) for s in (args.sizes or ("2000,10000" if quick else DEFAULT_SIZES)).split(",")]
    args.days = args.days if args.days is not None else (5 if quick else 20)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 3)
    args.naive_users = args.naive_users or (2_000 if quick else 10_000)
    args.naive_days = args.naive_days or (2 if quick else 3)
    if min(args.sizes) < 10 or args.days < 1 or args.warmup < 0 or args.naive_users < 10 or args.naive_days < 1:
        parser.error("sizes and naive users must be >= 10, days and naive days >= 1, warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["ATTENTION_MARKET_GRAPH_CACHE"] = "off"  # the build is measured: never read from the graph cache
    warm_up()  # compile (or load) the kernels before anything is timed
    naive = bench_naive(args.naive_users, warmup=1, steps=args.naive_days)
    print(f"naive reference: {naive.users:,} users, {math.floor(naive.user_steps_per_second):,} user-steps/s", file=sys.stderr)
    rows = []
    for users in args.sizes:
        row = bench_size(users, args.warmup, args.days)
        row.ratio_to_naive = row.user_steps_per_second / naive.user_steps_per_second
        rows.append(row)
        print(f"N={users:,}: build {row.build_seconds:.2f} s, {math.floor(row.user_steps_per_second):,} user-steps/s", file=sys.stderr)
    checks = targets(rows)
    info = machine()
    print(markdown(rows, naive, checks, info))
    if args.figure and len(rows) > 1:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.5, 4.5), layout="constrained")
        plot_scaling(rows, fig.subplots())
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.figure, dpi=110)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "sizes": [asdict(r) for r in rows], "naive": asdict(naive),
                                         "targets": checks}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
