"""The classroom dashboard: its figures without a browser, then the page in a real one (Debian's Chromium
driven by Playwright, offline, at a projector's 1280x720).

The page is served by `run.py serve` on a free port of 127.0.0.1 and stopped by its process group.
A screenshot is kept in test-artifacts/dashboard.png.

Each chart is an <img data-chart=...> whose data attributes say the day it shows (data-day) and what
its figure drew, read back from the matplotlib artists (data-colours: series label -> colour;
data-legend: legend key -> colour; data-events: axes title -> [[day, label], ...] of the event
lines). The page's day is the <div data-day> above the charts.

The page does not change all at once: Solara renders the sidebar (a portal) in a pass after the
main area, and a widget a render creates can reach the browser after those it updates. So the
browser test never reads one element as proof that another has changed: it waits for one condition
covering everything it then reads, or reads what it needs from one element (the old test read the
sidebar's "Time:" right after the main area changed: "assert 4.0 == 0 after Reset", 3 runs in 7).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from matplotlib.text import Text

from tests.conftest import ROOT, free_port, serving
from tests.figure_checks import check_figure, draw, event_days

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 720}  # a projector
#: Framework internals a class must not see (SolaraViz's frame showed all of them).
INTERNALS = ("PAGE 0", "Page 0", "Use Threads", "Render Interval", "Play Interval", "Time:")
#: The smallest text in a chart, in screen pixels at the page's 1:1 scale (16 px is the page's body text).
MIN_TEXT_PX = 14.0
#: A slider's track must be at least this wide (the old relational-share slider was a dot beside its label).
MIN_TRACK_PX = 180


# ---------------------------------------------------------------- the figures, without a browser

@pytest.fixture(scope="module")
def played():
    """The classroom model at day 5, and at day 9 after a launch (day 6) and a crisis (day 8)."""
    from simulation.dashboard import app

    model = app.ClassroomModel()
    for _ in range(5):
        model.step()
    day5 = app.snapshot(model)
    launch = model.launch_platform_now()
    model.step()
    model.step()
    crisis = model.crisis_now()
    model.step()
    model.step()
    return day5, app.snapshot(model), launch, crisis


def _figures(view):
    from simulation.dashboard import app

    figures = {"graph": app.graph_figure(view), "attention": app.attention_figure(view),
               "sales": app.sales_figure(view), "vanity": app.vanity_figure(view)}
    figures.update({f"graph {o}": app.graph_figure(view, o) for o in app.graph_options(view)[1:]})
    return figures


def _texts(fig) -> list[Text]:
    """Every text drawn: visible, not empty, and for a tick label, of a tick inside its axis' view."""
    draw(fig)
    hidden = set()
    for ax in [*fig.axes, *(c for a in fig.axes for c in a.child_axes)]:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not ax.axison or not lo - 1e-9 * (hi - lo) <= tick.get_loc() <= hi + 1e-9 * (hi - lo):
                    hidden |= {id(tick.label1), id(tick.label2)}
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def _visible_box(text: Text, renderer):
    """The drawn box of a text; an event label lifted to a higher row by trailing newlines counts its top line only."""
    box = text.get_window_extent(renderer)
    lines = text.get_text().split("\n")
    if len(lines) > 1 and not any(lines[1:]):
        box = box.from_extents(box.x0, box.y1 - box.height / len(lines), box.x1, box.y1)
    return box


def _collisions(fig) -> list[str]:
    renderer = draw(fig)
    texts = _texts(fig)
    boxes = [_visible_box(t, renderer) for t in texts]
    found = []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if boxes[i].overlaps(boxes[j]):
                found.append(f"{texts[i].get_text()!r} / {texts[j].get_text()!r}")
    return found


def test_classroom_model_knobs():
    """The sliders' parameters reach the model: users, the first brand's split, word of mouth, savviness."""
    from simulation.dashboard.app import GRAPH_LIMIT, ClassroomModel

    model = ClassroomModel(users=200, relational_share=0.3, word_of_mouth=0.12, savviness_growth=0.05, seed=3)
    assert model.population.n == 200 and model.brands[0].relational_share == 0.3
    assert model.config.market.q == 0.12 and model.config.advertising.savviness_growth == 0.05
    assert model.layout is not None and model.layout.shape == (200, 2)
    model.step()
    model.launch_platform_now()
    model.crisis_now()
    model.step()
    assert model.sink("New platform").minutes_today > 0
    big = ClassroomModel(users=GRAPH_LIMIT + 50)
    assert big.layout is None


