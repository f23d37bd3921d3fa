"""Pseudo patient data calibrated to a trial's printed summary (no curve needed).

Model
-----
Event times follow Weibull distributions with a common shape ``k`` (proportional hazards,
``HR = (scale_c / scale_e)^k``); the exponential model is ``k = 1``. Censoring is
administrative: potential follow-up is uniform on ``[C (1 - w), C]`` (uniform accrual over a
fraction ``w`` of the study, cut-off at ``C`` months).

Construction
------------
Deterministic: patient ``j`` of ``n`` gets the event time at quantile ``(j - 0.5) / n`` and the
potential follow-up at quantile ``(pi(j) - 0.5) / n``, where ``pi`` is a fixed golden-ratio
permutation that mixes the two without randomness. The same inputs always give the same data.

Calibration
-----------
1. The model (shape and scales) is fitted by least squares to the printed medians, landmark
   rates and HR, each residual scaled by its printing tolerance (a weak prior at ``k = 1``
   decides what the figures leave open; a median "not reached" is a one-sided constraint).
2. The censoring end ``C`` is solved so that the number of events meets the printed count, or
   else the count that the CI width implies (``SE = sqrt(1/d_e + 1/d_c)``); ``w`` so that the
   median potential follow-up meets the printed median follow-up.
3. The pseudo data are re-analysed with lifelines (KM medians, landmarks, Cox HR, reverse-KM
   follow-up); the gaps between re-analysis and the printed figures shift the model's targets,
   and steps 1-3 repeat until every figure is within its printing tolerance or stops improving.

Whatever cannot be met is reported as a finding, with the closest fit.

References: Bender R, Augustin T, Blettner M. Generating survival times to simulate Cox
proportional hazards models. Stat Med 2005;24:1713-23. Schemper M, Smith TL. A note on
quantifying follow-up in studies of failure time. Control Clin Trials 1996;17:343-6.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from lifelines.utils import median_survival_times
from scipy import optimize, stats

from . import registry
from .analysis import cox_hr, fit_km, median_follow_up
from .errors import InputError
from .registry import TIME_TO_EVENT, Analysis
from .summary import se_log_hr, z_value

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
#: Tolerances the issue sets for a reproduction "within rounding" where the print is coarser
#: than these: HR to 2 decimals (0.005), CI bounds 0.01, medians to 1 decimal (0.05 months).
CI_TOLERANCE = 0.01
#: Rounds that re-solve the censoring against the re-analysed CI width and landmark rates.
CENSORING_ROUNDS = 3


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

    def quantile_times(self, n: int, experimental: bool) -> np.ndarray:
        u = (np.arange(1, n + 1) - 0.5) / n
        return self.scale(experimental) * (-np.log1p(-u)) ** (1.0 / self.shape)


@dataclass(frozen=True)
class Censoring:
    """Potential follow-up uniform on ``[end (1 - accrual_fraction), end]`` (months)."""

    end: float
    accrual_fraction: float

    def times(self, order: np.ndarray) -> np.ndarray:
        v = (order + 0.5) / len(order)
        return self.end * (1.0 - self.accrual_fraction * v)


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
        One sentence per figure that no parameter set reproduced, with what it suggests.
    """

    analysis_id: str
    ipd: pd.DataFrame
    model: WeibullPH
    censoring: Censoring
    table: pd.DataFrame
    misses: tuple[str, ...]

    @property
    def parameters(self) -> dict[str, float]:
        return {"weibull_shape": self.model.shape,
                "scale_experimental_months": self.model.scale_experimental,
                "scale_control_months": self.model.scale_control,
                "model_hazard_ratio": self.model.hazard_ratio,
                "censoring_end_months": self.censoring.end,
                "accrual_fraction": self.censoring.accrual_fraction}


@dataclass
class _Targets:
    """What was printed, as numbers (mutable copies get shifted during calibration)."""

    names: tuple[str, str]
    n: tuple[int, int]
    medians: dict[bool, float | None]  # None: not reached; key absent: not printed
    landmarks: list[tuple[bool, float, float, float]]  # (experimental, t, percent, tolerance)
    hr: float | None
    hr_tol: float
    se: float | None
    level: float
    events: int | None
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
        level=95.0 if hr is None else hr.level, events=events, follow_up=a.follow_up_months,
        horizon=horizon)


