"""Targets of a printed analysis and the Cox rounding box (trialrecon.simulate.targets)."""

import math

import numpy as np
import pytest
from scipy import stats
from trialrecon.errors import InputError
from trialrecon.registry import analysis_from_print
from trialrecon.simulate.targets import (
    best_log_hr,
    cox_aim,
    cox_box,
    cox_margin,
    targets,
)

Z95 = stats.norm.ppf(0.975)  # 1.959964


def _analysis(hr="0.70 (0.58-0.85)", p="0.0002", **extra):
    return analysis_from_print(
        arms={"drug": {"n": 198, "events": 120, "median": "NR (30.2-NR)",
                       "landmarks": [{"time": 12, "percent": "65.1"},
                                     {"time": 24, "percent": "50"},
                                     {"time": 36, "percent": "40", "method": "crude"}]},
              "placebo": {"n": 232, "events": 150, "median": "13.8 (8.9-17.0)",
                          "landmarks": [{"time": 12, "percent": "65"}]}},
        hazard_ratio=hr, p_value=p, follow_up=20.5, **extra)


def _wald(beta: float, se: float) -> tuple[float, float, float, float]:
    """HR, CI bounds and two-sided Wald p of a log HR and its SE."""
    return (math.exp(beta), math.exp(beta - Z95 * se), math.exp(beta + Z95 * se),
            2.0 * (1.0 - stats.norm.cdf(abs(beta) / se)))


def test_targets_medians_with_ci_and_not_reached_bounds():
    tg = targets(_analysis())
    drug, placebo = tg.arms
    assert tg.names == ("drug", "placebo") and tg.n == (198, 232)
    # "NR (30.2-NR)": median not reached, lower bound 30.2, upper not reached.
    assert (drug.median, drug.median_lower, drug.median_upper) == (math.inf, 30.2, math.inf)
    assert (placebo.median, placebo.median_lower, placebo.median_upper) == (13.8, 8.9, 17.0)
    # One decimal: half a unit is 0.05 months, for the median and each CI bound.
    assert placebo.median_tol == pytest.approx(0.05)
    assert placebo.bound_tols == pytest.approx((0.05, 0.05))
    assert (drug.events, placebo.events, tg.events_total) == (120, 150, 270)
    assert tg.follow_up == 20.5
    # Every finite, positive printed time: follow-up, median bounds, landmarks.
    assert sorted(tg.times) == sorted([20.5, 30.2, 12.0, 24.0, 13.8, 8.9, 17.0, 12.0])


def test_targets_median_without_ci_and_coarse_median():
    a = analysis_from_print(arms={"drug": {"n": 40, "median": "NR"},
                                  "placebo": {"n": 40, "median": "14"}})
    drug, placebo = targets(a).arms
    # "NR" without brackets: not reached, no CI printed at all (None, not inf).
    assert (drug.median, drug.median_lower, drug.median_upper) == (math.inf, None, None)
    assert (placebo.median, placebo.median_lower, placebo.median_upper) == (14.0, None, None)
    assert placebo.median_tol == pytest.approx(0.5)  # an integer month: +-0.5
    assert targets(a).hr is None and targets(a).ci is None and targets(a).p_interval is None


def test_targets_landmarks_and_tolerances():
    drug, placebo = targets(_analysis()).arms
    # Proportions; "65.1" rounds within 0.05 points = 0.0005, "65" and "50" within 0.5
    # points = 0.005. The crude rate at 36 months is not a Kaplan-Meier target.
    assert [t for t, _, _ in drug.landmarks] == [12.0, 24.0]
    (t1, p1, tol1), (t2, p2, tol2) = drug.landmarks
    assert p1 == pytest.approx(0.651) and tol1 == pytest.approx(0.0005)
    assert p2 == pytest.approx(0.50) and tol2 == pytest.approx(0.005)
    ((t3, p3, tol3),) = placebo.landmarks
    assert (t3, p3) == (12.0, pytest.approx(0.65)) and tol3 == pytest.approx(0.005)


