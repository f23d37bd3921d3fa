import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from statsmodels.duration.hazard_regression import PHReg
from trialrecon import corpus, registry
from trialrecon.analysis import km_steps
from trialrecon.errors import InputError
from trialrecon.simulate import fit_summary, ipd_from_summary, reconstructable
from trialrecon.simulate.findings import censoring_warnings, plausibility
from trialrecon.simulate.model import Censoring, PiecewiseHazards, fit_model
from trialrecon.simulate.sample import construct
from trialrecon.simulate.targets import targets

warnings.simplefilter("ignore")


def rows(fit):
    return {(r.quantity, r.arm): r for r in fit.table.itertuples()}


@pytest.mark.parametrize("cohort", ["pnet", "epnet"])
def test_cabinet_nejm_reproduces_every_printed_figure(cohort):
    fit = fit_summary(f"cabinet/{cohort}/pfs/nejm-2025")
    r = rows(fit)
    # Tolerances of the issue: HR 0.005 (2 decimals), CI bounds 0.01, medians, their CIs and
    # follow-up 0.05 months (1 decimal); 1e-9 absorbs float noise.
    assert abs(r[("hazard ratio", "")].difference) <= 0.005 + 1e-9
    assert abs(r[("HR 95% CI lower", "")].difference) <= 0.01 + 1e-9
    assert abs(r[("HR 95% CI upper", "")].difference) <= 0.01 + 1e-9
    for arm in ("cabozantinib", "placebo"):
        for q in ("median (months)", "median 95% CI lower", "median 95% CI upper"):
            assert abs(r[(q, arm)].difference) <= 0.05 + 1e-9, (q, arm)
    assert abs(r[("median follow-up (months)", "")].difference) <= 0.05 + 1e-9
    assert fit.misses == ()
    n = {"pnet": (64, 31), "epnet": (134, 69)}[cohort]
    counts = fit.ipd.arm.value_counts()
    assert (counts["cabozantinib"], counts["placebo"]) == n


def test_table_is_an_independent_reanalysis():
    # The table's HR must be the Cox estimate of the pseudo data, here recomputed with
    # statsmodels (Efron ties) rather than the lifelines call the table makes.
    fit = fit_summary("meteor/os/bjc-2018")
    ipd = fit.ipd
    x = (ipd.arm == "cabozantinib").to_numpy(float)[:, None]
    ref = PHReg(ipd.time.to_numpy(), x, status=ipd.event.to_numpy(), ties="efron").fit()
    assert rows(fit)[("hazard ratio", "")].reconstructed == pytest.approx(
        math.exp(ref.params[0]), rel=1e-4)
    # Printed deaths 198 / 232 are integers: met exactly.
    assert rows(fit)[("events", "cabozantinib")].difference == 0
    assert rows(fit)[("events", "everolimus")].difference == 0


def test_a_print_that_cannot_hold_together_is_named_as_such():
    # ESMO 2023 epNET OS: HR 0.90 (0.56-1.46) has a two-sided Wald p of
    # 2 * (1 - Phi(ln(1/0.9) / (ln(1.46/0.56) / 3.92))) = 0.67, but p = 0.34 is printed.
    fit = fit_summary("cabinet/epnet/os/esmo-2023-presentation")
    assert any("property of the printed numbers" in m and "0.67" in m for m in fit.misses)


def test_every_miss_is_explained_and_every_analysis_runs():
    items = reconstructable()
    assert {"cabinet/pnet/pfs/nejm-2025", "clarinet/pfs/nejm-2014",
            "meteor/os/bjc-2018"} <= {a.id for a in items}
    for a in items:
        fit = fit_summary(a)
        explained = " ".join(fit.misses)
        for q in fit.table[fit.table.within == False].quantity:  # noqa: E712
            assert q in explained, (a.id, q)


def _printed_trial(tmp_path, rng, shape=1.3, scale_c=10.0, hr=0.6, n=800):
    scale_e = scale_c * hr ** (-1 / shape)
    parts = []
    for name, scale in (("a", scale_e), ("b", scale_c)):
        t = scale * rng.weibull(shape, n)
        c = rng.uniform(10, 40, n)
        parts.append(pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                                   "arm": name}))
    ipd = pd.concat(parts, ignore_index=True)
    record = corpus.print_summary(ipd, arms=("a", "b"), outcome="PFS", dataset="known_model")
    trial = registry.load_trial(corpus.write_trial_yaml(record, tmp_path))
    return trial.analyses[0], scale_e, scale_c, shape


