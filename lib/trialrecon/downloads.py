"""A page's downloads: its tables and pseudo patient data as CSV files and one Excel workbook.

HTA economic models live in Excel, so every table a page shows is also written as numbers
(never the text the page shows): one CSV file per table, and one workbook with a sheet per
table. The folder is written whole or not at all: files go to a temporary folder that is
renamed into place, so a failed or interrupted build leaves the previous downloads.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .errors import InputError

#: The workbook's name in each page's folder.
WORKBOOK = "tables.xlsx"
#: Excel refuses longer sheet names and these characters in them.
_SHEET_LIMIT = 31
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_names(names: list[str]) -> list[str]:
    """Unique Excel sheet names (at most 31 characters, no ``[]:*?/\\``)."""
    out: list[str] = []
    for name in names:
        base = _SHEET_BAD.sub("-", name)[:_SHEET_LIMIT]
        candidate, k = base, 2
        while candidate.lower() in {o.lower() for o in out}:
            suffix = f"~{k}"
            candidate, k = base[:_SHEET_LIMIT - len(suffix)] + suffix, k + 1
        out.append(candidate)
    return out


def _text_not_formulas(workbook) -> None:
    """Every cell openpyxl took for a formula (text starting with "=") kept as the text it
    is: labels and arm names come from trial files, and a workbook must never run them."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def write_downloads(folder: str | Path, tables: Mapping[str, pd.DataFrame]) -> list[Path]:
    """Write ``tables`` as ``<name>.csv`` files and one workbook into ``folder``.

    Parameters
    ----------
    folder
        The page's download folder; replaced whole.
    tables
        File name (without suffix; letters, digits, ``-`` and ``_``) to table of numbers.

    Returns
    -------
    list of Path
        The files written, CSV files first (in the order given) and the workbook last.

    Raises
    ------
    InputError
        When the folder cannot be written (one line, naming it).
    """
    folder = Path(folder)
    bad = [n for n in tables if not re.fullmatch(r"[A-Za-z0-9_.-]+", n)]
    if bad:
        raise ValueError(f"download names must be file names: {bad}")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Not mkdtemp, which makes the folder private (0700): the folder this becomes is an
        # ordinary one, with the permissions the user's umask gives.
        tmp = folder.parent / f".{folder.name}.{os.getpid()}.{secrets.token_hex(4)}"
        tmp.mkdir()
    except OSError as exc:
        raise InputError(f"cannot write downloads: {exc.strerror}", file=folder,
                         advice="choose a folder you can write to") from None
    try:
        for name, frame in tables.items():
            frame.to_csv(tmp / f"{name}.csv", index=False)
        with pd.ExcelWriter(tmp / WORKBOOK, engine="openpyxl") as book:
            for sheet, frame in zip(_sheet_names(list(tables)), tables.values(), strict=True):
                frame.to_excel(book, sheet_name=sheet, index=False)
            _text_not_formulas(book.book)
        old = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"cannot write downloads: {exc.strerror}", file=folder,
                         advice="choose a folder you can write to") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [folder / f"{n}.csv" for n in tables] + [folder / WORKBOOK]


def links_markdown(files: list[Path], relative_to: Path) -> str:
    """Markdown links to the written files, relative to the page that shows them."""
    return " · ".join(f"[{f.name}]({os.path.relpath(f, relative_to)})" for f in files)
