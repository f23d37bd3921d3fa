"""Individual patient data from a digitised Kaplan-Meier curve and its numbers at risk.

Two methods, both from the cleaned curve (:func:`trialrecon.curves.clean_curve`, a monotone fit
in both coordinates) and the printed numbers at risk:

* ``"integer"`` (default; :mod:`.integer`): the printed numbers at risk are met exactly as
  integers, events and censorings per interval solved together from the drop of the curve, the
  total events and the censoring marks when given; exact step corners are read as exact events.
* ``"guyot"`` (:mod:`.guyot`): Guyot P, Ades AE, Ouwens MJNM, Welton NJ, BMC Medical Research
  Methodology 2012;12:9, as reconstructKM implements it (its KEYNOTE-189 output is the reference
  of the tests).

The integer method first tells how the curve was digitised (along its path, or one click at
the foot or the top of each drop; :mod:`.reading`) and where the end of the flat tail was not
clicked, follows patients on as the other arm and the tables allow: :func:`reconstruct_arms`
rebuilds the arms of one figure together for that. Both are said in ``fixes``.

The default was chosen on ``benchmarks/bench_curve_corpus.py`` (152 real trials, exact and
noisy digitisations, and a convention axis): see that script for the figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..analysis import km_steps
from ..curves import EDGE_TOLERANCE, AtRisk, Curve, Scale, clean_at_risk, clean_curve
from ..errors import InputError
from ..limits import MAX_CLICKS, whole_count
from . import guyot, integer, reading
from .placement import Placement

Method = Literal["integer", "guyot"]
METHODS: tuple[str, ...] = ("integer", "guyot")


@dataclass(frozen=True)
class Reconstruction:
    """The reconstructed patient data of one arm, with diagnostics.

    Attributes
    ----------
    ipd
        One row per patient: ``time`` (float, the figure's unit) and ``event`` (1 event, 0
        censored), events first in time order, then censorings in time order.
    intervals
        Per at-risk interval ``[start, end)``: ``start, end, published_at_risk,
        estimated_at_risk, events, censored``; ``estimated_at_risk`` is the number of rebuilt
        patients still at risk (time >= ``start``).
    max_abs_error
        Largest absolute difference between the cleaned digitised survival and the
        Kaplan-Meier curve of ``ipd`` at the digitised times.
    fixes
        Repairs made while cleaning the inputs, and what the method could not honour.
    method
        The method used (one of :data:`METHODS`).
    exact_steps
        The events were read from exact step heights (integer method only).
    reading
        How the curve was read, as the method took it (integer method:
        :mod:`trialrecon.reconstruct.reading`; ``"exact"`` for exact step corners).
    tail_assumed
        The end of follow-up the method assumed because the curve's flat tail was not
        digitised (None when it was, or when nothing said follow-up went on).
    """

    ipd: pd.DataFrame
    intervals: pd.DataFrame
    max_abs_error: float
    fixes: tuple[str, ...] = field(default_factory=tuple)
    method: str = "integer"
    exact_steps: bool = False
    reading: str = ""
    tail_assumed: float | None = None


#: Largest distance between the rebuilt and the digitised curve that passes without a note,
#: beyond one patient's step there: five percentage points, several times what digitising
#: error leaves when the inputs agree (the corpus benchmark's KM RMSE p90 is below 0.02 with
#: 1% click jitter).
MISFIT = 0.05
#: Most of one patient's step allowed on top of MISFIT (where one or two are at risk).
STEP_CAP = 0.1


def _table(at_risk: pd.DataFrame | AtRisk | None, n_patients: int | None) -> AtRisk:
    if n_patients is not None:
        n_patients = whole_count(n_patients, "n_patients", low=1)
    if at_risk is None:
        if n_patients is None:
            raise InputError("without an at-risk table the number of patients is needed",
                             column="n_patients", advice="pass n_patients (--n-patients)")
        return AtRisk(np.array([0.0]), np.array([n_patients]))
    table = clean_at_risk(at_risk)
    if n_patients is not None and int(table.n_at_risk[0]) != n_patients:
        raise InputError(f"n_patients={n_patients} but the at-risk table starts with "
                         f"{table.n_at_risk[0]}", file=table.source, row=2, column="n_at_risk")
    return table


def _same_time_scale(curve: Curve, table: AtRisk) -> None:
    """Refuse a table and a curve on different time scales (days against months, a slip of a
    factor of ten): printed under the figure, the table spans its time axis."""
    if len(table.time) < 2:
        return
    span, first, last = float(curve.time[-1]), float(table.time[1]), float(table.time[-1])
    if last < 0.1 * span or first > span:
        raise InputError(
            f"the at-risk table runs from {first:g} to {last:g} after 0 while the curve ends at "
            f"{span:g}: the two are not on one time scale", file=table.source, column="time",
            advice="give the table's times in the unit of the curve's time axis")


def _marks(censor_marks: Sequence[float] | np.ndarray | pd.DataFrame | None, curve: Curve
           ) -> np.ndarray | None:
    if censor_marks is None:
        return None
    source = None
    if isinstance(censor_marks, pd.DataFrame):
        source = censor_marks.attrs.get("source")  # the file they were read from, if any
        if "time" not in censor_marks.columns:
            raise InputError("censoring marks need a column 'time'", file=source,
                             column="time")
        censor_marks = censor_marks["time"].to_numpy()
    marks = np.asarray(censor_marks, dtype=float)
    if marks.size > MAX_CLICKS:
        raise InputError(f"{marks.size:,} censoring marks: more than {MAX_CLICKS:,}",
                         file=source, column="time", advice="no figure has that many marks")
    if marks.ndim != 1 or not np.isfinite(marks).all():
        raise InputError("censoring marks must be finite times", file=source, column="time")
    span = float(curve.time[-1])
    outside = (marks < -EDGE_TOLERANCE * span) | (marks > (1.0 + EDGE_TOLERANCE) * span)
    if outside.any():
        raise InputError(f"censoring mark at {marks[outside][0]:g} is outside the curve "
                         f"(0 to {span:g})", file=source, column="time",
                         advice="check the x-axis calibration")
    return np.sort(np.clip(marks, 0.0, span))


def _intervals(ipd: pd.DataFrame, table: AtRisk) -> pd.DataFrame:
    t = ipd["time"].to_numpy(float)
    e = ipd["event"].to_numpy(int)
    starts = table.time.astype(float)
    ends = np.r_[starts[1:], max(float(t.max()) if len(t) else 0.0, float(starts[-1]))]
    rows = []
    for i, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        inside = (t >= lo) & ((t < hi) if i + 1 < len(starts) else np.ones_like(t, bool))
        rows.append({"start": lo, "end": hi, "published_at_risk": int(table.n_at_risk[i]),
                     "estimated_at_risk": int(np.sum(t >= lo)),
                     "events": int(e[inside].sum()), "censored": int((1 - e[inside]).sum())})
    return pd.DataFrame(rows)


def _errors(ipd: pd.DataFrame, curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """At each digitised foot: |digitised - rebuilt KM|, and the rebuilt patients at risk."""
    times, levels = curve.feet()
    t = ipd["time"].to_numpy(float)
    km = km_steps(t, ipd["event"].to_numpy(int))
    k = np.searchsorted(km.times, times, side="right")
    fitted = (np.where(k > 0, km.survival[np.maximum(k - 1, 0)], 1.0) if km.times.size
              else np.ones(len(times)))
    at_risk = len(t) - np.searchsorted(np.sort(t), times, side="left")
    return np.abs(fitted - levels), at_risk


def _max_error(ipd: pd.DataFrame, curve: Curve) -> float:
    return float(np.max(_errors(ipd, curve)[0]))


def _misfit(ipd: pd.DataFrame, curve: Curve) -> tuple[float, float] | None:
    """The worst (error, time) where the rebuilt curve is further from the digitised one than
    :data:`MISFIT` plus one patient's step there (``S / Y``, at most :data:`STEP_CAP`: a
    small arm moves in coarse steps), or None.

    On the 152 corpus datasets (304 arms, each digitised exactly and with 0.3% and 1%
    jitter, 912 rebuilds) no rebuild gets the note; without the step allowance 3 would.
    """
    errors, at_risk = _errors(ipd, curve)
    times, levels = curve.feet()
    allowed = MISFIT + np.minimum(levels / np.maximum(at_risk, 1), STEP_CAP)
    over = errors - allowed
    if not (over > 0).any():
        return None
    i = int(np.argmax(over))
    return float(errors[i]), float(times[i])


def reconstruct(curve: pd.DataFrame | Curve, at_risk: pd.DataFrame | AtRisk | None = None, *,
                method: Method = "integer", n_patients: int | None = None,
                total_events: int | None = None,
                censor_marks: Sequence[float] | np.ndarray | pd.DataFrame | None = None,
                scale: Scale = "proportion", follow_up_end: float | None = None,
                convention: reading.ReadingKind | None = None,
                diagnostics: bool = True) -> Reconstruction:
    """Reconstruct one arm's patient data, with diagnostics.

    Parameters
    ----------
    curve
        Digitised curve, columns ``time`` and ``survival`` (a proportion unless
        ``scale="percent"``), clicks in any order. Cleaned by
        :func:`trialrecon.curves.clean_curve`.
    at_risk
        Numbers at risk printed under the figure, columns ``time, n_at_risk``, from time 0.
    method
        ``"integer"`` (default) or ``"guyot"`` (Guyot et al. 2012); see the module doc.
    n_patients
        Number of patients; required without ``at_risk``, checked against it otherwise.
    total_events
        Total events in the arm, if published.
    censor_marks
        Times of the censoring marks (+) digitised on the curve (a sequence, or a frame with a
        ``time`` column); integer method only.
    follow_up_end
        The longest follow-up known from elsewhere (the figure's unit), usually the other
        arm's last time (:func:`reconstruct_arms` passes it). Used by the integer method only
        when the curve ends in a drop, i.e. the end of its flat tail was not digitised: patients
        still at risk then stay followed to this time instead of being censored at the last
        drop (:func:`trialrecon.reconstruct.reading.tail_end`; without it, half a table step
        past the last printed number at risk). Said in ``fixes``.
    convention
        How the curve was digitised, when known: ``"path"`` (corners of drops and points along
        the flat runs), ``"feet"`` or ``"tops"`` (one click at the foot or the top of each drop
        or of every k-th). None (default): told from the clicks
        (:func:`trialrecon.reconstruct.reading.detect`). Integer method only.
    diagnostics
        Compute the per-interval table and the curve error (skip for speed in loops).

    Raises
    ------
    InputError
        On inputs the cleaning cannot repair or that contradict each other.
    """
    return _reconstruct(curve, at_risk, method, n_patients, total_events, censor_marks, scale,
                        follow_up_end, _stated(convention, method), diagnostics)


def _stated(convention: str | None, method: str) -> tuple[reading.ReadingKind, str] | None:
    """A stated digitising convention as the integer method takes it, checked."""
    if convention is None:
        return None
    if method == "guyot":
        raise InputError("Guyot's method reads every curve at the feet of its drops",
                         column="convention", advice="use method='integer' with a convention")
    if convention not in reading.KINDS:
        raise InputError(f"unknown digitising convention {convention!r}", column="convention",
                         advice=f"one of {', '.join(reading.KINDS)}, or none to tell it from "
                                "the clicks")
    return convention, "stated"  # type: ignore[return-value]


def _reconstruct(curve: pd.DataFrame | Curve, at_risk: pd.DataFrame | AtRisk | None,
                 method: Method, n_patients: int | None, total_events: int | None,
                 censor_marks: Sequence[float] | np.ndarray | pd.DataFrame | None,
                 scale: Scale, follow_up_end: float | None,
                 told: tuple[reading.ReadingKind, str] | None,
                 diagnostics: bool) -> Reconstruction:
    """:func:`reconstruct`, the reading ``told`` with who told it."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", column="method",
                         advice=f"one of {', '.join(METHODS)}")
    clean = clean_curve(curve, scale=scale)
    table = _table(at_risk, n_patients)
    n = int(table.n_at_risk[0])
    if n <= 0:
        raise InputError("the number of patients must be positive", file=table.source,
                         column="n_at_risk")
    if total_events is not None:
        total_events = whole_count(total_events, "total_events", high=n)
    _same_time_scale(clean, table)
    marks = _marks(censor_marks, clean)
    if method == "guyot":
        if marks is not None:
            raise InputError("Guyot's method does not use censoring marks", column="method",
                             advice="use method='integer' (--method integer) with marks")
        placed: Placement = guyot.place(clean, table, total_events)
    else:
        placed = integer.place(clean, table, total_events, marks, follow_up_end, told)
    notes = list(placed.notes)
    n_events = len(placed.event_times)
    if placed.overfull or n_events + len(placed.censor_times) != n:
        raise InputError("the reconstruction placed more patients than randomised",
                         file=table.source, advice="check the at-risk table against the curve")
    ipd = pd.DataFrame({"time": np.concatenate((np.sort(placed.event_times),
                                                np.sort(placed.censor_times))),
                        "event": np.concatenate((np.ones(n_events, int),
                                                 np.zeros(len(placed.censor_times), int)))},
                       copy=False)
    if at_risk is None:
        notes.append("no at-risk table: censoring is unknown, so the events follow from the "
                     "curve's steps and the number of patients alone and may be far off; "
                     "give the numbers at risk if the figure prints them")
    if total_events is not None and n_events != total_events and not placed.total_said:
        notes.append(f"total events {total_events} could not be honoured: the curve and the "
                     f"at-risk table place {n_events}")
    fixes = clean.fixes + tuple(notes)
    if not diagnostics:
        return Reconstruction(ipd, pd.DataFrame({}), float("nan"), fixes, method,
                              placed.exact_steps, placed.reading, placed.tail_assumed)
    misfit = _misfit(ipd, clean)
    if misfit is not None:
        fixes += (f"the rebuilt Kaplan-Meier curve is {misfit[0]:.3f} from the digitised one at "
                  f"{misfit[1]:g} (more than {MISFIT:g} and a patient's step): the curve and the "
                  "at-risk table do not describe the same patients; check both against the "
                  "figure before using these data",)
    return Reconstruction(ipd, _intervals(ipd, table), _max_error(ipd, clean), fixes, method,
                          placed.exact_steps, placed.reading, placed.tail_assumed)


