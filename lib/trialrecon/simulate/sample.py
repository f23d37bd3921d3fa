"""Pseudo patients that follow a fitted model and meet the print exactly where it can be met.

Construction (:func:`construct`)
    Deterministic expected-count samples: with ``E_a(t)`` the expected number of events of arm
    ``a`` by ``t`` (``n_a int G dF_a``) and ``K_a(t)`` the expected number censored
    (``n_a int S_a d(1 - G)``), event ``k`` of ``d`` falls where ``E_a = (k - 1/2) E_a(inf) / d``
    and censoring ``k`` likewise on ``K_a``. The numbers at risk then track ``n_a S_a G`` and
    the Kaplan-Meier curve tracks ``S_a`` within a step, with no sampling noise.
Anchoring (:func:`anchor`)
    A Kaplan-Meier median, a Brookmeyer-Crowley bound or a landmark rate depends on which
    event crosses a level, not on when it happens. A monotone warp of each arm's time axis
    (piecewise linear in log time) moves those events onto the printed times; it keeps the
    order of the arm's events and censorings, so every step height stays as it was.
Cox calibration (:func:`calibrate`)
    The Cox estimate depends on how the arms interleave. A second warp, zero at every anchor,
    shifts the experimental arm later and the control arm earlier between the anchors by a
    factor ``exp(kappa phi(t))``; the log HR falls steadily with ``kappa`` in steps far finer
    than its rounding, and is bisected onto the centre of the printed HR/CI/p box
    (:func:`~trialrecon.simulate.targets.cox_box`). The standard error follows the events;
    if it misses, events are added to or taken from the arms one at a time.
Follow-up
    The reverse Kaplan-Meier median is one censoring time; it is moved onto the printed
    median follow-up when that keeps its arm's order of events and censorings. The warps
    may stretch the tail; a last map of both arms' time axes, the identity up to the latest
    printed time and linear after it, brings the longest follow-up within the bound the
    print allows (:func:`within`). It keeps the order of all patients of both arms, so the
    Kaplan-Meier steps and the Cox fit stay as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..analysis import HazardRatio, KMSteps, cox_two_arm, km_steps, reverse_km_median
from .model import Censoring, PiecewiseHazards
from .targets import EVENTS_TOLERANCE, ArmTargets, Targets, best_log_hr, cox_aim

#: Arm: times (months) and event indicators.
Arm = tuple[np.ndarray, np.ndarray]


def construct(model: PiecewiseHazards, cens: Censoring, tg: Targets,
              extra: tuple[int, int] = (0, 0), cells: int = 4000) -> list[Arm]:
    """Expected-count pseudo patients of both arms (see the module docstring)."""
    t = cens.last * (np.arange(cells + 1) / cells) ** 1.6
    g = cens.survival(t)
    g_mid = 0.5 * (g[1:] + g[:-1])
    out = []
    for a, n in enumerate(tg.n):
        s = model.survival(t, a)
        s_mid = 0.5 * (s[1:] + s[:-1])
        e_cum = np.r_[0.0, np.cumsum(n * g_mid * (s[:-1] - s[1:]))]
        k_cum = np.r_[0.0, np.cumsum(n * s_mid * (g[:-1] - g[1:]))]
        d = int(min(max(round(e_cum[-1]) + extra[a], 0), n))
        c = n - d
        times = [np.interp((np.arange(d) + 0.5) / max(d, 1) * e_cum[-1], e_cum, t),
                 np.interp((np.arange(c) + 0.5) / max(c, 1) * k_cum[-1], k_cum, t)]
        out.append(_follow_curve(model, a, times[0], times[1],
                                 keep_count=tg.arms[a].events is not None))
    return out


def _follow_curve(model: PiecewiseHazards, arm: int, events: np.ndarray,
                  censorings: np.ndarray, passes: int = 3, keep_count: bool = False) -> Arm:
    """Re-time the events so that the Kaplan-Meier curve meets the model at each step.

    Expected counts make the Nelson-Aalen estimate follow ``-log S``; the Kaplan-Meier
    product falls faster where few are at risk. Event ``k`` is moved to where the model
    passes the geometric middle of the step it makes; censorings stay.
    """
    time = np.r_[events, censorings]
    event = np.r_[np.ones(len(events), dtype=int), np.zeros(len(censorings), dtype=int)]
    for _ in range(passes):
        order = np.argsort(time, kind="stable")
        time, event = time[order], event[order]
        at_risk = len(time) - np.arange(len(time))
        steps = np.where(event == 1, 1.0 - 1.0 / at_risk, 1.0)
        before = np.r_[1.0, np.cumprod(steps)[:-1]]
        # Geometric middle of each step; the last patient's step (to 0) counts as a halving.
        mid = (before * np.sqrt(np.maximum(steps, 0.25)))[event == 1]
        time = time.copy()
        time[event == 1] = model.quantile(np.maximum(mid, 1e-12), arm)
    order = np.argsort(time, kind="stable")
    time, event = np.maximum(time[order], 1e-6), event[order].copy()
    # Whoever is still followed at the cut-off is censored there: the last patient of an
    # arm is a censoring, so that the curve ends at its level instead of falling to 0
    # (unless the arm's events were printed: the count comes first).
    if len(event) > 1 and event[-1] == 1 and len(censorings) and not keep_count:
        event[-1] = 0
    return time, event


@dataclass(frozen=True)
class Anchors:
    """Source and printed times of an arm's anchored events, both increasing (months)."""

    source: np.ndarray
    target: np.ndarray


