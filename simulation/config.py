"""The scenario schema, its loader and its error messages.

The pydantic models below *are* the documentation of a scenario file: every key
has a description, a default where one makes sense and a range. A typo is an
error (``extra="forbid"``), never silently ignored. `load_scenario` reads YAML
safely, keeps line numbers and turns every problem into one `ScenarioError`
naming the file, the line, the key path, what was expected and what was found.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Strategy = Literal["billboard", "relational", "mixed", "copycat", "influencer"]
SinkKind = Literal[
    "social", "email", "game", "media", "entertainment", "portal", "search",
    "messaging", "video", "software", "shopping", "other",
]
#: Every kind of attention sink; a brand's own destination has the kind "brand".
SINK_KINDS: tuple[str, ...] = typing.get_args(SinkKind) + ("brand",)

#: Names: letters (any alphabet), digits, spaces and _ & ' - ; no dot, since --set paths use dots.
NAME_PATTERN = r"^\w[\w &'-]*$"
Name = Annotated[str, Field(min_length=1, max_length=60, pattern=NAME_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PopulationConfig(Strict):
    """The users: one per node of the social graph."""

    users: int = Field(10_000, ge=2, le=50_000_000, description="Number of users (nodes of the graph).")
    minutes_mean: float = Field(70.0, gt=0, le=1440, description="Mean daily time online, in minutes.")
    minutes_sd: float = Field(35.0, ge=0, le=1440, description="Standard deviation of daily time online across users (gamma distributed).")
    slots_per_day: int = Field(24, ge=1, le=255, description="A user's day is split into this many equal slots, each spent on one sink.")
    taste_sd: float = Field(0.5, ge=0, le=5, description="Spread of users' taste for each kind of site (standard deviation of a normal term in utility).")
    habit: float = Field(1.5, ge=0, le=10, description="Weight of yesterday's share of time on a sink in today's utility of that sink.")
    agent_views: bool | None = Field(None, description="Create one Mesa agent per user (a thin view over the arrays). null: only when users <= 100000.")


class NetworkConfig(Strict):
    """The social graph users recommend along."""

    kind: Literal["barabasi_albert", "watts_strogatz", "erdos_renyi", "complete", "ring", "file"] = Field(
        "barabasi_albert", description="Graph generator, or 'file' to read `path`. From 50,000 users on, barabasi_albert, "
        "watts_strogatz and erdos_renyi graphs are built straight into arrays (the same model as networkx's, another "
        "random stream) and cached on disk (ATTENTION_MARKET_GRAPH_CACHE: a folder, or off).")
    m: int = Field(3, ge=1, le=1000, description="barabasi_albert: edges each new node brings.")
    k: int = Field(6, ge=2, le=1000, description="watts_strogatz: each node's neighbours in the initial ring (even).")
    rewire: float = Field(0.1, ge=0, le=1, description="watts_strogatz: probability of rewiring each edge.")
    mean_degree: float = Field(6.0, gt=0, le=10_000, description="erdos_renyi: expected number of neighbours.")
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
    kind: SinkKind = Field(description="Kind of site; users' tastes are per kind.")
    appeal: float = Field(0.0, ge=-20, le=20, description="Base utility of a slot spent here (logit scale).")
    ad_load: float = Field(0.0, ge=0, le=20, description="Ad impressions the sink can carry per minute of attention (0: no ads).")
    network_effect: float = Field(0.0, ge=0, le=20, description="Weight of the share of time a user's neighbours spent here yesterday.")
    novelty: float = Field(0.0, ge=0, le=20, description="Hype when the sink appears, added to its utility and decaying each day.")
    novelty_decay: float = Field(0.05, ge=0, le=1, description="Share of the remaining novelty lost each day.")


class DestinationConfig(Strict):
    """A brand's own site or community page (an attention sink of kind 'brand')."""

    appeal: float = Field(-4.0, ge=-20, le=20, description="Base utility of a slot at the brand's destination.")
    network_effect: float = Field(0.5, ge=0, le=20, description="Community pull: weight of neighbours' share of time there.")


