"""Parametric survival families in R flexsurv's parameterisation, and their likelihood.

The models of NICE DSU TSD 14 and TSD 21 written as log density and log survival on the
parameters R ``flexsurv`` (Jackson 2016, J Stat Softw 70(8)) reports, so that estimates,
covariance matrices and Cholesky factors can go straight into a cost-effectiveness model that
was built on flexsurv's output. ``t`` is in the data's time unit.

=================  ==========================  ========  =============================
family             parameters (natural)        location  a coefficient on it is
=================  ==========================  ========  =============================
``exp``            rate                        rate      PH (and AFT): log hazard ratio
``weibull``        shape, scale                scale     AFT: log time ratio
``weibullPH``      shape, scale                scale     PH: log hazard ratio
``gompertz``       shape, rate                 rate      PH: log hazard ratio
``llogis``         shape, scale                scale     AFT: log time ratio
``lnorm``          meanlog, sdlog              meanlog   AFT: log time ratio
``gengamma``       mu, sigma, Q                mu        AFT: log time ratio
``gamma``          shape, rate                 rate      AFT: minus the log time ratio
``spline-hazard``  gamma0 ... gamma(k+1)       gamma0    PH: log hazard ratio
``spline-odds``    gamma0 ... gamma(k+1)       gamma0    PO: log odds ratio of failure
=================  ==========================  ========  =============================

Positive parameters are estimated on the log scale (flexsurv's ``coef`` scale, on which its
``vcov`` is given); a covariate ``x`` acts on the location parameter on that scale:
``log(scale) + beta x``, ``meanlog + beta x``. Weibull AFT: ``S = exp(-(t / scale)^shape)``;
Weibull PH: ``h = shape scale t^(shape - 1)``; Gompertz: ``h = rate exp(shape t)``;
log-logistic: ``S = 1 / (1 + (t / scale)^shape)``; gamma: ``S = Q(shape, rate t)``;
generalised gamma: Prentice (1974); splines: Royston and Parmar (2002), ``s(x) = gamma0 +
gamma1 x + sum_j gamma(j+1) v_j(x)`` on ``x = log t`` (:mod:`.models` states the basis), the
log cumulative hazard (hazard scale) or the log cumulative odds of failure (odds scale).

A mixture-cure version (Boag 1949; NICE DSU TSD 21; R ``flexsurvcure``) has ``S = theta +
(1 - theta) S_u(t)`` with the cure fraction ``theta`` estimated on the logit scale.

Maximum likelihood is by BFGS from several starting points (the likelihood of a Gompertz or a
generalised gamma can have more than one local maximum, or a ridge); the best is kept and a
disagreement between converged starts is reported, not hidden. The covariance is the inverse of
the observed information (autograd's exact Hessian) on the ``coef`` scale.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import autograd.numpy as anp
import numpy as np
from autograd import hessian, jacobian, value_and_grad
from autograd.scipy.special import gammaln
from autograd.scipy.stats import norm
from autograd_gamma import gammainccln, gammaincln
from scipy import special, stats
from scipy.optimize import minimize

from .models import spline_knots

#: Two fits whose log-likelihoods differ by more than this reached different maxima.
DISAGREE = 0.01

#: Random starting points tried besides the ones taken from the data.
RANDOM_STARTS = 2

_Z = float(stats.norm.ppf(0.975))


# --------------------------------------------------------------------------------------
# Log density and log survival, natural parameters (each may be an array, one per patient)
# --------------------------------------------------------------------------------------

def _plain(value) -> float:
    """A scalar's value under autograd's tracing boxes (for a branch on its sign)."""
    while hasattr(value, "_value"):
        value = value._value
    return float(value)


def _plain_array(value) -> np.ndarray:
    while hasattr(value, "_value"):
        value = value._value
    return np.asarray(value, dtype=float)


#: autograd_gamma's log incomplete gamma functions stop at log(1e-35): beyond, a curve's
#: hazard would read 0 (the survival's log no longer falling).
_LOG_FLOOR = -80.0


def _log_gamma_tail(a: np.ndarray, x: np.ndarray, upper: bool) -> np.ndarray:
    """log Q(a, x) (``upper``) or log P(a, x), regularised, where they are tiny: the
    continued fraction for Q (x > a + 1) and the series for P (x < a + 1), summed in
    logs (Press et al. 2007, Numerical Recipes, section 6.2); no floor."""
    a, x = np.broadcast_arrays(np.asarray(a, float), np.asarray(x, float))
    prefix = a * np.log(x) - x - special.gammaln(a)
    if upper:  # modified Lentz
        b = x + 1.0 - a
        c = np.full_like(x, 1e300)
        d = 1.0 / b
        h = d.copy()
        for i in range(1, 400):
            an = -i * (i - a)
            b = b + 2.0
            d = an * d + b
            d = np.where(np.abs(d) < 1e-300, 1e-300, d)
            c = b + an / c
            c = np.where(np.abs(c) < 1e-300, 1e-300, c)
            d = 1.0 / d
            h = h * d * c
        return prefix + np.log(h)
    total = term = 1.0 / a
    ap = a.copy()
    for _ in range(600):
        ap = ap + 1.0
        term = term * x / ap
        total = total + term
    return prefix + np.log(total)


def _log_incomplete(a, x, upper: bool):
    """log of the regularised upper (``upper``) or lower incomplete gamma function,
    differentiable where autograd_gamma computes it and continued by
    :func:`_log_gamma_tail` past its floor."""
    v = gammainccln(a, x) if upper else gammaincln(a, x)
    plain = _plain_array(v)
    if np.all(plain > _LOG_FLOOR):
        return v
    with np.errstate(all="ignore"):
        tail = _log_gamma_tail(_plain_array(a), _plain_array(x), upper=upper)
    return anp.where(plain > _LOG_FLOOR, v, tail)


def _exp(p, t):
    (rate,) = p
    return anp.log(rate) - rate * t, -rate * t


def _weibull(p, t):
    shape, scale = p
    z = (t / scale) ** shape
    return anp.log(shape / scale) + (shape - 1.0) * anp.log(t / scale) - z, -z


def _weibull_ph(p, t):
    shape, scale = p
    cum = scale * t ** shape
    return anp.log(shape * scale) + (shape - 1.0) * anp.log(t) - cum, -cum


def _gompertz(p, t):
    shape, rate = p
    # rate (exp(shape t) - 1) / shape, kept exact as shape passes through 0
    st = shape * t
    if abs(_plain(shape)) < 1e-10:
        cum = rate * t * (1.0 + st / 2.0)
    else:
        cum = rate * anp.expm1(st) / shape
    return anp.log(rate) + st - cum, -cum


def _llogis(p, t):
    shape, scale = p
    logz = shape * anp.log(t / scale)
    log1pz = anp.logaddexp(0.0, logz)
    return anp.log(shape / scale) + (shape - 1.0) * anp.log(t / scale) - 2.0 * log1pz, -log1pz


def _lnorm(p, t):
    mu, sigma = p
    x = anp.log(t)
    w = (x - mu) / sigma
    return norm.logpdf(w) - anp.log(sigma) - x, norm.logcdf(-w)


def _gengamma(p, t):
    mu, sigma, q = p
    if abs(_plain(q)) < 1e-5:  # the log-normal limit
        return _lnorm((mu, sigma), t)
    x = anp.log(t)
    w = (x - mu) / sigma
    g = 1.0 / (q * q)
    qw = q * w
    logf = (anp.log(anp.abs(q)) + g * anp.log(g) + g * (qw - anp.exp(qw)) - anp.log(sigma)
            - x - gammaln(g))
    u = anp.clip(g * anp.exp(qw), 1e-300, 1e300)
    logs = _log_incomplete(g, u, upper=_plain(q) > 0)
    return logf, logs


def _gamma(p, t):
    shape, rate = p
    logf = shape * anp.log(rate) + (shape - 1.0) * anp.log(t) - rate * t - gammaln(shape)
    return logf, _log_incomplete(shape, rate * t, upper=True)


def _basis(x, logs):
    """Royston-Parmar's spline ``s`` terms and their derivatives at ``x = log t``."""
    lo, hi = logs[0], logs[-1]
    terms, slopes = [], []
    for kj in logs[1:-1]:
        lam = (hi - kj) / (hi - lo)
        def cube(a):
            return anp.maximum(x - a, 0.0) ** 3

        def square(a):
            return anp.maximum(x - a, 0.0) ** 2
        terms.append(cube(kj) - lam * cube(lo) - (1.0 - lam) * cube(hi))
        slopes.append(3.0 * (square(kj) - lam * square(lo) - (1.0 - lam) * square(hi)))
    return terms, slopes


