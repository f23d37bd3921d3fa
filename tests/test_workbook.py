import math

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from trialrecon import InputError, __version__
from trialrecon.extrapolation.background import Population, capped, life_table
from trialrecon.extrapolation.joint import fit_joint
from trialrecon.extrapolation.workbook import fit_arms, write_workbook


@pytest.fixture(scope="module")
def ipd():
    rng = np.random.default_rng(5)
    frames = []
    for arm, scale in (("placebo", 10.0), ("drug with a name longer than a sheet takes", 16.0)):
        t = scale * rng.weibull(1.2, 150)
        c = rng.uniform(5, 40, 150)
        frames.append(pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                                    "arm": arm}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def arms(ipd):
    return fit_arms(ipd, models=("exp", "weibull", "lnorm", "spline-hazard-1"))


def _block(sheet, title):
    """The matrix under the block headed ``title`` of a Covariance/Cholesky sheet."""
    for row in sheet.iter_rows(min_col=1, max_col=1):
        if row[0].value == title:
            r = row[0].row
            names = []
            c = 2
            while sheet.cell(row=r, column=c).value is not None:
                names.append(sheet.cell(row=r, column=c).value)
                c += 1
            return names, np.array([[sheet.cell(row=r + 1 + i, column=2 + j).value
                                     for j in range(len(names))] for i in range(len(names))])
    raise AssertionError(f"no block {title}")


def test_the_workbook_reads_back_as_the_models_numbers(tmp_path, arms):
    path = write_workbook(tmp_path / "trial.xlsx", arms, cycle=1.0, horizon=480,
                          source="simulated for a test")
    book = load_workbook(path)
    names = book.sheetnames
    assert names[0] == "Cover" and "Survival placebo" in names
    # an arm name too long for a sheet gets a numbered sheet, and its whole name on the cover
    assert "Survival arm 2" in names
    cover = [[c.value for c in row] for row in book["Cover"].iter_rows()]
    assert ["drug with a name longer than a sheet takes", "Survival arm 2", 150] == \
        cover[[r[0] for r in cover].index("drug with a name longer than a sheet takes")][:3]
    assert any(r[0] == "trialrecon version" and r[1] == __version__ for r in cover)
    for a, sheet in ((arms[0], "Survival placebo"), (arms[1], "Survival arm 2")):
        rows = list(book[sheet].iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        assert header[:3] == ("Cycle", "Time (months)", "Time (years)")
        assert len(body) == 481
        times = np.array([r[1] for r in body])
        assert times == pytest.approx(np.arange(481.0))
        for f in a.fits.values():
            j = header.index(f.family.label)
            got = np.array([r[j] for r in body])
            assert all(isinstance(v, float) for v in got)  # numbers, not text
            assert got == pytest.approx(f.survival(times), rel=1e-12, abs=1e-300)
    # parameters, covariance and its Cholesky factor, as the fit has them
    pars = pd.DataFrame(list(book["Parameters"].iter_rows(values_only=True))[1:],
                        columns=next(book["Parameters"].iter_rows(values_only=True)))
    f = arms[0].fits["weibull"]
    mine = pars[(pars.Arm == "placebo") & (pars.Model == f.family.label)]
    assert mine.Parameter.tolist() == ["shape", "scale"]
    assert mine["Estimate (scale)"].to_numpy() == pytest.approx(f.coef)
    assert mine.Estimate.to_numpy() == pytest.approx(np.exp(f.coef))
    names, cov = _block(book["Covariance"], f"placebo | {f.family.label}")
    assert names == ["shape", "scale"] and cov == pytest.approx(f.covariance)
    _, chol = _block(book["Cholesky"], f"placebo | {f.family.label}")
    assert chol @ chol.T == pytest.approx(f.covariance)
    assert chol[0, 1] == 0
    stats = list(book["Fit statistics"].iter_rows(values_only=True))
    assert stats[0][:6] == ("Arm", "Model", "Parameters", "Log-likelihood", "AIC", "BIC")
    row = next(r for r in stats if r[0] == "placebo" and r[1] == f.family.label)
    assert row[3] == pytest.approx(f.loglik) and row[4] == pytest.approx(2 * 2 - 2 * f.loglik)


def test_capped_survival_and_joint_models_go_in_too(tmp_path, ipd, arms):
    pop = Population(life_table(), age=85, male_share=0.5, time_unit="months")
    joint = [fit_joint(ipd, "weibullPH", control="placebo")]
    path = write_workbook(tmp_path / "capped.xlsx", arms, cycle=3.0, horizon=240,
                          source="simulated", population=pop, joint=joint)
    book = load_workbook(path)
    rows = list(book["Survival placebo"].iter_rows(values_only=True))
    header = rows[0]
    j = header.index(arms[0].fits["lnorm"].family.label)
    times = np.array([r[1] for r in rows[1:]])
    got = np.array([r[j] for r in rows[1:]])
    want = capped(arms[0].fits["lnorm"].survival(times), times, pop)
    assert got == pytest.approx(want)
    assert got[-1] < arms[0].fits["lnorm"].survival(times)[-1]  # old age takes its share
    jrows = list(book["Joint models"].iter_rows(values_only=True))
    assert jrows[1][0] == "Weibull (PH)" and jrows[1][1] == "hazard ratio"
    assert jrows[1][2] == pytest.approx(joint[0].effect.ratio)


def test_an_impossible_cycle_is_refused_and_nothing_is_left(tmp_path, arms):
    with pytest.raises(InputError, match="cycle length"):
        write_workbook(tmp_path / "x.xlsx", arms, cycle=0, horizon=10, source="s")
    with pytest.raises(InputError, match="shorter than one cycle"):
        write_workbook(tmp_path / "x.xlsx", arms, cycle=12, horizon=6, source="s")
    assert not list(tmp_path.iterdir())
    assert math.isfinite(arms[0].fits["exp"].loglik)
