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
from .limits import MAX_CLICKS, MAX_PATIENTS, MAX_TIME, input_file
from .printed import quote

Scale = Literal["proportion", "percent"]

#: Largest move (share of an axis: survival as a proportion, time as a share of the time range)
#: that the monotone fit may impose on a click and still call it digitising noise. A careful
#: hand digitisation moves clicks by a few thousandths, 1% jitter by up to about 0.04; a rise of
#: more than ten points is a click on another curve or a misread axis.
RISE_TOLERANCE = 0.10
#: Largest excursion beyond [0, 1], and largest negative time (as a share of the time range),
#: taken as a click just off the axis (five standard deviations of 1% click noise).
EDGE_TOLERANCE = 0.05
#: Moves smaller than this (share of an axis) are rounding, not repairs, and are not counted.
MOVE_FLOOR = 5e-4
#: At time 0 every curve is at 1: clicks within this of 1 there are the origin read with noise.
ORIGIN_TOLERANCE = 0.05
#: Survival at or below this at time 0 is no first drop read early: half the patients or more
#: would have had their event at randomisation (a misread time axis).
ZERO_DROP_LIMIT = 0.5


@dataclass(frozen=True)
class Curve:
    """A cleaned survival curve: a non-increasing path from (0, 1).

    Times never decrease and survival never increases along the path. A time appears at most
    twice: the top and the foot of a drop drawn vertically at that time (both were clicked);
    :meth:`feet` gives the curve with strictly increasing times (the foot of every drop).

    Attributes
    ----------
    time
        Times (the unit of the figure, usually months), starting at 0, non-decreasing.
    survival
        Survival as a proportion, starting at 1, non-increasing.
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

    def feet(self) -> tuple[np.ndarray, np.ndarray]:
        """Times (strictly increasing) and the survival in force from each (the foot of a
        vertical drop, where one was clicked)."""
        keep = np.append(self.time[1:] != self.time[:-1], True)
        return self.time[keep], self.survival[keep]


@dataclass(frozen=True)
class AtRisk:
    """A numbers-at-risk table: times from 0 and non-increasing counts."""

    time: np.ndarray
    n_at_risk: np.ndarray
    source: str = "at-risk table"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "n_at_risk": self.n_at_risk})


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...], source: str,
             max_rows: int = MAX_CLICKS) -> list[np.ndarray]:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; found {list(frame.columns)}",
                         file=source, column=missing[0],
                         advice=f"the file needs a header line '{','.join(columns)}'")
    if len(frame) > max_rows:
        raise InputError(f"{len(frame):,} rows: more than {max_rows:,}", file=source,
                         advice="no curve or trial is that large: check the file")
    out = []
    for c in columns:
        column = frame[c]
        kind = column.dtype
        if isinstance(kind, np.dtype) and kind.kind in "fiu":
            # Numbers already (numpy floats or integers): pd.to_numeric returns them as they
            # are, so they are only converted to float.
            values = column.to_numpy(dtype=float)
            if np.isfinite(values).all():
                out.append(values)
                continue
        else:
            if (pd.api.types.is_bool_dtype(kind) or pd.api.types.is_datetime64_any_dtype(kind)
                    or pd.api.types.is_timedelta64_dtype(kind)):
                raise InputError(f"holds {kind} values, not numbers", file=source, column=c,
                                 advice="times in the figure's unit (e.g. months) and survival "
                                        "as a number")
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise InputError(f"not a number: {quote(frame[c].iloc[bad[0]])}", file=source,
                             row=int(bad[0]) + 2, column=c, advice="fix or delete the row")
        out.append(values)
    return out


def _read_csv(path: str | PathLike[str]) -> pd.DataFrame:
    if isinstance(path, str | PathLike):
        input_file(path)
    try:
        return pd.read_csv(path, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except OSError as exc:  # a folder, no permission, a device that cannot be read
        raise InputError(f"cannot be read ({exc.strerror or exc})", file=path) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            ValueError) as exc:
        text = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InputError(f"not a readable CSV file ({text})", file=path) from None


def monotone_fit(time: np.ndarray, survival: np.ndarray, span: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The nearest non-increasing path through noisy clicks, both coordinates noisy.

    Clicks are ordered by their position along the drawn curve, ``time / span - survival``
    (it grows along any non-increasing path, on flat runs and vertical drops alike), and in
    that order time is fitted non-decreasing and survival non-increasing by least squares
    (isotonic regression, pool adjacent violators). Clicks on a steep drop that time noise put
    out of order therefore cost a small move in time, not a rise in survival.

    Parameters
    ----------
    time, survival
        Clicks in any order (time in the figure's unit, survival as a proportion).
    span
        The time axis' range, which puts both axes on one scale.

    Returns
    -------
    tuple of numpy.ndarray
        Fitted time and survival, each in the order of the input clicks.
    """
    fit = _in_path_order(time, survival, span)
    if fit is None:
        return _sorted_fit(time, survival, span)
    t_fit, s_fit = np.empty_like(time), np.empty_like(survival)
    t_fit[:], s_fit[:] = fit
    return t_fit, s_fit


