"""The class game's rules, without a browser: splits, weeks, choices landing once, replays."""

import re
import threading

import numpy as np
import pytest

from simulation.classgame import (ALTERNATIVES, DAYS_PER_WEEK, GAME_SCENARIO, ClassRoom, Game, JoinError, Split,
                                  counterfactuals, market_for, replay)
from simulation.model import AttentionModel
from simulation.runner import daily_tables
from simulation.scenario import Scenario, load_scenario

TEMPLATE = load_scenario(GAME_SCENARIO).scenario
SMALL = 400  # users: the rules do not need the class's 2,000


def test_split_from_percent_normalises_and_refuses_nothing():
    assert Split.from_percent(50, 30, 20) == Split(0.5, 0.3, 0.2)
    assert Split.from_percent(10, 0, 0) == Split(1.0, 0.0, 0.0)
    for bad in [(0, 0, 0), (-10, 50, 60), (float("nan"), 1, 1)]:
        with pytest.raises(ValueError, match="put some of the budget somewhere"):
            Split.from_percent(*bad)


@pytest.mark.parametrize("split, strategy", [(Split(1, 0, 0), "billboard"), (Split(0, 1, 0), "relational"),
                                             (Split(0, 0, 1), "influencer")])
def test_a_pure_split_is_the_pure_strategy_day_by_day(split, strategy):
    """A team playing one part only is the scenario's strategy of that name: the same brand rows, same seed."""
    game = Game(TEMPLATE, ["A", "B"], weeks=2, seed=11, users=SMALL)
    for _ in range(2):
        game.play_week({"A": split, "B": Split(1, 1, 1)})
    data = game.scenario.model_dump(mode="json")
    data["brands"][0].update(strategy=strategy, relational_share=None)
    reference = AttentionModel(Scenario.model_validate(data), 11, days=2 * DAYS_PER_WEEK)
    reference.brand("B").set_split(1, 1, 1)
    for _ in range(2 * DAYS_PER_WEEK):
        reference.step()
    played, expected = daily_tables(game.model)[1], daily_tables(reference)[1]
    columns = ["day", "brand", "spend", "impressions", "influencers", "answers", "sales", "adopters", "trust"]
    assert played[columns].equals(expected[columns])
    assert played[played.brand == "A"]["spend"].sum() > 0


