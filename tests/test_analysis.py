import dataclasses
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from trialrecon.analysis import (
    compare_arms,
    cox_hr,
    cox_two_arm,
    km_steps,
    proportional_hazards_test,
    reverse_km_median,
    rmst,
)


def test_rmst_hand_calculation():
    ipd = pd.DataFrame({"time": [1, 2, 2, 3, 4, 5.0], "event": [1, 1, 0, 1, 0, 1]})
    mean, se = rmst(ipd, 4.5)
    # S = 1, 5/6, 4/6, 4/9 on [0,1), [1,2), [2,3), [3,4.5]: area 1 + 5/6 + 2/3 + 1.5*4/9.
    assert mean == pytest.approx(1 + 5 / 6 + 2 / 3 + 1.5 * 4 / 9)
    # A_j = 13/6, 4/3, 2/3; var = A1^2/(6*5) + A2^2/(5*4) + A3^2/(3*2).
    var = (13 / 6) ** 2 / 30 + (4 / 3) ** 2 / 20 + (2 / 3) ** 2 / 6
    assert se == pytest.approx(math.sqrt(var))


def test_compare_identical_arms_gives_null_effects():
    ipd = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6, 7, 8.0], "event": [1, 0, 1, 1, 0, 1, 1, 0]})
    c = compare_arms(ipd, ipd.copy(), landmarks=(3.0,))
    assert c.value("hazard ratio") == pytest.approx(1.0, abs=1e-6)
    assert c.value("RMST difference") == pytest.approx(0.0, abs=1e-12)
    assert c.value("log-rank", "p") == pytest.approx(1.0, abs=1e-6)
    assert list(c.arms.arm) == ["experimental", "control"]
    # KM at 3: (1 - 1/8)(1 - 1/6) = 0.72917
    assert c.landmarks.survival.iloc[0] == pytest.approx(7 / 8 * 5 / 6)


# --------------------------------------------------------------------------- fast kernels
# km_steps, reverse_km_median and cox_two_arm against hand calculations, lifelines and
# statsmodels (PHReg, Efron ties).


def _sample(seed: int, n: int = 60, tied: bool = False):
    """Two arms with exponential times and uniform censoring; ``tied`` rounds every time up to
    a whole month, so events tie with events and with censorings at the same time."""
    rng = np.random.default_rng(seed)
    x = (rng.random(n) < 0.5).astype(float)
    t = rng.exponential(10.0 * np.exp(0.4 * x))
    c = rng.uniform(0.0, 25.0, n)
    time, event = np.minimum(t, c), (t <= c).astype(int)
    if tied:
        time = np.ceil(time)
    return time, event, x


def _lifelines_km(time, event) -> KaplanMeierFitter:
    return KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event))


def test_km_steps_hand_six_patients():
    # Times 1, 2, 2+, 3, 4+, 5 (+ censored): the censoring at 2 still counts at risk at 2.
    k = km_steps(np.array([1, 2, 2, 3, 4, 5.0]), np.array([1, 1, 0, 1, 0, 1]))
    np.testing.assert_array_equal(k.times, [1, 2, 3, 5])
    np.testing.assert_array_equal(k.at_risk, [6, 5, 3, 1])
    np.testing.assert_array_equal(k.deaths, [1, 1, 1, 1])
    # S = 5/6, 5/6 * 4/5 = 2/3, 2/3 * 2/3 = 4/9, 4/9 * 0 = 0.
    np.testing.assert_allclose(k.survival, [5 / 6, 2 / 3, 4 / 9, 0.0], rtol=1e-14, atol=0)
    # Greenwood: 1/(6*5), + 1/(5*4), + 1/(3*2); the last death empties the risk set (n = d),
    # whose term is left out (it would divide by zero).
    g = np.cumsum([1 / 30, 1 / 20, 1 / 6])
    np.testing.assert_allclose(k.greenwood, [*g, g[-1]], rtol=1e-14)
    # Right-continuous: the value at an event time is the one after the drop.
    for t, s in [(0.0, 1.0), (0.999, 1.0), (1.0, 5 / 6), (2.0, 2 / 3), (2.5, 2 / 3),
                 (3.0, 4 / 9), (4.0, 4 / 9), (5.0, 0.0), (99.0, 0.0)]:
        assert k.at(t) == pytest.approx(s, abs=1e-14), t
    assert k.median() == 3.0  # first level <= 1/2 is 4/9 at t = 3
    # Log-log band at t = 1: S^exp(+-z sqrt(V) / |ln S|), lower with the + sign.
    z = stats.norm.ppf(0.975)
    sigma = math.sqrt(1 / 30) / abs(math.log(5 / 6))
    lower, upper = k.bands()
    assert lower[0] == pytest.approx((5 / 6) ** math.exp(z * sigma), rel=1e-12)
    assert upper[0] == pytest.approx((5 / 6) ** math.exp(-z * sigma), rel=1e-12)
    # Where S = 0 both bands are 0, as in lifelines.
    assert lower[-1] == 0.0 and upper[-1] == 0.0


