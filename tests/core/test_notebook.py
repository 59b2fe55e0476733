"""notebooks/tour.ipynb: committed without outputs, and every cell runs on a finished run of the tiny profile."""
from __future__ import annotations

import sys

import pytest

from helpers import REPO, require_module

NOTEBOOK = REPO / "notebooks" / "tour.ipynb"


def execute(nb, monkeypatch, root) -> None:
    """Run every cell in a fresh python3 kernel with the project at `root`; a cell that raises raises here."""
    from nbclient import NotebookClient

    monkeypatch.setenv("CHARLM_ROOT", str(root))   # the kernel inherits the environment
    # The inline backend draws with Agg into PNG outputs, with no display, as Jupyter does; plain Agg would
    # leave no image to check, and a GUI backend set in the environment would need a display.
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # "python3" is ipykernel's own spec, installed in this venv; jupyter_client starts it with sys.executable
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()


def files(root) -> dict:
    """{path: modification time (ns)} of every file under `root`."""
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_the_notebook_is_committed_without_outputs():
    # Outputs depend on the run the notebook reads, and CI runs it anyway: committed outputs would only go
    # stale and turn every diff into base64 images.
    nbformat = require_module("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)


def test_a_cell_that_raises_fails_the_run_in_this_pythons_kernel(tmp_path, monkeypatch):
    nbformat = require_module("nbformat")
    nbclient = require_module("nbclient")
    new_cell = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[new_cell("import sys; print(sys.executable)"),
                                         new_cell("raise ValueError('cell 2 failed')"), new_cell("print('ran')")])
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="cell 2 failed"):
        execute(nb, monkeypatch, tmp_path)
    assert nb.cells[0].outputs[0].text.strip() == sys.executable   # the kernel is this venv's python
    assert nb.cells[2].outputs == []                               # nothing runs after the failure


@pytest.mark.e2e
def test_every_cell_runs_on_a_finished_tiny_run(tiny_run, monkeypatch):
    nbformat = require_module("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    before = files(tiny_run.root)
    execute(nb, monkeypatch, tiny_run.root)
    assert files(tiny_run.root) == before                          # it writes nothing
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)   # the surprisal chart was drawn
    text = "".join(o.get("text", "") for o in outputs)
    assert "kn4 (order 4)" in text                                 # the tiny profile's Kneser-Ney entry, found
    assert "champion" in nb.cells[-1].outputs[0].data["text/plain"]   # the comparison table
