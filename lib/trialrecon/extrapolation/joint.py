"""Models of both arms at once, and mixture cure models of one arm.

NICE DSU TSD 14 (Latimer 2011) asks, before fitting each arm on its own, whether one model
with a treatment effect describes both: proportional hazards (PH), an accelerated failure
time (AFT) or proportional odds (PO), on a shape the arms share. :func:`fit_joint` fits the
family with the treatment on its location parameter (R ``flexsurvreg(Surv(time, event) ~
arm, dist = ...)``; :mod:`.families` states the parameterisations) and the same family to
each arm alone, and compares them by a likelihood-ratio test: the joint model is the
separate fits with the shape parameters constrained equal, so twice the difference of the
log-likelihoods is chi-squared with as many degrees of freedom as the constraints (Collett
2015, section 3.9). Splines of the joint model place their knots on the pooled event times,
and the separate fits use the same knots, so that the two are nested.

:func:`fit_cure` fits a mixture cure model to one arm (Boag 1949; NICE DSU TSD 21):
``S = theta + (1 - theta) S_u``, as R ``flexsurvcure(..., mixture = TRUE)``.

Every figure here is derived.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from .families import Family, Fit, family, fit

#: The joint models fitted by default: every family once in its usual form, and the
#: one-knot splines on both scales (TSD 14 section 3; TSD 21).
JOINT_MODELS = ("exp", "weibullPH", "weibull", "gompertz", "llogis", "lnorm", "gengamma",
                "gamma", "spline-hazard-1", "spline-odds-1")

#: The mixture cure models fitted by default (those flexsurvcure users fit most).
CURE_MODELS = ("weibull", "gompertz", "llogis", "lnorm", "gengamma")

#: What ``exp(beta)`` is for each kind of effect.
MEASURE = {"PH": "hazard ratio", "AFT": "time ratio", "PO": "odds ratio of failure"}

_Z = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class TreatmentEffect:
    """The experimental arm's effect against the control in a joint model: ``ratio`` is a
    hazard ratio (PH), a time ratio (AFT: above 1, the experimental arm's times are longer)
    or an odds ratio of failure (PO), with its 95% Wald interval; ``beta`` is flexsurv's
    coefficient (for the gamma, on the log rate: the time ratio is ``exp(-beta)``)."""

    measure: str
    ratio: float
    lower: float
    upper: float
    beta: float
    se: float


@dataclass(frozen=True)
class JointFit:
    """One family fitted to both arms with a treatment effect, beside the same family fitted
    to each arm alone (all derived). ``lr_p`` is NaN where the joint model has as many
    parameters as the separate fits (the exponential)."""

    model: str
    label: str
    control: str
    experimental: str
    joint: Fit
    separate: dict[str, Fit]
    effect: TreatmentEffect
    lr_statistic: float
    lr_df: int
    lr_p: float

    @property
    def note(self) -> str:
        notes = [f"{what}: {f.note}" for what, f in
                 [("joint", self.joint), *self.separate.items()] if f.note]
        return "; ".join(notes)

    def survival(self, times, arm: str) -> np.ndarray:
        """The joint model's survival in ``arm`` at ``times``."""
        return self.joint.survival(times, x=self._x(arm))

    def survival_band(self, times, arm: str) -> tuple[np.ndarray, np.ndarray]:
        return self.joint.survival_band(times, x=self._x(arm))

    def rmst(self, tau: float, arm: str) -> tuple[float, float]:
        return self.joint.rmst(tau, x=self._x(arm))

    def _x(self, arm: str) -> float:
        if arm not in (self.control, self.experimental):
            raise KeyError(f"no arm '{arm}' (arms: {self.control}, {self.experimental})")
        return 1.0 if arm == self.experimental else 0.0


def _two_arms(ipd: pd.DataFrame, control: str | None) -> tuple[str, str]:
    if "arm" not in ipd.columns:
        raise InputError("patient data for a joint model need a column 'arm'", column="arm",
                         advice="give both arms' patients with an arm column")
    arms = list(dict.fromkeys(ipd["arm"].astype(str)))
    if len(arms) != 2:
        raise InputError(f"a joint model needs two arms, the data have {len(arms)}",
                         column="arm", advice="give the patients of two arms")
    if control is None:  # trialrecon orders arms experimental first, control second
        control = arms[1]
    if control not in arms:
        raise InputError(f"no arm '{control}' in the data (arms: {', '.join(arms)})",
                         column="arm", advice="name the control arm as the data do")
    return control, next(a for a in arms if a != control)


def _effect(fam: Family, joint: Fit) -> TreatmentEffect:
    k = fam.n_params
    beta = float(joint.coef[k])
    se = float(math.sqrt(joint.covariance[k, k])) if np.isfinite(joint.covariance[k, k]) \
        else math.nan
    # A coefficient on a rate (the gamma's) shortens times: its time ratio is exp(-beta).
    sign = -1.0 if fam.effect == "AFT" and fam.parameters[fam.location] == "rate" else 1.0
    lo, hi = sorted(math.exp(sign * (beta + s * _Z * se)) if math.isfinite(se) else math.nan
                    for s in (-1.0, 1.0))
    return TreatmentEffect(MEASURE[fam.effect], math.exp(sign * beta), lo, hi, beta, se)


def fit_joint(ipd: pd.DataFrame, model: str, control: str | None = None) -> JointFit:
    """Fit ``model`` (a name of :mod:`.families`: ``weibullPH``, ``llogis``,
    ``spline-hazard-1``, ...) to both arms of ``ipd`` (columns ``time``, ``event``, ``arm``)
    with the treatment on its location parameter, and to each arm alone.

    ``control`` is the reference arm (``x = 0``; by default the second arm in the data, as
    trialrecon's records and outputs order arms: experimental first, control second).
    """
    control, experimental = _two_arms(ipd, control)
    t = pd.to_numeric(ipd["time"], errors="coerce").to_numpy(dtype=float)
    e = pd.to_numeric(ipd["event"], errors="coerce").to_numpy(dtype=float)
    arm = ipd["arm"].astype(str).to_numpy()
    fam = family(model, t, e)
    x = (arm == experimental).astype(float)
    joint = fit(fam, t, e, x=x)
    separate = {a: fit(fam, t[arm == a], e[arm == a]) for a in (control, experimental)}
    df = 2 * fam.n_params - (fam.n_params + 1)
    lr = 2.0 * (sum(f.loglik for f in separate.values()) - joint.loglik)
    lr = max(lr, 0.0) if lr > -1e-6 else lr  # rounding of two maxima of the same height
    p = float(stats.chi2.sf(lr, df)) if df > 0 and math.isfinite(lr) else math.nan
    return JointFit(fam.name, fam.label, control, experimental, joint, separate,
                    _effect(fam, joint), lr, df, p)


def joint_models(ipd: pd.DataFrame, models: Sequence[str] = JOINT_MODELS,
                 control: str | None = None) -> list[JointFit]:
    """:func:`fit_joint` for each of ``models``."""
    return [fit_joint(ipd, m, control) for m in models]


def joint_table(fits: Sequence[JointFit]) -> pd.DataFrame:
    """One row per joint model: its treatment effect with CI, its fit (AIC, BIC) beside the
    separate fits', and the likelihood-ratio test of a shared shape (all derived)."""
    rows = []
    for f in fits:
        sep_ll = sum(s.loglik for s in f.separate.values())
        sep_k = sum(s.n_params for s in f.separate.values())
        n = f.joint.n
        rows.append({
            "model": f.label, "effect": f.effect.measure, "ratio": f.effect.ratio,
            "lower": f.effect.lower, "upper": f.effect.upper,
            "loglik_joint": f.joint.loglik, "aic_joint": f.joint.aic, "bic_joint": f.joint.bic,
            "loglik_separate": sep_ll, "aic_separate": 2 * sep_k - 2 * sep_ll,
            "bic_separate": sep_k * math.log(n) - 2 * sep_ll,
            "lr_statistic": f.lr_statistic, "lr_df": f.lr_df, "lr_p": f.lr_p, "note": f.note})
    return pd.DataFrame(rows)


def fit_cure(time, event, model: str) -> Fit:
    """A mixture cure model of one arm: ``S = theta + (1 - theta) S_u`` with ``S_u`` of
    ``model`` (:mod:`.families`), ``theta`` the cure fraction (estimated on the logit scale,
    as flexsurvcure's default link). ``fit.estimates["theta"]`` is the cure fraction."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    return fit(family(model, t, e), t, e, cure=True)
