"""Survival extrapolation: the NICE DSU TSD 14 model set fitted to patient data, per arm.

:func:`extrapolate` fits every model of :data:`~.models.MODELS` by maximum likelihood
(:mod:`.families`, in R flexsurv's parameterisation) to each arm of patient data (rebuilt
from a curve, from a printed summary, or real), ranks them by AIC and BIC, and extrapolates
each to a horizon: the restricted mean survival time (RMST) up to it and the survival at
landmark times, with 95% confidence intervals by the delta method (Latimer 2011, NICE DSU
TSD 14; Rutherford et al. 2020, TSD 21).
Every figure here is derived.

Given an ensemble of pseudo datasets (:meth:`trialrecon.simulate.SummaryFit.ensemble`, each
reproducing the print), the same models are fitted to every member: the spread of the
members' restricted means is the uncertainty the print leaves about the patients, shown beside
the within-dataset CI, and Rubin's rules (Rubin 1987) combine the two as for multiple
imputations.

Fit alone does not choose a model: two models that fit the observed data equally well can
disagree widely beyond it, and TSD 14 asks for the choice to rest on clinical plausibility
and external data as well as on AIC and BIC.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..analysis import PHTest, km_steps, proportional_hazards_test
from ..errors import InputError
from ..limits import MAX_YEARS
from ..printed import quote
from . import families
from .families import Fit, quadrature
from .identifiability import SE_MAX, positive_definite, undetermined
from .joint import JOINT_MODELS, JointFit, fit_joint
from .models import MODELS, STANDARD, ModelSpec, spline_knots

__all__ = ["MODELS", "STANDARD", "Extrapolation", "FittedModel", "censor_at", "extrapolate",
           "landmark_times", "spline_knots"]

#: Length of one year in each time unit the data may be in.
YEAR = {"days": 365.25, "weeks": 365.25 / 7.0, "months": 12.0, "years": 1.0}

#: Landmarks of the survival table, in years (converted to the data's unit).
LANDMARK_YEARS = (1, 2, 5, 10)

#: The 97.5% normal quantile (95% intervals).
_Z = 1.959963984540054

def _log_ci(value: float, se_log: float) -> tuple[float, float]:
    """95% CI of a positive quantity on the log scale, ``value exp(-+z se)``; a bound beyond
    floating point is 0 or inf (an SE in the hundreds on a flat likelihood)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        lower, upper = value * np.exp(np.array([-_Z, _Z]) * se_log)
    return float(lower), float(upper)


def landmark_times(time_unit: str) -> tuple[float, ...]:
    """The 1, 2, 5 and 10-year landmarks in ``time_unit`` (days, weeks, months or years)."""
    if time_unit not in YEAR:
        raise InputError(f"time unit '{time_unit}' is not one of {', '.join(YEAR)}",
                         column="time_unit")
    return tuple(y * YEAR[time_unit] for y in LANDMARK_YEARS)