def _fit_model(tg: _Targets, start: WeibullPH | None) -> WeibullPH:
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

    if start is None:
        level = [v for v in tg.medians.values() if v] or [tg.horizon]
        scale = float(np.mean(level)) / math.log(2.0)
        ratio = tg.hr if tg.hr is not None else 1.0
        x0 = np.array([math.log(scale / ratio), math.log(scale), 0.0])
    else:
        x0 = np.log([start.scale_experimental, start.scale_control, start.shape])
    # Bounds keep the search on sane curves: scales 0.001-100,000 months, shape 0.1-10.
    lo, hi = np.log([1e-3, 1e-3, 0.1]), np.log([1e5, 1e5, 10.0])
    fit = optimize.least_squares(residuals, np.clip(x0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi))
    return unpack(fit.x)


@cache
def _orders(n: int) -> np.ndarray:
    return np.argsort(np.modf(np.arange(1, n + 1) * GOLDEN)[0], kind="stable").argsort()


def _solve_censoring(model: WeibullPH, tg: _Targets, se_target: float | None,
                     follow_up: float | None) -> Censoring:
    """Censoring end (events or CI width) and accrual fraction (median follow-up)."""
    times = [model.quantile_times(n, e) for n, e in zip(tg.n, (True, False), strict=True)]
    orders = [_orders(n) for n in tg.n]
    top = 1.05 * max(float(t.max()) for t in times)

    # Event j of an arm is observed when t_j <= end (1 - w v_j): precompute t_j and v_j.
    spans = [((o + 0.5) / len(o), t) for t, o in zip(times, orders, strict=True)]

    def counts(end: float, w: float) -> tuple[int, int]:
        de, dc = (int(np.count_nonzero(t <= end * (1.0 - w * v))) for v, t in spans)
        return de, dc

    def miss(end: float, w: float) -> float:
        de, dc = counts(end, w)
        if tg.events is not None:
            return de + dc - tg.events
        if se_target is not None:
            return (se_target - math.sqrt(1 / max(de, 0.5) + 1 / max(dc, 0.5)))
        return 0.0

    def end_for(w: float) -> float:
        if tg.events is None and se_target is None:
            return 1.5 * (follow_up or tg.horizon)
        lo, hi = 1e-6, top
        if miss(hi, w) < 0:
            return hi
        for _ in range(40):  # 2^-40 of the range: far below a day
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if miss(mid, w) < 0 else (lo, mid)
        return hi

    if follow_up is None:
        return Censoring(end_for(1.0), 1.0)
    best = None
    for w in np.linspace(0.05, 1.0, 20):
        end = end_for(float(w))
        gap = abs(end * (1 - w / 2) - follow_up)
        if best is None or gap < best[0]:
            best = (gap, Censoring(end, float(w)))
    return best[1]


def _polish(ipd: pd.DataFrame, tg: _Targets) -> pd.DataFrame:
    """Rescale each arm's times so that its Kaplan-Meier median is the printed one.

    Multiplying all of an arm's times (events and censorings) by ``f`` multiplies its KM
    median by exactly ``f``; the finite sample then meets the printed median, not only the
    model. The HR and follow-up this moves are corrected in the next calibration round.
    """
    out = ipd.copy()
    for name, experimental in zip(tg.names, (True, False), strict=True):
        target = tg.medians.get(experimental)
        if not target:
            continue
        rows = out.arm == name
        got = float(fit_km(out[rows]).median_survival_time_)
        if math.isfinite(got) and got > 0:
            out.loc[rows, "time"] *= target / got
    return out


