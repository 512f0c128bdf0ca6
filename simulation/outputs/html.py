"""A self-contained HTML page beside each report.md: one file to open, mail or print.

`report.md` reads well on GitHub but its figures are separate files. The page
written here carries everything inside it: figures are embedded as `data:` URIs,
the stylesheet is inline, and nothing is fetched from the network (no font,
script, stylesheet or image), so it renders the same offline, in an e-mail
attachment or on paper. Links to the run's other files (`runs.csv`, ...) stay
relative, so they still work when the page sits beside them.

Our Markdown never means raw HTML, so raw HTML in it (an error message holding
`<lambda>`, say) is shown as text rather than passed into the page.
"""

from __future__ import annotations

import base64
import html
import os
import secrets
import xml.etree.ElementTree as etree
from pathlib import Path
from urllib.parse import unquote, urlsplit

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor, UnescapeTreeprocessor

__all__ = ["markdown_to_html", "write_html_report"]

EXTENSIONS = ("tables", "fenced_code", "sane_lists")

# Image types a browser shows from a data: URI; anything else is not embedded.
MIME_TYPES = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}

CSS = """
:root { color-scheme: light; }
body {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
    "Liberation Sans", sans-serif;
  font-size: 1rem; line-height: 1.55; color: #1f2328; background: #fff;
  max-width: 60rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem;
}
h1, h2, h3, h4 { line-height: 1.25; margin: 1.8em 0 0.6em; }
h1 { font-size: 1.9rem; margin-top: 0.5em; }
h2 { font-size: 1.4rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.25em; }
h3 { font-size: 1.15rem; }
p, ul, ol { margin: 0 0 1em; }
li + li { margin-top: 0.25em; }
a { color: #0b5cad; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.9em; }
code { background: #f3f4f6; padding: 0.1em 0.3em; border-radius: 3px; }
pre { background: #f6f8fa; padding: 0.8em 1em; overflow-x: auto; border-radius: 4px; line-height: 1.4; }
pre code { background: none; padding: 0; }
.table-wrap { overflow-x: auto; margin: 0 0 1.2em; }
table { border-collapse: collapse; font-size: 0.92rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #c8ced6; padding: 0.35em 0.6em; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; text-align: left; }  /* a column's own alignment (inline) wins */
tbody tr:nth-child(even) { background: #f7f8fa; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.figure-missing { display: inline-block; border: 1px dashed #b35900; color: #8a4500; background: #fff7ee;
  padding: 0.4em 0.7em; border-radius: 4px; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; color: #000; }
  a { color: inherit; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  .table-wrap { overflow: visible; }
  table { font-size: 7.5pt; }
  th, td { padding: 0.2em 0.3em; }
  table, img, pre { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  tbody tr:nth-child(even) { background: #f2f2f2; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
@page { margin: 1.6cm; }
"""


def _is_remote(src: str) -> bool:
    """A URL with a scheme or host (http:, https:, //host, data:, file:): not a file of the report."""
    parts = urlsplit(src)
    return bool(parts.scheme or parts.netloc)


def _data_uri(path: Path) -> str:
    """The file's bytes as a data: URI of its image type."""
    mime = MIME_TYPES[path.suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _local_image(folder: Path, src: str) -> tuple[Path | None, str]:
    """The image file `src` names inside `folder`, or None and why it cannot be embedded."""
    relative = unquote(urlsplit(src).path)
    if not relative:
        return None, "figure missing"
    root = folder.resolve()
    path = (root / relative).resolve()
    if not path.is_file():
        return None, "figure missing"
    if not path.is_relative_to(root):
        return None, "figure not embedded (outside the report's folder)"
    if path.suffix.lower() not in MIME_TYPES:
        return None, "figure not embedded (not an image type a browser shows)"
    return path, ""


def _make_note(elem: etree.Element, text: str) -> None:
    """Turn an <img> into a visible note in place, keeping its tail (the text after it)."""
    tail = elem.tail
    elem.clear()
    elem.tag = "span"
    elem.set("class", "figure-missing")
    elem.set("role", "note")
    elem.text = text
    elem.tail = tail


class _ReportTreeprocessor(Treeprocessor):
    """Embed local figures, replace the others by a note, wrap tables, remember the first # heading."""

    def __init__(self, md: markdown.Markdown, folder: Path) -> None:
        super().__init__(md)
        self.folder = folder
        self.first_h1: str | None = None
        # Backslash escapes are still placeholders at this point; "unescape" (0) runs after us.
        self.unescape = UnescapeTreeprocessor(md).unescape

    def run(self, root: etree.Element) -> None:
        for elem in root.iter("h1"):
            self.first_h1 = " ".join(self.unescape("".join(elem.itertext())).split())
            break
        for elem in list(root.iter("img")):
            src = self.unescape(elem.get("src", ""))
            alt = self.unescape(elem.get("alt", ""))
            if src.startswith("data:"):
                continue  # already inside the page
            if _is_remote(src):
                # Fetching it would make the page depend on the network: say where it is instead.
                path, why = None, "figure not embedded (remote)"
            else:
                path, why = _local_image(self.folder, src)
            if path is not None:
                elem.set("src", _data_uri(path))
            else:
                _make_note(elem, f"{why}: {src}" + (f" ({alt})" if alt else ""))
        for parent in list(root.iter()):
            for i, child in enumerate(list(parent)):
                if child.tag == "table":
                    wrap = etree.Element("div", {"class": "table-wrap"})
                    wrap.tail, child.tail = child.tail, None
                    parent.remove(child)
                    wrap.append(child)
                    parent.insert(i, wrap)


class _ReportExtension(Extension):
    """Our report's rules on top of Python-Markdown: no raw HTML, figures embedded."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.processor: _ReportTreeprocessor | None = None

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        # Raw HTML would be passed through untouched (and hidden if it looks like a tag): show it as text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # After "inline" (20), which creates the <img> elements; before "prettify" (10).
        self.processor = _ReportTreeprocessor(md, self.folder)
        md.treeprocessors.register(self.processor, "attention_market_report", 15)


def markdown_to_html(text: str, folder: Path, title: str | None = None) -> str:
    """One self-contained HTML5 page of report Markdown `text`, whose figures are files in `folder`.

    Local figures become data: URIs; a missing one becomes a visible note; links
    stay as written. The title is `title`, else the first `# ` heading, else the
    folder's name.
    """
    extension = _ReportExtension(Path(folder))
    md = markdown.Markdown(extensions=[*EXTENSIONS, extension], output_format="html")
    body = md.convert(text)
    assert extension.processor is not None
    page_title = title if title is not None else (extension.processor.first_h1 or Path(folder).name or "Report")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="Attention Market">\n'
        f"<title>{html.escape(page_title, quote=False)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def write_html_report(folder: Path, markdown_name: str = "report.md", html_name: str = "report.html") -> Path:
    """Write folder/html_name from folder/markdown_name, whole or not at all; return its path.

    The page is written to a hidden temporary file in the same folder and renamed
    over the target, so a reader never sees half a page and a failure leaves the
    old page (or none) in place.
    """
    folder = Path(folder)
    text = (folder / markdown_name).read_text(encoding="utf-8")
    data = markdown_to_html(text, folder).encode("utf-8")
    target = folder / html_name
    while True:
        tmp = folder / f".{html_name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            # 0o666 minus the umask, like any file we write (mkstemp's 0o600 would stick after the rename).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