@dataclass(frozen=True)
class FittedModel:
    """One model fitted to one arm, with what follows from it (all derived).

    ``fit`` is the maximum-likelihood fit (:class:`.families.Fit`, R flexsurv's
    parameterisation), ``None`` when the fit failed (``note`` says why). Times are in the
    data's unit.
    """

    arm: str
    spec: ModelSpec
    fit: Fit | None
    n: int
    note: str = ""
    valid: bool = True
    undetermined: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def converged(self) -> bool:
        """Fitted, and a survival curve up to the horizon (see :meth:`not_a_curve_from`)."""
        return self.fit is not None and self.valid

    def not_a_curve_from(self, horizon: float) -> float | None:
        """The first time up to ``horizon`` where the fitted curve stops being a survival
        curve (no value, above 1, or rising: a spline whose hazard turns negative beyond
        its last knot), or None when it is one throughout."""
        t = np.concatenate((np.geomspace(horizon * 1e-4, horizon, 200),
                            quadrature(horizon)[0]))
        t.sort()
        with np.errstate(all="ignore"):
            s = self.survival(t)
        bad = ~np.isfinite(s) | (s > 1.0 + 1e-9) | (s < -1e-12)
        bad[1:] |= np.diff(s) > 1e-9
        return float(t[np.argmax(bad)]) if bad.any() else None

    @property
    def params(self) -> np.ndarray:
        """The estimates on flexsurv's ``coef`` scale (log of positive parameters)."""
        return np.asarray(self.fit.coef, dtype=float)

    @property
    def parameters(self) -> dict[str, float]:
        """The estimates by flexsurv's parameter name, on their natural scale."""
        return {} if self.fit is None else self.fit.estimates

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of :attr:`params` (flexsurv's ``vcov``)."""
        return np.asarray(self.fit.covariance, dtype=float)

    @property
    def loglik(self) -> float:
        return float(self.fit.loglik) if self.fit is not None else math.nan

    @property
    def aic(self) -> float:
        return 2.0 * self.spec.n_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        # n is the number of patients, as flexsurv's BIC (cens = TRUE) and R's nobs.
        return self.spec.n_params * math.log(self.n) - 2.0 * self.loglik

    def survival(self, times) -> np.ndarray:
        """Model survival at ``times`` (1 at time 0)."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        if self.fit is None:
            return np.full(t.shape, np.nan)
        return self.fit.survival(t)

    def hazard(self, times) -> np.ndarray:
        """Model hazard at ``times`` (> 0), events per patient per time unit."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        if self.fit is None:
            return np.full(t.shape, np.nan)
        return self.fit.hazard(t)

    @property
    def determined(self) -> bool:
        """Whether the data determine every parameter (:mod:`.identifiability`): only then
        does the delta method give intervals."""
        return self.fit is not None and not self.undetermined

    def mean(self) -> float:
        """Unrestricted mean survival time (inf where it is not finite: a plateau, or a
        tail too heavy; NaN for a failed fit)."""
        return self.fit.mean() if self.converged else math.nan

    def hazard_jump(self, start: float, end: float) -> float | None:
        """The first time in ``[start, end]`` where the hazard has no value, falls to 0, or
        changes more than fivefold between neighbouring points of a fine log grid (2.3%
        apart: no smooth model does that, a numerical failure does), or None."""
        t = np.geomspace(start, end, 400)
        with np.errstate(all="ignore"):
            h = self.hazard(t)
        bad = ~np.isfinite(h) | (h <= 0)
        with np.errstate(all="ignore"):
            ratio = h[1:] / h[:-1]
        bad[1:] |= ~((ratio < 5.0) & (ratio > 0.2))
        return float(t[np.argmax(bad)]) if bad.any() else None

    def rmst(self, tau: float) -> tuple[float, float]:
        """Restricted mean survival time to ``tau`` and its delta-method standard error
        (NaN where the data do not determine the model)."""
        if not self.converged:
            return math.nan, math.nan
        value, se = self.fit.rmst(tau)
        return value, se if self.determined else math.nan

    def survival_ci(self, t: float) -> tuple[float, float, float]:
        """Survival at ``t`` with a 95% delta-method CI on the log(-log S) scale."""
        if not self.converged or t <= 0:
            return (math.nan,) * 3 if not self.converged else (1.0, 1.0, 1.0)
        surv = float(self.fit.survival([t])[0])
        if not 0.0 < surv < 1.0 or not self.determined:
            return surv, math.nan, math.nan
        lower, upper = self.fit.survival_band([t])
        if not (math.isfinite(lower[0]) and math.isfinite(upper[0])):
            return surv, math.nan, math.nan
        return surv, float(lower[0]), float(upper[0])


def _fit_one(spec: ModelSpec, arm: str, time: np.ndarray, event: np.ndarray) -> FittedModel:
    fitted = families.fit(families.family(spec.family, time, event), time, event)
    if not fitted.converged or not math.isfinite(fitted.loglik):
        return FittedModel(arm, spec, None, len(time), f"fit failed: {fitted.note}")
    flat = undetermined(fitted, follow_up=float(time.max()))
    if not flat:
        return FittedModel(arm, spec, fitted, len(time), fitted.note)
    # A likelihood with a ridge (no interior maximum in some direction): the estimates of
    # what is determined stand, the delta method has nothing to stand on.
    what = (f"the data do not determine {', '.join(flat)} (standard error above {SE_MAX:g} "
            "on its scale)" if positive_definite(fitted.covariance)
            else "the information matrix is not positive definite")
    note = "; ".join(filter(None, [fitted.note if "positive definite" not in fitted.note
                                   else "", f"a flat likelihood: {what}; no confidence "
                                   "interval"]))
    return FittedModel(arm, spec, fitted, len(time), note, undetermined=flat)


def _arms(ipd: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    missing = [c for c in ("time", "event") if c not in ipd.columns]
    if missing:
        raise InputError(f"patient data need a column '{missing[0]}'", column=missing[0],
                         advice="columns time, event (1 = event, 0 = censored) and "
                                "optionally arm")
    t = pd.to_numeric(ipd["time"], errors="coerce").to_numpy(dtype=float)
    e = pd.to_numeric(ipd["event"], errors="coerce").to_numpy(dtype=float)
    for name, ok in (("time", np.isfinite(t) & (t >= 0)), ("event", np.isin(e, (0.0, 1.0)))):
        bad = np.flatnonzero(~ok)
        if bad.size:
            raise InputError(f"{name} must be {'a number >= 0' if name == 'time' else '0 or 1'}"
                             f", not {quote(ipd[name].iloc[bad[0]])}", row=int(bad[0]) + 2,
                             column=name)
    labels = (ipd["arm"].astype(str).to_numpy() if "arm" in ipd.columns
              else np.full(len(t), "all"))
    out = {}
    for name in dict.fromkeys(labels):
        keep = labels == name
        tt, ee = t[keep], e[keep].astype(int)
        if ee.sum() < 2:
            raise InputError(f"arm '{name}' has {int(ee.sum())} event(s); at least 2 are "
                             "needed to fit a survival model", column="event")
        # Times of 0 (censored at randomisation) have no log: they alone are moved, to
        # below every positive time (a millionth of the longest, or half the shortest).
        positive = tt[tt > 0]
        if not positive.size:
            raise InputError(f"every time in arm '{name}' is 0: there is no follow-up to fit",
                             column="time", advice="check that the time column holds the "
                             "times to event or censoring")
        tiny = min(1e-6 * float(tt.max()), 0.5 * float(positive.min()))
        out[name] = (np.where(tt > 0, tt, tiny), ee)
    return out


def censor_at(ipd: pd.DataFrame, end: float) -> pd.DataFrame:
    """Patient data administratively censored at ``end``: later times become ``end``, and
    their events censorings (as a data cut-off there would have recorded them)."""
    out = ipd.copy()
    late = out["time"].to_numpy(dtype=float) > end
    out.loc[late, "time"] = float(end)
    out.loc[late, "event"] = 0
    return out


def _km_rmst(time: np.ndarray, event: np.ndarray, tau: float) -> float:
    km = km_steps(time, event)
    edges = np.concatenate(([0.0], km.times[km.times < tau], [tau]))
    levels = np.concatenate(([1.0], km.survival[km.times < tau]))
    return float(np.sum(np.diff(edges) * levels))


@dataclass(frozen=True)
class Extrapolation:
    """Models fitted to each arm and extrapolated to a horizon (every figure derived).

    Attributes
    ----------
    table
        One row per arm and model: ``arm, model, label, n_params, loglik, aic, bic,
        aic_rank, bic_rank, delta_aic, rmst, rmst_lower, rmst_upper, beyond, converged,
        note``; ``converged`` is False for a failed fit and for a fit whose curve is not a
        survival curve up to the horizon (the note says which; neither is ranked).
        ``rmst`` is the restricted mean to ``horizon`` (95% CI by the delta method on the
        log scale; ``rmst_se`` its standard error);
        ``beyond`` the share of it that lies after the arm's last observed time
        (what the data do not show); ``mean`` the unrestricted mean (inf where it is not
        finite). With an ensemble, also ``ensemble_members,
        ensemble_low, ensemble_high`` (5th and 95th percentiles of the members' restricted
        means, the central dataset counted as one of them), ``total_lower, total_upper``
        (Rubin's rules on the log scale, centred on the members' mean) and
        ``aic_rank_low, aic_rank_high, aic_best_members`` (the AIC order over the members);
        a model fitted to the central dataset alone has none.
    landmarks
        ``arm, model, time, survival, lower, upper``: survival at 1, 2, 5 and 10 years in
        the data's unit, 95% CI on the log(-log) scale.
    observed
        Per arm: ``arm, n, events, follow_up`` (last observed time) and ``km_rmst``, the
        Kaplan-Meier restricted mean up to that time.
    members
        With an ensemble: ``member, arm, model, rmst, rmst_se, aic`` for every member's fit
        (member 0 is the central dataset ``ipd``).
    joint
        With two arms: the joint models (:mod:`.joint`), a treatment effect on a shared
        shape, each beside the separate fits with a likelihood-ratio test.
    ph_test
        With two arms: the Grambsch-Therneau test of proportional hazards
        (:func:`trialrecon.analysis.proportional_hazards_test`).
    """

    horizon: float
    time_unit: str
    fits: dict[tuple[str, str], FittedModel] = field(repr=False)
    ipd: pd.DataFrame = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    landmarks: pd.DataFrame = field(repr=False)
    observed: pd.DataFrame = field(repr=False)
    members: pd.DataFrame | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()
    joint: tuple[JointFit, ...] = field(default=(), repr=False)
    ph_test: PHTest | None = field(default=None, repr=False)

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(self.observed.arm)

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.table.model))

    def preferred(self, criterion: str = "aic") -> dict[str, str]:
        """The model with the lowest AIC (or BIC) in each arm."""
        column = {"aic": "aic_rank", "bic": "bic_rank"}[criterion]
        best = self.table[self.table[column] == 1]
        return dict(zip(best.arm, best.model, strict=True))

    def curves(self, times) -> pd.DataFrame:
        """Tidy ``arm, model, time, survival, hazard`` of every converged model."""
        times = np.asarray(times, dtype=float)
        rows = []
        for (arm, model), fit in self.fits.items():
            if fit.converged:
                pos = np.maximum(times, 1e-9)
                rows.append(pd.DataFrame({"arm": arm, "model": model, "time": times,
                                          "survival": fit.survival(times),
                                          "hazard": fit.hazard(pos)}))
        return pd.concat(rows, ignore_index=True)

    def statement(self) -> str:
        """Which models AIC and BIC prefer, and what that does not settle, in words."""
        t = self.table
        parts = []
        for arm in self.arms:
            rows = t[(t.arm == arm) & t.converged]
            if rows.empty:
                parts.append(f"{arm}: no model could be fitted.")
                continue
            by_aic = rows.sort_values("aic")
            aic_best = by_aic.iloc[0]
            bic_best = rows.sort_values("bic").iloc[0]
            close = by_aic[by_aic.delta_aic <= 2.0].label.tolist()
            low, high = rows.rmst.min(), rows.rmst.max()
            parts.append(
                f"{arm}: AIC prefers {aic_best.label}, BIC {bic_best.label}; "
                f"{len(close)} model{'s' * (len(close) > 1)} within 2 AIC points "
                f"({', '.join(close)}); their restricted means to {self.horizon:g} "
                f"{self.time_unit} range {_span(by_aic[by_aic.delta_aic <= 2.0].rmst)}, "
                f"all models {low:.1f} to {high:.1f}.")
        return (" ".join(parts) + " Fit to the observed data does not decide the "
                "extrapolation: models that fit equally well diverge after follow-up ends, "
                "and the choice rests on clinical plausibility and external evidence (NICE "
                "DSU TSD 14).")


