"""How a Kaplan-Meier curve was digitised, told from the clicks, and the drawn path it implies.

People read a step curve in several ways: along its path (the top and the foot of each drop,
and points on the flat runs between them, as a careful hand or an automatic extractor does), or
one corner per drop (the foot of each drop, as Guyot et al. 2012 place events, or its top),
every drop or every k-th one, with or without the end of the flat tail. The reconstruction must
know which, because the events of a gap between two clicks sit at its right end (feet), at its
left end (tops) or somewhere within it (a path reading that skipped steps).

:func:`detect` tells them apart from the geometry of the cleaned clicks and the numbers at risk;
:func:`complete` turns a one-corner-per-drop reading into the path it implies (the missing corner
of each drop added), so that one interval solution serves every reading; :func:`tail_end` says
how far follow-up goes when the end of the flat tail was not clicked (judged on that path: the
top of a last drop is followed by the tail). The arms of one figure share the reading told most
firmly (:func:`shared`), and a user who knows the convention states it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..curves import AtRisk, Curve

ReadingKind = Literal["path", "feet", "tops"]
KINDS: tuple[ReadingKind, ...] = ("path", "feet", "tops")

#: A gap between clicks is informative about the reading where one event there would drop the
#: curve by at least this much (survival as a proportion): about three standard deviations of
#: the difference of two clicks read with 0.3% noise.
INFORMATIVE_STEP = 0.012
#: A gap is flat (no drop between its clicks) when it falls by less than this share of one
#: event's step there.
FLAT_SHARE = 0.35
#: A reading is one corner per drop when at most this share of its informative gaps is flat (a
#: path reading has a flat run between the foot of one drop and the top of the next: about half
#: of its gaps); at least :data:`MIN_INFORMATIVE` informative gaps are needed to tell.
CORNER_FLAT_SHARE = 0.15
MIN_INFORMATIVE = 2
#: A one-corner-per-drop reading ending in a gap that falls by fewer events than this, over at
#: least :data:`TAIL_GAP` times the typical gap, ends at the top of its last drop and the end of
#: the tail (see :func:`_which_corner`).
ONE_EVENT_END = 1.25
TAIL_GAP = 8.0
#: Odds of feet against tops before the clicks are seen (a foot is the usual click), and the
#: odds from which the first gap tells them firmly.
TOPS_ODDS = 4.0
FIRM_ODDS = 20.0
#: In a reading along the path, a gap this long (share of the time axis) over a fall this
#: large (survival) skipped both corners of a large drop, which such a reading clicks: it is
#: read as feet...
LONG_GAP = 0.02
LARGE_FALL = 0.03
#: ... and a fall several times the reading's typical gap (not a sparse reading's every gap).
OUTLIER_FALL = 3.0
#: A fall of survival within the noise of two clicks read with 0.3% noise (one sd).
NOISE_FALL = 0.0042
#: Clicks within this share of both axes of (0, 1) are the origin clicked with noise.
ORIGIN_NEAR = 0.01
#: A reading is one click per step when this share of the gaps between its clicks (at least
#: :data:`MIN_STEP_READING` of them) each hold a drop of one to three events.
STEP_READING_SHARE = 0.8
MIN_STEP_READING = 10


@dataclass(frozen=True)
class Reading:
    """What the clicks say about how the curve was read.

    Attributes
    ----------
    kind
        ``"path"`` (corners of drops and points along flat runs; also the default when the
        clicks cannot tell), ``"feet"`` (one click at the foot of each drop, or of every k-th)
        or ``"tops"`` (at the top).
    informative
        Gaps where one event's step exceeds the click noise (:data:`INFORMATIVE_STEP`).
    flat_share
        Share of those gaps that are flat.
    per_step_intervals
        In a path reading, the at-risk intervals read one click per step
        (:func:`clicked_per_step`).
    basis
        What told the reading: ``"clicks"`` (the flat share of the informative gaps, and for
        one corner per drop the ends, see :func:`_which_corner`), ``""`` (nothing did: the
        default), ``"stated"`` (given by the user) or ``"other arms"`` (taken from the other
        arms of the figure, :func:`trialrecon.reconstruct.reconstruct_arms`).
    evidence
        How firmly the clicks tell it: 2 beyond reasonable doubt (the flat share of at least
        :data:`MIN_INFORMATIVE` informative gaps; for feet or tops a flat end or an informative
        first gap), 1 by weaker evidence (:func:`_which_corner`), 0 not at all (the
        default).
    """

    kind: ReadingKind
    informative: int
    flat_share: float
    per_step_intervals: int = 0
    basis: str = "clicks"
    evidence: int = 0

    def describe(self) -> str:
        """One sentence for the reconstruction's notes."""
        told = {"stated": " (as stated)",
                "other arms": " (as the clicks of the figure's other arms tell)"}.get(self.basis)
        if self.kind == "path":
            if told:
                text = f"read as clicks along the drawn path{told}"
            elif self.informative < MIN_INFORMATIVE:
                text = ("read as clicks along the drawn path (too few large steps to tell the "
                        "digitising convention; events spread over each gap between clicks)")
            else:
                text = (f"read as clicks along the drawn path ({100 * self.flat_share:.0f}% of "
                        f"{self.informative} informative gaps flat)")
            if self.per_step_intervals:
                text += (f"; {self.per_step_intervals} at-risk interval(s) read one click per "
                         "step, their events at the clicks")
            return text
        where = "foot" if self.kind == "feet" else "top"
        why = told or (f" ({100 * self.flat_share:.0f}% of {self.informative} informative gaps "
                       "flat)")
        return (f"read as one click at the {where} of each drop or of every k-th drop{why}; "
                "the other corner of each drop was added")


