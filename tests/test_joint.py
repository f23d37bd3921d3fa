import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from trialrecon import InputError
from trialrecon.extrapolation.joint import fit_cure, fit_joint

REFERENCE = Path(__file__).parent / "reference"
KMDATA = Path(__file__).parents[1].parent / "shared" / "corpus" / "kmdata"
needs_corpus = pytest.mark.skipif(not KMDATA.is_dir(), reason=f"no kmdata at {KMDATA}")

#: Two of the 24 reference datasets (the benchmark compares all of them).
DATASETS = ("ACT1_2A", "MAPS_2A")


def _name(model: str) -> str:
    return re.sub(r"spline_(hazard|odds)_k(\d)", r"spline-\1-\2", model)


def _reference(file: str) -> pd.DataFrame:
    ref = pd.read_csv(REFERENCE / file)
    return ref[ref.dataset.isin(DATASETS) & ref.converged]


@needs_corpus
@pytest.mark.parametrize("row", list(_reference("flexsurv_joint.csv").itertuples()),
                         ids=lambda r: f"{r.dataset}-{r.model}")
def test_joint_models_equal_flexsurvreg_with_a_treatment_covariate(row):
    # R flexsurv 2.3.2, flexsurvreg(Surv(time, event) ~ arm) (tests/reference/make_flexsurv.R)
    d = pd.read_csv(KMDATA / row.file)
    got = fit_joint(d, _name(row.model), control=row.ref_arm)
    assert got.joint.loglik == pytest.approx(row.loglik, abs=0.01)
    assert got.effect.beta == pytest.approx(row.trt_est, abs=1e-4)
    assert got.effect.se == pytest.approx(row.trt_se, rel=1e-3)
    assert got.rmst(60, row.ref_arm)[0] == pytest.approx(row.rmst60_ref, rel=5e-4)
    assert got.rmst(60, row.other_arm)[0] == pytest.approx(row.rmst60_other, rel=5e-4)


@needs_corpus
@pytest.mark.parametrize("row", list(_reference("flexsurvcure.csv").itertuples()),
                         ids=lambda r: f"{r.dataset}-{r.arm}-{r.model}")
def test_mixture_cure_models_equal_flexsurvcure(row):
    # R flexsurvcure 1.3.3, flexsurvcure(Surv(time, event) ~ 1, mixture = TRUE)
    d = pd.read_csv(KMDATA / row.file)
    a = d[d.arm == row.arm]
    got = fit_cure(a.time.to_numpy(), a.event.to_numpy(), row.model)
    assert got.loglik == pytest.approx(row.loglik, abs=0.01)
    assert got.estimates["theta"] == pytest.approx(row.theta, abs=1e-3)
    assert got.rmst(60)[0] == pytest.approx(row.rmst60, rel=5e-4)
    assert got.mean() == math.inf  # a cured fraction never dies


def _two_arms(seed=0, n=400):
    rng = np.random.default_rng(seed)
    frames = []
    for arm, scale in (("drug", 15.0), ("placebo", 10.0)):
        t = scale * rng.weibull(1.3, n)
        c = rng.uniform(5, 40, n)
        frames.append(pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                                    "arm": arm}))
    return pd.concat(frames, ignore_index=True)


def test_a_time_ratio_is_read_the_same_way_whichever_parameter_carries_it():
    # Weibull data whose drug arm's times are 1.5 times the placebo's: every AFT family
    # reads a time ratio near 1.5 (the gamma's coefficient is on its rate, so exp(-beta)),
    # and the Weibull PH's hazard ratio is 1.5^-shape.
    d = _two_arms(n=1000)
    for model in ("weibull", "llogis", "lnorm", "gamma", "gengamma"):
        got = fit_joint(d, model, control="placebo")
        assert got.effect.measure == "time ratio"
        # within 3.5 standard errors (the misspecified families included)
        assert abs(math.log(got.effect.ratio) - math.log(1.5)) < 3.5 * got.effect.se, model
    ph = fit_joint(d, "weibullPH", control="placebo")
    aft = fit_joint(d, "weibull", control="placebo")
    shape = aft.joint.estimates["shape"]
    assert ph.effect.ratio == pytest.approx(aft.effect.ratio ** -shape, rel=1e-6)
    assert ph.joint.loglik == pytest.approx(aft.joint.loglik, abs=1e-6)  # one model


def test_the_likelihood_ratio_test_counts_the_constraints():
    d = _two_arms(seed=1)
    weibull = fit_joint(d, "weibull", control="placebo")
    assert weibull.lr_df == 1
    separate = sum(f.loglik for f in weibull.separate.values())
    assert weibull.lr_statistic == pytest.approx(2 * (separate - weibull.joint.loglik))
    assert weibull.lr_p > 0.01  # the same shape drew both arms
    assert fit_joint(d, "gengamma", control="placebo").lr_df == 2
    assert math.isnan(fit_joint(d, "exp", control="placebo").lr_p)  # nothing constrained


def test_a_joint_model_needs_two_named_arms():
    d = _two_arms()
    with pytest.raises(InputError, match="no arm 'control'"):
        fit_joint(d, "weibull", control="control")
    with pytest.raises(InputError, match="needs two arms"):
        fit_joint(d[d.arm == "drug"], "weibull")
