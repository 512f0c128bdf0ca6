"""A class plays the game in real browsers: one teacher page and 30 student sessions in Debian's Chromium.

`run.py serve` runs on a free port of 127.0.0.1; each student is its own Playwright context (its
own cookies, so its own Solara session), on a phone-sized page. Five weeks are played. The test
checks that each choice lands in the market exactly once (the teacher's record of the game, read
from the page, against what each student sent last before the week was played), that a student
who reloads keeps their brand, that a student who leaves does not stall the class, and that the
end ranks the teams and replays the other strategies. The teacher's step times with 30 brands and
2,000 users are printed (README, "The class game").
"""

import re
import shutil
import time

import pytest

from tests.conftest import ROOT, serving

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"]
STUDENTS = 30
WEEKS = 5
LEAVER = STUDENTS - 1  # closes their browser after week 2
RELOADER = 0  # reloads their page in week 3, before sending
#: The slider positions a student can set with Home / End (or leave at 40/30/30): (billboard, relational, influencers).
VARIANTS = [(40, 30, 30), (100, 0, 0), (0, 100, 0), (0, 0, 100), (100, 100, 0), (100, 0, 100), (0, 100, 100),
            (100, 100, 100)]
SLIDERS = ["Billboard", "Relational", "Influencers"]
LONG = 120_000  # ms: 31 pages on two shared cores


@pytest.fixture
def served():
    with serving("--weeks", str(WEEKS), log_name="class-serve.log") as (root, log_path):
        teacher = re.search(r"teacher: +(http://\S+/class\?key=\S+)", log_path.read_text()).group(1)
        yield teacher, root


def _variant(student: int, week: int) -> tuple[int, int, int]:
    return VARIANTS[(student * 3 + week) % len(VARIANTS)]


def _share(values: tuple[int, int, int]) -> tuple[float, float, float]:
    total = sum(values)
    return tuple(v / total for v in values)


