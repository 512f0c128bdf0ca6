"""The scenario schema: pydantic models that *are* the documentation of a scenario file.

Every key has a description, a default where one makes sense and a range. A typo is an error
(``extra="forbid"``), never silently ignored.
"""

from __future__ import annotations

import json
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic import Strict as NoCoercion

Strategy = Literal["billboard", "relational", "mixed", "copycat", "influencer"]
SinkKind = Literal[
    "social", "email", "game", "media", "entertainment", "portal", "search",
    "messaging", "video", "software", "shopping", "other", "offline",
]
#: Every kind of attention sink; a brand's own destination has the kind "brand".
#: 'offline' comes last: a population's tastes for the site kinds and 'brand' are drawn first, in this order,
#: and one for 'offline' only in a scenario with an outside option (a run without one draws as before it existed).
SINK_KINDS: tuple[str, ...] = tuple(k for k in typing.get_args(SinkKind) if k != "offline") + ("brand", "offline")

#: Names: letters (any alphabet), digits, spaces and _ & ' - ; no dot, since --set paths use dots.
NAME_PATTERN = r"^\w[\w &'-]*$"
Name = Annotated[str, Field(min_length=1, max_length=60, pattern=NAME_PATTERN)]
#: Numbers are numbers: a boolean (YAML's yes, no, on, off) is never 1 or 0, and a text is never read as a number.
#: A whole number is a valid Float (budget_per_day: 100), and a Float with no fraction a valid Int (days: 30.0);
#: days: 5.5 is not.
def _whole_number(value: object) -> object:
    """30.0 or 1e3 written for a whole number is that number; a text or a boolean stays what it is (refused)."""
    return int(value) if type(value) is float and value.is_integer() else value


Int = Annotated[int, NoCoercion(), BeforeValidator(_whole_number)]
Float = Annotated[float, NoCoercion()]
#: A yes/no key takes true or false (yes, no, on, off), never 1, 0 or a text.
Bool = Annotated[bool, NoCoercion()]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PopulationConfig(Strict):
    """The users: one per node of the social graph."""

    users: Int = Field(10_000, ge=2, le=50_000_000, description="Number of users (nodes of the graph). With network.kind file the graph's nodes are the users: leave it out, or write at most the graph's number of nodes (more is an error).")
    minutes_mean: Float = Field(70.0, gt=0, le=1440, description="Mean daily time online, in minutes (with an 'offline' sink, the outside option, the time budget it shares with the web).")
    minutes_sd: Float = Field(35.0, ge=0, le=1440, description="Standard deviation of daily time online across users (gamma distributed).")
    slots_per_day: Int = Field(24, ge=1, le=255, description="A user's day is split into this many equal slots, each spent on one sink.")
    taste_sd: Float = Field(0.5, ge=0, le=5, description="Spread of users' taste for each kind of site (standard deviation of a normal term in utility).")
    habit: Float = Field(1.5, ge=0, le=10, description="Weight of yesterday's share of time on a sink in today's utility of that sink.")
    saturation: Float = Field(1.0, ge=0, le=1, description="Diminishing returns of habit and friends: their pull on a sink is scaled by 1 - saturation x the share of yesterday the user spent there (1: none left at a whole day; 0: no saturation, the feedback can run away).")
    agent_views: Bool | None = Field(None, description="Create one Mesa agent per user (a thin view over the arrays). null: only when users <= 100000.")


