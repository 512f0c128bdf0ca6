"""Brands as Mesa agents: a budget, a price and a strategy that splits the budget."""

from __future__ import annotations

import math

import mesa
import numpy as np

from simulation.scenario import BrandConfig, strategy_share
from simulation.model.sinks import BrandDestination


class Brand(mesa.Agent):
    """A brand that spends its daily budget on billboards, relations, or both.

    `relational_share` is the whole strategy: 0 buys only impressions, 1 only
    content and service, anything between is a mix. `influencer_share` of the
    budget goes to influencers first (1 for the influencer strategy, 0 for the
    others; the class game sets any three-way split with `set_split`).
    """

    def __init__(self, model: mesa.Model, *, index: int, config: BrandConfig,
                 destination: BrandDestination, ad_columns: np.ndarray, content_pull: float) -> None:
        super().__init__(model)
        self.index = index
        self.name = config.name
        self.strategy = config.strategy
        self.relational_share = config.relational_fraction
        self.influencer_share = 1.0 if config.strategy == "influencer" else 0.0
        self.budget_per_day = config.budget_per_day
        self.price = config.price
        self.margin = config.margin
        self.cpm = config.cpm
        self.frequency_cap = config.frequency_cap  # impressions per user per day; None: no cap
        self.service_share = config.service_share
        self.cost_per_answer = config.cost_per_answer
        self.content_scale = config.content_scale
        self.quality = config.quality
        self.copy_lag = config.copy_lag
        self.copy_penalty = config.copy_penalty
        self.copy_saving = config.copy_saving
        self.influencer_fee = config.influencer_fee
        self.novelty = 1.0  # of its current campaign; scales the effect of its impressions and content
        self.copying: tuple[str, float] | None = None  # copycat: (brand copied, share copied)
        self.influencers_today = 0
        self.share_history: list[float] = []
        self.awareness_history: list[float] = []
        self.content_pull = content_pull
        self.destination = destination
        self.ad_columns = ad_columns
        # today's plan and outcome
        self.impressions_wanted = 0.0
        self.content_spend = 0.0
        self.answer_capacity = 0.0
        self.spend_today = 0.0
        self.impressions_today = 0
        self.daily_reach = 0
        self.answers_today = 0
        self.visitors_today = 0
        self.engaged_minutes_today = 0.0
        self.new_adopters_today = 0
        self.sales_today = 0
        self.last_touch_sales_today = 0  # sales to users who saw an impression or visited in the last 7 days
        self.referrals_today = 0.0  # conversations about the brand that users took in today (§7.9)
        self.clicks_today = 0.0
        self.clicks_total = 0.0
        self.first_impressions_total = 0.0  # impressions to users on the day the brand first reached them
        self.first_clicks_total = 0.0
        # running totals
        self.spend_total = 0.0
        self.impressions_total = 0
        self.sales_total = 0
        self.revenue_total = 0.0

    def set_strategy(self, strategy: str, relational_share: float | None = None) -> None:
        self.strategy = strategy
        self.relational_share = strategy_share(strategy, relational_share)
        self.influencer_share = 1.0 if strategy == "influencer" else 0.0

    def set_split(self, billboard: float, relational: float, influencers: float) -> None:
        """Spend the budget in these proportions (the class game's weekly choice); they need not sum to 1."""
        total = billboard + relational + influencers
        if total <= 0 or min(billboard, relational, influencers) < 0:
            raise ValueError(f"a budget split needs non-negative parts and a positive sum, not "
                             f"{billboard}, {relational}, {influencers}")
        self.strategy = "mixed"
        self.influencer_share = influencers / total
        rest = billboard + relational
        self.relational_share = relational / rest if rest > 0 else 0.0

    def plan_day(self, users: int) -> None:
        """Split today's budget: influencers to pay first, then impressions to buy, content to publish, answers to staff."""
        influencer_budget = self.budget_per_day * self.influencer_share
        self.influencers_today = min(users, int(influencer_budget // self.influencer_fee))
        rest = self.budget_per_day - influencer_budget
        billboard = rest * (1.0 - self.relational_share)
        relational = rest * self.relational_share
        self.impressions_wanted = billboard / self.cpm * 1000.0
        self.content_spend = relational * (1.0 - self.service_share)
        self.answer_capacity = relational * self.service_share / self.cost_per_answer
        # influencers, content and staff are paid whether or not anyone comes; impressions as delivered
        self.spend_today = self.influencers_today * self.influencer_fee + relational

    @property
    def content_boost(self) -> float:
        """Utility today's content adds to the brand's destination (saturating in spend)."""
        scale = self.content_scale * (1.0 - self.copy_saving if self.copying else 1.0)  # a copy is cheaper to make
        return self.novelty * self.content_pull * math.log1p(self.content_spend / scale)

    def copy(self, original: "Brand", share: float) -> bool:
        """Copy another brand's split; a copied campaign starts with less novelty than the original's."""
        if self.copying == (original.name, share):
            return False
        self.copying = (original.name, share)
        self.relational_share = share
        self.novelty = original.novelty * (1.0 - self.copy_penalty)
        return True

    def bill_impressions(self, delivered: int) -> None:
        """Pay for the impressions delivered today, never for more than were bought."""
        paid = min(float(delivered), self.impressions_wanted)
        self.spend_today += paid * self.cpm / 1000.0
        self.impressions_today = int(delivered)

    def record_clicks(self, clicks: float, first_impressions: float, first_clicks: float) -> None:
        """Expected clicks today, and those on users' first day of exposure (for wear-out)."""
        self.clicks_today = float(clicks)
        self.clicks_total += float(clicks)
        self.first_impressions_total += float(first_impressions)
        self.first_clicks_total += float(first_clicks)

    def close_day(self) -> None:
        self.spend_total += self.spend_today
        self.impressions_total += self.impressions_today
        self.sales_total += self.sales_today
        self.revenue_total += self.sales_today * self.price

    def __repr__(self) -> str:
        return f"Brand({self.name!r}, {self.strategy})"