@pytest.mark.parametrize("tied", [False, True], ids=["distinct", "tied"])
@pytest.mark.parametrize("seed", range(6))
def test_km_steps_matches_lifelines(seed, tied):
    time, event, x = _sample(seed, tied=tied)
    for arm in (0.0, 1.0):
        t, e = time[x == arm], event[x == arm]
        k, kmf = km_steps(t, e), _lifelines_km(t, e)
        table = kmf.event_table
        table = table[table["observed"] > 0]
        np.testing.assert_array_equal(k.times, table.index.to_numpy(float))
        np.testing.assert_array_equal(k.at_risk, table["at_risk"].to_numpy(float))
        np.testing.assert_array_equal(k.deaths, table["observed"].to_numpy(float))
        sf = kmf.survival_function_.iloc[:, 0]
        np.testing.assert_allclose(k.survival, sf.loc[k.times].to_numpy(), rtol=0, atol=1e-14)
        # Greenwood's sum recomputed from lifelines' event table.
        d, n = table["observed"].to_numpy(float), table["at_risk"].to_numpy(float)
        with np.errstate(divide="ignore"):
            ref = np.cumsum(np.where(n > d, d / (n * (n - d)), 0.0))
        np.testing.assert_allclose(k.greenwood, ref, rtol=1e-13)
        ci = kmf.confidence_interval_
        lower, upper = k.bands()
        np.testing.assert_allclose(lower, ci.iloc[:, 0].loc[k.times].to_numpy(), atol=1e-12)
        np.testing.assert_allclose(upper, ci.iloc[:, 1].loc[k.times].to_numpy(), atol=1e-12)
        grid = np.r_[0.0, k.times, k.times + 0.5, k.times.max() + 100.0]
        at = np.array([k.at(g) for g in grid])
        np.testing.assert_allclose(at, kmf.predict(grid).to_numpy(), atol=1e-14)
        assert k.median() == kmf.median_survival_time_
        assert k.median_interval() == tuple(median_survival_times(ci).to_numpy().ravel())


@pytest.mark.parametrize("n", [2, 4, 6, 10, 12, 20, 50, 100, 398])
def test_km_median_at_exactly_one_half_agrees_with_lifelines(n):
    # n patients, no censoring: after n/2 deaths the level is exactly 1/2 in exact arithmetic;
    # in floating point it falls on either side (n = 10: 0.49999999999999983), and lifelines
    # decides the median on the same side.
    t, e = np.arange(1.0, n + 1.0), np.ones(n)
    k, kmf = km_steps(t, e), _lifelines_km(t, e)
    assert k.median() == kmf.median_survival_time_
    assert k.median() in (n / 2, n / 2 + 1)
    ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
    assert k.median_interval() == tuple(ci)


def test_km_median_exactly_one_half_with_ties_and_censoring():
    # 6 patients: death at 1 (5/6), two at 2 (5/6 * 3/5 = 1/2), censored at 2 and later.
    cases = [([1, 2, 2, 3, 4, 5.0], [1, 1, 1, 0, 0, 1]),
             ([1, 2, 2, 2, 4, 5.0], [1, 1, 1, 0, 1, 0]),
             ([1, 1, 2, 2, 3, 3, 4, 4.0], [1, 0, 1, 1, 0, 1, 1, 0])]
    for t, e in cases:
        k, kmf = km_steps(t, e), _lifelines_km(t, e)
        assert k.median() == kmf.median_survival_time_, (t, e)
        ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
        assert k.median_interval() == tuple(ci), (t, e)
    # First case by hand: S(2) = 1/2 is reached at 2 in exact arithmetic.
    assert km_steps(*cases[0]).survival[1] == pytest.approx(0.5, abs=1e-15)