def _anchors(arm: Arm, at: ArmTargets) -> Anchors:
    """Which of the arm's events must sit at which printed time.

    Priority when two anchors disagree in order: median, then its interval, then landmarks.
    """
    time, event = arm
    km = km_steps(time, event)
    wanted: list[tuple[int, float, float]] = []  # (priority, source, target)
    if len(km.times) == 0:
        return Anchors(np.empty(0), np.empty(0))
    if at.median is not None and math.isfinite(at.median):
        below = np.flatnonzero(km.survival <= 0.5)
        if len(below):
            wanted.append((0, km.times[below[0]], at.median))
    lower, upper = km.bands(at.median_level)
    for bound, band in ((at.median_lower, lower), (at.median_upper, upper)):
        if bound is not None and math.isfinite(bound):
            below = np.flatnonzero(band <= 0.5)
            if len(below):
                wanted.append((1, km.times[below[0]], bound))
    for t, p, _ in _landmark_levels(at):
        levels = np.r_[1.0, km.survival]
        j = int(np.argmin(np.abs(levels - p)))  # j events have happened by the landmark
        lo = km.times[j - 1] if j > 0 else 0.0
        hi = km.times[j] if j < len(km.times) else time.max() * 1.05
        source = math.sqrt(max(lo, 1e-3 * hi) * hi)
        wanted.append((2, source, t))
        # A median or CI bound printed at the landmark's own time goes just after the
        # landmark if its event comes after the landmark's level, just before if it comes
        # before, within the bound's rounding: on the same time, the warp would tie them and
        # every censoring between them, and the tied censorings would count as at risk.
        tol = (at.median_tol, min(at.bound_tols))
        wanted = [(k, s, d + math.copysign(0.8 * tol[k], s - source))
                  if k < 2 and d == t and s != source else (k, s, d) for k, s, d in wanted]
    kept: list[tuple[float, float]] = []
    for _, source, target in sorted(wanted):
        # Order must agree; two events may share a printed time (visits on a schedule tie
        # progression times, as "2.0 (1.6-2.0)" shows), one event may not take two times.
        if all((source - s) * (target - d) > 0 or (source != s and target == d)
               for s, d in kept):
            kept.append((source, target))
    kept.sort()
    return Anchors(np.array([s for s, _ in kept]), np.array([d for _, d in kept]))


