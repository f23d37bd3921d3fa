"""Integer reconstruction: events and censorings per at-risk interval that meet the table.

The default method of :func:`trialrecon.reconstruct.reconstruct`. It treats the printed numbers
at risk as exact integers and the digitised curve as a noisy measurement, and places each arm's
patients in one of two ways, the first that the input allows.

**Exact steps.** When the curve was read without error (a vector figure's step corners), the
height of every drop identifies its events and the number at risk: after a drop from ``S`` to
``S'`` with ``d`` events among ``n`` at risk, ``S' / S = 1 - d / n`` exactly, so ``n`` is the
integer ``d / (1 - S' / S)`` for the smallest ``d`` that makes it one, or a multiple. Which
multiple is chosen by a shortest path over all steps (dynamic programming) whose numbers at risk
never rise, fall by at least each step's events and meet every printed number at risk; among
those, the one nearest the interval solution below. Events are then exact (up to drops that
the curve and the table cannot tell apart, such as 1 of 10 and 2 of 20 late in follow-up); the
censorings between two steps are counted exactly and spread evenly between them, and after the
last step they go on at the censoring rate of the last printed interval, whoever is left being
censored at the end. The route is taken only when every drop resolves at the precision of the
input (its decimals, or the arithmetic's) and a chain exists.

**Interval solution.** Otherwise, per interval between printed numbers at risk
``[T_i, T_{i+1})``:

1. *How the curve was read* (:mod:`.reading`): along its path (corners of drops and points on
   the flat runs), or one click per drop at its foot or its top (every drop or every k-th).
   A one-corner reading is completed to the path it implies (the other corner of the drop
   at each click added), so that a gap's last drop falls at the foot that was clicked (or its
   first at the clicked top); the steps hidden between clicks stay spread over the gap. Click
   noise on flat or gently falling stretches is averaged out
   (:func:`trialrecon.curves.smooth_flat_runs`), and the level at a printed time is
   interpolated linearly along the path. When the curve ends in a drop (the end of its flat
   tail not clicked; judged on the drawn path, since the top of a last drop clicked at its top
   is followed by the tail), follow-up is assumed to go on as the other arm or the table shows
   (:func:`.reading.tail_end`).
2. *Curve against table.* With no one censored, the Kaplan-Meier ratio over the interval is
   exactly ``N_{i+1} / N_i``; a curve that falls further within the interval than that is a
   drop read early (time noise on a steep stretch), and the excess is moved past ``T_{i+1}``
   (said in the notes).
3. *Censorings and events.* With the curve's conditional drop ``q_j = 1 - S_j / S_{j-1}`` over
   each segment and the censorings spread with weights ``w_j`` (evenly in time; at the
   censoring marks when digitised, a mark being one censoring at least), the expected number at
   risk is linear in the interval's censoring count ``C``::

       e_j = q_j (n_{j-1} - C w_j / 2),    n_j = n_{j-1} - e_j - C w_j

   (half of a segment's censorings come before its events, on average), so the ``C`` that meets
   the next printed number ``n_end = N_{i+1}`` has a closed form, and the interval's events are
   ``N_i - N_{i+1} - C``. After the last printed number, censoring goes on at the censoring
   hazard of the interval before, events follow the curve, and whoever is left at the curve's
   last time is censored there (Guyot et al. 2012's assumption; in patient data rebuilt from
   published figures most censorings after the last printed row sit at the last time).
4. *Whole patients.* Events per interval are rounded to whole numbers that add up to the rounded
   total, the intervals that round up being those where one event moves the curve least
   (``(2f - 1) / N``, with ``f`` the fractional part); within an interval, cumulative rounding
   over its segments, each cumulative count within 0.7 of its expectation, at the rounding
   phases whose Kaplan-Meier curve follows the drawn levels most closely (where few are at
   risk, whether a censoring falls before or after a drop decides the level after it). Spread
   events and censorings sit at the middles of equal parts of their gap or interval.

When the total number of events is printed, the timing of censoring within every interval is
tilted (earlier or later: a linear density ``1 + beta (2x - 1)``, ``|beta| <= 1``, and the share
left to the end after the last row) until the total is met; a total out of that reach is said
to be so, with the range the curve and the table allow. Rows printed past the last digitised
point hold the curve flat to the last row, and a row of 0 at risk ends follow-up there.

This is a constrained reconstruction in the spirit of Titman AC, "Using quadratic programming
to reconstruct data from published survival and competing risks analyses", Statistics in
Medicine 2026 (doi 10.1002/sim.70474): the printed numbers at risk are constraints met exactly,
the curve is matched as closely as they allow, censoring marks are used where given. The
exact-step identification, the closed-form interval solution and the reading detection are this
project's; Guyot et al. (2012) remains available as ``method="guyot"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..curves import AtRisk, Curve, smooth_flat_runs
from . import reading
from .placement import Placement

#: Largest tie (events at one step) the exact-step route looks for.
MAX_TIE = 60
#: Largest uncertainty of an implied number at risk (patients) for a step to count as resolved.
RESOLVED = 0.2
#: Uncertainty of a level written at full floating-point precision.
FULL_PRECISION = 1e-12
#: Relative floor of the tolerance on an implied number at risk (float arithmetic).
FLOAT_TOLERANCE = 1e-9


@dataclass
class _Grid:
    """The cleaned curve with the printed at-risk times inserted, and the intervals.

    ``at_feet``: the clicks are the feet of the steps (the exact corners), so that the level
    before a printed time is the last click's; otherwise it is interpolated linearly.
    ``t, s``: the path (times non-decreasing, survival non-increasing); ``rows[i]``: the grid
    index of ``T[i]``, each inserted at the left limit of the curve there, so that a drop at
    ``T[i]`` belongs to the interval that starts at ``T[i]``. ``T, N`` are the rows kept; the
    last interval runs from ``T[-1]`` to ``end``, where no one is left at risk.
    """

    t: np.ndarray
    s: np.ndarray
    rows: np.ndarray
    T: np.ndarray
    N: np.ndarray
    end: float
    notes: list[str]
    at_feet: bool


def _level_before(t: np.ndarray, s: np.ndarray, x: float, at_feet: bool) -> float:
    """The curve's left limit at ``x``: between two clicks, the earlier click's level when the
    curve was read one click per step (its drop is at the later click), else linear."""
    k = int(np.searchsorted(t, x, side="left"))
    if k >= len(t):
        return float(s[-1])
    if k == 0:
        return float(s[0])
    if at_feet:  # a click is the foot of its step: the level before it is the last click's
        return float(s[k - 1])
    if t[k] == x:  # on a click: the top of a drop clicked at both ends, or a point of the path
        return float(s[k])
    f = (x - t[k - 1]) / (t[k] - t[k - 1])
    return float(s[k - 1] + f * (s[k] - s[k - 1]))


def _grid(curve: Curve, table: AtRisk, at_feet: bool) -> _Grid:
    t, s = curve.time.astype(float), curve.survival.astype(float)
    T, N = table.time.astype(float), table.n_at_risk.astype(int)
    notes: list[str] = []
    zero = np.flatnonzero(N == 0)
    if zero.size and zero[0] > 0:
        # A row of 0 at risk ends follow-up: everyone at risk at the row before leaves in
        # between (the curve held flat where it was not drawn); the rows after say nothing.
        z = int(zero[0])
        beyond = t > T[z]
        if beyond.any():
            notes.append(f"{int(beyond.sum())} point(s) after time {T[z]:g}, where the table "
                         "has no one at risk, were left out")
            t, s = t[~beyond], s[~beyond]
        T, N = T[:z + 1], N[:z + 1]
        end = float(T[z])
        if T[z - 1] > t[-1]:
            notes.append(f"at-risk table runs past the last point ({t[-1]:g}): curve held flat "
                         f"to {T[z]:g}, where no one remains at risk")
    else:
        end = max(float(t[-1]), float(T[-1]))
        if T[-1] > t[-1]:
            notes.append(f"at-risk table runs past the last point ({t[-1]:g}): curve held flat "
                         f"to {T[-1]:g}, where {N[-1]} remain at risk")
    if end > t[-1]:
        t, s = np.r_[t, end], np.r_[s, s[-1]]
    levels = np.array([_level_before(t, s, x, at_feet) for x in T])
    at = np.searchsorted(t, T, side="left")
    g_t, g_s = np.insert(t, at, T), np.insert(s, at, levels)
    rows = at + np.arange(len(T))
    pushed = _push_excess_fall(g_s, rows, N)
    if pushed:
        first, count, most = pushed
        notes.append(f"the curve falls further than the at-risk table allows in {count} "
                     f"interval(s), first from {T[first]:g}: the excess fall (at most {most:.3f} "
                     "of survival) is moved past the interval's end, where the table lets it "
                     "happen (a drop read a little early)")
    return _Grid(g_t, g_s, rows, T, N, end, notes, at_feet)


def _push_excess_fall(s: np.ndarray, rows: np.ndarray, N: np.ndarray
                      ) -> tuple[int, int, float] | None:
    """Raise, in place, the curve where it falls further within an interval than the table
    allows, and say where (first interval, how many, the largest raise) or None.

    With no one censored in ``[T_i, T_{i+1})`` the Kaplan-Meier ratio over it is exactly
    ``N_{i+1} / N_i``, so the curve cannot be below ``S(T_i) N_{i+1} / N_i`` within it; a fall
    past that floor is a drop read early (time noise on a steep stretch) and belongs after
    ``T_{i+1}``.
    """
    first, count, most = -1, 0, 0.0
    for i in range(len(rows) - 1):
        lo, hi = int(rows[i]), int(rows[i + 1])
        floor = s[lo] * N[i + 1] / N[i] if N[i] > 0 else 0.0
        low = s[lo:hi + 1] < floor - 1e-12
        if low.any():
            most = max(most, float(floor - s[lo:hi + 1].min()))
            s[lo:hi + 1] = np.maximum(s[lo:hi + 1], floor)
            first = i if first < 0 else first
            count += 1
    return (first, count, most) if count else None


def _drops(s: np.ndarray) -> np.ndarray:
    """Conditional drop ``1 - S_j / S_{j-1}`` of every segment (0 after the curve reaches 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = 1.0 - s[1:] / s[:-1]
    return np.where(s[:-1] > 0, np.clip(q, 0.0, 1.0), 0.0)


def _weights(t: np.ndarray, lo: int, hi: int, beta: float) -> np.ndarray:
    """Censoring weight of each segment of the interval ``t[lo]..t[hi]`` (sums to 1): evenly
    in time, tilted by ``beta`` (density ``1 + beta (2x - 1)`` over the interval's share
    ``x``)."""
    a, b = t[lo:hi], t[lo + 1:hi + 1]
    width = t[hi] - t[lo]
    if width <= 1e-12 * max(abs(float(t[hi])), 1.0):  # narrower than the times' resolution
        return np.zeros(hi - lo)
    x0, x1 = (a - t[lo]) / width, (b - t[lo]) / width
    # Integral of 1 + beta (2x - 1) over [x0, x1].
    return (x1 - x0) + beta * ((x1 ** 2 - x0 ** 2) - (x1 - x0))


def _mark_weights(t: np.ndarray, lo: int, hi: int, marks: np.ndarray) -> np.ndarray:
    """Share of the interval's censoring marks in each of its segments (zeros without marks)."""
    inside = marks[(marks > t[lo]) & (marks < t[hi])]
    if not inside.size:
        return np.zeros(hi - lo)
    a, b = t[lo:hi], t[lo + 1:hi + 1]
    count = np.searchsorted(inside, b, side="left") - np.searchsorted(inside, a, side="left")
    return count / inside.size


def _solve(q: np.ndarray, w: np.ndarray, n0: float, target: float
           ) -> tuple[float, np.ndarray, np.ndarray]:
    """Censorings ``C`` of one interval, expected events per segment, and the expected number
    at risk before each segment, such that the interval ends with ``target`` at risk.

    ``C`` is clipped to ``[0, n0 - target]``; the events are then scaled so that the interval's
    counts still add up (the curve gives way to the table).
    """
    a, b = n0, 0.0
    for qj, wj in zip(q.tolist(), w.tolist(), strict=True):
        a *= 1.0 - qj
        b = b * (1.0 - qj) + wj * (1.0 - qj / 2.0)
    total = n0 - target
    if b > 1e-12:
        c = min(max((a - target) / b, 0.0), total)
    else:  # no room for censoring inside the interval: it happens at the interval's end
        c = min(max(a - target, 0.0), total)
    e = np.empty(len(q))
    before = np.empty(len(q))
    n = n0
    for j, (qj, wj) in enumerate(zip(q.tolist(), w.tolist(), strict=True)):
        before[j] = n
        e[j] = qj * max(n - c * wj / 2.0, 0.0)
        n -= e[j] + c * wj
    events = total - c
    if e.sum() > 0:
        e *= events / e.sum()
    return c, e, before


def _solve_last(q: np.ndarray, dt: np.ndarray, n0: float, hazard: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The interval after the last printed number at risk: censoring goes on at ``hazard``
    (per patient at risk and unit time), events follow the curve, and whoever is left at the
    curve's last time is censored there (Guyot et al. 2012's assumption).

    Returns expected events and censorings per segment and the number at risk before each
    segment."""
    e, c, before = np.empty(len(q)), np.empty(len(q)), np.empty(len(q))
    n = n0
    for j, (qj, tj) in enumerate(zip(q.tolist(), dt.tolist(), strict=True)):
        before[j] = n
        cj = n * -math.expm1(-min(hazard * tj, 700.0)) if tj > 0 else 0.0
        ej = qj * max(n - cj / 2.0, 0.0)
        c[j], e[j] = cj, ej
        n = max(n - ej - cj, 0.0)
    return e, c, before


@dataclass
class _Solution:
    events: np.ndarray  # expected events per interval
    per_segment: list[np.ndarray]  # expected events per segment, per interval
    censored: list[np.ndarray]  # expected censorings per segment, per interval
    at_risk: list[np.ndarray]  # expected number at risk before each segment, per interval


def _solve_all(g: _Grid, beta: float, marks: np.ndarray | None) -> _Solution:
    q = _drops(g.s)
    bounds = list(g.rows) + [len(g.t) - 1]
    targets = list(g.N[1:]) + [0]
    events, per_segment, censored, at_risk = [], [], [], []
    hazard = 0.0
    last = len(g.rows) - 1
    for i in range(len(g.rows)):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        qi = q[lo:hi]
        if i == last:
            # Later censoring (beta > 0) means more left to the end; earlier, more on the way.
            scale = (1.0 - beta) / max(1.0 + beta, 1e-6)
            e, c, before = _solve_last(qi, np.diff(g.t[lo:hi + 1]), float(g.N[i]),
                                               hazard * scale)
            events.append(float(e.sum()))
        else:
            w = _weights(g.t, lo, hi, beta)
            total_c, e, before = _solve(qi, w, float(g.N[i]), float(targets[i]))
            if marks is not None:
                # A mark is one censoring at least; censorings beyond the marks are hidden
                # where marks overlap, taken as spread evenly over the interval.
                on_marks = _mark_weights(g.t, lo, hi, marks)
                visible = int(np.sum((marks > g.t[lo]) & (marks < g.t[hi])))
                share = min(1.0, visible / total_c) if total_c > 0 else 0.0
                w = share * on_marks + (1.0 - share) * w
                total_c, e, before = _solve(qi, w, float(g.N[i]), float(targets[i]))
            c = total_c * w
            events.append(float(g.N[i] - targets[i] - total_c))
            if i + 1 < len(g.rows):
                width = float(g.t[hi] - g.t[lo])
                exposure = float(np.sum((before - (e + c) / 2.0) * np.diff(g.t[lo:hi + 1])))
                hazard = total_c / exposure if exposure > 1e-12 and width > 0 else 0.0
        per_segment.append(e)
        censored.append(c)
        at_risk.append(before)
    return _Solution(np.array(events), per_segment, censored, at_risk)


def _whole(x: np.ndarray, total: int | None = None, phase: float = 0.5) -> np.ndarray:
    """Whole numbers whose cumulative sums are those of ``x`` rounded up from ``1 - phase`` of a
    unit (``phase`` 0.5: to the nearest, within one half), summing to ``total`` when given."""
    cum = np.cumsum(x)
    if total is not None and cum.size and cum[-1] > 0:
        cum = cum * (total / cum[-1])
    whole = np.floor(cum + phase)
    if total is not None and whole.size:
        whole[-1] = total
    return np.diff(np.r_[0.0, np.maximum.accumulate(whole)]).astype(int)


def _round_per_interval(events: np.ndarray, at_risk: np.ndarray, room: np.ndarray,
                        total: int | None) -> np.ndarray:
    """Whole events per interval, each within one of its expectation, adding up to ``total``
    (by default the rounded sum of the expectations).

    Which intervals round up is chosen where it distorts the curve least: rounding an
    interval's ``f`` (fractional part) up instead of down costs ``(1 - 2 f) / N`` of
    survival there, with ``N`` at risk, so the intervals with the largest ``(2 f - 1) / N`` go
    up (largest remainders, weighted). A total out of reach moves further, one event at a
    time, in the intervals with most at risk.
    """
    base = np.clip(np.floor(events), 0, room).astype(int)
    want = int(round(float(events.sum()))) if total is None else int(total)
    gain = np.where(base < room, (2.0 * (events - base) - 1.0) / np.maximum(at_risk, 1.0),
                    -np.inf)
    up = max(min(want - int(base.sum()), int(np.sum(base < room))), 0)
    out = base.copy()
    if up:
        out[np.argsort(-gain, kind="stable")[:up]] += 1
    for _ in range(abs(want - int(out.sum()))):
        step = 1 if want > out.sum() else -1
        free = (out < room) if step > 0 else (out > 0)
        if not free.any():
            break
        out[int(np.argmax(np.where(free, at_risk, -np.inf)))] += step
    return out


def _spread(start: np.ndarray, stop: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``count[k]`` times evenly over ``(start[k], stop[k])``: the middles of ``count[k]``
    equal parts."""
    count = np.asarray(count, dtype=int)
    seg = np.repeat(np.arange(len(count)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    rank = np.arange(int(count.sum())) - first + 0.5
    m = count[seg].astype(float)
    return start[seg] + (stop[seg] - start[seg]) * rank / np.maximum(m, 1.0)


def _tilt_for(g: _Grid, total_events: int, marks: np.ndarray | None
              ) -> tuple[float, _Solution, str | None]:
    """The tilt of censoring timing that brings the expected total to ``total_events``."""
    lo_sol, hi_sol = _solve_all(g, -1.0, marks), _solve_all(g, 1.0, marks)
    lo_total, hi_total = lo_sol.events.sum(), hi_sol.events.sum()
    if total_events <= lo_total + 0.5:
        note = (None if total_events >= lo_total - 0.5 else
                f"total events {total_events} could not be honoured: the curve and the at-risk "
                f"table allow {math.ceil(lo_total - 0.5)} to {math.floor(hi_total + 0.5)}")
        return -1.0, lo_sol, note
    if total_events >= hi_total - 0.5:
        note = (None if total_events <= hi_total + 0.5 else
                f"total events {total_events} could not be honoured: the curve and the at-risk "
                f"table allow {math.ceil(lo_total - 0.5)} to {math.floor(hi_total + 0.5)}")
        return 1.0, hi_sol, note
    a, b = -1.0, 1.0
    for _ in range(40):
        mid = 0.5 * (a + b)
        if _solve_all(g, mid, marks).events.sum() < total_events:
            a = mid
        else:
            b = mid
    beta = 0.5 * (a + b)
    return beta, _solve_all(g, beta, marks), None


def _place_interval_solution(g: _Grid, sol: _Solution, total: int | None,
                             marks: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Whole events and censorings per interval and segment, then their times."""
    leaving = g.N - np.r_[g.N[1:], 0]
    d_int = _round_per_interval(np.clip(sol.events, 0.0, None), g.N.astype(float), leaving,
                                total)
    c_int = leaving - d_int
    bounds = list(g.rows) + [len(g.t) - 1]
    starts = [g.t[int(lo):int(hi)] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    stops = [g.t[int(lo) + 1:int(hi) + 1] for lo, hi in zip(bounds[:-1], bounds[1:],
                                                            strict=True)]
    ev_count, cen_start, cen_stop, cen_count, cen_times = [], [], [], [], []
    last = len(g.rows) - 1
    level = 1.0  # the rebuilt Kaplan-Meier curve at the start of each interval
    for i in range(len(g.rows)):
        n_seg = len(starts[i])
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        spread = sol.censored[i]
        on_way = int(c_int[i])
        if i == last:  # the rest stay at risk to the end of follow-up
            on_way = min(int(round(float(spread.sum()))), int(c_int[i]))
            cen_times.append(np.full(int(c_int[i]) - on_way, g.end))
        if marks is not None and c_int[i]:
            hi_t = g.end if i == last else g.t[hi]
            on_marks = _censor_times(g.t[lo], hi_t, on_way, marks) if on_way else np.empty(0)
            cen_times.append(on_marks)
            d = _whole(sol.per_segment[i], int(d_int[i])) if d_int[i] else np.zeros(n_seg, int)
            k = np.bincount(np.clip(np.searchsorted(stops[i], on_marks), 0, max(n_seg - 1, 0)),
                            minlength=n_seg)[:n_seg]
        else:
            d, k = _follow_levels(sol.per_segment[i], int(d_int[i]), spread, on_way,
                                  float(g.N[i]), level, g.s[lo + 1:hi + 1])
            cen_start.append(starts[i])
            cen_stop.append(stops[i])
            cen_count.append(k)
        ev_count.append(d)
        level = _levels(d, k, float(g.N[i]), level)[-1] if n_seg else level
    events = _spread(np.concatenate(starts), np.concatenate(stops), np.concatenate(ev_count))
    if cen_count:
        cen_times.append(_spread(np.concatenate(cen_start), np.concatenate(cen_stop),
                                 np.concatenate(cen_count)))
    censored = np.concatenate(cen_times) if cen_times else np.empty(0)
    return events, censored


#: Phases of the rounding of expected events and censorings tried in each interval (0.5, to
#: the nearest, first: it stays where no other follows the curve better).
PHASES = (0.5, 0.3, 0.7)


def _levels(d: np.ndarray, c: np.ndarray, n0: float, level: float) -> np.ndarray:
    """The Kaplan-Meier level after each segment with ``d`` events and ``c`` censorings
    spread through it (half the censorings before the events), from ``n0`` at risk and
    ``level`` at the start. ``d`` events one at a time among ``n`` at risk multiply the level
    by ``(n - d) / n``."""
    before = n0 - np.cumsum(np.r_[0, (d + c)[:-1]])
    n = np.maximum(before - c / 2.0, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 0, (n - d) / n, 1.0)
    return level * np.cumprod(factor)


def _follow_levels(events: np.ndarray, n_events: int, censored: np.ndarray, n_censored: int,
                   n0: float, level: float, target: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Whole events and censorings per segment of one interval, summing to ``n_events`` and
    ``n_censored``, each within one of its expectation (:func:`_whole`), rounded with the
    phases (:data:`PHASES`) whose Kaplan-Meier curve follows the drawn levels ``target``
    most closely: where one patient's step is large (few at risk), whether a censoring falls
    before or after a drop decides the level after it."""
    zeros = np.zeros(len(events), int)
    ds = [_whole(events, n_events, p) for p in PHASES] if n_events else [zeros]
    cs = [_whole(censored, n_censored, p) for p in PHASES] if n_censored else [zeros]
    pairs = [(d, c) for d in ds for c in cs]
    # The first of equally close pairs: rounding to the nearest unless another does better.
    errors = [float(np.sum((_levels(d, c, n0, level) - target) ** 2)) for d, c in pairs]
    return pairs[int(np.argmin(np.round(errors, 15)))]


def _censor_times(lo: float, hi: float, count: int, marks: np.ndarray) -> np.ndarray:
    """``count`` censoring times in ``(lo, hi)``: one at each censoring mark within it (evenly
    chosen among them when there are fewer censorings than marks), the rest evenly in time
    (hidden where marks overlap)."""
    inside = marks[(marks > lo) & (marks < hi)]
    on_marks = min(count, inside.size)
    pick = np.floor((np.arange(on_marks) + 0.5) * inside.size / max(on_marks, 1)).astype(int)
    rest = _spread(np.array([lo]), np.array([hi]), np.array([count - on_marks]))
    return np.r_[inside[np.minimum(pick, inside.size - 1)], rest]


def place(curve: Curve, table: AtRisk, total_events: int | None = None,
          censor_marks: np.ndarray | None = None, follow_up_end: float | None = None,
          told: tuple[reading.ReadingKind, str] | None = None) -> Placement:
    """Event and censoring times of one arm by the integer method (see the module doc).

    Parameters
    ----------
    curve
        The cleaned curve (:func:`trialrecon.curves.clean_curve`).
    table
        The numbers at risk from time 0 (one row, the number of patients, when none was
        printed).
    total_events
        Total events of the arm, if printed.
    censor_marks
        Times of the censoring marks (+) digitised on the curve, if any, sorted.
    follow_up_end
        The longest follow-up known from elsewhere, for a curve whose flat tail was not
        digitised (:func:`.reading.tail_end`).
    told
        The reading when known, and who told it (``"stated"`` by the user, ``"other arms"``
        of the figure); else it is told from the clicks (:func:`.reading.detect`).

    Returns
    -------
    Placement
        Times of every patient's event or censoring, and notes on what could not be met.
    """
    marks = None if censor_marks is None else np.sort(np.asarray(censor_marks, float))
    # Exact levels are read as the corners of the steps, at their feet (the levels of exact
    # tops are the same, a drop early: only a user's statement tells them apart).
    if told != ("tops", "stated"):
        followed, tail_notes, assumed = _tail(curve, table, follow_up_end)
        steps = _grid(followed, table, at_feet=True)
        exact = exact_steps(followed, steps, _solve_all(steps, 0.0, None), marks)
        if exact is not None:  # a printed total that differs is said so by the caller
            return replace(exact, notes=tail_notes + exact.notes, tail_assumed=assumed)
    how, path = reading.drawn(curve, table, *(told or (None,)))
    # The tail is judged on the drawn path: the top of a last drop is followed by the tail.
    path, tail_notes, assumed = _tail(path, table, follow_up_end)
    g = _grid(smooth_flat_runs(path), table, at_feet=False)
    # The reading is said where it changed the placement (a corner added at the clicks).
    said = how.kind != "path" or how.per_step_intervals > 0
    notes = [*tail_notes, *[how.describe()] * said, *g.notes]
    if total_events is None:
        beta, sol, note = 0.0, _solve_all(g, 0.0, marks), None
    else:
        beta, sol, note = _tilt_for(g, total_events, marks)
    total = None if total_events is None or note else int(total_events)
    events, censored = _place_interval_solution(g, sol, total, marks)
    if note is not None:
        notes.append(note)
    elif total_events is not None and beta != 0.0:
        notes.append(f"censoring timing tilted ({beta:+.2f} on a scale of -1 earliest to +1 "
                     f"latest within each interval) to meet the total of {total_events} events")
    return Placement(events, censored, tuple(notes), total_said=note is not None,
                     reading=how.kind, tail_assumed=assumed)


def _tail(curve: Curve, table: AtRisk, follow_up_end: float | None
          ) -> tuple[Curve, tuple[str, ...], float | None]:
    """``curve`` with its last level held to the end of follow-up assumed when its flat tail
    was not digitised (:func:`.reading.tail_end`), the note saying so, and that end."""
    end = reading.tail_end(curve, table, follow_up_end)
    if end is None:
        return curve, (), None
    note = (f"the curve ends in a drop at {curve.time[-1]:g} (the end of its flat tail was not "
            f"digitised): follow-up assumed to go on to {end[0]:g}, from {end[1]}")
    return (Curve(np.r_[curve.time, end[0]], np.r_[curve.survival, curve.survival[-1]],
                  curve.fixes, curve.source), (note,), end[0])


# --------------------------------------------------------------------------- exact steps


def reading_precision(values: np.ndarray) -> float:
    """Half a unit of the last decimal to which ``values`` were written (``1e-12`` for full
    floating-point values): the uncertainty of a level read from the file."""
    for k in range(1, 13):
        scaled = values * 10.0 ** k
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6):
            return 0.5 * 10.0 ** -k
    return FULL_PRECISION


def _step_candidates(before: np.ndarray, after: np.ndarray, eps: float, n_max: int
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """The smallest ``(d, n)`` of every drop with ``after / before = 1 - d / n`` at the reading
    precision ``eps``, or None when a drop does not resolve (a noisy or rounded reading).

    A drop to 0 is returned as ``d = n = 0`` (everyone at risk has the event; how many follows
    from the chain). One pass per ``d`` over the drops not yet resolved keeps memory linear;
    the uncertainty of the implied ``n`` grows with ``d``, so a drop unresolved at ``d = 1``
    never resolves and ends the search at once."""
    to_zero = after <= 0
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # A level of a denormal size makes its drop unresolvable (an infinite uncertainty).
        q = np.where(to_zero, 1.0, 1.0 - after / before)
        dq = eps * (1.0 + after / before) / before + 1e-15
        unresolved = ~to_zero & ~(dq / q ** 2 <= RESOLVED)
    if unresolved.any():
        return None
    d0, n0 = np.zeros(len(q), int), np.zeros(len(q), int)
    todo = np.flatnonzero(~to_zero)
    for d in range(1, MAX_TIE + 1):
        x = d / q[todo]  # the implied number at risk
        dx = x * dq[todo] / q[todo]
        whole = np.round(x)
        ok = ((np.abs(x - whole) <= np.maximum(3.0 * dx, FLOAT_TOLERANCE * x))
              & (dx <= RESOLVED) & (whole >= d) & (whole <= n_max))
        d0[todo[ok]], n0[todo[ok]] = d, whole[ok].astype(int)
        todo = todo[~ok]
        if not todo.size:
            return d0, n0
    return None


def _chain(d0: np.ndarray, n0: np.ndarray, guide: np.ndarray, upper: np.ndarray,
           lower: np.ndarray, n_start: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The events and numbers at risk of every step: multiples ``m (d0, n0)`` that never rise,
    fall by at least each step's events and stay within the table's bounds
    (``lower <= n - d`` and ``n <= upper``), nearest ``guide`` in total; None if none exists.

    Where several chains meet the table (late, with few at risk, ``1 of 10`` and ``2 of 20``
    give the same drop) the curve and the table cannot tell them apart; the guide (the number
    at risk under evenly spread censoring) decides. Preferring the fewest events instead was
    worse on the corpus and on trials with real ties (Rossi's weekly times).

    A drop to 0 (``d0 = 0``) takes ``d = n``, the most the chain allows there."""
    k = len(d0)
    d0i, n0i = d0.astype(np.int64), n0.astype(np.int64)
    top = np.where(d0i > 0, np.minimum(upper, n_start) // np.maximum(n0i, 1), 0)
    if ((d0i > 0) & (top < 1)).any():
        return None
    # A step with a single multiple in bounds is forced; runs of them (most steps of a large
    # arm) are chained at once, with the same result as the step-by-step search.
    forced = (d0i > 0) & (top == 1)
    if (forced & (n0i - d0i < lower)).any():
        return None
    free_steps = np.flatnonzero(~forced)
    run_end = np.r_[free_steps, k][np.searchsorted(free_steps, np.arange(k))]
    # Shortest path: state = (d, n) of the step; a step follows if its n <= previous n - d.
    best: list[tuple[float, int, int, int]] = [(0.0, 0, n_start, -1)]  # cost, d, n, back
    back: list[list[tuple[float, int, int, int]]] = []
    j = 0
    while j < k:
        if forced[j]:
            e = int(run_end[j])
            d, n = d0i[j:e], n0i[j:e]
            if (n[1:] > n[:-1] - d[:-1]).any():
                return None
            entry = [(c, i) for i, (c, dd, nn, _) in enumerate(best) if nn - dd >= n[0]]
            if not entry:
                return None
            c, i = min(entry)
            back.append([(c, int(d[0]), int(n[0]), i)])
            back.extend([[(0.0, dd, nn, 0)] for dd, nn in zip(d[1:].tolist(), n[1:].tolist(),
                                                               strict=True)])
            best = [(c + float(np.abs(n - guide[j:e]).sum()), int(d[-1]), int(n[-1]), 0)]
            j = e
            continue
        if d0[j] == 0:
            cands = [(-1, -1)]  # resolved along the chain
        else:
            cands = [(m * int(d0[j]), m * int(n0[j])) for m in range(1, int(top[j]) + 1)
                     if m * int(n0[j]) - m * int(d0[j]) >= lower[j]]
            if not cands:
                return None
        room = [(c, n - d, i) for i, (c, d, n, _) in enumerate(best)]
        layer = []
        for d, n in cands:
            if d < 0:  # to zero: everyone left at risk, within the bound
                for c, free, i in room:
                    m = min(free, int(upper[j]))
                    if m >= 1 and m - m >= lower[j]:
                        layer.append((c + abs(m - guide[j]), m, m, i))
                continue
            ok = [(c, i) for c, free, i in room if free >= n]
            if ok:
                c, i = min(ok)
                layer.append((c + abs(n - guide[j]), d, n, i))
        if not layer:
            return None
        back.append(layer)
        best = layer
        j += 1
    pick = min(range(len(best)), key=lambda i: best[i][0])
    d_out, n_out = np.empty(k, int), np.empty(k, int)
    for j in range(k - 1, -1, -1):
        _, d, n, pick_prev = back[j][pick]
        d_out[j], n_out[j] = d, n
        pick = pick_prev
    return d_out, n_out


def _censor_gaps(starts: np.ndarray, stops: np.ndarray, counts: np.ndarray,
                 marks: np.ndarray | None) -> np.ndarray:
    """``counts[k]`` censoring times in each gap ``(starts[k], stops[k])``: at the censoring
    marks there when digitised (:func:`_censor_times`), otherwise evenly."""
    if marks is None:
        return _spread(starts, stops, counts)
    parts = [_censor_times(a, b, int(c), marks) for a, b, c in zip(starts, stops, counts,
                                                                   strict=True)]
    return np.concatenate(parts) if parts else np.empty(0)


def exact_steps(curve: Curve, g: _Grid, sol: _Solution,
                marks: np.ndarray | None = None) -> Placement | None:
    """Events read from exact step heights (see the module doc), or None when the curve's
    drops do not resolve at its reading precision or no chain meets the table. Censorings
    between steps fall at the censoring ``marks`` within each gap when they were digitised."""
    t, s = curve.time.astype(float), curve.survival.astype(float)
    drop = np.flatnonzero(s[1:] < s[:-1]) + 1
    n_start = int(g.N[0])
    if drop.size == 0:
        return None
    # Exact levels of a small arm can need few decimals (0.95, 0.9, ...): at the precision of
    # the file's decimals they would not resolve, at that of the arithmetic they do.
    found = _step_candidates(s[drop - 1], s[drop], reading_precision(s), n_start)
    if found is None and reading_precision(s) > FULL_PRECISION:
        found = _step_candidates(s[drop - 1], s[drop], FULL_PRECISION, n_start)
    if found is None:
        return None
    d0, n0 = found
    times = t[drop]
    if np.any(np.diff(times) <= 0):  # two drops at one time: not a step corner reading
        return None
    # Bounds from the table: rows at or before a step cap its n; rows after it floor n - d.
    T, N = g.T, g.N
    row_before = np.searchsorted(T, times, side="right") - 1
    upper = N[row_before]
    nxt = np.r_[N[1:], 0]
    lower = nxt[row_before]
    # A row at a step's own time counts those with time >= T, the step's n itself.
    guide_t = np.concatenate([g.t[lo:hi] for lo, hi in zip(
        g.rows, list(g.rows[1:]) + [len(g.t) - 1], strict=True)])
    guide_n = np.concatenate(sol.at_risk)
    guide = np.interp(times, guide_t, guide_n) if guide_t.size else np.full(len(times), n_start)
    chain = _chain(d0, n0, guide, upper, lower, n_start)
    if chain is None:
        return None
    d, n = chain
    on_row = np.isin(times, T)
    if on_row.any() and not np.array_equal(n[on_row], N[np.searchsorted(T, times[on_row])]):
        return None
    # Censorings: between consecutive boundaries (steps and rows), the fall in the number at
    # risk that the events do not explain, spread evenly; the last at the end of follow-up.
    bt = np.r_[times, T]
    is_step = np.r_[np.ones(len(times), bool), np.zeros(len(T), bool)]
    order = np.lexsort((is_step, bt))  # at one time the row (time >= T) comes first
    bt, is_step = bt[order], is_step[order]
    level_after = np.r_[n - d, N][order]  # at risk just after each boundary
    level_at = np.r_[n, N][order]  # at risk at each boundary (time >= it)
    starts, stops, counts = [], [], []
    for k in range(len(bt)):
        nxt_level = level_at[k + 1] if k + 1 < len(bt) else 0
        gone = int(level_after[k] - nxt_level)
        if gone < 0:
            return None
        if gone:
            starts.append(bt[k])
            stops.append(bt[k + 1] if k + 1 < len(bt) else g.end)
            counts.append(gone)
    tail = bool(counts) and stops[-1] == g.end
    body = slice(0, len(counts) - 1 if tail else len(counts))
    cens = _censor_gaps(np.array(starts[body]), np.array(stops[body]),
                        np.array(counts[body], int), marks)
    if tail:
        # After the last boundary no step falls: censoring goes on at the hazard of the last
        # printed interval and whoever is left is censored at the end (as the interval route).
        lo = float(T[-2]) if len(T) > 1 else 0.0
        hi = float(T[-1]) if len(T) > 1 else 0.0
        exposure, lost = 0.0, 0
        for k in range(len(bt)):
            a = max(float(bt[k]), lo)
            b = min(float(bt[k + 1]) if k + 1 < len(bt) else g.end, hi)
            if b > a:
                nxt_level = level_at[k + 1] if k + 1 < len(bt) else 0
                exposure += 0.5 * float(level_after[k] + nxt_level) * (b - a)
        if len(T) > 1:
            lost = int(np.sum((cens >= lo) & (cens < hi)))
        hazard = lost / exposure if exposure > 0 else 0.0
        width, count = g.end - starts[-1], counts[-1]
        on_way = min(count, int(round(float(level_after[-1])
                                      * (1.0 - math.exp(-hazard * width)))))
        cens = np.r_[cens, _censor_gaps(np.array([starts[-1]]), np.array([g.end]),
                                        np.array([on_way]), marks),
                     np.full(count - on_way, g.end)]
    return Placement(np.repeat(times, d), cens, tuple(g.notes), exact_steps=True,
                     reading="exact")