class NetworkConfig(Strict):
    """The social graph users recommend along."""

    kind: Literal["barabasi_albert", "watts_strogatz", "erdos_renyi", "complete", "ring", "file"] = Field(
        "barabasi_albert", description="Graph generator, or 'file' to read `path`. From 50,000 users on, barabasi_albert, "
        "watts_strogatz and erdos_renyi graphs are built straight into arrays (the same model as networkx's, another "
        "random stream) and cached on disk (ATTENTION_MARKET_GRAPH_CACHE: a folder, or off).")
    m: Int = Field(3, ge=1, le=1000, description="barabasi_albert: edges each new node brings.")
    k: Int = Field(6, ge=2, le=1000, description="watts_strogatz: each node's neighbours in the initial ring (even).")
    rewire: Float = Field(0.1, ge=0, le=1, description="watts_strogatz: probability of rewiring each edge.")
    mean_degree: Float = Field(6.0, gt=0, le=10_000, description="erdos_renyi: expected number of neighbours.")
    path: str | None = Field(None, description="file: an edge list (one 'u v' pair a line) or a GraphML file, relative to the scenario file.")

    @model_validator(mode="after")
    def _path_only_for_files(self) -> "NetworkConfig":
        if self.kind == "file" and not self.path:
            raise ValueError("kind 'file' needs a `path` to an edge list or GraphML file")
        if self.kind == "watts_strogatz" and self.k % 2:
            raise ValueError(f"watts_strogatz needs an even k (neighbours on both sides), found {self.k}")
        if self.kind != "file" and self.path:
            raise ValueError(f"`path` is only read when kind is 'file' (kind is '{self.kind}')")
        return self


class SinkConfig(Strict):
    """A place where users spend time: a platform, a service or a site."""

    name: Name = Field(description="Unique name of the sink.")
    kind: SinkKind = Field(description="Kind of site; users' tastes are per kind. 'offline' is the outside option: time a user's budget spends away from the web (no ads, no network effect), not counted in online time or shares; time on 'social' sinks is what lets word of mouth through (word_of_mouth.feed_minutes).")
    appeal: Float = Field(0.0, ge=-20, le=20, description="Base utility of a slot spent here (logit scale).")
    ad_load: Float = Field(0.0, ge=0, le=20, description="Ad impressions the sink can carry per minute of attention (0: no ads).")
    network_effect: Float = Field(0.0, ge=0, le=20, description="Weight of the share of time a user's neighbours spent here yesterday.")
    novelty: Float = Field(0.0, ge=0, le=20, description="Hype when the sink appears, added to its utility and decaying each day.")
    novelty_decay: Float = Field(0.05, ge=0, le=1, description="Share of the remaining novelty lost each day.")
    members: Float = Field(1.0, ge=0, le=1, description="Share of users who are members on day 0 (or on the launch day); only members spend time here. 1 with join_p, join_q and lapse at 0: open to everyone, no sign-up.")
    join_p: Float = Field(0.0, ge=0, le=1, description="Daily chance that a non-member joins on their own (Bass p per day of the network Bass hazard of joining).")
    join_q: Float = Field(0.0, ge=0, le=1, description="Daily chance that a non-member joins when every neighbour is a member (Bass q per day; pulled by the share of friends who are members).")
    lapse: Float = Field(0.0, ge=0, le=1, description="Daily chance that a member leaves.")

    @model_validator(mode="after")
    def _offline_has_no_ads(self) -> "SinkConfig":
        if self.kind == "offline" and (self.ad_load > 0 or self.network_effect > 0 or self.has_members):
            raise ValueError("an 'offline' sink (the outside option) carries no ads, has no network effect and no members: "
                             "leave ad_load, network_effect, members, join_p, join_q and lapse at their defaults")
        return self

    @model_validator(mode="after")
    def _someone_can_join(self) -> "SinkConfig":
        if self.members == 0 and self.join_p == 0:
            raise ValueError("members is 0 and join_p is 0: nobody can ever join (join_q needs members to pull others in); "
                             "give join_p or members a value above 0")
        return self

    @property
    def has_members(self) -> bool:
        """Whether using the sink needs membership (some users are not members, or some join or lapse)."""
        return self.members < 1 or self.join_p > 0 or self.join_q > 0 or self.lapse > 0


class DestinationConfig(Strict):
    """A brand's own site or community page (an attention sink of kind 'brand')."""

    appeal: Float = Field(-4.0, ge=-20, le=20, description="Base utility of a slot at the brand's destination.")
    network_effect: Float = Field(0.5, ge=0, le=20, description="Community pull: weight of neighbours' share of time there.")