def _log_shift(time: np.ndarray, anchors: Anchors, end: float) -> np.ndarray:
    """Log of the warp factor: through the anchors, tapering to 0 at time 0 and at ``end``.

    Before the first anchor the shift grows linearly in time, so that a late anchor does
    not move the whole early follow-up.
    """
    if len(anchors.source) == 0:
        return np.zeros_like(time)
    xs = np.log(anchors.source)
    ys = np.log(anchors.target) - xs
    last_target = anchors.target[-1]
    if end > anchors.source[-1] and end > last_target:
        xs, ys = np.r_[xs, math.log(end)], np.r_[ys, 0.0]
    shift = np.interp(np.log(time), xs, ys)
    early = time < anchors.source[0]
    shift[early] = ys[0] * time[early] / anchors.source[0]
    return shift


def _bump(time: np.ndarray, anchors: Anchors, end: float) -> np.ndarray:
    """A profile ``phi`` in [0, 1], zero at every anchor, for the Cox calibration warp.

    In log time: 1 up to one unit before the first anchor, falling to 0 at it; between
    consecutive anchors, and from the last anchor to the end, a tent peaking half way at
    the gap's width (at most 1); beyond that last peak it stays at its height.
    """
    if len(anchors.source) == 0:
        return np.ones_like(time)
    knots = np.log(anchors.source)
    ends = np.r_[knots[1:], max(math.log(end), knots[-1] + 0.2)]
    peaks_x = 0.5 * (knots + ends)
    peaks_y = np.minimum(1.0, ends - knots)
    px = np.r_[knots[0] - 1.0, np.column_stack([knots, peaks_x]).ravel()]
    py = np.r_[1.0, np.column_stack([np.zeros(len(knots)), peaks_y]).ravel()]
    return np.interp(np.log(time), px, py)


def tune_landmarks(arm: Arm, at: ArmTargets, moves: int = 12) -> Arm:
    """Move censorings across events until each landmark has a step within its rounding.

    The survival after ``j`` events is a product of ``1 - 1/Y_i``; moving one censoring from
    before event ``i`` to after event ``m - 1`` raises ``Y`` by one at events ``i`` to
    ``m - 1`` and the level by a factor ``prod Y^2 / (Y^2 - 1)`` over them; moving one from
    after the landmark's step to before event ``k`` lowers it by ``prod Y (Y - 2) / (Y - 1)^2``
    over events ``k`` to the step. Each move is the one whose change comes nearest the
    change still needed (up to ``moves`` of them). Printed to a tenth of a percent, a rate
    is finer than the steps of most arms; the true data met it by where their censorings
    fell, so the pseudo data may move theirs.
    """
    time, event = arm[0].copy(), arm[1]
    for _, p, tol in _landmark_levels(at):
        if p <= 0:
            continue  # a printed 0%: only events reach it, moving censorings cannot
        for _ in range(moves):
            km = km_steps(time, event)
            levels = np.r_[1.0, km.survival]
            j = int(np.argmin(np.abs(levels - p)))
            if abs(levels[j] - p) <= 0.4 * tol or j == 0:
                break
            # A curve already at 0 there can only rise by moving censorings: need is inf.
            need = math.log(p / levels[j]) if levels[j] > 0 else math.inf
            step_time = km.times[j - 1]
            events_before = km.times[:j]
            y = km.at_risk[:j].astype(float)
            # Log-level change of passing each event, for a censoring moved later (gain) or
            # earlier (loss), and the changes of every move as differences of their sums.
            gain = np.r_[np.cumsum(np.log(y * y / np.maximum(y * y - 1.0, 1e-9))[::-1])[::-1],
                         0.0]
            loss = np.r_[np.cumsum(np.log(np.maximum(y * (y - 2.0), 1e-9)
                                          / np.maximum((y - 1.0) ** 2, 1e-9))[::-1])[::-1],
                         0.0]
            best = (abs(need), None, None)
            later = np.flatnonzero((event == 0) & (time < step_time))
            if need > 0 and len(later):
                first = np.searchsorted(events_before, time[later], side="right")
                for c, f in zip(later, first, strict=True):
                    change = gain[f] - gain[f + 1:]  # moved to just before event m (or after j)
                    m = int(np.argmin(np.abs(need - change)))
                    if abs(need - change[m]) < best[0]:
                        best = (abs(need - change[m]), c, f + 1 + m)
            earlier = np.flatnonzero((event == 0) & (time > step_time))
            if need < 0 and len(earlier):
                change = loss[:j]  # moved to just before event k, passing events k..j-1
                k = int(np.argmin(np.abs(need - change)))
                if abs(need - change[k]) < best[0]:
                    best = (abs(need - change[k]), earlier[0], k)
            _, c, m = best
            if c is None or best[0] >= abs(need) - 1e-12:
                break
            if m >= j:  # just after the landmark's step
                nxt = km.times[j] if j < len(km.times) else step_time * 1.01
                time[c] = step_time + 1e-6 * (nxt - step_time)
            else:  # between events m - 1 and m
                lo = events_before[m - 1] if m > 0 else 0.0
                time[c] = lo + 0.5 * (events_before[m] - lo)
            order = np.argsort(time, kind="stable")
            time, event = time[order], event[order]
    return time, event


