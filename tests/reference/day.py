"""One day of the users' phases in plain numpy, drawing the engine's random numbers.

A readable reference for the engine (simulation/engine/): each
rule is a few vectorised numpy expressions over all users, named after its
section of docs/ODD.md. The phases are those of ODD §3, in its order:

    allocate_attention   §7.3 utility, §7.4 systematic sampling of slots
    deliver_exposures    §7.5 impressions, §7.6 response, §7.6b clicks, §7.7 engagement and answers, §7.8 updates
    spread_word_of_mouth §7.9 (with §7.16's paid influencer voices)
    make_purchases       §7.10 network Bass hazard, §7.11 repurchase and experience
    learn_users          §7.13, the users' part (fatigue recovers, awareness is forgotten, trust fades toward
                         the brand's baseline, the urge to talk fades; it is fresh after a purchase or where trust turned negative)
    join_and_lapse       §7.3a membership of platforms: the network Bass hazard of joining, lapses

Random numbers (ODD §7.17). They are the engine's counter-based ones, here in
numpy uint64 arithmetic: a uniform is splitmix64's mix of (key + counter x
golden gamma), each day and use has its own stream key, and the counters are
the engine's, so the reference makes the same draws as the engine:

    slots        stream 1,       counter i,                      24 random bits (float32)
    choice sets  stream 5,       counter i x brands + b,         24 random bits (float32)
    impressions  stream 2,       counters (i x brands + b) x 64 onward (Poisson, 53 bits)
    purchases    stream 3,       counter i x brands + b,         53 bits
    membership   stream 4,       counter i x (sinks with members) + m, 53 bits
    answers      stream 16 + b,  key mix64(stream key + i x gamma), compared as integers

Numerics. The state is float32, as the model's. Where the engine computes in
float32 (utilities, the response to impressions and visits) the reference does
too, with numpy's exp, log and power where the engine has polynomials (they
round differently in the last bits). Elsewhere the engine computes each update
in float64 from the float32 state and stores it as float32, and so does the
reference. What neighbours hear is rounded to the engine's 16-bit fixed point
(steps of 1/65535, ODD §7.17): it is how the engine represents it, and it
makes the neighbour means, hence the adoption draws, the same.

The reference does not reproduce the engine's chunks, blocks, partial sums or
fused passes: only the rules and the draws.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

# What the reference takes from the package (besides World.from_model, which reads the model's sinks, brands,
# ad_mask, network and config, and streams.poisson_from_10 in `poisson`): the impression rates of ODD §7.5,
# the awareness floor of §7.3 and the kinds of sink.
from simulation.scenario import SINK_KINDS, Scenario
from simulation.engine.inventory import impression_rates
from simulation.engine.parameters import AWARENESS_FLOOR

f32, f64 = np.float32, np.float64

# ---------------------------------------------------------------------- counter-based random numbers (ODD §7.17)

GAMMA = np.uint64(0x9E3779B97F4A7C15)  # the golden gamma of splitmix64
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
STREAM_SLOTS, STREAM_IMPRESSIONS, STREAM_PURCHASES, STREAM_MEMBERSHIP, STREAM_CONSIDER, STREAM_ANSWERS = 1, 2, 3, 4, 5, 16
LAST_TOUCH_DAYS = 7  # last-touch attribution: an impression or a visit within this many days, today included
POISSON_DRAWS = 64  # counters reserved per (user, brand) for a Poisson draw
FIXED_POINT = 65535  # what neighbours hear: 1.0 is 65535


def mix64(z) -> np.ndarray:
    """splitmix64's finaliser (a bijection of uint64), elementwise."""
    with np.errstate(over="ignore"):
        z = np.asarray(z, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * M1
        z = (z ^ (z >> np.uint64(27))) * M2
        return z ^ (z >> np.uint64(31))


def stream_key(run_key: int, day: int, stream: int) -> np.uint64:
    """The key of one stream (one use) on one day."""
    with np.errstate(over="ignore"):
        day_key = mix64(np.uint64(run_key) + np.uint64(day) * GAMMA)
        return np.uint64(mix64(day_key + np.uint64(stream) * M1))


def random_bits(key: np.uint64, counter) -> np.ndarray:
    """The 64 random bits of (key, counter)."""
    with np.errstate(over="ignore"):
        return mix64(np.uint64(key) + np.asarray(counter, dtype=np.uint64) * GAMMA)


def unit53(key: np.uint64, counter) -> np.ndarray:
    """U[0, 1) with 53 random bits (float64)."""
    return (random_bits(key, counter) >> np.uint64(11)).astype(f64) * 2.0**-53


def unit24(key: np.uint64, counter) -> np.ndarray:
    """U[0, 1) with 24 random bits (float32, never 1.0): the slot draw."""
    return (random_bits(key, counter) >> np.uint64(40)).astype(f32) * f32(2.0**-24)


def poisson(lam: np.ndarray, key: np.uint64, counters: np.ndarray) -> np.ndarray:
    """Poisson(lam) draws, each with its own first counter (float64 counts).

    Below a mean of 10 by inversion: the draw is the smallest k whose
    cumulative probability reaches the uniform at the first counter, the terms
    built as P(k) = P(k - 1) x lam x (1/k). From 10 on, Hörmann's PTRS, the
    engine's own routine, called elementwise (an algorithm, not a model rule).
    A mean of 0 (or below) draws 0.
    """
    lam = np.asarray(lam, dtype=f64)
    draws = np.zeros(lam.shape)
    small = (lam > 0) & (lam < 10)
    u = np.where(small, unit53(key, counters), 0.0)
    term = np.exp(-np.where(small, lam, 0.0))
    cumulative = term.copy()
    k = 0
    while np.any(more := small & (u > cumulative)):
        draws += more
        k += 1
        term *= lam * (1.0 / k)
        cumulative += term
    big = np.flatnonzero(lam >= 10)
    if big.size:
        from simulation.engine import streams  # numba's PTRS sampler (see the docstring)

        for i in big.tolist():
            draws.flat[i] = streams.poisson_from_10(float(lam.flat[i]), np.uint64(key), np.uint64(counters.flat[i]))
    return draws


# ---------------------------------------------------------------------- inputs


@dataclass
class Graph:
    """The social graph: CSR rows (neighbours of user i: indices[indptr[i]:indptr[i + 1]]), or complete."""

    n: int
    complete: bool
    indptr: np.ndarray | None
    indices: np.ndarray | None
    degree: np.ndarray

    def neighbour_mean(self, values: np.ndarray) -> np.ndarray:
        """Mean over each user's neighbours of integer `values` (k x users), in float64; 0 for isolated users.

        Sums are exact (integers). A CSR mean is the sum times 1/degree; on the
        complete graph it is (total - own) / (n - 1).
        """
        values = np.asarray(values, dtype=np.int64)
        if self.complete:
            if self.n < 2:
                return np.zeros(values.shape)
            return (values.sum(axis=-1, keepdims=True) - values) / (self.n - 1)
        running = np.zeros((values.shape[0], self.indices.size + 1), dtype=np.int64)
        np.cumsum(values[:, self.indices], axis=1, out=running[:, 1:])
        sums = running[:, self.indptr[1:]] - running[:, self.indptr[:-1]]
        inverse = np.zeros(self.n)
        np.divide(1.0, self.degree, out=inverse, where=self.degree > 0)
        return sums * inverse


@dataclass
class World:
    """What the users' phases read besides the users' own state: today's sinks, brands and parameters."""

    config: Scenario
    day: int
    run_key: int  # the engine's key, from which every random number of the run derives
    slots_per_day: int
    kind_of_sink: np.ndarray  # sinks: index of the sink's kind in SINK_KINDS
    pull: np.ndarray  # sinks: appeal + novelty (+ the brand's content boost at its destination); -inf if closed
    network_effect: np.ndarray  # sinks: 0 if closed
    ad_load: np.ndarray  # sinks: 0 if closed
    destination_columns: np.ndarray  # brands
    social_columns: np.ndarray  # the sinks of kind 'social' (whose minutes make a user's feed, §7.9)
    ad_mask: np.ndarray  # sinks x brands: the sinks each brand buys on
    impressions_wanted: np.ndarray  # brands
    answer_capacity: np.ndarray  # brands
    novelty: np.ndarray  # brands: campaign novelty
    frequency_cap: np.ndarray  # brands: most impressions per user per day (inf: no cap)
    quality: np.ndarray  # brands
    baseline: np.ndarray  # brands: the initial trust that opinions fade toward
    member_columns: np.ndarray  # the sinks with members, in sink order
    joining: np.ndarray  # sinks with members x 3: daily join p, join q, lapse (0 while a sink is not open)
    graph: Graph

    @classmethod
    def from_model(cls, model, run_key: int) -> "World":
        """Today's world of an AttentionModel (after events and the brands' plans)."""
        sinks, brands, net = model.all_sinks, model.brands, model.network
        pull = np.array([s.pull if s.active else -np.inf for s in sinks])
        with_members = [s for s in sinks if s.has_members]
        joining = np.array([(s.join_p, s.join_q, s.lapse) if s.active else (0.0, 0.0, 0.0) for s in with_members])
        for brand in brands:
            pull[brand.destination.column] += brand.content_boost
        return cls(
            config=model.config, day=model.day, run_key=int(run_key), slots_per_day=model.slots_per_day,
            kind_of_sink=np.array([SINK_KINDS.index(s.kind) for s in sinks]), pull=pull,
            network_effect=np.array([s.network_effect if s.active else 0.0 for s in sinks]),
            ad_load=np.array([s.ad_load if s.active else 0.0 for s in sinks]),
            destination_columns=np.array([b.destination.column for b in brands]),
            social_columns=np.array([s.column for s in sinks if s.kind == "social"], dtype=np.int64),
            ad_mask=np.array(model.ad_mask, dtype=bool),
            impressions_wanted=np.array([b.impressions_wanted for b in brands]),
            answer_capacity=np.array([b.answer_capacity for b in brands]),
            novelty=np.array([b.novelty for b in brands]), quality=np.array([b.quality for b in brands]),
            frequency_cap=np.array([np.inf if b.frequency_cap is None else float(b.frequency_cap) for b in brands]),
            baseline=np.array([b.initial_trust for b in model.config.brands]),
            member_columns=np.array([s.column for s in with_members], dtype=np.int64),
            joining=joining.reshape(len(with_members), 3), graph=Graph(net.n, net.complete, net.indptr, net.indices, np.asarray(net.degree)))

    def key(self, stream: int) -> np.uint64:
        return stream_key(self.run_key, self.day, stream)


@dataclass
class Users:
    """The users' state (ODD §2): vectors over users, sinks x users and brands x users arrays."""

    budget: np.ndarray  # users, float32 minutes a day
    taste: np.ndarray  # kinds x users, float32
    slots: np.ndarray  # sinks x users, uint8 (yesterday's until allocate_attention)
    savviness: np.ndarray  # users, float32
    awareness: np.ndarray  # brands x users, float32
    trust: np.ndarray
    fatigue: np.ndarray
    adopted: np.ndarray  # brands x users, bool
    adoption_day: np.ndarray  # int32
    purchases: np.ndarray  # int32
    reached: np.ndarray  # bool
    fan: np.ndarray  # bool
    seeded: np.ndarray  # bool: paid influencers today
    urge: np.ndarray  # brands x users, float32: the urge to talk of a fresh experience
    last_touch: np.ndarray  # brands x users, int32: the last day of an impression or a visit
    member: np.ndarray  # sinks with members x users, bool
    impressions: np.ndarray  # brands x users, float32: today's, set by deliver_exposures
    external: np.ndarray  # brands x users, float32: today's external pull, set by deliver_exposures
    feed: np.ndarray  # users, float32: today's share of the feed, set by deliver_exposures

    @classmethod
    def from_population(cls, pop, impressions: np.ndarray, external: np.ndarray, feed: np.ndarray) -> "Users":
        """A copy of a Population's arrays, with today's impressions, external pull and feed."""
        names = [f.name for f in fields(cls) if f.name not in ("impressions", "external", "feed")]
        return cls(**{name: np.array(getattr(pop, name), copy=True) for name in names},
                   impressions=np.array(impressions, copy=True), external=np.array(external, copy=True),
                   feed=np.array(feed, copy=True))

    def copy(self) -> "Users":
        return Users(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    @property
    def n(self) -> int:
        return self.budget.size


# ---------------------------------------------------------------------- the phases


def allocate_attention(users: Users, world: World) -> np.ndarray:
    """Today's slots (ODD §7.3, §7.4), in place. Float32, as the engine.

    U = taste + pull + (habit x s + network_effect x mean_N(s)) x (1 - saturation x s),
    plus at a destination trust_pull x |trust|, with s = yesterday's slots / S;
    with choice sets a destination has weight 0 unless u < awareness (one
    uniform per user and brand), without them its utility gains
    ln(awareness + 0.001); a sink with members has weight 0 for a non-member;
    logit shares; c_j = min(S, floor(S C_j + u)) with C the cumulative shares
    in sink order and one u per user; slots are the steps of c.

    Returns, per user, the distance of the nearest of the user's floor
    arguments S C_j + u to a whole number: where it is tiny, a rounding of the
    last bit (the engine's exp is a polynomial) can legitimately move a slot.
    """
    cfg, slots = world.config, world.slots_per_day
    per_slot = 1.0 / slots
    reinforcing = f32(cfg.population.habit * per_slot) * users.slots
    social = np.flatnonzero(world.network_effect > 0)
    if social.size:  # neighbours' mean slots yesterday, weighted by network effect / S
        heard = world.graph.neighbour_mean(users.slots[social]).astype(f32)
        reinforcing[social] += (world.network_effect[social] * per_slot).astype(f32)[:, None] * heard
    saturated = f32(1) - f32(cfg.population.saturation * per_slot) * users.slots
    utility = users.taste[world.kind_of_sink] + world.pull.astype(f32)[:, None] + reinforcing * saturated
    utility[world.member_columns] = np.where(users.member, utility[world.member_columns], -np.inf)
    destination = f32(cfg.relational.trust_pull) * np.abs(users.trust)
    if cfg.market.choice_set:
        brands = users.trust.shape[0]
        counters = (np.arange(users.n, dtype=np.uint64)[None, :] * np.uint64(brands)
                    + np.arange(brands, dtype=np.uint64)[:, None])
        comes_to_mind = unit24(world.key(STREAM_CONSIDER), counters) < users.awareness
        destination = np.where(comes_to_mind, destination, f32(-np.inf))
    else:
        destination = destination + np.log(users.awareness + f32(AWARENESS_FLOOR))
    utility[world.destination_columns] += destination
    shifted = utility - utility.max(axis=0)
    weight = np.where(shifted > -87, np.exp(np.maximum(shifted, f32(-87))), f32(0))  # e^-87 and below: 0
    cumulative = np.cumsum(weight, axis=0)
    u = unit24(world.key(STREAM_SLOTS), np.arange(users.n))
    with np.errstate(invalid="ignore"):  # a user with nothing to choose from (all weights 0) gets no slot
        argument = np.where(cumulative[-1] > 0, cumulative / cumulative[-1] * f32(slots) + u, f32(0))
    upto = np.minimum(np.floor(argument), f32(slots))
    users.slots = np.diff(upto, axis=0, prepend=f32(0)).astype(np.uint8)
    return np.abs(argument - np.rint(argument)).min(axis=0)


@dataclass
class Exposures:
    """Today's exposure figures, per brand (and who was answered)."""

    answered: np.ndarray  # brands x users
    impressions: np.ndarray  # delivered
    reach: np.ndarray  # users with at least one impression
    visitors: np.ndarray
    answers: np.ndarray
    engaged_minutes: np.ndarray
    first_impressions: np.ndarray  # to users the brand had never reached
    first_clicks: np.ndarray
    clicks: np.ndarray  # expected clicks
    sink_minutes: np.ndarray  # per sink
    sink_visitors: np.ndarray  # per sink


def answer(users: Users, world: World) -> np.ndarray:
    """Who each brand answers today (ODD §7.7): all visitors if capacity allows, else the k with the smallest key."""
    answered = np.zeros(users.awareness.shape, dtype=bool)
    for b, column in enumerate(world.destination_columns):
        visiting = users.slots[column] > 0
        visitors = int(np.count_nonzero(visiting))
        k = min(visitors, int(world.answer_capacity[b]))  # whole answers a day
        if k == visitors:
            answered[b] = visiting
        elif k > 0:
            keys = random_bits(world.key(STREAM_ANSWERS + b), np.arange(users.n))
            kth_smallest = np.partition(keys[visiting], k - 1)[k - 1]
            answered[b] = visiting & (keys <= kth_smallest)
    return answered


def deliver_exposures(users: Users, world: World) -> Exposures:
    """Impressions, their response, visits and answers, and the updates they make (ODD §7.5–7.8), in place."""
    cfg = world.config
    adv, market = cfg.advertising, cfg.market
    brands, n = users.awareness.shape
    per_slot = 1.0 / world.slots_per_day
    minutes_per_slot = users.budget.astype(f64) * per_slot

    # §7.5 inventory and delivery: a brand's demand spread over its sinks by inventory, oversold sinks scaled down
    sink_minutes = (users.slots * users.budget).sum(axis=1, dtype=f64) * per_slot  # products in float32, as the engine
    rates = impression_rates(sink_minutes * world.ad_load, world.impressions_wanted,
                                      world.ad_mask).astype(f64)
    ads_seen = np.zeros(n)  # ad opportunities per minute-slot, summed over sinks
    lam = np.zeros((brands, n))
    for s in np.flatnonzero(world.ad_load > 0):
        ads_seen += users.slots[s] * world.ad_load[s]
        for b in range(brands):
            lam[b] += users.slots[s] * (rates[s, b] * world.ad_load[s])
    lam *= minutes_per_slot
    counters = (np.arange(n, dtype=np.uint64)[None, :] * np.uint64(brands)
                + np.arange(brands, dtype=np.uint64)[:, None]) * np.uint64(POISSON_DRAWS)
    shown = poisson(lam, world.key(STREAM_IMPRESSIONS), counters)
    shown = np.minimum(shown, world.frequency_cap[:, None])  # §7.5 frequency cap (inf: none)

    # §7.6 response (float32), with savviness and fatigue from before today's impressions; §7.6b clicks
    worn = np.exp(-users.fatigue) * (f32(1) - users.savviness)
    effect = (adv.ad_effect * world.novelty).astype(f32)[:, None]
    kept = np.power(np.maximum(f32(1) - effect * worn, f32(1e-30)), shown.astype(f32))
    response = f32(1) - kept
    clicks = shown * adv.click_rate * worn
    newcomer = ~users.reached

    # §7.7 engagement and answers
    dest_slots = users.slots[world.destination_columns]
    visiting = dest_slots > 0
    stay = dest_slots * minutes_per_slot
    unengaged = np.exp((-stay / market.engagement_minutes).astype(f32))
    pull = np.where(visiting, f32(1) - (f32(1) - response) * unengaged, response)
    answered = answer(users, world)

    # §7.8 updates (float64 from the float32 state, stored as float32)
    users.fatigue[:] = users.fatigue + shown * adv.fatigue_per_impression
    trust = users.trust.astype(f64)
    users.trust[:] = np.where(answered, trust + cfg.relational.answer_trust_gain * (1.0 - trust), trust)
    users.urge[:] = np.where(answered, f32(1), users.urge)  # an answer is a fresh experience to tell (§7.9)
    users.last_touch[:] = np.where((shown > 0) | visiting, world.day, users.last_touch)
    awareness = users.awareness.astype(f64)
    users.awareness[:] = awareness + (1.0 - awareness) * pull
    # the hazard's external pull: each source weighted by trust in it against a friend's word (Nielsen 2009)
    sources = market.source_trust
    banner, site = (sources.banner / sources.friend, sources.brand_site / sources.friend) if market.funnel else (1, 1)
    banner, site = f32(banner), f32(site)  # float32, as the response (at weights 1: the pull above, exactly)
    from_ads = banner * response
    persuasion = np.where(visiting, f32(1) - (f32(1) - from_ads) * (f32(1) - site + site * unengaged), from_ads)
    users.external = np.ones((brands, n), dtype=f32) if market.exposure == "full" else persuasion.astype(f32)
    users.impressions = shown.astype(f32)
    users.reached |= shown > 0
    users.fan |= visiting
    savviness = users.savviness.astype(f64)
    growth = adv.savviness_growth / 1000.0
    grown = np.minimum(savviness + growth * ads_seen * minutes_per_slot * (1.0 - savviness), 1.0)
    kept = 1.0 - adv.savviness_decay
    users.savviness[:] = grown if kept >= 1.0 else adv.savviness_initial + (grown - adv.savviness_initial) * kept
    # §7.9 the feed: today's minutes on social platforms against word_of_mouth.feed_minutes
    social_minutes = users.slots[world.social_columns].sum(axis=0, dtype=f64) * minutes_per_slot
    feed_minutes = cfg.word_of_mouth.feed_minutes
    users.feed = (np.minimum(social_minutes / feed_minutes, 1.0) if feed_minutes > 0 else np.ones(n)).astype(f32)

    return Exposures(
        answered=answered, impressions=shown.sum(axis=1), reach=np.count_nonzero(shown, axis=1),
        visitors=np.count_nonzero(visiting, axis=1), answers=np.count_nonzero(answered, axis=1),
        engaged_minutes=stay.sum(axis=1), first_impressions=(shown * newcomer).sum(axis=1),
        first_clicks=(clicks * newcomer).sum(axis=1), clicks=clicks.sum(axis=1), sink_minutes=sink_minutes,
        sink_visitors=np.count_nonzero(users.slots, axis=1))


def heard_as(values: np.ndarray) -> np.ndarray:
    """A figure in [0, 1] as neighbours hear it: the engine's 16-bit fixed point (ODD §7.17), in units of 1/65535."""
    return np.floor(np.asarray(values, dtype=f64) * FIXED_POINT + 0.5).astype(np.int64)


def spread_word_of_mouth(users: Users, world: World) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours' voices move awareness and trust (ODD §7.9, paid voices §7.16), in place.

    A user's voice weight is 1 for a paid influencer, else the larger of the
    urge to talk (of a fresh experience) and 1 for a customer or fan whose
    trust is at least talk_threshold; advocate = adopted x max(trust, 0), at
    least paid_voice if seeded; the voice is weight x trust, carried as its
    positive and negative parts (a paid voice: at least paid_voice, never
    negative). Every figure a user says is scaled by the user's feed share, and
    what a user hears (the neighbours' means) by the listener's: talk passes
    in proportion to both users' social time. O = mean(positive) -
    negativity_bias x mean(negative); listening is the mean weight. Returns Q,
    the neighbours' mean advocacy, and the conversations each user took in
    (listening x degree), both brands x users.
    """
    cfg = world.config
    wom, paid = cfg.word_of_mouth, cfg.relational.paid_voice
    brands = users.trust.shape[0]
    trust = users.trust.astype(f64)
    seeded = users.seeded
    strong = (users.adopted | users.fan) & (trust >= wom.talk_threshold)
    weight = np.where(seeded, 1.0, np.maximum(users.urge.astype(f64), strong * 1.0))
    advocate = np.where(seeded, np.maximum(users.adopted * np.maximum(trust, 0), paid), users.adopted * np.maximum(trust, 0))
    positive = np.where(seeded, np.maximum(weight * np.maximum(trust, 0), paid), weight * np.maximum(trust, 0))
    negative = np.where(seeded, 0.0, weight * np.maximum(-trust, 0))
    feed = users.feed.astype(f64)
    said = np.vstack([heard_as(advocate * feed), heard_as(weight * feed), heard_as(positive * feed),
                      heard_as(negative * feed)])
    heard = world.graph.neighbour_mean(said) / FIXED_POINT * feed
    q_pull, listening = heard[:brands], heard[brands:2 * brands]
    conversations = listening * world.graph.degree
    opinion = heard[2 * brands:3 * brands] - wom.negativity_bias * heard[3 * brands:]
    awareness = users.awareness.astype(f64)
    users.awareness[:] = awareness + wom.awareness_spread * listening * (1.0 - awareness)
    users.trust[:] = np.clip(trust + wom.trust_influence * (opinion - listening * trust), -1.0, 1.0)
    return q_pull, conversations


def make_purchases(users: Users, world: World, q_pull: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First purchases by the network Bass hazard, repeat purchases, product experience (ODD §7.10, §7.11), in place.

    h = 1 - (1 - p x external x funnel)(1 - q x Q), the funnel awareness x (1 + trust) / 2
    (1 without it, or with exposure full); g = repurchase_rate (1 + trust) / 2;
    one uniform per user and brand: a non-adopter buys if u < h, an adopter if
    u < g; a buyer's trust moves experience_weight of the way to quality.
    Returns the day's first purchases, sales, and sales to users touched
    (an impression or a visit) in the last LAST_TOUCH_DAYS days, per brand.
    """
    market = world.config.market
    brands, n = users.trust.shape
    counters = np.arange(n, dtype=np.uint64)[None, :] * np.uint64(brands) + np.arange(brands, dtype=np.uint64)[:, None]
    draw = unit53(world.key(STREAM_PURCHASES), counters)
    trust = users.trust.astype(f64)
    funnel = (users.awareness.astype(f32).astype(f64) * (1.0 + trust) * 0.5
              if market.funnel and market.exposure != "full" else 1.0)
    hazard = 1.0 - (1.0 - market.p * users.external.astype(f64) * funnel) * (1.0 - market.q * q_pull)
    again = market.repurchase_rate * (1.0 + trust) * 0.5
    new = ~users.adopted & (draw < hazard)
    repeat = users.adopted & (draw < again)
    buying = new | repeat
    users.adopted |= new
    users.adoption_day[new] = world.day
    users.purchases += buying
    quality = world.quality[:, None]
    users.trust[:] = np.where(buying, trust + market.experience_weight * (quality - trust), trust)
    touched = buying & (world.day - users.last_touch < LAST_TOUCH_DAYS)
    return np.count_nonzero(new, axis=1), np.count_nonzero(buying, axis=1), np.count_nonzero(touched, axis=1)


def learn_users(users: Users, world: World, trust_before: np.ndarray, bought: np.ndarray) -> None:
    """The night (ODD §7.13), the users' part, in place: the urge to talk is fresh (1) where a user `bought`
    today or where trust is negative tonight and was not before word of mouth (`trust_before`), then it
    fades; fatigue recovers, awareness is forgotten, trust fades toward the brand's baseline."""
    cfg = world.config
    fresh = bought | ((users.trust < 0) & (trust_before >= 0))
    urge = np.where(fresh, 1.0, users.urge.astype(f64))
    users.urge[:] = urge * (1.0 - cfg.word_of_mouth.urge_fading)
    users.fatigue[:] = users.fatigue.astype(f64) * (1.0 - cfg.advertising.fatigue_recovery)
    users.awareness[:] = users.awareness.astype(f64) * (1.0 - cfg.market.awareness_forgetting)
    baseline = world.baseline[:, None]
    users.trust[:] = baseline + (users.trust.astype(f64) - baseline) * (1.0 - cfg.market.trust_forgetting)


def join_and_lapse(users: Users, world: World) -> tuple[np.ndarray, np.ndarray]:
    """Membership of each sink with members (ODD §7.3a), in place: one uniform per user and sink;
    a member leaves if u < lapse, a non-member joins if u < 1 - (1 - p)(1 - q x M), M the share of
    neighbours who are members (as they were this morning). Returns joins and lapses per sink."""
    sinks, n = users.member.shape
    if sinks == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    around = world.graph.neighbour_mean(users.member.astype(np.int64))
    counters = np.arange(n, dtype=np.uint64)[None, :] * np.uint64(sinks) + np.arange(sinks, dtype=np.uint64)[:, None]
    draw = unit53(world.key(STREAM_MEMBERSHIP), counters)
    p, q, lapse = (world.joining[:, k][:, None] for k in range(3))
    hazard = 1.0 - (1.0 - p) * (1.0 - q * around)
    now = np.where(users.member, draw >= lapse, draw < hazard)
    joins, lapses = np.count_nonzero(now & ~users.member, axis=1), np.count_nonzero(users.member & ~now, axis=1)
    users.member = now
    return joins, lapses


def users_day(users: Users, world: World) -> dict:
    """Every user phase of one day, in the order of ODD §3 (the brands' and sinks' part is the model's)."""
    margin = allocate_attention(users, world)
    exposures = deliver_exposures(users, world)
    trust_before = users.trust.copy()
    q_pull, conversations = spread_word_of_mouth(users, world)
    purchases_before = users.purchases.copy()
    new, sales, last_touch_sales = make_purchases(users, world, q_pull)
    learn_users(users, world, trust_before, users.purchases > purchases_before)
    joins, lapses = join_and_lapse(users, world)
    return {"slot_margin": margin, "exposures": exposures, "new_adopters": new, "sales": sales,
            "last_touch_sales": last_touch_sales, "referrals": conversations.sum(axis=1), "joins": joins,
            "lapses": lapses}
