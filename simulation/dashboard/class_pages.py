"""The class game's pages: the teacher's (`/class`) and the students' (`/join`).

Every browser session of the server shares one `ClassRoom` (simulation/classgame.py): the
teacher's page shows the join code and the market and plays the weeks; a student's page joins
with the code and chooses its team's split each week. A page redraws when the room changes:
a thread per page waits on the room's version (`use_room`). A student is known by Solara's
session cookie, so a reload, or a second tab of the same browser, is the same team; another
device rejoins a team with the team's PIN.

Through `serve`, the teacher's page needs the key `serve` prints (`/class?key=...`) once per
browser: the page then takes the key out of the address bar, so that the projected address
does not give it away. Run by hand (`solara run site.py`), no key is set and the page is open.
"""

from __future__ import annotations

import html
import logging
import os
import threading
from pathlib import Path

import solara

from simulation.classgame import ALTERNATIVES, GAME_SCENARIO, ClassRoom, JoinError, Split, warm_up

#: The room every page of this server shares (one class per server).
ROOM = ClassRoom.from_file(Path(os.environ.get("ATTENTION_MARKET_GAME", GAME_SCENARIO)),
                           weeks=int(os.environ.get("ATTENTION_MARKET_GAME_WEEKS", "5")))
warm_up(ROOM.template)  # at the server's start, not in the class's first week
TEACHER_KEY = os.environ.get("ATTENTION_MARKET_TEACHER_KEY", "")
#: Where students open the game, as `serve` worked it out (e.g. http://192.168.1.20:8765/join).
JOIN_ADDRESS = os.environ.get("ATTENTION_MARKET_JOIN_ADDRESS", "/join")

#: One colour per part of the budget, the same on every page.
PART_COLOURS = {"billboard": "#d62728", "relational": "#2ca02c", "influencers": "#1f77b4"}
BIG = "font-size: 1.35rem; line-height: 1.5"


def use_room(students: bool) -> int:
    """Redraw this page when the room changes (students: only when what they see changes).

    Returns the room's version: pass it to the child components that read the room, since
    Solara redraws a child only when its arguments change."""
    version, set_version = solara.use_state(ROOM.version_for(students))

    def listen(cancel: threading.Event) -> None:
        seen = version  # what the page was first drawn with: a change before this thread starts is not lost
        while not cancel.is_set():
            now = ROOM.wait_for_change(seen, timeout=1.0, students=students)
            if now != seen:
                seen = now
                set_version(now)

    solara.use_thread(listen, dependencies=[], intrusive_cancel=False)
    return version


def _html(tag: str, text: str, style: str = BIG, **attributes: str) -> None:
    """Raw HTML (names typed by students are escaped by the callers); keyword attributes like data_testid."""
    solara.HTML(tag=tag, unsafe_innerHTML=text, style=style,
                attributes={k.replace("_", "-"): v for k, v in attributes.items()})


def _split_bar(split: Split) -> str:
    """The split as a coloured bar (HTML), its parts in the page's fixed colours."""
    parts = "".join(f'<span title="{name} {share:.0%}" style="flex:0 0 {100 * share:.3f}%;background:{PART_COLOURS[name]}">'
                    f'</span>' for name, share in (("billboard", split.billboard), ("relational", split.relational),
                                                   ("influencers", split.influencers)) if share > 0)
    return (f'<span style="display:inline-flex;vertical-align:middle;width:8em;height:1em;background:#eee">'
            f'{parts}</span>')


def _money(x: float) -> str:
    return f"{x:+,.0f}" if x else "0"


def _roi(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.0%}"


def _trust(x: float) -> str:
    """Trust on a scale of -100 to +100 (the model's -1 to +1): small numbers a class can compare."""
    return f"{100 * x:+.1f}"


