"""Make the report's notebooks from their text sources: ``make notebooks``.

Each notebook's source is ``notebooks/<name>.py`` in jupytext's percent format, paired with
``notebooks/<name>.ipynb`` (metadata ``jupytext: formats: ipynb,py:percent``): JupyterLab with
jupytext (the ``lab`` extra) opens either and saves both, so an edit made there is kept in the
.py file. Edit the .py file (or the notebook in JupyterLab), then run ``make notebooks``.

For every notebook this script

1. reads the .py file (jupytext);
2. executes it (its default parameters, working directory ``notebooks/``); a cell that
   raises stops the script with the notebook and cell named;
3. keeps the outputs of the key-figure cells only, those marked ``# NBVAL_CHECK_OUTPUT``,
   which ``pytest --nbval-lax`` compares; every other output is dropped, so no image is
   committed and the .ipynb changes only when a key figure or the source does;
4. drops everything that changes from run to run or machine to machine: execution counts,
   cell execution metadata (timestamps), the kernel's version in ``language_info``; cell ids
   are ``<name>-<position>``, and a key-figure cell's execution count is its position among
   the code cells (nbval needs one);
5. writes the .ipynb only when its text changed, and touches the .py file so that it stays
   the newer of the pair (jupytext in JupyterLab then reads its inputs from it).

Run twice in a row, it leaves ``git status`` clean. ``--no-execute`` only syncs the sources
(key-figure outputs are carried over from the existing .ipynb for cells whose source did not
change); ``--check`` writes nothing and exits 1 when a .ipynb is not what this script makes
from its .py file without executing (a forgotten ``make notebooks``).

Usage: ``python tools/make_notebooks.py [--no-execute | --check] [NAME ...]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("trial_report", "portfolio", "validation", "curve_reconstruction")
#: The nbval comment that marks a key-figure cell: its output is committed and compared.
KEY_MARK = "NBVAL_CHECK_OUTPUT"
#: Pairing recorded in every notebook (JupyterLab's jupytext reads it).
FORMATS = "ipynb,py:percent"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
TIMEOUT = 1800  # seconds per cell


def is_key(cell: nbformat.NotebookNode) -> bool:
    """A code cell whose outputs nbval compares (a comment line ``# NBVAL_CHECK_OUTPUT``)."""
    return cell.cell_type == "code" and any(
        line.strip().lstrip("#").strip() == KEY_MARK for line in cell.source.splitlines()
        if line.strip().startswith("#"))


def source(name: str) -> nbformat.NotebookNode:
    """The notebook as its .py file gives it, with the committed metadata and cell ids."""
    nb = jupytext.read(NOTEBOOKS / f"{name}.py", fmt="py:percent")
    meta = nb.metadata.get("jupytext", {})
    meta.pop("text_representation", None)
    meta["formats"] = FORMATS
    nb.metadata = nbformat.from_dict({"jupytext": meta, "kernelspec": KERNELSPEC,
                                      "language_info": {"name": "python"}})
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name}-{i}"
        for key in ("execution", "ExecuteTime", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nb


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep the outputs of the key-figure cells only, and nothing that changes run to run."""
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.pop("papermill", None)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    for number, cell in enumerate(code, start=1):
        if not is_key(cell):
            cell.outputs = []
            cell.execution_count = None
            continue
        # nbval refuses a reference output without an execution count: the count of a run
        # from the top, fixed by the cell's position.
        cell.execution_count = number
        cell.outputs = coalesce(cell.outputs)
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = number
    return nb


def coalesce(outputs: list) -> list:
    """Consecutive stream outputs of one stream joined: how the kernel split what a cell
    printed into messages depends on timing, and must not change the file."""
    out: list = []
    for output in outputs:
        if (output.output_type == "stream" and out and out[-1].output_type == "stream"
                and out[-1].name == output.name):
            out[-1].text += output.text
        else:
            out.append(output)
    return out


def carry_outputs(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Key-figure outputs of the existing .ipynb, for cells whose source is unchanged."""
    path = NOTEBOOKS / f"{name}.ipynb"
    if not path.exists():
        return nb
    old = {c.source: c.get("outputs", []) for c in nbformat.read(path, as_version=4).cells
           if is_key(c)}
    for cell in nb.cells:
        if is_key(cell) and cell.source in old:
            cell.outputs = old[cell.source]
    return strip(nb)


def execute(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    client = NotebookClient(nb, kernel_name="python3", timeout=TIMEOUT,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        # The kernel's own log ("running over TCP without encryption") is noise here; what
        # the cells print reaches the notebook, and an error names its cell.
        client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except CellExecutionError as exc:
        raise SystemExit(f"{name}.py: a cell raised; the notebook was not written.\n{exc}"
                         ) from None
    missing = [c.id for c in nb.cells if is_key(c) and not c.outputs]
    if missing:
        raise SystemExit(f"{name}.py: key-figure cell(s) {missing} printed nothing")
    return nb


def text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def make(name: str, run: bool = True) -> tuple[str, bool, float]:
    """Sync (and execute) one notebook; returns (name, whether the .ipynb changed, seconds)."""
    started = time.perf_counter()
    nb = source(name)
    nb = strip(execute(nb, name)) if run else carry_outputs(nb, name)
    path = NOTEBOOKS / f"{name}.ipynb"
    new = text(nb)
    changed = not path.exists() or path.read_text(encoding="utf-8") != new
    if changed:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(new, encoding="utf-8")
        os.replace(tmp, path)
    os.utime(NOTEBOOKS / f"{name}.py")  # the text file stays the newer one of the pair
    return name, changed, time.perf_counter() - started


def check(name: str) -> list[str]:
    """What differs between the committed .ipynb and what its .py file makes (no run)."""
    path = NOTEBOOKS / f"{name}.ipynb"
    if not path.exists():
        return [f"{name}.ipynb is missing"]
    if path.read_text(encoding="utf-8") != text(carry_outputs(source(name), name)):
        return [f"{name}.ipynb is not in sync with {name}.py: run `make notebooks`"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"notebooks to make (default: all of {', '.join(NAMES)})")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-execute", action="store_true",
                      help="sync the .ipynb files with their sources without running them")
    mode.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 if a .ipynb is out of sync with its .py")
    args = parser.parse_args(argv)
    names = args.names or list(NAMES)
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        parser.error(f"unknown notebook(s) {', '.join(unknown)}; one of {', '.join(NAMES)}")
    if args.check:
        problems = [p for n in names for p in check(n)]
        print("\n".join(problems) or "notebooks in sync with their sources")
        return 1 if problems else 0
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        for name, changed, seconds in pool.map(lambda n: make(n, not args.no_execute), names):
            print(f"{name}.ipynb {'written' if changed else 'unchanged'} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
