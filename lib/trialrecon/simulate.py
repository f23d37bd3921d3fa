"""Pseudo patient data calibrated to a trial's printed summary (no curve needed).

Model
-----
Event times follow Weibull distributions with a common shape ``k`` (proportional hazards,
``HR = (scale_c / scale_e)^k``); the exponential model is ``k = 1``. Censoring has two
sources: the data cut-off, after uniform accrual over a fraction ``w`` of the study (time to
cut-off uniform on ``[C (1 - w), C]`` months), and drop-out before progression (withdrawal,
new therapy, loss) at a constant rate per month, shared by the arms or, when events are
printed per arm, one rate each.

Construction
------------
Deterministic: patient ``j`` of ``n`` gets the event time at quantile ``(j - 0.5) / n``, and
accrual and drop-out quantiles through two fixed low-discrepancy permutations (Weyl
sequences), so the same inputs always give the same data. Each arm's times are then scaled
by the one factor that makes its Kaplan-Meier median the printed one.

Calibration
-----------
1. Start: a least-squares Weibull PH fit to the printed medians, landmark rates and HR
   (model level, closed form); a cut-off that gives the printed median follow-up, or else
   the printed number of events or the number the CI width implies
   (``SE = sqrt(1/d_e + 1/d_c)``).
2. The free parameters (shape, scales of arms without a printed median, accrual fraction or
   cut-off, drop-out) are moved until the re-analysis of the pseudo data (Kaplan-Meier
   medians and landmarks, Cox HR and CI, events, follow-up) meets every
   printed figure within its rounding: HR to 2 decimals within 0.005, CI bounds within 0.01,
   medians and follow-up within 0.05 months, events exactly. The printed median follow-up
   is read as the median time to data cut-off (the reverse Kaplan-Meier estimate of
   potential follow-up, which drop-out does not shorten) and is met by construction. See
   :func:`_calibrate` for the search.
3. The final pseudo data are re-analysed independently with lifelines for the table.

Whatever cannot be met is reported as a finding, with the closest fit and the numbers in
the publication that conflict (:func:`_explain`).

References: Bender R, Augustin T, Blettner M. Generating survival times to simulate Cox
proportional hazards models. Stat Med 2005;24:1713-23. Schemper M, Smith TL. A note on
quantifying follow-up in studies of failure time. Control Clin Trials 1996;17:343-6.
Gao F, Han L. Implementing the Nelder-Mead simplex algorithm with adaptive parameters.
Comput Optim Appl 2012;51:259-77.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from lifelines.utils import median_survival_times
from scipy import optimize, special, stats
from statsmodels.duration.survfunc import SurvfuncRight

from . import registry
from .analysis import HazardRatio, cox_hr, fit_km, median_follow_up
from .errors import InputError
from .registry import TIME_TO_EVENT, Analysis
from .summary import p_from_ci, schoenfeld_events, se_log_hr, weibull_shape, z_value

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
SQRT2 = math.sqrt(2.0)
#: Points of each neighbourhood scan at the end of the calibration (a power of two: Sobol).
SCAN = 64
#: Tolerances the issue sets for a reproduction "within rounding" where the print is coarser
#: than these: HR to 2 decimals (0.005), CI bounds 0.01, medians to 1 decimal (0.05 months).
CI_TOLERANCE = 0.01


@dataclass(frozen=True)
class WeibullPH:
    """Weibull event times with a common shape (proportional hazards)."""

    shape: float
    scale_experimental: float
    scale_control: float

    @property
    def hazard_ratio(self) -> float:
        return (self.scale_control / self.scale_experimental) ** self.shape

    def scale(self, experimental: bool) -> float:
        return self.scale_experimental if experimental else self.scale_control

    def survival(self, t: float, experimental: bool) -> float:
        return math.exp(-((t / self.scale(experimental)) ** self.shape))

    def median(self, experimental: bool) -> float:
        return self.scale(experimental) * math.log(2.0) ** (1.0 / self.shape)

    def rmst(self, tau: float, experimental: bool) -> float:
        """Restricted mean survival time up to ``tau`` months: the area under ``S``.

        ``int_0^tau exp(-(t/s)^k) dt = s Gamma(1 + 1/k) P(1/k, (tau/s)^k)``, with ``P`` the
        regularised lower incomplete gamma function.
        """
        s, k = self.scale(experimental), self.shape
        return s * math.gamma(1.0 + 1.0 / k) * float(special.gammainc(1.0 / k, (tau / s) ** k))

    def quantile_times(self, n: int, experimental: bool) -> np.ndarray:
        u = (np.arange(1, n + 1) - 0.5) / n
        return self.scale(experimental) * (-np.log1p(-u)) ** (1.0 / self.shape)


@dataclass(frozen=True)
class Censoring:
    """Potential follow-up (months): uniform accrual, a data cut-off, and drop-out.

    Administrative follow-up is uniform on ``[end (1 - accrual_fraction), end]``; besides, a
    patient leaves follow-up early (withdrawal, new therapy, loss) at a constant rate per
    month, which may differ between arms (drop-out for toxicity, for example).
    """

    end: float
    accrual_fraction: float
    dropout_experimental: float = 0.0
    dropout_control: float = 0.0

    def times(self, orders: tuple[np.ndarray, np.ndarray], experimental: bool
              ) -> tuple[np.ndarray, np.ndarray]:
        """Censoring times of an arm, and each patient's time to the data cut-off.

        ``orders`` pair the arm's patients with accrual and drop-out quantiles.
        """
        admin_order, dropout_order = orders
        n = len(admin_order)
        admin = self.end * (1.0 - self.accrual_fraction * (admin_order + 0.5) / n)
        rate = self.dropout_experimental if experimental else self.dropout_control
        if rate <= 0:
            return admin, admin
        return np.minimum(admin, -np.log1p(-(dropout_order + 0.5) / n) / rate), admin


@dataclass(frozen=True)
class SummaryFit:
    """Pseudo patient data of both arms with the fitted model and the comparison table.

    Attributes
    ----------
    ipd
        Columns ``time`` (months), ``event`` (1/0), ``arm`` (registry arm names).
    model, censoring
        The fitted event-time and censoring models.
    table
        Reported vs reconstructed, one row per printed figure: ``quantity, arm, reported,
        reconstructed, difference, tolerance, within``; reconstructed values are derived.
    misses
        One finding per cause of the figures no parameter set reproduced, with the printed
        numbers that conflict.
    dropped_out
        Patients per arm censored by drop-out (before an event and before the cut-off).
    """

    analysis_id: str
    ipd: pd.DataFrame
    model: WeibullPH
    censoring: Censoring
    table: pd.DataFrame
    misses: tuple[str, ...]
    dropped_out: tuple[int, int]

    def describe(self) -> str:
        """The fitted model in one sentence, for people (all figures derived)."""
        m, c = self.model, self.censoring
        names = self.ipd.arm.unique()
        n = [int((self.ipd.arm == name).sum()) for name in names]
        trend = ("rising" if m.shape > 1.05 else "falling" if m.shape < 0.95 else
                 "about constant")
        rates = {c.dropout_experimental, c.dropout_control}
        dropout = ("no drop-out" if rates == {0.0} else
                   f"drop-out {c.dropout_experimental:.3f} per month"
                   + (f" ({names[0]}) and {c.dropout_control:.3f} ({names[1]})"
                      if len(rates) > 1 else " in both arms")
                   + f": {self.dropped_out[0]} of {n[0]} and {self.dropped_out[1]} of {n[1]} "
                     "patients censored before an event and before the cut-off")
        return (f"Weibull shape {m.shape:.2f} (hazard {trend} over time); scales "
                f"{m.scale_experimental:.3g} ({names[0]}) and {m.scale_control:.3g} ({names[1]}) "
                f"months, model HR {m.hazard_ratio:.3f}; data cut-off {c.end:.1f} months after "
                f"the first randomisation, accrual over {100 * c.accrual_fraction:.0f}% of it; "
                f"{dropout}.")

    @property
    def parameters(self) -> dict[str, float]:
        return {"weibull_shape": self.model.shape,
                "scale_experimental_months": self.model.scale_experimental,
                "scale_control_months": self.model.scale_control,
                "model_hazard_ratio": self.model.hazard_ratio,
                "censoring_end_months": self.censoring.end,
                "accrual_fraction": self.censoring.accrual_fraction,
                "dropout_experimental_per_month": self.censoring.dropout_experimental,
                "dropout_control_per_month": self.censoring.dropout_control}


@dataclass(frozen=True)
class _Targets:
    """What was printed, as numbers."""

    names: tuple[str, str]
    n: tuple[int, int]
    medians: dict[bool, float | None]  # None: not reached; key absent: not printed
    landmarks: list[tuple[bool, float, float, float]]  # (experimental, t, percent, tolerance)
    hr: float | None
    hr_tol: float
    se: float | None
    ci: tuple[float, float] | None
    level: float
    events: int | None
    arm_events: tuple[int, int] | None
    follow_up: float | None
    horizon: float


def _targets(a: Analysis) -> _Targets:
    names = a.arm_names
    if a.endpoint not in TIME_TO_EVENT or len(names) != 2:
        raise InputError("only two-arm time-to-event analyses can be reconstructed",
                         row=a.id, column="endpoint")
    arms = [a.arms[x] for x in names]
    if any(arm.n is None for arm in arms):
        raise InputError("arm sizes are not reported in this version, so patients cannot be "
                         "rebuilt", row=a.id, column="arms.n",
                         advice="use a version of the analysis that prints them")
    medians: dict[bool, float | None] = {}
    landmarks = []
    for experimental, arm in zip((True, False), arms, strict=True):
        if arm.median is not None:
            medians[experimental] = arm.median.value
        for lm in arm.landmarks:
            if lm.method == "km":
                landmarks.append((experimental, lm.time_months, lm.percent.value,
                                  max(lm.percent.half_unit(), 0.05)))
    if not any(v is not None for v in medians.values()) and not landmarks:
        raise InputError("neither a median nor a landmark rate is reported", row=a.id,
                         column="arms.median", advice="the curves' level cannot be pinned")
    hr = a.hazard_ratio
    per_arm = [arm.events for arm in arms]
    events = sum(per_arm) if all(e is not None for e in per_arm) else a.events_total
    known = [t for _, t, _, _ in landmarks] + [v for v in medians.values() if v]
    horizon = max(known + [a.follow_up_months or 0.0])
    return _Targets(
        names=names, n=(arms[0].n, arms[1].n), medians=medians, landmarks=landmarks,
        hr=None if hr is None else hr.printed.value,
        hr_tol=0.005 if hr is None else max(hr.printed.half_unit(), 0.005),
        se=None if hr is None else se_log_hr(hr.printed.lower, hr.printed.upper, hr.level),
        ci=None if hr is None else (hr.printed.lower, hr.printed.upper),
        level=95.0 if hr is None else hr.level, events=events,
        arm_events=None if None in per_arm else tuple(per_arm), follow_up=a.follow_up_months,
        horizon=horizon)


def _fit_model(tg: _Targets) -> WeibullPH:
    """Least-squares Weibull PH fit to medians, landmarks and HR (model-level, closed form)."""

    def unpack(x: np.ndarray) -> WeibullPH:
        return WeibullPH(math.exp(x[2]), math.exp(x[0]), math.exp(x[1]))

    def residuals(x: np.ndarray) -> np.ndarray:
        m = unpack(x)
        out = []
        for experimental, value in tg.medians.items():
            if value is not None:
                out.append((m.median(experimental) - value) / 0.05)
            else:  # not reached: survival at the horizon must stay above one half
                out.append(max(0.0, 0.5 - m.survival(tg.horizon, experimental)) / 0.005)
        for experimental, t, pct, tol in tg.landmarks:
            out.append((100.0 * m.survival(t, experimental) - pct) / tol)
        if tg.hr is not None:
            out.append((math.log(m.hazard_ratio) - math.log(tg.hr)) / (tg.hr_tol / tg.hr))
        out.append(x[2] / 50.0)  # weak prior: exponential unless the figures say otherwise
        return np.asarray(out)

    level = [v for v in tg.medians.values() if v] or [tg.horizon]
    scale = float(np.mean(level)) / math.log(2.0)
    ratio = tg.hr if tg.hr is not None else 1.0
    x0 = np.array([math.log(scale / ratio), math.log(scale), 0.0])
    # Bounds keep the search on sane curves: scales 0.001-100,000 months, shape 0.1-10.
    lo, hi = np.log([1e-3, 1e-3, 0.1]), np.log([1e5, 1e5, 10.0])
    fit = optimize.least_squares(residuals, np.clip(x0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi))
    return unpack(fit.x)


#: A pairing of each arm's patients with accrual and drop-out quantiles: n -> two orders.
Pairing = Callable[[int], tuple[np.ndarray, np.ndarray]]
#: Arms of a sample: times (months), event indicators, times to the data cut-off (months).
Sample = list[tuple[np.ndarray, np.ndarray, np.ndarray]]
#: Event indicators of both arms, kept fixed while the HR is fine-tuned.
Status = list[np.ndarray]


@cache
def _weyl_orders(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of ``j / phi`` and ``j sqrt(2)`` modulo 1 for ``j = 1..n`` (Weyl sequences).

    Low-discrepancy permutations: they spread each arm's accrual and drop-out quantiles over
    its event-time quantiles evenly, without randomness and without lining them up.
    """
    j = np.arange(1, n + 1)
    return tuple(np.argsort(np.modf(j * c)[0], kind="stable").argsort()
                 for c in (GOLDEN, SQRT2))