def _spline(scale: str, logs: np.ndarray):
    def logpdf_logsf(p, t):
        x = anp.log(t)
        terms, slopes = _basis(x, logs)
        s = p[0] + p[1] * x
        ds = p[1] + 0.0 * x
        for g, v, dv in zip(p[2:], terms, slopes, strict=True):
            s = s + g * v
            ds = ds + g * dv
        # A falling spline is no survival curve: it is given no likelihood there.
        log_ds = anp.log(anp.maximum(ds, 1e-300))
        if scale == "hazard":
            return log_ds + s - x - anp.exp(s), -anp.exp(s)
        log1p = anp.logaddexp(0.0, s)
        return log_ds + s - x - 2.0 * log1p, -log1p
    return logpdf_logsf


# --------------------------------------------------------------------------------------
# Families
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Family:
    """One parametric family: flexsurv's name and parameters, which are positive (estimated
    on the log scale), the location parameter a covariate acts on, and what a coefficient
    there means (``"PH"``, ``"AFT"`` or ``"PO"``)."""

    name: str
    label: str
    parameters: tuple[str, ...]
    positive: tuple[bool, ...]
    location: int
    effect: str
    logpdf_logsf: Callable = field(repr=False, compare=False)
    knots: tuple[float, ...] = ()

    @property
    def n_params(self) -> int:
        return len(self.parameters)