def test_targets_hazard_ratio_and_p_interval():
    tg = targets(_analysis())
    assert tg.hr == 0.70 and tg.ci == (0.58, 0.85) and tg.level == 95.0
    assert tg.hr_tol == pytest.approx(0.005)  # 2 decimals: half a unit, 0.005
    assert tg.ci_tols == pytest.approx((0.005, 0.005))
    assert tg.follow_up_tol == pytest.approx(0.05)  # "20.5"
    # Every figure at its own half-unit, with no floor: three decimals are 0.0005, and the
    # bounds of "0.702 (0.58-0.9)" have their own.
    fine = targets(_analysis(hr="0.702 (0.58-0.9)", p="0.01"))
    assert fine.hr_tol == pytest.approx(0.0005)
    assert fine.ci_tols == pytest.approx((0.005, 0.05))
    # "0.0002": two-sided p values that round to it.
    assert tg.p_interval == pytest.approx((0.00015, 0.00025))
    # SE of a Wald CI: (ln 0.85 - ln 0.58) / (2 * 1.959964) = 0.382245 / 3.919928 = 0.097511
    assert tg.se == pytest.approx((math.log(0.85) - math.log(0.58)) / (2 * Z95))
    assert tg.se == pytest.approx(0.0975, abs=5e-5)
    # One decimal HR: half a unit, 0.05.
    assert targets(_analysis(hr="0.7 (0.58-0.85)")).hr_tol == pytest.approx(0.05)
    # A one-sided p doubles.
    one_sided = targets(_analysis(p={"printed": "0.01", "sided": 1}))
    assert one_sided.p_interval == pytest.approx((0.01, 0.03))


def test_targets_refuse_missing_arm_sizes():
    a = analysis_from_print(arms={"drug": {"median": "NR"}, "placebo": {"n": 40, "median": "4"}})
    with pytest.raises(InputError) as err:
        targets(a)
    assert err.value.column == "arms.drug.n"


def test_targets_refuse_without_level_or_time_to_event():
    bare = analysis_from_print(arms={"drug": {"n": 40}, "placebo": {"n": 40}},
                               hazard_ratio="0.70 (0.58-0.85)")
    with pytest.raises(InputError) as err:
        targets(bare)
    assert err.value.column == "arms.median"
    orr = analysis_from_print(endpoint="ORR", arms={"drug": {"n": 40, "percent": "50"},
                                                    "placebo": {"n": 40, "percent": "30"}})
    with pytest.raises(InputError) as err:
        targets(orr)
    assert err.value.column == "endpoint"


def test_cox_box_reproduces_every_printed_figure():
    tg = targets(_analysis())
    # The print is not quite a Wald triple: log 0.70 with the SE of the CI (0.097504) gives
    # z = 0.356675 / 0.097504 = 3.6581 and p = 0.000254, just outside [0.00015, 0.00025].
    assert _wald(math.log(0.70), tg.se)[3] > 0.00025
    beta, se = cox_box(tg)
    hr, lo, hi, p = _wald(beta, se)
    # Every figure prints as printed.
    assert (f"{hr:.2f}", f"{lo:.2f}", f"{hi:.2f}") == ("0.70", "0.58", "0.85")
    assert 0.00015 <= p <= 0.00025
    assert cox_margin(tg, beta, se) > 0


