"""The model set of NICE DSU TSD 14 and TSD 21, by trialrecon's names.

Standard models (Latimer 2011, NICE DSU TSD 14) and Royston-Parmar splines (Royston and
Parmar 2002; NICE DSU TSD 21, Rutherford et al. 2020), each a family of :mod:`.families`
(R flexsurv's parameterisation and names):

============================  ==========================================================
exponential                   ``exp``: ``S = exp(-rate t)``
weibull                       ``weibull``: ``S = exp(-(t / scale) ^ shape)``
gompertz                      ``gompertz``: ``h = rate exp(shape t)``; ``shape < 0`` levels
                              off at ``exp(rate / shape)``
loglogistic                   ``llogis``: ``S = 1 / (1 + (t / scale) ^ shape)``
lognormal                     ``lnorm``: ``log t ~ Normal(meanlog, sdlog)``
gengamma                      ``gengamma``: Prentice (1974) generalised gamma ``mu, sigma, Q``
gamma                         ``gamma``: ``S = Q(shape, rate t)``, the regularised upper
                              incomplete gamma function
spline-hazard-k               ``log H = s(log t)`` (flexsurv's ``gamma0 ... gamma(k+1)``)
spline-odds-k                 ``log(S^-1 - 1) = s(log t)`` (proportional odds scale)
============================  ==========================================================

``s(x) = gamma0 + gamma1 x + sum_j gamma(j+1) v_j(x)`` is the natural cubic spline of
Royston and Parmar with ``k`` internal knots; ``v_j(x) = (x - k_j)^3_+ - l_j (x - k_min)^3_+
- (1 - l_j) (x - k_max)^3_+`` with ``l_j = (k_max - k_j) / (k_max - k_min)``. As flexsurv's
``flexsurvspline`` places them by default, the boundary knots are the smallest and largest
log event time and the internal knots the ``j / (k + 1)`` quantiles of the log event times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def spline_knots(time: np.ndarray, event: np.ndarray, internal: int) -> np.ndarray:
    """Knots in the time unit: the range and ``j / (k + 1)`` quantiles of log event times.

    As ``flexsurvspline``'s default (R's ``quantile`` type 7, numpy's default linear rule).
    """
    log_t = np.log(np.asarray(time, dtype=float)[np.asarray(event, dtype=bool)])
    return np.exp(np.quantile(log_t, np.linspace(0.0, 1.0, internal + 2)))


@dataclass(frozen=True)
class ModelSpec:
    """One model of the set: its name, a label for people, and its family's name in
    :mod:`.families` (flexsurv's)."""

    name: str
    label: str
    n_params: int
    family: str
    spline: bool = False


def _spline(scale: str, k: int) -> ModelSpec:
    return ModelSpec(f"spline-{scale}-{k}", f"Spline ({scale}, {k} knot{'s' * (k > 1)})",
                     k + 2, f"spline-{scale}-{k}", spline=True)


#: Every model, in the order of TSD 14 and then the splines of TSD 21.
MODELS: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec("exponential", "Exponential", 1, "exp"),
    ModelSpec("weibull", "Weibull", 2, "weibull"),
    ModelSpec("gompertz", "Gompertz", 2, "gompertz"),
    ModelSpec("loglogistic", "Log-logistic", 2, "llogis"),
    ModelSpec("lognormal", "Log-normal", 2, "lnorm"),
    ModelSpec("gengamma", "Generalised gamma", 3, "gengamma"),
    ModelSpec("gamma", "Gamma", 2, "gamma"),
    *[_spline(scale, k) for scale in ("hazard", "odds") for k in (1, 2, 3)],
]}

#: The seven standard models of TSD 14 (no splines).
STANDARD = tuple(name for name, m in MODELS.items() if not m.spline)