def _random_orders(seed: int) -> Pairing:
    def orders(n: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([seed, n])
        return rng.permutation(n), rng.permutation(n)
    return orders


def _km(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Event times and the Kaplan-Meier survival just after each (statsmodels)."""
    if not event.any():
        return np.empty(0), np.empty(0)
    sf = SurvfuncRight(time, event)
    return sf.surv_times, sf.surv_prob


def _km_median(time: np.ndarray, event: np.ndarray) -> float:
    """First time the Kaplan-Meier curve is at or below one half (lifelines' convention)."""
    times, surv = _km(time, event)
    below = np.flatnonzero(surv <= 0.5)
    return float(times[below[0]]) if len(below) else math.inf


def _km_at(time: np.ndarray, event: np.ndarray, t: float) -> float:
    times, surv = _km(time, event)
    k = int(np.searchsorted(times, t, side="right"))
    return 1.0 if k == 0 else float(surv[k - 1])


def _cox(sample: Sample) -> HazardRatio:
    """Cox model with the treatment indicator alone, by Newton-Raphson (Breslow's ties).

    The calibration evaluates it hundreds of times per analysis, where lifelines' general
    fitter costs ~15 ms a call. Without tied event times Breslow's and Efron's estimates are
    the same; the final table is re-analysed with lifelines, so a difference would show there.
    """
    (te, de, _), (tc, dc, _) = sample
    time, event = np.r_[te, tc], np.r_[de, dc].astype(bool)
    x = np.r_[np.ones(len(te)), np.zeros(len(tc))]
    order = np.argsort(-time, kind="stable")
    time, event, x = time[order], event[order], x[order]
    # In descending order the risk set of time t is everyone up to the last tie of t.
    last = np.searchsorted(-time, -time, side="right") - 1
    at_risk, exposed, xd = (last + 1.0)[event], np.cumsum(x)[last][event], x[event]

    def newton_terms(beta: float) -> tuple[float, float]:
        w = exposed * math.exp(beta)
        p = w / (w + at_risk - exposed)
        return float((xd - p).sum()), float((p * (1.0 - p)).sum())

    beta = 0.0
    for _ in range(50):
        score, info = newton_terms(beta)
        if info <= 0:
            break
        step = float(np.clip(score / info, -2.0, 2.0))
        beta += step
        if abs(step) < 1e-10:
            break
    _, info = newton_terms(beta)
    se = 1.0 / math.sqrt(info) if info > 0 else math.inf
    z = z_value(95.0)
    return HazardRatio(math.exp(beta), math.exp(beta - z * se), math.exp(beta + z * se), se,
                       float(2 * stats.norm.sf(abs(beta) / se)))


def _sample(model: WeibullPH, cens: Censoring, tg: _Targets, pairing: Pairing,
            status: Status | None = None) -> Sample:
    """Deterministic pseudo patients of both arms, each arm's median polished.

    Patient ``j`` of ``n`` has the event time at quantile ``(j - 0.5) / n``; the polish
    multiplies all of an arm's times (events and censorings) by the one factor that makes its
    Kaplan-Meier median the printed one, so the finite sample meets the print, not only the
    model. The times to cut-off stay the censoring model's: the polish is a correction of a
    few percent to the arm's time scale, and follow-up measured on it would jump with every
    event that crosses the median. With ``status`` given, who has an event is kept from an
    earlier sample.
    """
    out = []
    for k, (n, experimental) in enumerate(zip(tg.n, (True, False), strict=True)):
        t = model.quantile_times(n, experimental)
        c, cut_off = cens.times(pairing(n), experimental)
        event = (t <= c if status is None else status[k]).astype(int)
        time = np.where(event, t, c)
        target, got = tg.medians.get(experimental), _km_median(time, event)
        if target and math.isfinite(got):
            time = time * (target / got)
        out.append((time, event, cut_off))
    return out


def _frame(sample: Sample, tg: _Targets) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"time": t, "event": e, "arm": name, "follow_up": f})
                      for (t, e, f), name in zip(sample, tg.names, strict=True)],
                     ignore_index=True)