def test_the_teachers_events_are_in_the_event_log(played):
    """As a scheduled event: the day it first acts on (tomorrow), its type and what it hit; once for a launch."""
    from simulation.dashboard import app

    _, view, launch, crisis = played
    assert launch == {"day": 6, "type": "platform_launch", "sink": app.NEW_PLATFORM, "by": "teacher"}
    assert crisis["day"] == 8 and crisis["type"] == "crisis" and crisis["brand"] == "Relational"
    assert crisis["users_hit"] > 0
    assert view.events == [launch, crisis] and view.launched
    model = app.ClassroomModel(users=100)
    model.launch_platform_now()
    assert model.launch_platform_now() is None and len(model.events.log) == 1
    assert not any(e.type == "platform_launch" for e in model.events.pending)  # it will not "open" again


def test_event_days_are_marked_on_every_time_chart(played):
    """A dashed line and a short name at each event day; shown at once, before its day is played."""
    from simulation.dashboard import app
    from simulation.outputs import plots

    _, view, _, _ = played
    for name in ("attention", "sales"):
        fig = _figures(view)[name]
        time_axes = [ax for ax in fig.axes if ax.get_xlabel() == "day"]
        assert time_axes, name
        for ax in time_axes:
            assert event_days(ax) == [6, 8], (name, ax.get_title())
            assert plots.drawn_events(ax) == [(6, "New platform opens"), (8, "crisis: Relational")]
        assert json.loads(app.figure_data(fig)["events"]) == {
            ax.get_title(): [[6, "New platform opens"], [8, "crisis: Relational"]] for ax in time_axes}
    model = app.ClassroomModel(users=100)
    for _ in range(app.MIN_DAYS + 2):
        model.step()
    model.launch_platform_now()  # tomorrow, not played yet: the day axis reaches it
    for fig in (app.attention_figure(app.snapshot(model)), app.sales_figure(app.snapshot(model))):
        for ax in fig.axes:
            assert event_days(ax) == [app.MIN_DAYS + 3] and ax.get_xlim()[1] == app.MIN_DAYS + 3


def test_one_colour_per_sink_and_brand_whatever_the_day(played):
    """The colours come from the scenario's order, not from rank or from the series present: the same for
    every sink and brand in every chart, on day 5 and on day 9 (after the launch moved every rank)."""
    from simulation.dashboard import app

    day5, day9, _, _ = played
    assert day5.colours == day9.colours
    seen: dict[str, str] = {}
    for view in (day5, day9):
        for name, fig in _figures(view).items():
            drawn = json.loads(app.figure_data(fig)["colours"])
            if name.startswith("graph customers of"):
                brand = name.removeprefix("graph customers of ")
                drawn = {brand: drawn[f"customer of {brand}"]}
            else:
                drawn = {k: v for k, v in drawn.items() if k != "no day played yet"}
            for label, colour in drawn.items():
                assert seen.setdefault(label, colour) == colour, f"{label} is {seen[label]} and {colour} ({name}, day {view.day})"
            # and each legend key is in the colour of its series (a key may be a proxy, drawn apart)
            data = app.figure_data(fig)
            legend, series = json.loads(data["legend"]), json.loads(data["colours"])
            assert legend and legend == {k: v for k, v in series.items() if k in legend}, (name, view.day)
            assert set(series) <= set(legend), (name, set(series) - set(legend))
    # every sink the class can see and both brands (a brand's own site takes its brand's colour)
    assert {"social", "e-mail", "games", "news", "everything else", "New platform", "Relational", "Billboard",
            "Relational (site)", "Billboard (site)"} <= set(seen)
    assert seen["Relational (site)"] == seen["Relational"] != seen["Billboard"] == seen["Billboard (site)"]
    assert len({seen[s] for s in ("social", "e-mail", "games", "news", "everything else", "New platform",
                                  "Relational", "Billboard")}) == 8
    # and the ranks did move between the two days (else the check above would prove little)
    rank5 = day5.sinks[day5.sinks.day == 5].sort_values("share").sink.tolist()
    rank9 = day9.sinks[day9.sinks.day == 9].sort_values("share").sink.tolist()
    assert rank5 != rank9