def reconstruct_ipd(curve: pd.DataFrame | Curve, at_risk: pd.DataFrame | AtRisk | None = None,
                    *, method: Method = "integer", n_patients: int | None = None,
                    total_events: int | None = None,
                    censor_marks: Sequence[float] | np.ndarray | pd.DataFrame | None = None,
                    scale: Scale = "proportion", follow_up_end: float | None = None
                    ) -> pd.DataFrame:
    """Patient data (columns ``time``, ``event``) rebuilt from a digitised curve.

    See :func:`reconstruct` for the parameters, the methods and the diagnostics.
    """
    return reconstruct(curve, at_risk, method=method, n_patients=n_patients,
                       total_events=total_events, censor_marks=censor_marks, scale=scale,
                       follow_up_end=follow_up_end, diagnostics=False).ipd


def reconstruct_arms(curves: Mapping[str, pd.DataFrame | Curve],
                     at_risk: Mapping[str, pd.DataFrame | AtRisk | None], *,
                     method: Method = "integer",
                     censor_marks: Mapping[str, Sequence[float] | np.ndarray | pd.DataFrame
                                           | None] | None = None,
                     scale: Scale = "proportion",
                     total_events: Mapping[str, int | None] | None = None,
                     convention: reading.ReadingKind | None = None, diagnostics: bool = True
                     ) -> dict[str, Reconstruction]:
    """Reconstruct every arm of one figure, the arms informing each other's follow-up and
    reading.

    The arms of a trial share its calendar: where one arm's curve ends in a drop (the end of its
    flat tail not digitised), its patients still at risk are followed as long as the other arms
    show follow-up (the ``follow_up_end`` of :func:`reconstruct`: the latest last time among
    the other arms, each as digitised or as assumed from its own table), but not past the first
    row that the other arms' at-risk table prints and its own does not (nobody of this arm was
    at risk there). When every arm ends in a drop at the same time, that is taken as the
    common end of follow-up. The arms of a figure are digitised the same way, so the reading
    the clicks tell most firmly is every arm's (:func:`trialrecon.reconstruct.reading.shared`;
    said in ``fixes``), unless ``convention`` states it.

    Parameters
    ----------
    curves, at_risk
        Per arm name, the digitised curve and its numbers at risk (same keys).
    method, censor_marks, scale, convention
        As for :func:`reconstruct` (marks per arm name; absent arms have none).
    total_events
        Per arm name, its printed total of events (absent arms have none).

    Returns
    -------
    dict
        Arm name to :class:`Reconstruction`, in the order of ``curves``.
    """
    if set(curves) != set(at_risk):
        raise InputError(f"curves for {sorted(curves)} but at-risk tables for {sorted(at_risk)}",
                         column="arm", advice="give one curve and one table per arm")
    stated = _stated(convention, method)
    marks, totals = censor_marks or {}, total_events or {}
    out = {}
    name = ""
    try:
        final: dict[str, float | None] = {name: None for name in curves}
        told: dict[str, tuple[reading.ReadingKind, str]] = {}
        if method == "integer":
            cleaned = {name: (clean_curve(curve, scale=scale), _table(at_risk[name], None))
                       for name, curve in curves.items()}
            # One reading for every arm, where the arms that tell it agree; the tail is judged
            # on the drawn path it implies (the top of a last drop is followed by the tail).
            if stated is not None:
                told = {name: stated for name in curves}
            else:
                kind = reading.shared([reading.detect(c, table) for c, table in cleaned.values()])
                if kind is not None:
                    told = {name: (kind, "other arms") for name in curves}
            cleaned = {name: (reading.drawn(c, table, *told.get(name, (None,)))[1], table)
                       for name, (c, table) in cleaned.items()}
            own = {name: reading.tail_end(c, table) for name, (c, table) in cleaned.items()}
            last = {name: float(c.time[-1]) for name, (c, _) in cleaned.items()}
            ends = {name: own[name][0] if own[name] else last[name] for name in curves}
            common = (len(curves) > 1 and len(set(last.values())) == 1
                      and all(own[name] is not None for name in curves))
            for name, (c, table) in cleaned.items():
                if common:
                    # Every arm ends in a drop at one time: a common end of follow-up (an
                    # administrative cut-off at an event time), not tails left unclicked.
                    final[name] = last[name]
                    continue
                others = [ends[o] for o in curves if o != name]
                later = [float(x) for o, (_, tab) in cleaned.items() if o != name
                         for x in tab.time if x > table.time[-1]]
                end = reading.tail_end(c, table, max(others) if others else None,
                                       min(later) if later else None)
                final[name] = end[0] if end else last[name]
        for name, curve in curves.items():
            out[name] = _reconstruct(curve, at_risk[name], method, None, totals.get(name),
                                     marks.get(name), scale, final[name], told.get(name),
                                     diagnostics)
    except InputError as exc:
        if exc.file is not None or exc.row is not None:
            raise
        raise InputError(exc.message, row=f"arm {name}", column=exc.column,
                         advice=exc.advice) from None
    return out