def _statistics(sample: Sample, tg: _Targets) -> dict:
    """The printed kinds of figure, re-computed from a sample (fast path of the calibration)."""
    out = {"median": {}, "survival_at_end": {}, "landmark": {}, "cox": _cox(sample),
           "events": [int(e.sum()) for _, e, _ in sample]}
    for (t, e, _), experimental in zip(sample, (True, False), strict=True):
        m = _km_median(t, e)
        out["median"][experimental] = None if math.isinf(m) else m
        out["survival_at_end"][experimental] = _km_at(t, e, math.inf)
    for experimental, t, _, _ in tg.landmarks:
        time, event, _ = sample[0 if experimental else 1]
        out["landmark"][(experimental, t)] = 100.0 * _km_at(time, event, t)
    cut_off = np.concatenate([f for _, _, f in sample])
    out["follow_up"] = _km_median(cut_off, np.ones(len(cut_off)))
    return out


def _observe(ipd: pd.DataFrame, tg: _Targets) -> dict:
    """The same figures as :func:`_statistics`, re-analysed independently with lifelines."""
    arms = [ipd[ipd.arm == name] for name in tg.names]
    fits = [fit_km(a) for a in arms]
    study = pd.DataFrame({"time": ipd.follow_up, "event": 0})  # nobody leaves before cut-off
    out = {"median": {}, "landmark": {}, "cox": cox_hr(arms[0], arms[1]),
           "follow_up": median_follow_up(study), "events": [int(a.event.sum()) for a in arms],
           "fits": fits}
    for experimental, kmf in zip((True, False), fits, strict=True):
        m = float(kmf.median_survival_time_)
        out["median"][experimental] = None if math.isinf(m) else m
    for experimental, t, _, _ in tg.landmarks:
        kmf = fits[0 if experimental else 1]
        at = kmf.survival_function_at_times(t).iloc[0]
        out["landmark"][(experimental, t)] = 100.0 * float(at)
    return out