def _set_sliders(page, values: tuple[int, int, int], current: tuple[int, int, int]) -> None:
    """Move each slider that differs, by keyboard as a user on a laptop would (Home: 0, End: 100, arrows: 10 a step)."""
    for name, want, now in zip(SLIDERS, values, current):
        if want != now:
            slider = page.get_by_test_id(f"slider-{name.lower()}").locator("[role=slider]")
            slider.focus()
            slider.press("End" if want == 100 else "Home")
            for _ in range(want // 10 if 0 < want < 100 else 0):
                slider.press("ArrowRight")
            page.get_by_test_id(f"value-{name.lower()}").filter(has_text=re.compile(rf"^{want}$")).wait_for(timeout=LONG)


@pytest.mark.slow
def test_a_class_of_30_plays_five_weeks_in_chromium(served):
    from playwright.sync_api import sync_playwright

    teacher_url, root = served
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed (apt-get install chromium; make setup does it as root)"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        teacher = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        teacher.on("pageerror", lambda e: errors.append(f"teacher: {e}"))
        teacher.goto(teacher_url, wait_until="networkidle", timeout=LONG)
        code = teacher.get_by_test_id("join-code").inner_text(timeout=LONG).strip()
        assert re.fullmatch(r"\d{4}", code)
        # the key leaves the projected address bar, and the page stays the teacher's
        teacher.wait_for_url(re.compile(r"/class$"), timeout=LONG)
        assert teacher.get_by_test_id("join-code").inner_text(timeout=LONG).strip() == code

        # the student page is gated: without the code, no team and no market
        stranger = browser.new_context().new_page()
        stranger.goto(root + "join", wait_until="networkidle", timeout=LONG)
        stranger.get_by_label("Join code (on the teacher's screen)").fill("0000" if code != "0000" else "1111")
        stranger.get_by_label("Team name").fill("Intruders")
        stranger.get_by_role("button", name="Join").click()
        stranger.get_by_test_id("join-error").wait_for(timeout=LONG)
        stranger.context.close()
        # nor is the teacher's page open without its key
        nosy = browser.new_context().new_page()
        nosy.goto(root + "class", wait_until="networkidle", timeout=LONG)
        nosy.get_by_text("This is the teacher's page").wait_for(timeout=LONG)
        assert code not in nosy.inner_text("body")
        nosy.context.close()

        students = []
        for i in range(STUDENTS):
            page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            page.on("pageerror", lambda e, i=i: errors.append(f"student {i}: {e}"))
            page.goto(root + "join", wait_until="networkidle", timeout=LONG)
            page.get_by_label("Join code (on the teacher's screen)").fill(code)
            page.get_by_label("Team name").fill(f"Team {i:02d}")
            page.get_by_role("button", name="Join").click()
            page.get_by_test_id("team").wait_for(timeout=LONG)
            students.append(page)
        teacher.get_by_text(f"{STUDENTS} teams have joined").wait_for(timeout=LONG)
        teacher.get_by_role("button", name=re.compile("Start the game")).click()

        sent: dict[tuple[int, int], tuple[float, float, float]] = {}  # (student, week) -> the split sent last
        position = {i: (40, 30, 30) for i in range(STUDENTS)}
        seconds = []
        for week in range(1, WEEKS + 1):
            sending = []
            for i, page in enumerate(students):
                if page is None:
                    continue
                if i == RELOADER and week == 3:
                    page.reload(wait_until="networkidle", timeout=LONG)
                    assert page.get_by_test_id("team").inner_text(timeout=LONG) == f"Team {i:02d}"
                    # a new page starts its sliders at the split last played, to the nearest 10
                    last = sent.get((i, 2), sent.get((i, 1)))
                    position[i] = tuple(int(round(10 * x)) * 10 for x in last)
                page.get_by_test_id("week").filter(has_text=str(week)).wait_for(timeout=LONG)
                for name, value in zip(SLIDERS, position[i]):  # the sliders are where this test thinks
                    page.get_by_test_id(f"value-{name.lower()}").filter(has_text=re.compile(rf"^{value}$")).wait_for(timeout=LONG)
                if i % 10 == 7 and week == 2:
                    continue  # three students send nothing in week 2: they keep their week-1 split
                values = _variant(i, week)
                if i % 6 == 1:  # a few change their minds: the first send is replaced by the second
                    first = _variant(i + 1, week)
                    _set_sliders(page, first, position[i])
                    page.get_by_role("button", name=f"Send my split for week {week}").click()
                    page.get_by_test_id("sent").wait_for(timeout=LONG)
                    position[i] = first
                _set_sliders(page, values, position[i])
                position[i] = values
                sending.append((i, page, values))
            for i, page, values in sending:  # the class sends at once: the server takes 30 sends together
                page.get_by_role("button", name=f"Send my split for week {week}").click(no_wait_after=True)
            for i, page, values in sending:
                label = "{:.0%} billboard, {:.0%} relational, {:.0%} influencers".format(*_share(values))
                page.get_by_test_id("sent").filter(has_text=label).wait_for(timeout=LONG)
                sent[i, week] = _share(values)
            expected = sum(1 for i in range(STUDENTS) if (i, week) in sent)
            print(f"week {week}: {expected} splits sent", flush=True)
            teacher.get_by_test_id("chosen-count").filter(has_text=re.compile(rf"^{expected}$")).wait_for(timeout=LONG)
            start = time.perf_counter()
            teacher.get_by_role("button", name=f"Play week {week}").click()
            done = "Final standings" if week == WEEKS else f"Standings after week {week}"
            teacher.get_by_text(done).wait_for(timeout=LONG)
            seconds.append((time.perf_counter() - start, float(teacher.get_by_test_id("step-seconds").inner_text())))
            if week == 2:  # a student leaves: their browser closes; the class goes on without them
                students[LEAVER].context.close()
                students[LEAVER] = None

        # the record of the game: every (week, team) exactly once, with the split sent last or the one kept
        rows = teacher.eval_on_selector_all("[data-testid=record] tbody tr", """rows => rows.map(r => [
            +r.dataset.week, r.dataset.team, r.dataset.split, +r.dataset.chosen, +r.dataset.influencers])""")
        assert len(rows) == STUDENTS * WEEKS
        played = {}
        for w, team, split, chosen, influencers in rows:
            i = int(team.split()[1])
            shares = tuple(float(x) for x in split.split())
            played[i, w] = shares
            if (i, w) in sent:
                assert chosen == 1 and shares == pytest.approx(sent[i, w], abs=1e-4), (i, w)
            else:
                assert chosen == 0, (i, w)
                previous = played.get((i, w - 1), (1 / 3, 1 / 3, 1 / 3))
                assert shares == pytest.approx(previous, abs=1e-4), (i, w)  # kept last week's split
            assert (influencers > 0) == (shares[2] > 0), (i, w)  # what was chosen is what the market bought
        assert all((LEAVER, w) not in sent for w in (3, 4, 5))

        # the end: ranks, and the other strategies replayed on the same seed
        teacher.get_by_test_id("comparison").wait_for(timeout=LONG * 3)
        ranks = teacher.eval_on_selector_all("[data-testid=standings] tbody tr td:first-child", "c => c.map(e => +e.textContent)")
        assert ranks == list(range(1, STUDENTS + 1))
        assert len(teacher.eval_on_selector_all("[data-testid=comparison] tbody tr", "r => r")) == STUDENTS
        for page in (students[0], students[10]):
            page.get_by_test_id("what-if").wait_for(timeout=LONG)
            assert re.search(r"you are \d+ of 30", page.inner_text("body"))
        teacher.screenshot(path=str(ROOT / "test-artifacts" / "class-teacher.png"), full_page=True)
        students[1].screenshot(path=str(ROOT / "test-artifacts" / "class-student.png"), full_page=True)
        browser.close()
    for week, (wall, model) in enumerate(seconds, 1):
        print(f"week {week}: {wall:.2f} s from the click to the standings on the teacher's page, "
              f"{model:.2f} s in the market ({STUDENTS} brands, 2,000 users)")
    assert errors == []
