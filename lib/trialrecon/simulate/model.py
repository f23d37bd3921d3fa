"""The event-time and censoring models behind a summary reconstruction, and their fit.

Event times
    Each arm has a piecewise-constant hazard on a grid of pieces spaced evenly in log time
    (:class:`PiecewiseHazards`). The prior prefers the simplest curves: a second-order random
    walk on the log hazard against log time (its zero-penalty family is the Weibull, a straight
    line), a weak pull of the overall slope towards a gently rising hazard (Weibull shape
    1.15), and a random walk on the difference between the arms (its zero-penalty family is
    proportional hazards, or Weibulls of different shapes). Crossing curves and plateaus are
    reachable, at a stated cost.
Censoring
    Uniform accrual over a fraction ``w`` of the time to the data cut-off ``C`` (time to
    cut-off uniform on ``[C (1 - w), C]``), drop-out at a constant rate ``rho``, and, where
    no accrual period is printed, a share of patients followed to the longest follow-up
    (:class:`Censoring`). Nobody is followed beyond what the print allows: the data cut-off
    minus the first randomisation, or the printed longest follow-up
    (:attr:`Targets.longest`); where neither is printed, the share ends at the fitted
    cut-off, the bound inferred from the print. A printed calendar also pins ``C`` and the
    accrual period ``w C``. A printed median follow-up (reverse Kaplan-Meier) is the median
    of the censoring distribution, ``G(FU) = 1/2``, which fixes ``C`` given the other
    parameters.

Fit
    The model's expected printed figures (:func:`expected`) are computed in closed form on a
    time grid: the at-risk numbers ``Y_a = n_a S_a G``, the Kaplan-Meier medians and their
    Brookmeyer-Crowley intervals with the exponential Greenwood band that lifelines draws
    (Greenwood's sum approximated by ``int lambda / Y``), landmark rates, events, and the Cox
    estimate and information as the roots of the expected partial-likelihood score. The
    maximum a posteriori parameters (:func:`fit_model`) minimise the squared misses of the
    printed figures, each in units of its rounding, plus the prior; the Gauss-Newton
    curvature there gives the Laplace approximation that spreads the ensemble.

References: Brookmeyer R, Crowley J. A confidence interval for the median survival time.
Biometrics 1982;38:29-41. Kalbfleisch JD, Prentice RL. The statistical analysis of failure
time data, 2nd ed. Wiley 2002 (section 4.3). Lang S, Brezger A. Bayesian P-splines. J Comput
Graph Stat 2004;13:183-212 (random-walk priors). Schemper M, Smith TL. A note on quantifying
follow-up in studies of failure time. Control Clin Trials 1996;17:343-6.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from ..summary import z_value
from .targets import Targets, cox_aim, cox_box

LOG_LOG_HALF = math.log(math.log(2.0))
Z95 = z_value(95.0)
#: Pieces of the hazard grid.
PIECES = 12
#: Prior standard deviations (see the module docstring): curvature of the log hazard per unit
#: of log time squared, its overall slope, curvature and slope of the log hazard ratio
#: between the arms (0 = proportional hazards).
PRIOR_CURVATURE = 1.0
PRIOR_SLOPE = 0.5
PRIOR_HR_CURVATURE = 0.5
PRIOR_HR_SLOPE = 0.5
#: Prior centre of each arm's slope of log hazard against log time (a Weibull shape of
#: 1.15). Weibull fits to the 304 arms of the kmdata development corpus have shapes with
#: median 1.27 and quartiles 1.10-1.46 (``benchmarks/prior_check.py``); the centre and the
#: standard deviation are set wider and nearer the exponential than that.
PRIOR_SLOPE_CENTRE = 0.15
#: Prior (centre, sd) of the censoring's long-follow-up part: the logit of its share
#: relative to the most the printed follow-up allows.
AT_END_PRIOR = (-1.0, 3.0)
#: How closely a printed calendar pins the censoring model: the cut-off time (first
#: randomisation to data cut-off) and the accrual period (first to last randomisation)
#: each within a month or 3%, whichever is larger (dates printed to the month).
CALENDAR_TIME_SD = 1.0
CALENDAR_TIME_RELATIVE_SD = 0.03
#: Uncertainty of the smooth curve at a printed Kaplan-Meier point, in survival: the
#: finite sample's steps and noise around the curve it follows.
ANCHOR_SD = 0.01
ANCHOR_KM_SE = 0.5
#: A landmark rate printed in the last tenth of the longest follow-up: the pseudo data have
#: no events after it to anchor on, so the curve must pass nearer (a third of the above).
LATE_LANDMARK = 0.9
LATE_LANDMARK_SD_SCALE = 0.3
#: d log(-log S) / dS at S = 1/2, to express a survival uncertainty on the log-log scale.
LL_PER_S = 1.0 / (0.5 * math.log(2.0))


@dataclass(frozen=True)
class PiecewiseHazards:
    """Piecewise-constant hazards of both arms (per month) on shared pieces.

    ``edges`` are the inner breakpoints (months); piece ``k`` runs from ``edges[k-1]`` (0 for
    the first) to ``edges[k]`` (infinity for the last). ``log_hazard`` has one row per arm,
    experimental first.
    """

    edges: np.ndarray
    log_hazard: np.ndarray

    @functools.cached_property
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of every piece (the fit evaluates them thousands of times)."""
        return (np.concatenate(([0.0], self.edges)), np.concatenate((self.edges, [np.inf])))

    def _widths(self, t: np.ndarray) -> np.ndarray:
        lo, hi = self._bounds
        return np.maximum(np.minimum(t[..., None], hi) - lo, 0.0)

    def cumulative_hazard(self, t, arm: int) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return self._widths(t) @ np.exp(self.log_hazard[arm])

    def survival(self, t, arm: int) -> np.ndarray:
        return np.exp(-self.cumulative_hazard(t, arm))

    def quantile(self, surv, arm: int) -> np.ndarray:
        """Time at which survival falls to ``surv`` (the inverse of :meth:`survival`)."""
        target = -np.log(np.asarray(surv, dtype=float))
        lam = np.exp(self.log_hazard[arm])
        lo = self._bounds[0]
        at_edges = np.concatenate(([0.0], np.cumsum(lam[:-1] * np.diff(lo))))
        k = np.clip(np.searchsorted(at_edges, target, side="right") - 1, 0, len(lam) - 1)
        return lo[k] + (target - at_edges[k]) / lam[k]

    def median(self, arm: int) -> float:
        return float(self.quantile(0.5, arm))

    def hazard_ratio_range(self, until: float) -> tuple[float, float]:
        """Smallest and largest piecewise hazard ratio (experimental / control) over the
        pieces that hold data: from where the first 2% of either arm have had an event, up
        to ``until`` (months). Earlier pieces rest on a handful of events and the prior."""
        start = min(float(self.quantile(0.98, a)) for a in (0, 1))
        lo, hi = self._bounds
        used = (hi > start) & (lo < until)
        ratio = np.exp(self.log_hazard[0] - self.log_hazard[1])[used]
        return float(ratio.min()), float(ratio.max())


