"""Guyot et al. (2012): patient data from a digitised Kaplan-Meier curve, the published way.

Reference
---------
Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Medical Research
Methodology 2012;12:9.

The algorithm, per interval between two published numbers at risk:

1. guess the number censored in the interval from the published numbers at risk and the drop
   in survival, ``round(n_i S(t_{i+1}) / S(t_i) - n_{i+1})``;
2. spread those censorings evenly over the interval and place them between digitised points;
3. derive the events at each digitised point from the drop of the curve since the last event,
   ``d_k = round(n_k (1 - S_k / KM_last))``, and the number at risk that follows;
4. change the number censored by the miss at the next published number at risk and repeat
   until the estimate meets it (or cannot, when no censoring is left to remove).

After the last published number at risk, censoring goes on at the average rate of the earlier
intervals; when the total number of events is known, that last censoring is adjusted until the
events match. Events sit at the digitised step times, censorings at the midpoints between
digitised points, and patients still at risk at the end are censored at the last time.

When the at-risk table runs past the last digitised point (a flat tail: no step is drawn after
the last event), its final row is the end of follow-up: a point is added there at the last
survival, and the final number at risk is met there. Rows between the last digitised point and
that end hold no step at which to place losses and are dropped, each reported. This matches
reconstructKM (Sun, Rich and Wei 2018), whose KEYNOTE-189 output is the reference of the tests.
"""

from __future__ import annotations

import math

import numpy as np

from ..curves import AtRisk, Curve
from .placement import Placement

#: A safety net: Guyot's loop moves the censoring by the miss each pass and settles in a few;
#: a digitisation inconsistent with its table could otherwise alternate forever.
MAX_PASSES = 1000


