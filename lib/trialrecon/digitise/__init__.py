"""Kaplan-Meier figures read from the figure itself: the curves, the censoring marks and the
numbers at risk, with the axes they were read on.

A vector PDF is read exactly, from its drawing operations and its text (:mod:`.vector`): each
arm's curve is a stroked path in the arm's colour, the axes are calibrated on the tick marks and
their printed labels, the legend pairs each colour with the arm's name as printed, and the
numbers at risk are text aligned under the ticks. PNG and JPEG images, and PDF pages that hold
only an image (a scan), are read from their pixels and their words by OCR (:mod:`.raster`).
SVG files are read exactly, like a vector PDF, from their elements (:mod:`.svg`).

The result (:class:`Digitised`) holds tidy tables in the formats ``trialrecon reconstruct``
reads, and says what it assumed in ``warnings``. ``trialrecon digitise -o DIR`` writes it to a
folder (one CSV per arm and table, named by :func:`file_stems`; ``digitised.json``, which
:func:`about` makes, for the rest); :func:`load` reads such a folder back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path

import pandas as pd

from ..errors import InputError

#: The raster formats read (:mod:`.raster`).
RASTERS = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class Axis:
    """One axis as read: the printed tick labels and where they are on the page.

    Attributes
    ----------
    values
        The tick labels as numbers, as printed.
    positions
        Their positions on the page (PDF points from the left, or from the top; pixels
        for an image).
    unit
        ``"as printed"`` for time (the figure's unit; its axis title, not read, names it),
        ``"proportion"`` or ``"percent"`` for survival as the labels print it.
    """

    values: tuple[float, ...]
    positions: tuple[float, ...]
    unit: str


@dataclass(frozen=True)
class Digitised:
    """What was read from one figure.

    Attributes
    ----------
    curves
        ``arm, time, survival``: each arm's curve as its drawn path (survival a proportion).
    at_risk
        ``arm, time, n_at_risk``: the numbers at risk printed under the figure.
    censor_marks
        ``arm, time``: the censoring marks drawn on each curve.
    time_axis, survival_axis
        The axes the figure was read on.
    arms
        The arms' names as the legend prints them, in legend order.
    colours
        Per arm, its colour as ``#rrggbb``.
    warnings
        What could not be read reliably, or was assumed, one sentence each.
    source
        The file read, and its page.
    """

    curves: pd.DataFrame
    at_risk: pd.DataFrame
    censor_marks: pd.DataFrame
    time_axis: Axis
    survival_axis: Axis
    arms: tuple[str, ...]
    colours: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    source: str = ""

    def arm(self, name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """One arm's curve (``time, survival``), numbers at risk (``time, n_at_risk``) and
        censoring marks (``time``), as ``trialrecon reconstruct`` reads them."""
        pick = {k: t[t["arm"] == name].drop(columns="arm").reset_index(drop=True)
                for k, t in (("c", self.curves), ("r", self.at_risk), ("m", self.censor_marks))}
        return pick["c"], pick["r"], pick["m"]


def digitise(path: str | PathLike[str], page: int | None = None) -> Digitised:
    """Read a Kaplan-Meier figure (see the module doc).

    Parameters
    ----------
    path
        A PDF file (vector: curves drawn as paths, text as text; or a page that is a scanned
        image), or a PNG or JPEG image.
    page
        The page holding the figure (1-based); the first page by default.

    Raises
    ------
    InputError
        For a file that cannot be read as such a figure, naming what was missing and where.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=p, advice="give the path of a PDF, PNG or JPEG "
                         "figure")
    suffix = p.suffix.lower()
    if suffix in RASTERS:
        if page not in (None, 1):
            raise InputError(f"an image has one page, not a page {page}", file=p,
                             column="page", advice="leave out --page for an image")
        from .raster import read_image

        return replace(read_image(p), source=str(p))
    if suffix == ".svg":
        from .svg import read_svg

        if page not in (None, 1):
            raise InputError(f"an SVG drawing has one page, not a page {page}", file=p,
                             column="page", advice="leave out --page for an SVG")
        return replace(read_svg(p), source=str(p))
    if suffix != ".pdf":
        raise InputError(f"{suffix or 'this file type'} figures are not read: only PDF, SVG, "
                         "PNG and JPEG are", file=p,
                         advice="give the figure as a PDF (the journal's or the supplement's) "
                         "or export it as SVG or PNG")
    from .vector import read_pdf

    return replace(read_pdf(p, page), source=f"{p}, page {page or 1}")


#: The file of a digitised folder that says what the CSVs beside it are.
ABOUT = "digitised.json"


