"""notebooks/quickstart.ipynb runs from top to bottom in a Jupyter kernel of this venv's Python."""

from __future__ import annotations

import json
import os
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch):
    """A kernelspec "python3" that starts this interpreter's ipykernel.

    JUPYTER_PATH comes first in Jupyter's search path, so a "python3" kernel
    installed in the user's home (for another Python) cannot be picked instead;
    nothing is installed anywhere, so this works the same on a fresh clone.
    """
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (this venv)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(tmp_path / "jupyter"),
                                                                     os.environ.get("JUPYTER_PATH")])))
    return "python3"


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts.append(data.get("text/plain", ""))
        parts.append(data.get("text/html", ""))
    return "\n".join(parts)


def test_quickstart_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.slow
def test_quickstart_runs_end_to_end(venv_kernel):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print('KERNEL PYTHON', sys.executable)"))
    client = NotebookClient(nb, kernel_name=venv_kernel, timeout=600, allow_errors=True,
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()

    errors = [(cell.source[:80], output.get("ename"), output.get("evalue"))
              for cell in nb.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert not errors, errors
    stderr = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     if o.output_type == "stream" and o.get("name") == "stderr")
    assert "bootstrapping" not in stderr, stderr[-3000:]

    assert _text(nb.cells[-1]).split("KERNEL PYTHON", 1)[1].strip() == sys.executable

    compare_cell = next(c for c in nb.cells if "simulation.compare(" in c.source)
    shown = _text(compare_cell)
    assert "Relational" in shown and "Billboard" in shown, shown[:2000]
    for name in ("figure_forest(", "Figure("):  # the forest plot and the sweep's plot are drawn
        cell = next(c for c in nb.cells if c.cell_type == "code" and name in c.source)
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source[:80]
    sweep_cell = next(c for c in nb.cells if "simulation.sweep(" in c.source)
    assert all(v in _text(sweep_cell) for v in ("25", "50", "100")), _text(sweep_cell)[:2000]