class BrandConfig(Strict):
    """A brand, its budget and its strategy."""

    name: Name = Field(description="Unique name of the brand.")
    strategy: Strategy = Field(
        description="billboard: buy impressions; relational: content, conversation and service; mixed: a split; "
                    "copycat: imitate the most visible brand's split after a lag; influencer: pay the best-connected users to recommend.")
    relational_share: float | None = Field(
        None, ge=0, le=1, description="mixed: share of the budget spent relationally (billboard is 0, relational is 1); copycat: its split until it first copies (default 0.5).")
    copy_lag: int = Field(14, ge=1, le=3650, description="copycat only: days it takes to notice and copy the most visible brand's strategy.")
    copy_penalty: float = Field(0.5, ge=0, le=1, description="copycat only: share of the original campaign's novelty a copy lacks.")
    influencer_fee: float = Field(5.0, ge=0.001, le=1e9, description="influencer only: cost of one influencer's recommendations for one day.")
    budget_per_day: float = Field(1000.0, ge=0, le=1e12, description="Money spent per day (currency units).")
    price: float = Field(50.0, gt=0, le=1e9, description="Revenue per sale.")
    margin: float = Field(0.5, ge=0, le=1, description="Gross margin on a sale; ROI = (margin x revenue - spend) / spend.")
    cpm: float = Field(5.0, ge=0.001, le=1e6, description="Cost of a thousand impressions.")
    ad_sinks: list[Name] | None = Field(None, description="Sinks the billboard buys impressions on (null: every sink with ad_load > 0).")
    service_share: float = Field(0.5, ge=0, le=1, description="Share of relational spend on answering users; the rest goes to content.")
    cost_per_answer: float = Field(2.0, ge=0.001, le=1e9, description="Cost of answering one visitor at the destination.")
    content_scale: float = Field(500.0, ge=0.001, le=1e12, description="Daily content spend at which content adds ln 2 x content_pull to the destination's utility.")
    initial_awareness: float = Field(0.05, ge=0, le=1, description="Awareness of the brand on day 0, the same for every user.")
    initial_trust: float = Field(0.0, ge=-1, le=1, description="Trust in the brand on day 0, the same for every user.")
    quality: float = Field(0.3, ge=-1, le=1, description="Product experience: a buyer's trust moves toward it at each purchase.")
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


class MarketConfig(Strict):
    """Adoption and sales: the network Bass model driven by attention."""

    p: float = Field(0.004, ge=0, le=1, description="External pull: daily adoption probability of a fully exposed user (Bass p per day).")
    q: float = Field(0.05, ge=0, le=1, description="Word-of-mouth pull: daily adoption probability when every neighbour is a fully trusting adopter (Bass q per day).")
    exposure: Literal["attention", "full"] = Field(
        "attention", description="attention: external pull only through impressions and visits a user actually gets; full: every user fully exposed (the Bass limit).")
    engagement_minutes: float = Field(10.0, gt=0, le=1440, description="Minutes at a brand's destination that give 63% of the full external pull.")
    repurchase_rate: float = Field(0.01, ge=0, le=1, description="Daily probability that a customer with trust 1 buys again (half of it at trust 0, none at -1).")
    experience_weight: float = Field(0.5, ge=0, le=1, description="Share of the distance to the product's quality that a buyer's trust moves at each purchase.")
    campaign_novelty_decay: float = Field(0.0, ge=0, le=1, description="Share of a campaign's novelty lost each day (Wu & Huberman 2007); novelty scales the effect of its impressions and content.")
    awareness_forgetting: float = Field(0.01, ge=0, le=1, description="Share of awareness forgotten each day.")