def file_stems(read: Digitised) -> dict[str, str]:
    """Per arm, the stem of its files in a digitised folder: its name with every run of
    characters other than letters, digits, ``_``, ``.`` and ``-`` made one ``_``.

    Raises
    ------
    InputError
        When two arms' names make the same stem.
    """
    stems = {arm: re.sub(r"[^0-9A-Za-z_.-]+", "_", arm).strip("._") or "arm"
             for arm in read.arms}
    if len(set(stems.values())) < len(stems):
        raise InputError("two arms' names make the same file name", file=read.source,
                         column="legend", advice="rename the arms in the figure's legend")
    return stems


def about(read: Digitised) -> dict:
    """What ``digitised.json`` holds: the source, the arms in legend order with their files
    and colours, the axes as read and the warnings."""
    stems = file_stems(read)
    return {"source": read.source, "arms": list(read.arms), "colours": read.colours,
            "files": {arm: {"curve": f"{stem}_curve.csv", "at_risk": f"{stem}_at_risk.csv",
                            "censor_marks": f"{stem}_censor_marks.csv"}
                      for arm, stem in stems.items()},
            "time_axis": {"ticks": list(read.time_axis.values),
                          "positions": list(read.time_axis.positions),
                          "unit": read.time_axis.unit},
            "survival_axis": {"ticks": list(read.survival_axis.values),
                              "positions": list(read.survival_axis.positions),
                              "printed_as": read.survival_axis.unit,
                              "written_as": "proportion"},
            "warnings": list(read.warnings)}


def load(folder: str | PathLike[str]) -> Digitised:
    """A folder that ``trialrecon digitise`` wrote, read back (its ``digitised.json`` and the
    CSVs it names), checked as ``trialrecon reconstruct`` checks its inputs.

    Raises
    ------
    InputError
        For a folder without ``digitised.json``, a JSON that is not one ``digitise`` writes, or
        a CSV that is missing or does not read (named by file, row and column).
    """
    from ..curves import read_at_risk, read_censor_marks, read_curve

    base = Path(folder)
    path = base / ABOUT
    if not path.is_file():
        raise InputError(f"has no {ABOUT}", file=base,
                         advice="give a folder that trialrecon digitise wrote (-o DIR)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        arms, files = [str(a) for a in info["arms"]], info["files"]
        axes = [Axis(tuple(float(v) for v in info[k]["ticks"]),
                     tuple(float(v) for v in info[k].get("positions", ())), info[k][unit])
                for k, unit in (("time_axis", "unit"), ("survival_axis", "printed_as"))]
        names = [{part: str(files[arm][part]) for part in ("curve", "at_risk", "censor_marks")}
                 for arm in arms]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"is not a digitised.json that trialrecon digitise writes ({exc})",
                         file=path, advice="digitise the figure again") from None
    if not arms:
        raise InputError("names no arm", file=path, column="arms",
                         advice="digitise the figure again")
    curves, tables, marks = [], [], []
    for arm, name in zip(arms, names, strict=True):
        # Each file checked as reconstruct checks it (errors name file, row and column), then
        # kept as written: the folder is what was read, not a cleaned version of it.
        read_curve(base / name["curve"])
        curves.append(pd.read_csv(base / name["curve"])[["time", "survival"]]
                      .assign(arm=arm))
        if _rows(base / name["at_risk"]):
            read_at_risk(base / name["at_risk"])
            tables.append(pd.read_csv(base / name["at_risk"])[["time", "n_at_risk"]]
                          .assign(arm=arm))
        m = read_censor_marks(base / name["censor_marks"]) \
            if _rows(base / name["censor_marks"]) else ()
        marks.append(pd.DataFrame({"arm": arm, "time": pd.Series(m, dtype=float)}))
    empty = pd.DataFrame({"arm": pd.Series(dtype=str), "time": pd.Series(dtype=float),
                          "n_at_risk": pd.Series(dtype=int)})
    return Digitised(curves=pd.concat(curves, ignore_index=True)[["arm", "time", "survival"]],
                     at_risk=pd.concat(tables, ignore_index=True)[["arm", "time", "n_at_risk"]]
                     if tables else empty,
                     censor_marks=pd.concat(marks, ignore_index=True),
                     time_axis=axes[0], survival_axis=axes[1], arms=tuple(arms),
                     colours={str(k): str(v) for k, v in info.get("colours", {}).items()},
                     warnings=tuple(str(w) for w in info.get("warnings", ())),
                     source=str(info.get("source", "")))


def _rows(path: Path) -> bool:
    """Whether a CSV has rows under its header (a table ``digitise`` found nothing for is
    written with its header alone); a missing file is left to the reader to report."""
    if not path.is_file():
        return True
    with path.open(encoding="utf-8") as f:
        return sum(1 for line in f if line.strip()) > 1
