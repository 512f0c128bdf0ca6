"""AttentionModel: the graph, the agents and the ordered day."""

from __future__ import annotations

import mesa
import numpy as np

from simulation.outputs import metrics
from simulation.model.brands import Brand
from simulation.scenario import SINK_KINDS, Scenario, SinkConfig, SinkLaunch
from simulation.engine.day import EngineDay
from simulation.engine.mechanisms import minutes_per_slot, python_of
from simulation.model.events import EventQueue
from simulation.model.network import build_network
from simulation.model.population import Population, User, draw_members
from simulation.model.sinks import BrandDestination, Sink, make_sink

#: Above this many users, per-user Mesa views are made only when asked for.
AGENT_VIEW_LIMIT = 100_000
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
        self.offline = np.array([s.kind == "offline" for s in self.all_sinks])  # the outside option's columns

        self.member_columns = np.array([s.column for s in self.all_sinks if s.has_members], dtype=np.int64)
        opening = [s.members if s.active else 0.0 for s in self.all_sinks if s.has_members]
        self.population = Population(users=n, config=config.population, advertising=config.advertising,
                                     brands=config.brands, sinks=len(self.all_sinks), kinds=len(SINK_KINDS),
                                     outside_option=bool(self.offline.any()),
                                     members=opening, rng=self.rng)
        for row, column in enumerate(self.member_columns):
            self.all_sinks[column].member_count = int(self.population.member[row].sum())
        self.events = EventQueue(config.events)
        self.engine = EngineDay(self)
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
        """One day: events, brands, attention, exposure, word of mouth and purchases, learning, records."""
        self.day += 1
        self.events.fire(self, self.day)
        self.copy_strategies()
        for brand in self.brands:
            brand.plan_day(self.population.n)
        self.seed_influencers()
        self.allocate_attention()
        self.deliver_exposures()
        self.spread_word_of_mouth_and_buy()
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
        """Users split today's minutes over the open sinks (multinomial logit over slots, §7.3–7.4)."""
        self.engine.allocate_attention(self)

    def minutes(self) -> np.ndarray:
        """Today's minutes per sink and user (sinks x users), as the engine counts them (§2)."""
        pop = self.population
        per_slot = python_of(minutes_per_slot)(pop.budget.astype(np.float64), self.engine.params.per_slot_share)
        return pop.slots * per_slot

    def deliver_exposures(self) -> None:
        """Brands' impressions land where users spend time; visitors to destinations get answered (§7.5–7.8)."""
        self.engine.deliver_exposures(self)

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
        online, whole_day = per_sink[~self.offline].sum(), per_sink.sum()
        for sink in self.all_sinks:
            sink.minutes_today = float(per_sink[sink.column])
            sink.visitors_today = int(sink_visitors[sink.column])
            total = whole_day if sink.kind == "offline" else online  # the outside option: its share of the whole day
            sink.share_today = sink.minutes_today / total if total else 0.0

    def spread_word_of_mouth_and_buy(self) -> None:
        """Word of mouth, purchases and the users' overnight forgetting, in one pass over users (§7.9–7.13).

        Each user's updates read only the user's own state and what the
        neighbours said (gathered before the pass), so this is §3's order.
        """
        self.engine.word_of_mouth_and_purchases(self)

    def record_memberships(self, *, joins, lapses) -> None:
        """Tonight's joins and lapses per sink with members (§7.3a)."""
        for row, column in enumerate(self.member_columns):
            sink = self.all_sinks[column]
            sink.joins_today, sink.lapses_today = int(joins[row]), int(lapses[row])
            sink.member_count += sink.joins_today - sink.lapses_today

    def record_purchases(self, *, new, sales, last_touch_sales, referrals) -> None:
        """Today's first and total sales per brand, those last-touch attribution credits to the brand's
        impressions and site, and the conversations about it; the brands close their day's books."""
        for brand in self.brands:
            brand.new_adopters_today = int(new[brand.index])
            brand.sales_today = int(sales[brand.index])
            brand.last_touch_sales_today = int(last_touch_sales[brand.index])
            brand.referrals_today = float(referrals[brand.index])
            brand.close_day()

    def learn(self) -> None:
        """Campaigns and platforms lose novelty (the users' fatigue and awareness fade with word of mouth)."""
        cfg = self.config
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
            if sink.has_members:  # its first members, drawn from the model's generator (§7.3a)
                row = int(np.flatnonzero(self.member_columns == sink.column)[0])
                self.population.member[row] = draw_members(sink.members, self.population.n, self.rng)
                sink.member_count = int(self.population.member[row].sum())

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
        pop.urge[b, hit] = np.float32(1.0)  # they will tell it (§7.9, §7.12)
        return int(hit.sum())