class AdvertisingConfig(Strict):
    """How impressions work on users."""

    ad_effect: float = Field(0.05, ge=0, le=1, description="Effect of one impression on a naive, unfatigued user.")
    fatigue_per_impression: float = Field(0.05, ge=0, le=10, description="Ad fatigue added by each impression of the same brand (effect falls as e^-fatigue).")
    fatigue_recovery: float = Field(0.1, ge=0, le=1, description="Share of fatigue lost each day.")
    click_rate: float = Field(0.00225, ge=0, le=1, description="Chance that a naive, unfatigued user clicks an impression, worn out like its effect (clicks are observed as expected values). The default gives the 2010 baseline a click-through of about 0.1 % (DoubleClick 2009).")
    savviness_initial: float = Field(0.05, ge=0, lt=1, description="Ad blindness on day 0 (effect of an impression falls by this share).")
    savviness_growth: float = Field(0.02, ge=0, le=1, description="Savviness gained per thousand ads seen (of any advertiser), on the remaining naivety.")


class WordOfMouthConfig(Strict):
    """What flows along the edges of the social graph."""

    awareness_spread: float = Field(0.05, ge=0, le=1, description="Daily awareness gained from the share of neighbours who talk about the brand (customers, fans and critics).")
    trust_influence: float = Field(0.02, ge=0, le=1, description="Daily pull of a user's trust toward the opinions neighbours voice.")
    negativity_bias: float = Field(2.0, ge=0, le=100, description="Weight of a negative opinion against a positive one.")


class RelationalConfig(Strict):
    """What conversation and community do."""

    answer_trust_gain: float = Field(0.2, ge=0, le=1, description="Share of the distance to full trust that an answered visitor gains.")
    content_pull: float = Field(1.0, ge=0, le=20, description="Utility content spend adds to the destination (times ln(1 + spend/content_scale)).")
    paid_voice: float = Field(0.5, ge=0, le=1, description="Weight of a paid influencer's recommendation, against 1 for a fully trusting customer's.")
    trust_pull: float = Field(1.0, ge=0, le=20, description="Utility of the destination per unit of |trust|: trusting fans come to buy, distrusting critics to complain.")


class SinkLaunch(Strict):
    type: Literal["platform_launch"] = Field(description="A new sink opens, usually with hype.")
    day: int = Field(ge=1, le=36_500, description="Day the platform opens (days are numbered from 1).")
    sink: SinkConfig = Field(description="The new sink (usually with novelty and a network effect).")


class SinkClose(Strict):
    type: Literal["platform_close"] = Field(description="A sink shuts; its users spend their time elsewhere.")
    day: int = Field(ge=1, le=36_500, description="Day the platform shuts.")
    sink: Name = Field(description="Name of the sink that leaves.")


class Crisis(Strict):
    type: Literal["crisis"] = Field(description="Aware users of a brand lose trust; negative word of mouth follows.")
    day: int = Field(ge=1, le=36_500, description="Day the crisis breaks.")
    brand: Name = Field(description="Brand in crisis.")
    share: float = Field(0.2, gt=0, le=1, description="Share of the brand's aware users who hear of it that day.")
    trust_loss: float = Field(0.8, gt=0, le=2, description="Trust each of them loses (trust stays within [-1, 1]).")


class BudgetChange(Strict):
    type: Literal["budget_change"] = Field(description="A brand's daily budget changes.")
    day: int = Field(ge=1, le=36_500, description="Day the new budget starts.")
    brand: Name = Field(description="Brand whose budget changes.")
    budget_per_day: float = Field(ge=0, le=1e12, description="The new daily budget.")


class StrategyChange(Strict):
    type: Literal["strategy_change"] = Field(description="A brand switches strategy.")
    day: int = Field(ge=1, le=36_500, description="Day the new strategy starts.")
    brand: Name = Field(description="Brand whose strategy changes.")
    strategy: Literal["billboard", "relational", "mixed"] = Field(description="The new strategy (billboard, relational or mixed).")
    relational_share: float | None = Field(None, ge=0, le=1, description="mixed only: share of the budget spent relationally.")

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

    sample_users: int = Field(0, ge=0, le=100_000, description="Follow this many randomly chosen users every day (users.csv).")


class ArmConfig(Strict):
    """An alternative for `compare`: the same scenario with some keys changed."""

    name: Name = Field(description="Name of the arm, used in tables and reports.")
    set: dict[str, Any] = Field(default_factory=dict, description="Keys to change, as 'key.path: value' (the same paths as --set).")

    def set_overrides(self) -> list[str]:
        return [f"{key}={json.dumps(value)}" for key, value in self.set.items()]