def _landmark_levels(at: ArmTargets) -> list[tuple[float, float, float]]:
    """Landmark levels to aim at: above one half when the median was not reached."""
    nr = at.median is not None and math.isinf(at.median)
    return [(t, max(p, 0.5 + 0.25 * tol) if nr else p, tol) for t, p, tol in at.landmarks]


@dataclass(frozen=True)
class Prepared:
    """Both arms after anchoring, with what the Cox warp needs."""

    arms: list[Arm]
    anchors: list[Anchors]
    bumps: list[np.ndarray]


def anchor(arms: list[Arm], tg: Targets) -> Prepared:
    """Warp each arm so that its Kaplan-Meier figures fall on the printed times."""
    out, anchors, bumps = [], [], []
    for arm, at in zip(arms, tg.arms, strict=True):
        time, event = arm
        anc = _anchors(arm, at)
        end = float(time.max())
        warped = time * np.exp(_log_shift(time, anc, end))
        moved = Anchors(anc.target, anc.target)
        out.append((warped, event))
        anchors.append(moved)
        bumps.append(_bump(warped, moved, float(warped.max())))
    return Prepared(out, anchors, bumps)


def _shifted(prep: Prepared, kappa: float) -> list[Arm]:
    return [(time * np.exp(sign * kappa * bump), event)
            for (time, event), bump, sign in zip(prep.arms, prep.bumps, (1.0, -1.0),
                                                 strict=True)]


def within(arms: list[Arm], longest: float, keep: float) -> list[Arm]:
    """Both arms with nobody followed beyond ``longest`` (months).

    One monotone map of the shared time axis: the identity up to ``keep`` (the latest printed
    time), then linear from ``keep`` to ``longest`` at the last patient. Every patient of
    either arm keeps their place among the others, and everyone after ``keep`` stays after
    it, so Kaplan-Meier levels, the figures printed up to ``keep`` and the Cox partial
    likelihood are unchanged. Where a figure is printed at the bound itself, there is no
    room: whoever is followed beyond it is censored there, as the data cut-off censors
    events that come after it.
    """
    end = max(float(t.max(initial=0.0)) for t, _ in arms)
    if end <= longest * (1.0 + 1e-9):
        return arms
    if keep >= longest:
        # A figure printed at the bound was anchored there, up to floating-point error.
        beyond = longest * (1.0 + 1e-9)
        return [(np.minimum(t, longest), np.where(t > beyond, 0, e)) for t, e in arms]
    scale = (longest - keep) / (end - keep)
    return [(np.where(t > keep, keep + (t - keep) * scale, t), e) for t, e in arms]


def _cox(arms: list[Arm]) -> HazardRatio:
    (te, de), (tc, dc) = arms
    return cox_two_arm(np.concatenate((te, tc)), np.concatenate((de, dc)),
                       np.concatenate((np.ones(len(te)), np.zeros(len(tc)))))


