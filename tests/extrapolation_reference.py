"""An independent maximum-likelihood reference for :mod:`trialrecon.extrapolation` (tests only).

R and flexsurv are not available here, so the reference the issue asks for is this module:
each of the 13 models has a right-censored log-likelihood written from the published
formulas in plain numpy and scipy (``sum_events log f(t) + sum_censored log S(t)``), maximised
with scipy's optimisers on unconstrained transforms of the parameters and polished by Newton
steps to a gradient near zero. It imports neither lifelines nor trialrecon.

Formulas (``t`` > 0, ``x = log t``):

* exponential: ``h = r``; Weibull: ``S = exp(-(t / b) ** a)``;
* Gompertz: ``h = b exp(a t)``, ``H = b (exp(a t) - 1) / a`` (flexsurv's shape ``a``, rate
  ``b``);
* log-logistic: ``S = 1 / (1 + (t / b) ** a)``; log-normal: ``log t ~ N(mu, sigma)``; gamma:
  ``f = b^a t^(a-1) exp(-b t) / Gamma(a)``, ``S = Q(a, b t)`` (these four checked against
  scipy's ``weibull_min``, ``fisk``, ``lognorm`` and ``gamma`` by the tests);
* generalised gamma (Prentice 1974, flexsurv's ``mu, sigma, Q``): with ``w = (x - mu) /
  sigma``, ``g = Q^-2`` and ``u = g exp(Q w)``, ``f = |Q| g^g exp(g (Q w - exp(Q w))) /
  (sigma t Gamma(g))``, ``S = 1 - P(g, u)`` if ``Q > 0`` and ``P(g, u)`` if ``Q < 0``
  (``P`` the regularised lower incomplete gamma function); the log-normal at ``Q = 0``;
* Royston-Parmar splines (Royston and Parmar 2002) ``s(x) = g_0 + g_1 x + sum_j g_{j+1}
  v_j(x)`` with ``v_j(x) = (x - k_j)^3_+ - l_j (x - k_min)^3_+ - (1 - l_j) (x - k_max)^3_+``,
  ``l_j = (k_max - k_j) / (k_max - k_min)``; hazard scale ``H = exp(s)``, ``h = s'(x) exp(s)
  / t``; odds scale ``S = 1 / (1 + exp(s))``, ``f = s'(x) exp(s) / (t (1 + exp(s))^2)``.
  Boundary knots are the smallest and largest log event time, internal knots the ``j / (k +
  1)`` quantiles (R's type 7) of the log event times, as flexsurv's ``flexsurvspline``.

The estimates are reported under R flexsurv's parameter names and natural scales
(exponential ``rate``, Weibull ``shape, scale``, Gompertz ``shape, rate``, log-logistic
``shape, scale``, log-normal ``meanlog, sdlog``, generalised gamma ``mu, sigma, Q``, gamma
``shape, rate``, splines ``gamma0 ... gamma(k+1)``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, special, stats

LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------
# Log density and log survival of each model, on its natural parameters.
# --------------------------------------------------------------------------------------


def _exponential(p, t):
    (rate,) = p
    return math.log(rate) - rate * t, -rate * t


def _weibull(p, t):
    shape, scale = p
    z = (t / scale) ** shape
    return math.log(shape / scale) + (shape - 1.0) * np.log(t / scale) - z, -z


def _gompertz(p, t):
    shape, rate = p
    if shape == 0.0:
        cum = rate * t
    else:
        cum = rate * np.expm1(shape * t) / shape
    return math.log(rate) + shape * t - cum, -cum


def _loglogistic(p, t):
    shape, scale = p
    logz = shape * np.log(t / scale)
    log1pz = np.logaddexp(0.0, logz)
    return math.log(shape / scale) + (shape - 1.0) * np.log(t / scale) - 2.0 * log1pz, -log1pz


def _lognormal(p, t):
    mu, sigma = p
    x = np.log(t)
    w = (x - mu) / sigma
    return -0.5 * LOG_2PI - 0.5 * w * w - math.log(sigma) - x, special.log_ndtr(-w)


def _gamma(p, t):
    shape, rate = p
    logf = shape * math.log(rate) + (shape - 1.0) * np.log(t) - rate * t - special.gammaln(shape)
    with np.errstate(divide="ignore"):
        return logf, np.log(special.gammaincc(shape, rate * t))


SCIPY_EQUIVALENTS = {
    "weibull": lambda p: stats.weibull_min(c=p[0], scale=p[1]),
    "loglogistic": lambda p: stats.fisk(c=p[0], scale=p[1]),
    "lognormal": lambda p: stats.lognorm(s=p[1], scale=math.exp(p[0])),
    "gamma": lambda p: stats.gamma(a=p[0], scale=1.0 / p[1]),
}
"""scipy.stats distributions equal to the hand-written models (natural parameters), for
checking the formulas above (tests only: freezing one is too slow inside an optimiser)."""


def _stirling_remainder(g: float) -> float:
    """``log Gamma(g) - ((g - 1/2) log g - g + log(2 pi) / 2)``, by its series for large g."""
    if g < 10.0:
        return float(special.gammaln(g) - ((g - 0.5) * math.log(g) - g + 0.5 * LOG_2PI))
    g2 = g * g
    return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / (1188 * g2)) / g2) / g2) / g2) / g


def _expm1_minus(y: np.ndarray) -> np.ndarray:
    """``exp(y) - 1 - y`` without cancellation near 0."""
    y = np.asarray(y, dtype=float)
    small = np.abs(y) < 0.1
    ys = np.where(small, y, 0.0)
    series = np.zeros_like(ys)
    term = ys.copy()
    for n in range(2, 14):
        term = term * ys / n
        series = series + term
    return np.where(small, series, np.expm1(y) - y)


def gengamma_logpdf_logsf(mu: float, sigma: float, q: float, t: np.ndarray):
    """Prentice's generalised gamma, written out (flexsurv's ``dgengamma``/``pgengamma``).

    ``log f = log|Q| + g log g - log(sigma t) - log Gamma(g) + g (Q w - exp(Q w))`` with ``g =
    Q^-2``; by Stirling's formula with remainder ``R``, ``log|Q| + g log g - log Gamma(g) = g
    - log(2 pi) / 2 - R(g)``, so ``log f = -log(2 pi) / 2 - R(g) - log(sigma t) - g (exp(Q w)
    - 1 - Q w)``, which keeps its precision when Q is small (and tends to the log-normal).
    """
    x = np.log(t)
    w = (x - mu) / sigma
    if q == 0.0:
        logf = -0.5 * LOG_2PI - 0.5 * w * w - math.log(sigma) - x
        return logf, special.log_ndtr(-w)
    g = 1.0 / (q * q)
    qw = q * w
    logf = -0.5 * LOG_2PI - _stirling_remainder(g) - math.log(sigma) - x - g * _expm1_minus(qw)
    u = g * np.exp(qw)
    surv = special.gammaincc(g, u) if q > 0 else special.gammainc(g, u)
    with np.errstate(divide="ignore"):
        return logf, np.log(surv)


def _gengamma(p, t):
    mu, sigma, q = p
    return gengamma_logpdf_logsf(mu, sigma, q, t)


def quantile7(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R's default (type 7) sample quantile, written out."""
    x = np.sort(np.asarray(x, dtype=float))
    h = (len(x) - 1) * np.asarray(probs, dtype=float)
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, len(x) - 1)
    return x[lo] + (h - lo) * (x[hi] - x[lo])