class Scenario(Strict):
    """A whole scenario file."""

    name: str = Field("scenario", min_length=1, max_length=100, description="Short name, used in reports.")
    description: str = Field("", max_length=5000, description="What question the scenario asks.")
    days: int = Field(365, ge=1, le=36_500, description="Days to simulate (one step is one day).")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Seed of the model's random generator (--seed overrides it).")
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


# --------------------------------------------------------------------------
# Errors

#: Rows of sampled-user data a run may hold in memory (collect.sample_users x brands x days).
MAX_SAMPLE_ROWS = 20_000_000


class ScenarioError(Exception):
    """A user's mistake in a scenario or an override: printed as is, exit code 2."""


def _path_text(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)


class _Lines:
    """Key path -> line number, from the YAML node tree."""

    def __init__(self, text: str):
        self.lines: dict[tuple, int] = {}
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            root = None
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = path + (key.value,)
                self._walk(value, sub)
                self.lines[sub] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, path + (i,))

    def line(self, path: tuple) -> int | None:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)


def _fields_at(path: tuple, data: Any = None) -> list[str]:
    """Field names of the schema model that holds the key at `path` (events by their `type` in `data`)."""
    model: Any = Scenario
    node = data
    for i, part in enumerate(path[:-1]):
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
            if path[:i] == ("events",):
                model = _EVENT_MODELS.get(node.get("type")) if isinstance(node, dict) else None
            continue
        if model is None or part not in getattr(model, "model_fields", {}):
            return []
        model = _model_in(model.model_fields[part].annotation, part)
        node = node.get(part) if isinstance(node, dict) else None
    return list(getattr(model, "model_fields", {}) or [])


def key_is_integer(key: str, data: dict) -> bool:
    """Whether the scenario key 'a.b.c' (list items by index or name) holds a whole number."""
    parts: list = []
    node: Any = data
    for part in key.split("."):
        if isinstance(node, list):
            index = next((i for i, e in enumerate(node) if isinstance(e, dict) and str(e.get("name")) == part), None)
            if index is None and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
                index = int(part) % len(node)
            if index is None:
                return False
            parts.append(index)
            node = node[index]
        else:
            parts.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    model: Any = Scenario
    walk: Any = data
    for i, part in enumerate(parts):
        if isinstance(part, int):
            walk = walk[part] if isinstance(walk, list) else None
            if parts[:i] == ["events"]:
                model = _EVENT_MODELS.get(walk.get("type")) if isinstance(walk, dict) else None
            continue
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return False
        annotation = fields[part].annotation
        if i == len(parts) - 1:
            kinds = {a for a in typing.get_args(annotation)} or {annotation}
            return int in kinds and float not in kinds
        model = _model_in(annotation, part)
        walk = walk.get(part) if isinstance(walk, dict) else None
    return False


def _model_in(ann: Any, part: str) -> Any:
    candidates = [ann]
    found = None
    while candidates:
        a = candidates.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            found = a
        candidates.extend(typing.get_args(a))
    return found


_EVENT_MODELS: dict[str, type[BaseModel]] = {
    "platform_launch": SinkLaunch, "platform_close": SinkClose, "crisis": Crisis,
    "budget_change": BudgetChange, "strategy_change": StrategyChange,
}
_EVENT_TAGS = set(_EVENT_MODELS)


def _clean_loc(loc: tuple) -> tuple:
    """Drop pydantic's union tags from an error location."""
    return tuple(p for p in loc if not (isinstance(p, str) and p in _EVENT_TAGS | {"function-after"}))