def place_follow_up(prep: Prepared, arms: list[Arm], follow_up: float) -> list[Arm]:
    """Move the reverse Kaplan-Meier median onto the printed median follow-up.

    One warp of both arms' time axes, zero at every anchored time and at the last patient:
    it keeps the order of all patients of both arms, so the Kaplan-Meier steps, the anchored
    figures and the Cox fit stay as they are while the censoring that is the median of
    follow-up moves. Where it would have to cross an anchor, it goes only part of the way.
    """
    time = np.r_[arms[0][0], arms[1][0]]
    event = np.r_[arms[0][1], arms[1][1]]
    got = reverse_km_median(time, event)
    if not math.isfinite(got) or got <= 0:
        return arms
    knots = np.unique(np.r_[prep.anchors[0].target, prep.anchors[1].target])
    knots = knots[np.abs(np.log(knots / got)) > 1e-9]
    end = float(time.max())
    wanted = math.log(follow_up / got)
    below = knots[knots < got]
    above = np.r_[knots[knots > got], end] if end > got else knots[knots > got]
    lo = float(below.max()) if len(below) else None
    hi = float(above.min()) if len(above) else None
    # Keep t exp(h(t)) increasing: the shift may change by less than its log-time distance.
    room = min(math.log(got / lo) if lo else math.inf, math.log(hi / got) if hi else math.inf)
    h = float(np.clip(wanted, -0.9 * room, 0.9 * room))

    def warp(t: np.ndarray) -> np.ndarray:
        shift = np.zeros_like(t)
        x = np.log(np.maximum(t, 1e-12))
        left = (t <= got) & (t > (lo or 0.0))
        right = (t > got) & (t < (hi or math.inf))
        if lo:
            shift[left] = h * (x[left] - math.log(lo)) / math.log(got / lo)
        else:
            shift[left] = h * t[left] / got
        if hi:
            shift[right] = h * (math.log(hi) - x[right]) / math.log(hi / got)
        else:
            shift[right] = h
        return t * np.exp(shift)

    return [(warp(t), e) for t, e in arms]


def snap_follow_up(arms: list[Arm], follow_up: float) -> list[Arm]:
    """Move the censoring that is the reverse Kaplan-Meier median onto the printed value.

    The last resort when :func:`place_follow_up` was stopped by an anchor: the record moves
    only within its own arm's neighbouring events (its arm's curve stays as it is) and may
    pass the other arm's patients, which moves the Cox fit a little (checked after).
    """
    arms = [(t.copy(), e) for t, e in arms]
    for _ in range(4):
        time = np.r_[arms[0][0], arms[1][0]]
        event = np.r_[arms[0][1], arms[1][1]]
        got = reverse_km_median(time, event)
        if not math.isfinite(got) or abs(got - follow_up) <= 0.02:
            break
        which = np.flatnonzero((time == got) & (event == 0))
        if len(which) == 0:
            break
        i = int(which[0])
        a, j = (0, i) if i < len(arms[0][0]) else (1, i - len(arms[0][0]))
        t, e = arms[a]
        events = t[e == 1]
        lo = events[events < t[j]].max(initial=0.0)
        hi = events[events > t[j]].min(initial=math.inf)
        if not lo < follow_up < hi:
            break
        t[j] = follow_up
        order = np.argsort(t, kind="stable")
        arms[a] = (t[order], e[order])
    return arms


@dataclass(frozen=True)
class Figures:
    """The printed kinds of figure, computed from a sample with the fast kernels (derived)."""

    km: tuple[KMSteps, KMSteps]
    cox: HazardRatio
    follow_up: float


def figures(arms: list[Arm]) -> Figures:
    kms = tuple(km_steps(t, e) for t, e in arms)
    time = np.r_[arms[0][0], arms[1][0]]
    event = np.r_[arms[0][1], arms[1][1]]
    return Figures(kms, _cox(arms), reverse_km_median(time, event))  # type: ignore[arg-type]


