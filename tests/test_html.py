"""The HTML page beside report.md: one file that shows the whole report offline."""

from __future__ import annotations

import base64
import io
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from simulation.outputs import html as html_report
from simulation.outputs.html import markdown_to_html, write_html_report


class _Page(HTMLParser):
    """Every tag with its attributes, and the visible text, of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def png(path: Path, colour: str) -> bytes:
    """A real PNG drawn with matplotlib's object API; its bytes."""
    fig = Figure(figsize=(2, 1.5), dpi=40)
    fig.add_subplot().plot([0, 1, 2], [0, 2, 1], color=colour)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


REPORT = """# Default market: 365 days, 2,000 users

Scenario `scenarios/default.yaml`, seed 7. **Billboard** sold more; see [the runs](runs.csv)
and [Bass (1969)](https://doi.org/10.1287/mnsc.15.5.215).

| brand | strategy | sales | ROI |
|---|---|---:|---:|
| Billboard | billboard | 1,392 | +0.53 |
| Relational | relational | 679 | -0.26 |

![Vanity and outcome metrics](vanity_vs_outcome.png)

![Attention share](attention_share.png)
"""


@pytest.fixture
def report_folder(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    pngs = {name: png(tmp_path / name, colour)
            for name, colour in (("vanity_vs_outcome.png", "tab:blue"), ("attention_share.png", "tab:red"))}
    (tmp_path / "report.md").write_text(REPORT, encoding="utf-8")
    (tmp_path / "runs.csv").write_text("run,seed\n0,7\n")
    return tmp_path, pngs


def test_page_holds_table_figures_bold_link_and_title(report_folder):
    folder, pngs = report_folder
    page = markdown_to_html(REPORT, folder)
    parsed = parse(page)

    assert page.startswith("<!DOCTYPE html>")
    assert ("meta", {"charset": "utf-8"}) in parsed.tags
    assert parsed.title == "Default market: 365 days, 2,000 users"
    assert "<table>" in page
    assert "<strong>Billboard</strong>" in page
    assert "<code>scenarios/default.yaml</code>" in page
    assert ("a", {"href": "runs.csv"}) in parsed.tags  # a link to a file of the run stays relative

    # Each figure is inside the page, byte for byte, in the order the report shows them.
    images = [attrs for tag, attrs in parsed.tags if tag == "img"]
    assert [i["alt"] for i in images] == ["Vanity and outcome metrics", "Attention share"]
    prefix = "data:image/png;base64,"
    assert all(i["src"].startswith(prefix) for i in images)
    assert [base64.b64decode(i["src"][len(prefix):], validate=True) for i in images] == [
        pngs["vanity_vs_outcome.png"], pngs["attention_share.png"]]


def test_page_loads_nothing_from_the_network(report_folder):
    folder, _ = report_folder
    text = REPORT + '\n![remote](https://example.org/chart.png)\n\n<script src="https://example.org/x.js"></script>\n'
    page = markdown_to_html(text, folder)
    parsed = parse(page)
    urls = [(tag, key, value) for tag, attrs in parsed.tags for key, value in attrs.items()
            if key in ("src", "href") and value and value.lower().startswith(("http:", "https:", "//"))]
    # The only web address left is the hyperlink written in the Markdown, which loads nothing by itself.
    assert urls == [("a", "href", "https://doi.org/10.1287/mnsc.15.5.215")]
    assert not any(tag in ("script", "link", "iframe") for tag, _ in parsed.tags)
    assert "<style>" in page  # the stylesheet is inline
    assert "figure not embedded (remote): https://example.org/chart.png" in "".join(parsed.text)


def test_title_argument_wins_over_the_heading(report_folder):
    folder, _ = report_folder
    assert parse(markdown_to_html(REPORT, folder, title="Sweep & co")).title == "Sweep & co"


def test_missing_figure_is_a_visible_note_not_a_broken_image(tmp_path):
    page = markdown_to_html("# R\n\nBefore ![Adoption curves](adoption.png) after.\n", tmp_path)
    parsed = parse(page)
    assert not [attrs for tag, attrs in parsed.tags if tag == "img"]
    text = "".join(parsed.text)
    assert "figure missing: adoption.png" in text
    assert "Adoption curves" in text
    assert "Before figure missing" in text and "after." in text  # the sentence around it is kept


def test_right_aligned_columns_stay_right_aligned(report_folder):
    folder, _ = report_folder
    parsed = parse(markdown_to_html(REPORT, folder))
    cells = [(tag, attrs.get("style")) for tag, attrs in parsed.tags if tag in ("th", "td")]
    right = "text-align: right;"
    header, rows = cells[:4], [cells[i:i + 4] for i in range(4, len(cells), 4)]
    assert [style for _, style in header] == [None, None, right, right]
    assert len(rows) == 2
    assert all([style for _, style in row] == [None, None, right, right] for row in rows)


def test_svg_and_jpeg_get_their_own_mime_type(tmp_path):
    (tmp_path / "a.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0fake")
    srcs = [attrs["src"] for tag, attrs in parse(markdown_to_html("![a](a.svg) ![b](b.jpg)", tmp_path)).tags
            if tag == "img"]
    assert srcs[0].startswith("data:image/svg+xml;base64,")
    assert srcs[1].startswith("data:image/jpeg;base64,")


def test_raw_html_in_the_markdown_is_shown_as_text(tmp_path):
    # An error message in a failed-runs table can hold "<lambda>"; it must not vanish as an unknown tag.
    parsed = parse(markdown_to_html("| run | error |\n|---:|---|\n| 3 | in <lambda>: x |\n", tmp_path))
    assert "in <lambda>: x" in "".join(parsed.text)
    assert "lambda" not in [tag for tag, _ in parsed.tags]


def test_write_html_report_writes_the_page_beside_report_md(report_folder):
    folder, _ = report_folder
    before = set(os.listdir(folder))
    path = write_html_report(folder)
    assert path == folder / "report.html"
    assert set(os.listdir(folder)) == before | {"report.html"}  # no temporary file left behind
    assert path.read_text(encoding="utf-8") == markdown_to_html(REPORT, folder)


def test_failed_write_keeps_the_old_page_and_leaves_no_temporary_file(report_folder, monkeypatch):
    folder, _ = report_folder
    (folder / "report.html").write_text("old page")
    before = set(os.listdir(folder))

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(html_report.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_html_report(folder)
    assert (folder / "report.html").read_text() == "old page"
    assert set(os.listdir(folder)) == before