def _table(header: list[str], rows: list[list[str]], *, test_id: str, style: str = BIG) -> None:
    head = "".join(f"<th style='text-align:left;padding:0.2em 0.8em'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding:0.15em 0.8em'>{c}</td>" for c in row) + "</tr>" for row in rows)
    solara.HTML(tag="table", unsafe_innerHTML=f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>",
                style=f"border-collapse:collapse;{style}", attributes={"data-testid": test_id})


def _legend() -> None:
    items = " ".join(f'<span style="display:inline-block;width:1em;height:1em;background:{c};vertical-align:middle">'
                     f'</span> {name}' for name, c in PART_COLOURS.items())
    solara.HTML(tag="p", unsafe_innerHTML=f"Budget split: {items}", style=BIG)


# ------------------------------------------------------------------------------------ the teacher


def use_teacher(router, path: str) -> bool:
    """Whether this browser is the teacher's; the first time it brings the key, the key leaves the address bar."""
    session = solara.get_session_id()
    query = dict(part.split("=", 1) for part in (router.search or "").split("&") if "=" in part)
    admitted = ROOM.admit_teacher(session, query.get("key", ""), TEACHER_KEY)

    def hide_key() -> None:
        if admitted and "key" in query:
            router.push(path)

    solara.use_effect(hide_key, [admitted, router.search])
    return admitted


def _act(action, set_busy, set_message) -> None:
    """Run a teacher's action off the page's thread; what goes wrong is said on the page."""
    def run() -> None:
        set_busy(True)
        set_message("")
        try:
            action()
        except JoinError as error:
            set_message(str(error))
        except Exception as error:  # noqa: BLE001 -- the page says it; the terminal keeps the traceback
            set_message(f"{type(error).__name__}: {error}")
            raise
        finally:
            set_busy(False)
    threading.Thread(target=run, daemon=True).start()


@solara.component
def Teacher():
    """The projected page: join code, lobby, the weeks, the standings and, at the end, what else would have done."""
    router = solara.use_router()
    version = use_room(students=False)
    busy, set_busy = solara.use_state(False)
    message, set_message = solara.use_state("")
    solara.Title("Class game: the teacher's page")
    if not use_teacher(router, "/class"):
        _html("p", "This is the teacher's page: open the address <code>serve</code> printed (it ends with "
                   "<code>?key=…</code>). Students join at <a href='/join'>/join</a>.")
        return

    def act(action):
        _act(action, set_busy, set_message)

    with solara.Column(style="padding: 1rem; max-width: 80rem"):
        solara.HTML(tag="h1", unsafe_innerHTML=f"Join at <b>{html.escape(JOIN_ADDRESS)}</b> with the code "
                                               f"<b data-testid='join-code' style='font-size:3rem'>{ROOM.code}</b>",
                    style="font-size: 2rem; margin: 0")
        if ROOM.error:
            _html("p", html.escape(ROOM.error), style=f"{BIG}; color: #b00")
        if message:
            _html("p", html.escape(message), style=f"{BIG}; color: #b00")
        game = ROOM.game  # one snapshot for this drawing: a New game meanwhile cannot pull it away
        teams = ROOM.team_names()
        if game is None:
            _html("p", f"<b data-testid='team-count'>{len(teams)}</b> teams have joined: "
                       + (", ".join(html.escape(t) for t in teams) or "none yet") + ".")
            solara.Button(f"Start the game ({ROOM.weeks} weeks)", on_click=lambda: act(ROOM.start),
                          disabled=busy or not teams, color="primary", style="font-size: 1.2rem")
            return
        week_open = ROOM.week_open
        if ROOM.advancing:
            _html("p", f"Playing week {week_open - 1}: seven days of the market…")
        if week_open <= game.weeks and not ROOM.broken:
            waiting = [t for t in game.teams if ROOM.choice_of(t) is None]
            _html("p", f"Week <b data-testid='week'>{week_open}</b> of {game.weeks}: "
                       f"<b data-testid='chosen-count'>{len(game.teams) - len(waiting)}</b> of {len(game.teams)} teams "
                       f"have chosen. " + (f"Still choosing (they keep last week's split if you play now): "
                                           f"{html.escape(', '.join(waiting))}." if waiting else ""))
            with solara.Row():
                solara.Button(f"Play week {week_open}", on_click=lambda: act(lambda: ROOM.advance(week_open)),
                              disabled=busy or ROOM.advancing, color="primary", style="font-size: 1.2rem")
        if ROOM.step_seconds:
            _html("p", f"Week {len(ROOM.step_seconds)} took <span data-testid='step-seconds'>"
                       f"{ROOM.step_seconds[-1]:.2f}</span> s for {len(game.teams)} brands and "
                       f"{game.model.population.n:,} users.", style="font-size: 1rem; color: #555")
        Standings(game, version)
        if game.finished:
            Comparison(game, version)
        Record(game, version)
        solara.Button("New game (new code; teams join again)", on_click=lambda: act(ROOM.new_game),
                      disabled=busy, style="margin-top: 2rem")