@pytest.mark.parametrize("last_event", [1, 0], ids=["dies", "censored"])
def test_km_one_patient_left_at_the_end(last_event):
    t = np.array([1, 2, 2, 3, 4, 5, 5, 6, 7, 9.0])
    e = np.array([1, 1, 0, 1, 1, 0, 1, 1, 1, last_event])
    k, kmf = km_steps(t, e), _lifelines_km(t, e)
    assert k.at_risk[-1] == (1 if last_event else 2)
    assert np.all(np.isfinite(k.greenwood))
    np.testing.assert_allclose(k.survival, kmf.survival_function_.iloc[:, 0].loc[k.times],
                               atol=1e-14)
    lower, upper = k.bands()
    ci = kmf.confidence_interval_
    np.testing.assert_allclose(lower, ci.iloc[:, 0].loc[k.times], atol=1e-12)
    np.testing.assert_allclose(upper, ci.iloc[:, 1].loc[k.times], atol=1e-12)
    assert k.median() == kmf.median_survival_time_
    assert k.median_interval() == tuple(median_survival_times(ci).to_numpy().ravel())
    if last_event:
        assert k.survival[-1] == 0.0 and k.at(9.0) == 0.0
    else:  # the last death leaves S = 0.3048 * (1 - 1/2); the censoring at 9 keeps it
        assert k.at(100.0) == pytest.approx(0.3047619047619048 / 2)


def test_km_without_events():
    k = km_steps(np.array([3.0, 5.0, 8.0]), np.zeros(3))
    assert k.times.size == 0
    assert k.at(100.0) == 1.0
    assert k.median() == math.inf
    assert k.median_interval() == (math.inf, math.inf)


def test_reverse_km_median_by_hand():
    # Reverse KM of 1, 2, 2+, 3, 4+, 5: the censorings are the events. At 2 the death also
    # counts at risk: 5 at risk, S = 4/5; at 4, 2 at risk, S = 4/5 * 1/2 = 2/5 <= 1/2.
    assert reverse_km_median(np.array([1, 2, 2, 3, 4, 5.0]), np.array([1, 1, 0, 1, 0, 1])) == 4.0


@pytest.mark.parametrize("tied", [False, True], ids=["distinct", "tied"])
@pytest.mark.parametrize("seed", range(6))
def test_reverse_km_median_matches_lifelines(seed, tied):
    time, event, _ = _sample(seed, n=80, tied=tied)
    ref = KaplanMeierFitter().fit(time, 1 - event).median_survival_time_
    assert reverse_km_median(time, event) == ref


def _statsmodels_cox(time, event, x, ties="efron"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = PHReg(time, x[:, None], status=event, ties=ties).fit()
    return float(fit.params[0]), float(fit.bse[0]), float(fit.pvalues[0])


def _lifelines_cox(time, event, x):
    # lifelines' default stopping rule can end 1e-4 (relative) short of the maximum with heavy
    # ties (test_cox_two_arm_ties_are_efron_not_breslow: -0.487845 against -0.487958, where
    # statsmodels' score is 1e-15 at the kernel's estimate); a tighter precision reaches it.
    df = pd.DataFrame({"time": time, "event": event, "arm": x})
    fit = CoxPHFitter().fit(df, "time", "event", fit_options={"precision": 1e-10})
    row = fit.summary.loc["arm"]
    return float(row["coef"]), float(row["se(coef)"])


def _check_cox(time, event, x):
    hr = cox_two_arm(time, event, x)
    beta, se, p = _statsmodels_cox(time, event, x)
    assert hr.hr == pytest.approx(math.exp(beta), rel=1e-7)
    assert hr.se == pytest.approx(se, rel=1e-7)
    z = stats.norm.ppf(0.975)
    assert hr.lower == pytest.approx(math.exp(beta - z * se), rel=1e-7)
    assert hr.upper == pytest.approx(math.exp(beta + z * se), rel=1e-7)
    assert hr.p == pytest.approx(p, rel=1e-6)
    lb, lse = _lifelines_cox(time, event, x)
    assert hr.hr == pytest.approx(math.exp(lb), rel=1e-4)
    assert hr.se == pytest.approx(lse, rel=1e-4)
    return hr


@pytest.mark.parametrize("tied", [False, True], ids=["distinct", "tied"])
@pytest.mark.parametrize("seed", range(5))
def test_cox_two_arm_matches_statsmodels_and_lifelines(seed, tied):
    time, event, x = _sample(seed, n=80, tied=tied)
    _check_cox(time, event, x)


def test_cox_two_arm_ties_are_efron_not_breslow():
    # Heavy ties (whole months, events and censorings at the same times): Efron's and
    # Breslow's estimates differ, and the kernel must give Efron's.
    time, event, x = _sample(11, n=120, tied=True)
    time = np.ceil(time / 3.0)
    efron = _check_cox(time, event, x)
    breslow, _, _ = _statsmodels_cox(time, event, x, ties="breslow")
    assert abs(math.log(efron.hr) - breslow) > 1e-3
    # Without ties the two coincide (the kernel's docstring).
    time, event, x = _sample(12, n=60)
    breslow, se, _ = _statsmodels_cox(time, event, x, ties="breslow")
    hr = cox_two_arm(time, event, x)
    assert math.log(hr.hr) == pytest.approx(breslow, rel=1e-7)
    assert hr.se == pytest.approx(se, rel=1e-7)


def test_cox_two_arm_censoring_at_event_times_and_one_patient_left():
    # Censorings tie with events (2, 3, 6); the last time (9) has a single experimental
    # patient left at risk, who dies.
    time = np.array([1, 2, 2, 2, 3, 3, 4, 5, 6, 6, 6, 7, 8, 9.0])
    event = np.array([1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1])
    x = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1.0])
    _check_cox(time, event, x)
    # The same data in shuffled order give the same fit.
    order = np.random.default_rng(0).permutation(len(time))
    a, b = cox_two_arm(time, event, x), cox_two_arm(time[order], event[order], x[order])
    assert b.hr == pytest.approx(a.hr, rel=1e-12) and b.se == pytest.approx(a.se, rel=1e-12)