def log_knots(time: np.ndarray, event: np.ndarray, internal: int) -> np.ndarray:
    """flexsurvspline's default knots on the log scale: range and j/(k+1) quantiles."""
    x = np.log(np.asarray(time, dtype=float)[np.asarray(event) == 1])
    return quantile7(x, np.arange(internal + 2) / (internal + 1))


def spline_basis(x: np.ndarray, knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Royston-Parmar basis ``[1, x, v_1, ..., v_k]`` and its derivative in ``x``."""
    kmin, kmax = knots[0], knots[-1]
    cols, dcols = [np.ones_like(x), x], [np.zeros_like(x), np.ones_like(x)]
    for kj in knots[1:-1]:
        lam = (kmax - kj) / (kmax - kmin)
        a, b, c = (np.maximum(x - kj, 0.0), np.maximum(x - kmin, 0.0),
                   np.maximum(x - kmax, 0.0))
        cols.append(a ** 3 - lam * b ** 3 - (1.0 - lam) * c ** 3)
        dcols.append(3.0 * (a ** 2 - lam * b ** 2 - (1.0 - lam) * c ** 2))
    return np.column_stack(cols), np.column_stack(dcols)


def _spline(knots: np.ndarray, odds: bool):
    def logs(p, t):
        x = np.log(t)
        basis, dbasis = spline_basis(x, knots)
        s = basis @ np.asarray(p)
        ds = dbasis @ np.asarray(p)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ds = np.where(ds > 0, np.log(np.where(ds > 0, ds, 1.0)), -np.inf)
        if odds:
            log1pexp = np.logaddexp(0.0, s)
            return log_ds + s - x - 2.0 * log1pexp, -log1pexp
        return log_ds + s - x - np.exp(s), -np.exp(s)
    return logs


# --------------------------------------------------------------------------------------
# Models: natural parameters, unconstrained transform, flexsurv names.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefModel:
    """A model: log density/survival on natural parameters and the map from theta to them."""

    name: str
    logs: Callable
    natural: Callable[[np.ndarray], tuple]
    named: Callable[[tuple], dict]




def _models(time: np.ndarray, event: np.ndarray) -> dict[str, RefModel]:
    exp = math.exp
    out = {
        "exponential": RefModel("exponential", _exponential, lambda th: (exp(th[0]),),
                                lambda p: {"rate": p[0]}),
        "weibull": RefModel("weibull", _weibull, lambda th: (exp(th[0]), exp(th[1])),
                            lambda p: {"shape": p[0], "scale": p[1]}),
        "gompertz": RefModel("gompertz", _gompertz, lambda th: (float(th[0]), exp(th[1])),
                             lambda p: {"shape": p[0], "rate": p[1]}),
        "loglogistic": RefModel("loglogistic", _loglogistic,
                                lambda th: (exp(th[0]), exp(th[1])),
                                lambda p: {"shape": p[0], "scale": p[1]}),
        "lognormal": RefModel("lognormal", _lognormal, lambda th: (float(th[0]), exp(th[1])),
                              lambda p: {"meanlog": p[0], "sdlog": p[1]}),
        "gengamma": RefModel("gengamma", _gengamma,
                             lambda th: (float(th[0]), exp(th[1]), float(th[2])),
                             lambda p: {"mu": p[0], "sigma": p[1], "Q": p[2]}),
        "gamma": RefModel("gamma", _gamma, lambda th: (exp(th[0]), exp(th[1])),
                          lambda p: {"shape": p[0], "rate": p[1]}),
    }
    for scale in ("hazard", "odds"):
        for k in (1, 2, 3):
            name = f"spline-{scale}-{k}"
            out[name] = RefModel(name, _spline(log_knots(time, event, k), scale == "odds"),
                                 lambda th: tuple(float(v) for v in th),
                                 lambda p: {f"gamma{i}": v for i, v in enumerate(p)})
    return out


MODEL_NAMES = ("exponential", "weibull", "gompertz", "loglogistic", "lognormal", "gengamma",
               "gamma", "spline-hazard-1", "spline-hazard-2", "spline-hazard-3",
               "spline-odds-1", "spline-odds-2", "spline-odds-3")


def loglik(model: RefModel, natural: tuple, time: np.ndarray, event: np.ndarray) -> float:
    """``sum_events log f(t) + sum_censored log S(t)``."""
    with np.errstate(all="ignore"):
        logf, logs = model.logs(natural, time)
        value = float(np.sum(np.where(event == 1, logf, logs)))
    return value if math.isfinite(value) else -math.inf


def survival(model: RefModel, natural: tuple, t) -> np.ndarray:
    t = np.atleast_1d(np.asarray(t, dtype=float))
    out = np.ones_like(t)
    pos = t > 0
    with np.errstate(all="ignore"):
        out[pos] = np.exp(model.logs(natural, t[pos])[1])
    return out


# --------------------------------------------------------------------------------------
# Maximisation.
# --------------------------------------------------------------------------------------


def _gradient(f: Callable, x: np.ndarray) -> np.ndarray:
    """Central differences (4th order) of f at x."""
    g = np.empty_like(x)
    for i in range(len(x)):
        h = 1e-4 * max(1.0, abs(x[i]))
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * h)
    return g


def _hessian(f: Callable, x: np.ndarray) -> np.ndarray:
    n = len(x)
    hmat = np.empty((n, n))
    steps = [1e-3 * max(1.0, abs(v)) for v in x]
    for i in range(n):
        e = np.zeros(n)
        e[i] = steps[i]
        hmat[:, i] = (_gradient(f, x + e) - _gradient(f, x - e)) / (2 * steps[i])
    return (hmat + hmat.T) / 2


@dataclass(frozen=True)
class ReferenceFit:
    """One reference maximum-likelihood fit."""

    name: str
    model: RefModel
    theta: np.ndarray
    natural: tuple
    loglik: float
    gradient: np.ndarray
    objective: Callable[[np.ndarray], float]

    @property
    def parameters(self) -> dict[str, float]:
        """The estimates under R flexsurv's names, on their natural scales."""
        return self.model.named(self.natural)

    def survival(self, t) -> np.ndarray:
        return survival(self.model, self.natural, t)

    def rmst(self, tau: float, theta: np.ndarray | None = None) -> float:
        """``integral_0^tau S(t) dt`` by adaptive quadrature (QUADPACK)."""
        natural = self.natural if theta is None else self.model.natural(theta)
        value, _ = integrate.quad(lambda u: float(survival(self.model, natural, u)[0]), 0.0,
                                  tau, limit=500, epsabs=1e-11, epsrel=1e-11)
        return float(value)

    def information(self) -> np.ndarray:
        """Observed information on the unconstrained scale (Richardson-extrapolated central
        differences of the log-likelihood)."""
        return (4.0 * _hessian_values(self.objective, self.theta, 1e-4)
                - _hessian_values(self.objective, self.theta, 2e-4)) / 3.0

    def rmst_se(self, tau: float) -> float:
        """Delta-method standard error of :meth:`rmst` with the inverse observed information
        (invariant to the parameterisation at the maximum).

        The gradient is by central differences of a fixed rule (Gauss-Legendre in ``v``,
        ``t = tau v^2``), smooth in the parameters where an adaptive rule is not.
        """
        v, w = np.polynomial.legendre.leggauss(32)
        edges = np.linspace(0.0, 1.0, 65)
        lo, hi = edges[:-1, None], edges[1:, None]
        nodes = (0.5 * (hi - lo) * v + 0.5 * (hi + lo)).ravel()
        weights = (0.5 * (hi - lo) * w).ravel() * 2.0 * tau * nodes

        def fixed(th):
            return float(weights @ survival(self.model, self.model.natural(th), tau * nodes ** 2))

        if abs(fixed(self.theta) - self.rmst(tau)) > 1e-8 * tau:
            raise RuntimeError("fixed rule disagrees with adaptive quadrature")
        g = _gradient(fixed, self.theta)
        return math.sqrt(float(g @ np.linalg.solve(self.information(), g)))


    def survival_ci(self, t: float, z: float) -> tuple[float, float, float]:
        """Survival at ``t`` and a delta-method interval on the log(-log S) scale."""
        def cloglog(th):
            return math.log(-math.log(survival(self.model, self.model.natural(th), t)[0]))

        u = cloglog(self.theta)
        g = _gradient(cloglog, self.theta)
        se = math.sqrt(float(g @ np.linalg.solve(self.information(), g)))
        return (math.exp(-math.exp(u)), math.exp(-math.exp(u + z * se)),
                math.exp(-math.exp(u - z * se)))


def _hessian_values(f: Callable, x: np.ndarray, step: float) -> np.ndarray:
    """Second derivatives by central differences of function values."""
    n = len(x)
    h = step * np.maximum(1.0, np.abs(x))
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = h[i], h[j]
            out[i, j] = out[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                                     + f(x - ei - ej)) / (4.0 * h[i] * h[j])
    return out


def maximise(model: RefModel, time: np.ndarray, event: np.ndarray,
             starts: list[np.ndarray]) -> ReferenceFit:
    """Nelder-Mead, then BFGS, then Newton polish from each start; the best maximum."""
    def nll(th):
        try:
            value = -loglik(model, model.natural(th), time, event)
        except (OverflowError, ValueError, ZeroDivisionError):
            return math.inf
        return value if math.isfinite(value) else math.inf

    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start in starts:
            x = np.asarray(start, dtype=float)
            if not math.isfinite(nll(x)):
                continue
            res = optimize.minimize(nll, x, method="Nelder-Mead",
                                    options={"xatol": 1e-5, "fatol": 1e-7,
                                             "maxiter": 400 * len(x),
                                             "maxfev": 400 * len(x),
                                             "adaptive": len(x) > 2})
            res = optimize.minimize(nll, res.x, method="BFGS",
                                    jac=lambda th: _gradient(nll, th),
                                    options={"gtol": 1e-9, "maxiter": 200})
            x = _newton(nll, res.x)
            if best is None or nll(x) < nll(best):
                best = x
    if best is None:
        raise RuntimeError(f"no finite likelihood for {model.name}")
    natural = model.natural(best)
    return ReferenceFit(model.name, model, best, natural, -nll(best), _gradient(nll, best),
                        nll)


def _newton(f: Callable, x: np.ndarray, steps: int = 30) -> np.ndarray:
    """Newton steps with a finite-difference Hessian, halving any step that does not help."""
    fx = f(x)
    for _ in range(steps):
        g = _gradient(f, x)
        try:
            step = np.linalg.solve(_hessian(f, x), g)
        except np.linalg.LinAlgError:
            break
        for _ in range(30):
            trial = x - step
            ft = f(trial)
            if ft <= fx:
                break
            step = step / 2
        else:
            break
        done = np.max(np.abs(step)) < 1e-12 or fx - ft < 1e-15
        x, fx = trial, ft
        if done:
            break
    return x


def _line(x, y):
    slope, intercept = np.polyfit(x, y, 1)
    return max(float(slope), 0.1), float(intercept)


def fit_all(time, event, names=MODEL_NAMES) -> dict[str, ReferenceFit]:
    """Reference fits of ``names`` (every model by default) to one arm."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    models = _models(time, event)
    fits: dict[str, ReferenceFit] = {}

    # Nelson-Aalen at the event times for starting points.
    order = np.argsort(time, kind="stable")
    ts, es = time[order], event[order]
    cum = np.cumsum(es / (len(ts) - np.arange(len(ts))))
    keep = (es == 1) & (cum > 0)
    lx, lh = np.log(ts[keep]), np.log(cum[keep])
    surv = np.exp(-cum[keep])
    lodds = np.log((1 - surv) / surv)
    rate = event.sum() / time.sum()

    def get(name, starts):
        if name not in fits:
            fits[name] = maximise(models[name], time, event, starts)
        return fits[name]

    weib_rho, weib_c = _line(lx, lh)
    ll_beta, ll_c = _line(lx, lodds)
    starts = {
        "exponential": [np.array([math.log(rate)])],
        "weibull": [np.array([math.log(weib_rho), -weib_c / weib_rho]),
                    np.array([0.0, -math.log(rate)])],
        "gompertz": [np.array([0.0, math.log(rate)]),
                     np.array([0.5 / np.median(time), math.log(rate)]),
                     np.array([-0.5 / np.median(time), math.log(rate)])],
        "loglogistic": [np.array([math.log(ll_beta), -ll_c / ll_beta])],
        "lognormal": [np.array([float(np.mean(np.log(time))),
                                math.log(float(np.std(np.log(time))) + 0.1)])],
        "gamma": [np.array([0.0, math.log(rate)]), np.array([math.log(2.0), math.log(2 * rate)])],
    }
    for name in ("exponential", "weibull", "gompertz", "loglogistic", "lognormal", "gamma"):
        if name in names:
            get(name, starts[name])
    if "gengamma" in names:
        w = get("weibull", starts["weibull"]).natural
        ln = get("lognormal", starts["lognormal"]).natural
        get("gengamma", [np.array([math.log(w[1]), -math.log(w[0]), 1.0]),
                         np.array([ln[0], math.log(ln[1]), 0.3]),
                         np.array([ln[0], math.log(ln[1]), -0.3])])
    for scale, base in (("hazard", "weibull"), ("odds", "loglogistic")):
        if not any(n.startswith(f"spline-{scale}") for n in names):
            continue
        b = get(base, starts[base]).natural
        # Weibull: log H = rho x - rho log lambda; log-logistic: log odds = beta x - beta log a.
        g0, g1 = -b[0] * math.log(b[1]), b[0]
        for k in (1, 2, 3):
            name = f"spline-{scale}-{k}"
            if name in names:
                start = np.zeros(k + 2)
                start[0], start[1] = g0, g1
                get(name, [start])
    return {n: fits[n] for n in names}