def test_figures_read_on_a_projector(played):
    """Titles, labels and legends off the data (check_figure), no text on another, nothing below MIN_TEXT_PX,
    whole days on every day axis, counts from zero."""
    from simulation.dashboard import app

    for view in played[:2]:
        for name, fig in _figures(view).items():
            graph = name.startswith("graph")
            check_figure(fig, exempt=fig.axes if graph else (),
                         counts=[ax for ax in fig.axes if ax.get_title() in ("Customers", "Sales to date")])
            assert _collisions(fig) == [], (name, view.day)
            for text in _texts(fig):
                px = text.get_fontsize() * app.DPI / 72
                assert px >= MIN_TEXT_PX, f"{name}: {text.get_text()!r} is {px:.1f} px"
            for ax in fig.axes:
                if ax.get_xlabel() != "day":
                    continue
                lo, hi = ax.get_xlim()
                ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
                assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks), (name, ticks)
                labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
                assert labels and not any("." in t for t in labels), (name, labels)
            assert fig.get_size_inches()[0] * app.DPI <= app.MAIN_PX  # shown 1:1, never scaled down


def _whole_days(fig) -> None:
    draw(fig)
    for ax in fig.axes:
        if ax.get_xlabel() == "day":
            lo, hi = ax.get_xlim()
            ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
            assert ticks and all(float(t).is_integer() for t in ticks), (ax.get_title(), ticks)
            assert not any("." in t.get_text() for t in ax.get_xticklabels()), ax.get_title()


def test_day_axes_tick_whole_days_on_a_short_axis(monkeypatch):
    """Even two days wide (where matplotlib would tick 1.0, 1.2, ...): the dashboard's axes and plots' own."""
    from matplotlib.figure import Figure

    from simulation.dashboard import app
    from simulation.outputs import plots

    monkeypatch.setattr(app, "MIN_DAYS", 2)
    model = app.ClassroomModel(users=100)
    model.step()
    model.step()
    view = app.snapshot(model)
    for fig in (app.attention_figure(view), app.sales_figure(view)):
        _whole_days(fig)
    fig = Figure()
    a, b, c = fig.subplots(1, 3)
    plots.attention_share(view.sinks, a)
    plots.brand_destinations(view.sinks, b)
    plots.brand_metric(view.brands, "adopters", c)
    _whole_days(fig)


def test_figures_with_one_day_and_before_any(played):
    """Day 0 draws the graph only (no colour yet); day 1 has whole-day ticks too."""
    from simulation.dashboard import app

    model = app.ClassroomModel(users=100)
    view = app.snapshot(model)
    assert app.attention_figure(view) is None and app.sales_figure(view) is None and app.vanity_figure(view) is None
    assert json.loads(app.figure_data(app.graph_figure(view))["colours"]) == {"no day played yet": app.NOT_YET}
    model.step()
    fig = app.attention_figure(app.snapshot(model))
    draw(fig)
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks())


def test_no_model_at_module_level():
    """Each browser session makes its own model (in Dashboard): the module holds none to share."""
    from simulation.dashboard import app
    from simulation.model import AttentionModel

    assert app.page is app.Dashboard
    assert not [name for name, value in vars(app).items() if isinstance(value, AttentionModel)]


def test_settings_show_their_value_and_unit():
    from simulation.dashboard import app

    shown = {s.name: s.shown(app.DEFAULTS[s.name]) for s in app.settings("Relational")}
    assert shown == {"relational_share": "100 %", "word_of_mouth": "0.05 a day",
                     "savviness_growth": "0.02 per 1,000 ads seen", "users": "300 users"}
    assert [s.label for s in app.settings("Relational")][0] == "Relational share of Relational's budget"


def test_the_colour_helpers():
    from simulation.outputs import plots

    colours = plots.market_colours(["A", "B"], ["s1", "s2"], {"A (site)": "A"})
    assert colours == {"A": plots.PALETTE[0], "B": plots.PALETTE[1], "s1": plots.PALETTE[2], "s2": plots.PALETTE[3],
                       "A (site)": plots.PALETTE[0]}
    assert len(plots.palette(str(i) for i in range(40))) == 40