def _residuals(tg: _Targets, obs: dict) -> list[float]:
    """Misses of a sample, each in units of its printing tolerance (the calibration's loss)."""
    out = []
    for experimental, value in tg.medians.items():
        got, at_end = obs["median"][experimental], obs["survival_at_end"][experimental]
        if value is None:  # not reached: the curve must end above one half
            out.append(max(0.0, 0.5 - at_end) / 0.005)
        elif got is None:  # printed but not reached: push the curve's end below one half
            out.append(20.0 + (at_end - 0.5) / 0.005)
        else:
            out.append((got - value) / 0.05)
    for experimental, t, pct, tol in tg.landmarks:
        out.append((obs["landmark"][(experimental, t)] - pct) / tol)
    if tg.hr is not None:
        cox = obs["cox"]
        out.append(math.log(cox.hr / tg.hr) / math.log1p(tg.hr_tol / tg.hr))
        z = z_value(tg.level)
        for sign, printed in ((-1, tg.ci[0]), (1, tg.ci[1])):
            out.append((math.exp(math.log(cox.hr) + sign * z * cox.se) - printed)
                       / CI_TOLERANCE)
    if tg.arm_events is not None:
        out.extend((got - want) / 0.5 for got, want in zip(obs["events"], tg.arm_events,
                                                           strict=True))
    elif tg.events is not None:
        out.append((sum(obs["events"]) - tg.events) / 0.5)
    if tg.follow_up is not None:
        out.append((obs["follow_up"] - tg.follow_up) / 0.05)
    return out


