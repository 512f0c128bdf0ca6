"""The class game: each team runs one brand and chooses its budget split week by week.

In the spirit of NetLogo's HubNet. Two layers, neither of which knows about a web page:
- `Game`: one market (one `AttentionModel`), one brand per team, played a week (7 days) at
  a time with each team's split for that week; `replay` plays a whole plan again on the
  same seed, which is how the end of the game shows what other strategies would have done.
- `ClassRoom`: what the server shares between the teacher's page and the students' pages:
  the join code, the teams (one per browser session), the choices waiting for the next
  week, and a version number pages wait on to redraw. All its methods are thread-safe.
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from simulation.model import AttentionModel
from simulation.scenario import Scenario, load_scenario
from simulation.scenario.schema import NAME_PATTERN

DAYS_PER_WEEK = 7
GAME_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "class_game.yaml"
MAX_TEAMS = 60
TEAM_NAME_LENGTH = 24


@dataclass(frozen=True)
class Split:
    """Shares of a week's budget: billboard (bought impressions), relational (content and answers), influencers."""

    billboard: float
    relational: float
    influencers: float

    @classmethod
    def from_percent(cls, billboard: float, relational: float, influencers: float) -> "Split":
        """From three slider values (any scale); they are normalised to shares that sum to 1."""
        parts = [float(billboard), float(relational), float(influencers)]
        if any(not math.isfinite(p) or p < 0 for p in parts) or sum(parts) <= 0:
            raise ValueError("put some of the budget somewhere: the three parts must be 0 or more, and not all 0")
        total = sum(parts)
        return cls(*(p / total for p in parts))

    def label(self) -> str:
        return (f"{self.billboard:.0%} billboard, {self.relational:.0%} relational, "
                f"{self.influencers:.0%} influencers")


#: The strategies every team is compared with at the end (each played every week).
ALTERNATIVES: dict[str, Split] = {
    "all billboard": Split(1.0, 0.0, 0.0),
    "all relational": Split(0.0, 1.0, 0.0),
    "all influencers": Split(0.0, 0.0, 1.0),
    "a third each": Split(1 / 3, 1 / 3, 1 / 3),
}
#: What a team that has not chosen yet plays in its first week.
OPENING_SPLIT = ALTERNATIVES["a third each"]


@dataclass
class TeamWeek:
    """One team's week: the split it played (chosen this week, or kept from the last) and what came of it."""

    week: int
    split: Split
    chosen: bool
    sales: int
    spend: float
    revenue: float
    profit_to_date: float
    roi_to_date: float | None
    trust: float
    awareness: float
    impressions: int = 0  # delivered this week
    influencers: int = 0  # influencer-days paid this week


def trust_among_aware(trust: np.ndarray, awareness: np.ndarray) -> float:
    """What the people who know a brand think of it: users' trust weighted by their awareness (0 if nobody knows it)."""
    weight = awareness.astype(np.float64)
    total = weight.sum()
    return float((trust * weight).sum() / total) if total > 0 else 0.0


def market_for(template: Scenario, teams: list[str], users: int | None = None) -> Scenario:
    """The game's market: the template scenario with one brand per team, each a copy of its first brand."""
    data = template.model_dump(mode="json")
    brand = data["brands"][0]
    brand.update(strategy="mixed", relational_share=0.5)
    data["brands"] = [{**brand, "name": team} for team in teams]
    data["events"] = [e for e in data.get("events", []) if "brand" not in e]  # events about template brands
    if users is not None:
        data["population"]["users"] = int(users)
    return Scenario.model_validate(data)