def _sorted_fit(time: np.ndarray, survival: np.ndarray, span: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`monotone_fit` the long way: sort along the path, fit, put back."""
    order = np.lexsort((-survival, time / span - survival))
    t_fit = np.empty_like(time)
    s_fit = np.empty_like(survival)
    t_fit[order] = isotonic_regression(time[order], increasing=True).x
    s_fit[order] = isotonic_regression(survival[order], increasing=False).x
    return t_fit, s_fit


def _in_path_order(time: np.ndarray, survival: np.ndarray, span: float
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`monotone_fit` of clicks already in path order (time non-decreasing and survival
    non-increasing, as exact step corners are), else None.

    In that order the keys of the fit's sort never decrease (float rounding keeps order), so
    the sort leaves the clicks where they are, and the fit is isotonic regression of each
    coordinate as given; a strictly monotone coordinate is its own fit (pool adjacent
    violators pools nothing) and is returned as is, the input array itself. Ties go to the
    regression, which pools them (its mean of equal values may differ in the last bit).
    """
    if not (type(time) is type(survival) is np.ndarray and time.ndim == survival.ndim == 1
            and len(time) == len(survival) >= 2 and time.dtype == survival.dtype == np.float64
            and isinstance(span, int | float | np.integer | np.floating) and span > 0):
        return None
    dt, ds = time[1:] - time[:-1], survival[1:] - survival[:-1]
    if not ((dt >= 0).all() and (ds <= 0).all()):
        return None
    t_fit = time if (dt > 0).all() else isotonic_regression(time, increasing=True).x
    s_fit = survival if (ds < 0).all() else isotonic_regression(survival, increasing=False).x
    return t_fit, s_fit


def clean_curve(curve: pd.DataFrame | Curve, *, scale: Scale = "proportion",
                source: str = "curve", rise_tolerance: float = RISE_TOLERANCE) -> Curve:
    """Clean a digitised curve with columns ``time, survival``.

    Both coordinates of a click are noisy: the curve is made non-increasing by the least-squares
    monotone fit in both (:func:`monotone_fit`), so that clicks out of time order on a steep
    drop, small rises and jitter are explained by the smallest moves. Repairs, each reported in
    ``Curve.fixes``: percent scale divided by 100 (only when ``scale="percent"``; never
    guessed), slightly negative times set to 0, survival clamped to [0, 1], the monotone fit (how
    many clicks moved by more than the reading precision, and the largest move on each axis),
    clicks that landed on one point merged (the top and the foot of a vertical drop are both
    kept), the origin (0, 1) added or survival at time 0 set to 1, and the foot of a first drop
    that time noise put at or before time 0 moved just after it.

    Raises
    ------
    InputError
        For non-numeric cells, survival that looks like percent without ``scale="percent"``,
        a click that the fit must move by more than ``rise_tolerance`` of an axis (a rise of
        more than ten points, or a click far out of time order), times far below zero, survival
        at or below one half at time 0, or fewer than two points.
    """
    if isinstance(curve, Curve):
        return curve
    if scale not in ("proportion", "percent"):
        raise InputError(f"scale {scale!r} is neither 'proportion' nor 'percent'",
                         column="scale", advice="survival as a proportion (0-1) or percent")
    t, s = _numeric(curve, ("time", "survival"), source)
    fixes: list[str] = []
    if len(t) < 2:
        raise InputError("a curve needs at least two points", file=source)
    # Row numbers in messages: click k (in the input's order) is row k + 2.

    if scale == "percent":
        if s.max() <= 1.0:
            raise InputError("survival is at most 1 but --scale percent was given", file=source,
                             column="survival", advice="drop --scale percent for proportions")
        s = s / 100.0
        fixes.append("survival divided by 100 (percent scale)")
    elif s.max() > 1.0 + EDGE_TOLERANCE:
        k = int(np.argmax(s))
        raise InputError(f"survival {s[k]:g} is above 1", file=source, row=k + 2,
                         column="survival",
                         advice="if the file is in percent, pass scale='percent' (--scale percent)")

    t_min = t.min()
    span = float(t.max() - min(t_min, 0.0))
    if not span > 0:
        raise InputError("every point is at the same time", file=source, column="time",
                         advice="a curve needs points along the time axis")
    if t_min < 0:
        k = int(np.argmin(t))
        if t[k] < -EDGE_TOLERANCE * span:
            raise InputError(f"time {t[k]:g} is far below zero", file=source, row=k + 2,
                             column="time", advice="check the x-axis calibration")
        negative = t < 0
        fixes.append(f"{int(negative.sum())} slightly negative time(s) set to 0 "
                     f"(lowest {t[k]:g})")
        t = np.where(negative, 0.0, t)

    s_min, s_max = s.min(), s.max()
    if s_min < -EDGE_TOLERANCE or s_max > 1 + EDGE_TOLERANCE:
        outside = (s < -EDGE_TOLERANCE) | (s > 1 + EDGE_TOLERANCE)
        k = int(np.flatnonzero(outside)[0])
        raise InputError(f"survival {s[k]:g} is outside [0, 1]", file=source, row=k + 2,
                         column="survival", advice="check the y-axis calibration")
    if s_min < 0 or s_max > 1:
        clamped = (s < 0) | (s > 1)
        fixes.append(f"{int(clamped.sum())} survival value(s) clamped to [0, 1]")
        s = np.clip(s, 0.0, 1.0)

    # Clicks already in path order (exact step corners) are fitted without sorting; when the
    # fit equals them (strictly monotone, or ties the fit left as they were) no click moves and
    # sorting the fit changes nothing: equal keys, already in order.
    fit = _in_path_order(t, s, span)
    t_fit, s_fit = fit if fit is not None else _sorted_fit(t, s, span)
    # (a negative tolerance refuses even a click that did not move, as the test below does)
    unmoved = (fit is not None and not np.float64(0.0) > rise_tolerance
               and (t_fit is t or bool((t_fit == t).all()))
               and (s_fit is s or bool((s_fit == s).all())))
    if not unmoved:
        move_t, move_s = np.abs(t_fit - t) / span, np.abs(s_fit - s)
        worst = int(np.argmax(np.maximum(move_t, move_s)))
        if max(move_t[worst], move_s[worst]) > rise_tolerance:
            axis = "survival" if move_s[worst] >= move_t[worst] else "time"
            raise InputError(
                f"the click ({t[worst]:g}, {s[worst]:.3f}) is "
                f"{max(move_t[worst], move_s[worst]):.3f} of the {axis} axis off the nearest "
                f"non-increasing curve, more than digitising noise ({rise_tolerance:g})",
                file=source, row=worst + 2, column=axis,
                advice="a Kaplan-Meier curve never rises: check for a click on the other arm's "
                       "curve or a misread axis")
        moved = (move_t > MOVE_FLOOR) | (move_s > MOVE_FLOOR)
        if moved.any():
            fixes.append(f"{int(moved.sum())} of {len(t)} clicks moved onto the nearest "
                         f"non-increasing curve (largest moves {move_t.max() * span:.4g} in "
                         f"time, {move_s.max():.4f} in survival)")
    if unmoved:
        order = None
        t, s = t_fit, s_fit
    else:
        order = np.lexsort((-s_fit, t_fit))
        t, s = t_fit[order], s_fit[order]

    # At time 0 the curve is at 1: clicks there near 1 are the origin read with noise; lower
    # ones are a steep first drop that time noise put at or before 0, moved to half the next
    # click's time; a curve already at half or less at time 0 is refused.
    at_zero = t == 0
    any_zero = at_zero.any()
    early = at_zero & (s < 1.0 - ORIGIN_TOLERANCE) if any_zero else None
    if any_zero and early.any():
        k = int(np.flatnonzero(early)[-1])
        k = k if order is None else int(order[k])
        later = t[t > 0]
        if s[early].min() <= ZERO_DROP_LIMIT or not later.size:
            raise InputError(f"survival drops to {s[early].min():.3f} at time 0", file=source,
                             row=k + 2, column="survival",
                             advice="a Kaplan-Meier curve starts at 1: check the x-axis "
                                    "calibration")
        t = np.where(early, 0.5 * later.min(), t)
        fixes.append(f"{int(early.sum())} click(s) at time 0 below 1 (lowest "
                     f"{s[early].min():.3f}) moved to {0.5 * later.min():.4g}: a first drop "
                     "read at or before time 0")
        at_zero = t == 0
        any_zero = at_zero.any()
    if any_zero:
        if s[at_zero].min() < 1.0 - 1e-6:  # not a calibration's rounding, said as 1
            fixes.append(f"survival at time 0 set to 1 (was {s[at_zero].min():g})")
        t, s = t[~at_zero], s[~at_zero]
    t, s = np.concatenate(([0.0], t)), np.concatenate(([1.0], s))
    if not any_zero:
        fixes.append("origin (0, 1) added")

    # Of the clicks at one time keep the top and the foot: the ends of a vertical drop.
    new_time = t[1:] != t[:-1]
    if not new_time.all():
        first = np.concatenate(([True], new_time))
        last = np.concatenate((new_time, [True]))
        top = s[np.flatnonzero(first)[np.cumsum(first) - 1]]
        keep = first | (last & (s < top))  # a foot level with its top is the same point
        if not keep.all():
            fixes.append(f"{int(np.sum(~keep))} click(s) at repeated times merged")
            t, s = t[keep], s[keep]
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
    bad = np.flatnonzero((n < 0) | (n != n.round()))  # (np.round calls the method)
    if bad.size:
        raise InputError(f"number at risk {n[bad[0]]:g} is not a whole number >= 0",
                         file=source, row=int(bad[0]) + 2, column="n_at_risk")
    big = np.flatnonzero(n > MAX_PATIENTS)
    if big.size:
        raise InputError(f"number at risk {n[big[0]]:,.0f} is more than {MAX_PATIENTS:,}",
                         file=source, row=int(big[0]) + 2, column="n_at_risk",
                         advice="no trial has that many patients in an arm: check the table")
    if t[0] != 0:
        raise InputError(f"the table starts at time {t[0]:g}, not 0", file=source, row=2,
                         column="time", advice="add the number randomised at time 0")
    # (finite numbers: a difference is below, at or above 0 as they are ordered)
    step = np.flatnonzero(t[1:] <= t[:-1])
    if step.size:
        raise InputError("times must increase", file=source, row=int(step[0]) + 3, column="time")
    up = np.flatnonzero(n[1:] > n[:-1])
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


def read_censor_marks(path: str | PathLike[str]) -> np.ndarray:
    """Read the times of the censoring marks (+) digitised on a curve (a CSV with a column
    ``time``, one row per mark, any order), sorted.

    Raises
    ------
    InputError
        For a missing column, a non-numeric or negative time.
    """
    frame = _read_csv(path)
    (t,) = _numeric(frame, ("time",), str(path))
    bad = np.flatnonzero(t < -EDGE_TOLERANCE * max(float(t.max(initial=0.0)), 1e-12))
    if bad.size:
        raise InputError(f"time {t[bad[0]]:g} is below zero", file=path, row=int(bad[0]) + 2,
                         column="time", advice="check the x-axis calibration")
    return np.sort(np.clip(t, 0.0, None))


def _ipd(frame: pd.DataFrame, path: str | PathLike[str]) -> pd.DataFrame:
    t, e = _numeric(frame, ("time", "event"), str(path), max_rows=2 * MAX_PATIENTS)
    bad = np.flatnonzero(~np.isin(e, (0, 1)) | (t < 0) | (t > MAX_TIME))
    if bad.size:
        k = int(bad[0])
        column = "event" if e[k] not in (0, 1) else "time"
        rule = ("0 or 1" if column == "event" else f"at most {MAX_TIME:g}" if t[k] > MAX_TIME
                else ">= 0")
        raise InputError(f"{column} must be {rule}", file=path, row=k + 2, column=column,
                         advice="no follow-up is that long in any time unit"
                         if column == "time" and t[k] > MAX_TIME else None)
    return pd.DataFrame({"time": t, "event": e.astype(int)})


def read_ipd(path: str | PathLike[str]) -> pd.DataFrame:
    """Read patient data (columns ``time,event``) as written by ``trialrecon reconstruct``."""
    return _ipd(_read_csv(path), path)


def read_ipd_arms(path: str | PathLike[str]) -> dict[str, pd.DataFrame]:
    """Read patient data by arm: split on an ``arm`` column if the file has one (in the order
    the arms first appear, as ``trialrecon simulate`` writes them), else one arm named after
    the file (:func:`label_of`)."""
    frame = _read_csv(path)
    ipd = _ipd(frame, path)
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


#: Neighbouring clicks closer in survival than this share of their distance in time (both in
#: axis units) lie on a flat or gently falling stretch, where click noise outweighs the drop.
FLAT_SLOPE = 0.5


def smooth_flat_runs(curve: Curve, where: np.ndarray | None = None) -> Curve:
    """The curve with click noise on flat or gently falling stretches averaged out.

    One pass of the binomial kernel ``(1, 2, 1) / 4`` over the survival of neighbouring clicks,
    applied only between neighbours on stretches flatter than :data:`FLAT_SLOPE` (survival
    against time, both in axis units), so that the corners of steep drops are kept; isotonic
    regression then restores a non-increasing curve. For curves read along their path with
    noise (not exact step corners, not one click per step, whose levels are the data): only the
    clicks where ``where`` is true (default: all) are changed.
    """
    t, s = curve.time, curve.survival
    if len(s) < 3:
        return curve
    span = float(t[-1]) if t[-1] > 0 else 1.0
    flat = np.abs(np.diff(s)) <= FLAT_SLOPE * np.diff(t) / span
    left, right = np.where(flat[:-1], 0.5, 0.0), np.where(flat[1:], 0.5, 0.0)
    out = s.copy()
    out[1:-1] = (left * s[:-2] + s[1:-1] + right * s[2:]) / (1.0 + left + right)
    if where is not None:
        out = np.where(where, out, s)
    out = np.clip(isotonic_regression(out, increasing=False).x, 0.0, 1.0)
    out[0] = 1.0
    return Curve(t, out, curve.fixes, curve.source)