def test_recovers_a_known_model_and_its_band_covers_it(tmp_path):
    # Data from a known Weibull PH model, printed as a paper would (medians with CI, HR with
    # CI, p, follow-up); the rebuilt curves must lie near the true ones and the 90% band
    # must hold the true curve over most of follow-up.
    a, scale_e, scale_c, shape = _printed_trial(tmp_path, np.random.default_rng(7))
    fit = fit_summary(a)
    assert fit.misses == ()
    grid = np.linspace(0.5, 30.0, 60)
    band = fit.survival_band(grid, level=0.90)
    for name, scale in (("a", scale_e), ("b", scale_c)):
        truth = np.exp(-(grid / scale) ** shape)
        b = band[band.arm == name]
        assert np.max(np.abs(b.estimate.to_numpy() - truth)) < 0.05
        inside = (b.lower.to_numpy() - 0.01 <= truth) & (truth <= b.upper.to_numpy() + 0.01)
        assert inside.mean() >= 0.8


def test_band_is_tidy_ordered_and_seeded():
    fit = fit_summary("cabinet/pnet/pfs/nejm-2025")
    times = np.linspace(0, 18, 37)
    band = fit.survival_band(times, level=0.90)
    assert list(band.columns) == ["arm", "time", "lower", "estimate", "upper"]
    assert (band.lower <= band.upper).all()
    narrow = fit.survival_band(times, level=0.50)
    assert (narrow.upper - narrow.lower <= band.upper - band.lower + 1e-12).all()
    # The estimate is the Kaplan-Meier curve of the pseudo data.
    arm = fit.ipd[fit.ipd.arm == "placebo"]
    km = km_steps(arm.time.to_numpy(), arm.event.to_numpy())
    est = band[band.arm == "placebo"].estimate.to_numpy()
    assert np.allclose(est, [km.at(t) for t in times])
    # The seed moves the draws, not the central pseudo data.
    other = fit_summary("cabinet/pnet/pfs/nejm-2025", seed=5)
    pd.testing.assert_frame_equal(fit.ipd, other.ipd)
    assert not np.allclose(other.survival_band(times).lower, band.lower)


def test_deterministic():
    pd.testing.assert_frame_equal(ipd_from_summary("celestial/os/nejm-2018"),
                                  ipd_from_summary("celestial/os/nejm-2018"))


def test_ensemble_members_reproduce_the_print():
    fit = fit_summary("cabinet/pnet/pfs/nejm-2025")
    members = fit.ensemble(4)
    assert members
    for ipd in members:
        pe = ipd[ipd.arm == "cabozantinib"]
        km = km_steps(pe.time.to_numpy(), pe.event.to_numpy())
        assert abs(km.median() - 13.8) <= 0.05 + 1e-9


def test_expected_count_sample_follows_the_model():
    # The pseudo patients' Kaplan-Meier curve meets the model at every step: within one
    # step (1 / at risk) of S everywhere before the last few patients.
    tg = targets(registry.get("meteor/os/bjc-2018"))
    model = PiecewiseHazards(np.array([3.0, 9.0, 18.0]), np.log([[0.02, 0.03, 0.04, 0.05],
                                                                 [0.03, 0.04, 0.05, 0.06]]))
    cens = Censoring(40.0, 0.6, 0.01)
    for a, (time, event) in enumerate(construct(model, cens, tg)):
        km = km_steps(time, event)
        keep = km.at_risk >= 10
        gap = np.abs(km.survival[keep] - model.survival(km.times[keep], a))
        assert np.all(gap <= 1.0 / km.at_risk[keep] + 1e-9)