class Game:
    """One market in which each team's brand plays the split its team chose for each week."""

    def __init__(self, template: Scenario, teams: list[str], *, weeks: int, seed: int,
                 users: int | None = None) -> None:
        if not teams:
            raise ValueError("a game needs at least one team")
        self.teams = list(teams)
        self.weeks = int(weeks)
        self.seed = int(seed)
        self.scenario = market_for(template, self.teams, users)
        self.model = AttentionModel(self.scenario, self.seed, days=self.weeks * DAYS_PER_WEEK)
        self.week = 0  # weeks played
        self.plan: list[dict[str, Split]] = []  # the split each team played, week by week
        self.results: list[dict[str, TeamWeek]] = []

    @property
    def finished(self) -> bool:
        return self.week >= self.weeks

    def play_week(self, splits: dict[str, Split], chosen: set[str] | frozenset[str] = frozenset()) -> dict[str, TeamWeek]:
        """Play one week: every team's split (all teams must have one), then seven days of the market."""
        if self.finished:
            raise RuntimeError(f"the game has ended after week {self.weeks}")
        missing = set(self.teams) - set(splits)
        if missing:
            raise ValueError(f"no split for {sorted(missing)}")
        for team in self.teams:
            s = splits[team]
            self.model.brand(team).set_split(s.billboard, s.relational, s.influencers)
        before = {team: _totals(self.model.brand(team)) for team in self.teams}
        influencers = dict.fromkeys(self.teams, 0)
        for _ in range(DAYS_PER_WEEK):
            self.model.step()
            for team in self.teams:
                influencers[team] += self.model.brand(team).influencers_today
        pop = self.model.population
        week = {}
        for team in self.teams:
            brand = self.model.brand(team)
            profit = brand.margin * brand.revenue_total - brand.spend_total
            sales, spend, revenue, impressions = (now - then for now, then in zip(_totals(brand), before[team]))
            week[team] = TeamWeek(
                week=self.week + 1, split=splits[team], chosen=team in chosen,
                sales=sales, spend=spend, revenue=revenue, profit_to_date=profit,
                roi_to_date=profit / brand.spend_total if brand.spend_total > 0 else None,
                trust=trust_among_aware(pop.trust[brand.index], pop.awareness[brand.index]),
                awareness=float(pop.awareness[brand.index].mean(dtype=np.float64)),
                impressions=int(impressions), influencers=influencers[team])
        # the week counts as played only with its results: a page never sees one without the other
        self.plan.append({team: splits[team] for team in self.teams})
        self.results.append(week)
        self.week += 1
        return week

    def weeks_of(self, team: str) -> list[TeamWeek]:
        return [week[team] for week in list(self.results)]

    def record(self) -> list[tuple[str, TeamWeek]]:
        """Every team's every week, as played: week by week, the teams in joining order."""
        return [(team, week[team]) for week in list(self.results) for team in self.teams]

    def standings(self) -> list[dict]:
        """Teams ranked by profit to date (margin x revenue - spend), then by sales; rank 1 is best."""
        if not self.results:
            return []
        last = self.results[-1]
        rows = [{"team": team, "sales": sum(r[team].sales for r in self.results),
                 "spend": sum(r[team].spend for r in self.results), "profit": last[team].profit_to_date,
                 "roi": last[team].roi_to_date, "trust": last[team].trust} for team in self.teams]
        rows.sort(key=lambda r: (-r["profit"], -r["sales"], r["team"]))
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank
        return rows


def _totals(brand) -> tuple[int, float, float, int]:
    """A brand's running totals a week's figures are the difference of: sales, spend, revenue, impressions."""
    return brand.sales_total, brand.spend_total, brand.revenue_total, brand.impressions_total


def replay(template: Scenario, teams: list[str], plan: list[dict[str, Split]], *, seed: int,
           users: int | None = None, weeks: int | None = None) -> Game:
    """Play a whole plan again on the same seed (the same plan gives the very same game)."""
    game = Game(template, teams, weeks=weeks or len(plan), seed=seed, users=users)
    for splits in plan:
        game.play_week(splits)
    return game