def _fixed(name, label, parameters, positive, location, effect, fn) -> Family:
    return Family(name, label, parameters, positive, location, effect, fn)


#: The families with a fixed number of parameters, by flexsurv's name.
FAMILIES: dict[str, Family] = {f.name: f for f in [
    _fixed("exp", "Exponential", ("rate",), (True,), 0, "PH", _exp),
    _fixed("weibull", "Weibull (AFT)", ("shape", "scale"), (True, True), 1, "AFT", _weibull),
    _fixed("weibullPH", "Weibull (PH)", ("shape", "scale"), (True, True), 1, "PH", _weibull_ph),
    _fixed("gompertz", "Gompertz", ("shape", "rate"), (False, True), 1, "PH", _gompertz),
    _fixed("llogis", "Log-logistic", ("shape", "scale"), (True, True), 1, "AFT", _llogis),
    _fixed("lnorm", "Log-normal", ("meanlog", "sdlog"), (False, True), 0, "AFT", _lnorm),
    _fixed("gengamma", "Generalised gamma", ("mu", "sigma", "Q"), (False, True, False), 0,
           "AFT", _gengamma),
    _fixed("gamma", "Gamma", ("shape", "rate"), (True, True), 1, "AFT", _gamma),
]}

#: trialrecon's per-arm model names (:data:`.models.MODELS`) and flexsurv's.
FLEXSURV_NAME = {"exponential": "exp", "weibull": "weibull", "gompertz": "gompertz",
                 "loglogistic": "llogis", "lognormal": "lnorm", "gengamma": "gengamma",
                 "gamma": "gamma"}


def spline_family(scale: str, k: int, time: np.ndarray, event: np.ndarray) -> Family:
    """A Royston-Parmar spline with ``k`` internal knots placed on the log event times of
    ``time``, ``event`` as flexsurv's ``flexsurvspline`` places them."""
    if scale not in ("hazard", "odds"):
        raise ValueError(f"spline scale '{scale}' is not hazard or odds")
    knots = spline_knots(time, event, k)
    logs = np.log(knots)
    return Family(f"spline-{scale}-{k}", f"Spline ({scale}, {k} knot{'s' * (k > 1)})",
                  tuple(f"gamma{j}" for j in range(k + 2)), (False,) * (k + 2), 0,
                  "PH" if scale == "hazard" else "PO", _spline(scale, logs),
                  tuple(float(x) for x in knots))


