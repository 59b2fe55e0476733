"""notebooks/tour.ipynb: committed without outputs, and every cell runs on a finished run of the tiny profile."""
from __future__ import annotations

import pytest

from helpers import REPO, require_module

NOTEBOOK = REPO / "notebooks" / "tour.ipynb"


def execute(nb, monkeypatch, root) -> None:
    """Run every cell in a fresh python3 kernel with the project at `root`; a cell that raises raises here."""
    from nbclient import NotebookClient

    monkeypatch.setenv("CHARLM_ROOT", str(root))   # the kernel inherits the environment
    # ipykernel draws inline (PNG outputs, no display) unless MPLBACKEND says otherwise
    monkeypatch.delenv("MPLBACKEND", raising=False)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()


def test_the_notebook_is_committed_without_outputs():
    # Outputs depend on the run the notebook reads, and CI runs it anyway: committed outputs would only go
    # stale and turn every diff into base64 images.
    nbformat = require_module("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)


def test_a_cell_that_raises_fails_the_run(tmp_path, monkeypatch):
    nbformat = require_module("nbformat")
    nbclient = require_module("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('cell 1 failed')")])
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="cell 1 failed"):
        execute(nb, monkeypatch, tmp_path)


@pytest.mark.e2e
def test_every_cell_runs_on_a_finished_tiny_run(tiny_run, monkeypatch):
    nbformat = require_module("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    execute(nb, monkeypatch, tiny_run.root)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)   # the surprisal chart was drawn
    text = "".join(o.get("text", "") for o in outputs)
    assert "bits per character; the API agrees" in text and "sum over all" in text
