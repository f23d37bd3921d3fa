"""What a trial printed, as the numbers a reconstruction must meet.

Every printed figure becomes a target with the interval of true values that round to it
(:mod:`trialrecon.printed`). The hazard-ratio triple and the p-value are kept together: their
joint rounding box is where the Cox estimate and its standard error of a reconstruction must
land (:func:`cox_box`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..errors import InputError
from ..registry import TIME_TO_EVENT, Analysis
from ..summary import se_log_hr, z_value

#: A reproduced figure is "within rounding" when it prints the same digits: within half a
#: unit of the printed figure's last digit (:func:`trialrecon.printed.half_unit`), for every
#: figure, with no floor. Events and counts are whole numbers (half a unit: 0.5).
EVENTS_TOLERANCE = 0.5


@dataclass(frozen=True)
class ArmTargets:
    """The printed figures of one arm (times in months, rates as proportions).

    ``median`` is ``None`` when not printed and ``math.inf`` when printed as not reached; the
    same for the bounds of its CI (``median_lower``, ``median_upper``). Each tolerance is
    half a unit of the figure's last printed digit: ``median_tol`` of the median,
    ``bound_tols`` of its CI bounds, the third entry of a landmark of its rate.
    """

    name: str
    n: int
    events: int | None
    median: float | None
    median_lower: float | None
    median_upper: float | None
    median_tol: float
    landmarks: tuple[tuple[float, float, float], ...]  # (time, proportion, tolerance)
    bound_tols: tuple[float, float] = (0.0, 0.0)
    median_level: float = 95.0  # confidence level (percent) of the median's CI


@dataclass(frozen=True)
class Targets:
    """Everything printed about a two-arm time-to-event comparison (experimental first)."""

    arms: tuple[ArmTargets, ArmTargets]
    hr: float | None
    hr_tol: float
    ci: tuple[float, float] | None
    ci_tols: tuple[float, float] | None
    level: float
    p_interval: tuple[float, float] | None  # two-sided p values that round to the print
    events_total: int | None
    follow_up: float | None
    follow_up_tol: float = 0.0
    #: The longest follow-up the print allows (:attr:`Analysis.follow_up_bound`), why, and
    #: the calendar's cut-off time and accrual period (first randomisation to the data
    #: cut-off, and to the last randomisation) where printed; None where not.
    longest: float | None = None
    longest_reason: str = ""
    cutoff_time: float | None = None
    accrual_time: float | None = None

    @property
    def names(self) -> tuple[str, str]:
        return (self.arms[0].name, self.arms[1].name)

    @property
    def n(self) -> tuple[int, int]:
        return (self.arms[0].n, self.arms[1].n)

    @property
    def se(self) -> float | None:
        return None if self.ci is None else se_log_hr(*self.ci, self.level)

    @property
    def times(self) -> list[float]:
        """Every finite printed time (months): medians, their CI bounds, landmarks, follow-up."""
        out = [self.follow_up] if self.follow_up else []
        for arm in self.arms:
            out += [t for t in (arm.median, arm.median_lower, arm.median_upper)
                    if t is not None and math.isfinite(t) and t > 0]
            out += [t for t, _, _ in arm.landmarks]
        return out


def _median(arm) -> tuple[float | None, float | None, float | None, tuple[float, ...]]:
    m = arm.median
    if m is None:
        return None, None, None, (0.0, 0.0, 0.0)

    def read(x: float | None, printed: bool) -> float | None:
        if x is not None:
            return x
        return math.inf if printed else None

    # A bound printed as NR parses to None; an absent CI leaves the text without brackets.
    has_ci = "(" in m.text
    return (read(m.value, True), read(m.lower, has_ci), read(m.upper, has_ci),
            tuple(m.half_unit(which) for which in ("value", "lower", "upper")))


def targets(a: Analysis) -> Targets:
    """The targets of a registry analysis; refuses what cannot be rebuilt, naming the field."""
    names = a.arm_names
    if a.endpoint not in TIME_TO_EVENT or len(names) != 2:
        raise InputError("only two-arm time-to-event analyses can be reconstructed",
                         row=a.id, column="endpoint")
    arms = []
    for name in names:
        arm = a.arms[name]
        if arm.n is None:
            raise InputError("arm sizes are not reported in this version, so patients cannot "
                             "be rebuilt", row=a.id, column=f"arms.{name}.n",
                             advice="use a version of the analysis that prints them")
        median, lower, upper, tols = _median(arm)
        marks = tuple((lm.time, lm.percent.value / 100.0, lm.percent.half_unit() / 100.0)
                      for lm in arm.landmarks
                      # A rate printed "NR" constrains nothing, as an NR median.
                      if lm.method == "km" and lm.percent.value is not None)
        arms.append(ArmTargets(name, arm.n, arm.events, median, lower, upper, tols[0], marks,
                               (tols[1], tols[2]), a.median_level))
    if not any(x.median is not None or x.landmarks for x in arms):
        raise InputError("neither a median nor a landmark rate is reported", row=a.id,
                         column="arms.median", advice="the curves' level cannot be pinned")
    hr = a.hazard_ratio
    per_arm = [x.events for x in arms]
    events = sum(per_arm) if None not in per_arm else a.events_total
    bound = a.follow_up_bound
    calendar = {} if bound is None else {
        "longest": bound.longest if math.isfinite(bound.longest) else None,
        "longest_reason": bound.reason, "cutoff_time": bound.cutoff_time,
        "accrual_time": bound.accrual_time}
    return Targets(
        arms=(arms[0], arms[1]),
        hr=None if hr is None else hr.printed.value,
        hr_tol=0.0 if hr is None else hr.printed.half_unit(),
        ci=None if hr is None else (hr.printed.lower, hr.printed.upper),
        ci_tols=None if hr is None else (hr.printed.half_unit("lower"),
                                         hr.printed.half_unit("upper")),
        level=95.0 if hr is None else hr.level,
        p_interval=None if a.p_value is None else a.p_value.parsed.two_sided(),
        events_total=events, follow_up=a.follow_up, follow_up_tol=a.half_unit("follow_up"),
        **calendar)


def cox_margin(tg: Targets, beta: np.ndarray, se: np.ndarray) -> np.ndarray:
    """How far inside every printed box of HR, CI and p a Cox estimate lies (> 0: inside).

    1 at the centre of the tightest box, 0 on its edge, in units of each figure's tolerance;
    the p-value's box is measured in log p.
    """
    z = z_value(tg.level)
    beta, se = np.broadcast_arrays(np.asarray(beta, float), np.asarray(se, float))
    lo, hi = np.exp(beta - z * se), np.exp(beta + z * se)
    margins = [1.0 - np.abs(np.exp(beta) - tg.hr) / tg.hr_tol,
               1.0 - np.abs(lo - tg.ci[0]) / tg.ci_tols[0],
               1.0 - np.abs(hi - tg.ci[1]) / tg.ci_tols[1]]
    if tg.p_interval is not None:
        p = 2.0 * special.ndtr(-np.abs(beta) / se)
        plo, phi = tg.p_interval
        lp, lhi = np.log(np.maximum(p, 1e-300)), math.log(max(phi, 1e-300))
        if plo > 0:  # a printed value: margin in log p relative to half its rounding
            llo = math.log(plo)
            margins.append(1.0 - np.abs(lp - 0.5 * (lhi + llo)) / (0.5 * (lhi - llo)))
        else:  # a bound ("<0.001"): anything 20% below it in log p is well inside
            margins.append(np.minimum(1.0, (lhi - lp) / 0.2))
    return np.minimum.reduce(margins)


def cox_box(tg: Targets) -> tuple[float, float] | None:
    """A point ``(log HR, SE)`` inside every printed rounding box of HR, CI and p, or None.

    The Cox estimate of a reconstruction is judged by its HR (within ``hr_tol``), its CI
    bounds ``exp(log HR +- z SE)`` (within ``ci_tols``) and the Wald p of
    ``|log HR| / SE``. The feasible set is scanned on a fine grid and its most central point
    (the largest margin, :func:`cox_margin`) returned; ``None`` means the printed figures
    cannot all hold for one Wald interval, a property of the print alone.
    """
    if tg.hr is None:
        return None
    beta = np.log(tg.hr + np.linspace(-tg.hr_tol, tg.hr_tol, 81))[:, None]
    se = np.linspace(0.5 * tg.se, 1.5 * tg.se, 801)[None, :]
    margin = cox_margin(tg, beta, se)
    if margin.max() < 0:
        return None
    i, j = np.unravel_index(int(np.argmax(margin)), margin.shape)
    return float(beta[i, 0]), float(se[0, j])


def best_log_hr(tg: Targets, se: float) -> float:
    """The log HR most central in the printed boxes for a given standard error."""
    beta = np.log(tg.hr + np.linspace(-tg.hr_tol, tg.hr_tol, 201))
    return float(beta[int(np.argmax(cox_margin(tg, beta, np.full_like(beta, se))))])


@functools.lru_cache(maxsize=256)
def cox_aim(tg: Targets) -> Targets:
    """The targets the Cox calibration aims at: all of them, or, when the printed HR, CI and
    p cannot hold together (:func:`cox_box` is None), the HR and CI without the p.

    Cached: the calibration asks for it at every warp step, and it depends on the print only.
    """
    if tg.hr is None or tg.p_interval is None or cox_box(tg) is not None:
        return tg
    return dataclasses.replace(tg, p_interval=None)
