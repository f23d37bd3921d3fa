"""Re-analysis of patient data (real, reconstructed or simulated) with lifelines.

Kaplan-Meier medians with CIs (Brookmeyer-Crowley via lifelines' log-log bands), landmark
survival, the Cox hazard ratio (Efron ties), the log-rank test and restricted mean survival
time (RMST) with its difference between arms. The module knows nothing of where the data
came from; every figure it returns is derived.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times
from scipy import special, stats

from .errors import InputError

# The 97.5% normal quantile of the 95% Wald interval (scipy.special: no distribution-object
# overhead in the kernels that calibration calls thousands of times).
Z975 = float(special.ndtri(0.975))


@dataclass(frozen=True)
class Comparison:
    """Tidy tables of a two-arm re-analysis (all values derived).

    Attributes
    ----------
    arms
        One row per arm: ``arm, n, events, median, median_lower, median_upper, rmst,
        rmst_se`` (times in the data's unit; RMST up to ``tau``).
    landmarks
        One row per arm and landmark time: ``arm, time, survival, lower, upper`` (95% CI),
        ``estimable``. Beyond an arm's last observed time the Kaplan-Meier curve says
        nothing: ``estimable`` is False and the numbers are NaN.
    effects
        One row per between-arm measure: ``measure, estimate, lower, upper, se, p``.
        Measures: Cox HR (Efron ties), log-rank test, RMST difference (experimental minus
        control; NaN when ``tau`` is beyond an arm's last observed time).
    tau
        The RMST horizon used.
    notes
        What could not be estimated, and why, one sentence each.
    """

    arms: pd.DataFrame
    landmarks: pd.DataFrame
    effects: pd.DataFrame
    tau: float
    notes: tuple[str, ...] = ()

    def value(self, measure: str, column: str = "estimate") -> float:
        """One number from ``effects``, e.g. ``value("hazard ratio", "upper")``."""
        return float(self.effects.set_index("measure").loc[measure, column])


def _check(ipd: pd.DataFrame, name: str) -> pd.DataFrame:
    if not {"time", "event"} <= set(ipd.columns):
        raise InputError(f"patient data for {name!r} needs columns time and event",
                         column="time" if "time" not in ipd.columns else "event")
    if len(ipd) == 0:
        raise InputError(f"patient data for {name!r} is empty")
    return ipd


def fit_km(ipd: pd.DataFrame, label: str = "arm", level: float = 95.0) -> KaplanMeierFitter:
    """Kaplan-Meier fit of ``ipd`` (columns ``time``, ``event``), its confidence intervals
    at ``level`` percent."""
    return KaplanMeierFitter(label=label, alpha=1.0 - level / 100.0).fit(ipd["time"],
                                                                         ipd["event"])


@dataclass(frozen=True)
class HazardRatio:
    """Cox hazard ratio (experimental vs control, Efron ties) with 95% CI and Wald p."""

    hr: float
    lower: float
    upper: float
    se: float  # of log HR
    p: float


def cox_hr(ipd_experimental: pd.DataFrame, ipd_control: pd.DataFrame) -> HazardRatio:
    """Unstratified Cox model with one treatment indicator (lifelines, Efron's ties).

    Not estimable (every figure NaN) when an arm has no event, where the partial likelihood
    has no maximum, or when the fit does not converge.
    """
    both = pd.concat([ipd_experimental[["time", "event"]].assign(arm=1),
                      ipd_control[["time", "event"]].assign(arm=0)], ignore_index=True)
    nan = HazardRatio(math.nan, math.nan, math.nan, math.nan, math.nan)
    if both.groupby("arm").event.sum().min() <= 0 or both.arm.nunique() < 2:
        return nan
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            row = CoxPHFitter().fit(both, "time", "event").summary.loc["arm"]
    except ConvergenceError:
        return nan
    # Newton-Raphson still moving at its end: the estimate runs off to 0 or infinity
    # (complete separation, as in a tiny arm whose events all come first), no maximum.
    if any(issubclass(w.category, ConvergenceWarning) and "norm(delta)" in str(w.message)
           for w in caught):
        return nan
    return HazardRatio(float(row["exp(coef)"]), float(row["exp(coef) lower 95%"]),
                       float(row["exp(coef) upper 95%"]), float(row["se(coef)"]), float(row["p"]))


def median_follow_up(ipd: pd.DataFrame) -> float:
    """Median follow-up by the reverse Kaplan-Meier method (Schemper and Smith 1996)."""
    reverse = KaplanMeierFitter().fit(ipd["time"], 1 - ipd["event"])
    return float(reverse.median_survival_time_)


def rmst(ipd: pd.DataFrame, tau: float) -> tuple[float, float]:
    """Restricted mean survival time up to ``tau`` and its standard error.

    The mean is the area under the Kaplan-Meier curve up to ``tau``; the variance is
    ``sum_j A_j^2 d_j / (Y_j (Y_j - d_j))`` over event times ``t_j <= tau``, with ``A_j`` the
    area from ``t_j`` to ``tau`` (Klein and Moeschberger 2003, section 4.5; the estimator of
    survRM2). lifelines' ``restricted_mean_survival_time(return_variance=True)`` returns the
    variance of min(T, tau) itself, not of the estimate, so it cannot serve for a CI.
    """
    table = fit_km(ipd).event_table
    times = table.index.to_numpy(float)
    d, y = table["observed"].to_numpy(float), table["at_risk"].to_numpy(float)
    keep = (d > 0) & (times <= tau)
    t_j, d_j, y_j = times[keep], d[keep], y[keep]
    surv = np.cumprod(1.0 - d_j / y_j)
    # Area between consecutive event times (and from the last one to tau) under the step curve.
    edges = np.r_[0.0, t_j, tau]
    heights = np.r_[1.0, surv]
    areas = np.diff(edges) * heights
    mean = float(areas.sum())
    after = np.cumsum(areas[::-1])[::-1][1:]  # A_j: area from t_j to tau
    # In units of tau, so that the squares stay finite whatever the time scale.
    scale = tau if tau > 0 else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y_j > d_j, (after / scale) ** 2 * d_j / (y_j * (y_j - d_j)), 0.0)
    return mean, scale * math.sqrt(float(terms.sum()))


def _at(frame: pd.DataFrame, t: float) -> np.ndarray:
    """Row of a step function (index = time) in force at ``t``."""
    k = int(np.searchsorted(frame.index.to_numpy(), t, side="right")) - 1
    return frame.iloc[max(k, 0)].to_numpy()


def compare_arms(ipd_experimental: pd.DataFrame, ipd_control: pd.DataFrame, *,
                 landmarks: Sequence[float] = (6.0, 12.0, 24.0), tau: float | None = None,
                 names: tuple[str, str] = ("experimental", "control")) -> Comparison:
    """Re-analyse two arms: KM medians, landmarks, Cox HR, log-rank, RMST and its difference.

    Parameters
    ----------
    ipd_experimental, ipd_control
        Patient data with columns ``time`` (months, or the figure's unit) and ``event`` (1/0).
    landmarks
        Times at which to report Kaplan-Meier survival with its 95% CI (log-log).
    tau
        RMST horizon; by default the smaller of the two arms' largest observed times, so that
        both curves are estimated up to it (Tian et al., Stat Med 2020).
    names
        Arm labels used in the tables.

    Raises
    ------
    InputError
        For a landmark or ``tau`` that is not a finite time above 0.

    Notes
    -----
    The hazard ratio is experimental vs control from an unstratified Cox model with Efron's
    method for ties (:func:`cox_two_arm`); the p-value is Wald. Without events in an arm, or
    when the model does not converge, it is not estimable: NaN, and ``notes`` says why. The
    RMST difference has a normal CI from the sum of the two arms' variances (see
    :func:`rmst`). In ``effects`` the ``se`` of the hazard ratio is the SE of log HR.
    """
    from .limits import positive_time

    exp_, ctl = _check(ipd_experimental, names[0]), _check(ipd_control, names[1])
    landmarks = [positive_time(t, "landmark") for t in landmarks]
    last = {names[0]: float(exp_["time"].max()), names[1]: float(ctl["time"].max())}
    if tau is None:
        tau = min(last.values())
        if not tau > 0:
            arm = min(last, key=last.get)
            raise InputError(f"the follow-up of arm {arm!r} ends at time 0: nothing to "
                             "compare", row=f"arm {arm}", column="time",
                             advice="check the time column")
    else:
        tau = positive_time(tau, "tau")
    notes = []
    fits = {names[0]: fit_km(exp_, names[0]), names[1]: fit_km(ctl, names[1])}
    rows, marks, rmst_by_arm = [], [], {}
    for (name, kmf), data in zip(fits.items(), (exp_, ctl), strict=True):
        ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
        mean, se = rmst(data, tau) if tau <= last[name] else (math.nan, math.nan)
        if tau > last[name]:
            notes.append(f"RMST up to {tau:g} not estimable for {name}: its follow-up ends at "
                         f"{last[name]:g}")
        rmst_by_arm[name] = (mean, se * se)
        rows.append({"arm": name, "n": len(data), "events": int(data["event"].sum()),
                     "median": float(kmf.median_survival_time_), "median_lower": float(ci[0]),
                     "median_upper": float(ci[1]), "rmst": mean, "rmst_se": se})
        for t in landmarks:
            if t > last[name]:
                notes.append(f"survival at {t:g} not estimable for {name}: its follow-up "
                             f"ends at {last[name]:g}")
                marks.append({"arm": name, "time": float(t), "survival": math.nan,
                              "lower": math.nan, "upper": math.nan, "estimable": False})
                continue
            s = float(_at(kmf.survival_function_, t)[0])
            lo, hi = _at(kmf.confidence_interval_survival_function_, t)
            marks.append({"arm": name, "time": float(t), "survival": s,
                          "lower": float(lo), "upper": float(hi), "estimable": True})

    # The two-arm kernel equals lifelines' Cox fit to its convergence tolerance and stays
    # linear in the number of patients (lifelines' general fitter takes minutes at a million).
    both = pd.concat([exp_[["time", "event"]], ctl[["time", "event"]]], ignore_index=True)
    cox = cox_two_arm(both["time"].to_numpy(float), both["event"].to_numpy(int),
                      np.r_[np.ones(len(exp_)), np.zeros(len(ctl))])
    events = {names[0]: int(exp_["event"].sum()), names[1]: int(ctl["event"].sum())}
    if min(events.values()) == 0 or not math.isfinite(cox.se):
        empty = [k for k, v in events.items() if v == 0]
        notes.append("hazard ratio not estimable: " + (
            f"no events in {' and '.join(empty)}" if empty else
            "the Cox model does not converge (the arms do not overlap)"))
        cox = HazardRatio(math.nan, math.nan, math.nan, math.nan, math.nan)
    lr = logrank_test(exp_["time"], ctl["time"], exp_["event"], ctl["event"])
    (m1, v1), (m0, v0) = rmst_by_arm[names[0]], rmst_by_arm[names[1]]
    diff, se = m1 - m0, math.sqrt(v1 + v0)
    z = stats.norm.ppf(0.975)
    effects = pd.DataFrame([
        {"measure": "hazard ratio", "estimate": cox.hr, "lower": cox.lower,
         "upper": cox.upper, "se": cox.se, "p": cox.p},
        {"measure": "log-rank", "estimate": float(lr.test_statistic), "lower": math.nan,
         "upper": math.nan, "se": math.nan, "p": float(lr.p_value)},
        {"measure": "RMST difference", "estimate": diff, "lower": diff - z * se,
         "upper": diff + z * se, "se": se,
         "p": float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else math.nan},
    ])
    marks_frame = pd.DataFrame(marks, columns=["arm", "time", "survival", "lower", "upper",
                                               "estimable"])
    return Comparison(pd.DataFrame(rows), marks_frame, effects, tau, tuple(notes))


# --------------------------------------------------------------------------- fast kernels
# A reconstruction re-analyses thousands of candidate samples; lifelines' general fitters cost
# milliseconds a call. These kernels compute the same figures for the special cases needed
# (one arm's Kaplan-Meier curve; a Cox model with one binary covariate) and are checked
# against lifelines and statsmodels in the tests.


@dataclass(frozen=True)
class KMSteps:
    """A Kaplan-Meier curve at its distinct event times (lifelines' conventions).

    ``survival[j]`` holds from ``times[j]`` on; ``greenwood[j]`` is Greenwood's sum
    ``sum d / (n (n - d))`` up to and including ``times[j]``; ``at_risk`` and ``deaths`` are
    the counts at each event time (censored at a time still count at risk at it).
    """

    times: np.ndarray
    survival: np.ndarray
    greenwood: np.ndarray
    at_risk: np.ndarray
    deaths: np.ndarray

    def at(self, t: float) -> float:
        """Survival in force at ``t`` (right-continuous)."""
        k = int(np.searchsorted(self.times, t, side="right"))
        return 1.0 if k == 0 else float(self.survival[k - 1])

    def median(self) -> float:
        """First time the curve is at or below one half; ``inf`` if never."""
        below = np.flatnonzero(self.survival <= 0.5)
        return float(self.times[below[0]]) if len(below) else math.inf

    def bands(self, level: float = 95.0) -> tuple[np.ndarray, np.ndarray]:
        """Exponential Greenwood (log-log) pointwise band, lower and upper, as lifelines."""
        z = float(special.ndtri(0.5 + level / 200.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log(self.survival)
            spread = z * np.sqrt(self.greenwood) / v
            lower = np.exp(-np.exp(np.log(-v) - spread))
            upper = np.exp(-np.exp(np.log(-v) + spread))
        return np.nan_to_num(lower, nan=1.0), np.nan_to_num(upper, nan=1.0)

    def median_interval(self, level: float = 95.0) -> tuple[float, float]:
        """Brookmeyer-Crowley interval of the median: where each band first reaches 1/2."""
        out = []
        for band in self.bands(level):
            below = np.flatnonzero(band <= 0.5)
            out.append(float(self.times[below[0]]) if len(below) else math.inf)
        return out[0], out[1]


def km_steps(time: np.ndarray, event: np.ndarray) -> KMSteps:
    """Kaplan-Meier curve of one arm (fast kernel of :func:`fit_km`)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    order = np.argsort(time, kind="stable")
    time, event = time[order], event[order]
    n = len(time)
    times, first = np.unique(time, return_index=True)
    at_risk = n - first
    deaths = np.add.reduceat(event.astype(float), first) if n else np.empty(0)
    keep = deaths > 0
    times, at_risk, deaths = times[keep], at_risk[keep].astype(float), deaths[keep]
    # As lifelines: the exponential of summed logs, so that a level of exactly one half (an
    # even arm without censoring) falls on the same side of 0.5 as there.
    with np.errstate(divide="ignore"):
        survival = np.exp(np.cumsum(np.log(at_risk - deaths) - np.log(at_risk)))
    with np.errstate(divide="ignore"):
        terms = np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), 0.0)
    return KMSteps(times, survival, np.cumsum(terms), at_risk, deaths)


def reverse_km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Median follow-up by the reverse Kaplan-Meier method (fast :func:`median_follow_up`)."""
    return km_steps(time, 1 - np.asarray(event)).median()


def _efron_risk_sets(time: np.ndarray, event: np.ndarray, x: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, Callable[[float], np.ndarray]]:
    """Per death (in descending time order): its time, its covariate, and a function of
    ``beta`` giving the share of the risk set's weight in the experimental arm there, by
    Efron's handling of ties (a tie of m deaths: the l-th, l = 0..m-1, removes l/m of them).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    x = np.asarray(x, dtype=float)
    order = np.argsort(-time, kind="stable")
    time, event, x = time[order], event[order], x[order]
    # In descending time order the risk set of time t is everyone up to the last tie of t.
    last = np.searchsorted(-time, -time, side="right") - 1
    at_risk_all = (last + 1.0)[event]
    at_risk_x = np.cumsum(x)[last][event]
    event_times, xd = time[event], x[event]
    _, first, counts = np.unique(-event_times, return_index=True, return_counts=True)
    tie_rank = np.arange(len(event_times)) - np.repeat(first, counts)
    frac = tie_rank / np.repeat(counts, counts)
    tied_all = np.repeat(counts, counts).astype(float)
    tied_x = np.repeat(np.add.reduceat(xd, first), counts) if len(xd) else xd

    def share(beta: float) -> np.ndarray:
        r = math.exp(beta)
        num = (at_risk_x - frac * tied_x) * r
        return num / (num + (at_risk_all - at_risk_x) - frac * (tied_all - tied_x))

    return event_times, xd, share


def cox_two_arm(time: np.ndarray, event: np.ndarray, experimental: np.ndarray) -> HazardRatio:
    """Cox model with one binary covariate by Newton-Raphson, Efron's ties (fast kernel).

    Equals :func:`cox_hr` (lifelines) to its convergence tolerance; without tied event times
    Efron's and Breslow's estimates coincide.
    """
    _, xd, share = _efron_risk_sets(time, event, experimental)

    def terms(beta: float) -> tuple[float, float]:
        p = share(beta)
        return float((xd - p).sum()), float((p * (1.0 - p)).sum())

    beta, converged = 0.0, False
    for _ in range(60):
        score, info = terms(beta)
        if info <= 0:
            break
        step = max(-2.0, min(2.0, score / info))
        beta += step
        if abs(step) < 1e-10:
            converged = True
            break
    _, info = terms(beta)
    # Without events in an arm the estimate runs off to 0 or infinity and never converges.
    se = 1.0 / math.sqrt(info) if info > 0 and converged else math.inf
    z = Z975
    p = float(2 * special.ndtr(-abs(beta) / se)) if se > 0 else math.nan
    hr = float(np.exp(np.clip(beta, -700.0, 700.0)))
    lower, upper = (float(np.exp(np.clip(beta + s * z * se, -700.0, 700.0))) for s in (-1, 1))
    return HazardRatio(hr, lower, upper, se, p)


@dataclass(frozen=True)
class PHTest:
    """The Grambsch-Therneau test of proportional hazards for the treatment in a two-arm Cox
    model, and the scaled Schoenfeld residuals it rests on (all derived).

    ``times`` are the event times; ``residuals`` the scaled Schoenfeld residuals there
    (``beta + D var(beta) r``, with ``D`` events: their mean over time estimates the log
    hazard ratio, and a trend in them a hazard ratio that changes with time);
    ``transform`` is the time scale the test looks for a trend on, and ``transformed`` the
    event times on it (R ``cox.zph``'s ``x``; its ``y`` are the residuals). ``variance`` is
    ``D var(beta)``, R's ``var``: the variance of one residual about the smooth.
    """

    statistic: float
    df: int
    p: float
    transform: str
    beta: float
    se: float
    times: np.ndarray
    residuals: np.ndarray
    transformed: np.ndarray
    variance: float

    def smooth(self, at: np.ndarray | None = None, df: int = 4, points: int = 40
               ) -> pd.DataFrame:
        """The smooth of the residuals over the transformed time that R's ``plot.cox.zph``
        draws, with its band of two standard errors (all derived).

        A natural cubic spline with ``df`` degrees of freedom (intercept included) fitted by
        least squares to the residuals against :attr:`transformed`; its knots are R's
        ``ns``'s: the range and the quantiles of the transformed times together with a grid
        of ``points`` over their range. The band is ``fit -+ 2 sqrt(variance * s)``, with
        ``s`` the spline fit's unscaled variance at that point (``p' (X'X)^-1 p``).

        Parameters
        ----------
        at
            Where to evaluate it, on the transformed scale (default: the grid of ``points``
            from the least to the largest transformed time, as R).
        df
            Degrees of freedom of the spline (R's default 4; at least 2).
        points
            Size of the grid that places the knots (R's ``nsmo``, 40).

        Returns
        -------
        pandas.DataFrame
            ``transformed, fit, lower, upper``, one row per point of ``at``.
        """
        x = self.transformed
        grid = np.linspace(x.min(), x.max(), points)
        at = grid if at is None else np.asarray(at, dtype=float)
        inner = np.quantile(np.r_[grid, x], np.linspace(0, 1, df)[1:-1])
        knots = np.r_[x.min(), inner, x.max()]
        design, where = _natural_spline(x, knots), _natural_spline(at, knots)
        q, r = np.linalg.qr(design)
        fit = where @ np.linalg.solve(r, q.T @ self.residuals)
        unscaled = np.sum((where @ np.linalg.inv(r)) ** 2, axis=1)
        half = 2.0 * np.sqrt(self.variance * unscaled)
        return pd.DataFrame({"transformed": at, "fit": fit, "lower": fit - half,
                             "upper": fit + half})


def _natural_spline(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """A basis of the natural cubic splines with ``knots`` (the first and last the boundary
    ones), intercept included: ``1, x`` and ``d_k - d_{K-1}`` with ``d_k = ((x - k_k)+^3 -
    (x - k_K)+^3) / (k_K - k_k)`` (Hastie, Tibshirani and Friedman 2009, eq. 5.4-5.5), on
    ``x`` scaled to the knots' range. It spans the space of R's ``ns(intercept = TRUE)``,
    so a least-squares fit and its variance are the same."""
    lo, hi = knots[0], knots[-1]
    u, k = (x - lo) / (hi - lo), (knots - lo) / (hi - lo)

    def d(j: int) -> np.ndarray:
        return (np.maximum(u - k[j], 0) ** 3 - np.maximum(u - k[-1], 0) ** 3) / (k[-1] - k[j])

    return np.column_stack([np.ones_like(u), u, *(d(j) - d(len(k) - 2)
                                                  for j in range(len(k) - 2))])


def proportional_hazards_test(time: np.ndarray, event: np.ndarray, experimental: np.ndarray,
                              transform: str = "km") -> PHTest:
    """Grambsch and Therneau's (1994) test of proportional hazards for a binary treatment.

    The score test, at the Cox estimate ``beta`` (Efron's ties), for adding ``x g(t)`` to the
    model, as R survival's ``cox.zph`` (3.x) computes it: with ``r_i`` the Schoenfeld
    residual and ``v_i`` the risk set's variance of ``x`` at death ``i``, ``U = sum g_i r_i``
    and ``T = U^2 / (sum g_i^2 v_i - (sum g_i v_i)^2 / sum v_i)``, chi-squared on 1 degree of
    freedom. ``transform``: ``"km"`` (``g`` = 1 minus the pooled Kaplan-Meier estimate just
    before the death; R's default), ``"rank"`` (the rank of its time among all
    times), ``"identity"`` or ``"log"``.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    fit = cox_two_arm(time, event, experimental)
    beta = math.log(fit.hr)
    times, xd, share = _efron_risk_sets(time, event, experimental)
    times, xd = times[::-1], xd[::-1]  # ascending time
    p = share(beta)[::-1]
    r = xd - p
    v = p * (1.0 - p)
    if transform == "km":
        km = km_steps(time, event)
        before = np.searchsorted(km.times, times, side="left") - 1
        g = 1.0 - np.where(before >= 0, km.survival[np.maximum(before, 0)], 1.0)
    elif transform == "rank":
        # the rank of the death's time among everyone's times (ties averaged), as R's
        ranks = stats.rankdata(time)
        g = ranks[event][np.argsort(time[event], kind="stable")]
    elif transform == "identity":
        g = times.copy()
    elif transform == "log":
        g = np.log(times)
    else:
        raise ValueError(f"transform '{transform}' is not km, rank, identity or log")
    u = float(g @ r)
    i11, i12, i22 = float(v.sum()), float(g @ v), float((g * g) @ v)
    statistic = u * u / (i22 - i12 * i12 / i11)
    # A tie's deaths are each compared with the mean of its Efron risk sets, as R's are.
    key = np.unique(times, return_inverse=True)[1].ravel()
    r = xd - (np.bincount(key, p) / np.bincount(key))[key]
    residuals = beta + len(r) * r / i11
    return PHTest(statistic, 1, float(stats.chi2.sf(statistic, 1)), transform, beta,
                  fit.se, times, residuals, g, len(r) / i11)
