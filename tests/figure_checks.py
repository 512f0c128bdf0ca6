"""Reusable checks of a matplotlib Figure: what a reader needs, measured on the drawn figure.

    from tests.figure_checks import check_figure
    check_figure(fig)                               # titles, labels, legends off the data
    check_figure(fig, suptitle=True, counts=[ax])   # and a figure title, and `ax` never below zero

Every check draws the figure first (an Agg canvas is attached if the figure has none), so bounding
boxes are those of the laid-out figure, as it would be saved.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.figure import Figure, SubFigure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

EVENT_GID = "event"  # the gid simulation.outputs.plots gives an event day's vertical line


def draw(fig: Figure) -> RendererBase:
    """Draw the figure on an Agg canvas (attached if it has none) and return the renderer."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def is_colorbar(ax: Axes) -> bool:
    """Whether `ax` is the axes of a colorbar (matplotlib marks those with `_colorbar`)."""
    return getattr(ax, "_colorbar", None) is not None


def visible_axes(fig: Figure) -> list[Axes]:
    """The figure's axes (subfigures included) that are drawn."""
    return [ax for ax in fig.get_axes() if ax.get_visible()] + \
        [ax for sub in fig.subfigs for ax in visible_axes(sub)]


def legends(fig: Figure | SubFigure) -> list[Legend]:
    """Every visible legend: the figure's, its subfigures' and its axes'."""
    found = [leg for leg in fig.legends]
    found += [ax.get_legend() for ax in fig.get_axes() if ax.get_legend() is not None]
    for sub in fig.subfigs:
        found += legends(sub)
    return [leg for leg in found if leg.get_visible()]


def _title(ax: Axes) -> str:
    return " ".join(ax.get_title(loc) for loc in ("left", "center", "right")).strip()


def check_figure(fig: Figure, *, suptitle: bool = False, counts: Iterable[Axes] = (),
                 exempt: Iterable[Axes] = ()) -> None:
    """Assert that a figure can be read without its code; raise AssertionError saying what is wrong.

    Checks, on the drawn figure:

    - every visible axes has a title and an x and a y label;
    - the figure has a suptitle or every visible axes a title (with `suptitle=True`: a suptitle, always;
      exempt and colorbar axes need no title either way);
    - no legend (of an axes, the figure or a subfigure) overlaps the data area (the window extent of the
      axes' patch, not its tick labels) of ANY visible axes, its own included; no two legends overlap;
      every legend lies inside the figure (not cut off by its edge);
    - nothing of an axes (tick labels, labels, title, legend: its tight bbox) and no suptitle is cut off
      by the edge of the figure;
    - with `counts`: those axes never go below zero (see `check_counts`).

    Exemptions, on purpose: a colorbar's axes (`is_colorbar`) needs neither a title nor labels but must
    carry a label on its long axis (`colorbar.set_label`); axes listed in `exempt` (e.g. a graph drawn
    with the axis off, or an inset) need no title and no labels. Both still count for the legend check.
    Secondary axes (`ax.secondary_xaxis`) are children of their axes, not in `fig.axes`, and are not checked.
    """
    renderer = draw(fig)
    axes = visible_axes(fig)
    exempt = set(map(id, exempt))
    problems = []
    for i, ax in enumerate(axes):
        name = f"axes {i} ({_title(ax) or 'no title'!r})"
        if id(ax) in exempt:
            continue
        if is_colorbar(ax):
            if not (ax.get_xlabel() or ax.get_ylabel()):
                problems.append(f"colorbar {i} has no label")
            continue
        if not _title(ax):
            problems.append(f"{name} has no title")
        if not ax.get_xlabel():
            problems.append(f"{name} has no x label")
        if not ax.get_ylabel():
            problems.append(f"{name} has no y label")
    has_suptitle = bool(fig.get_suptitle())
    if suptitle and not has_suptitle:
        problems.append("the figure has no suptitle")
    if not has_suptitle and not all(_title(ax) for ax in axes if not is_colorbar(ax) and id(ax) not in exempt):
        problems.append("the figure has neither a suptitle nor a title on every axes")

    boxes = [leg.get_window_extent(renderer) for leg in legends(fig)]
    for j, (leg, box) in enumerate(zip(legends(fig), boxes)):
        texts = ", ".join(t.get_text() for t in leg.get_texts()[:3])
        for i, ax in enumerate(axes):
            if box.overlaps(ax.get_window_extent(renderer)):
                problems.append(f"legend {j} ({texts}...) overlaps the data area of axes {i} ({_title(ax)!r})")
        for k in range(j + 1, len(boxes)):
            if box.overlaps(boxes[k]):
                problems.append(f"legend {j} ({texts}...) overlaps legend {k}")
        if not _within(box, fig.bbox.padded(1.0)):
            problems.append(f"legend {j} ({texts}...) is cut off by the edge of the figure")
    inside = fig.bbox.padded(1.0)
    for i, ax in enumerate(axes):
        box = ax.get_tightbbox(renderer)
        if box is not None and not _within(box, inside):
            problems.append(f"axes {i} ({_title(ax)!r}): its labels, ticks or title are cut off by the edge of the figure")
    sup = getattr(fig, "_suptitle", None) if fig.get_suptitle() else None  # the Text has no public getter
    if sup is not None and not _within(sup.get_window_extent(renderer), inside):
        problems.append("the suptitle is cut off by the edge of the figure")
    for ax in counts:
        try:
            check_counts(ax)
        except AssertionError as e:
            problems.append(str(e))
    assert not problems, "; ".join(problems)


def _within(box: Bbox, outer: Bbox) -> bool:
    return box.x0 >= outer.x0 and box.y0 >= outer.y0 and box.x1 <= outer.x1 and box.y1 <= outer.y1


def check_counts(ax: Axes) -> None:
    """Assert that a count axes shows nothing below zero: its view starts at 0 or above, and no line,
    collection (e.g. a stackplot) or bar goes below zero. Event lines (gid "event") span the axes and are skipped."""
    name = repr(_title(ax))
    bottom = min(ax.get_ylim())
    assert bottom >= 0, f"count axes {name} shows values down to {bottom:g}"
    for line in ax.get_lines():
        if line.get_gid() == EVENT_GID or not isinstance(line, Line2D):
            continue
        y = np.asarray(line.get_ydata(), dtype=float)
        if line.get_transform() == ax.transData and y.size and np.nanmin(y) < 0:
            raise AssertionError(f"a line of count axes {name} ({line.get_label()}) goes down to {np.nanmin(y):g}")
    for coll in ax.collections:
        if not isinstance(coll, Collection) or coll.get_transform() != ax.transData:
            continue
        for path in coll.get_paths():
            if len(path.vertices) and np.nanmin(path.vertices[:, 1]) < 0:
                raise AssertionError(f"a collection of count axes {name} goes below zero")
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and min(patch.get_y(), patch.get_y() + patch.get_height()) < 0:
            raise AssertionError(f"a bar of count axes {name} goes below zero")


def event_days(ax: Axes) -> list[float]:
    """The days at which `ax` has an event line (a vertical line with gid "event"), in order."""
    days = []
    for line in ax.get_lines():
        if line.get_gid() == EVENT_GID:
            x = np.unique(np.asarray(line.get_xdata(), dtype=float))
            assert x.size == 1, f"an event line of {_title(ax)!r} is not vertical"
            days.append(float(x[0]))
    return sorted(days)