class BrandConfig(Strict):
    """A brand, its budget and its strategy."""

    name: Name = Field(description="Unique name of the brand.")
    strategy: Strategy = Field(
        description="billboard: buy impressions; relational: content, conversation and service; mixed: a split; "
                    "copycat: imitate the most visible brand's split after a lag; influencer: pay the best-connected users to recommend.")
    relational_share: Float | None = Field(
        None, ge=0, le=1, description="mixed: share of the budget spent relationally (billboard is 0, relational is 1); copycat: its split until it first copies (default 0.5).")
    copy_lag: Int = Field(14, ge=1, le=3650, description="copycat only: days it takes to notice and copy the most visible brand's strategy.")
    copy_penalty: Float = Field(0.5, ge=0, le=1, description="copycat only: share of the original campaign's novelty a copy lacks.")
    copy_saving: Float = Field(0.0, ge=0, lt=1, description="copycat only: share of the content's production cost a copy saves (it imitates instead of creating): while copying, its content works as if it cost 1 / (1 - copy_saving) times what it spends.")
    influencer_fee: Float = Field(5.0, ge=0.001, le=1e9, description="influencer only: cost of one influencer's recommendations for one day.")
    budget_per_day: Float = Field(1000.0, ge=0, le=1e12, description="Money spent per day (currency units).")
    price: Float = Field(50.0, gt=0, le=1e9, description="Revenue per sale.")
    margin: Float = Field(0.5, ge=0, le=1, description="Gross margin on a sale; ROI = (margin x revenue - spend) / spend.")
    cpm: Float = Field(5.0, ge=0.001, le=1e6, description="Cost of a thousand impressions.")
    frequency_cap: Int | None = Field(None, ge=1, le=100_000, description="Most of this brand's impressions one user is shown in a day (null: no cap). Impressions a user would get beyond it are not shown, and not paid for.")
    ad_sinks: list[Name] | None = Field(None, description="Sinks the billboard buys impressions on (null: every sink with ad_load > 0).")
    service_share: Float = Field(0.5, ge=0, le=1, description="Share of relational spend on answering users; the rest goes to content.")
    cost_per_answer: Float = Field(2.0, ge=0.001, le=1e9, description="Cost of answering one visitor at the destination.")
    content_scale: Float = Field(500.0, ge=0.001, le=1e12, description="Daily content spend at which content adds ln 2 x content_pull to the destination's utility.")
    initial_awareness: Float = Field(0.05, ge=0, le=1, description="Awareness of the brand on day 0, the same for every user (with choice sets, also the chance that the brand comes to mind on the first day).")
    initial_trust: Float = Field(0.0, ge=-1, le=1, description="Trust in the brand on day 0, the same for every user.")
    quality: Float = Field(0.3, ge=-1, le=1, description="Product experience: a buyer's trust moves toward it at each purchase.")
    destination: DestinationConfig = Field(default_factory=DestinationConfig, description="The brand's own site or community page.")

    @model_validator(mode="after")
    def _share_matches_strategy(self) -> "BrandConfig":
        if self.strategy == "mixed" and self.relational_share is None:
            raise ValueError("a 'mixed' strategy needs `relational_share` (0 to 1)")
        if self.strategy not in ("mixed", "copycat") and self.relational_share is not None:
            raise ValueError(f"`relational_share` is only for the 'mixed' and 'copycat' strategies (strategy is '{self.strategy}')")
        return self

    @property
    def relational_fraction(self) -> float:
        return strategy_share(self.strategy, self.relational_share)


def strategy_share(strategy: str, relational_share: float | None) -> float:
    """Fraction of a brand's budget spent relationally (an influencer brand spends it all on influencers)."""
    if strategy == "copycat":
        return 0.5 if relational_share is None else relational_share
    return {"billboard": 0.0, "relational": 1.0, "influencer": 0.0}.get(strategy, relational_share or 0.0)


class SourceTrustConfig(Strict):
    """Trust by source: shares of consumers who trust each form of advertising completely or somewhat.

    Defaults: Nielsen Global Online Consumer Survey, April 2009 (25,000 internet users in 50
    countries; Nielsen, July 2009): recommendations from people known 90 %, brand websites 70 %,
    online banner ads 33 %.
    """

    friend: Float = Field(0.90, gt=0, le=1, description="A friend's recommendation (Nielsen 2009: 90 %); the reference the others are weighed against.")
    brand_site: Float = Field(0.70, ge=0, le=1, description="A brand's own website (Nielsen 2009: 70 %).")
    banner: Float = Field(0.33, ge=0, le=1, description="An online banner ad (Nielsen 2009: 33 %).")

    @model_validator(mode="after")
    def _friend_is_the_reference(self) -> "SourceTrustConfig":
        for name in ("brand_site", "banner"):
            if getattr(self, name) > self.friend:
                raise ValueError(f"{name} ({getattr(self, name)}) is trusted more than a friend ({self.friend}): "
                                 "weights are relative to a friend's recommendation and cannot exceed 1")
        return self


