"""The tutorial notebook runs from top to bottom and says what the lecture note says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the tutorial needs the [test] extra")
pytest.importorskip("nbclient", reason="the tutorial needs the [test] extra")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"


def load_builder():
    spec = importlib.util.spec_from_file_location(
        "build_tutorial", ROOT / "scripts" / "build_tutorial.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_is_the_one_the_builder_writes() -> None:
    saved = nbformat.read(NOTEBOOK, as_version=4)
    built = load_builder().build_notebook()
    assert [c.source for c in saved.cells] == [c.source for c in built.cells]
    assert all(not c.get("outputs") for c in saved.cells if c.cell_type == "code")


@pytest.mark.slow
def test_tutorial_executes() -> None:
    nb = load_builder().execute(nbformat.read(NOTEBOOK, as_version=4), timeout=300)
    text = "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream"
    )
    assert "parameters: 13002" in text
    assert "dC/dw = 2*w - 6" in text
    assert " 0  0.000    9.0000  -6.000   0.600" in text
    assert " 1  0.600    5.7600  -4.800   1.080" in text
    assert "converged: True" in text
    assert "components: 13002" in text
    assert "the average is the batch's gradient: True" in text
    assert "each example wants its label's output up: True" in text
    assert "constant: distinct neurons per hidden layer (1, 1)" in text
    assert "critical η = 2/λ_max = " in text
    assert "C = (w-3)**2: power rule 2*w - 6, SymPy 2*w - 6, slope at w = 0: -6" in text
    assert "none steeper: True" in text
    assert "momentum μ = 0.332: 35 steps" in text
    figures = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "image/png" in out.get("data", {})
    ]
    assert len(figures) >= 5
