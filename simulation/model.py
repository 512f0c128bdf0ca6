"""AttentionModel: the graph, the agents and the ordered day."""

from __future__ import annotations

import mesa
import numpy as np

from simulation import adoption, kernels, metrics
from simulation.attention import AWARENESS_FLOOR, choose_slots
from simulation.brands import Brand
from simulation.compiled import CompiledDay
from simulation.config import SINK_KINDS, Scenario, ScenarioError, SinkConfig, SinkLaunch
from simulation.events import EventQueue
from simulation.network import build_network
from simulation.population import Population, User
from simulation.sinks import BrandDestination, Sink, make_sink

#: Above this many users, per-user Mesa views are made only when asked for.
AGENT_VIEW_LIMIT = 100_000
#: From this many users on, engine "auto" runs the compiled kernels (below it numba's start-up costs more than it saves).
COMPILED_FROM = 50_000
_AWARENESS_FIELD = 1 + list(metrics.BRAND_REPORTERS).index("awareness")  # in a brand record (day first)


class AttentionModel(mesa.Model):
    """Users on a social graph split each day between sinks; brands buy or earn their attention.

    One step is one day. Columns of the users x sinks arrays are, in order: the
    scenario's sinks, the sinks that launch later (inactive until then) and one
    destination per brand.
    """

    def __init__(self, config: Scenario, seed: int | None = None, *, days: int | None = None) -> None:
        seed = config.seed if seed is None else seed
        super().__init__(rng=seed)
        self.config = config
        self.seed = seed
        self.days = days if days is not None else config.days
        self.day = 0
        self.slots_per_day = config.population.slots_per_day

        self.network = build_network(config.network, config.population.users, self.rng)
        n = self.network.n

        launches = [e.sink for e in config.events if isinstance(e, SinkLaunch)]
        sink_configs: list[SinkConfig] = list(config.sinks) + launches
        self.all_sinks: list[Sink] = []
        for column, sink_config in enumerate(sink_configs):
            sink = make_sink(self, column, sink_config)
            if column >= len(config.sinks):
                sink.active = False
                sink.remove()  # enters the model (and model.agents) on its launch day
            self.all_sinks.append(sink)
        self.brands: list[Brand] = []
        for index, brand_config in enumerate(config.brands):
            destination = BrandDestination(self, column=len(self.all_sinks), brand_name=brand_config.name,
                                           appeal=brand_config.destination.appeal,
                                           network_effect=brand_config.destination.network_effect)
            self.all_sinks.append(destination)
            ad_names = brand_config.ad_sinks
            ad_columns = np.array([s.column for s in self.all_sinks
                                   if s.kind != "brand" and (s.name in ad_names if ad_names is not None else s.ad_load > 0)],
                                  dtype=np.int64)
            self.brands.append(Brand(self, index=index, config=brand_config, destination=destination,
                                     ad_columns=ad_columns, content_pull=config.relational.content_pull))
        self._brand_index = {b.name: b.index for b in self.brands}
        self.ad_mask = np.zeros((len(self.all_sinks), len(self.brands)), dtype=bool)  # sinks each brand buys on
        for brand in self.brands:
            self.ad_mask[brand.ad_columns, brand.index] = True
        self.destination_columns = np.array([b.destination.column for b in self.brands], dtype=np.int64)
        self.kind_of_sink = np.array([SINK_KINDS.index(s.kind) for s in self.all_sinks], dtype=np.int64)

        self.population = Population(users=n, config=config.population, advertising=config.advertising,
                                     brands=config.brands, sinks=len(self.all_sinks), kinds=len(SINK_KINDS),
                                     rng=self.rng)
        self.events = EventQueue(config.events)
        self.engine = resolve_engine(config.engine, n)
        self.compiled = CompiledDay(self) if self.engine == "compiled" else None
        self._by_degree = np.argsort(-self.network.degree, kind="stable").astype(np.int32)  # influencers: best connected first

        views = config.population.agent_views
        self.users: list[User] = []
        if views or (views is None and n <= AGENT_VIEW_LIMIT):
            self.create_user_agents()

        self.sample = None
        if config.collect.sample_users:
            k = min(config.collect.sample_users, n)
            # its own stream, so that following users never changes the run
            sampler = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
            self.sample = np.sort(sampler.choice(n, size=k, replace=False))
        self.sink_records: list[tuple] = []
        self.brand_records: list[tuple] = []
        self.user_records: list[tuple] = []
        self.datacollector = mesa.DataCollector(model_reporters=metrics.MODEL_REPORTERS)

    # ------------------------------------------------------------------ helpers

    def create_user_agents(self) -> list[User]:
        """Make the per-user Mesa views (once)."""
        if not self.users:
            self.users = [User(self, i) for i in range(self.population.n)]
        return self.users

    @property
    def sinks(self) -> list[Sink]:
        """The sinks open today."""
        return [s for s in self.all_sinks if s.active]

    def brand_index(self, name: str) -> int:
        return self._brand_index[name]

    def brand(self, name: str) -> Brand:
        return self.brands[self._brand_index[name]]

    def sink(self, name: str) -> Sink:
        return next(s for s in self.all_sinks if s.name == name)

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        """One day: events, brands, attention, exposure, word of mouth, purchases, learning, records."""
        self.day += 1
        self.events.fire(self, self.day)
        self.copy_strategies()
        for brand in self.brands:
            brand.plan_day(self.population.n)
        self.seed_influencers()
        self.allocate_attention()
        self.deliver_exposures()
        self.spread_word_of_mouth()
        self.make_purchases()
        self.learn()
        self.collect()
        if self.day >= self.days:
            self.running = False

    def copy_strategies(self) -> None:
        """Copycats take up the split of the brand that was most visible (highest awareness) copy_lag days ago."""
        for brand in self.brands:
            if brand.strategy != "copycat" or self.day <= brand.copy_lag:
                continue
            then = self.day - brand.copy_lag - 1  # the end of that day, in the brands' histories
            others = [b for b in self.brands if b is not brand]
            if not others:
                continue
            original = max(others, key=lambda b: (b.awareness_history[then], -b.index))
            if brand.copy(original, original.share_history[then]):
                self.events.log.append({"day": self.day, "type": "copy", "brand": brand.name,
                                        "copies": original.name, "relational_share": original.share_history[then]})

    def seed_influencers(self) -> None:
        """Influencer brands pay today's best-connected users (highest degree first) to recommend them."""
        pop = self.population
        pop.seeded[:] = False
        for brand in self.brands:
            if brand.influencers_today:
                pop.seeded[brand.index, self._by_degree[:brand.influencers_today]] = True

    def allocate_attention(self) -> None:
        """Users split today's minutes over the open sinks (multinomial logit over slots)."""
        if self.compiled:
            return self.compiled.allocate_attention(self)
        pop, cfg = self.population, self.config
        slots = self.slots_per_day
        pull = np.array([s.pull if s.active else -np.inf for s in self.all_sinks], dtype=np.float32)
        for brand in self.brands:
            pull[brand.destination.column] += brand.content_boost
        utility = pop.taste[self.kind_of_sink]  # sinks x users
        utility += pull[:, None]
        yesterday = pop.slots.astype(np.float32)
        yesterday *= np.float32(1.0 / slots)
        if cfg.population.habit:
            utility += yesterday * np.float32(cfg.population.habit)
        social = np.array([s.network_effect if s.active else 0.0 for s in self.all_sinks], dtype=np.float32)
        rows = np.flatnonzero(social > 0)
        if rows.size:
            utility[rows] += self.network.mean(yesterday[rows]) * social[rows, None]
        del yesterday
        utility[self.destination_columns] += (np.float32(cfg.relational.trust_pull) * np.abs(pop.trust)
                                              + np.log(pop.awareness + AWARENESS_FLOOR))
        pop.slots = choose_slots(utility, slots, self.rng.random(pop.n, dtype=np.float32))

    def minutes(self) -> np.ndarray:
        """Today's minutes per sink and user (sinks x users)."""
        pop = self.population
        return pop.slots * (pop.budget / np.float32(self.slots_per_day))

    def deliver_exposures(self) -> None:
        """Brands' impressions land where users spend time; visitors to destinations get answered."""
        if self.compiled:
            return self.compiled.deliver_exposures(self)
        pop, adv, market = self.population, self.config.advertising, self.config.market
        minutes = self.minutes()
        ad_load = np.array([s.ad_load if s.active else 0.0 for s in self.all_sinks], dtype=np.float32)
        ad_weight = minutes * ad_load[:, None]  # impressions each user could be shown, per sink
        inventory = ad_weight.sum(axis=1, dtype=np.float64)
        wanted = np.array([b.impressions_wanted for b in self.brands])
        rates = adoption.impression_rates(inventory, wanted, self.ad_mask)  # sinks x brands
        expected = rates.T @ ad_weight  # brands x users
        impressions = self.rng.poisson(expected).astype(np.float32)
        self.impressions = impressions  # brands x users, today's (kept for tests and views)
        ads_seen = ad_weight.sum(axis=0)
        del ad_weight

        novelty = np.array([[b.novelty] for b in self.brands], dtype=np.float32)
        ad_response = adoption.impression_response(impressions, pop.savviness, pop.fatigue, adv.ad_effect * novelty)
        clicks = impressions * adoption.click_probability(pop.savviness, pop.fatigue, adv.click_rate)
        first = ~pop.reached  # users seeing the brand's ads for the first time today
        dest_minutes = minutes[self.destination_columns]
        engagement = adoption.engagement_response(dest_minutes, market.engagement_minutes)
        visiting = dest_minutes > 0

        visitor_counts = np.count_nonzero(visiting, axis=1)
        answered = self._answer(visiting, visitor_counts)
        delivered = impressions.sum(axis=1, dtype=np.float64)
        reached_today = np.count_nonzero(impressions, axis=1)
        answer_counts = np.count_nonzero(answered, axis=1)
        engaged = dest_minutes.sum(axis=1, dtype=np.float64)
        first_impressions = (impressions * first).sum(axis=1, dtype=np.float64)
        first_clicks = (clicks * first).sum(axis=1, dtype=np.float64)
        all_clicks = clicks.sum(axis=1, dtype=np.float64)
        self.record_exposures(delivered=delivered, reached=reached_today, visitors=visitor_counts, answers=answer_counts,
                              engaged=engaged, first_impressions=first_impressions, first_clicks=first_clicks,
                              clicks=all_clicks, per_sink=minutes.sum(axis=1, dtype=np.float64),
                              sink_visitors=np.count_nonzero(pop.slots, axis=1))

        external = 1.0 - (1.0 - ad_response) * (1.0 - engagement)
        pop.awareness += (1.0 - pop.awareness) * external
        gain = np.float32(self.config.relational.answer_trust_gain)
        pop.trust += answered * gain * (1.0 - pop.trust)
        pop.fatigue += impressions * np.float32(adv.fatigue_per_impression)
        pop.reached |= impressions > 0
        pop.fan |= visiting
        pop.savviness += np.float32(adv.savviness_growth / 1000.0) * ads_seen * (1.0 - pop.savviness)
        np.minimum(pop.savviness, np.float32(1.0), out=pop.savviness)
        self._external = np.ones_like(external) if market.exposure == "full" else external

    def record_exposures(self, *, delivered, reached, visitors, answers, engaged, first_impressions, first_clicks,
                         clicks, per_sink, sink_visitors) -> None:
        """Today's exposure figures (per brand, then per sink) into the brands' and sinks' books."""
        for brand in self.brands:
            b = brand.index
            brand.record_clicks(float(clicks[b]), float(first_impressions[b]), float(first_clicks[b]))
            brand.bill_impressions(int(delivered[b]))
            brand.daily_reach = int(reached[b])
            brand.visitors_today = int(visitors[b])
            brand.answers_today = int(answers[b])
            brand.engaged_minutes_today = float(engaged[b])
        total = per_sink.sum()
        for sink in self.all_sinks:
            sink.minutes_today = float(per_sink[sink.column])
            sink.visitors_today = int(sink_visitors[sink.column])
            sink.share_today = sink.minutes_today / total if total else 0.0

    def _answer(self, visiting: np.ndarray, visitor_counts: np.ndarray) -> np.ndarray:
        """Each brand answers as many of today's visitors as its service pays for, chosen at random."""
        order = self.rng.random(visiting.shape, dtype=np.float32)
        answered = np.zeros_like(visiting)
        for brand in self.brands:
            b = brand.index
            k = min(int(visitor_counts[b]), int(brand.answer_capacity))  # whole answers a day
            if k == visitor_counts[b]:
                answered[b] = visiting[b]
            elif k > 0:
                who = np.flatnonzero(visiting[b])
                answered[b, who[np.argpartition(order[b, who], k - 1)[:k]]] = True
        return answered

    def spread_word_of_mouth(self) -> None:
        """Neighbours' adoption pulls, engagement raises awareness, voiced opinions move trust."""
        if self.compiled:
            return self.compiled.spread_word_of_mouth(self)
        pop, wom = self.population, self.config.word_of_mouth
        b = len(self.brands)
        paid = np.float32(self.config.relational.paid_voice)
        speaking = pop.adopted | pop.fan | (pop.trust < 0) | pop.seeded
        advocates = np.maximum(pop.adopted * np.maximum(pop.trust, 0), pop.seeded * paid)
        voice = adoption.voiced_opinion(pop.trust, speaking, wom.negativity_bias)
        voice = np.where(pop.seeded, np.maximum(voice, paid), voice)
        heard = self.network.mean(np.vstack([advocates, speaking, voice], dtype=np.float32))
        self._q_pull = heard[:b]
        listening, opinion = heard[b:2 * b], heard[2 * b:]
        pop.awareness += np.float32(wom.awareness_spread) * listening * (1.0 - pop.awareness)
        pop.trust += np.float32(wom.trust_influence) * (opinion - listening * pop.trust)
        np.clip(pop.trust, -1.0, 1.0, out=pop.trust)

    def make_purchases(self) -> None:
        """First purchases by the network Bass hazard, repeat purchases rising with trust."""
        if self.compiled:
            return self.compiled.make_purchases(self)
        pop, market = self.population, self.config.market
        p_eff = np.float32(market.p) * self._external
        q_eff = np.float32(market.q) * self._q_pull
        hazard = adoption.adoption_hazard(p_eff, q_eff)
        again = adoption.repurchase_probability(pop.trust, market.repurchase_rate)
        draw = self.rng.random(pop.adopted.shape, dtype=np.float32)
        new = ~pop.adopted & (draw < hazard)
        repeat = pop.adopted & (draw < again)
        buying = new | repeat
        pop.adopted |= new
        pop.adoption_day[new] = self.day
        pop.purchases += buying
        quality = np.array([b.quality for b in self.brands], dtype=np.float32)
        pop.trust += buying * np.float32(market.experience_weight) * (quality[:, None] - pop.trust)
        self.record_purchases(new=np.count_nonzero(new, axis=1), sales=np.count_nonzero(buying, axis=1))

    def record_purchases(self, *, new, sales) -> None:
        """Today's first and total sales per brand; the brands close their day's books."""
        for brand in self.brands:
            brand.new_adopters_today = int(new[brand.index])
            brand.sales_today = int(sales[brand.index])
            brand.close_day()

    def learn(self) -> None:
        """Fatigue recovers, awareness fades, hype wears off."""
        pop, cfg = self.population, self.config
        if not self.compiled:  # the compiled engine does the users' part with word of mouth, in the same pass
            pop.fatigue *= np.float32(1.0 - cfg.advertising.fatigue_recovery)
            pop.awareness *= np.float32(1.0 - cfg.market.awareness_forgetting)
        for brand in self.brands:
            brand.novelty *= 1.0 - cfg.market.campaign_novelty_decay
        for sink in self.all_sinks:
            if sink.active:  # a platform keeps its hype until it opens
                sink.decay_novelty()

    def collect(self) -> None:
        """Append today's rows to the tidy tables (aggregates; per-user rows only for a sample)."""
        self.datacollector.collect(self)
        for sink in self.all_sinks:
            self.sink_records.append((self.day, *(f(sink) for f in metrics.SINK_REPORTERS.values())))
        for brand in self.brands:
            row = (self.day, *(f(brand) for f in metrics.BRAND_REPORTERS.values()))
            self.brand_records.append(row)
            brand.share_history.append(brand.relational_share)
            brand.awareness_history.append(row[_AWARENESS_FIELD])
        if self.sample is not None:
            self.user_records.extend(metrics.user_rows(self, self.sample))

    # ------------------------------------------------------------------ events

    def launch_sink(self, name: str) -> None:
        sink = self.sink(name)
        if not sink.active:
            sink.active = True
            self.register_agent(sink)

    def close_sink(self, name: str) -> None:
        sink = self.sink(name)
        if sink.active:
            sink.active = False
            sink.remove()
            self.population.slots[sink.column] = 0

    def crisis(self, brand_name: str, share: float, trust_loss: float) -> int:
        """A share of the brand's aware users lose trust; returns how many."""
        pop = self.population
        b = self.brand_index(brand_name)
        hit = self.rng.random(pop.n, dtype=np.float32) < np.float32(share) * pop.awareness[b]
        pop.trust[b, hit] = np.maximum(pop.trust[b, hit] - np.float32(trust_loss), -1.0)
        return int(hit.sum())


def resolve_engine(engine: str, users: int) -> str:
    """The engine a run uses: "numpy" or "compiled" (see the scenario key `engine`)."""
    if engine == "compiled" and not kernels.AVAILABLE:
        raise ScenarioError("engine: 'compiled' needs numba, which is not installed here "
                            "(pip install numba, or use engine: numpy)")
    if engine == "auto":
        return "compiled" if kernels.AVAILABLE and users >= COMPILED_FROM else "numpy"
    return engine
