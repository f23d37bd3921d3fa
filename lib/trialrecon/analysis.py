"""Re-analysis of patient data (real, reconstructed or simulated) with lifelines.

Kaplan-Meier medians with CIs (Brookmeyer-Crowley via lifelines' log-log bands), landmark
survival, the Cox hazard ratio (Efron ties), the log-rank test and restricted mean survival
time (RMST) with its difference between arms. The module knows nothing of where the data
came from; every figure it returns is derived.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times
from scipy import stats

from .errors import InputError


@dataclass(frozen=True)
class Comparison:
    """Tidy tables of a two-arm re-analysis (all values derived).

    Attributes
    ----------
    arms
        One row per arm: ``arm, n, events, median, median_lower, median_upper, rmst,
        rmst_se`` (times in the data's unit; RMST up to ``tau``).
    landmarks
        One row per arm and landmark time: ``arm, time, survival, lower, upper`` (95% CI).
    effects
        One row per between-arm measure: ``measure, estimate, lower, upper, se, p``.
        Measures: Cox HR (Efron ties), log-rank test, RMST difference (experimental minus
        control).
    tau
        The RMST horizon used.
    """

    arms: pd.DataFrame
    landmarks: pd.DataFrame
    effects: pd.DataFrame
    tau: float

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


def fit_km(ipd: pd.DataFrame, label: str = "arm") -> KaplanMeierFitter:
    """Kaplan-Meier fit of ``ipd`` (columns ``time``, ``event``)."""
    return KaplanMeierFitter(label=label).fit(ipd["time"], ipd["event"])


@dataclass(frozen=True)
class HazardRatio:
    """Cox hazard ratio (experimental vs control, Efron ties) with 95% CI and Wald p."""

    hr: float
    lower: float
    upper: float
    se: float  # of log HR
    p: float


def cox_hr(ipd_experimental: pd.DataFrame, ipd_control: pd.DataFrame) -> HazardRatio:
    """Unstratified Cox model with one treatment indicator (lifelines, Efron's ties)."""
    both = pd.concat([ipd_experimental[["time", "event"]].assign(arm=1),
                      ipd_control[["time", "event"]].assign(arm=0)], ignore_index=True)
    row = CoxPHFitter().fit(both, "time", "event").summary.loc["arm"]
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
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y_j > d_j, after**2 * d_j / (y_j * (y_j - d_j)), 0.0)
    return mean, math.sqrt(float(terms.sum()))


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

    Notes
    -----
    The hazard ratio is experimental vs control from an unstratified Cox model with Efron's
    method for ties; the p-value is Wald. The RMST difference has a normal CI from the sum of
    the two arms' variances (see :func:`rmst`). In ``effects`` the ``se`` of the hazard ratio is
    the SE of log HR.
    """
    exp_, ctl = _check(ipd_experimental, names[0]), _check(ipd_control, names[1])
    if tau is None:
        tau = float(min(exp_["time"].max(), ctl["time"].max()))
    fits = {names[0]: fit_km(exp_, names[0]), names[1]: fit_km(ctl, names[1])}
    rows, marks, rmst_by_arm = [], [], {}
    for (name, kmf), data in zip(fits.items(), (exp_, ctl), strict=True):
        ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
        mean, se = rmst(data, tau)
        rmst_by_arm[name] = (mean, se * se)
        rows.append({"arm": name, "n": len(data), "events": int(data["event"].sum()),
                     "median": float(kmf.median_survival_time_), "median_lower": float(ci[0]),
                     "median_upper": float(ci[1]), "rmst": mean, "rmst_se": se})
        for t in landmarks:
            s = float(_at(kmf.survival_function_, t)[0])
            lo, hi = _at(kmf.confidence_interval_survival_function_, t)
            marks.append({"arm": name, "time": float(t), "survival": s,
                          "lower": float(lo), "upper": float(hi)})

    cox = cox_hr(exp_, ctl)
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
    return Comparison(pd.DataFrame(rows), pd.DataFrame(marks), effects, tau)