def _at_risk_guess(t: np.ndarray, s: np.ndarray, table: AtRisk) -> np.ndarray:
    """Patients at risk at each click: between two printed numbers, geometric interpolation
    (events and censoring both thin the group); after the last, that number scaled by the
    curve's fall since (censoring unknown there). A guess good enough to size one event's
    step."""
    T, N = table.time.astype(float), table.n_at_risk.astype(float)
    i = np.clip(np.searchsorted(T, t, side="right") - 1, 0, len(T) - 1)
    level = np.interp(T, t, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        beyond = np.where(level[i] > 0, N[i] * s / level[i], N[i])
        if len(T) > 1:
            j = np.minimum(i + 1, len(T) - 1)
            x = np.clip((t - T[i]) / np.where(T[j] > T[i], T[j] - T[i], 1.0), 0.0, 1.0)
            ratio = np.where(N[i] > 0, np.maximum(N[j], 0.5) / N[i], 1.0)
            inside = N[i] * ratio ** x
            n = np.where(t < T[-1], inside, beyond)
        else:
            n = beyond
    return np.maximum(np.nan_to_num(n, nan=1.0), 1.0)


def clicked_per_step(curve: Curve, table: AtRisk) -> np.ndarray:
    """Per at-risk interval, whether the curve was read there one click per step (at each
    step's corner) rather than along its path: no drop was clicked at both ends, and nearly
    every gap between two clicks holds a drop of one to three events,
    ``0.5 <= (1 - S_j / S_{j-1}) n < 3.5`` (a reading along the path has flat gaps between the
    foot of one drop and the top of the next).

    ``n`` is the number at risk as Guyot's first guess has it: ``N_i S(t) / S(T_i)`` less the
    interval's censorings ``N_i S(T_{i+1}) / S(T_i) - N_{i+1}`` spread evenly over it. Such a
    reading has its events at the clicks (Guyot's convention); a reading along the path has
    steps hidden between its clicks, spread over the gap. An interval with fewer than
    :data:`MIN_STEP_READING` gaps is read along the path.
    """
    t, s = curve.time, curve.survival
    T, N = table.time.astype(float), table.n_at_risk.astype(float)
    gap = np.flatnonzero(np.diff(t) > 0) + 1
    if gap.size and t[-1] > t[-2] and s[-1] == s[-2]:
        gap = gap[:-1]  # the flat tail to the last follow-up is no gap between steps
    i = np.clip(np.searchsorted(T, t[gap - 1], side="right") - 1, 0, len(T) - 1)
    level = np.interp(T, t, s)  # at the rows (only a guess is needed here)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(level[i] > 0, s[gap - 1] / level[i], 0.0)
        nxt = np.r_[T[1:], np.inf][i]
        cens = np.where(np.isfinite(nxt), np.maximum(
            N[i] * np.interp(nxt, t, s) / np.maximum(level[i], 1e-12) - np.r_[N[1:], 0][i], 0.0),
            0.0)
        share_of = np.where(np.isfinite(nxt), (t[gap - 1] - T[i]) / (nxt - T[i]), 0.0)
        e = (1.0 - s[gap] / s[gap - 1]) * (N[i] * ratio - cens * share_of)
    one_step = (e >= 0.5) & (e < 3.5)
    tied = np.flatnonzero(np.diff(t) == 0)  # drops clicked at both ends
    both_ends = np.bincount(np.clip(np.searchsorted(T, t[tied], side="right") - 1, 0,
                                    len(T) - 1), minlength=len(T))
    gaps = np.bincount(i, minlength=len(T))
    steps = np.bincount(i, weights=one_step.astype(float), minlength=len(T))
    return ((both_ends == 0) & (gaps >= MIN_STEP_READING)
            & (steps >= STEP_READING_SHARE * np.maximum(gaps, 1)))


def ends_flat(curve: Curve, table: AtRisk) -> bool:
    """Whether the curve ends on a flat run (the end of its tail was clicked): its last gap
    falls by less than :data:`FLAT_SHARE` of one event's step there, so that click noise
    between the last foot and the tail's end is not read as a drop."""
    t, s = curve.time.astype(float), curve.survival.astype(float)
    if len(s) < 2 or not t[-1] > t[-2]:
        return False
    step = s[-2] / float(_at_risk_guess(t[-2:-1], s[-2:-1], table)[0])
    return bool(s[-2] - s[-1] < FLAT_SHARE * step)


def detect(curve: Curve, table: AtRisk) -> Reading:
    """Tell how ``curve`` was read (see the module doc).

    Only gaps where a single event would move the curve clearly more than click noise inform
    (late in follow-up, with few at risk): in a path reading about half of them are flat (the
    run between two drops clicked at both ends), in a one-corner-per-drop reading none is,
    since every gap holds a drop. Feet and tops differ only at the ends: the first click after
    the origin is at survival 1 when the tops were clicked. The last gap is left out when the
    curve ends flat (the tail's end). With fewer than :data:`MIN_INFORMATIVE` informative gaps
    the reading is taken as a path, which spreads events over each gap and errs least when the
    reading is unknown.
    """
    t, s = curve.time.astype(float), curve.survival.astype(float)
    tail = ends_flat(curve, table)
    ds = s[:-1] - s[1:]
    step = s[:-1] / _at_risk_guess(t[:-1], s[:-1], table)
    inner = np.ones(len(ds), bool)
    if tail:
        inner[-1] = False
    if len(inner):
        inner[0] = False  # the first gap tells feet from tops, not the reading
    informative = inner & (step >= INFORMATIVE_STEP) & (np.diff(t) > 0)
    count = int(informative.sum())
    flat = float(np.mean(ds[informative] < FLAT_SHARE * step[informative])) if count else 1.0
    if count < MIN_INFORMATIVE or flat > CORNER_FLAT_SHARE:
        return Reading("path", count, flat, int(clicked_per_step(curve, table).sum()),
                       basis="clicks" if count >= MIN_INFORMATIVE else "",
                       evidence=2 if count >= MIN_INFORMATIVE else 0)
    kind, evidence = _which_corner(t, s, ds, step)
    return Reading(kind, count, flat, evidence=evidence)


def _which_corner(t: np.ndarray, s: np.ndarray, ds: np.ndarray, step: np.ndarray
                  ) -> tuple[ReadingKind, int]:
    """Feet or tops, for a reading of one corner per drop: between the ends both put one drop
    in every gap, so only the ends tell, and only where one event's step there exceeds the
    click noise (:data:`INFORMATIVE_STEP`).

    * A flat last gap is the tail's end after a foot: a top is always followed by its drop.
    * The first gap (from the origin, clicked or not) is flat when the top of the first drop
      was clicked (it is at survival 1) and falls by the first drop when its foot was: the
      likelihood ratio of the two under click noise (:data:`NOISE_FALL`) decides, against
      prior odds of :data:`TOPS_ODDS` for feet, firmly from odds of :data:`FIRM_ODDS`.
    * A last gap that falls by about one event (:data:`ONE_EVENT_END`) over a long time
      (:data:`TAIL_GAP` typical gaps) is the last drop clicked at its top and the tail's end
      at its foot; the foot of a last drop whose tail was not clicked ends a gap of k drops
      as long as the others.

    Otherwise feet, the usual convention (Guyot et al. 2012 read the feet). Returns the kind
    and the evidence (:attr:`Reading.evidence`: 2 by a flat end or a firm first gap, 1 by a
    first gap less firm or by the last gap, 0 none).
    """
    near = np.flatnonzero((t <= ORIGIN_NEAR * t[-1]) & (s >= 1.0 - ORIGIN_NEAR))
    first = int(near[-1]) if near.size else 0
    wide = np.diff(t)
    end_informative = len(ds) >= 2 and wide[-1] > 0 and step[-1] >= INFORMATIVE_STEP
    units = ds[-1] / step[-1] if end_informative else 0.0
    if end_informative and units < FLAT_SHARE:
        return "feet", 2
    if first < len(ds) and step[first] >= INFORMATIVE_STEP:
        # Log likelihood ratio of a flat first gap (tops) against one event's fall (feet),
        # both with click noise NOISE_FALL; feet the likelier convention beforehand.
        llr = step[first] * (0.5 * step[first] - ds[first]) / NOISE_FALL ** 2
        kind: ReadingKind = "tops" if llr > math.log(TOPS_ODDS) else "feet"
        return kind, 2 if abs(llr) >= math.log(FIRM_ODDS) else 1
    typical = float(np.median(wide[wide > 0])) if (wide > 0).any() else 0.0
    if end_informative and units < ONE_EVENT_END and wide[-1] >= TAIL_GAP * typical:
        return "tops", 1
    return "feet", 0


#: Share of the patients still at risk up to which censoring is taken as negligible when
#: counting the steps per gap of a one-corner-per-drop reading.
EARLY_AT_RISK = 0.75


def _steps_per_gap(t: np.ndarray, events: np.ndarray, table: AtRisk) -> int:
    """How many drops a gap of a one-corner-per-drop reading holds (k of "every k-th drop"):
    the median expected events per gap early in follow-up, while the table shows at least
    :data:`EARLY_AT_RISK` of the patients at risk, where the uncensored guess of the number at
    risk holds. Later the guess overstates those at risk, so this caps each gap's count."""
    T, N = table.time.astype(float), table.n_at_risk.astype(float)
    late = np.flatnonzero(N < EARLY_AT_RISK * N[0])
    until = float(T[late[0]]) if late.size else float(t[-1])
    early = (t[:-1] < until) & (np.diff(t) > 0) & (events > 0)
    pool = events[early] if early.sum() >= 3 else events[(np.diff(t) > 0) & (events > 0)]
    return max(round(float(np.median(pool))), 1) if pool.size else 1


def complete(curve: Curve, table: AtRisk, kind: ReadingKind) -> Curve:
    """The drawn path a one-corner-per-drop reading implies.

    Between two feet ``(t_a, s_a)`` and ``(t_b, s_b)`` the curve drops at ``t_b`` (its foot was
    clicked), and when the gap holds more events than one, at hidden steps before it. The gap's
    expected events ``n (1 - s_b / s_a)`` (``n`` at risk, from the table), rounded and at most
    the steps per gap of the whole reading (:func:`_steps_per_gap`), give ``k``, and the drop
    at ``t_b`` is ``(s_a - s_b) / k``: the top of that drop is added at ``t_b``, the rest of the
    fall stays spread over the gap. Tops mirror this: the foot of the drop at
    ``t_a`` is added there. A path reading is returned unchanged, except in the intervals of
    the table read one click per step (:func:`clicked_per_step`), which are completed as feet.
    """
    t, s = curve.time.astype(float), curve.survival.astype(float)
    feet = np.full(len(t), kind == "feet")
    if kind == "path":
        # Intervals of the table read one click per step are feet within a path reading, and
        # so is a long gap over a large fall: a reading along the path clicks both corners of
        # a large drop.
        per_step = clicked_per_step(curve, table)
        T = table.time.astype(float)
        feet = per_step[np.clip(np.searchsorted(T, t, side="right") - 1, 0, len(T) - 1)]
        span = float(t[-1]) if t[-1] > 0 else 1.0
        gap_fall, gap_width = s[:-1] - s[1:], np.diff(t) / span
        falling = gap_fall[gap_fall > 0]
        typical = float(np.median(falling)) if falling.size else 0.0
        long_drop = ((gap_fall >= LARGE_FALL) & (gap_width >= LONG_GAP)
                     & (gap_fall >= OUTLIER_FALL * typical))
        # ... unless the click ending it is the top of a drop clicked at both corners.
        steep = (gap_fall >= 2 * NOISE_FALL) & (gap_width <= 0.25 * gap_fall)
        long_drop[:-1] &= ~steep[1:]
        feet[:-1] |= long_drop
        if not feet.any():
            return curve
        kind = "feet"
    n = _at_risk_guess(t, s, table)
    fall = s[:-1] - s[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        events = np.where(s[:-1] > 0, n[:-1] * fall / s[:-1], 0.0)
    most = _steps_per_gap(t, events, table)
    new_t, new_s = [t[0]], [s[0]]
    for j in range(1, len(t)):
        a, b = j - 1, j
        if t[b] > t[a] and fall[a] > 0 and s[a] > 0:
            k = min(max(round(float(events[a])), 1), most)
            if kind == "feet" and feet[a] and not (b + 1 < len(t) and t[b + 1] == t[b]):
                new_t.append(t[b])
                new_s.append(s[b] + fall[a] / k)
            elif kind == "tops" and not (a > 0 and t[a - 1] == t[a]):
                # The foot of the drop at t_a goes right after its top.
                new_t.append(t[a])
                new_s.append(s[a] - fall[a] / k)
        new_t.append(t[b])
        new_s.append(s[b])
    out_t, out_s = np.asarray(new_t), np.asarray(new_s)
    # Keep at most two points per time (the top and the foot of a drop).
    keep = np.r_[True, True, ~((out_t[2:] == out_t[1:-1]) & (out_t[1:-1] == out_t[:-2]))]
    return Curve(out_t[keep], out_s[keep], curve.fixes, curve.source)


def drawn(curve: Curve, table: AtRisk, kind: ReadingKind | None = None,
          basis: str = "stated") -> tuple[Reading, Curve]:
    """How ``curve`` was read (:func:`detect`, or ``kind`` when known, told by ``basis``) and
    the drawn path that reading implies (:func:`complete`)."""
    how = detect(curve, table)
    if kind is not None and kind != how.kind:
        how = Reading(kind, how.informative, how.flat_share, basis=basis, evidence=2)
    return how, complete(curve, table, how.kind)


def shared(readings: Sequence[Reading]) -> ReadingKind | None:
    """The reading of every arm of one figure, digitised by one hand or one program; None when
    the arms do not tell one (each arm is then read as its clicks say).

    A figure's arms are read the same way, and readings that differ between them bias the
    hazard ratio more than either reading alone; but only the ends of a one-corner reading tell
    feet from tops (:func:`_which_corner`), often in one arm only. So the kind told with the
    most evidence is every arm's, unless arms told it as firmly and differently, or one arm is
    read along the path and another one corner per drop, both firmly."""
    corners = [r for r in readings if r.kind != "path"]
    if not corners or any(r.kind == "path" and r.evidence == 2 for r in readings):
        return None
    top = max(r.evidence for r in corners)
    kinds = {r.kind for r in corners if r.evidence == top}
    return kinds.pop() if len(kinds) == 1 else None


def tail_end(curve: Curve, table: AtRisk, hint: float | None = None,
             cap: float | None = None) -> tuple[float, str] | None:
    """How far follow-up goes when the curve ends in a drop (the end of its flat tail was not
    clicked), and why; None when the curve ends flat or at 0, or nothing says it goes on.

    Patients still at risk after the last drop are followed until the data cut-off, which the
    figure no longer shows. ``hint`` is the longest follow-up known from elsewhere (the other
    arm's curve: one calendar for both arms; a hint equal to the last drop's time says follow-up
    ends there, and nothing is assumed). Without it, or with a hint before the last drop, the
    table: a last printed row at
    ``T`` and no row one table step later (where the axis would have a tick) puts the end
    between the later of ``T`` and the last drop and that next row, taken at the middle.
    ``cap`` is the first time at which the other arms' table prints a row and this arm's does
    not: nobody of this arm was at risk there (a figure prints 0 or nothing), so the end lies
    before it, taken halfway.
    """
    t, s = curve.time, curve.survival
    if len(s) < 2 or s[-1] <= 0 or ends_flat(curve, table):
        return None
    last = float(t[-1])
    T, N = table.time.astype(float), table.n_at_risk.astype(int)
    if N[-1] == 0:
        return None  # the table says when the last patient left
    start = max(last, float(T[-1]))
    if cap is not None and cap <= start:
        return None
    found: tuple[float, str] | None = None
    if hint is not None and hint > last:
        found = float(max(hint, T[-1])), "the follow-up of the figure's other arms"
    elif hint is not None and hint == last:
        return None  # every arm ends here: the common end of follow-up
    elif len(T) >= 2:
        nxt = float(T[-1] + (T[-1] - T[-2]))  # where the table would print its next row
        if nxt > start:
            found = 0.5 * (start + nxt), (f"the middle of the time between the last drop or the "
                                          f"last printed number at risk ({N[-1]} at {T[-1]:g}) "
                                          f"and the table's next row ({nxt:g}), which is not "
                                          "printed")
    if found is not None and cap is not None and found[0] > cap:
        found = 0.5 * (start + cap), (f"the middle of the time between the last drop or the last "
                                      f"printed number at risk and {cap:g}, where the other arms' "
                                      "table prints a row and this arm's prints none")
    return found