def _message(err: dict, path: tuple, data: Any) -> str:
    kind, msg, found = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        fields = _fields_at(path, data)
        close = difflib.get_close_matches(str(path[-1]), fields, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; valid keys here: {', '.join(fields)}" if fields else "")
        return f"unknown key '{path[-1]}'{hint}"
    if kind == "missing":
        return "expected a value for this required key, found none"
    if kind == "union_tag_invalid":
        return f"expected an event type among {', '.join(sorted(_EVENT_TAGS))}, found {_describe(err.get('ctx', {}).get('tag'))}"
    if kind == "string_pattern_mismatch":
        return ("expected a name of letters, digits, spaces, _ & ' or - (no dot), starting with a letter, "
                f"digit or _, found {_describe(found)}")
    if kind == "string_too_long":
        return f"expected at most {err.get('ctx', {}).get('max_length')} characters, found {len(str(found))}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"expected a number {msg.removeprefix('Input should be ')}, found {_describe(found)}"
    if msg.startswith("Input should be"):
        return f"expected {msg.removeprefix('Input should be ')}, found {_describe(found)}"
    return f"{msg}, found {_describe(found)}"


def _check_references(s: Scenario) -> list[tuple[tuple, str]]:
    """Cross-references the schema alone cannot see: unique names, known sinks and brands."""
    problems: list[tuple[tuple, str]] = []
    sink_names: list[str] = []
    for i, sink in enumerate(s.sinks):
        if sink.name in sink_names:
            problems.append((("sinks", i, "name"), f"two sinks are named '{sink.name}'"))
        sink_names.append(sink.name)
    launched = [e.sink.name for e in s.events if isinstance(e, SinkLaunch)]
    for i, e in enumerate(s.events):
        if isinstance(e, SinkLaunch) and (e.sink.name in sink_names or launched.count(e.sink.name) > 1):
            problems.append((("events", i, "sink", "name"), f"a sink named '{e.sink.name}' already exists"))
    if s.network.kind not in ("file", "complete"):
        users = s.population.users
        if s.network.kind == "barabasi_albert" and s.network.m >= users:
            problems.append((("network", "m"), f"barabasi_albert needs m < population.users, found m={s.network.m} for {users} users"))
        if s.network.kind == "watts_strogatz" and s.network.k >= users:
            problems.append((("network", "k"), f"watts_strogatz needs k < population.users, found k={s.network.k} for {users} users"))
    rows = s.collect.sample_users * len(s.brands) * s.days
    if rows > MAX_SAMPLE_ROWS:
        problems.append((("collect", "sample_users"), f"{s.collect.sample_users} users x {len(s.brands)} brands x {s.days} days "
                         f"is {rows:,} rows; at most {MAX_SAMPLE_ROWS:,} are kept in memory: follow fewer users"))
    closes: dict[str, int] = {}
    launch_day = {e.sink.name: e.day for e in s.events if isinstance(e, SinkLaunch)}
    for i, e in enumerate(s.events):
        if isinstance(e, SinkClose):
            if e.sink in closes:
                problems.append((("events", i, "sink"), f"'{e.sink}' is already closed by events[{closes[e.sink]}]"))
            closes[e.sink] = i
            if e.sink in launch_day and e.day <= launch_day[e.sink]:
                problems.append((("events", i, "day"), f"'{e.sink}' closes on day {e.day}, before it launches on day {launch_day[e.sink]}"))
    all_sinks = sink_names + launched
    brand_names: list[str] = []
    for i, brand in enumerate(s.brands):
        if brand.name in brand_names:
            problems.append((("brands", i, "name"), f"two brands are named '{brand.name}'"))
        if brand.name in all_sinks:
            problems.append((("brands", i, "name"), f"'{brand.name}' is already the name of a sink"))
        brand_names.append(brand.name)
        for j, sink in enumerate(brand.ad_sinks or []):
            if sink not in all_sinks:
                problems.append((("brands", i, "ad_sinks", j), _unknown("sink", sink, all_sinks)))
    for i, e in enumerate(s.events):
        if isinstance(e, (Crisis, BudgetChange, StrategyChange)) and e.brand not in brand_names:
            problems.append((("events", i, "brand"), _unknown("brand", e.brand, brand_names)))
        if isinstance(e, SinkClose) and e.sink not in all_sinks:
            problems.append((("events", i, "sink"), _unknown("sink", e.sink, all_sinks)))
    return problems


def _unknown(what: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
    return f"no {what} named '{name}' ({hint})"


# --------------------------------------------------------------------------
# Loading

class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key written twice in one mapping (the second would silently win)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is written twice in one mapping (first on line {seen[key]})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> tuple[str, Any]:
    if not path.exists():
        raise ScenarioError(f"{path}: no such scenario file")
    if path.is_dir():
        raise ScenarioError(f"{path}: is a folder, expected a YAML scenario file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{where}: YAML syntax error: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: expected a mapping of keys (name, sinks, brands, ...), found {_describe(data)}")
    return text, data


def parse_override(item: str) -> tuple[list[str], Any]:
    """'a.b.c=value' -> (['a', 'b', 'c'], value parsed as YAML)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(f"--set {item}: expected key.path=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_override(data: dict, item: str) -> tuple:
    """Set one key path in the raw scenario data; list items by index or by their `name`."""
    parts, value = parse_override(item)
    node: Any = data
    path: list = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(node, part, item)
            path.append(index)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            path.append(part)
            if last:
                node[part] = value
            else:
                if part not in node or node[part] is None:
                    if part not in _fields_at(tuple(path), data):
                        fields = _fields_at(tuple(path), data)
                        close = difflib.get_close_matches(part, fields, n=1, cutoff=0.5)
                        hint = f"; did you mean '{close[0]}'?" if close else ""
                        raise ScenarioError(f"--set {item}: unknown key '{part}'{hint}")
                    node[part] = {}
                node = node[part]
        else:
            raise ScenarioError(f"--set {item}: '{'.'.join(parts[:i])}' is a value, not a section")
    return tuple(path)


def _list_index(node: list, part: str, item: str) -> int:
    for index, element in enumerate(node):  # a name wins over an index ('3' may be a sink's name)
        if isinstance(element, dict) and str(element.get("name")) == part:
            return index
    if part.lstrip("-").isdigit():
        index = int(part)
        if not -len(node) <= index < len(node):
            raise ScenarioError(f"--set {item}: index {index} is out of range (the list has {len(node)} items)")
        return index % len(node)
    names = [str(e.get("name")) for e in node if isinstance(e, dict)]
    raise ScenarioError(f"--set {item}: no item named '{part}' (known: {', '.join(names)})")


def validate_data(data: dict, *, source: str, lines: _Lines | None = None, overrides: dict | None = None) -> Scenario:
    """Validate raw scenario data; every problem becomes one ScenarioError."""
    overrides = overrides or {}
    try:
        scenario = Scenario.model_validate(data)
        problems = _check_references(scenario)
    except ValidationError as exc:
        problems = [(_clean_loc(tuple(e["loc"])), _message(e, _clean_loc(tuple(e["loc"])), data)) for e in exc.errors()]
    if not problems:
        return scenario
    out = []
    for path, msg in problems:
        override = next((o for p, o in overrides.items() if path[: len(p)] == p or p[: len(path)] == path), None)
        if override:
            where = f"--set {override}"
        else:
            line = lines.line(path) if lines else None
            where = f"{source}:{line}" if line else source
        out.append(f"{where}: {_path_text(path)}: {msg}")
    raise ScenarioError("\n".join(out))


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> "LoadedScenario":
    """Read, override and validate a scenario file."""
    path = Path(path)
    text, data = _read_yaml(path)
    applied = {}
    for item in overrides:
        applied[apply_override(data, item)] = item
    scenario = validate_data(data, source=str(path), lines=_Lines(text), overrides=applied)
    if scenario.network.path and not Path(scenario.network.path).is_absolute():
        scenario.network.path = str((path.parent / scenario.network.path).resolve())
    if scenario.network.kind == "file" and not Path(scenario.network.path).is_file():
        line = _Lines(text).line(("network", "path"))
        raise ScenarioError(f"{path}:{line}: network.path: no such graph file: {scenario.network.path}")
    return LoadedScenario(
        scenario=scenario,
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        overrides=tuple(overrides),
    )


class LoadedScenario(BaseModel):
    """A validated scenario with where it came from (for provenance)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    scenario: Scenario
    path: Path
    sha256: str
    overrides: tuple[str, ...] = ()