@dataclass(frozen=True)
class Censoring:
    """Potential follow-up: accrual over ``[0, w C]``, cut-off at ``C``, drop-out ``rho``.

    ``G(t) = P(still followed at t) = (1 - e) ((1 - m) A(t) + m [t < R C]) exp(-rho t)``.
    ``A`` is the administrative part: 1 before ``C (1 - w)``, then ``((C - t) / (w C))^p``
    down to 0 at ``C``; ``p = 1`` is uniform accrual, ``p > 1`` accrual that speeds up (many
    recent patients with short follow-up), ``p < 1`` accrual that slows down. A fraction
    ``m`` (``at_end``) of potential follow-ups instead last until ``R C`` (``reach``
    ``R >= 1``), the longest follow-up the print allows (:meth:`Layout.models` sets ``R``
    from it; 1 where nothing bounds it). A fraction ``e`` (``early``) is censored
    at once (at 2% of the cut-off time): patients without any assessment after
    randomisation, whom a progression-free survival analysis censors at its start.
    """

    end: float
    accrual_fraction: float
    dropout: float = 0.0
    accrual_power: float = 1.0
    early: float = 0.0
    at_end: float = 0.0
    reach: float = 1.0

    @property
    def last(self) -> float:
        """The longest follow-up (months): the last patient leaves here."""
        return self.end * max(self.reach, 1.0) if self.at_end > 0 else self.end

    def survival(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        start = self.end * (1.0 - self.accrual_fraction)
        width = max(self.end - start, 1e-12)
        admin = np.clip((self.end - t) / width, 0.0, 1.0) ** self.accrual_power
        admin = (1.0 - self.at_end) * np.where(t < self.end, admin, 0.0) \
            + self.at_end * (t < self.last)
        kept = np.where(t < 0.02 * self.end, 1.0, 1.0 - self.early)
        return kept * admin * np.exp(-self.dropout * t)

    @staticmethod
    def with_follow_up(follow_up: float, accrual_fraction: float, dropout: float,
                       accrual_power: float = 1.0, early: float = 0.0,
                       at_end: float = 0.0, reach: float = 1.0) -> Censoring:
        """The censoring whose median ``G(FU) = 1/2`` is the printed median follow-up.

        Where ``at_end`` alone keeps half the patients followed, the cut-off is the follow-up.
        Reachable only while ``dropout * follow_up < ln(2 (1 - early))`` (the bound
        :meth:`Layout.models` keeps to); beyond it the accrual starts at the follow-up and
        ``G(FU)`` stays below 1/2.
        """
        h = min(0.5 * math.exp(dropout * follow_up) / (1.0 - early), 1.0)
        q = max((h - at_end) / (1.0 - at_end), 0.0) ** (1.0 / accrual_power)
        w = min(accrual_fraction, 0.999)
        return Censoring(follow_up / (1.0 - q * w), w, dropout, accrual_power, early, at_end,
                         reach)


# --------------------------------------------------------------------------- expected figures


def _grid(end: float, cells: int = 240) -> np.ndarray:
    """Cell edges on ``[0, end]``, denser early where curves fall fastest."""
    return end * (np.arange(cells + 1) / cells) ** 1.6


@dataclass
class Expected:
    """The figures a trial following the model would print, in expectation (all derived)."""

    survival: dict = field(default_factory=dict)  # (arm, time) -> S
    band: dict = field(default_factory=dict)  # (arm, time) -> (ll S, z sqrt(cs) / |log S|)
    events: tuple[float, float] = (0.0, 0.0)
    log_hr: float = 0.0
    se: float = math.inf
    end_survival: tuple[float, float] = (1.0, 1.0)
    end_band: dict = field(default_factory=dict)  # arm -> band terms near the cut-off
    km_sd: dict = field(default_factory=dict)  # (arm, time) -> Greenwood SE of the KM


def expected(model: PiecewiseHazards, cens: Censoring, tg: Targets) -> Expected:
    """Expected printed figures of a trial of ``tg.n`` patients following the two models;
    the medians' bands at their printed level."""
    t = _grid(cens.last)
    mid = 0.5 * (t[1:] + t[:-1])
    g_mid = cens.survival(mid)
    out = Expected()
    risk, new_events, end_survival = [], [], []
    level = tg.arms[0].median_level
    z = Z95 if level == 95.0 else z_value(level)
    marks = np.array(sorted(set(tg.times) | {0.97 * cens.last}))
    for arm, n in enumerate(tg.n):
        s = model.survival(np.concatenate((t, marks)), arm)
        s, s_marks = s[:len(t)], s[len(t):]
        y = n * 0.5 * (s[1:] + s[:-1]) * g_mid
        d = n * g_mid * (s[:-1] - s[1:])
        risk.append(y)
        new_events.append(d)
        cs = np.concatenate(([0.0], np.cumsum(d / np.maximum(y * (y - np.minimum(d, 0.5 * y)),
                                                            1e-9))))
        # Beyond the cut-off nobody is at risk: the band is as wide as at the last patient.
        cs_marks = np.minimum(np.interp(marks, t, cs), 25.0)
        neg_log = np.maximum(-np.log(np.maximum(s_marks, 1e-300)), 1e-12)
        ll = np.log(neg_log)
        width = z * np.sqrt(cs_marks) / neg_log
        for i, x in enumerate(marks):
            out.survival[(arm, float(x))] = float(s_marks[i])
            out.band[(arm, float(x))] = (float(ll[i]), float(width[i]))
            out.km_sd[(arm, float(x))] = float(s_marks[i] * math.sqrt(cs_marks[i]))
        out.end_band[arm] = out.band[(arm, float(0.97 * cens.last))]
        end_survival.append(float(s[-1]))
    out.end_survival = (end_survival[0], end_survival[1])
    out.events = (float(new_events[0].sum()), float(new_events[1].sum()))
    # Cox: the root of the expected score sum_t dN_e - (dN_e + dN_c) p(beta).
    ye, yc = risk
    dn = new_events[0] + new_events[1]
    ok = (ye > 1e-9) & (yc > 1e-9)
    ye, yc, dn, de = ye[ok], yc[ok], dn[ok], new_events[0][ok]
    beta = 0.0
    for _ in range(30):
        p = ye * math.exp(beta) / (ye * math.exp(beta) + yc)
        score, info = float((de - dn * p).sum()), float((dn * p * (1.0 - p)).sum())
        if info <= 0:
            break
        step = max(-2.0, min(2.0, score / info))
        beta += step
        if abs(step) < 1e-9:
            break
    p = ye * math.exp(beta) / (ye * math.exp(beta) + yc)
    info = float((dn * p * (1.0 - p)).sum())
    out.log_hr, out.se = beta, (1.0 / math.sqrt(info) if info > 0 else math.inf)
    return out


# --------------------------------------------------------------------------- the fit


@dataclass(frozen=True)
class Layout:
    """How a parameter vector maps to the two models, and what the print asks of them."""

    tg: Targets
    edges: np.ndarray
    centres: np.ndarray  # log-time centre of each piece, for the priors
    cox_target: tuple[float, float] | None
    prior_matrix: np.ndarray
    prior_offset: np.ndarray
    anchor_km_se: float = ANCHOR_KM_SE
    long_follow_up: bool = True  # False: every follow-up ends by the cut-off (at_end = 0)

    @property
    def pieces(self) -> int:
        return len(self.edges) + 1

    @property
    def size(self) -> int:
        return 2 * self.pieces + 5 + (self.tg.follow_up is None)

    @property
    def at_end_free(self) -> bool:
        """Whether a share of patients may be followed on to the longest follow-up.

        Not where the accrual period is printed: it then spreads the follow-ups, and
        nothing suggests patients piled at the longest one."""
        return self.long_follow_up and self.tg.accrual_time is None

    def models(self, x: np.ndarray) -> tuple[PiecewiseHazards, Censoring]:
        """The event-time and censoring models of a parameter vector.

        The long-follow-up share reaches the longest follow-up the print allows
        (:attr:`Targets.longest`); where nothing bounds it, it ends at the cut-off, which is
        then the bound inferred from the print.
        """
        k = self.pieces
        log_hazard = np.vstack([x[:k], x[k:2 * k]])
        w = 1.0 / (1.0 + math.exp(-x[2 * k]))
        if self.tg.follow_up is not None:
            # Early censoring below 40% and drop-out below ln(0.5 / (1 - early)) / FU, so
            # that the printed median follow-up stays reachable.
            early = 0.4 / (1.0 + math.exp(-x[2 * k + 3]))
            top = math.log(0.5 / (1.0 - early)) / -self.tg.follow_up
            rho = top * (1.0 - math.exp(-x[2 * k + 1] ** 2))
            # Below the share that alone would keep half the patients followed at FU.
            ceiling = 0.5 * math.exp(rho * self.tg.follow_up) / (1.0 - early)
            at_end = 0.98 * min(ceiling, 1.0) / (1.0 + math.exp(-x[2 * k + 4])) \
                if self.at_end_free else 0.0
            cens = Censoring.with_follow_up(self.tg.follow_up, w, rho,
                                            math.exp(x[2 * k + 2]), early, at_end)
        else:
            cens = Censoring(math.exp(x[2 * k + 5]), min(w, 0.999), x[2 * k + 1] ** 2,
                             math.exp(x[2 * k + 2]), 0.4 / (1.0 + math.exp(-x[2 * k + 3])),
                             0.98 / (1.0 + math.exp(-x[2 * k + 4])) * self.at_end_free)
        longest = self.tg.longest
        reach = 1.0 if longest is None else max(longest / cens.end, 1.0)
        return PiecewiseHazards(self.edges, log_hazard), dataclasses.replace(cens, reach=reach)


def layout(tg: Targets) -> Layout:
    """Pieces spaced evenly in log time around the printed times."""
    times = np.array(tg.times)
    lo = 0.15 * times.min()
    hi = 3.0 * times.max()
    edges = np.geomspace(lo, hi, PIECES - 1)
    centres = np.log(np.r_[0.5 * lo, np.sqrt(edges[:-1] * edges[1:]), 1.5 * hi])
    size = 2 * PIECES + 5 + (tg.follow_up is None)
    matrix, offset = _prior(size, PIECES, centres, tg.follow_up, tg.times)
    return Layout(tg, edges, centres, cox_box(cox_aim(tg)), matrix, offset)


def _start(lay: Layout) -> np.ndarray:
    tg = lay.tg
    rates = []
    for arm in tg.arms:
        if arm.median is not None and math.isfinite(arm.median):
            rates.append(math.log(2.0) / arm.median)
        elif arm.landmarks:
            t, p, _ = arm.landmarks[-1]
            rates.append(-math.log(min(max(p, 0.01), 0.99)) / t)
        else:
            rates.append(None)
    hr = tg.hr or 1.0
    if rates[0] is None:
        rates[0] = rates[1] * hr
    if rates[1] is None:
        rates[1] = rates[0] / hr
    for i, arm in enumerate(tg.arms):  # not reached: start below the level that reaches 1/2
        if arm.median is not None and math.isinf(arm.median) and not arm.landmarks:
            rates[i] = min(rates[i], 0.5 * math.log(2.0) / max(tg.times))
    # Accrual: with a printed follow-up FU, the cut-off is FU / (1 - w/2) without drop-out;
    # start with a cut-off beyond every printed time where that is possible.
    w = 0.6
    if tg.follow_up is not None:
        w = min(max(w, 2.0 * (1.0 - tg.follow_up / (1.15 * max(tg.times)))), 0.98)
    x = np.r_[np.full(lay.pieces, math.log(rates[0])), np.full(lay.pieces, math.log(rates[1])),
              math.log(w / (1.0 - w)), 0.05]
    x = np.r_[x, 0.0, -4.0, AT_END_PRIOR[0]]
    if tg.follow_up is None:
        end = 2.0 * max(tg.times)
        x = np.r_[x, math.log(end if tg.longest is None else min(end, tg.longest))]
    return x


def residuals(x: np.ndarray, lay: Layout) -> np.ndarray:
    """Misses of the expected figures in units of their rounding, then the prior's terms."""
    return np.r_[misses(x, lay), lay.prior_matrix @ x - lay.prior_offset]


def misses(x: np.ndarray, lay: Layout) -> np.ndarray:
    """Misses of the expected figures, each in units of its rounding (or anchor uncertainty)."""
    tg = lay.tg
    model, cens = lay.models(x)
    ex = expected(model, cens, tg)
    out = []
    def sd(a: int, t: float) -> float:
        """A curve through the print need not pass exactly through a KM point where few are
        at risk: half the Kaplan-Meier SE there, and at least :data:`ANCHOR_SD`."""
        return max(ANCHOR_SD, lay.anchor_km_se * ex.km_sd[(a, t)])

    for a, arm in enumerate(tg.arms):
        if arm.median is not None:
            if math.isfinite(arm.median):
                ll, _ = ex.band[(a, arm.median)]
                out.append((ll - LOG_LOG_HALF) / (sd(a, arm.median) * LL_PER_S))
                # A printed median must be reached before the last patient leaves.
                out.append(max(0.0, ex.end_survival[a] - 0.45) / ANCHOR_SD)
            else:  # not reached: the curve must end above one half
                s_end = ex.end_survival[a]
                out.append(max(0.0, 0.52 - s_end) / ANCHOR_SD)
            for bound, sign in ((arm.median_lower, 1.0), (arm.median_upper, -1.0)):
                if bound is None:
                    continue
                if math.isfinite(bound):
                    ll, width = ex.band[(a, bound)]
                    out.append((ll + sign * width - LOG_LOG_HALF) / (sd(a, bound) * LL_PER_S))
                    if sign < 0:  # a printed upper bound: the upper band reaches 1/2 in time
                        ll, width = ex.end_band[a]
                        out.append(max(0.0, LOG_LOG_HALF + 0.1 - (ll - width))
                                   / (ANCHOR_SD * LL_PER_S))
                elif sign < 0 and arm.median is not None and math.isfinite(arm.median):
                    # Upper bound not reached: the upper band stays above 1/2 to the end.
                    ll, width = ex.end_band[a]
                    out.append(max(0.0, ll - width - LOG_LOG_HALF) / (ANCHOR_SD * LL_PER_S))
        for t, p, tol in arm.landmarks:
            late = tg.longest is not None and t >= LATE_LANDMARK * tg.longest
            scale = LATE_LANDMARK_SD_SCALE if late else 1.0
            out.append((ex.survival[(a, t)] - p) / max(tol, scale * sd(a, t)))
        if arm.events is not None:
            out.append((ex.events[a] - arm.events) / 1.0)
    if tg.events_total is not None and any(arm.events is None for arm in tg.arms):
        out.append((sum(ex.events) - tg.events_total) / 1.0)
    # A Kaplan-Meier figure printed at a time needs patients followed beyond it.
    latest = max(tg.times)
    reach = 1.05 * latest if tg.longest is None else min(1.05 * latest, tg.longest)
    out.append(max(0.0, reach - cens.last) / (0.005 * latest))
    if tg.longest is not None:  # nobody is followed beyond what the print allows
        out.append(max(0.0, cens.end - tg.longest) / (0.005 * tg.longest))
    if tg.longest is not None and tg.cutoff_time is None:
        # A printed longest follow-up says someone was followed that long.
        out.append(max(0.0, 0.97 * tg.longest - cens.last) / (0.005 * tg.longest))
    # The calendar: the cut-off time and the accrual period, where printed.
    for got, aim in ((cens.end, tg.cutoff_time and min(tg.cutoff_time, tg.longest)),
                     (cens.end * cens.accrual_fraction, tg.accrual_time)):
        if aim is not None:
            out.append((got - aim) / max(CALENDAR_TIME_SD, CALENDAR_TIME_RELATIVE_SD * aim))
    if lay.cox_target is not None:
        beta, se = lay.cox_target
        out.append((ex.log_hr - beta) / (0.5 * tg.hr_tol / tg.hr))
        out.append((ex.se - se) / (0.005 * se))
    elif tg.hr is not None:
        out.append((ex.log_hr - math.log(tg.hr)) / (tg.hr_tol / tg.hr))
    return np.asarray(out)


def _prior(size: int, pieces: int, centres: np.ndarray, follow_up: float | None,
           times: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """The prior as ``P x - b``: every term is linear in the parameters.

    Random walks of second order on both arms' log hazards and on their difference, each with
    a weak term on the overall slope against log time; weak priors on the accrual fraction
    (about 60% of the time to cut-off), drop-out (half-normal on the root of its scale) and,
    without a printed follow-up, the cut-off (about twice the latest printed time).
    """
    c = centres
    k = pieces
    gaps = np.diff(c)
    span = 0.5 * (c[2:] - c[:-2])
    second = np.zeros((k - 2, k))
    for i in range(k - 2):
        second[i, i] = 1.0 / gaps[i]
        second[i, i + 1] = -1.0 / gaps[i] - 1.0 / gaps[i + 1]
        second[i, i + 2] = 1.0 / gaps[i + 1]
    second = second / span[:, None] * np.sqrt(span)[:, None]
    slope = ((c - c.mean()) / np.sum((c - c.mean()) ** 2))[None, :]
    rows, offsets = [], []

    def add(block_e: np.ndarray, block_c: np.ndarray, scale: float,
            centre: float = 0.0) -> None:
        row = np.zeros((len(block_e), size))
        row[:, :k], row[:, k:2 * k] = block_e / scale, block_c / scale
        rows.append(row)
        offsets.append(np.full(len(block_e), centre / scale))

    zero2, zero1 = np.zeros_like(second), np.zeros_like(slope)
    add(zero2, second, PRIOR_CURVATURE)
    add(zero1, slope, PRIOR_SLOPE, PRIOR_SLOPE_CENTRE)
    add(second, zero2, PRIOR_CURVATURE)
    add(slope, zero1, PRIOR_SLOPE, PRIOR_SLOPE_CENTRE)
    add(second, -second, PRIOR_HR_CURVATURE)
    add(slope, -slope, PRIOR_HR_SLOPE)
    censoring = [(2 * k, 0.4, 1.5), (2 * k + 1, 0.0, 1.0), (2 * k + 2, 0.0, 0.5),
                 (2 * k + 3, -4.0, 1.5), (2 * k + 4, *AT_END_PRIOR)]
    if follow_up is None:
        censoring.append((2 * k + 5, math.log(2.0 * max(times)), 1.0))
    for index, centre, sd in censoring:
        row = np.zeros((1, size))
        row[0, index] = 1.0 / sd
        rows.append(row)
        offsets.append(np.array([centre / sd]))
    return np.vstack(rows), np.concatenate(offsets)


@dataclass(frozen=True)
class ModelFit:
    """The maximum a posteriori parameters and their Laplace covariance."""

    layout: Layout
    x: np.ndarray
    covariance: np.ndarray
    cost: float

    def models(self, x: np.ndarray | None = None) -> tuple[PiecewiseHazards, Censoring]:
        return self.layout.models(self.x if x is None else x)

    def draws(self, count: int, seed: int) -> np.ndarray:
        """Parameter vectors from the Laplace approximation (seeded)."""
        rng = np.random.default_rng(seed)
        # The pseudo-inverse of a Gauss-Newton matrix is positive semi-definite only up to
        # rounding: a square root from its eigenvalues, the negative ones (rounding) at 0.
        values, vectors = np.linalg.eigh(0.5 * (self.covariance + self.covariance.T))
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        return self.x + rng.standard_normal((count, len(self.x))) @ root.T


def fit_model(tg: Targets, anchor_km_se: float = ANCHOR_KM_SE,
              long_follow_up: bool = True) -> ModelFit:
    """Maximum a posteriori fit of the models to the print (see the module docstring).

    ``anchor_km_se`` scales how far the smooth curve may pass from a printed Kaplan-Meier
    point where few patients are at risk (a fraction of the Kaplan-Meier SE there).
    ``long_follow_up=False`` ends every follow-up by the cut-off (the simpler censoring).
    """
    lay = dataclasses.replace(layout(tg), anchor_km_se=anchor_km_se,
                              long_follow_up=long_follow_up)
    x0 = _start(lay)

    def jacobian(x: np.ndarray, lay: Layout) -> np.ndarray:
        base = misses(x, lay)
        step = 1e-6
        cols = [(misses(x + step * e, lay) - base) / step for e in np.eye(len(x))]
        return np.vstack([np.column_stack(cols), lay.prior_matrix])

    fit = optimize.least_squares(residuals, x0, jac=jacobian, args=(lay,), method="trf",
                                 max_nfev=100, xtol=1e-8, ftol=1e-8)
    jac = fit.jac
    cov = np.linalg.pinv(jac.T @ jac)
    return ModelFit(lay, fit.x, cov, float(fit.cost))