# ---------------------------------------------------------------- the page in Chromium

@pytest.fixture
def server():
    with serving(log_name="serve.log", seconds=90) as (root, _):
        yield root


#: How long the day shown must stay the same for the dashboard to count as paused.
STABLE_MS = 2500
#: The day above the charts (rendered with them), or -1 while the page has none.
_DAY = "() => { const e = document.querySelector('div[data-day]'); return e ? parseInt(e.dataset.day) : -1; }"
#: True once the page's day is `n` and exactly the charts `names` are there, each showing day `n`.
#: (Widgets a render creates can reach the page after those it updates: one condition checks them all.)
_ALL_AT = """([n, names]) => {
    const d = document.querySelector('div[data-day]');
    const charts = Array.from(document.querySelectorAll('img[data-chart]'));
    return d && d.dataset.day == String(n) && charts.map(c => c.dataset.chart).sort().join() == names.sort().join()
        && charts.every(c => c.dataset.day == String(n));
}"""
CHARTS = ["graph", "attention", "sales", "vanity"]
#: True once the page's day has not changed for `ms` milliseconds (state kept on window).
_DAY_STABLE = """ms => {
    const e = document.querySelector('div[data-day]');
    const now = Date.now();
    if (!e) return false;
    if (window.__shown !== e.dataset.day) { window.__shown = e.dataset.day; window.__since = now; }
    return now - window.__since >= ms;
}"""
#: Each chart's name -> its data attributes, read in one go.
_CHARTS = """() => Object.fromEntries(Array.from(document.querySelectorAll('img[data-chart]')).map(c =>
    [c.dataset.chart, {day: parseInt(c.dataset.day), sum: c.dataset.sum, colours: JSON.parse(c.dataset.colours),
                       legend: JSON.parse(c.dataset.legend),
                       events: JSON.parse(c.dataset.events), width: c.getBoundingClientRect().width,
                       natural: c.naturalWidth}]))"""

#: setting -> (label, value shown at the default, key that moves it one step, value shown then)
SLIDERS = {
    "relational_share": ("Relational share of Relational's budget", "100 %", "ArrowLeft", "90 %"),
    "word_of_mouth": ("Word-of-mouth strength (q)", "0.05 a day", "ArrowRight", "0.06 a day"),
    "savviness_growth": ("How fast users grow ad-savvy", "0.02 per 1,000 ads seen", "ArrowRight", "0.03 per 1,000 ads seen"),
    "users": ("Number of users", "300 users", "ArrowRight", "350 users"),
}
BACK = {"ArrowLeft": "ArrowRight", "ArrowRight": "ArrowLeft"}
#: The thumb's value once it is no longer `previous` and the label above shows it ("0.15 a day"), else false.
_SHOWS_THUMB = """([setting, previous]) => {
    const v = document.querySelector(setting + ' [role=slider]').getAttribute('aria-valuenow');
    const shown = document.querySelector(setting + ' .setting-label').innerText.replace(/\u00a0/g, ' ');
    return v !== previous && shown.endsWith(': ' + parseFloat(v).toFixed(2) + ' a day') ? v : false;
}"""


def _day(page) -> int:
    return page.evaluate(_DAY)


def _label(page, name: str) -> str:
    return page.inner_text(f".setting-{name} .setting-label").replace("\xa0", " ").strip()


def _wait_label(page, name: str, text: str) -> None:
    page.wait_for_function("([sel, t]) => { const e = document.querySelector(sel);"
                           " return e && e.innerText.replace(/\\u00a0/g, ' ').trim() === t; }",
                           arg=[f".setting-{name} .setting-label", text], timeout=30_000)


def _text(page, text: str) -> None:
    """Wait for `text` on the page (a widget a render creates can land after those it updates)."""
    page.get_by_text(text).first.wait_for(timeout=30_000)


def _step_to(page, day: int) -> None:
    while _day(page) < day:
        now = _day(page)
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(_ALL_AT, arg=[now + 1, CHARTS], timeout=60_000)
        assert _day(page) == now + 1