def _bins(t: list[float], lo: int, hi_break: int, grid: np.ndarray | None = None
          ) -> tuple[int, float, object, bool]:
    """What :func:`_bin_evenly` needs of (t[lo], t[hi_break]) whatever the count: the number
    of gaps, the interval's width, and each later break plus R's fuzz less the first break
    (an array for long intervals, where numpy pays off, else a list). ``grid``, if given, is
    ``t`` as an array."""
    breaks = t[lo:hi_break + 1]
    m = len(breaks) - 1
    if m > 64:
        b = np.asarray(breaks) if grid is None else grid[lo:hi_break + 1]
        fuzz = 1e-7 * float(np.median(np.diff(b)))
        return m, b[-1] - b[0], b[1:] + fuzz - b[0], True
    gaps = sorted(b - a for a, b in zip(breaks, breaks[1:], strict=False))
    fuzz = 1e-7 * (gaps[m // 2] if m % 2 else 0.5 * (gaps[m // 2 - 1] + gaps[m // 2]))
    start = breaks[0]
    return m, breaks[-1] - start, [b + fuzz - start for b in breaks[1:]], False


def _spread(bins: tuple[int, float, object, bool], count: int) -> list[int]:
    """:func:`_bin_evenly` from the interval's :func:`_bins`."""
    m, width, shifted, long = bins
    step = width / (count + 1)
    if not step > 0:  # an interval narrower than float resolution
        return [count] + [0] * (m - 1)
    if long:  # np.clip(floor, 0, count) and np.diff(prepend=0), without their wrappers
        upto = np.minimum(np.maximum(np.floor(shifted / step), 0), count).astype(int)
        out = upto.copy()
        np.subtract(upto[1:], upto[:-1], out=out[1:])
        return out.tolist()
    floor = math.floor
    if count >= 0:  # min(max(floor, 0), count) without the calls
        upto = [0 if (f := floor(x / step)) < 0 else count if f > count else f
                for x in shifted]
    else:
        upto = [min(max(floor(x / step), 0), count) for x in shifted]
    return [b - a for a, b in zip([0, *upto], upto, strict=False)]


def _bin_evenly(t: list[float], lo: int, hi_break: int, count: int) -> list[int]:
    """Spread ``count`` censorings evenly over (t[lo], t[hi_break]); count them per gap.

    Gap ``k`` is (t[lo+k], t[lo+k+1]], right-closed as R's ``hist`` bins them, with R's fuzz
    of 1e-7 times the median gap, so that a censoring on a digitised time falls where the
    reference implementations put it. The censoring times are evenly spaced, so the number
    at or below each break is a floor division rather than a search. Guyot's loop spreads
    several counts over one interval: :func:`_bins` is what they share.
    """
    return _spread(_bins(t, lo, hi_break), count)


def _layout(curve: Curve, table: AtRisk, total_events: int | None
            ) -> tuple[list[float], list[float], list[int], list[int], list[int], list[str],
                       np.ndarray]:
    """Match at-risk rows to digitised points: ``lower[i]`` is the first point of interval i;
    the times are also returned as an array (``grid``)."""
    feet_t, feet_s = curve.feet()
    t, s = feet_t.tolist(), feet_s.tolist()
    # The times as the searches below would convert the list (converted once).
    grid = feet_t if feet_t.dtype == np.float64 else np.asarray(t)
    times, counts = table.time.tolist(), table.n_at_risk.tolist()
    notes = []
    beyond = [j for j, x in enumerate(times) if x > t[-1]]
    if beyond:
        if total_events is None:
            end = beyond[-1]
            dropped = beyond[:-1]
            t.append(times[end])
            s.append(s[-1])
            grid = np.asarray(t)
            notes.append(f"at-risk table runs past the last point ({feet_t[-1]:g}): curve "
                         f"held flat to {times[end]:g}, where {counts[end]} remain at risk")
        else:
            dropped = beyond
        if dropped:
            notes.append("at-risk rows at " + ", ".join(f"{times[j]:g}" for j in dropped)
                         + " dropped: no digitised step after the last point to place losses"
                         + ("" if total_events is None else " (total events given instead)"))
        times = [x for j, x in enumerate(times) if j not in dropped]
        counts = [x for j, x in enumerate(counts) if j not in dropped]
    # A row whose interval holds no digitised point sits on a flat stretch of the curve:
    # a point is added there at the survival in force, so that its number at risk is kept.
    flat = [x for x in times if x <= t[-1]]
    starts = np.searchsorted(grid, flat, side="left")
    ends = np.append(starts[1:], len(t))
    missing = [x for x, a, b in zip(flat, starts, ends, strict=True) if a >= b]
    if missing:
        at = np.searchsorted(grid, missing, side="right") - 1
        for x, k in sorted(zip(missing, at.tolist(), strict=True), reverse=True):
            t.insert(k + 1, x)
            s.insert(k + 1, s[k])
        grid = np.asarray(t)
        notes.append("points added on flat stretches at at-risk time(s) "
                     + ", ".join(f"{x:g}" for x in missing) + " (no digitised point there)")
    lower = np.searchsorted(grid, times, side="left").tolist()
    nar = [int(x) for x in counts]
    upper = [x - 1 for x in lower[1:]] + [len(t) - 1]
    return t, s, lower, upper, nar, notes, grid


def _sweep(s: list[float], d: list[int], cen: list[int], km: list[float], lo: int, hi: int,
           n_k: int, last: int, clip: bool) -> tuple[int, int]:
    """Guyot's step 3 over the points ``lo..hi`` of one interval, ``n_k`` at risk at ``lo``
    and the last event before it at ``last``: fills ``d`` (events per point), ``km`` at each
    point with events (the only points where it is read again), ``cen`` where clipped; returns
    the number at risk after ``hi`` and the last point with events.

    Per point ``k``: ``d_k = max(round(n_k (1 - s_k / KM_last)), 0)`` (none at point 0 or once
    the curve is at 0), ``KM_k = KM_last (1 - d_k / n_k)``, and ``n_k - d_k - cen_k`` at risk
    after it (with ``clip``, never below 0: fewer censorings there).
    """
    km_last = km[last]
    if lo == 0 and hi >= 0:  # the origin: no event
        d[0] = 0
        km[0] = 1.0
        nxt = n_k - cen[0]
        if clip and nxt < 0:
            nxt = 0
            cen[0] = n_k
        n_k = nxt
        km_last = km[last]
        lo = 1
    for k in range(lo, hi + 1):
        if km_last == 0:
            d_k = 0
        else:
            # A digitised point a hair above the reconstructed curve would give a negative
            # count; the reference implementations fail there, so it is taken as none.
            d_k = round(n_k * (1.0 - s[k] / km_last))
            if d_k < 0:
                d_k = 0
        d[k] = d_k
        nxt = n_k - d_k - cen[k]
        if clip and nxt < 0:
            # No. at risk cannot fall below zero: fewer censorings there.
            nxt = 0
            cen[k] = n_k - d_k
        if d_k:
            last = k
            if n_k:
                km_last = km_last * (1.0 - d_k / n_k)
            km[k] = km_last
        n_k = nxt
    return n_k, last


def _guyot(t: list[float], s: list[float], lower: list[int], upper: list[int], nar: list[int],
           total_events: int | None, grid: np.ndarray | None = None
           ) -> tuple[list[int], list[int], list[int]]:
    """Guyot's algorithm on prepared inputs; returns events and censorings per point, and the
    published numbers at risk as the algorithm could honour them. ``grid``, if given, is ``t``
    as an array."""
    n_int, n_t = len(nar), upper[-1] + 1
    nar = list(nar)
    n_hat = [nar[0] + 1] * (n_t + 1)  # at risk before each point (read at interval ends only)
    d = [0] * n_t
    cen = [0] * n_t
    km = [1.0] * n_t
    censored = [0] * n_int
    last_event = [0] * n_int

    bins: dict[tuple[int, int], tuple] = {}

    def sweep(i: int, last: int, *, clip: bool) -> int:
        """Events and numbers at risk over interval i given its censorings."""
        lo, hi = lower[i], upper[i]
        n_hat[hi + 1], last = _sweep(s, d, cen, km, lo, hi, nar[i], last, clip)
        return last

    def place(i: int, count: int, stop: int) -> None:
        lo = lower[i]
        if count <= 0 or stop <= lo:
            cen[lo:stop] = [0] * (stop - lo)
        else:
            key = (lo, stop)
            if key not in bins:
                bins[key] = _bins(t, lo, stop, grid)
            cen[lo:stop] = _spread(bins[key], count)

    for i in range(n_int - 1):
        lo, nxt = lower[i], lower[i + 1]
        target = nar[i + 1]
        censored[i] = 0 if s[lo] == 0 else round(nar[i] * s[nxt] / s[lo] - target)
        for _ in range(MAX_PASSES):
            if censored[i] <= 0:
                censored[i] = 0
            place(i, censored[i], nxt)
            last = sweep(i, last_event[i], clip=False)
            censored[i] += n_hat[nxt] - target
            if not (n_hat[nxt] > target or (n_hat[nxt] < target and censored[i] > 0)):
                break
        if n_hat[nxt] < target:
            nar[i + 1] = n_hat[nxt]
        last_event[i + 1] = last

    # Last interval: censoring at the average rate of the earlier ones.
    i, lo, hi = n_int - 1, lower[-1], upper[-1]
    if n_int > 1:
        span = t[upper[-2]] - t[lower[0]]
        guess = sum(censored[:-1]) * (t[hi] - t[lo]) / span if span > 0 else 0.0
        censored[i] = round(min(guess, nar[i]))  # min first: a tiny span gives inf
    place(i, censored[i], hi)
    sweep(i, last_event[i], clip=True)

    if total_events is not None:
        before = sum(d[: lo])
        if n_int > 1 and before >= total_events:
            # Events already too many: nothing happens after the last published number.
            d[lo: hi + 1] = [0] * (hi + 1 - lo)
            cen[lo: hi] = [0] * (hi - lo)
            n_hat[lo + 1: hi + 2] = [nar[i]] * (hi + 1 - lo)
        else:
            for _ in range(MAX_PASSES):
                total = sum(d)
                if not (total > total_events or (total < total_events and censored[i] > 0)):
                    break
                censored[i] = max(censored[i] + total - total_events, 0)
                place(i, censored[i], hi)
                sweep(i, last_event[i], clip=True)
    return d, cen, nar


def place(curve: Curve, table: AtRisk, total_events: int | None = None) -> Placement:
    """Event and censoring times of one arm by Guyot's algorithm (see the module doc).

    Parameters
    ----------
    curve
        The cleaned curve; only the foot of each vertical drop is used (Guyot's clicks are one
        per time).
    table
        The numbers at risk, from time 0 (a table of one row, the number of patients, when
        none was printed).
    total_events
        Total events of the arm, if published: sets the censoring after the last number at
        risk.
    """
    t, s, lower, upper, nar, notes, tt = _layout(curve, table, total_events)
    d, cen, honoured = _guyot(t, s, lower, upper, nar, total_events, tt)
    d_arr, c_arr = np.asarray(d), np.asarray(cen)
    n = int(table.n_at_risk[0])
    remaining = n - int(d_arr.sum()) - int(c_arr[:-1].sum())
    if any(h != p for h, p in zip(honoured, nar, strict=True)):
        notes.append("published numbers at risk that the curve could not reach (too few "
                     "events or censorings) were lowered to the estimate")
    if remaining < 0 or (d_arr < 0).any() or (c_arr < 0).any():
        # A curve that contradicts its table can drive the counts below zero: nothing to place.
        return Placement(np.empty(0), np.empty(0), tuple(notes), overfull=True)
    return Placement(event_times=np.repeat(tt, d_arr),
                     censor_times=np.concatenate((np.repeat((tt[:-1] + tt[1:]) / 2, c_arr[:-1]),
                                                  np.full(remaining, tt[-1]))),
                     notes=tuple(notes))
