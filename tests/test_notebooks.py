"""The notebooks: sources and notebooks in sync, committed outputs minimal, key figures that
survive a new trial, and key-figure cells kept off the rendered pages."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from trialrecon.report import to_html

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("trial_report", "portfolio", "validation", "curve_reconstruction")
KEY_MARK = "NBVAL_CHECK_OUTPUT"
HIDDEN = "remove_cell"


def is_key(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and any(
        line.strip().lstrip("#").strip() == KEY_MARK for line in cell.source.splitlines()
        if line.strip().startswith("#"))


def committed(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def test_every_notebook_has_its_source():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_in_sync_with_its_source(name):
    """A .py edited without `make notebooks` (or the other way round) fails here."""
    source = jupytext.read(NOTEBOOKS / f"{name}.py")
    notebook = jupytext.read(NOTEBOOKS / f"{name}.ipynb")
    assert notebook.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert source.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert cells(notebook) == cells(source), (
        f"notebooks/{name}.ipynb is not in sync with notebooks/{name}.py: run `make notebooks`")
    assert [c.id for c in notebook.cells] == [f"{name}-{i}" for i in range(len(notebook.cells))]


@pytest.mark.parametrize("name", NAMES)
def test_committed_outputs_are_the_key_figures_only(name):
    nb = committed(name)
    keys = [c for c in nb.cells if is_key(c)]
    assert len(keys) == 1, "each notebook has one key-figure cell"
    for cell in nb.cells:
        assert "execution" not in cell.metadata
        if cell.cell_type != "code":
            continue
        if not is_key(cell):
            assert cell.outputs == [], f"{cell.id}: output committed in an unmarked cell"
            assert cell.execution_count is None
            continue
        assert isinstance(cell.execution_count, int)  # nbval needs one
        assert HIDDEN in cell.metadata.get("tags", []), f"{cell.id}: key figures on the page"
        assert cell.outputs, f"{cell.id}: key-figure cell without output: run make notebooks"
        # Plain text from print(): no HTML table a pandas release could change, no image.
        assert {o.output_type for o in cell.outputs} == {"stream"}
        assert all(o.name == "stdout" for o in cell.outputs)
    text = (NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8")
    assert "image/png" not in text and "base64" not in text
    assert set(nb.metadata) == {"jupytext", "kernelspec", "language_info"}
    assert nb.metadata["language_info"] == {"name": "python"}  # no kernel version


def test_key_figures_are_kept_off_the_page():
    nb = committed("portfolio")
    (key,) = [c for c in nb.cells if is_key(c)]
    shown = "".join(o.text for o in key.outputs).splitlines()[0]
    page = to_html(nb)
    assert "Portfolio overview" in page
    assert shown not in page and "compared by the regression tests" not in page
    # Without the tag the same cell's output is on the page.
    for cell in nb.cells:
        cell.metadata.pop("tags", None)
    assert shown in to_html(nb)


def test_shipped_registry_portfolio_key_figures_survive_a_new_trial(tmp_path):
    """Adding a trial to the registry must not change the compared key figures."""
    trials = tmp_path / "trials"
    shutil.copytree(ROOT / "data" / "trials", trials)
    text = (trials / "clarinet.yaml").read_text(encoding="utf-8")
    extra, n = re.subn(r"(?m)^trial: clarinet$", "trial: extra-trial", text)
    assert n == 1
    extra = re.sub(r"(?m)^name: .*$", "name: EXTRA (a copy of CLARINET)", extra, count=1)
    (trials / "extra-trial.yaml").write_text(extra, encoding="utf-8")
    env = {**os.environ, "TRIALRECON_TRIALS": str(trials)}
    listed = subprocess.run(
        [sys.executable, "-c", "from trialrecon import registry; print(sorted(registry.trials()))"],
        env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "extra-trial" in listed  # the kernels nbval starts see the same folder
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         str(NOTEBOOKS / "portfolio.ipynb")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