def family(name: str, time: np.ndarray | None = None, event: np.ndarray | None = None
           ) -> Family:
    """The family called ``name``: flexsurv's (``weibullPH``), trialrecon's per-arm model
    name (``loglogistic``), or ``spline-hazard-k`` / ``spline-odds-k`` with its knots placed
    on ``time``, ``event``."""
    name = FLEXSURV_NAME.get(name, name)
    if name in FAMILIES:
        return FAMILIES[name]
    parts = name.split("-")
    if len(parts) == 3 and parts[0] == "spline" and parts[2].isdigit():
        if time is None or event is None:
            raise ValueError(f"{name} needs the data to place its knots")
        return spline_family(parts[1], int(parts[2]), time, event)
    raise ValueError(f"no survival family '{name}'; one of {', '.join(FAMILIES)}, "
                     "spline-hazard-k, spline-odds-k")


# --------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit (all derived).

    ``coef`` and ``covariance`` are on flexsurv's ``coef`` scale (log of positive
    parameters; the treatment coefficient ``beta`` as is; the cure fraction as its logit);
    ``names`` labels them. ``note`` says when starts disagreed or the information matrix was
    not positive definite (then ``covariance`` is NaN).
    """

    family: Family
    names: tuple[str, ...]
    coef: np.ndarray
    covariance: np.ndarray
    loglik: float
    n: int
    events: int
    covariate: bool
    cure: bool
    converged: bool
    note: str = ""

    @property
    def n_params(self) -> int:
        return len(self.coef)

    @property
    def aic(self) -> float:
        return 2.0 * self.n_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        return self.n_params * math.log(self.n) - 2.0 * self.loglik

    @property
    def estimates(self) -> dict[str, float]:
        """Natural-scale estimates, by flexsurv's names (``theta`` the cure fraction)."""
        return dict(zip(self.names, _natural(self.family, self.coef, self.covariate,
                                             self.cure), strict=True))

    @property
    def cholesky(self) -> np.ndarray:
        """Lower-triangular ``L`` with ``L L' = covariance`` (for drawing parameter sets in
        a probabilistic sensitivity analysis); NaN when the covariance is not positive
        definite."""
        try:
            return np.linalg.cholesky(self.covariance)
        except np.linalg.LinAlgError:
            return np.full_like(self.covariance, np.nan)

    def _logsf(self, coef, t, x):
        return _log_density_survival(self.family, coef, t, x, self.covariate, self.cure)[1]

    def survival(self, times, x: float = 0.0) -> np.ndarray:
        """Survival at ``times`` for covariate value ``x`` (0 the reference arm)."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        out = np.ones_like(t)
        pos = t > 0
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[pos] = np.exp(self._logsf(self.coef, t[pos], x))
        return out

    def hazard(self, times, x: float = 0.0) -> np.ndarray:
        """Hazard at ``times`` (> 0), events per patient per time unit."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logf, logs = _log_density_survival(self.family, self.coef, t, x, self.covariate,
                                               self.cure)
        return np.exp(np.asarray(logf) - np.asarray(logs))

    def survival_band(self, times, x: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """95% pointwise band of survival from parameter uncertainty: the delta method on
        ``log(-log S)`` (bounds inside (0, 1)); NaN where the covariance is not known."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        pos = t > 0
        lower, upper = np.ones_like(t), np.ones_like(t)
        if not pos.any():
            return lower, upper
        tp = t[pos]

        def cloglog(c):
            return anp.log(-self._logsf(c, tp, x))

        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u = np.asarray(cloglog(self.coef), dtype=float)
            jac = np.asarray(jacobian(cloglog)(self.coef), dtype=float).reshape(len(tp), -1)
            se = np.sqrt(np.einsum("ij,jk,ik->i", jac, self.covariance, jac))
            lower[pos] = np.exp(-np.exp(u + _Z * se))
            upper[pos] = np.exp(-np.exp(u - _Z * se))
        return lower, upper

    def mean(self, x: float = 0.0) -> float:
        """Unrestricted mean survival time, ``integral_0^inf S(t) dt``: inf where it is
        not finite (a cure fraction, a Gompertz that levels off, a tail too heavy)."""
        if self.cure and self.estimates["theta"] > 0:
            return math.inf
        return _mean(lambda t: self.survival(t, x))

    def rmst(self, tau: float, x: float = 0.0) -> tuple[float, float]:
        """Restricted mean survival to ``tau`` and its delta-method standard error
        (Gauss-Legendre quadrature; exact gradient)."""
        nodes, weights = quadrature(tau)

        def area(c):
            return anp.dot(weights, anp.exp(self._logsf(c, nodes, x)))

        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value, gradient = value_and_grad(area)(self.coef)
            variance = float(np.asarray(gradient) @ self.covariance @ np.asarray(gradient))
        se = math.sqrt(variance) if variance >= 0 and math.isfinite(variance) else math.nan
        return float(value), se


def _mean(survival: Callable[[np.ndarray], np.ndarray]) -> float:
    """``integral_0^inf S(t) dt`` on the log scale (``S(e^u) e^u du``), or inf where the
    curve does not fall fast enough for it to be finite (a plateau, or a tail like
    ``t^-1``): the integrand still above 1e-9 of the whole at ``10^12`` times the median."""
    grid = np.geomspace(1e-12, 1e15, 541)
    s = survival(grid)
    if not np.all(np.isfinite(s)):
        return math.nan
    if s[-1] > 1e-12:
        return math.inf
    below = np.flatnonzero(s <= 0.5)
    median = grid[below[0]] if len(below) else grid[-1]
    # Gauss-Legendre on panels of a quarter unit of log time, 60 units either side of the
    # median (one vectorised evaluation)
    x, w = np.polynomial.legendre.leggauss(16)
    edges = math.log(median) + np.arange(-60.0, 60.01, 0.25)
    lo, hi = edges[:-1, None], edges[1:, None]
    u = (0.5 * (hi - lo) * x[None, :] + 0.5 * (hi + lo)).ravel()
    weights = (0.5 * (hi - lo) * w[None, :]).ravel()
    integrand = survival(np.exp(u)) * np.exp(u)
    value = float(weights @ integrand)
    if not math.isfinite(value) or integrand[-1] > 1e-9 * max(value, 1e-300):
        return math.inf
    return value


def quadrature(tau: float, panels: int = 48, nodes: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on ``[0, tau]``, panels uniform in the
    square root of time (denser near 0, where curves bend most)."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    edges = tau * np.linspace(0.0, 1.0, panels + 1) ** 2
    lo, hi = edges[:-1, None], edges[1:, None]
    return ((0.5 * (hi - lo) * x[None, :] + 0.5 * (hi + lo)).ravel(),
            (0.5 * (hi - lo) * w[None, :]).ravel())


def _natural(fam: Family, coef, covariate: bool, cure: bool) -> list[float]:
    k = fam.n_params
    out = [math.exp(c) if pos else float(c) for c, pos in zip(coef[:k], fam.positive,
                                                               strict=True)]
    if covariate:
        out.append(float(coef[k]))
    if cure:
        out.append(float(1.0 / (1.0 + math.exp(-coef[-1]))))
    return out


def _log_density_survival(fam: Family, coef, t, x, covariate: bool, cure: bool):
    k = fam.n_params
    params = []
    for j in range(k):
        c = coef[j]
        if covariate and j == fam.location:
            c = c + coef[k] * x
        params.append(anp.exp(c) if fam.positive[j] else c)
    logf, logs = fam.logpdf_logsf(params, t)
    if cure:
        theta = 1.0 / (1.0 + anp.exp(-coef[-1]))
        logf = anp.log1p(-theta) + logf
        logs = anp.logaddexp(anp.log(theta), anp.log1p(-theta) + logs)
    return logf, logs


def _negloglik(coef, fam, t, e, x, covariate, cure):
    logf, logs = _log_density_survival(fam, coef, t, x, covariate, cure)
    return -(anp.sum(e * logf) + anp.sum((1.0 - e) * logs))


def _starts(fam: Family, t: np.ndarray, e: np.ndarray) -> list[np.ndarray]:
    """Starting points (coef scale) from the Nelson-Aalen curve: the family's line through
    the transformed estimate where it has one (Weibull, log-logistic, log-normal, splines)."""
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order].astype(bool)
    cum = np.cumsum(es / (len(ts) - np.arange(len(ts))))
    keep = es & (cum > 0)
    x, h = np.log(ts[keep]), cum[keep]
    if len(np.unique(x)) >= 2:
        slope_h, c_h = np.polyfit(x, np.log(h), 1)
    else:
        slope_h, c_h = 1.0, float(np.mean(np.log(h) - x)) if len(x) else 0.0
    slope_h = max(float(slope_h), 0.05)
    s = np.exp(-h)
    logit_f = np.log(np.maximum(1 - s, 1e-12) / np.maximum(s, 1e-12))
    slope_o, c_o = (np.polyfit(x, logit_f, 1) if len(np.unique(x)) >= 2
                    else (1.0, 0.0))
    slope_o = max(float(slope_o), 0.05)
    rate = max(float(e.sum()), 1.0) / float(t.sum())
    median = float(np.median(t))
    name = fam.name.split("-")[0] if fam.name.startswith("spline") else fam.name
    if name == "exp":
        return [np.array([math.log(rate)])]
    if name == "weibull":
        return [np.array([math.log(slope_h), -c_h / slope_h])]
    if name == "weibullPH":
        return [np.array([math.log(slope_h), c_h])]
    if name == "gompertz":
        return [np.array([a / median, math.log(rate)]) for a in (0.1, -0.1, 0.0)]
    if name == "llogis":
        return [np.array([math.log(slope_o), -c_o / slope_o])]
    if name == "lnorm":
        z = stats.norm.ppf(np.clip(-np.expm1(-h), 1e-6, 1 - 1e-6))
        slope, c = np.polyfit(x, z, 1) if len(np.unique(x)) >= 2 else (1.0, 0.0)
        slope = max(float(slope), 0.05)
        return [np.array([-c / slope, -math.log(slope)])]
    if name == "gengamma":
        # the Weibull it contains (Q = 1) and near the log-normal (Q small)
        w = [-c_h / slope_h, -math.log(slope_h)]
        return [np.array(w + [1.0]), np.array(w + [0.1]), np.array(w + [-0.5])]
    if name == "gamma":
        return [np.array([0.0, math.log(rate)]), np.array([math.log(slope_h),
                                                           math.log(rate * slope_h)])]
    start = np.zeros(fam.n_params)
    if fam.effect == "PO":
        start[0], start[1] = c_o, slope_o
    else:
        start[0], start[1] = c_h, slope_h
    return [start]


def fit(fam: Family, time, event, x=None, cure: bool = False, seed: int = 0) -> Fit:
    """Fit ``fam`` by maximum likelihood to right-censored ``time``, ``event`` (1 an event),
    with a covariate ``x`` on the location parameter (a treatment indicator: 1 experimental,
    0 control) and, with ``cure``, a cure fraction.

    Starts: the data's (:func:`_starts`) and :data:`RANDOM_STARTS` around them (seeded);
    the best converged maximum is kept; starts that converge to maxima more than
    :data:`DISAGREE` apart in log-likelihood are reported in ``note``.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    covariate = x is not None
    xv = np.zeros_like(t) if x is None else np.asarray(x, dtype=float)
    if np.any(t <= 0):
        t = np.maximum(t, 1e-8 * max(float(t.max()), 1.0))  # a time 0 has no density
    base = _starts(fam, t, e)
    # A cure fraction starts below the curve's last level (the uncured still dying there).
    last = float(np.prod(1.0 - e[np.argsort(t)] / (len(t) - np.arange(len(t)))))
    theta = min(max(0.8 * last, 0.02), 0.9)
    extra = ([0.0] if covariate else []) + ([math.log(theta / (1 - theta))] if cure else [])
    starts = [np.r_[b, extra] for b in base]
    rng = np.random.default_rng(seed)
    for _ in range(RANDOM_STARTS):
        b = starts[0]
        starts.append(b + rng.normal(0.0, 0.3, size=b.shape))

    def objective(c):
        return _negloglik(c, fam, t, e, xv, covariate, cure)

    value_grad = value_and_grad(objective)

    def safe(c):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                v, g = value_grad(c)
            except (ValueError, FloatingPointError, ZeroDivisionError, OverflowError):
                return 1e300, np.zeros_like(c)
        v, g = float(v), np.asarray(g, dtype=float)
        if not math.isfinite(v) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros_like(c)
        return v, g

    runs = sorted((minimize(safe, s, jac=True, method="BFGS",
                            options={"gtol": 1e-6, "maxiter": 2000}) for s in starts),
                  key=lambda r: r.fun)
    names = fam.parameters + (("beta",) if covariate else ()) + (("theta",) if cure else ())
    # The best run polished by Newton steps (the next best if it is no maximum); a run that
    # stopped more than DISAGREE lower is polished too, to tell a second maximum from a
    # run that stopped short.
    best = None
    for r in runs:
        best = _polish(objective, safe, r.x)
        if best is not None:
            break
    if best is None:
        # No start reached a point of positive curvature: on a ridge (a likelihood flat in
        # some direction) the best point found stands, without a covariance.
        flat = [r for r in runs if r.fun < 1e299 and np.all(np.isfinite(r.x))]
        if flat and _polish(objective, safe, flat[0].x, require_maximum=False) is not None:
            best = _polish(objective, safe, flat[0].x, require_maximum=False)
    if best is None:
        nan = np.full(len(names), np.nan)
        return Fit(fam, names, nan, np.full((len(names),) * 2, np.nan), math.nan, len(t),
                   int(e.sum()), covariate, cure, False, "no start reached a maximum")
    best_coef, best_value, best_hess = best
    note = ""
    for r in runs:
        if r.fun - best_value > DISAGREE and r.success:
            other = _polish(objective, safe, r.x)
            if other is not None and other[1] - best_value > DISAGREE:
                note = (f"starts reached different maxima (log-likelihood {-best_value:.2f} "
                        f"and {-other[1]:.2f}): the best is kept")
                break
    try:
        cov = np.linalg.inv(best_hess)
        cov = (cov + cov.T) / 2.0
        if np.any(np.linalg.eigvalsh(cov) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.full_like(best_hess, np.nan)
        note = "; ".join(filter(None, [note, "the information matrix is not positive "
                                       "definite: no covariance"]))
    return Fit(fam, names, best_coef, cov, -best_value, len(t), int(e.sum()), covariate, cure,
               True, note)


def _polish(objective, safe, c, steps: int = 8, require_maximum: bool = True):
    """Newton steps from ``c`` to a gradient near zero; ``(coef, value, hessian)`` at a
    maximum (positive definite Hessian of the negative log-likelihood), else None; with
    ``require_maximum`` False, at any point of small gradient."""
    hess = hessian(objective)
    value, g = safe(c)
    if value >= 1e299:
        return None
    for _ in range(steps):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = np.asarray(hess(c), dtype=float)
        if not np.all(np.isfinite(h)):
            return None
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            break
        if not require_maximum and float(g @ step) <= 0:
            break  # not a descent direction where the curvature is not positive
        if abs(float(g @ step)) < 1e-12:  # the Newton decrement: at the maximum
            break
        lam = 1.0
        while lam > 1e-4:
            trial = c - lam * step
            v, gt = safe(trial)
            if v <= value:
                c, value, g = trial, v, gt
                break
            lam /= 2.0
        else:
            break
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = np.asarray(hess(c), dtype=float)
    if not np.all(np.isfinite(h)) or np.max(np.abs(g)) > 1e-3 * max(1.0, abs(value)) ** 0.5:
        return None
    h = (h + h.T) / 2.0
    if require_maximum and np.any(np.linalg.eigvalsh(h) <= 0):
        return None
    return c, value, h