@solara.component
def Standings(game, version: int):
    rows = game.standings()
    if not rows:
        _html("p", "Press <b>Play week 1</b> when the teams have chosen: the market then runs seven days.")
        return
    _html("h2", ("Final standings" if game.finished else f"Standings after week {game.week}")
          + ": ranked by profit (margin × revenue − spend)", style="font-size: 1.6rem")
    week = list(game.results[-1].values())
    brand_pages = sum(sink.share_today for sink in game.model.all_sinks if sink.kind == "brand")
    _html("p", f"The market in week {game.week}: {sum(w.sales for w in week):,} sales in all, "
               f"{sum(w.impressions for w in week):,} impressions, {sum(w.influencers for w in week):,} "
               f"influencer-days; the brands' own pages held {brand_pages:.1%} of the minutes online on its "
               f"last day.", style="font-size: 1.1rem")
    _legend()
    last = game.plan[-1]
    _table(["rank", "team", "last split", "sales so far", "profit", "ROI", "trust (−100 to +100)"],
           [[str(r["rank"]), html.escape(r["team"]), _split_bar(last[r["team"]]), f"{r['sales']:,}",
             _money(r["profit"]), _roi(r["roi"]), _trust(r["trust"])] for r in rows], test_id="standings")


@solara.component
def Record(game, version: int):
    """Every choice as the market played it, folded away: week, team, split, sent or kept, what it bought."""
    record = game.record()
    if not record:
        return
    rows = "".join(
        f"<tr data-week='{w.week}' data-team='{html.escape(t)}' data-split='{w.split.billboard:.4f} "
        f"{w.split.relational:.4f} {w.split.influencers:.4f}' data-chosen='{int(w.chosen)}' "
        f"data-influencers='{w.influencers}' data-impressions='{w.impressions}'>"
        f"<td>{w.week}</td><td>{html.escape(t)}</td><td>{w.split.label()}</td>"
        f"<td>{'sent' if w.chosen else 'kept'}</td><td>{w.impressions:,}</td><td>{w.influencers:,}</td>"
        f"<td>{w.spend:,.0f}</td><td>{w.sales:,}</td></tr>"
        for t, w in record)
    head = "".join(f"<th style='text-align:left;padding-right:1em'>{h}</th>" for h in
                   ["week", "team", "split played", "", "impressions", "influencer-days", "spend", "sales"])
    solara.HTML(tag="details", unsafe_innerHTML=f"<summary>The record: every team's split, week by week, as the "
                                                f"market played it</summary><table data-testid='record'>"
                                                f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>",
                style="font-size: 1rem; margin-top: 1.5rem")