def counterfactuals(template: Scenario, game: Game, *, users: int | None = None,
                    alternatives: dict[str, Split] = ALTERNATIVES,
                    progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """For each team and each alternative: its profit and sales had it played that split every week,
    every other team playing exactly as it did, on the same seed."""
    rows = []
    total = len(game.teams) * len(alternatives)
    done = 0
    actual = {row["team"]: row for row in game.standings()}
    for team in game.teams:
        for name, split in alternatives.items():
            plan = [{**week, team: split} for week in game.plan]
            other = replay(template, game.teams, plan, seed=game.seed, users=users, weeks=game.weeks)
            brand = other.model.brand(team)
            rows.append({"team": team, "alternative": name, "sales": int(brand.sales_total),
                         "profit": brand.margin * brand.revenue_total - brand.spend_total,
                         "played_profit": actual[team]["profit"], "played_sales": actual[team]["sales"]})
            done += 1
            if progress is not None:
                progress(done, total)
    return rows


def warm_up(template: Scenario) -> float:
    """Play one week of a tiny copy of the market (one brand, 50 users), so that the class's first week does not
    pay for the engine's first calls in this process (0.4 s of a 0.5 s week). Returns the seconds it took."""
    start = time.perf_counter()
    Game(template, ["warm-up"], weeks=1, seed=0, users=50).play_week({"warm-up": OPENING_SPLIT})
    return time.perf_counter() - start


# ---------------------------------------------------------------------------------- the class room


class JoinError(ValueError):
    """A request from a page was refused; the message is shown on the page as it is."""


class _Superseded(Exception):
    """A new game began while the old one's replays were running: they stop."""


def clean_team_name(text: str) -> str:
    name = " ".join(str(text).split())[:TEAM_NAME_LENGTH].strip()
    if not name or not re.match(NAME_PATTERN, name):
        raise JoinError("a team name is up to 24 letters, digits, spaces and & ' - _, starting with a letter, "
                        "a digit or _")
    return name


def digits_of(text: str) -> str:
    """A code as typed, in ASCII digits: a phone's keyboard may give other digits (٤٨٢١ is 4821); '' if not digits."""
    text = "".join(str(text).split())
    if not text or not all(c.isdecimal() for c in text):
        return ""
    return "".join(str(unicodedata.decimal(c)) for c in text)


def new_code() -> str:
    """A code easy to read aloud and to type on a phone: four digits."""
    return f"{secrets.randbelow(9000) + 1000}"


#: Seconds between two redraws of the teacher's page for the replays' progress (each redraw costs the class time).
PROGRESS_EVERY = 2.0
#: Seconds the replays wait after the last week, so that the final standings reach every page first.
REPLAY_DELAY = 1.5
#: Wrong join codes a browser may type before it has to wait (the code has only 9,000 values).
CODE_TRIES = 5
CODE_WAIT = 30.0  # seconds


@dataclass
class ClassRoom:
    """The state every page of the class shares. Pages read it and wait on its versions; all methods are thread-safe.

    A team is known by the browser sessions that joined it (Solara's session cookie): the one that
    created it, and any that rejoined it with its PIN (a second phone, a phone that died).
    """

    template: Scenario
    weeks: int = 5
    seed: int = 7
    users: int | None = None
    auto_compare: bool = True  # replay the alternatives as soon as the last week is played
    code: str = field(default_factory=new_code)
    roster: list[str] = field(default_factory=list)  # the teams, in the order they joined
    pins: dict[str, str] = field(default_factory=dict)  # team -> the PIN that lets another device rejoin it
    teams: dict[str, str] = field(default_factory=dict)  # session id -> team
    teachers: set[str] = field(default_factory=set)  # sessions that opened the teacher's page with its key
    pending: dict[str, Split] = field(default_factory=dict)  # team -> its choice for the coming week
    last: dict[str, Split] = field(default_factory=dict)  # team -> the split it played last
    game: Game | None = None
    step_seconds: list[float] = field(default_factory=list)
    replay_progress: tuple[int, int] | None = None
    comparison: list[dict] | None = None
    error: str | None = None
    broken: bool = False  # a week failed half-way: only a new game can go on
    version: int = 0  # any change (a choice, a join): the teacher's page redraws
    student_version: int = 0  # a change students see (start, a week played, the end): their pages redraw

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._advancing = False
        self._open = 1
        self._wrong_codes: dict[str, tuple[int, float]] = {}  # session -> (wrong tries, when the last was)

    @classmethod
    def from_file(cls, path: str | Path = GAME_SCENARIO, **kwargs) -> "ClassRoom":
        return cls(template=load_scenario(path).scenario, **kwargs)

    # -------------------------------------------------------------- waiting for changes

    def _bump(self, students: bool = True) -> None:
        self.version += 1
        if students:
            self.student_version += 1
        self._changed.notify_all()

    def version_for(self, students: bool) -> int:
        return self.student_version if students else self.version

    def wait_for_change(self, seen: int, timeout: float, *, students: bool = False) -> int:
        """Block until the version differs from `seen` (or `timeout` s); return the version now."""
        with self._changed:
            self._changed.wait_for(lambda: self.version_for(students) != seen, timeout=timeout)
            return self.version_for(students)

    # -------------------------------------------------------------- the teacher

    def admit_teacher(self, session: str, key: str, expected: str) -> bool:
        """Whether this session is the teacher's: it brought the key once (or no key is set)."""
        with self._lock:
            if not expected or session in self.teachers:
                return True
            if key and hmac.compare_digest(key.encode(), expected.encode()):
                self.teachers.add(session)
                return True
            return False

    # -------------------------------------------------------------- the lobby

    @property
    def started(self) -> bool:
        return self.game is not None

    @property
    def week_open(self) -> int:
        """The week the students are choosing for (1-based; weeks + 1 once the last is being played).

        It moves on the moment the teacher plays a week; the students' pages show the next week
        once the played week's results are in, and a choice sent for a week being played is refused.
        """
        return self._open

    def team_of(self, session: str) -> str | None:
        with self._lock:
            return self.teams.get(session)

    def pin_of(self, team: str) -> str | None:
        with self._lock:
            return self.pins.get(team)

    def join(self, session: str, code: str, team: str, pin: str = "") -> str:
        """Join the class as a new team, or rejoin a team with its PIN; returns the team's name.

        A session that has joined keeps its team (a reload, a second tab of the same browser).
        """
        with self._lock:
            if session in self.teams:
                return self.teams[session]
            tries, when = self._wrong_codes.get(session, (0, 0.0))
            if tries >= CODE_TRIES and time.monotonic() - when < CODE_WAIT:
                raise JoinError(f"too many wrong codes: wait {CODE_WAIT:.0f} seconds and try again")
            if not hmac.compare_digest(digits_of(code).encode(), self.code.encode()):
                self._wrong_codes[session] = (tries + 1, time.monotonic())
                raise JoinError("that is not this class's join code: it is on the teacher's screen")
            self._wrong_codes.pop(session, None)
            name = clean_team_name(team)
            existing = next((t for t in self.roster if t.casefold() == name.casefold()), None)
            if existing is not None:
                if digits_of(pin) and hmac.compare_digest(digits_of(pin).encode(), self.pins[existing].encode()):
                    self.teams[session] = existing
                    self._bump(students=False)
                    return existing
                raise JoinError(f"a team is already called {existing!r}: choose another name, or type its "
                                f"PIN to rejoin it from this device")
            if self.started:
                raise JoinError("the game has started: a new team cannot join it (a team that has joined "
                                "rejoins with its name and PIN)")
            if len(self.roster) >= MAX_TEAMS:
                raise JoinError(f"the class is full ({MAX_TEAMS} teams)")
            self.roster.append(name)
            self.pins[name] = new_code()
            self.teams[session] = name
            self._bump(students=False)
            return name

    def team_names(self) -> list[str]:
        with self._lock:
            return list(self.roster)

    def start(self) -> None:
        """Build the market with one brand per team (in the order they joined)."""
        with self._lock:
            if self.started:
                return
            if not self.roster:
                raise JoinError("no team has joined yet")
            self.game = Game(self.template, self.team_names(), weeks=self.weeks, seed=self.seed, users=self.users)
            self._bump()

    def new_game(self) -> None:
        """Back to an empty lobby with a new join code (students join again); replays still running stop."""
        with self._lock:
            if self._advancing:
                raise JoinError("a week is being played: wait for it to end")
            self.code = new_code()
            self.roster.clear()
            self.pins.clear()
            self.teams.clear()
            self.pending.clear()
            self.last.clear()
            self.game, self.comparison, self.replay_progress, self.error = None, None, None, None
            self.broken = False
            self.step_seconds.clear()
            self._open = 1
            self._bump()

    # -------------------------------------------------------------- the weeks

    def choose(self, session: str, week: int, split: Split) -> None:
        """A team's split for `week` (the week open now); choosing again before it is played replaces it."""
        with self._lock:
            team = self.teams.get(session)
            if team is None:
                raise JoinError("join the class first")
            if not self.started:
                raise JoinError("the game has not started yet")
            if self.broken:
                raise JoinError("the game has stopped: wait for the teacher to start a new one")
            if self._open > self.game.weeks and not self._advancing:
                raise JoinError("the game has ended")
            if self._advancing and week == self._open - 1:
                raise JoinError(f"week {week} is being played: your page moves on to week {self._open} in a "
                                f"moment, send your split for it then")
            if week != self._open:
                raise JoinError(f"week {week} has already been played: you are now choosing for week {self._open}")
            self.pending[team] = split
            self._bump(students=False)

    def choice_of(self, team: str) -> Split | None:
        with self._lock:
            return self.pending.get(team)

    def last_of(self, team: str) -> Split | None:
        with self._lock:
            return self.last.get(team)

    def advance(self, week: int) -> float:
        """Play week `week` (the open one) with every team's choice; a team that has not chosen keeps its last split.

        The week must be the one the teacher's button showed: a second press plays nothing. The
        choices are taken and the week closed at once, under the lock, so a choice lands in exactly
        one week; the seven days are then played outside the lock. Returns the seconds they took.
        """
        with self._lock:
            if not self.started or self.broken or self._open > self.game.weeks:
                raise JoinError("there is no week to play")
            if self._advancing:
                raise JoinError("a week is already being played")
            if week != self._open:
                raise JoinError(f"week {week} has been played already")
            self._advancing = True
            self._open += 1
            chosen = set(self.pending)
            splits = {team: self.pending.get(team, self.last.get(team, OPENING_SPLIT)) for team in self.game.teams}
            self.pending.clear()
            self._bump(students=False)  # the students' pages move on when the week's results are in
        try:
            start = time.perf_counter()
            self.game.play_week(splits, chosen)
            seconds = time.perf_counter() - start
        except Exception as error:  # the class must see it, not a silent freeze
            with self._lock:
                self.error = f"week {week} could not be played ({type(error).__name__}: {error}); start a new game"
                self.broken = True
                self._advancing = False
                self._bump()
            raise
        with self._lock:
            self.last.update(splits)
            self.step_seconds.append(seconds)
            self._advancing = False
            finished = self.game.finished
            self._bump()
        if finished and self.auto_compare:
            threading.Thread(target=self._compare_soon, name="what-if", daemon=True).start()
        return seconds

    def _compare_soon(self) -> None:
        """The replays, once the pages have had a moment to draw the final standings (they share the CPU)."""
        time.sleep(REPLAY_DELAY)
        self.compare_strategies()

    @property
    def advancing(self) -> bool:
        return self._advancing

    def chosen_count(self) -> int:
        with self._lock:
            return len(self.pending)

    def results_of(self, team: str) -> list[TeamWeek]:
        with self._lock:
            return self.game.weeks_of(team) if self.game else []

    def standings(self) -> list[dict]:
        with self._lock:
            return self.game.standings() if self.game else []

    # -------------------------------------------------------------- the end

    def compare_strategies(self) -> None:
        """Replay the market for every team and alternative (slow: run it in a thread); progress in `replay_progress`.

        A new game stops the replays of the old one; a failure is said on the teacher's page."""
        with self._lock:
            game = self.game
            if not game or not game.finished:
                raise JoinError("the comparison is made once the last week is played")
            if self.replay_progress is not None:
                return  # already made or being made
            self.replay_progress = (0, len(game.teams) * len(ALTERNATIVES))
            self._bump()

        shown = [0.0]

        def progress(done: int, total: int) -> None:
            with self._lock:
                if self.game is not game:
                    raise _Superseded
                self.replay_progress = (done, total)
                if time.monotonic() - shown[0] >= PROGRESS_EVERY or done == total:  # the page redraws, not too often
                    shown[0] = time.monotonic()
                    self._bump(students=False)

        try:
            rows = counterfactuals(self.template, game, users=self.users, progress=progress)
        except _Superseded:
            return
        except Exception as error:
            with self._lock:
                if self.game is game:
                    self.error = f"the comparison could not be made ({type(error).__name__}: {error})"
                    self.replay_progress = None
                    self._bump()
            raise
        with self._lock:
            if self.game is game:
                self.comparison = rows
                self._bump()