def _span(values: pd.Series) -> str:
    lo, hi = float(values.min()), float(values.max())
    return f"{lo:.1f}" if abs(hi - lo) < 0.05 else f"{lo:.1f} to {hi:.1f}"


def _fit_arms(arms: dict[str, tuple[np.ndarray, np.ndarray]], specs: list[ModelSpec]
              ) -> dict[tuple[str, str], FittedModel]:
    """Fit every model to every arm, ensemble members as the central dataset.

    No warm start from the central fit: the spline knots move with the data.
    """
    return {(arm, spec.name): _fit_one(spec, arm, t, e)
            for arm, (t, e) in arms.items() for spec in specs}


def extrapolate(
    ipd: pd.DataFrame,
    *,
    horizon: float,
    models: Sequence[str] | None = None,
    time_unit: str = "months",
    ensemble: Sequence[pd.DataFrame] = (),
    ensemble_models: Sequence[str] | None = None,
    joint_models: Sequence[str] = JOINT_MODELS,
    control: str | None = None,
) -> Extrapolation:
    """Fit the TSD 14 model set to each arm and extrapolate to ``horizon``.

    Parameters
    ----------
    ipd
        Patient data: ``time`` (>= 0, in ``time_unit``), ``event`` (1 event, 0 censored)
        and optionally ``arm`` (one arm named "all" without it).
    horizon
        End of the restricted mean, in ``time_unit`` (a lifetime horizon for an economic
        model is often 10 to 40 years).
    models
        Model names (default: all of :data:`MODELS`, in that order).
    time_unit
        days, weeks, months or years: sets the 1, 2, 5 and 10-year landmarks.
    ensemble
        Further pseudo datasets of the same trial (e.g. :meth:`SummaryFit.ensemble`): the
        models are fitted to each, and the spread of their restricted means is reported.
    ensemble_models
        The models fitted to the ensemble members (default: ``models``).
    joint_models
        With two arms, the families fitted to both at once (:mod:`.joint`; empty: none).
    control
        With two arms, the reference arm of the joint models and the PH test (default the
        second: trialrecon orders arms experimental first).

    Returns
    -------
    Extrapolation
        ``.table`` (model selection and restricted means), ``.landmarks``, ``.observed``,
        ``.members`` and ``.warnings``; all derived.

    Notes
    -----
    Maximum likelihood from several starts (:func:`.families.fit`); 95% CIs by the delta
    method with the inverse observed information (restricted mean on the log scale,
    survival on the log(-log) scale). A
    model whose fit fails stays in the table with ``converged`` False and the reason.
    """
    if not (isinstance(horizon, (int, float)) and math.isfinite(horizon) and horizon > 0):
        raise InputError(f"horizon must be a positive number, not {horizon!r}",
                         column="horizon")
    if time_unit in YEAR and horizon > MAX_YEARS * YEAR[time_unit]:
        raise InputError(f"horizon {horizon:g} {time_unit} is more than {MAX_YEARS} years",
                         column="horizon", advice="a lifetime horizon is at most 100 years; "
                         "check the number and --time-unit")
    names = list(MODELS) if models is None else list(models)
    if not names:
        raise InputError("no model to fit", column="models",
                         advice=f"choose from {', '.join(MODELS)}")
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise InputError(f"unknown model '{unknown[0]}'", column="models",
                         advice=f"choose from {', '.join(MODELS)}")
    marks = landmark_times(time_unit)
    arms = _arms(ipd)
    fits = _fit_arms(arms, [MODELS[m] for m in names])

    observed = pd.DataFrame([
        {"arm": arm, "n": len(t), "events": int(e.sum()), "follow_up": float(t.max()),
         "km_rmst": _km_rmst(t, e, float(t.max()))} for arm, (t, e) in arms.items()])
    rows, lm_rows, notes = [], [], []
    for key, fit in list(fits.items()):
        start = fit.not_a_curve_from(horizon) if fit.converged else None
        if start is not None:
            fits[key] = dataclasses.replace(fit, valid=False, note=(
                f"not a survival curve from {start:.3g} {time_unit} (it rises or has no "
                "value there): left out of the ranking"))
            continue
        end = float(arms[key[0]][0].max())
        jump = fit.hazard_jump(end / 10.0, horizon) if fit.converged else None
        if jump is not None:
            fits[key] = dataclasses.replace(fit, note="; ".join(filter(None, [fit.note, (
                f"its hazard jumps or has no value near {jump:.3g} {time_unit}: not to be "
                "extrapolated there")])))
    for (arm, name), fit in fits.items():
        rmst, se = fit.rmst(horizon)
        end = float(arms[arm][0].max())
        inside = fit.rmst(min(end, horizon))[0] if fit.converged else math.nan
        rows.append({"arm": arm, "model": name, "label": fit.spec.label,
                     "n_params": fit.spec.n_params, "loglik": fit.loglik, "aic": fit.aic,
                     "bic": fit.bic, "rmst": rmst, "rmst_se": se,
                     **dict(zip(("rmst_lower", "rmst_upper"), _log_ci(rmst, se / rmst)
                                if rmst > 0 else (math.nan, math.nan), strict=True)),
                     "beyond": 1.0 - inside / rmst if rmst > 0 else math.nan,
                     "mean": fit.mean(),
                     "converged": fit.converged, "note": fit.note})
        for when in marks:
            s, lo, hi = fit.survival_ci(when)
            lm_rows.append({"arm": arm, "model": name, "time": when, "survival": s,
                            "lower": lo, "upper": hi})
        if not fit.converged:
            notes.append(f"{arm}, {fit.spec.label}: {fit.note}.")
        elif name == "gompertz" and fit.parameters["shape"] < 0:
            plateau = math.exp(fit.parameters["rate"] / fit.parameters["shape"])
            notes.append(f"{arm}, Gompertz: the hazard falls towards zero and the curve "
                         f"levels off at {100 * plateau:.0f}% survival (a cured fraction), "
                         "plausible only if cure is.")
    table = pd.DataFrame(rows)
    table = _rank(table)
    members = None
    if len(ensemble):
        central = pd.DataFrame([{"member": 0, "arm": r["arm"], "model": r["model"],
                                 "rmst": r["rmst"], "rmst_se": r["rmst_se"],
                                 "aic": r["aic"] if r["converged"] else math.nan}
                                for r in rows])
        members = pd.concat([central, _members(ensemble, [MODELS[m] for m in
                                                          (ensemble_models or names)],
                                               horizon)], ignore_index=True)
        table = _combine(table, members)
    longest = float(observed.follow_up.max())
    if horizon > 2 * longest:
        notes.append(f"The horizon ({horizon:g} {time_unit}) is {horizon / longest:.3g} times "
                     f"the longest follow-up ({longest:.1f}); most of each restricted mean is "
                     "extrapolated (column 'beyond').")
    joint: tuple[JointFit, ...] = ()
    ph = None
    if len(arms) == 2:
        pooled = pd.concat([pd.DataFrame({"time": t, "event": e, "arm": a})
                            for a, (t, e) in arms.items()], ignore_index=True)
        joint = tuple(fit_joint(pooled, m, control) for m in joint_models)
        reference = control if control is not None else list(arms)[1]
        ph = proportional_hazards_test(pooled.time.to_numpy(), pooled.event.to_numpy(),
                                       (pooled.arm != reference).to_numpy(float))
    return Extrapolation(float(horizon), time_unit, fits, ipd, table, pd.DataFrame(lm_rows),
                         observed, members, tuple(notes), joint, ph)