@solara.component
def Comparison(game, version: int):
    """The counterfactual replay: every team's profit had it played each alternative every week."""
    progress, rows = ROOM.replay_progress, ROOM.comparison
    if rows is None:
        if progress is not None:
            _html("p", f"Replaying the market with other strategies, on the same seed: "
                       f"{progress[0]} of {progress[1]} replays…")
        return
    by_team: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_team.setdefault(row["team"], {})[row["alternative"]] = row
    _html("h2", "What if? Each team's profit had it played one strategy all along (the others as they played, "
                "the same seed)", style="font-size: 1.6rem")
    table = []
    for r in game.standings():
        alternatives = by_team[r["team"]]
        best = max(alternatives.values(), key=lambda a: a["profit"])
        cells = [f"<b>{_money(a['profit'])}</b>" if a is best and a["profit"] > r["profit"] else _money(a["profit"])
                 for a in alternatives.values()]
        table.append([str(r["rank"]), html.escape(r["team"]), _money(r["profit"]), *cells])
    _table(["rank", "team", "as played", *ALTERNATIVES], table, test_id="comparison")
    _html("p", "In bold: a strategy that would have made the team more than it did.", style="font-size: 1rem")


# ------------------------------------------------------------------------------------ a student


def _try(action, set_message) -> bool:
    """Run a student's action; a refusal or a fault is said on the page (never a traceback in its place)."""
    try:
        action()
    except JoinError as error:
        set_message(str(error))
        return False
    except Exception as error:  # noqa: BLE001 -- the page says it; the terminal keeps the traceback
        set_message(f"something went wrong ({type(error).__name__}); tell the teacher")
        logging.getLogger(__name__).exception("a student's action failed")
        return False
    set_message("")
    return True


@solara.component
def Student():
    """A team's page (phone-sized): join with the code, then choose the split each week and see the results."""
    version = use_room(students=True)
    _, set_joins = solara.use_state(0)  # this page's own join redraws it (others' joins do not)
    session = solara.get_session_id()
    team = ROOM.team_of(session)
    solara.Title("Class game")
    with solara.Column(style="padding: 0.8rem; max-width: 36rem"):
        if team is None:
            JoinForm(session, on_join=lambda: set_joins(lambda n: n + 1))
        else:
            Play(session, team, ROOM.game, version)


@solara.component
def JoinForm(session: str, on_join):
    code, set_code = solara.use_state("")
    name, set_name = solara.use_state("")
    pin, set_pin = solara.use_state("")
    message, set_message = solara.use_state("")

    def join():
        if _try(lambda: ROOM.join(session, code, name, pin), set_message):
            on_join()

    _html("h1", "Join the class game", style="font-size: 1.6rem")
    solara.InputText("Join code (on the teacher's screen)", value=code, on_value=set_code, continuous_update=True)
    solara.InputText("Team name", value=name, on_value=set_name, continuous_update=True)
    solara.InputText("Team PIN (only to rejoin your team from another phone)", value=pin, on_value=set_pin,
                     continuous_update=True)
    solara.Button("Join", on_click=join, color="primary")
    if message:
        _html("p", html.escape(message), style="color: #b00", data_testid="join-error")


@solara.component
def Play(session: str, team: str, game, version: int):
    _html("h1", f"Your brand: <span data-testid='team'>{html.escape(team)}</span>", style="font-size: 1.6rem; margin: 0")
    _html("p", f"Team PIN <b>{ROOM.pin_of(team) or ''}</b>: with it, your team can rejoin from another phone.",
          style="font-size: 0.9rem; color: #555")
    if game is None:
        _html("p", "You have joined. Wait for the teacher to start the game.")
        return
    if ROOM.broken:
        _html("p", "The game has stopped: wait for the teacher to start a new one.")
    elif game.finished:
        Ending(team, game, version)
    elif ROOM.week_open <= game.weeks:
        Choice(session, team, ROOM.week_open, game.weeks, version)
    else:
        _html("p", "The last week is being played…")
    Results(team, game, version)


def _slider_positions(split: Split | None) -> tuple[int, int, int]:
    """Where the sliders start: the split sent or last played, to the nearest 10 (40/30/30 before any)."""
    if split is None:
        return 40, 30, 30
    return tuple(int(round(10 * share)) * 10 for share in (split.billboard, split.relational, split.influencers))