def test_cox_two_arm_swapping_arms_inverts_hr():
    time, event, x = _sample(5, n=80, tied=True)
    a, b = cox_two_arm(time, event, x), cox_two_arm(time, event, 1.0 - x)
    assert b.hr == pytest.approx(1.0 / a.hr, rel=1e-9)
    assert b.se == pytest.approx(a.se, rel=1e-9)
    assert b.lower == pytest.approx(1.0 / a.upper, rel=1e-9)
    assert b.p == pytest.approx(a.p, rel=1e-9)


def _one_arm_without_events(which: str):
    """40 patients, 20 per arm, the arm named by ``which`` without events."""
    rng = np.random.default_rng(3)
    x = np.r_[np.ones(20), np.zeros(20)]
    time = rng.exponential(10.0, 40)
    event = (rng.random(40) < 0.7) & (x == 0)
    return (time, event, x) if which == "experimental" else (time, event, 1.0 - x)


@pytest.mark.parametrize("which", ["experimental", "control"])
def test_cox_two_arm_arm_without_events_does_not_raise(which):
    time, event, x = _one_arm_without_events(which)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hr = cox_two_arm(time, event, x)
    # The Wald interval covers everything and the test has no power.
    assert hr.lower < 1e-100 and hr.upper > 1e100
    assert hr.p == pytest.approx(1.0, abs=1e-6)
    assert hr.se > 1e6


# Without events in one arm the Newton steps run off (the information p(1 - p) underflows
# to 0, or stays tiny and positive): the HR must go to 0 or infinity and the SE be infinite,
# never nan and never a finite SE that looks like an estimate.
@pytest.mark.parametrize("which", ["experimental", "control"])
def test_cox_two_arm_arm_without_events_hr_is_zero_or_inf_like(which):
    hr = cox_two_arm(*_one_arm_without_events(which))
    if which == "experimental":
        assert hr.hr < 1e-10
    else:
        assert hr.hr > 1e10


@pytest.mark.parametrize("which", ["experimental", "control"])
def test_cox_two_arm_arm_without_events_se_is_infinite(which):
    assert cox_two_arm(*_one_arm_without_events(which)).se == math.inf


def test_figures_beyond_follow_up_are_not_estimable():
    # Arm A followed to 10, arm B to 20: survival at 15 and an RMST to 15 exist for B only.
    a = pd.DataFrame({"time": [1.0, 4.0, 6.0, 10.0], "event": [1, 0, 1, 0]})
    b = pd.DataFrame({"time": [2.0, 5.0, 12.0, 20.0], "event": [1, 1, 0, 0]})
    c = compare_arms(a, b, landmarks=(5.0, 15.0), tau=15.0, names=("a", "b"))
    marks = c.landmarks.set_index(["arm", "time"])
    assert not marks.loc[("a", 15.0), "estimable"]
    assert np.isnan(marks.loc[("a", 15.0), "survival"])
    # By hand: b's KM at 15 is (3/4)(2/3) = 0.5; a's at 5 is 3/4.
    assert marks.loc[("b", 15.0), "survival"] == pytest.approx(0.5)
    assert marks.loc[("a", 5.0), "survival"] == pytest.approx(0.75)
    assert np.isnan(c.value("RMST difference"))
    assert any("survival at 15 not estimable for a" in n for n in c.notes)
    assert any("RMST up to 15 not estimable for a" in n for n in c.notes)
    # Within both follow-ups nothing is withheld.
    assert compare_arms(a, b, landmarks=(5.0,)).notes == ()