def _observe(ipd: pd.DataFrame, tg: _Targets) -> dict:
    arms = [ipd[ipd.arm == name] for name in tg.names]
    fits = [fit_km(a) for a in arms]
    out = {"median": {}, "landmark": {}, "cox": cox_hr(arms[0], arms[1]),
           "follow_up": median_follow_up(ipd), "events": [int(a.event.sum()) for a in arms],
           "fits": fits}
    for experimental, kmf in zip((True, False), fits, strict=True):
        m = float(kmf.median_survival_time_)
        out["median"][experimental] = None if math.isinf(m) else m
    for experimental, t, _, _ in tg.landmarks:
        kmf = fits[0 if experimental else 1]
        at = kmf.survival_function_at_times(t).iloc[0]
        out["landmark"][(experimental, t)] = 100.0 * float(at)
    return out


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
    pairing = _orders if order == "golden" else (
        lambda n: np.random.default_rng(seed).permutation(n))

    goal = _Targets(**vars(tg))
    se_goal = tg.se
    model = _fit_model(goal, None)
    for _ in range(CENSORING_ROUNDS):
        cens = _solve_censoring(model, tg, se_goal, tg.follow_up)
        raw = _build(model, cens, tg, pairing)
        obs = _observe(_polish(raw, tg), tg)
        if se_goal is not None:
            se_goal *= tg.se / obs["cox"].se
        # Shift the landmark targets by what the finite, censored sample misses.
        goal.landmarks = [(e, t, p + (tp - obs["landmark"][(e, t)]), tol)
                          for (e, t, p, tol), (_, _, tp, _) in zip(goal.landmarks, tg.landmarks,
                                                                   strict=True)]
        goal.horizon = max(tg.horizon, cens.end)  # "not reached" holds to the last follow-up
        model = _fit_model(goal, model)
    # Who has an event is now fixed; only event times move, so the HR answers smoothly.
    status = [raw.loc[raw.arm == name, "event"].to_numpy(bool) for name in tg.names]
    if tg.hr is not None and not tg.landmarks:
        model = _tune_hr(model, cens, tg, pairing, status)
    ipd = _polish(_build(model, cens, tg, pairing, status), tg)
    obs = _observe(ipd, tg)
    table = _table(a, tg, obs)
    return SummaryFit(a.id, ipd, model, cens, table, _explain(table, tg))


def _tune_hr(model: WeibullPH, cens: Censoring, tg: _Targets,
             pairing: Callable[[int], np.ndarray], status: list[np.ndarray]) -> WeibullPH:
    """Solve the sample's Cox HR onto the printed HR (Brent's method on one lever).

    With both medians printed the polish fixes the scales, so the lever is the shape; with a
    median not reached the lever is the experimental scale (the model HR).
    """
    both = all(tg.medians.get(e) for e in (True, False))

    def model_at(x: float) -> WeibullPH:
        if both:
            k = math.exp(x)
            return WeibullPH(k, tg.medians[True] / math.log(2) ** (1 / k),
                             tg.medians[False] / math.log(2) ** (1 / k))
        return WeibullPH(model.shape, model.scale_control * math.exp(-x / model.shape),
                         model.scale_control)

    def miss(x: float) -> float:
        ipd = _polish(_build(model_at(x), cens, tg, pairing, status), tg)
        arms = [ipd[ipd.arm == name] for name in tg.names]
        return math.log(cox_hr(arms[0], arms[1]).hr) - math.log(tg.hr)

    # The Cox HR is rank-based, so it moves in small jumps as times cross: bisect on the
    # bracket and keep the best point seen, stopping once it is within the HR's rounding.
    tol = math.log1p(tg.hr_tol / tg.hr)
    x0 = math.log(model.shape) if both else math.log(model.hazard_ratio)
    grid = [x0 - 0.3, x0, x0 + 0.3]
    values = [miss(x) for x in grid]
    if values[0] * values[-1] > 0:  # no bracket yet: widen once
        grid, values = [x0 - 0.9, *grid, x0 + 0.9], [miss(x0 - 0.9), *values, miss(x0 + 0.9)]
    best = min(zip(values, grid, strict=True), key=lambda p: abs(p[0]))
    for (xa, ya), (xb, yb) in zip(zip(grid, values, strict=True),
                                  zip(grid[1:], values[1:], strict=True), strict=False):
        if ya * yb < 0:
            for _ in range(12):  # 0.3 / 2^12: far finer than the HR's jumps
                if abs(best[0]) <= 0.5 * tol:
                    break
                xm = 0.5 * (xa + xb)
                ym = miss(xm)
                best = min(best, (ym, xm), key=lambda p: abs(p[0]))
                xa, ya, xb, yb = (xm, ym, xb, yb) if ym * ya > 0 else (xa, ya, xm, ym)
            break
    return model_at(best[1])  # closest when no bracket; the table shows any miss