def misses(fig: Figures, tg: Targets) -> dict[str, float]:
    """Each judged figure's miss in units of its tolerance (within when at most 1)."""
    out: dict[str, float] = {}
    for a, (km, at) in enumerate(zip(fig.km, tg.arms, strict=True)):
        if at.median is not None:
            got = km.median()
            out[f"median {a}"] = _time_miss(got, at.median, at.median_tol)
            if at.median_lower is not None or at.median_upper is not None:
                lo, hi = km.median_interval(at.median_level)
                if at.median_lower is not None:
                    out[f"median lower {a}"] = _time_miss(lo, at.median_lower,
                                                          at.bound_tols[0])
                if at.median_upper is not None:
                    out[f"median upper {a}"] = _time_miss(hi, at.median_upper,
                                                          at.bound_tols[1])
        for t, p, tol in at.landmarks:
            out[f"landmark {a} {t:g}"] = abs(km.at(t) - p) / tol
        if at.events is not None:
            out[f"events {a}"] = abs(float(km.deaths.sum()) - at.events) / EVENTS_TOLERANCE
    if tg.events_total is not None and any(at.events is None for at in tg.arms):
        got = sum(float(km.deaths.sum()) for km in fig.km)
        out["events"] = abs(got - tg.events_total) / EVENTS_TOLERANCE
    if tg.hr is not None:
        cox = fig.cox
        if not (math.isfinite(cox.se) and 0 < cox.hr < math.inf):
            out["hr"] = math.inf  # an arm without events: no Cox estimate
            return out
        out["hr"] = abs(cox.hr - tg.hr) / tg.hr_tol
        z = float(np.log(cox.upper / cox.hr)) / cox.se if cox.se > 0 else 0.0
        lo = cox.hr * math.exp(-z * cox.se)
        hi = cox.hr * math.exp(z * cox.se)
        out["ci lower"] = abs(lo - tg.ci[0]) / tg.ci_tols[0]
        out["ci upper"] = abs(hi - tg.ci[1]) / tg.ci_tols[1]
        if tg.p_interval is not None:
            plo, phi = tg.p_interval
            p = cox.p
            tiny = 1e-300  # logs of a p of 0 (or a printed range from 0)
            out["p"] = 0.0 if plo <= p <= phi else 1.0 + min(
                abs(math.log(max(p, tiny) / max(plo, tiny))),
                abs(math.log(max(p, tiny) / max(phi, tiny))))
    if tg.follow_up is not None:
        out["follow-up"] = abs(fig.follow_up - tg.follow_up) / tg.follow_up_tol
    return out


def _time_miss(got: float, want: float, tol: float) -> float:
    if math.isinf(want) or math.isinf(got):
        return 0.0 if math.isinf(want) == math.isinf(got) else 10.0
    return abs(got - want) / tol


@dataclass(frozen=True)
class Calibrated:
    """Pseudo patients, their figures and misses, and what the calibration did."""

    arms: list[Arm]
    figures: Figures
    misses: dict[str, float]
    kappa: float
    extra: tuple[int, int]

    @property
    def worst(self) -> float:
        return max(self.misses.values(), default=0.0)


def _extras(tg: Targets, base: list[Arm], se: float, se_target: float | None
            ) -> list[tuple[int, int]]:
    """Event adjustments to try, those bringing the SE nearest the printed one first.

    Fixed by printed per-arm counts; summing to a printed total. ``SE^2`` moves like
    ``1/d_e + 1/d_c``.
    """
    d = [int(e.sum()) for _, e in base]
    n = tg.n
    if all(at.events is not None for at in tg.arms):
        return [(tg.arms[0].events - d[0], tg.arms[1].events - d[1])]
    centre = [0, 0]
    if se_target is not None and se_target > 0 and all(d):
        # Scale both arms' events by one factor f: SE^2 (f) = se^2 - (1 - 1/f)(1/d_e + 1/d_c).
        inv = 1.0 / d[0] + 1.0 / d[1]
        f = inv / max(inv - (se * se - se_target * se_target), 1e-9)
        centre = [int(round(min(max(d[k] * f, 1), n[k]))) - d[k] for k in range(2)]
    pairs = [(centre[0] + i, centre[1] + j) for i in range(-3, 4) for j in range(-3, 4)]
    pairs = [(i, j) for i, j in pairs if 0 <= d[0] + i <= n[0] and 0 <= d[1] + j <= n[1]]
    if tg.events_total is not None:
        gap = tg.events_total - sum(d)
        pairs = [(i, gap - i) for i in range(min(0, gap) - 6, max(0, gap) + 7)
                 if 0 <= d[0] + i <= n[0] and 0 <= d[1] + gap - i <= n[1]]

    def predicted(p: tuple[int, int]) -> float:
        if se_target is None:
            return abs(p[0]) + abs(p[1])
        var = se * se + sum(1.0 / max(d[k] + p[k], 1) - 1.0 / max(d[k], 1) for k in range(2))
        return abs(math.sqrt(max(var, 1e-12)) - se_target)

    ranked = sorted(pairs, key=lambda p: predicted(p) + 1e-4 * (abs(p[0]) + abs(p[1])))
    # The model already aims at the printed SE: no adjustment is tried first.
    return ([(0, 0)] if (0, 0) in pairs else []) + [p for p in ranked if p != (0, 0)]