def _rank(table: pd.DataFrame) -> pd.DataFrame:
    out = []
    for _, rows in table.groupby("arm", sort=False):
        rows = rows.copy()
        ok = rows.converged.to_numpy()
        for col in ("aic", "bic"):
            rank = rows.loc[ok, col].rank(method="min")
            rows[f"{col}_rank"] = pd.array([pd.NA] * len(rows), dtype="Int64")
            rows.loc[ok, f"{col}_rank"] = rank.astype(int).to_numpy()
        rows["delta_aic"] = rows.aic - rows.loc[ok, "aic"].min() if ok.any() else math.nan
        out.append(rows)
    order = ["arm", "model", "label", "n_params", "loglik", "aic", "bic", "aic_rank",
             "bic_rank", "delta_aic", "rmst", "rmst_se", "rmst_lower", "rmst_upper", "beyond",
             "mean", "converged", "note"]
    return pd.concat(out, ignore_index=True)[order]


def _members(ensemble: Sequence[pd.DataFrame], specs: list[ModelSpec], horizon: float
             ) -> pd.DataFrame:
    rows = []
    for i, frame in enumerate(ensemble):
        for (arm, name), fit in _fit_arms(_arms(frame), specs).items():
            rmst, se = fit.rmst(horizon)
            rows.append({"member": i + 1, "arm": arm, "model": name, "rmst": rmst,
                         "rmst_se": se, "aic": fit.aic if fit.converged else math.nan})
    return pd.DataFrame(rows)