def test_piecewise_model_quantile_median_and_rmst():
    m = PiecewiseHazards(np.array([2.0, 6.0]), np.log([[0.1, 0.05, 0.2], [0.3, 0.1, 0.1]]))
    for a in (0, 1):
        s = np.array([0.9, 0.5, 0.2])
        assert np.allclose(m.survival(m.quantile(s, a), a), s)
        assert m.survival(m.median(a), a) == pytest.approx(0.5)
        area = integrate.quad(lambda t, a=a: float(m.survival(t, a)), 0, 10, points=[2, 6])[0]
        assert m.rmst(10.0, a) == pytest.approx(area, rel=1e-5)
    # By hand: H(4) = 0.1 * 2 + 0.05 * 2 = 0.3 for the first arm.
    assert m.cumulative_hazard(4.0, 0) == pytest.approx(0.3)


def test_implausible_curves_are_warned_about():
    tg = targets(registry.get("cabinet/pnet/os/nejm-2025"))
    cliff = PiecewiseHazards(np.array([0.5, 30.0]), np.log([[0.9, 0.001, 0.001],
                                                            [0.9, 0.001, 0.001]]))
    assert any("first" in w for w in plausibility(cliff, tg, 40.0))
    calm = PiecewiseHazards(np.array([10.0]), np.log([[0.03, 0.03], [0.04, 0.04]]))
    assert plausibility(calm, tg, 40.0) == ()
    assert censoring_warnings(Censoring(30.0, 0.6, 0.01)) == ()
    assert any("censored at the start" in w
               for w in censoring_warnings(Censoring(30.0, 0.6, 0.01, early=0.3)))


def test_model_fit_meets_the_cox_target_in_expectation():
    tg = targets(registry.get("cabinet/pnet/pfs/nejm-2025"))
    fitted = fit_model(tg)
    assert fitted.layout.cox_target is not None
    # The fitted models' covariance is a proper (positive definite) Laplace approximation.
    assert np.all(np.linalg.eigvalsh(fitted.covariance) > 0)


def test_arm_sizes_missing_is_a_clear_error():
    with pytest.raises(InputError, match="arm sizes"):
        fit_summary(registry.get("cabinet/pnet/pfs/esmo-2024-abstract"))


def test_censoring_with_long_follow_up_share_by_hand():
    # C = 40, accrual over w = 0.5 of it (uniform), a share m = 0.3 followed on to R C = 60.
    cens = Censoring(40.0, 0.5, 0.0, 1.0, 0.0, at_end=0.3, reach=1.5)
    assert cens.last == pytest.approx(60.0)
    # Before C (1 - w) = 20 everyone is followed; at 30 the ramp is (40 - 30) / 20 = 1/2.
    assert cens.survival(10.0) == pytest.approx(1.0)
    assert cens.survival(30.0) == pytest.approx(0.7 * 0.5 + 0.3)
    # Between C and R C only the long share is followed; nobody after R C.
    assert cens.survival(50.0) == pytest.approx(0.3)
    assert cens.survival(60.0) == pytest.approx(0.0)
    # Without the share, the cut-off is the last follow-up whatever the reach.
    assert Censoring(40.0, 0.5, reach=3.0).last == pytest.approx(40.0)


@pytest.mark.parametrize("at_end,reach,dropout,early", [(0.0, 1.0, 0.0, 0.0),
                                                        (0.2, 1.5, 0.01, 0.05),
                                                        (0.45, 2.0, 0.0, 0.0)])
def test_censoring_meets_the_printed_follow_up(at_end, reach, dropout, early):
    # The reverse-KM median of the potential follow-up is the printed one: G(FU) = 1/2.
    cens = Censoring.with_follow_up(24.0, 0.7, dropout, 1.3, early, at_end, reach)
    assert cens.survival(24.0) == pytest.approx(0.5, abs=1e-9)
    assert cens.last >= cens.end >= 24.0


def test_landmark_and_ci_bound_at_the_same_time_are_both_met():
    # CLARINET placebo: median 18.0 (12.1-24.0) and a 24-month rate of 33.0%. The event
    # that takes the upper band below 1/2 must not drag the 24-month level with it.
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    fit = fit_summary("clarinet/pfs/nejm-2014")
    placebo = fit.ipd[fit.ipd.arm == "placebo"]
    kmf = KaplanMeierFitter().fit(placebo.time, placebo.event)
    assert abs(100 * float(kmf.survival_function_at_times(24.0).iloc[0]) - 33.0) <= 0.05
    upper = float(median_survival_times(kmf.confidence_interval_).to_numpy().ravel()[1])
    assert abs(upper - 24.0) <= 0.05
    assert fit.misses == ()
