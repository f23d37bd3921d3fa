"""The parametric survival models of NICE DSU TSD 14 and TSD 21, as lifelines fitters.

Standard models (Latimer 2011, NICE DSU TSD 14) and Royston-Parmar splines (Royston and
Parmar 2002; NICE DSU TSD 21, Rutherford et al. 2020). Parameterisations, with ``t`` in the
data's time unit:

============================  ==========================================================
exponential                   ``S = exp(-t / lambda_)`` (lifelines ``ExponentialFitter``)
weibull                       ``S = exp(-(t / lambda_) ** rho_)`` (``WeibullFitter``)
gompertz                      ``h = rate_ exp(shape_ t)``, ``H = rate_ / shape_ (exp(shape_ t)
                              - 1)``; ``shape_ < 0`` levels off at ``exp(rate_ / shape_)``
                              (flexsurv's shape and rate)
loglogistic                   ``S = 1 / (1 + (t / alpha_) ** beta_)`` (``LogLogisticFitter``)
lognormal                     ``log t ~ Normal(mu_, sigma_)`` (``LogNormalFitter``)
gengamma                      Prentice (1974) generalised gamma ``mu_, ln_sigma_, lambda_``
                              (``GeneralizedGammaFitter``; flexsurv's ``mu, sigma, Q``)
gamma                         ``S = Q(shape_, rate_ t)``, the regularised upper incomplete
                              gamma function (flexsurv's shape and rate)
spline-hazard-k               ``log H = s(log t)`` (``SplineFitter``)
spline-odds-k                 ``log(S^-1 - 1) = s(log t)`` (proportional odds scale)
============================  ==========================================================

``s(x) = phi_0 + phi_1 x + sum_j phi_{j+1} v_j(x)`` is the natural cubic spline of Royston
and Parmar with ``k`` internal knots; ``v_j(x) = (x - k_j)^3_+ - l_j (x - k_min)^3_+ -
(1 - l_j) (x - k_max)^3_+`` with ``l_j = (k_max - k_j) / (k_max - k_min)``. As flexsurv's
``flexsurvspline`` places them by default, the boundary knots are the smallest and largest
log event time and the internal knots the ``j / (k + 1)`` quantiles of the log event times.

lifelines' likelihoods, autograd derivatives and scipy's optimisers find every maximum; this
module adds the three missing families and starting points from the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
from autograd import hessian, value_and_grad
from autograd_gamma import gammainccln
from lifelines import (
    ExponentialFitter,
    GeneralizedGammaFitter,
    LogLogisticFitter,
    LogNormalFitter,
    SplineFitter,
    WeibullFitter,
)
from lifelines.fitters import KnownModelParametricUnivariateFitter, ParametricUnivariateFitter
from scipy import special
from scipy.optimize import minimize


class _GradientStart:
    """Fit from a data-based starting point by the fitter's own gradient method first.

    lifelines' univariate fit runs 400 Nelder-Mead steps before its gradient method, and
    that costs nine tenths of the time. Starting where a nonparametric estimate puts the
    model (each class's ``_create_initial_point``), scipy's gradient method with lifelines'
    likelihood and autograd derivatives reaches the maximum alone; lifelines' full
    procedure is the fallback whenever it does not converge.
    """

    def _fit_model(self, Ts, E, entry, weights, fit_options: dict, show_progress=False):
        nll = self._negative_log_likelihood_right_censoring
        result = None
        # The fitter's own method first; L-BFGS-B next (SLSQP at times stops on a
        # rank-deficient subproblem where L-BFGS-B goes on).
        for method in dict.fromkeys((self._scipy_fit_method, "L-BFGS-B")):
            own = self._scipy_fit_options if method == self._scipy_fit_method else {}
            options = {**own, **fit_options.get(method, {})}
            try:
                with np.errstate(all="ignore"):
                    result = minimize(value_and_grad(nll), self._initial_values, jac=True,
                                      method=method, args=(Ts, E, entry, weights),
                                      bounds=self._bounds, options=options)
            except (ValueError, FloatingPointError, ZeroDivisionError):
                result = None
            if result is not None and result.success and np.all(np.isfinite(result.x)):
                break
        if result is None or not result.success or not np.all(np.isfinite(result.x)):
            fit_options = fit_options.get(self._scipy_fit_method, {})
            return super()._fit_model(Ts, E, entry, weights, fit_options,
                                      show_progress=show_progress)
        sol = np.asarray(result.x, dtype=float)
        h = hessian(nll)(sol, Ts, E, entry, weights)
        h = (h + h.T) / 2
        return sol, -result.fun * weights.sum(), h * weights.sum()


def _nonparametric(Ts, E) -> tuple[np.ndarray, np.ndarray]:
    """Log event times and the Nelson-Aalen cumulative hazard there (for starting points)."""
    t = np.asarray(Ts[0], dtype=float)
    e = np.asarray(E, dtype=bool)
    order = np.argsort(t, kind="stable")
    t, e = t[order], e[order]
    cum_hazard = np.cumsum(e / (len(t) - np.arange(len(t))))
    keep = e & (cum_hazard > 0)
    return np.log(t[keep]), cum_hazard[keep]


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the least-squares line (a flat unit slope if x is constant)."""
    if len(np.unique(x)) < 2:
        return 1.0, float(np.mean(y) - np.mean(x))
    slope, intercept = np.polyfit(x, y, 1)
    return max(float(slope), 0.05), float(intercept)


class Exponential(_GradientStart, ExponentialFitter):
    """lifelines' exponential model, started at the events-over-exposure estimate."""

    def _create_initial_point(self, Ts, E, *args):
        return np.array([float(np.sum(Ts[0])) / max(float(np.sum(E)), 1.0)])


class Weibull(_GradientStart, WeibullFitter):
    """lifelines' Weibull model, started on the line through log H against log t."""

    def _create_initial_point(self, Ts, E, *args):
        x, h = _nonparametric(Ts, E)
        rho, c = _line(x, np.log(h))
        return np.array([math.exp(-c / rho), rho])


class LogLogistic(_GradientStart, LogLogisticFitter):
    """lifelines' log-logistic model, started on the line through the log odds of failure."""

    def _create_initial_point(self, Ts, E, *args):
        x, h = _nonparametric(Ts, E)
        s = np.exp(-h)
        beta, c = _line(x, np.log(np.maximum(1 - s, 1e-12) / np.maximum(s, 1e-12)))
        return np.array([math.exp(-c / beta), beta])


class LogNormal(_GradientStart, LogNormalFitter):
    """lifelines' log-normal model, started on the probit line of the failure curve."""

    def _create_initial_point(self, Ts, E, *args):
        x, h = _nonparametric(Ts, E)
        slope, c = _line(x, special.ndtri(np.clip(-np.expm1(-h), 1e-6, 1 - 1e-6)))
        return np.array([-c / slope, 1.0 / slope])


class GeneralizedGamma(_GradientStart, GeneralizedGammaFitter):
    """lifelines' generalised gamma, started at the Weibull it contains (Q = 1)."""

    def _create_initial_point(self, Ts, E, *args):
        lam, rho = Weibull._create_initial_point(self, Ts, E)
        return np.array([math.log(lam), -math.log(rho), 1.0])


class GompertzFitter(_GradientStart, KnownModelParametricUnivariateFitter):
    """Gompertz model: hazard ``rate_ * exp(shape_ * t)`` (flexsurv's parameterisation)."""

    _fitted_parameter_names = ["shape_", "rate_"]
    _bounds = [(None, None), (0.0, None)]

    def _create_initial_point(self, Ts, E, *args):
        t = np.asarray(Ts[0], dtype=float)
        rate = max(float(np.sum(E)), 1.0) / float(np.sum(t))
        # A slightly rising hazard: the quotient expm1(a t) / a has no value at a = 0.
        return np.array([0.1 / float(np.median(t)), rate])

    def _cumulative_hazard(self, params, times):
        shape, rate = params
        return rate * anp.expm1(shape * times) / shape

    def _log_hazard(self, params, times):
        shape, rate = params
        return anp.log(rate) + shape * times


class GammaFitter(_GradientStart, KnownModelParametricUnivariateFitter):
    """Gamma model: ``S(t) = Q(shape_, rate_ t)`` (flexsurv's shape and rate)."""

    _fitted_parameter_names = ["shape_", "rate_"]
    _bounds = [(0.0, None), (0.0, None)]

    def _create_initial_point(self, Ts, E, *args):
        t = np.asarray(Ts[0], dtype=float)
        return np.array([1.0, max(float(np.sum(E)), 1.0) / float(np.sum(t))])

    def _cumulative_hazard(self, params, times):
        shape, rate = params
        return -gammainccln(shape, rate * times)


def _spline_start(fitter: SplineFitter, Ts, E, odds: bool) -> np.ndarray:
    """The spline's linear terms on the line through the transformed Nelson-Aalen curve.

    A Weibull (hazard scale) or log-logistic (odds scale) curve through the nonparametric
    estimate, the curvature terms at zero: the start flexsurv takes (Royston and Parmar
    2002, section 4).
    """
    x, h = _nonparametric(Ts, E)
    if odds:
        s = np.exp(-h)
        y = np.log(np.maximum(1.0 - s, 1e-12) / np.maximum(s, 1e-12))
    else:
        y = np.log(h)
    slope, intercept = _line(x, y)
    start = np.zeros(fitter.n_knots)
    start[0], start[1] = intercept, slope
    return start


class HazardSplineFitter(_GradientStart, SplineFitter):
    """Royston-Parmar spline on the log cumulative hazard scale (lifelines' ``SplineFitter``
    and its basis, with a starting point from the data)."""

    def _create_initial_point(self, Ts, E, entry, weights):
        return _spline_start(self, Ts, E, odds=False)

    def _spline(self, params, times):
        """``s(log t)``, summed in the exponent: lifelines multiplies ``exp(phi_j v_j)``
        factors, and with large coefficients of opposite sign (close internal knots) one
        factor overflows and another underflows beyond the knots, giving inf x 0 = NaN."""
        x = anp.log(times)
        logs = anp.log(self.knot_locations)
        s = params[0] + params[1] * x
        for j in range(2, self.n_knots):
            s = s + params[j] * self.basis(x, logs[j - 1], logs[0], logs[-1])
        return s

    def _cumulative_hazard(self, params, times):
        return anp.exp(self._spline(params, times))


class OddsSplineFitter(HazardSplineFitter):
    """Royston-Parmar spline on the log cumulative odds scale: ``H = log(1 + exp(s))``."""

    def _create_initial_point(self, Ts, E, entry, weights):
        return _spline_start(self, Ts, E, odds=True)

    def _cumulative_hazard(self, params, times):
        return anp.logaddexp(0.0, self._spline(params, times))


def spline_knots(time: np.ndarray, event: np.ndarray, internal: int) -> np.ndarray:
    """Knots in the time unit: the range and ``j / (k + 1)`` quantiles of log event times.

    As ``flexsurvspline``'s default (R's ``quantile`` type 7, numpy's default linear rule).
    """
    log_t = np.log(np.asarray(time, dtype=float)[np.asarray(event, dtype=bool)])
    return np.exp(np.quantile(log_t, np.linspace(0.0, 1.0, internal + 2)))


@dataclass(frozen=True)
class ModelSpec:
    """One model of the set: its name, a label for people, and how to build its fitter."""

    name: str
    label: str
    n_params: int
    build: Callable[[np.ndarray, np.ndarray], ParametricUnivariateFitter]
    spline: bool = False


def _spline(scale: str, k: int) -> ModelSpec:
    cls = HazardSplineFitter if scale == "hazard" else OddsSplineFitter
    return ModelSpec(f"spline-{scale}-{k}", f"Spline ({scale}, {k} knot{'s' * (k > 1)})",
                     k + 2, lambda t, e: cls(spline_knots(t, e, k)), spline=True)


#: Every model, in the order of TSD 14 and then the splines of TSD 21.
MODELS: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec("exponential", "Exponential", 1, lambda t, e: Exponential()),
    ModelSpec("weibull", "Weibull", 2, lambda t, e: Weibull()),
    ModelSpec("gompertz", "Gompertz", 2, lambda t, e: GompertzFitter()),
    ModelSpec("loglogistic", "Log-logistic", 2, lambda t, e: LogLogistic()),
    ModelSpec("lognormal", "Log-normal", 2, lambda t, e: LogNormal()),
    ModelSpec("gengamma", "Generalised gamma", 3, lambda t, e: GeneralizedGamma()),
    ModelSpec("gamma", "Gamma", 2, lambda t, e: GammaFitter()),
    *[_spline(scale, k) for scale in ("hazard", "odds") for k in (1, 2, 3)],
]}

#: The seven standard models of TSD 14 (no splines).
STANDARD = tuple(name for name, m in MODELS.items() if not m.spline)