class MarketConfig(Strict):
    """Adoption and sales: the network Bass model driven by attention."""

    p: Float = Field(0.004, ge=0, le=1, description="External pull: daily adoption probability of a fully exposed user (Bass p per day).")
    q: Float = Field(0.05, ge=0, le=1, description="Word-of-mouth pull: daily adoption probability when every neighbour is a fully trusting adopter (Bass q per day).")
    exposure: Literal["attention", "full"] = Field(
        "attention", description="attention: external pull only through impressions and visits a user actually gets; full: every user fully exposed (the Bass limit: no funnel).")
    choice_set: Bool = Field(False, description="A user considers a brand's site only on days the brand comes to mind, with probability equal to the user's awareness of it (true); false: every site is in every choice set and awareness adds ln(awareness + 0.001) to its utility.")
    funnel: Bool = Field(False, description="The external pull of impressions and visits works on aware users, scaled by trust: the purchase hazard takes it times awareness x (1 + trust) / 2, each source weighted by source_trust (true); false: on everyone alike, at full weight. Off with exposure: full.")
    source_trust: SourceTrustConfig = Field(default_factory=SourceTrustConfig, description="How far people trust each source of a purchase nudge (Nielsen 2009); with the funnel, the external pull of a banner and of a brand's site is weighted by its trust relative to a friend's recommendation.")
    engagement_minutes: Float = Field(10.0, gt=0, le=1440, description="Minutes at a brand's destination that give 63% of the full external pull.")
    repurchase_rate: Float = Field(0.01, ge=0, le=1, description="Daily probability that a customer with trust 1 buys again (half of it at trust 0, none at -1).")
    experience_weight: Float = Field(0.5, ge=0, le=1, description="Share of the distance to the product's quality that a buyer's trust moves at each purchase.")
    campaign_novelty_decay: Float = Field(0.0, ge=0, le=1, description="Share of a campaign's novelty lost each day (Wu & Huberman 2007); novelty scales the effect of its impressions and content.")
    awareness_forgetting: Float = Field(0.01, ge=0, le=1, description="Share of awareness forgotten each day.")
    trust_forgetting: Float = Field(0.01, ge=0, le=1, description="Share of the distance between a user's trust and the brand's initial_trust lost each day: opinions, good and bad, fade toward the baseline (0.01: a half-life of 69 days).")


class AdvertisingConfig(Strict):
    """How impressions work on users."""

    ad_effect: Float = Field(0.05, ge=0, le=1, description="Effect of one impression on a naive, unfatigued user.")
    fatigue_per_impression: Float = Field(0.05, ge=0, le=10, description="Ad fatigue added by each impression of the same brand (effect falls as e^-fatigue).")
    fatigue_recovery: Float = Field(0.1, ge=0, le=1, description="Share of fatigue lost each day.")
    click_rate: Float = Field(0.00225, ge=0, le=1, description="Chance that a naive, unfatigued user clicks an impression, worn out like its effect (clicks are observed as expected values). The default gives the 2010 baseline a click-through of about 0.1 % (DoubleClick 2009).")
    savviness_initial: Float = Field(0.05, ge=0, lt=1, description="Ad blindness on day 0 (effect of an impression falls by this share).")
    savviness_growth: Float = Field(0.02, ge=0, le=1, description="Savviness gained per thousand ads seen (of any advertiser), on the remaining naivety.")
    savviness_decay: Float = Field(0.0, ge=0, le=1, description="Share of the savviness above savviness_initial lost each day: ad blindness fades without ads and settles where growth and decay balance (0: it only grows; 0.01 is a half-life of 69 days).")