@solara.component
def Choice(session: str, team: str, week: int, weeks: int, version: int):
    start = _slider_positions(ROOM.choice_of(team) or ROOM.last_of(team))
    billboard, set_billboard = solara.use_state(start[0])
    relational, set_relational = solara.use_state(start[1])
    influencers, set_influencers = solara.use_state(start[2])
    message, set_message = solara.use_state("")
    _, set_sends = solara.use_state(0)  # a send redraws this page (the room tells only the teacher's)
    solara.use_effect(lambda: set_message(""), [week])  # last week's message is not this week's
    chosen = ROOM.choice_of(team)
    try:
        split = Split.from_percent(billboard, relational, influencers)
    except ValueError as error:
        split = None
        problem = str(error)

    def submit():
        if _try(lambda: ROOM.choose(session, week, split), set_message):
            set_sends(lambda n: n + 1)

    _html("h2", f"Week <span data-testid='week'>{week}</span> of {weeks}: split your budget", style="font-size: 1.3rem")
    for key, label, value, setter in (
            ("billboard", "Billboard (ads bought on the sites people visit)", billboard, set_billboard),
            ("relational", "Relational (content, answering visitors)", relational, set_relational),
            ("influencers", "Influencers (paying well-connected users to recommend you)", influencers, set_influencers)):
        with solara.v.Html(tag="div", attributes={"data-testid": f"slider-{key}"}):
            _html("div", f"{label}: <b data-testid='value-{key}'>{value}</b>", style="font-size: 1.05rem; margin-top: 0.6rem")
            solara.SliderInt("", value=value, on_value=setter, min=0, max=100, step=10)
    if split is None:
        _html("p", html.escape(problem), style="color: #b00")
    else:
        _html("p", f"{_split_bar(split)} {split.label()}", style="font-size: 1.05rem")
    solara.Button(f"Send my split for week {week}", on_click=submit, disabled=split is None, color="primary")
    if message:
        _html("p", html.escape(message), style="color: #b00", data_testid="send-error")
    if chosen is not None:
        _html("p", f"Sent for week {week}: <b data-testid='sent'>{chosen.label()}</b>. You can change it until "
                   f"the teacher plays the week.", style="font-size: 1.05rem; color: #060")
    else:
        _html("p", "Not sent yet: if the teacher plays the week before you send, you keep last week's split.",
              style="font-size: 1.05rem")


@solara.component
def Results(team: str, game, version: int):
    weeks = game.weeks_of(team)
    if not weeks:
        return
    _html("h2", "Your results", style="font-size: 1.3rem")
    _table(["week", "sales", "profit so far", "ROI", "trust"],
           [[f"{w.week}{'' if w.chosen else ' (kept)'}", f"{w.sales:,}", _money(w.profit_to_date),
             _roi(w.roi_to_date), _trust(w.trust)] for w in weeks],
           test_id="results", style="font-size: 1rem")
    _html("p", "Sales: this week's. Profit: margin × revenue − spend, since the start. ROI: profit / spend. "
               "Trust: what the people who know your brand think of it, from −100 to +100. "
               "(kept): you sent nothing that week, so last week's split was played.",
          style="font-size: 0.9rem; color: #555")


@solara.component
def Ending(team: str, game, version: int):
    rows = {r["team"]: r for r in game.standings()}
    mine = rows[team]
    _html("h2", f"Game over: you are <span data-testid='rank'>{mine['rank']}</span> of {len(rows)}",
          style="font-size: 1.4rem")
    comparison = ROOM.comparison
    if comparison is None:
        _html("p", "Replaying the market with other strategies…")
        return
    alternatives = [r for r in comparison if r["team"] == team]
    _table(["had you played", "profit", "sales"],
           [["what you played", _money(mine["profit"]), f"{mine['sales']:,}"]]
           + [[a["alternative"], _money(a["profit"]), f"{a['sales']:,}"] for a in alternatives],
           test_id="what-if", style="font-size: 1rem")
