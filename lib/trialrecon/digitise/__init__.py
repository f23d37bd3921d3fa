"""Kaplan-Meier figures read from the figure itself: the curves, the censoring marks and the
numbers at risk, with the axes they were read on.

A vector PDF is read exactly, from its drawing operations and its text (:mod:`.vector`): each
arm's curve is a stroked path in the arm's colour, the axes are calibrated on the tick marks and
their printed labels, the legend pairs each colour with the arm's name as printed, and the
numbers at risk are text aligned under the ticks. Raster images and SVG files are not read yet:
they are refused with a message saying so.

The result (:class:`Digitised`) holds tidy tables in the formats ``trialrecon reconstruct``
reads, and says what it assumed in ``warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
        Their positions on the page (PDF points from the left, or from the top).
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
        A PDF file (vector: curves drawn as paths, text as text).
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

        return read_image(p)
    if suffix != ".pdf":
        raise InputError(f"{suffix or 'this file type'} figures are not read: only PDF, PNG "
                         "and JPEG are", file=p,
                         advice="give the figure as a PDF (the journal's or the supplement's) "
                         "or export it as PNG")
    from .vector import read_pdf

    return read_pdf(p, page)