def test_compare_arms_refuses_horizons_that_are_no_times():
    from trialrecon import InputError

    a = pd.DataFrame({"time": [1.0, 2.0, 3.0], "event": [1, 0, 1]})
    for bad in ({"tau": -5.0}, {"tau": float("nan")}, {"landmarks": (12.0, float("inf"))},
                {"landmarks": (0.0,)}):
        with pytest.raises(InputError, match="finite time above 0"):
            compare_arms(a, a, **bad)


def test_degenerate_comparisons_say_the_hazard_ratio_is_not_estimable():
    # All censored in one arm: the old code printed HR 0 (0-NR) with p = 0.99 while the
    # log-rank test gave p of 1e-56; one patient per arm gave HR 2.2e21.
    rng = np.random.default_rng(3)
    events = pd.DataFrame({"time": rng.exponential(5.0, 200), "event": 1})
    censored = pd.DataFrame({"time": rng.exponential(5.0, 200) + 20.0, "event": 0})
    c = compare_arms(censored, events, landmarks=(1.0,))
    assert np.isnan(c.value("hazard ratio")) and np.isnan(c.value("hazard ratio", "p"))
    assert any("hazard ratio not estimable: no events in experimental" in n for n in c.notes)
    assert c.value("log-rank", "p") < 1e-10  # the log-rank test still speaks
    one = compare_arms(pd.DataFrame({"time": [2.0], "event": [1]}),
                       pd.DataFrame({"time": [1.0], "event": [0]}), landmarks=(0.5,))
    assert np.isnan(one.value("hazard ratio"))
    assert any("not estimable" in n for n in one.notes)


def test_compare_arms_hazard_ratio_is_lifelines_cox():
    # compare_arms uses the fast two-arm kernel: the same figures as lifelines' CoxPHFitter.
    rng = np.random.default_rng(8)
    a = pd.DataFrame({"time": np.round(rng.exponential(8.0, 300), 1),
                      "event": rng.integers(0, 2, 300)})
    b = pd.DataFrame({"time": np.round(rng.exponential(6.0, 280), 1),
                      "event": rng.integers(0, 2, 280)})
    reference = cox_hr(a, b)
    c = compare_arms(a, b, landmarks=(1.0,))
    assert c.value("hazard ratio") == pytest.approx(reference.hr, rel=1e-6)
    assert c.value("hazard ratio", "se") == pytest.approx(reference.se, rel=1e-6)
    assert c.value("hazard ratio", "p") == pytest.approx(reference.p, rel=1e-5)


REFERENCE = Path(__file__).parent / "reference"
KMDATA = Path(__file__).parents[1].parent / "shared" / "corpus" / "kmdata"
ZPH = pd.read_csv(REFERENCE / "cox_zph.csv", comment="#")


@pytest.mark.skipif(not KMDATA.is_dir(), reason=f"kmdata corpus not found at {KMDATA}")
@pytest.mark.parametrize("dataset", sorted(ZPH.dataset.unique()))
def test_proportional_hazards_test_equals_r_cox_zph(dataset):
    # R survival 3.5.3's cox.zph on the same data (tests/reference/make_cox_zph.R).
    d = pd.read_csv(KMDATA / f"{dataset}.csv")
    x = (d.arm == d.arm.unique()[1]).to_numpy(float)
    for row in ZPH[ZPH.dataset == dataset].itertuples():
        got = proportional_hazards_test(d.time.to_numpy(), d.event.to_numpy(), x,
                                        transform=row.transform)
        assert got.beta == pytest.approx(row.coef, abs=1e-7)
        assert got.statistic == pytest.approx(row.chisq, rel=1e-6)
        assert got.p == pytest.approx(row.p, rel=1e-5)
        first = [float(v) for v in row.first_residuals.split(";")]
        assert np.sort(got.residuals)[:3] == pytest.approx(first, rel=1e-6)


