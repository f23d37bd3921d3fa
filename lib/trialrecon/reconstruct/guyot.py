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


def _bin_evenly(t: list[float], lo: int, hi_break: int, count: int) -> list[int]:
    """Spread ``count`` censorings evenly over (t[lo], t[hi_break]); count them per gap.

    Gap ``k`` is (t[lo+k], t[lo+k+1]], right-closed as R's ``hist`` bins them, with R's fuzz
    of 1e-7 times the median gap, so that a censoring on a digitised time falls where the
    reference implementations put it. The censoring times are evenly spaced, so the number
    at or below each break is a floor division rather than a search.
    """
    breaks = t[lo:hi_break + 1]
    m = len(breaks) - 1
    if m > 64:  # long intervals: numpy pays off
        b = np.asarray(breaks)
        fuzz = 1e-7 * float(np.median(np.diff(b)))
        step = (b[-1] - b[0]) / (count + 1)
        if not step > 0:
            return [count] + [0] * (m - 1)
        upto = np.clip(np.floor((b[1:] + fuzz - b[0]) / step), 0, count).astype(int)
        return np.diff(upto, prepend=0).tolist()
    gaps = sorted(b - a for a, b in zip(breaks, breaks[1:], strict=False))
    fuzz = 1e-7 * (gaps[m // 2] if m % 2 else 0.5 * (gaps[m // 2 - 1] + gaps[m // 2]))
    start, step = breaks[0], (breaks[-1] - breaks[0]) / (count + 1)
    if not step > 0:  # an interval narrower than float resolution
        return [count] + [0] * (m - 1)
    out, below = [], 0
    for b in breaks[1:]:
        upto = min(max(math.floor((b + fuzz - start) / step), 0), count)
        out.append(upto - below)
        below = upto
    return out


def _layout(curve: Curve, table: AtRisk, total_events: int | None
            ) -> tuple[list[float], list[float], list[int], list[int], list[int], list[str]]:
    """Match at-risk rows to digitised points: ``lower[i]`` is the first point of interval i."""
    feet_t, feet_s = curve.feet()
    t, s = feet_t.tolist(), feet_s.tolist()
    times, counts = table.time.tolist(), table.n_at_risk.tolist()
    notes = []
    beyond = [j for j, x in enumerate(times) if x > t[-1]]
    if beyond:
        if total_events is None:
            end = beyond[-1]
            dropped = beyond[:-1]
            t.append(times[end])
            s.append(s[-1])
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
    starts = np.searchsorted(t, flat, side="left")
    ends = np.append(starts[1:], len(t))
    missing = [x for x, a, b in zip(flat, starts, ends, strict=True) if a >= b]
    if missing:
        at = np.searchsorted(t, missing, side="right") - 1
        for x, k in sorted(zip(missing, at.tolist(), strict=True), reverse=True):
            t.insert(k + 1, x)
            s.insert(k + 1, s[k])
        notes.append("points added on flat stretches at at-risk time(s) "
                     + ", ".join(f"{x:g}" for x in missing) + " (no digitised point there)")
    lower = np.searchsorted(t, times, side="left").tolist()
    nar = [int(x) for x in counts]
    upper = [x - 1 for x in lower[1:]] + [len(t) - 1]
    return t, s, lower, upper, nar, notes


def _guyot(t: list[float], s: list[float], lower: list[int], upper: list[int], nar: list[int],
           total_events: int | None) -> tuple[list[int], list[int], list[int]]:
    """Guyot's algorithm on prepared inputs; returns events and censorings per point, and the
    published numbers at risk as the algorithm could honour them."""
    n_int, n_t = len(nar), upper[-1] + 1
    nar = list(nar)
    n_hat = [nar[0] + 1] * (n_t + 1)
    d = [0] * n_t
    cen = [0] * n_t
    km = [1.0] * n_t
    censored = [0] * n_int
    last_event = [0] * n_int

    def sweep(i: int, last: int, *, clip: bool) -> int:
        """Events and numbers at risk over interval i given its censorings."""
        n_hat[lower[i]] = nar[i]
        for k in range(lower[i], upper[i] + 1):
            n_k = n_hat[k]
            if k == 0 or km[last] == 0:
                d[k], km[k] = 0, (km[last] if k else 1.0)
            else:
                # A digitised point a hair above the reconstructed curve would give a negative
                # count; the reference implementations fail there, so it is taken as none.
                d[k] = max(round(n_k * (1.0 - s[k] / km[last])), 0)
                km[k] = km[last] * (1.0 - d[k] / n_k) if n_k else km[last]
            nxt = n_k - d[k] - cen[k]
            if clip and nxt < 0:
                # No. at risk cannot fall below zero: fewer censorings there.
                nxt, cen[k] = 0, n_k - d[k]
            n_hat[k + 1] = nxt
            if d[k]:
                last = k
        return last

    def place(i: int, count: int, stop: int) -> None:
        lo = lower[i]
        if count <= 0 or stop <= lo:
            cen[lo:stop] = [0] * (stop - lo)
        else:
            cen[lo:stop] = _bin_evenly(t, lo, stop, count)

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
    t, s, lower, upper, nar, notes = _layout(curve, table, total_events)
    d, cen, honoured = _guyot(t, s, lower, upper, nar, total_events)
    tt = np.asarray(t)
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
