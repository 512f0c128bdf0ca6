"""The classroom dashboard in a real browser: Debian's Chromium driven by Playwright, offline.

The page is served by `run.py serve` on a free port of 127.0.0.1 and stopped by
its process group. A screenshot is kept in test-artifacts/dashboard.png.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT, free_port

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = open(ROOT / "test-artifacts" / "serve.log", "w") if (ROOT / "test-artifacts").mkdir(exist_ok=True) is None else None
    process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "serve", "--port", str(port)], cwd=ROOT, env=env,
                               start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("the dashboard did not answer within 90 s; see test-artifacts/serve.log")
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


def _time(page) -> float:
    return float(re.search(r"Time: ([0-9.]+)", page.inner_text("body")).group(1))


def _images(page) -> list[str]:
    return page.eval_on_selector_all("img", "els => els.map(e => e.src)")


#: How long the day shown must stay the same for the dashboard to count as paused.
STABLE_MS = 2500
#: True once the "Time: N" on the page has not changed for `ms` milliseconds (state kept on window).
_TIME_STABLE = """ms => {
    const m = /Time: ([0-9.]+)/.exec(document.body.innerText);
    const now = Date.now();
    if (!m) return false;
    if (window.__shown !== m[1]) { window.__shown = m[1]; window.__since = now; }
    return now - window.__since >= ms;
}"""


def _wait_for_new_images(page, before: list[str]) -> None:
    """Wait until the page's figures are other images than `before` (they are redrawn after each change)."""
    page.wait_for_function("b => JSON.stringify(Array.from(document.images).map(e => e.src)) !== JSON.stringify(b)",
                           arg=before, timeout=30_000)


@pytest.mark.slow
def test_dashboard_in_chromium(server):
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed (apt-get install chromium; make setup does it as root)"
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(server, wait_until="networkidle", timeout=90_000)
        page.get_by_text("Each dot is a user").wait_for(timeout=60_000)  # the graph view rendered
        assert "Press Step or Play" in page.inner_text("body")

        # Step advances the day and draws the charts
        start, before = _time(page), _images(page)
        page.get_by_role("button", name="Step").click()
        page.get_by_text("Share of all minutes online").wait_for(timeout=30_000)
        page.wait_for_function(f"() => /Time: (?!{start:g}\\b)/.test(document.body.innerText)", timeout=30_000)
        assert _time(page) == start + 1
        _wait_for_new_images(page, before)

        # the graph can show a brand's customers instead
        before = _images(page)
        page.get_by_role("button", name="customers of Billboard").click()
        _wait_for_new_images(page, before)
        assert "Return on spend so far" in page.inner_text("body")

        # Play runs, Pause stops
        page.get_by_role("button", name="▶").click()
        page.wait_for_function(f"() => {{ const m = /Time: ([0-9.]+)/.exec(document.body.innerText);"
                               f" return m && parseFloat(m[1]) >= {start + 3}; }}", timeout=60_000)  # two more days
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="▶").wait_for(timeout=30_000)
        # paused: the day a step in flight when Pause was pressed ends on must then stay (else this times out)
        page.wait_for_function(_TIME_STABLE, arg=STABLE_MS, timeout=60_000, polling=100)
        assert _time(page) >= start + 3

        # a slider, then Reset: more users than the graph view can draw
        slider = page.get_by_text("Number of users").locator("xpath=..").locator("[role=slider]")
        slider.focus()
        slider.press("End")
        page.get_by_role("button", name="Reset").click()
        page.get_by_text("too many to draw the graph legibly").wait_for(timeout=60_000)
        assert _time(page) == 0

        page.screenshot(path=str(ROOT / "test-artifacts" / "dashboard.png"), full_page=True)
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