def _combine(table: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Spread of the members' restricted means, and Rubin's rules for the total variance.

    On the log scale, as the within-dataset CI: with m members of estimates q_i = log RMST_i
    and within variances u_i = (SE_i / RMST_i)^2, T = mean(u) + (1 + 1/m) var(q) (Rubin
    1987), the members playing the part of multiple imputations of the patients. A model
    fitted to the central dataset alone has no spread.

    The AIC order over the members: each member's models (those fitted to every member)
    ranked by AIC within each arm; ``aic_rank_low`` and ``aic_rank_high`` are the best and
    worst rank a model took, ``aic_best_members`` how many members' AIC it led.
    """
    shared = set(members.loc[members.member > 0, "model"])
    judged = members[members.model.isin(shared)].copy()
    judged["rank"] = judged.groupby(["member", "arm"]).aic.rank(method="min")
    ranks = judged.groupby(["arm", "model"], sort=False)["rank"].agg(
        aic_rank_low="min", aic_rank_high="max",
        aic_best_members=lambda r: int((r == 1).sum())).reset_index()
    stats = []
    for (arm, model), rows in members.groupby(["arm", "model"], sort=False):
        ok = rows[np.isfinite(rows.rmst) & (rows.rmst > 0)]
        m = len(ok)
        if m < 2:
            continue
        low, high = np.quantile(ok.rmst, [0.05, 0.95])
        q = np.log(ok.rmst.to_numpy())
        within = float(np.nanmean((ok.rmst_se / ok.rmst) ** 2))
        total = math.sqrt(within + (1 + 1 / m) * float(np.var(q, ddof=1)))
        stats.append({"arm": arm, "model": model, "ensemble_members": m,
                      "ensemble_low": float(low), "ensemble_high": float(high),
                      **dict(zip(("total_lower", "total_upper"),
                                 _log_ci(math.exp(q.mean()), total), strict=True))})
    columns = ["arm", "model", "ensemble_members", "ensemble_low", "ensemble_high",
               "total_lower", "total_upper"]
    out = table.merge(pd.DataFrame(stats, columns=columns), on=["arm", "model"], how="left")
    return out.merge(ranks, on=["arm", "model"], how="left")