class WordOfMouthConfig(Strict):
    """What flows along the edges of the social graph."""

    awareness_spread: Float = Field(0.05, ge=0, le=1, description="Daily awareness gained from the share of neighbours who talk about the brand (customers, fans and critics).")
    trust_influence: Float = Field(0.02, ge=0, le=1, description="Daily pull of a user's trust toward the opinions neighbours voice.")
    negativity_bias: Float = Field(2.0, ge=0, le=100, description="Weight of a negative opinion against a positive one.")
    urge_fading: Float = Field(0.1, ge=0, le=1, description="Share of the urge to talk of a fresh experience lost each day: a user who buys, is answered, or turns against a brand (trust falls below 0, or a crisis hits) speaks of it at full voice, then less and less (0.1: told for about 10 days).")
    talk_threshold: Float = Field(0.0, ge=0, le=1, description="Customers and fans speak well of a brand every day only while their trust is at least this (otherwise only with the urge of a fresh experience; a grievance is told while fresh). 0: every customer and fan who does not distrust the brand speaks.")
    feed_minutes: Float = Field(0.0, ge=0, le=1440, description="Minutes a day on social platforms (sinks of kind 'social') at which a user takes in all of the neighbours' talk; less time, proportionally less, both to post and to hear (a finite feed; 15 is about the mean social time of the 2010 web). 0: talk needs no attention.")


class RelationalConfig(Strict):
    """What conversation and community do."""

    answer_trust_gain: Float = Field(0.2, ge=0, le=1, description="Share of the distance to full trust that an answered visitor gains.")
    content_pull: Float = Field(1.0, ge=0, le=20, description="Utility content spend adds to the destination (times ln(1 + spend/content_scale)).")
    paid_voice: Float = Field(0.5, ge=0, le=1, description="Weight of a paid influencer's recommendation, against 1 for a fully trusting customer's.")
    trust_pull: Float = Field(1.0, ge=0, le=20, description="Utility of the destination per unit of |trust|: trusting fans come to buy, distrusting critics to complain.")


class SinkLaunch(Strict):
    type: Literal["platform_launch"] = Field(description="A new sink opens, usually with hype.")
    day: Int = Field(ge=1, le=36_500, description="Day the platform opens (days are numbered from 1).")
    sink: SinkConfig = Field(description="The new sink (usually with novelty and a network effect).")


class SinkClose(Strict):
    type: Literal["platform_close"] = Field(description="A sink shuts; its users spend their time elsewhere.")
    day: Int = Field(ge=1, le=36_500, description="Day the platform shuts.")
    sink: Name = Field(description="Name of the sink that leaves.")


class Crisis(Strict):
    type: Literal["crisis"] = Field(description="Aware users of a brand lose trust; negative word of mouth follows.")
    day: Int = Field(ge=1, le=36_500, description="Day the crisis breaks.")
    brand: Name = Field(description="Brand in crisis.")
    share: Float = Field(0.2, gt=0, le=1, description="Share of the brand's aware users who hear of it that day.")
    trust_loss: Float = Field(0.8, gt=0, le=2, description="Trust each of them loses (trust stays within [-1, 1]).")


class BudgetChange(Strict):
    type: Literal["budget_change"] = Field(description="A brand's daily budget changes.")
    day: Int = Field(ge=1, le=36_500, description="Day the new budget starts.")
    brand: Name = Field(description="Brand whose budget changes.")
    budget_per_day: Float = Field(ge=0, le=1e12, description="The new daily budget.")


class StrategyChange(Strict):
    type: Literal["strategy_change"] = Field(description="A brand switches strategy.")
    day: Int = Field(ge=1, le=36_500, description="Day the new strategy starts.")
    brand: Name = Field(description="Brand whose strategy changes.")
    strategy: Literal["billboard", "relational", "mixed"] = Field(description="The new strategy (billboard, relational or mixed).")
    relational_share: Float | None = Field(None, ge=0, le=1, description="mixed only: share of the budget spent relationally.")

    @model_validator(mode="after")
    def _share_matches_strategy(self) -> "StrategyChange":
        if self.strategy == "mixed" and self.relational_share is None:
            raise ValueError("a 'mixed' strategy needs `relational_share` (0 to 1)")
        if self.strategy != "mixed" and self.relational_share is not None:
            raise ValueError(f"`relational_share` is only for the 'mixed' strategy (strategy is '{self.strategy}')")
        return self