def respect_not_reached(arm: Arm, at: ArmTargets) -> Arm:
    """Censor the last events while a figure printed as not reached (NR) is reached.

    Where few remain at risk, the last events of a pseudo arm can drop its curve (or a band)
    below one half after all; a trial whose print says NR had its last patients censored.
    Where the arm's events are printed, the count holds: the earliest censoring becomes an
    event instead, where the most are at risk and the curve moves least.
    """
    checks = []
    if at.median is not None and math.isinf(at.median):
        checks.append(lambda km: math.isfinite(km.median()))
    if at.median_upper is not None and math.isinf(at.median_upper):
        checks.append(lambda km: math.isfinite(km.median_interval(at.median_level)[1]))
    if at.median_lower is not None and math.isinf(at.median_lower):
        checks.append(lambda km: math.isfinite(km.median_interval(at.median_level)[0]))
    if not checks:
        return arm
    time, event = arm[0], arm[1].copy()
    for _ in range(len(time)):
        km = km_steps(time, event)
        if not any(reached(km) for reached in checks):
            break
        last = np.flatnonzero(event)[-1]
        event[last] = 0
        if at.events is not None:
            earlier = np.flatnonzero((event == 0) & (time < time[last]))
            if len(earlier) == 0:
                event[last] = 1  # no censoring to trade: the count comes first
                break
            event[earlier[np.argmin(time[earlier])]] = 1
    return time, event


def _prepare(model: PiecewiseHazards, cens: Censoring, tg: Targets,
             extra: tuple[int, int]) -> Prepared:
    arms = construct(model, cens, tg, extra)
    arms = [respect_not_reached(arm, at) for arm, at in zip(arms, tg.arms, strict=True)]
    arms = [tune_landmarks(arm, at) if at.landmarks else arm
            for arm, at in zip(arms, tg.arms, strict=True)]
    return anchor(arms, tg)


def calibrate(model: PiecewiseHazards, cens: Censoring, tg: Targets,
              cox_target: tuple[float, float] | None, budget: int | None = None
              ) -> Calibrated:
    """Construct, anchor and Cox-calibrate pseudo patients (see :func:`_calibrate`).

    When the follow-up misses (the anchoring warps moved the censorings, and the follow-up
    warp could not pass an anchor), the censoring model is aimed that much the other way
    and the pseudo patients rebuilt, up to three times. ``budget`` caps the event
    adjustments tried (default: 20 for trials up to 1,000 patients, else 8, where each try
    costs more and the SE moves in finer steps).
    """
    if budget is None:
        budget = 20 if sum(tg.n) <= 1000 else 8
    # The longest follow-up the print allows, or else the fitted model's (inferred).
    longest = cens.last if tg.longest is None else tg.longest
    result = _calibrate(model, cens, tg, cox_target, budget, longest)
    aim = tg.follow_up
    for _ in range(3):
        if tg.follow_up is None or result.misses.get("follow-up", 0.0) <= 1.0:
            break
        aim *= float(np.clip(tg.follow_up / result.figures.follow_up, 0.9, 1.1))
        moved = Censoring.with_follow_up(aim, cens.accrual_fraction, cens.dropout,
                                         cens.accrual_power, cens.early, cens.at_end,
                                         cens.reach)
        again = _calibrate(model, moved, tg, cox_target, budget, longest)
        if again.worst < result.worst:
            result = again
    return result