@dataclass(frozen=True)
class _Layout:
    """Which parameters the calibration moves, and how a vector maps to the two models.

    Every parameter is unconstrained: logs of shape, scales and cut-off, the logit of the
    accrual fraction and the square root of each drop-out rate, so that the simplex never
    sits on a flat bound.
    """

    free: tuple[str, ...]
    fixed: dict
    follow_up: float | None  # printed median follow-up, met by construction
    median_rank: float  # accrual quantile of the patient whose time to cut-off is the median

    def models(self, x: np.ndarray, tg: _Targets) -> tuple[WeibullPH, Censoring]:
        p = self.fixed | dict(zip(self.free, x, strict=True))
        k = math.exp(p["log_shape"])
        # A printed median fixes the arm's scale given the shape; the polish does the rest.
        scales = [tg.medians[e] / math.log(2.0) ** (1.0 / k) if tg.medians.get(e)
                  else math.exp(p[key]) for e, key in ((True, "log_scale_e"),
                                                       (False, "log_scale_c"))]
        shared = p.get("root_dropout", 0.0)
        drop_e, drop_c = (p.get(key, shared) ** 2 for key in ("root_dropout_e",
                                                               "root_dropout_c"))
        w = 1.0 / (1.0 + math.exp(-p["logit_accrual"]))
        # Times to cut-off are end (1 - w v), so their median is end (1 - w v*) for the
        # median patient's v*: a printed median follow-up fixes the cut-off given w.
        end = (math.exp(p["log_end"]) if self.follow_up is None
               else self.follow_up / (1.0 - w * self.median_rank))
        return WeibullPH(k, *scales), Censoring(end, w, drop_e, drop_c)


#: Sane limits of the search (clipped): shape 0.1-10, scales and cut-off 0.001-100,000 months.
_LOG_LIMITS = {"log_shape": (math.log(0.1), math.log(10.0)),
               "log_scale_e": (math.log(1e-3), math.log(1e5)),
               "log_scale_c": (math.log(1e-3), math.log(1e5)),
               "log_end": (math.log(1e-3), math.log(1e5))}


class _Found(Exception):
    """Raised inside the search once every figure is within its tolerance."""