Event = Annotated[Union[SinkLaunch, SinkClose, Crisis, BudgetChange, StrategyChange], Field(discriminator="type")]


class CollectConfig(Strict):
    """Optional per-user data (the default collects aggregates only)."""

    sample_users: Int = Field(0, ge=0, le=100_000, description="Follow this many randomly chosen users every day (users.csv).")


class ArmConfig(Strict):
    """An alternative for `compare`: the same scenario with some keys changed."""

    name: Name = Field(description="Name of the arm, used in tables and reports.")
    set: dict[str, Any] = Field(default_factory=dict, description="Keys to change, as 'key.path: value' (the same paths as --set).")

    def set_overrides(self) -> list[str]:
        return [f"{key}={json.dumps(value)}" for key, value in self.set.items()]


class Scenario(Strict):
    """A whole scenario file."""

    name: str = Field("scenario", min_length=1, max_length=100, description="Short name, used in reports.")
    description: str = Field("", max_length=5000, description="What the scenario sets up, in a few sentences (shown under the report's title).")
    question: str | None = Field(None, max_length=2000, description="The question the scenario asks, opening every compare report with its verdict. null: the paragraph of the file's header comment that starts with 'Question', if any.")
    currency: str = Field("units", min_length=1, max_length=12, description="Name of the money unit of budgets, prices, revenue and spend, shown with every amount in reports and tables (e.g. EUR, USD).")
    days: Int = Field(365, ge=1, le=36_500, description="Days to simulate (one step is one day).")
    seed: Int = Field(1, ge=0, le=2**63 - 1, description="Seed of the model's random generator (--seed overrides it).")
    population: PopulationConfig = Field(default_factory=PopulationConfig, description="The users.")
    network: NetworkConfig = Field(default_factory=NetworkConfig, description="The social graph.")
    sinks: list[SinkConfig] = Field(min_length=1, description="The attention sinks present on day 0 (brand destinations are added per brand).")
    brands: list[BrandConfig] = Field(min_length=1, description="The brands competing for attention and sales.")
    market: MarketConfig = Field(default_factory=MarketConfig, description="Adoption and sales.")
    advertising: AdvertisingConfig = Field(default_factory=AdvertisingConfig, description="How impressions work on users.")
    word_of_mouth: WordOfMouthConfig = Field(default_factory=WordOfMouthConfig, description="What flows along the graph's edges.")
    relational: RelationalConfig = Field(default_factory=RelationalConfig, description="What conversation and community do.")
    events: list[Event] = Field(default_factory=list, description="Scheduled events: platform_launch, platform_close, crisis, budget_change, strategy_change.")
    collect: CollectConfig = Field(default_factory=CollectConfig, description="Optional per-user data.")
    arms: list[ArmConfig] = Field(default_factory=list, description="Alternatives that `compare` runs side by side (ignored by `run`).")

    @model_validator(mode="after")
    def _a_feed_needs_a_social_platform(self) -> "Scenario":
        launched = [e.sink for e in self.events if e.type == "platform_launch"]
        if self.word_of_mouth.feed_minutes > 0 and not any(s.kind == "social" for s in [*self.sinks, *launched]):
            raise ValueError(f"word_of_mouth.feed_minutes is {self.word_of_mouth.feed_minutes}, but no sink is of kind "
                             "'social': talk passes through time on social platforms, so nobody would ever hear of a "
                             "brand; add a 'social' sink or set feed_minutes to 0 (talk needs no attention)")
        return self


#: The schema model of each event type.
_EVENT_MODELS: dict[str, type[BaseModel]] = {
    "platform_launch": SinkLaunch, "platform_close": SinkClose, "crisis": Crisis,
    "budget_change": BudgetChange, "strategy_change": StrategyChange,
}


#: Rows of sampled-user data a run may hold in memory (collect.sample_users x brands x days).
MAX_SAMPLE_ROWS = 20_000_000
