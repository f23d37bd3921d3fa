import math

import numpy as np
import pytest
from scipy import integrate, stats
from trialrecon.extrapolation.families import FAMILIES, family, fit


def _natural(fam, coef):
    return [math.exp(c) if pos else c for c, pos in zip(coef, fam.positive, strict=True)]


#: A point in each family's parameter space (coef scale) to check the formulas at.
POINTS = {"exp": [-2.0], "weibull": [0.3, 2.0], "weibullPH": [0.3, -3.0],
          "gompertz": [-0.05, -2.5], "llogis": [0.2, 2.2], "lnorm": [2.0, 0.1],
          "gengamma": [2.0, 0.0, -0.6], "gamma": [0.4, -1.5]}

#: scipy.stats distributions equal to the families (natural parameters).
SCIPY = {
    "exp": lambda p: stats.expon(scale=1 / p[0]),
    "weibull": lambda p: stats.weibull_min(c=p[0], scale=p[1]),
    "weibullPH": lambda p: stats.weibull_min(c=p[0], scale=p[1] ** (-1 / p[0])),
    "gompertz": lambda p: None,
    "llogis": lambda p: stats.fisk(c=p[0], scale=p[1]),
    "lnorm": lambda p: stats.lognorm(s=p[1], scale=math.exp(p[0])),
    # Prentice's generalised gamma with Q < 0 is scipy's gengamma with a = 1/Q^2, c = Q/sigma
    # (negative c: the reflected form), scale exp(mu) Q^(2 sigma / Q)
    "gengamma": lambda p: stats.gengamma(a=1 / p[2] ** 2, c=p[2] / p[1],
                                         scale=math.exp(p[0]) * (1 / p[2] ** 2)
                                         ** (-p[1] / p[2])),
    "gamma": lambda p: stats.gamma(a=p[0], scale=1 / p[1]),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_each_family_is_the_distribution_its_formula_names(name):
    fam = FAMILIES[name]
    p = _natural(fam, POINTS[name])
    t = np.array([0.5, 3.0, 12.0, 40.0])
    logf, logs = fam.logpdf_logsf(p, t)
    dist = SCIPY[name](p)
    if dist is not None:
        assert np.asarray(logf) == pytest.approx(dist.logpdf(t), rel=1e-7)
        assert np.asarray(logs) == pytest.approx(dist.logsf(t), rel=1e-7)
    else:  # Gompertz by hand: h = rate exp(shape t), H = rate (exp(shape t) - 1) / shape
        shape, rate = p
        cum = rate * np.expm1(shape * t) / shape
        assert np.asarray(logs) == pytest.approx(-cum, rel=1e-10)
        assert np.asarray(logf) == pytest.approx(np.log(rate) + shape * t - cum, rel=1e-10)
    # The density is minus the derivative of survival.
    h = 1e-5
    for ti, lf in zip(t, np.asarray(logf), strict=True):
        _, up = fam.logpdf_logsf(p, np.array([ti + h]))
        _, down = fam.logpdf_logsf(p, np.array([ti - h]))
        slope = -(math.exp(float(up[0])) - math.exp(float(down[0]))) / (2 * h)
        assert slope == pytest.approx(math.exp(lf), rel=1e-5)


@pytest.mark.parametrize("scale", ["hazard", "odds"])
def test_a_spline_is_a_survival_curve_with_its_density(scale):
    rng = np.random.default_rng(1)
    time = rng.weibull(1.3, 300) * 20
    event = (rng.random(300) < 0.8).astype(float)
    fam = family(f"spline-{scale}-2", time, event)
    fitted = fit(fam, time, event)
    t = np.geomspace(0.5, 60, 30)
    s = fitted.survival(t)
    assert np.all(np.diff(s) <= 0) and np.all((s > 0) & (s < 1))
    logf, _ = fam.logpdf_logsf(list(fitted.coef), t)
    slope = -np.gradient(fitted.survival(t), t)
    assert np.exp(np.asarray(logf))[5:-5] == pytest.approx(slope[5:-5], rel=0.02)


def test_a_fit_recovers_the_distribution_it_is_drawn_from():
    rng = np.random.default_rng(7)
    shape, scale = 1.4, 18.0
    time = scale * rng.weibull(shape, 4000)
    censor = rng.uniform(0, 60, 4000)
    event = (time <= censor).astype(float)
    got = fit(family("weibull"), np.minimum(time, censor), event)
    est = got.estimates
    se = np.sqrt(np.diag(got.covariance))
    assert abs(math.log(est["shape"]) - math.log(shape)) < 4 * se[0]
    assert abs(math.log(est["scale"]) - math.log(scale)) < 4 * se[1]


def test_what_a_fit_reports_follows_from_its_parameters():
    rng = np.random.default_rng(2)
    time = rng.lognormal(2.5, 0.9, 500)
    censor = rng.uniform(0, 40, 500)
    t, e = np.minimum(time, censor), (time <= censor).astype(float)
    got = fit(family("lnorm"), t, e)
    mu, sigma = got.estimates["meanlog"], got.estimates["sdlog"]
    truth = stats.lognorm(s=sigma, scale=math.exp(mu))
    grid = np.array([1.0, 10.0, 30.0, 100.0])
    assert got.survival(grid) == pytest.approx(truth.sf(grid), rel=1e-10)
    assert got.hazard(grid) == pytest.approx(truth.pdf(grid) / truth.sf(grid), rel=1e-8)
    area = integrate.quad(truth.sf, 0, 60, limit=200)[0]
    assert got.rmst(60)[0] == pytest.approx(area, rel=1e-8)
    assert got.cholesky @ got.cholesky.T == pytest.approx(got.covariance, rel=1e-12)
    lower, upper = got.survival_band(grid)
    assert np.all(lower < got.survival(grid)) and np.all(got.survival(grid) < upper)
    # The log-likelihood is the sum over patients of log f (events) and log S (censored).
    logf = truth.logpdf(t)
    logs = truth.logsf(t)
    assert got.loglik == pytest.approx(float(np.sum(np.where(e == 1, logf, logs))), rel=1e-10)


def test_a_gompertz_fit_keeps_the_best_maximum_any_start_reaches():
    # A Gompertz hazard on data drawn from a falling hazard then a plateau (a mixture of a
    # fast and a slow exponential): the shape has a maximum below 0; every start reaching
    # it or the report of the ones that did not, never a worse point kept silently.
    rng = np.random.default_rng(11)
    n = 800
    time = np.where(rng.random(n) < 0.6, rng.exponential(4.0, n), rng.exponential(80.0, n))
    censor = rng.uniform(10, 50, n)
    t, e = np.minimum(time, censor), (time <= censor).astype(float)
    got = fit(family("gompertz"), t, e)
    assert got.converged and got.estimates["shape"] < 0
    # Every other start gives at most this log-likelihood (the best is kept).
    from trialrecon.extrapolation import families

    for shift in (-0.5, 0.0, 0.5):
        start = got.coef + np.array([shift / 10, shift])
        other = families.minimize(lambda c: families._negloglik(
            c, got.family, t, e, np.zeros_like(t), False, False), start, method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-10, "fatol": 1e-12})
        assert -other.fun <= got.loglik + 1e-6