def test_a_mixed_split_spends_each_part_as_chosen():
    game = Game(TEMPLATE, ["A"], weeks=1, seed=3, users=SMALL)
    brand = game.model.brand("A")
    brand.set_split(0.5, 0.25, 0.25)
    brand.plan_day(SMALL)
    budget = brand.budget_per_day
    assert brand.influencers_today == int(0.25 * budget // brand.influencer_fee)
    assert brand.impressions_wanted == pytest.approx(0.5 * budget / brand.cpm * 1000)
    relational = 0.25 * budget
    assert brand.content_spend == pytest.approx(relational * (1 - brand.service_share))
    assert brand.answer_capacity == pytest.approx(relational * brand.service_share / brand.cost_per_answer)


def test_every_team_gets_the_template_brand_and_a_week_is_seven_days():
    game = Game(TEMPLATE, ["Reds", "Blues", "Greens"], weeks=3, seed=5, users=SMALL)
    assert [b.name for b in game.model.brands] == ["Reds", "Blues", "Greens"]
    first = TEMPLATE.brands[0]
    assert all(b.budget_per_day == first.budget_per_day and b.price == first.price for b in game.model.brands)
    week = game.play_week({"Reds": Split(1, 0, 0), "Blues": Split(0, 0, 1), "Greens": Split(0.5, 0.5, 0)})
    assert game.model.day == DAYS_PER_WEEK and game.week == 1
    per_day = int(first.budget_per_day // first.influencer_fee)
    assert week["Blues"].influencers == DAYS_PER_WEEK * per_day and week["Blues"].impressions == 0
    assert week["Reds"].influencers == 0 < week["Greens"].impressions < week["Reds"].impressions
    assert sum(w.sales for w in week.values()) == sum(b.sales_total for b in game.model.brands)
    with pytest.raises(ValueError, match="no split for"):
        game.play_week({"Reds": Split(1, 0, 0)})


def test_a_replay_of_the_plan_is_the_same_game():
    teams = ["A", "B", "C"]
    game = Game(TEMPLATE, teams, weeks=3, seed=21, users=SMALL)
    rng = np.random.default_rng(0)
    for _ in range(3):
        game.play_week({t: Split.from_percent(*rng.integers(0, 11, 3) + 0.5) for t in teams})
    again = replay(TEMPLATE, teams, game.plan, seed=21, users=SMALL)
    assert daily_tables(again.model)[1].equals(daily_tables(game.model)[1])
    assert again.standings() == game.standings()


def test_standings_rank_by_profit():
    game = Game(TEMPLATE, ["A", "B", "C", "D"], weeks=1, seed=2, users=SMALL)
    game.play_week(dict(zip(game.teams, ALTERNATIVES.values())))
    rows = game.standings()
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert [r["profit"] for r in rows] == sorted((r["profit"] for r in rows), reverse=True)
    for r in rows:
        brand = game.model.brand(r["team"])
        assert r["profit"] == pytest.approx(brand.margin * brand.revenue_total - brand.spend_total)


def test_counterfactuals_replay_each_alternative_with_the_others_as_played():
    teams = ["A", "B"]
    game = Game(TEMPLATE, teams, weeks=2, seed=8, users=SMALL)
    for _ in range(2):
        game.play_week({"A": ALTERNATIVES["all billboard"], "B": ALTERNATIVES["all relational"]})
    seen = []
    rows = counterfactuals(TEMPLATE, game, users=SMALL, progress=lambda done, total: seen.append((done, total)))
    assert len(rows) == len(teams) * len(ALTERNATIVES) and seen[-1] == (len(rows), len(rows))
    by = {(r["team"], r["alternative"]): r for r in rows}
    played = {r["team"]: r for r in game.standings()}
    # what a team did play, replayed, is what it got; another strategy is another result
    assert by["A", "all billboard"]["profit"] == pytest.approx(played["A"]["profit"])
    assert by["B", "all relational"]["sales"] == played["B"]["sales"]
    assert by["A", "all influencers"]["profit"] != pytest.approx(played["A"]["profit"])


# --------------------------------------------------------------------------------------------- the room


def room(**kwargs) -> ClassRoom:
    return ClassRoom(template=TEMPLATE, **{"weeks": 3, "seed": 4, "users": SMALL, "auto_compare": False, **kwargs})


def test_joining_needs_the_code_and_a_free_name_and_a_session_keeps_its_team():
    r = room()
    with pytest.raises(JoinError, match="join code"):
        r.join("s1", "0000" if r.code != "0000" else "1111", "Reds")
    assert r.join("s1", r.code, "  Reds  ") == "Reds"
    assert r.join("s1", "wrong", "Another name") == "Reds"  # a reload, or a second tab: the same team
    with pytest.raises(JoinError, match="already called"):
        r.join("s2", r.code, "reds")
    with pytest.raises(JoinError, match="team name"):
        r.join("s2", r.code, "<script>")
    r.join("s2", r.code, "Blues")
    r.start()
    with pytest.raises(JoinError, match="has started"):
        r.join("s3", r.code, "Greens")
    assert r.game.teams == ["Reds", "Blues"]


def test_each_choice_lands_in_exactly_one_week():
    r = room()
    for s, team in [("s1", "Reds"), ("s2", "Blues"), ("s3", "Greens")]:
        r.join(s, r.code, team)
    r.start()
    r.choose("s1", 1, Split(1, 0, 0))
    r.choose("s1", 1, Split(0, 1, 0))  # changed before the week is played: the last one counts
    r.choose("s2", 1, Split(0, 0, 1))
    r.advance(1)  # Greens sent nothing: it plays the opening split
    assert r.game.plan[0] == {"Reds": Split(0, 1, 0), "Blues": Split(0, 0, 1), "Greens": ALTERNATIVES["a third each"]}
    assert [w.chosen for w in (r.results_of(t)[0] for t in ("Reds", "Blues", "Greens"))] == [True, True, False]
    with pytest.raises(JoinError, match="already been played"):
        r.choose("s1", 1, Split(1, 0, 0))
    r.choose("s3", 2, Split(1, 0, 0))
    with pytest.raises(JoinError, match="week 1 has been played already"):
        r.advance(1)  # the teacher's button pressed twice: the second press plays nothing
    r.advance(2)  # Reds and Blues keep their week-1 splits
    assert r.game.plan[1] == {"Reds": Split(0, 1, 0), "Blues": Split(0, 0, 1), "Greens": Split(1, 0, 0)}
    assert [w.chosen for w in (r.results_of(t)[1] for t in ("Reds", "Blues", "Greens"))] == [False, False, True]
    assert r.chosen_count() == 0
    with pytest.raises(JoinError, match="join the class first"):
        r.choose("stranger", 3, Split(1, 0, 0))


def test_while_a_week_is_played_its_choices_are_refused_and_the_next_weeks_taken():
    r = room()
    r.join("s1", r.code, "Reds")
    r.start()
    inside, release = threading.Event(), threading.Event()
    play_week = r.game.play_week

    def slow_week(splits, chosen):  # holds the week open, so that a choice arrives while it is played
        inside.set()
        release.wait(10)
        return play_week(splits, chosen)

    r.game.play_week = slow_week
    r.choose("s1", 1, Split(1, 0, 0))
    worker = threading.Thread(target=r.advance, args=(1,))
    worker.start()
    assert inside.wait(10)
    assert r.week_open == 2 and r.advancing
    with pytest.raises(JoinError, match="week 1 is being played"):  # a page still showing week 1
        r.choose("s1", 1, Split(0, 0, 1))
    r.choose("s1", 2, Split(0, 1, 0))  # a page opened meanwhile shows week 2
    with pytest.raises(JoinError, match="already being played"):
        r.advance(2)
    release.set()
    worker.join(10)
    r.advance(2)
    assert [week["Reds"] for week in r.game.plan] == [Split(1, 0, 0), Split(0, 1, 0)]


def test_a_week_that_fails_stops_the_game_and_says_so():
    r = room()
    r.join("s1", r.code, "Reds")
    r.start()

    def failing_week(splits, chosen):
        raise FloatingPointError("overflow")

    r.game.play_week = failing_week
    with pytest.raises(FloatingPointError):
        r.advance(1)
    assert r.broken and "week 1 could not be played" in r.error and not r.advancing
    with pytest.raises(JoinError, match="no week to play"):
        r.advance(2)
    with pytest.raises(JoinError, match="has stopped"):
        r.choose("s1", 2, Split(1, 0, 0))
    r.new_game()
    assert not r.broken and r.error is None


def test_the_room_wakes_pages_only_for_what_they_show():
    r = room()
    student, teacher = r.version_for(True), r.version_for(False)
    r.join("s1", r.code, "Reds")
    assert r.version_for(True) == student and r.version_for(False) > teacher  # a join: the teacher's count
    assert r.wait_for_change(student, timeout=0.01, students=True) == student
    r.start()
    assert r.wait_for_change(student, timeout=0.01, students=True) > student


def test_the_end_ranks_and_compares_and_a_new_game_starts_clean():
    r = room()
    r.join("s1", r.code, "Reds")
    r.join("s2", r.code, "Blues")
    r.start()
    for week in (1, 2, 3):
        r.advance(week)
    with pytest.raises(JoinError, match="no week to play"):
        r.advance(4)
    r.compare_strategies()
    assert r.replay_progress == (8, 8) and len(r.comparison) == 8
    r.new_game()
    assert r.game is None and r.team_names() == [] and r.comparison is None and r.week_open == 1
    assert r.team_of("s1") is None and re.fullmatch(r"\d{4}", r.code)


def test_a_comparison_finishing_after_a_new_game_is_dropped():
    r = room()
    r.join("s1", r.code, "Reds")
    r.start()
    for week in (1, 2, 3):
        r.advance(week)
    game = r.game
    inside, release = threading.Event(), threading.Event()

    def progress_hook(*_):  # the first replay's progress arrives once a new game has begun
        inside.set()
        release.wait(10)

    import simulation.classgame as classgame

    real = classgame.counterfactuals

    def slow(template, g, **kw):
        rows = real(template, g, **kw)
        progress_hook()
        return rows

    classgame.counterfactuals = slow
    try:
        worker = threading.Thread(target=r.compare_strategies)
        worker.start()
        assert inside.wait(30)
        r.new_game()
        release.set()
        worker.join(10)
    finally:
        classgame.counterfactuals = real
    assert game.finished and r.game is None and r.comparison is None and r.replay_progress is None


def test_the_last_week_starts_the_replays_by_itself():
    """No teacher's page needs to be open for the students to get their what-if."""
    from tests.conftest import wait_for

    r = room(auto_compare=True, weeks=1)
    r.join("s1", r.code, "Reds")
    r.start()
    r.advance(1)
    assert wait_for(lambda: r.comparison is not None, 60, step=0.1)
    assert {row["alternative"] for row in r.comparison} == set(ALTERNATIVES)


def test_codes_typed_on_any_keyboard_and_rejoining_with_a_pin():
    r = room()
    arabic = "".join(chr(0x0660 + int(d)) for d in r.code)  # the same code in Arabic-Indic digits
    assert r.join("s1", arabic, "Reds") == "Reds"
    for bad in ["12é4", "", "  ", "１２３"]:  # never a traceback, whatever a phone sends
        with pytest.raises(JoinError):
            r.join("s2", bad, "Blues")
    r2 = room()
    r2.join("s1", r2.code, "Reds")
    r2.start()
    pin = r2.pin_of("Reds")
    assert re.fullmatch(r"\d{4}", pin)
    with pytest.raises(JoinError, match="already called 'Reds'"):
        r2.join("phone", r2.code, "reds", pin="0000" if pin != "0000" else "1111")
    assert r2.join("phone", r2.code, "reds", pin=pin) == "Reds"  # a second device, after the start
    r2.choose("phone", 1, Split(0, 0, 1))
    assert r2.choice_of("Reds") == Split(0, 0, 1) and r2.team_names() == ["Reds"]
    with pytest.raises(JoinError, match="has started"):
        r2.join("late", r2.code, "Greens")


def test_guessing_the_code_is_slowed_down():
    r = room()
    wrong = "1000" if r.code != "1000" else "1001"
    for _ in range(5):
        with pytest.raises(JoinError, match="not this class's join code"):
            r.join("guesser", wrong, "Reds")
    with pytest.raises(JoinError, match="too many wrong codes"):
        r.join("guesser", r.code, "Reds")  # even the right code must wait
    assert r.join("someone else", r.code, "Reds") == "Reds"


def test_the_teacher_is_the_session_that_brought_the_key():
    r = room()
    assert not r.admit_teacher("student", "", "secret") and not r.admit_teacher("student", "guess", "secret")
    assert r.admit_teacher("teacher", "secret", "secret")
    assert r.admit_teacher("teacher", "", "secret")  # the key can then leave the address bar
    assert r.admit_teacher("anyone", "", "")  # no key set (solara run site.py by hand): an open page


def test_the_warm_up_plays_off_the_class_market():
    from simulation.classgame import warm_up

    r = room()
    assert warm_up(TEMPLATE) > 0
    assert r.game is None and r.version == 0  # nothing of a class is touched


def test_the_template_keeps_only_its_first_brand():
    scenario = market_for(TEMPLATE, ["A", "B"], users=SMALL)
    assert [b.name for b in scenario.brands] == ["A", "B"] and scenario.population.users == SMALL
    assert scenario.brands[0].cpm == TEMPLATE.brands[0].cpm


# --------------------------------------------------------------------------------------------- serve


def test_serve_checks_the_game_before_starting(tmp_path, capsys):
    from simulation.cli import main
    from tests.conftest import free_port

    bad = tmp_path / "game.yaml"
    bad.write_text("name: x\nsinks: []\nbrands: []\n")
    assert main(["serve", "--game", str(bad), "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "game.yaml" in err and "Traceback" not in err
    assert main(["serve", "--weeks", "0", "--port", str(free_port())]) == 2
    assert "--weeks: expected 1 to 52, found 0" in capsys.readouterr().err


def test_students_are_told_an_address_they_can_reach():
    from simulation.cli import _address_for_others, _is_loopback

    assert _address_for_others("127.0.0.1") == "127.0.0.1" and _is_loopback("127.0.0.1")
    assert _address_for_others("192.168.1.20") == "192.168.1.20" and not _is_loopback("192.168.1.20")
    assert _address_for_others("::1") == "[::1]" and _is_loopback("::1")
    everywhere = _address_for_others("0.0.0.0")  # this machine has a default route: its address on it
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", everywhere) and not everywhere.startswith("127.")