def _calibrate(model: WeibullPH, cens: Censoring, tg: _Targets, pairing: Pairing
               ) -> tuple[WeibullPH, Censoring, Status | None]:
    """Move shape, free scales and censoring until the sample's re-analysis meets the print.

    The loss is the sum of squared tolerance-scaled misses (:func:`_residuals`) plus weak
    priors for what the figures leave open (the exponential shape, no drop-out). The figures
    of a finite sample are step functions of the parameters: who is censored changes with
    every parameter, and each change moves the Cox HR by about its printed rounding. So:

    1. Nelder-Mead (adaptive; Gao and Han 2012) follows the trend from the model-level start;
    2. a quasi-random scan of the neighbourhood (Sobol points, fixed seed) looks for a point
       where the jumps fall favourably;
    3. the scan is repeated with the HR fine-tuned at each point: with who has an event held
       fixed the shape moves event times only, and the HR follows in steps far finer than
       its rounding.

    The search stops as soon as every figure is within 0.8 of its tolerance.
    """
    w = min(max(cens.accrual_fraction, 0.02), 0.998)
    start = {"log_shape": math.log(model.shape),
             "log_scale_e": math.log(model.scale_experimental),
             "log_scale_c": math.log(model.scale_control), "log_end": math.log(cens.end),
             "logit_accrual": math.log(w / (1.0 - w))}
    # The reverse Kaplan-Meier median of times to cut-off is the ceil(N/2)-th shortest, i.e.
    # the patient with the ceil(N/2)-th largest accrual quantile v.
    v = np.sort(np.concatenate([(pairing(n)[0] + 0.5) / n for n in tg.n]))[::-1]
    median_rank = float(v[math.ceil(len(v) / 2) - 1])
    free = ["log_shape"]
    free += [key for e, key in ((True, "log_scale_e"), (False, "log_scale_c"))
             if not tg.medians.get(e)]
    free.append("logit_accrual" if tg.follow_up is not None else "log_end")
    if tg.arm_events is not None:  # the split of events between arms needs its own lever
        free += ["root_dropout_e", "root_dropout_c"]
    elif tg.follow_up is not None:  # follow-up is fixed: drop-out is the other lever on events
        free.append("root_dropout")
    layout = _Layout(tuple(free), {k: v for k, v in start.items() if k not in free},
                     tg.follow_up, median_rank)
    lo = np.array([_LOG_LIMITS.get(k, (-np.inf, np.inf))[0] for k in free])
    hi = np.array([_LOG_LIMITS.get(k, (-np.inf, np.inf))[1] for k in free])
    horizon = max(tg.horizon, 1.0)
    best: list = [math.inf, None, None]  # loss, x, status

    def loss(x: np.ndarray, status: Status | None = None) -> tuple[float, dict]:
        m, c = layout.models(np.clip(x, lo, hi), tg)
        obs = _statistics(_sample(m, c, tg, pairing, status), tg)
        misses = _residuals(tg, obs)
        priors = [math.log(m.shape) / 3.0,
                  (c.dropout_experimental + c.dropout_control) * horizon / 5.0]
        # Squares centre each figure on its print; the hinge beyond 0.7 of the tolerance
        # makes a figure outside its rounding cost ten times more than one inside it.
        r = np.asarray(misses + priors)
        value = float(np.sum(r**2) + 10.0 * np.sum(np.maximum(np.abs(r) - 0.7, 0.0) ** 2))
        if value < best[0]:
            best[:] = value, np.array(x, dtype=float), status
            if max(map(abs, misses)) <= 0.8:
                raise _Found
        return value, obs

    def tuned(x: np.ndarray) -> None:
        """Bisect the shape onto the printed HR with event status held (step 3)."""
        m, c = layout.models(np.clip(x, lo, hi), tg)
        status = [e.astype(bool) for _, e, _ in _sample(m, c, tg, pairing)]
        i = free.index("log_shape")

        def miss(log_k: float) -> float:
            y = x.copy()
            y[i] = log_k
            return math.log(loss(y, status)[1]["cox"].hr / tg.hr)

        a, b = x[i] - 0.1, x[i] + 0.1
        fa, fb = miss(a), miss(b)
        for _ in range(12 if fa * fb < 0 else 0):  # 0.2 / 2^12 in log shape
            mid = 0.5 * (a + b)
            fm = miss(mid)
            a, fa, b, fb = (mid, fm, b, fb) if fa * fm > 0 else (a, fa, mid, fm)

    def scan(width: float | np.ndarray, points: int, tune: bool = False) -> None:
        centre = best[1]
        box = (stats.qmc.Sobol(len(centre), seed=0).random(points) - 0.5) * 2 * width
        for d in box:
            (tuned if tune else loss)(centre + d)

    # Half-widths of the first scan: accrual 5-95% (logit +-3), drop-out up to 0.09 a month,
    # the shape and the free scales and cut-off within a factor of about 1.6.
    wide = np.array([{"logit_accrual": 3.0, "log_shape": 0.3}.get(
        k, 0.3 if k.startswith("root_dropout") else 0.5) for k in free])

    try:
        loss(np.clip([start.get(k, 0.0) for k in free], lo, hi))  # drop-out starts at none
        scan(wide, 2 * SCAN)  # a coarse look around the start, for a better place to begin
        x = best[1]
        simplex = np.vstack([x] + [x + 0.2 * np.eye(len(x))[i] for i in range(len(x))])
        optimize.minimize(lambda y: loss(y)[0], x, method="Nelder-Mead",
                          options={"initial_simplex": simplex, "maxfev": 100 * len(free),
                                   "xatol": 1e-3, "fatol": 1e-2, "adaptive": True})
        scan(0.1, SCAN)
        scan(0.03, SCAN)
        if tg.hr is not None:
            scan(0.05, SCAN // 4, tune=True)
            scan(0.02, SCAN // 4, tune=True)
    except _Found:
        pass
    return (*layout.models(np.clip(best[1], lo, hi), tg), best[2])


def _solve_censoring(model: WeibullPH, tg: _Targets, pairing: Pairing) -> Censoring:
    """Start of the calibration: the model's cut-off and accrual, without drop-out.

    With a printed median follow-up, accrual over half the study (the calibration's first
    scan covers 5-95%) and the cut-off that gives that follow-up. Without, accrual over the
    whole study and the cut-off that meets the number of events (printed, or else implied by
    the CI width, ``SE = sqrt(1/d_e + 1/d_c)``).
    """
    if tg.follow_up is not None:
        return Censoring(tg.follow_up / 0.75, 0.5)
    se_target = tg.se
    times = [model.quantile_times(n, e) for n, e in zip(tg.n, (True, False), strict=True)]
    orders = [pairing(n)[0] for n in tg.n]
    top = 1.05 * max(float(t.max()) for t in times)

    # Event j of an arm is observed when t_j <= end (1 - v_j): precompute t_j and v_j.
    spans = [((o + 0.5) / len(o), t) for t, o in zip(times, orders, strict=True)]

    def miss(end: float) -> float:
        de, dc = (int(np.count_nonzero(t <= end * (1.0 - v))) for v, t in spans)
        if tg.events is not None:
            return de + dc - tg.events
        if se_target is not None:
            return (se_target - math.sqrt(1 / max(de, 0.5) + 1 / max(dc, 0.5)))
        return 0.0

    if tg.events is None and se_target is None:
        return Censoring(1.5 * tg.horizon, 1.0)
    lo, hi = 1e-6, top
    if miss(hi) < 0:
        return Censoring(hi, 1.0)
    for _ in range(40):  # 2^-40 of the range: far below a day
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if miss(mid) < 0 else (lo, mid)
    return Censoring(hi, 1.0)


def fit_summary(analysis: Analysis | str, *, seed: int = 0, order: str = "golden"
                ) -> SummaryFit:
    """Calibrate pseudo patient data to a registry analysis; see the module docstring.

    Parameters
    ----------
    analysis
        An analysis of the registry or its id (e.g. ``cabinet/pnet/pfs/nejm-2025``).
    seed
        Used only with ``order="random"``.
    order
        How event and censoring quantiles are paired: ``"golden"`` (deterministic, default)
        or ``"random"`` (a seeded permutation, for sensitivity analyses).
    """
    a = registry.get(analysis) if isinstance(analysis, str) else analysis
    tg = _targets(a)
    if order not in ("golden", "random"):
        raise InputError(f"unknown order {order!r}", column="order",
                         advice="use 'golden' or 'random'")
    pairing = _weyl_orders if order == "golden" else _random_orders(seed)
    model = _fit_model(tg)
    model, cens, status = _calibrate(model, _solve_censoring(model, tg, pairing), tg, pairing)
    ipd = _frame(_sample(model, cens, tg, pairing, status), tg)
    obs = _observe(ipd, tg)
    table = _table(a, tg, obs)
    dropped = []
    for k, (n, experimental) in enumerate(zip(tg.n, (True, False), strict=True)):
        censored, cut_off = cens.times(pairing(n), experimental)
        event = ipd.event[ipd.arm == tg.names[k]].to_numpy(bool)
        dropped.append(int(np.count_nonzero(~event & (censored < cut_off))))
    return SummaryFit(a.id, ipd[["time", "event", "arm"]], model, cens, table,
                      _explain(table, a, tg, obs), tuple(dropped))


def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "NR"
    return "NR" if math.isinf(x) else f"{x:.{digits}f}"


def _table(a: Analysis, tg: _Targets, obs: dict) -> pd.DataFrame:
    rows = []

    def add(quantity: str, arm: str, reported: str, got: float | None, target: float | None,
            tol: float | None, digits: int = 2) -> None:
        if target is None or got is None or tol is None:
            diff, within = math.nan, (None if tol is None else (target is None) == (got is None))
        else:
            diff = got - target
            within = abs(diff) <= tol + 1e-9
        rows.append({"quantity": quantity, "arm": arm, "reported": reported,
                     "reconstructed": _fmt(got, digits), "difference": diff,
                     "tolerance": tol, "within": within})

    for k, (name, experimental) in enumerate(zip(tg.names, (True, False), strict=True)):
        arm = a.arms[name]
        add("N", name, str(arm.n), float(tg.n[k]), float(arm.n), 0.0, 0)
        add("events", name, "not reported" if arm.events is None else str(arm.events),
            float(obs["events"][k]), None if arm.events is None else float(arm.events),
            None if arm.events is None else 0.5, 0)
        if arm.median is not None:
            m = arm.median
            add("median (months)", name, m.text, obs["median"][experimental], m.value,
                max(m.half_unit(), 0.05) if m.reached else 0.0, 1)
            if m.lower is not None or m.upper is not None:
                kmf = obs["fits"][k]
                ci = kmf.confidence_interval_
                lo, hi = median_survival_times(ci).to_numpy().ravel()
                for bound, got, printed in (("lower", lo, m.lower), ("upper", hi, m.upper)):
                    if printed is not None:
                        add(f"median 95% CI {bound} (not calibrated)", name, f"{printed:g}",
                            float(got), printed, max(m.half_unit(bound), 0.05), 1)
        for lm in arm.landmarks:
            if lm.method == "km":
                add(f"{lm.time_months:g}-month rate (%)", name, lm.percent.text,
                    obs["landmark"][(experimental, lm.time_months)], lm.percent.value,
                    max(lm.percent.half_unit(), 0.05), 1)
    if a.events_total is not None and any(a.arms[x].events is None for x in tg.names):
        add("events (total)", "", str(a.events_total), float(sum(obs["events"])),
            float(a.events_total), 0.5, 0)
    if tg.hr is not None:
        cox, hr = obs["cox"], a.hazard_ratio
        z = z_value(tg.level)
        lo, hi = (math.exp(math.log(cox.hr) + s * z * cox.se) for s in (-1, 1))
        add("hazard ratio", "", hr.printed.text, cox.hr, hr.printed.value, tg.hr_tol)
        add(f"HR {tg.level:g}% CI lower", "", f"{hr.printed.lower:g}", lo, hr.printed.lower,
            CI_TOLERANCE)
        add(f"HR {tg.level:g}% CI upper", "", f"{hr.printed.upper:g}", hi, hr.printed.upper,
            CI_TOLERANCE)
        if a.p_value is not None:
            p = 2 * stats.norm.sf(abs(math.log(cox.hr)) / cox.se)
            qlo, qhi = a.p_value.parsed.two_sided()
            rows.append({"quantity": "p-value (two-sided)", "arm": "",
                         "reported": a.p_value.printed, "reconstructed": f"{p:.2g}",
                         "difference": math.nan, "tolerance": math.nan,
                         "within": bool(qlo <= p <= qhi)})
    if a.follow_up_months is not None:
        add("median follow-up (months)", "", f"{a.follow_up_months:g}", obs["follow_up"],
            a.follow_up_months, 0.05, 1)
    return pd.DataFrame(rows)


#: Common Weibull shapes beyond these are not credible for one PH curve pair (a hazard
#: falling or rising more than threefold per doubling of time, roughly).
PLAUSIBLE_SHAPE = (1 / 3, 3.0)


def _explain(table: pd.DataFrame, a: Analysis, tg: _Targets, obs: dict) -> tuple[str, ...]:
    """One finding per cause of the figures outside their rounding, with the numbers behind it.

    Each cause is worked out from the printed figures alone (the checks of :mod:`summary`),
    so that the finding says what in the publication does not fit together, not only that
    the fit missed.
    """
    missed = table[(table.within == False) & ~table.quantity.str.contains("not calibrated")]  # noqa: E712
    if missed.empty:
        return ()
    groups: dict[str, list[str]] = {}
    for row in missed.itertuples():
        what = (f"{row.quantity}{' (' + row.arm + ')' if row.arm else ''} "
                f"{row.reconstructed} vs {row.reported}")
        groups.setdefault(_cause(row.quantity, a, tg, obs), []).append(what)
    return tuple(f"{'; '.join(whats)}: {cause}" for cause, whats in groups.items())


def _cause(quantity: str, a: Analysis, tg: _Targets, obs: dict) -> str:
    """Why a printed figure cannot be met, in numbers (see :func:`_explain`)."""
    cox, events = obs["cox"], sum(obs["events"])
    z = z_value(tg.level)
    if quantity.startswith("p-value"):
        p_ci = p_from_ci(tg.hr, *tg.ci, tg.level)
        lo, hi = a.p_value.parsed.two_sided()
        if not lo <= p_ci <= hi:
            return (f"the printed p is not the Wald p of the printed HR and CI ({p_ci:.2g}); it "
                    "comes from another test, probably the stratified log-rank test")
        edges = [2 * stats.norm.sf(abs(math.log(tg.hr + s * tg.hr_tol)) / tg.se) for s in (1, -1)]
        return (f"within the rounding of the printed HR the Wald p runs from {min(edges):.2g} "
                f"to {max(edges):.2g}, so a p printed to more digits than the HR pins the "
                "HR more finely than the reconstruction's steps do")
    pairs = [(t, pe, pc) for e, t, pe, _ in tg.landmarks if e
             for e2, t2, pc, _ in tg.landmarks if not e2 and t2 == t and 0 < pc < 100 and pe > 0]
    if pairs and tg.hr is not None and not quantity.startswith("events"):
        t, pe, pc = pairs[0]
        implied = math.log(pe / 100) / math.log(pc / 100)
        return (f"under proportional hazards the {t:g}-month rates {pe:g}% vs {pc:g}% imply "
                f"HR {implied:.2f}, but {tg.hr:g} is printed: the hazards are not "
                "proportional (the printed HR averages an effect that changes over time), "
                "so one PH model cannot give both and the fit balances them")
    me, mc = (tg.medians.get(e) for e in (True, False))
    if me and mc and tg.hr is not None:
        if (me > mc) != (tg.hr < 1):
            return (f"the experimental median ({me:g} vs {mc:g} months) and the HR ({tg.hr:g}) "
                    "favour different arms: under proportional hazards they cannot, so the "
                    "curves cross")
        k = weibull_shape(tg.hr, me, mc)
        if not PLAUSIBLE_SHAPE[0] <= k <= PLAUSIBLE_SHAPE[1]:
            return (f"the medians {me:g} vs {mc:g} months with HR {tg.hr:g} imply a common "
                    f"Weibull shape of {k:.2f} (ln HR / ln of the median ratio): no credible "
                    "pair of proportional-hazards curves gives both, which suggests converging "
                    "or crossing curves, or medians read where few patients are at risk")
    if tg.se is not None and not quantity.startswith("median"):
        implied = schoenfeld_events(tg.se, tg.n[0] / sum(tg.n))
        lo, hi = (tg.hr * math.exp(s * z * cox.se) for s in (-1, 1))
        if tg.events is not None:
            return (f"with the printed {tg.events} events the Cox SE of log HR is "
                    f"{cox.se:.3f} (CI {lo:.2f}-{hi:.2f} around the printed HR), but the "
                    f"printed CI needs {tg.se:.3f}, about {implied:.0f} events (Schoenfeld): "
                    "CI and event count do not come from one unstratified Cox model (a "
                    "stratified model widens the CI)")
        return (f"the printed CI needs an SE of log HR of {tg.se:.3f} (about {implied:.0f} "
                f"events); the closest pseudo data have {events} events, SE {cox.se:.3f} and "
                f"HR {cox.hr:.3f}, where one event more or less moves the HR by about its "
                "rounding")
    return ("with the other printed figures met, the curve crosses 50% elsewhere; a median "
            "is read where few patients are at risk, so the tail decides it")


def ipd_from_summary(analysis: Analysis | str, *, seed: int = 0, **options) -> pd.DataFrame:
    """Pseudo patient data (``time``, ``event``, ``arm``) calibrated to a printed summary.

    See :func:`fit_summary` for the fitted model and the reported-vs-reconstructed table.
    """
    return fit_summary(analysis, seed=seed, **options).ipd


def reconstructable(items: list[Analysis] | None = None) -> list[Analysis]:
    """Time-to-event analyses with arm sizes, a level (median or landmark) and an HR."""
    out = []
    for a in items if items is not None else registry.analyses():
        try:
            tg = _targets(a)
        except InputError:
            continue
        if tg.hr is not None:
            out.append(a)
    return out