def test_an_unknown_family_is_refused_by_name():
    with pytest.raises(ValueError, match="no survival family 'weibul'"):
        family("weibul")


@pytest.mark.parametrize(("name", "coef", "mean"), [
    ("exp", [math.log(0.1)], 10.0),
    ("weibull", [math.log(1.5), math.log(20.0)], 20.0 * math.gamma(1 + 1 / 1.5)),
    ("lnorm", [2.0, math.log(0.8)], math.exp(2.0 + 0.8 ** 2 / 2)),
    ("llogis", [math.log(3.0), math.log(12.0)], 12.0 * (math.pi / 3) / math.sin(math.pi / 3)),
    ("gamma", [math.log(2.5), math.log(0.2)], 2.5 / 0.2),
    ("llogis", [math.log(0.9), math.log(12.0)], math.inf),  # shape <= 1: no finite mean
    ("gompertz", [-0.05, math.log(0.02)], math.inf),  # levels off at exp(rate / shape)
])
def test_the_unrestricted_mean_is_the_distribution_mean(name, coef, mean):
    fam = FAMILIES[name]
    f = fit(fam, np.array([1.0, 2.0, 3.0, 5.0]), np.array([1, 1, 0, 1]))
    placed = type(f)(fam, fam.parameters, np.array(coef, float), f.covariance, f.loglik,
                     f.n, f.events, False, False, True)
    assert placed.mean() == pytest.approx(mean, rel=1e-7)


def test_survival_and_hazard_go_on_past_the_incomplete_gamma_floor():
    # autograd_gamma's log incomplete gamma stops at about -80.6: a gamma's hazard tends to
    # its rate, and must not fall to 0 where survival passes 1e-35.
    gamma = FAMILIES["gamma"]
    t = np.array([10.0, 500.0, 1000.0, 3000.0])
    logf, logs = gamma.logpdf_logsf([2.0, 0.1], t)
    assert np.asarray(logs) == pytest.approx(stats.gamma(a=2.0, scale=10.0).logsf(t),
                                             rel=1e-9)
    assert np.exp(np.asarray(logf) - np.asarray(logs))[-1] == pytest.approx(0.1, rel=0.01)
    gg = FAMILIES["gengamma"]
    for q in (0.8, -0.5):
        p = [2.5, 0.6, q]
        dist = SCIPY["gengamma"](p) if q < 0 else stats.gengamma(
            a=1 / q ** 2, c=q / 0.6, scale=math.exp(2.5) * (1 / q ** 2) ** (-0.6 / q))
        t = np.array([300.0, 1000.0]) if q > 0 else np.array([1e13, 1e16])
        want = dist.logsf(t)
        assert np.all(np.isfinite(want)) and want.min() < -80.6  # past the floor
        assert np.asarray(gg.logpdf_logsf(p, t)[1]) == pytest.approx(want, rel=1e-8)