def _same_colours(seen: dict, charts: dict, where: str) -> None:
    """Record each series' colour and each legend key's; one already seen (in another chart or on another
    day, or as a series of its legend's chart) must match."""
    for chart, data in charts.items():
        assert set(data["colours"]) <= set(data["legend"]), (chart, where, data["colours"], data["legend"])
        for label, colour in [*data["colours"].items(), *data["legend"].items()]:
            key = label.removeprefix("customer of ")
            assert seen.setdefault(key, (colour, chart, where))[0] == colour, (
                f"{key} is {colour} in {chart} on {where} but {seen[key][0]} in {seen[key][1]} on {seen[key][2]}")


@pytest.mark.slow
def test_dashboard_in_chromium(server):
    from playwright.sync_api import expect, sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed (apt-get install chromium; make setup does it as root)"
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(server, wait_until="networkidle", timeout=90_000)
        page.get_by_text("Each dot is a user").wait_for(timeout=60_000)  # the graph view rendered
        page.wait_for_function(_ALL_AT, arg=[0, ["graph"]], timeout=30_000)
        _text(page, "Press Step or ▶ to start the days.")
        # the sidebar (a later render pass) is there: Mesa's controls and the settings, then nothing else
        for name in ("Reset", "▶", "Step"):
            page.get_by_role("button", name=name, exact=True).wait_for(timeout=30_000)
        page.locator(".setting-seed input").wait_for(timeout=30_000)
        body = page.inner_text("body")
        for internal in INTERNALS:  # none of SolaraViz's machinery, in any case
            assert internal.lower() not in body.lower(), internal
        assert "Day 0" in body

        # each slider: its label above a wide track, showing the value and unit, following the slider
        for name, (label, default, key, moved) in SLIDERS.items():
            assert _label(page, name) == f"{label}: {default}"
            track = page.locator(f".setting-{name} .v-slider__track-container").bounding_box()
            text = page.locator(f".setting-{name} .setting-label").bounding_box()
            assert track["width"] >= MIN_TRACK_PX, (name, track)
            assert text["y"] + text["height"] <= track["y"] + 1, (name, text, track)  # above, not beside
            thumb = page.locator(f".setting-{name} [role=slider]")
            thumb.focus()
            thumb.press(key)
            _wait_label(page, name, f"{label}: {moved}")
            thumb.press(BACK[key])
            _wait_label(page, name, f"{label}: {default}")
        # and with the mouse: while the thumb is dragged (before it is let go), the value shown is where it is
        track = page.locator(".setting-word_of_mouth .v-slider__track-container").bounding_box()
        y = track["y"] + track["height"] / 2
        thumb = page.locator(".setting-word_of_mouth .v-slider__thumb").bounding_box()
        page.mouse.move(thumb["x"] + thumb["width"] / 2, y)
        page.mouse.down()
        held = ["0.05"]
        for fraction in (0.5, 0.9):
            page.mouse.move(track["x"] + fraction * track["width"], y, steps=8)
            held.append(page.wait_for_function(_SHOWS_THUMB, arg=[".setting-word_of_mouth", held[-1]],
                                               timeout=30_000).json_value())
        page.mouse.up()
        assert 0.05 < float(held[1]) < float(held[2]) <= 0.3, held
        thumb = page.locator(".setting-word_of_mouth [role=slider]")
        thumb.focus()
        thumb.press("Home")
        for _ in range(5):
            thumb.press("ArrowRight")
        _wait_label(page, "word_of_mouth", f"{SLIDERS['word_of_mouth'][0]}: 0.05 a day")

        # Step advances the day and draws the charts
        _step_to(page, 1)
        _text(page, "Share of all minutes online, day by day")
        charts = page.evaluate(_CHARTS)
        assert set(charts) == set(CHARTS)
        for chart, data in charts.items():
            assert data["width"] == data["natural"] and data["width"] <= 936, (chart, data["width"])  # 1:1 on the page

        # day 5, then a launch: marked at once on every time chart, at the day it opens (tomorrow)
        _step_to(page, 5)
        seen: dict = {}
        _same_colours(seen, page.evaluate(_CHARTS), "day 5")

        # another browser has a model of its own: it starts at day 0, and this one stays at day 5
        other = browser.new_context(viewport=VIEWPORT).new_page()
        other.goto(server, wait_until="networkidle", timeout=90_000)
        other.wait_for_function(_ALL_AT, arg=[0, ["graph"]], timeout=60_000)
        other.context.close()
        assert _day(page) == 5
        page.get_by_role("button", name="Launch a new platform now").click()
        page.wait_for_function("() => document.querySelector('img[data-chart=attention]').dataset.events"
                               ".includes('New platform opens')", timeout=30_000)
        page.wait_for_function("() => document.querySelector('img[data-chart=sales]').dataset.events"
                               ".includes('New platform opens')", timeout=30_000)
        expect(page.get_by_role("button", name="Launch a new platform now")).to_be_disabled(timeout=30_000)  # once
        _step_to(page, 7)
        page.get_by_role("button", name="Crisis for Relational now").click()
        page.wait_for_function("() => document.querySelector('img[data-chart=attention]').dataset.events"
                               ".includes('crisis: Relational')", timeout=30_000)
        _step_to(page, 9)
        charts = page.evaluate(_CHARTS)
        marked = [[6, "New platform opens"], [8, "crisis: Relational"]]
        assert charts["attention"]["events"] == {"Where the time goes": marked}
        assert charts["sales"]["events"] == {"Customers": marked, "Sales to date": marked}
        _text(page, "Marked on the charts: day 6: New platform opens; day 8: crisis: Relational.")
        _same_colours(seen, charts, "day 9")
        assert "New platform" in charts["attention"]["colours"] and "New platform" in charts["graph"]["colours"]
        assert {"social", "Relational", "Billboard", "Relational (site)"} <= set(seen)

        # the graph can show a brand's customers instead, in that brand's colour
        before = charts["graph"]["sum"]
        page.get_by_role("button", name="customers of Billboard").click()
        page.wait_for_function("s => document.querySelector('img[data-chart=graph]').dataset.sum !== s", arg=before,
                               timeout=30_000)
        graph = page.evaluate(_CHARTS)["graph"]
        assert "customer of Billboard" in graph["colours"]
        _same_colours(seen, {"graph": graph}, "day 9, customers view")
        _text(page, "Return on spend so far")
        page.screenshot(path=str(ROOT / "test-artifacts" / "dashboard-day9.png"))

        # Play runs, Pause stops
        start = _day(page)
        page.get_by_role("button", name="▶").click()
        page.wait_for_function(f"() => ({_DAY})() >= {start + 2}", timeout=60_000)  # two more days
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="▶").wait_for(timeout=30_000)
        # paused: the day a step in flight when Pause was pressed ends on must then stay (else this times out)
        page.wait_for_function(_DAY_STABLE, arg=STABLE_MS, timeout=60_000, polling=100)
        assert _day(page) >= start + 2

        # a slider, then Reset: more users than the graph view can draw. The caption that says so carries
        # the day of the same render: the sidebar (Reset's own card) is drawn in a later pass, so what
        # the main area shows is read from one element, never from two that need not change together.
        thumb = page.locator(".setting-users [role=slider]")
        thumb.focus()
        thumb.press("End")
        _wait_label(page, "users", "Number of users: 3,000 users")
        _text(page, "Press Reset to start again with these settings.")  # the model still has 300
        page.get_by_role("button", name="Reset").click()
        caption = page.get_by_text("too many to draw the graph legibly")
        caption.wait_for(timeout=60_000)
        assert re.match(r"Day 0: 3,000 users", caption.inner_text()), caption.inner_text()
        page.wait_for_function(f"() => ({_DAY})() === 0", timeout=30_000)
        page.wait_for_function(_DAY_STABLE, arg=STABLE_MS, timeout=60_000, polling=100)
        assert _day(page) == 0  # and nothing steps the new model by itself
        _text(page, "Reset starts again with these settings.")  # the settings are the model's now

        page.screenshot(path=str(ROOT / "test-artifacts" / "dashboard.png"))
        browser.close()
    assert errors == []


def test_serve_reports_a_bad_scenario_before_starting(tmp_path, capsys):
    from simulation.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsinks: []\nbrands: []\n")
    assert main(["serve", str(bad), "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "sinks" in err and "Traceback" not in err
    assert main(["serve", "--port", "70000"]) == 2