ZPH_RESIDUALS = pd.read_csv(REFERENCE / "cox_zph_residuals.csv", comment="#")
ZPH_SMOOTH = pd.read_csv(REFERENCE / "cox_zph_smooth.csv", comment="#")


def _zph(dataset: str, transform: str):
    d = pd.read_csv(KMDATA / f"{dataset}.csv")
    x = (d.arm == d.arm.unique()[1]).to_numpy(float)
    return proportional_hazards_test(d.time.to_numpy(), d.event.to_numpy(), x,
                                     transform=transform)


@pytest.mark.skipif(not KMDATA.is_dir(), reason=f"kmdata corpus not found at {KMDATA}")
@pytest.mark.parametrize("dataset", sorted(ZPH_RESIDUALS.dataset.unique()))
@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
def test_scaled_schoenfeld_residuals_equal_r_cox_zph(dataset, transform):
    # Every residual with its time and transformed time, as cox.zph's time, y and x, in
    # R's order (time ascending, ties as R orders them: compared sorted within a time).
    want = ZPH_RESIDUALS[ZPH_RESIDUALS.dataset == dataset]
    got = _zph(dataset, transform)
    np.testing.assert_allclose(got.times, want.time, rtol=1e-12)
    np.testing.assert_allclose(got.transformed, want[f"x_{transform}"], rtol=1e-9, atol=1e-12)
    order = np.lexsort((got.residuals, got.times))
    ordered = want.sort_values(["time", "residual"]).residual
    np.testing.assert_allclose(got.residuals[order], ordered, rtol=1e-6, atol=1e-9)
    # Their variance about the smooth: D var(beta), with var(beta) the Cox fit's.
    assert got.variance == pytest.approx(len(got.times) * got.se ** 2, rel=1e-6)


@pytest.mark.skipif(not KMDATA.is_dir(), reason=f"kmdata corpus not found at {KMDATA}")
@pytest.mark.parametrize("dataset", sorted(ZPH_SMOOTH.dataset.unique()))
@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
def test_schoenfeld_smooth_and_band_equal_r_plot_cox_zph(dataset, transform):
    # R's ns() basis and QR against this module's own basis of the same spline space.
    want = ZPH_SMOOTH[(ZPH_SMOOTH.dataset == dataset) & (ZPH_SMOOTH["transform"] == transform)]
    got = _zph(dataset, transform).smooth()
    np.testing.assert_allclose(got.transformed, want.x, rtol=1e-9, atol=1e-12)
    for col in ("fit", "lower", "upper"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-6, atol=1e-8)


def test_schoenfeld_smooth_is_flat_at_beta_for_residuals_without_trend():
    # Residuals that are a line in the transformed time are fitted exactly by the natural
    # spline (a line is one), wherever it is evaluated; the band widens at the ends.
    rng = np.random.default_rng(5)
    time = rng.exponential(1.0, 300)
    x = np.r_[np.zeros(150), np.ones(150)]
    test = proportional_hazards_test(time, np.ones(300, int), x, transform="identity")
    line = 0.3 - 0.2 * test.transformed
    smooth = dataclasses.replace(test, residuals=line).smooth(at=np.array([0.1, 1.0, 2.0]))
    np.testing.assert_allclose(smooth.fit, 0.3 - 0.2 * np.array([0.1, 1.0, 2.0]), atol=1e-10)
    width = smooth.upper - smooth.lower
    assert width.iloc[0] < width.iloc[2] and (width > 0).all()


def test_proportional_hazards_test_finds_hazards_that_cross():
    # Arm 1's hazard twice arm 0's before t = 0.5 and a quarter of it after (cumulative
    # hazard 2t, then 1 + (t - 0.5) / 4): the hazard ratio changes with time, and the test
    # says so; under proportional hazards it does not.
    rng = np.random.default_rng(3)
    n = 400
    base = rng.exponential(1.0, n)
    draw = rng.exponential(1.0, n)
    crossing = np.where(draw < 1.0, draw / 2.0, 0.5 + (draw - 1.0) * 4.0)
    time = np.r_[base, crossing]
    x = np.r_[np.zeros(n), np.ones(n)]
    event = (time < 3.0).astype(int)
    time = np.minimum(time, 3.0)
    assert proportional_hazards_test(time, event, x).p < 1e-6
    same = np.r_[base, rng.exponential(0.5, n)]
    held = proportional_hazards_test(np.minimum(same, 3.0), (same < 3.0).astype(int), x)
    assert held.p > 0.001
