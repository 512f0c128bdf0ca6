"""Attention sinks: the places users spend their time, as Mesa agents.

Each sink owns one column of the users x sinks arrays. Its state that changes
during a run (novelty, today's minutes and visitors) lives here; the users'
side lives in `Population`.
"""

from __future__ import annotations

import mesa

from simulation.scenario import SinkConfig


class Sink(mesa.Agent):
    """A platform, a service or a site competing for users' minutes."""

    kind = "other"

    def __init__(self, model: mesa.Model, *, column: int, config: SinkConfig | None = None,
                 name: str = "", kind: str | None = None, appeal: float = 0.0, ad_load: float = 0.0,
                 network_effect: float = 0.0, novelty: float = 0.0, novelty_decay: float = 0.0) -> None:
        super().__init__(model)
        self.members, self.join_p, self.join_q, self.lapse, self.has_members = 1.0, 0.0, 0.0, 0.0, False
        if config is not None:
            name, kind, appeal, ad_load = config.name, config.kind, config.appeal, config.ad_load
            network_effect, novelty, novelty_decay = config.network_effect, config.novelty, config.novelty_decay
            self.members, self.join_p, self.join_q, self.lapse = config.members, config.join_p, config.join_q, config.lapse
            self.has_members = config.has_members
        self.column = column
        self.name = name
        self.kind = kind or type(self).kind
        self.appeal = appeal
        self.ad_load = ad_load
        self.network_effect = network_effect
        self.novelty = novelty
        self.novelty_decay = novelty_decay
        self.active = True
        self.minutes_today = 0.0
        self.share_today = 0.0
        self.visitors_today = 0
        self.member_count = 0  # sinks with members (§7.3a): members today, and tonight's joins and lapses
        self.joins_today = 0
        self.lapses_today = 0

    @property
    def pull(self) -> float:
        """Utility every user gets from a slot here before taste, habit and friends."""
        return self.appeal + self.novelty

    def member_share(self, users: int) -> float:
        """Share of users who are members (1 for a sink open to everyone; 0 before a platform opens)."""
        if not self.has_members:
            return 1.0 if self.active else 0.0
        return self.member_count / users

    def decay_novelty(self) -> None:
        self.novelty *= 1.0 - self.novelty_decay

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class SocialPlatform(Sink):
    kind = "social"


class EmailService(Sink):
    kind = "email"


class GameSite(Sink):
    kind = "game"


class MediaSite(Sink):
    kind = "media"


class EntertainmentSite(Sink):
    kind = "entertainment"


class WebSite(Sink):
    """Portals, search, messaging, video, software, shopping and the rest of the web."""

    kind = "other"


class BrandDestination(Sink):
    """A brand's own site or community page; its pull grows with awareness, trust and content."""

    kind = "brand"

    def __init__(self, model: mesa.Model, *, column: int, brand_name: str, appeal: float, network_effect: float) -> None:
        super().__init__(model, column=column, name=f"{brand_name} (site)", kind="brand",
                         appeal=appeal, network_effect=network_effect)
        self.brand_name = brand_name


SINK_CLASSES: dict[str, type[Sink]] = {
    "social": SocialPlatform,
    "email": EmailService,
    "game": GameSite,
    "media": MediaSite,
    "entertainment": EntertainmentSite,
}


def make_sink(model: mesa.Model, column: int, config: SinkConfig) -> Sink:
    """The Sink subclass that fits the configured kind."""
    return SINK_CLASSES.get(config.kind, WebSite)(model, column=column, config=config)