def _build(model: WeibullPH, cens: Censoring, tg: _Targets,
           pairing: Callable[[int], np.ndarray], status: list[np.ndarray] | None = None
           ) -> pd.DataFrame:
    """Deterministic sample; with ``status`` given, who has an event is kept from before."""
    parts = []
    for k, (name, n, experimental) in enumerate(zip(tg.names, tg.n, (True, False), strict=True)):
        t = model.quantile_times(n, experimental)
        c = cens.times(pairing(n))
        event = (t <= c) if status is None else status[k]
        parts.append(pd.DataFrame({"time": np.where(event, t, c), "event": event.astype(int),
                                   "arm": name}))
    return pd.concat(parts, ignore_index=True)


def _gaps(tg: _Targets, obs: dict) -> dict[str, tuple[float, float]]:
    """Signed miss and tolerance of every calibrated figure."""
    out = {}
    for experimental, value in tg.medians.items():
        got = obs["median"][experimental]
        if value is None:
            out[f"median NR {experimental}"] = (0.0 if got is None else 1.0, 0.5)
        else:
            out[f"median {experimental}"] = ((math.inf if got is None else got - value), 0.05)
    for experimental, t, pct, tol in tg.landmarks:
        out[f"landmark {experimental} {t}"] = (obs["landmark"][(experimental, t)] - pct, tol)
    if tg.hr is not None:
        cox = obs["cox"]
        out["hr"] = (cox.hr - tg.hr, tg.hr_tol)
        z = z_value(tg.level)
        lo, hi = (math.exp(math.log(cox.hr) + s * z * cox.se) for s in (-1, 1))
        lo_t, hi_t = (math.exp(math.log(tg.hr) + s * z * tg.se) for s in (-1, 1))
        out["ci lower"] = (lo - lo_t, CI_TOLERANCE)
        out["ci upper"] = (hi - hi_t, CI_TOLERANCE)
    if tg.events is not None:
        out["events"] = (sum(obs["events"]) - tg.events, 0.5)
    if tg.follow_up is not None:
        out["follow-up"] = (obs["follow_up"] - tg.follow_up, 0.05)
    return out


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
                         "within": qlo <= p <= qhi})
    if a.follow_up_months is not None:
        add("median follow-up (months)", "", f"{a.follow_up_months:g}", obs["follow_up"],
            a.follow_up_months, 0.05, 1)
    return pd.DataFrame(rows)


def _explain(table: pd.DataFrame, tg: _Targets) -> tuple[str, ...]:
    out = []
    missed = table[(table.within == False) & ~table.quantity.str.contains("not calibrated")]  # noqa: E712
    for row in missed.itertuples():
        diff = "" if math.isnan(row.difference) else f" by {row.difference:+.3g}"
        what = f"{row.quantity}{' (' + row.arm + ')' if row.arm else ''}: reconstructed " \
               f"{row.reconstructed} vs reported {row.reported}{diff}"
        if "rate" in row.quantity:
            why = ("one proportional-hazards Weibull model cannot give these landmark rates "
                   "together with the medians and HR; the curves are probably not "
                   "proportional (for example delayed separation)")
        elif row.quantity == "hazard ratio":
            why = ("no unstratified proportional-hazards model of these medians gives the "
                   "printed HR; a stratified HR or non-proportional hazards would explain it")
        elif "CI" in row.quantity:
            why = ("the CI width implies a number of events that the medians and follow-up "
                   "do not allow")
        elif "follow-up" in row.quantity:
            why = "follow-up and event count cannot both be met by uniform accrual"
        elif "p-value" in row.quantity:
            why = ("the printed p is from another test (for example stratified log-rank) "
                   "than the Wald p of the reconstructed Cox model")
        else:
            why = "the other printed figures pull the fit away from it"
        out.append(f"{what}: {why}.")
    return tuple(out)


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