def _calibrate(model: PiecewiseHazards, cens: Censoring, tg: Targets,
               cox_target: tuple[float, float] | None, budget: int, longest: float
               ) -> Calibrated:
    """Construct, anchor and Cox-calibrate pseudo patients (see the module docstring).

    Tries event adjustments, the most promising first (``budget`` of them at most), and
    returns the first sample that meets every figure, or else the one whose worst miss is
    smallest.
    """
    base = construct(model, cens, tg)
    best: Calibrated | None = None
    se_target = None if cox_target is None else cox_target[1]
    se = _cox(anchor(base, tg).arms).se if tg.hr is not None else 0.0
    for extra in _extras(tg, base, se, se_target)[:budget]:
        prep = _prepare(model, cens, tg, extra)
        # The Cox fit moves in steps as patients of the two arms pass each other; other
        # profiles of the same warp give other interleavings near the same HR.
        for power in (1.0, 2.0, 0.5) if tg.hr is not None else (1.0,):
            shaped = Prepared(prep.arms, prep.anchors, [b**power for b in prep.bumps])
            kappa = 0.0
            if tg.hr is not None:
                for _ in range(2):  # the target log HR depends on the SE, which kappa moves
                    se_now = _cox(_shifted(shaped, kappa)).se
                    kappa = _bisect_kappa(shaped, best_log_hr(cox_aim(tg), se_now))
            final = _shifted(shaped, kappa)
            if tg.follow_up is not None:
                final = place_follow_up(shaped, final, tg.follow_up)
            final = within(final, longest, max(tg.times))
            fig = figures(final)
            result = Calibrated(final, fig, misses(fig, tg), kappa, extra)
            if result.misses.get("follow-up", 0.0) > 1.0:
                snapped = snap_follow_up(final, tg.follow_up)
                fig2 = figures(snapped)
                other = Calibrated(snapped, fig2, misses(fig2, tg), kappa, extra)
                if other.worst < result.worst:
                    result = other
            if best is None or result.worst < best.worst:
                best = result
            cox_met = all(v <= 1.0 for k, v in result.misses.items()
                          if k in ("hr", "ci lower", "ci upper", "p"))
            if result.worst <= 1.0 or cox_met:
                break
        if best.worst <= 1.0:
            break
    assert best is not None
    return best


#: The width below which the warp-strength bracket of :func:`_bisect_kappa` stops halving.
KAPPA_TOLERANCE = 1e-6


def _bisect_kappa(prep: Prepared, beta: float, limit: float = 0.45) -> float:
    """The warp strength whose sample Cox log HR is ``beta`` (or the closer end).

    ``|kappa|`` stays below 1 / max |phi'| = 1/2, so that the warp keeps every arm's order.
    """

    def miss(kappa: float) -> float:
        return math.log(_cox(_shifted(prep, kappa)).hr) - beta

    lo, hi = -limit, limit
    f_lo, f_hi = miss(lo), miss(hi)
    if f_lo * f_hi > 0:
        return lo if abs(f_lo) < abs(f_hi) else hi
    # The sample's Cox log HR is a step function of kappa (it moves as patients of the two
    # arms pass each other), so it may never come within 1e-5 of beta: once the bracket is
    # narrower than KAPPA_TOLERANCE, it straddles one step and halving it further only costs
    # Cox fits.
    while hi - lo > KAPPA_TOLERANCE:
        mid = 0.5 * (lo + hi)
        f_mid = miss(mid)
        if abs(f_mid) < 1e-5:
            return mid
        if f_mid * f_lo > 0:
            lo, f_lo = mid, f_mid
        else:
            hi, f_hi = mid, f_mid
    # Both ends are evaluated: the one on the nearer side of the step.
    return lo if abs(f_lo) < abs(f_hi) else hi