def test_cox_margin_by_hand():
    tg = targets(_analysis())
    beta, se = math.log(0.70), tg.se
    # HR margin 1 - 0/0.005 = 1; the CI is centred on 0.70: 0.70 / exp(z se) = 0.578233 and
    # 0.70 * exp(z se) = 0.847410, margins 1 - 0.3534 = 0.6466 and 1 - 0.5180 = 0.4820; the
    # p box in log p: centre (ln 0.00025 + ln 0.00015) / 2, half-width ln(5/3) / 2 = 0.25541;
    # p = 0.00025413: margin 1 - (ln p - centre) / 0.25541 = -0.0642, the smallest.
    p = _wald(beta, se)[3]
    centre = 0.5 * (math.log(0.00025) + math.log(0.00015))
    expected = 1.0 - abs(math.log(p) - centre) / (0.5 * math.log(0.00025 / 0.00015))
    assert expected == pytest.approx(-0.0642, abs=1e-4)
    assert cox_margin(tg, beta, se) == pytest.approx(expected, rel=1e-9)
    # Broadcasting: one margin per (beta, se) pair.
    out = cox_margin(tg, np.array([beta, beta]), np.array([se, 2 * se]))
    assert out.shape == (2,) and out[0] == pytest.approx(expected, rel=1e-9) and out[1] < -1


def test_cox_margin_of_a_p_bound():
    # At log 0.70 with the SE of the CI: CI margins 0.6466 and 0.4820, p = 0.00025413.
    beta = math.log(0.70)
    ci_margin = 1 - abs(0.70 * math.exp(Z95 * targets(_analysis()).se) - 0.85) / 0.005
    assert ci_margin == pytest.approx(0.4820, abs=1e-4)
    # "<0.001": (ln 0.001 - ln p) / 0.2 = 6.85, capped at 1: the CI margin is the smallest.
    tg = targets(_analysis(p="<0.001"))
    assert tg.p_interval == (0.0, 0.001)
    assert cox_margin(tg, beta, tg.se) == pytest.approx(ci_margin, rel=1e-9)
    # "<0.00027": (ln 0.00027 - ln 0.00025413) / 0.2 = 0.3029, now the smallest.
    tg = targets(_analysis(p="<0.00027"))
    p = _wald(beta, tg.se)[3]
    assert cox_margin(tg, beta, tg.se) == pytest.approx(math.log(0.00027 / p) / 0.2, rel=1e-9)
    assert cox_margin(tg, beta, tg.se) == pytest.approx(0.3029, abs=1e-3)
    # "<0.0002": p above the bound, outside the box.
    assert cox_margin(targets(_analysis(p="<0.0002")), beta, tg.se) < 0


def test_cox_box_none_when_p_cannot_hold():
    # HR 0.70 with CI 0.58-0.85 implies |z| about 3.66; a p of 0.5 (|z| = 0.67) cannot hold.
    tg = targets(_analysis(p="0.5"))
    assert cox_box(tg) is None
    # cox_aim drops the p then, and the HR and CI alone have a box.
    aim = cox_aim(tg)
    assert aim.p_interval is None and cox_box(aim) is not None
    assert cox_aim(targets(_analysis())) == targets(_analysis())


def test_best_log_hr_meets_the_printed_p():
    tg = targets(_analysis())
    se = math.sqrt(1 / 198 + 1 / 232)  # 0.0967515
    # p in [0.00015, 0.00025] <=> |z| in [isf(0.000125), isf(0.000075)] = [3.66226, 3.79107]
    # <=> |log HR| in [0.354329, 0.366792] <=> HR in [0.692954, 0.701644]; with HR rounding to
    # 0.70 ([0.695, 0.705]) the HR must lie in [0.695, 0.701644].
    beta = best_log_hr(tg, se)
    hr, lo, hi, p = _wald(beta, se)
    assert 0.00015 <= p <= 0.00025
    assert 0.695 <= hr <= 0.701644
    assert (f"{hr:.2f}", f"{lo:.2f}", f"{hi:.2f}") == ("0.70", "0.58", "0.85")
    # It is the most central of its grid: no other HR in the box has a larger margin.
    grid = np.log(0.70 + np.linspace(-0.005, 0.005, 1001))
    assert cox_margin(tg, beta, se) >= cox_margin(tg, grid, np.full_like(grid, se)).max() - 0.01
