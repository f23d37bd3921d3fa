"""Digitised Kaplan-Meier curves and numbers-at-risk tables: reading, cleaning, checking.

A digitisation (WebPlotDigitizer and the like) is noisy: points out of order, survival rising
slightly between clicks, repeated times, a first time just below zero, no (0, 1) origin,
survival in percent. :func:`clean_curve` repairs what digitising noise explains, reports each
repair, and refuses what it cannot explain with an :class:`~trialrecon.InputError` naming the
file, row and column. Row numbers count the header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from .errors import InputError

Scale = Literal["proportion", "percent"]

#: Largest shift (proportion of the axis) that making the curve non-increasing may impose on a
#: point and still be digitising noise. Automatic tracing of a thick printed line needs up to
#: 0.027 (the dense Bonner 2006 digitisation); more is an error of the figure or of the file.
RISE_TOLERANCE = 0.03
#: Largest excursion beyond [0, 1], and largest negative first time (as a share of the time
#: range), taken as a click just off the axis.
EDGE_TOLERANCE = 0.02


@dataclass(frozen=True)
class Curve:
    """A cleaned survival curve: strictly increasing times from 0, non-increasing survival.

    Attributes
    ----------
    time
        Times (the unit of the figure, usually months), starting at 0.
    survival
        Survival as a proportion, starting at 1.
    fixes
        One sentence per repair that cleaning made.
    source
        File name or label, for messages.
    """

    time: np.ndarray
    survival: np.ndarray
    fixes: tuple[str, ...] = ()
    source: str = "curve"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "survival": self.survival})


@dataclass(frozen=True)
class AtRisk:
    """A numbers-at-risk table: times from 0 and non-increasing counts."""

    time: np.ndarray
    n_at_risk: np.ndarray
    source: str = "at-risk table"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "n_at_risk": self.n_at_risk})


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...], source: str) -> list[np.ndarray]:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; found {list(frame.columns)}",
                         file=source, column=missing[0],
                         advice=f"the file needs a header line '{','.join(columns)}'")
    out = []
    for c in columns:
        values = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise InputError(f"not a number: {frame[c].iloc[bad[0]]!r}", file=source,
                             row=int(bad[0]) + 2, column=c, advice="fix or delete the row")
        out.append(values)
    return out


def _read_csv(path: str | PathLike[str]) -> pd.DataFrame:
    try:
        return pd.read_csv(path, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file ({exc})", file=path) from None


def clean_curve(curve: pd.DataFrame | Curve, *, scale: Scale = "proportion",
                source: str = "curve", rise_tolerance: float = RISE_TOLERANCE) -> Curve:
    """Clean a digitised curve with columns ``time, survival``.

    Repairs, each reported in ``Curve.fixes``: percent scale divided by 100 (only when
    ``scale="percent"``; never guessed), points sorted by time, a slightly negative first
    time set to 0, survival clamped to [0, 1], rises between clicks replaced by the
    least-squares non-increasing fit (isotonic regression) when no point moves by more than
    ``rise_tolerance``, repeated times merged (the lowest survival kept: the foot of a step), and
    the origin (0, 1) added.

    Raises
    ------
    InputError
        For non-numeric cells, survival that looks like percent without ``scale="percent"``,
        a rise beyond ``rise_tolerance``, times far below zero, or fewer than two points.
    """
    if isinstance(curve, Curve):
        return curve
    t, s = _numeric(curve, ("time", "survival"), source)
    fixes: list[str] = []
    if len(t) < 2:
        raise InputError("a curve needs at least two points", file=source)
    rows = np.arange(len(t)) + 2

    if scale == "percent":
        if s.max() <= 1.0:
            raise InputError("survival is at most 1 but --scale percent was given", file=source,
                             column="survival", advice="drop --scale percent for proportions")
        s = s / 100.0
        fixes.append("survival divided by 100 (percent scale)")
    elif s.max() > 1.0 + EDGE_TOLERANCE:
        k = int(np.argmax(s))
        raise InputError(f"survival {s[k]:g} is above 1", file=source, row=int(rows[k]),
                         column="survival",
                         advice="if the file is in percent, pass scale='percent' (--scale percent)")

    order = np.argsort(t, kind="stable")
    if np.any(order != np.arange(len(t))):
        fixes.append(f"{int(np.sum(order != np.arange(len(t))))} points out of time order sorted")
        t, s, rows = t[order], s[order], rows[order]

    span = t[-1] - min(t[0], 0.0)
    if t[0] < 0:
        negative = t < 0
        if t[0] < -EDGE_TOLERANCE * span:
            raise InputError(f"time {t[0]:g} is far below zero", file=source, row=int(rows[0]),
                             column="time", advice="check the x-axis calibration")
        fixes.append(f"{int(negative.sum())} slightly negative time(s) set to 0 (first {t[0]:g})")
        t = np.where(negative, 0.0, t)

    outside = (s < -EDGE_TOLERANCE) | (s > 1 + EDGE_TOLERANCE)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        raise InputError(f"survival {s[k]:g} is outside [0, 1]", file=source, row=int(rows[k]),
                         column="survival", advice="check the y-axis calibration")
    clamped = (s < 0) | (s > 1)
    if clamped.any():
        fixes.append(f"{int(clamped.sum())} survival value(s) clamped to [0, 1]")
        s = np.clip(s, 0.0, 1.0)

    # Least-squares non-increasing fit (pool adjacent violators): noise is averaged out, not
    # pushed down as a running minimum would; a trace that climbs a vertical step in the wrong
    # order pools into one step.
    fitted = isotonic_regression(s, increasing=False).x
    shift = np.abs(s - fitted)
    if shift.max() > rise_tolerance:
        k = int(np.argmax(shift))
        raise InputError(
            f"survival {s[k]:.3f} is {shift[k]:.3f} off the nearest non-increasing curve, more "
            f"than digitising noise ({rise_tolerance:g})", file=source, row=int(rows[k]),
            column="survival",
            advice="a Kaplan-Meier curve never rises: check for a click on the other arm's curve")
    if np.any(np.diff(s) > 0):
        fixes.append(f"{int(np.sum(np.diff(s) > 0))} rise(s) between clicks smoothed by "
                     f"isotonic regression (largest shift {shift.max():.4f})")
        s = fitted
    # The last point at a repeated time is the foot of the step (survival is non-increasing).
    keep = np.append(t[1:] != t[:-1], True)
    if not keep.all():
        fixes.append(f"{int(np.sum(~keep))} repeated time(s) merged")
        t, s = t[keep], s[keep]

    if t[0] > 0:
        t, s = np.concatenate(([0.0], t)), np.concatenate(([1.0], s))
        fixes.append("origin (0, 1) added")
    elif s[0] < 1.0:
        fixes.append(f"survival at time 0 set to 1 (was {s[0]:g})")
        s = s.copy()
        s[0] = 1.0
    return Curve(t, s, tuple(fixes), source)


def clean_at_risk(at_risk: pd.DataFrame | AtRisk, *, source: str = "at-risk table") -> AtRisk:
    """Check a numbers-at-risk table with columns ``time, n_at_risk``.

    Raises
    ------
    InputError
        If counts are not whole non-negative numbers, times are not increasing from 0, or the
        number at risk increases.
    """
    if isinstance(at_risk, AtRisk):
        return at_risk
    t, n = _numeric(at_risk, ("time", "n_at_risk"), source)
    if len(t) == 0:
        raise InputError("the at-risk table is empty", file=source)
    bad = np.flatnonzero((n < 0) | (n != np.round(n)))
    if bad.size:
        raise InputError(f"number at risk {n[bad[0]]:g} is not a whole number >= 0",
                         file=source, row=int(bad[0]) + 2, column="n_at_risk")
    if t[0] != 0:
        raise InputError(f"the table starts at time {t[0]:g}, not 0", file=source, row=2,
                         column="time", advice="add the number randomised at time 0")
    step = np.flatnonzero(np.diff(t) <= 0)
    if step.size:
        raise InputError("times must increase", file=source, row=int(step[0]) + 3, column="time")
    up = np.flatnonzero(np.diff(n) > 0)
    if up.size:
        k = int(up[0]) + 1
        raise InputError(f"number at risk increases from {n[k - 1]:g} to {n[k]:g}",
                         file=source, row=k + 2, column="n_at_risk",
                         advice="numbers at risk can only fall; check for a typo")
    return AtRisk(t, n.astype(int), source)


def read_curve(path: str | PathLike[str], *, scale: Scale = "proportion") -> Curve:
    """Read and clean a digitised curve CSV (columns ``time,survival``)."""
    return clean_curve(_read_csv(path), scale=scale, source=str(path))


def read_at_risk(path: str | PathLike[str]) -> AtRisk:
    """Read and check a numbers-at-risk CSV (columns ``time,n_at_risk``)."""
    return clean_at_risk(_read_csv(path), source=str(path))


def read_ipd(path: str | PathLike[str]) -> pd.DataFrame:
    """Read patient data (columns ``time,event``) as written by ``trialrecon reconstruct``."""
    frame = _read_csv(path)
    t, e = _numeric(frame, ("time", "event"), str(path))
    bad = np.flatnonzero(~np.isin(e, (0, 1)) | (t < 0))
    if bad.size:
        k = int(bad[0])
        column = "event" if e[k] not in (0, 1) else "time"
        raise InputError(f"{column} must be {'0 or 1' if column == 'event' else '>= 0'}",
                         file=path, row=k + 2, column=column)
    return pd.DataFrame({"time": t, "event": e.astype(int)})


def read_ipd_arms(path: str | PathLike[str]) -> dict[str, pd.DataFrame]:
    """Read patient data by arm: split on an ``arm`` column if the file has one (in the order
    the arms first appear, as ``trialrecon simulate`` writes them), else one arm named after
    the file (:func:`label_of`)."""
    ipd = read_ipd(path)
    frame = _read_csv(path)
    if "arm" not in frame.columns:
        return {label_of(path): ipd}
    arm = frame["arm"]
    if arm.isna().any():
        k = int(np.flatnonzero(arm.isna().to_numpy())[0])
        raise InputError("arm is empty", file=path, row=k + 2, column="arm",
                         advice="name every patient's arm, or leave the column out")
    labels = arm.astype(str).to_numpy()
    return {name: ipd[labels == name].reset_index(drop=True)
            for name in dict.fromkeys(labels)}


def label_of(path: str | PathLike[str]) -> str:
    """Arm label from a file name: ``placebo_curve.csv`` -> ``placebo``."""
    stem = Path(path).stem
    for suffix in ("_curve_percent", "_curve", "_ipd", "_at_risk"):
        stem = stem.removesuffix(suffix)
    return stem
