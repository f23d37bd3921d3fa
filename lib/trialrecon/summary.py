"""Algebra of reported summary statistics, and consistency checks with verdicts.

Every number computed here is *derived* from what a trial printed. Checks take the
rounding of the printed digits into account: a derived figure is computed at every corner of
the box of true values that round to the printed ones (all the functions are monotone in each
argument, so the corners bound the range).

Every analysis the registry validates can be checked without an exception. Figures that
leave a check nothing to test give that check the verdict "not testable" with the reason: a
rate printed as not estimable ("NE"), Schoenfeld's formula for a single-arm design. Where
rounding lets a printed CI shrink to zero width (``"1.0 (1.0-1.1)"``: both bounds may be
1.05), the implied events are unbounded above and the implied p-value reaches 0.

References
----------
Altman DG, Bland JM. How to obtain the P value from a confidence interval. BMJ 2011;343:d2304.
Schoenfeld D. Sample-size formula for the proportional-hazards regression model.
    Biometrics 1983;39:499-503.
Brown NJL, Heathers JAJ. The GRIM test. Soc Psychol Personal Sci 2017;8:363-369 (preprint 2016).
Newcombe RG. Interval estimation for the difference between independent proportions.
    Stat Med 1998;17:873-890.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.proportion import confint_proportions_2indep

from .printed import Printed
from .registry import BINARY, TIME_TO_EVENT, Analysis

CONSISTENT, QUESTIONABLE, INCONSISTENT, UNTESTABLE = (
    "consistent", "questionable", "inconsistent", "not testable")

#: Schoenfeld's formula is an approximation: with unequal allocation or strong effects it
#: under-states the events by 10-15% (checked on METEOR and CheckMate 9ER, where counts are
#: printed). Reported counts within this factor of the implied range are consistent.
SCHOENFELD_TOLERANCE = 1.20
#: A printed p from a stratified log-rank test may differ from the Wald p of the HR and CI;
#: within this factor the two are "questionable" rather than "inconsistent".
P_TOLERANCE = 3.0
#: Weibull shapes typical of PFS and OS curves; outside, medians and HR hardly fit one PH model.
#: The one home of these thresholds: the checks here and the summary reconstruction's
#: plausibility warnings (:mod:`trialrecon.simulate.findings`) both read them.
PLAUSIBLE_SHAPE = (0.5, 2.0)
#: Beyond these, a curve's hazard rises or falls more than about threefold per doubling of
#: time: not credible without a visible warning.
WIDE_SHAPE = (1 / 3, 3.0)


# --------------------------------------------------------------------------- algebra


def z_value(level: float) -> float:
    """Two-sided normal quantile for a confidence level given in percent (95 -> 1.95996)."""
    return _z_value(float(level))


@functools.lru_cache(maxsize=64)
def _z_value(level: float) -> float:
    return float(special.ndtri(0.5 + level / 200.0))


def se_log_hr(lower: float, upper: float, level: float = 95.0) -> float:
    """Standard error of log HR from a Wald CI: ``(ln upper - ln lower) / (2 z)``."""
    return (math.log(upper) - math.log(lower)) / (2.0 * z_value(level))


def wald_ci(hr: float, se: float, level: float = 95.0) -> tuple[float, float]:
    """Wald CI of an HR from the SE of its log: ``HR exp(-+z SE)``; bounds beyond floating
    point are 0 and inf (a tiny arm can give an SE of log HR in the hundreds)."""
    log_hr, half = math.log(hr), z_value(level) * se
    with np.errstate(over="ignore", under="ignore"):
        return float(np.exp(log_hr - half)), float(np.exp(log_hr + half))


def ci_asymmetry(hr: float, lower: float, upper: float) -> float:
    """``ln HR`` minus the centre of the log CI; zero for a Wald interval."""
    return math.log(hr) - 0.5 * (math.log(lower) + math.log(upper))


def p_from_ci(hr: float, lower: float, upper: float, level: float = 95.0) -> float:
    """Two-sided Wald p-value implied by an HR and its CI (exact normal tail).

    Altman and Bland (2011) approximate the normal tail; the exact tail is used here.
    """
    z = abs(math.log(hr)) / se_log_hr(lower, upper, level)
    return float(2.0 * stats.norm.sf(z))


def schoenfeld_events(se: float, allocation_fraction: float) -> float:
    """Events implied by the SE of log HR: ``d = 1 / (SE^2 p (1 - p))`` (Schoenfeld 1983).

    ``p`` is the share of patients allocated to the experimental arm (2/3 for 2:1).
    """
    p = allocation_fraction
    return 1.0 / (se * se * p * (1.0 - p))


def se_from_events(events_experimental: int, events_control: int) -> float:
    """SE of log HR from per-arm event counts, ``sqrt(1/d1 + 1/d2)`` (log-rank variance)."""
    return math.sqrt(1.0 / events_experimental + 1.0 / events_control)


def exponential_hr(median_experimental: float, median_control: float) -> float:
    """HR implied by two medians under exponential survival: ``m_control / m_experimental``."""
    return median_control / median_experimental


def weibull_shape(hr: float, median_experimental: float, median_control: float) -> float:
    """Common Weibull shape reconciling two medians with a proportional-hazards HR.

    With ``S_i(t) = exp(-(t / scale_i)^k)`` the HR is ``(scale_c / scale_e)^k`` and medians scale
    like the scales, so ``k = ln HR / ln(m_c / m_e)``. ``k > 1``: hazard rising with time.
    """
    return math.log(hr) / math.log(median_control / median_experimental)


def grim_counts(percent: float, n: int, decimals: int) -> list[int]:
    """Integer counts ``k`` in ``0..n`` whose ``100 k / n`` rounds to the printed percentage.

    An empty list means the printed figure is impossible with denominator ``n``
    (the GRIM idea, Brown and Heathers 2016). Rounding half up and half to even both count.
    """
    half = 0.5 * 10.0 ** (-decimals) + 1e-9
    # Only counts near percent * n / 100 can fit (one more each side for floating error), so
    # a large n costs no more than a small one.
    lo = max(0, math.floor((percent - half) * n / 100.0) - 1)
    hi = min(n, math.ceil((percent + half) * n / 100.0) + 1)
    k = np.arange(lo, hi + 1)
    pct = 100.0 * k / n
    return [int(x) for x in k[np.abs(pct - percent) <= half]]


@dataclass(frozen=True)
class BinaryComparison:
    """Derived comparison of two proportions (experimental vs control)."""

    risk_difference: float
    rd_lower: float
    rd_upper: float
    relative_risk: float
    rr_lower: float
    rr_upper: float
    fisher_p: float


def compare_proportions(x1: int, n1: int, x2: int, n2: int, level: float = 95.0
                        ) -> BinaryComparison:
    """Risk difference (Newcombe hybrid score CI), relative risk (log CI) and Fisher's exact p.

    The RR is undefined when the control count is 0; it is then returned as ``inf`` with
    ``nan`` bounds.
    """
    alpha = 1.0 - level / 100.0
    lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff",
                                        alpha=alpha)
    if x1 > 0 and x2 > 0:
        rr = stats.contingency.relative_risk(x1, n1, x2, n2)
        ci = rr.confidence_interval(confidence_level=level / 100.0)
        rr_value, rr_lo, rr_hi = rr.relative_risk, ci.low, ci.high
    else:
        rr_value, rr_lo, rr_hi = (math.inf if x1 else math.nan), math.nan, math.nan
    fisher = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
    return BinaryComparison(x1 / n1 - x2 / n2, float(lo), float(hi), float(rr_value),
                            float(rr_lo), float(rr_hi), float(fisher))


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Check:
    """One consistency check of one analysis.

    ``reported`` is the text of the printed figures the check reads, as printed. Everything
    else is derived and held as numbers: ``value`` (NaN where the check has none), and
    ``low`` to ``high``, the range that ``range`` names (the rounding of the printed digits,
    the printed CI, an exact CI). ``kind`` says what the numbers are (``se``, ``log``, ``p``,
    ``events``, ``ratio``, ``shape``, ``percent``, ``count``, ``exact-ci``, ``points``), so
    that :func:`trialrecon.formatting.derived` can show them; ``n`` is the denominator of a
    count.
    """

    analysis_id: str
    check: str
    reported: str
    value: float
    verdict: str
    reason: str
    kind: str = "number"
    low: float = math.nan
    high: float = math.nan
    range: str = ""
    n: float = math.nan

    @property
    def derived(self) -> str:
        """The derived figure as shown (formatting lives in :mod:`trialrecon.formatting`)."""
        from .formatting import derived
        return derived(self)


def _corners(fn: Callable[..., float], *printed: tuple[float, float]) -> tuple[float, float]:
    values = [fn(*c) for c in itertools.product(*printed)]
    return min(values), max(values)


def _hr_box(a: Analysis) -> tuple[tuple[float, float], ...]:
    p = a.hazard_ratio.printed
    return p.bounds("value"), p.bounds("lower"), p.bounds("upper")


def _fmt_factor(x: float) -> str:
    return f"{x:.0f}" if x < 1e6 else f"{x:.1e}"


def _hr_checks(a: Analysis) -> list[Check]:
    hr = a.hazard_ratio
    v, lo, hi, level = hr.printed.value, hr.printed.lower, hr.printed.upper, hr.level
    box = _hr_box(a)
    out = []

    se = se_log_hr(lo, hi, level)
    out.append(Check(a.id, "SE of log HR", f"{hr.printed.text}, {level:g}% CI", se,
                     UNTESTABLE, f"(ln {hi:g} - ln {lo:g}) / (2 x {z_value(level):.4f})",
                     kind="se"))

    asym = ci_asymmetry(v, lo, hi)
    amin, amax = _corners(ci_asymmetry, *box)
    if amin <= 0 <= amax:
        verdict, why = CONSISTENT, "HR sits at the geometric centre of its CI within rounding"
    elif min(abs(amin), abs(amax)) <= (amax - amin) / 2:
        verdict, why = QUESTIONABLE, (
            f"off-centre by {min(abs(amin), abs(amax)):.3f} on the log scale beyond rounding; "
            "a non-Wald (e.g. stratified or profile) interval could explain it")
    else:
        verdict, why = INCONSISTENT, (
            f"off-centre by at least {min(abs(amin), abs(amax)):.3f} on the log scale, twice the "
            "rounding allows: a digit of the HR or CI may be misprinted")
    out.append(Check(a.id, "HR at centre of CI", hr.printed.text, asym, verdict,
                     why + " (ln HR minus the mid-point of ln CI)", kind="log", low=amin,
                     high=amax, range="rounding"))

    def p_at(h: float, l_: float, u: float) -> float:
        # Rounding may let the true bounds meet (or cross, with mixed decimals) although the
        # printed ones do not; as the CI closes, the Wald p tends to 0.
        return p_from_ci(h, l_, u, level) if se_log_hr(l_, u, level) > 0 else 0.0

    p = p_from_ci(v, lo, hi, level)
    # |ln HR| is not monotone across 1: an HR box that holds 1 has its largest p there.
    hr_box = box[0] if not box[0][0] < 1.0 < box[0][1] else (box[0][0], 1.0, box[0][1])
    pmin, pmax = _corners(p_at, hr_box, box[1], box[2])
    if a.p_value is None:
        out.append(Check(a.id, "p-value from HR and CI", "not reported", p, UNTESTABLE,
                         "two-sided Wald p implied by HR and CI", kind="p", low=pmin, high=pmax,
                         range="rounding"))
    else:
        printed = a.p_value.parsed
        qlo, qhi = printed.two_sided()
        sided = " (one-sided, doubled)" if printed.sided == 1 else ""
        if pmin <= qhi and qlo <= pmax:
            verdict, why = CONSISTENT, f"implied two-sided p agrees with the printed p{sided}"
        else:
            gap = qlo / max(pmax, 1e-300) if qlo > pmax else pmin / max(qhi, 1e-300)
            if not printed.bound and printed.sided == 2 and pmin / 2 <= qhi and qlo <= pmax / 2:
                verdict, why = INCONSISTENT, (
                    "printed p is half the implied two-sided p: it is probably one-sided")
            elif gap <= P_TOLERANCE:
                verdict, why = QUESTIONABLE, (
                    f"differs by a factor {gap:.1f}; a stratified log-rank p can differ this much "
                    "from the Wald p of the HR")
            else:
                verdict, why = INCONSISTENT, (
                    f"implied p differs from the printed p by a factor {_fmt_factor(gap)}")
        out.append(Check(a.id, "p-value from HR and CI", a.p_value.printed + sided, p,
                         verdict, why, kind="p", low=pmin, high=pmax, range="rounding"))

    frac = a.trial.design.allocation_fraction
    if not 0.0 < frac < 1.0:
        reported = _reported_events(a)
        out.append(Check(a.id, "events implied by CI (Schoenfeld)",
                         "not reported" if reported is None else str(reported), math.nan,
                         UNTESTABLE,
                         f"the formula needs the share p of two randomised arms; the design is "
                         f"{a.trial.design.allocation}", kind="events"))
        return out + _per_arm_se_check(a, se, box, level)

    def d_at(l_: float, u: float) -> float:
        se_ = se_log_hr(l_, u, level)
        return schoenfeld_events(se_, frac) if se_ > 0 else math.inf  # see p_at

    d = schoenfeld_events(se, frac)
    dmin, dmax = _corners(d_at, box[1], box[2])
    formula = f"d = 1/(SE^2 p(1-p)), p = {frac:.3g} ({a.trial.design.allocation})"
    reported = _reported_events(a)
    if reported is None:
        out.append(Check(a.id, "events implied by CI (Schoenfeld)", "not reported", d,
                         UNTESTABLE, formula, kind="events", low=dmin, high=dmax,
                         range="rounding"))
    else:
        if dmin / SCHOENFELD_TOLERANCE <= reported <= dmax * SCHOENFELD_TOLERANCE:
            verdict, why = CONSISTENT, f"reported events within the Schoenfeld range; {formula}"
        elif dmin / 1.5 <= reported <= dmax * 1.5:
            verdict, why = QUESTIONABLE, (
                f"reported {reported} vs implied {d:.0f}: beyond the approximation's usual error; "
                "the CI may come from a different analysis (review, cut-off) than the count")
        else:
            verdict, why = INCONSISTENT, f"reported {reported} vs implied {d:.0f}; {formula}"
        out.append(Check(a.id, "events implied by CI (Schoenfeld)", str(reported), d, verdict,
                         why, kind="events", low=dmin, high=dmax, range="rounding"))
    return out + _per_arm_se_check(a, se, box, level)


def _per_arm_se_check(a: Analysis, se: float, box: tuple[tuple[float, float], ...],
                      level: float) -> list[Check]:
    names = a.arm_names
    if not (len(names) == 2 and all(a.arms[n].events for n in names)):
        return []
    se_ev = se_from_events(*(a.arms[n].events for n in names))
    smin, smax = _corners(lambda l_, u: se_log_hr(l_, u, level), box[1], box[2])
    ok = smin / 1.1 <= se_ev <= smax * 1.1
    counts = "/".join(str(a.arms[n].events) for n in names)
    return [Check(a.id, "SE from per-arm events", counts, se_ev,
                  CONSISTENT if ok else QUESTIONABLE,
                  f"sqrt(1/d1 + 1/d2), the log-rank variance of the reported counts, against "
                  f"the SE of the CI ({se:.4f})" + ("" if ok else "; differs by more than 10%"),
                  kind="se", low=smin, high=smax, range="the CI's SE within rounding")]


def _reported_events(a: Analysis) -> int | None:
    per_arm = [a.arms[n].events for n in a.arm_names]
    if per_arm and all(e is not None for e in per_arm):
        return int(sum(per_arm))
    return a.events_total


def _median_checks(a: Analysis) -> list[Check]:
    names = a.arm_names
    if len(names) != 2 or a.hazard_ratio is None:
        return []
    me, mc = (a.arms[n].median for n in names)
    if me is None or mc is None or not me.reached or not mc.reached:
        return []
    hr = a.hazard_ratio.printed
    exp_hr = exponential_hr(me.value, mc.value)
    in_ci = hr.lower <= exp_hr <= hr.upper
    out = [Check(a.id, "HR implied by medians (exponential)",
                 f"{mc.text} / {me.text} {a.time_unit}", exp_hr,
                 CONSISTENT if in_ci else QUESTIONABLE,
                 "exponential HR lies inside the reported CI" if in_ci else
                 "exponential HR outside the reported CI: hazards are not constant (see shape)",
                 kind="ratio")]
    label = f"HR {hr.text} with medians {me.text} vs {mc.text}"
    if mc.value / me.value == 1.0:  # equal medians (or a float ratio of 1): no shape
        return out
    k = weibull_shape(hr.value, me.value, mc.value)
    if hr.lower <= 1.0 <= hr.upper:
        # The shape is then undetermined (the HR may lie on either side of 1): no verdict,
        # and no number: the point estimate's k may be any size, or negative, which no pair
        # of curves has.
        k, verdict, why = math.nan, UNTESTABLE, (
            "the HR CI includes 1, so the medians do not determine a hazard shape"
            + ("; the point estimates favour different arms (crossing curves, or chance)"
               if weibull_shape(hr.value, me.value, mc.value) <= 0 else ""))
    else:
        ks = sorted(weibull_shape(h, me.value, mc.value) for h in (hr.lower, hr.upper))
        if ks[1] <= 0:
            k, verdict, why = math.nan, INCONSISTENT, (
                "under proportional hazards the arm with the lower hazard must have the longer "
                "median; these medians go the other way")
        elif ks[0] <= PLAUSIBLE_SHAPE[1] and ks[1] >= PLAUSIBLE_SHAPE[0]:
            verdict, why = CONSISTENT, (
                f"a common Weibull shape in {ks[0]:.2f}-{ks[1]:.2f} (from the CI) reconciles "
                f"medians and HR; k {'>' if k > 1 else '<'} 1 means a "
                f"{'rising' if k > 1 else 'falling'} hazard")
        elif ks[0] <= WIDE_SHAPE[1] and ks[1] >= WIDE_SHAPE[0]:
            verdict, why = QUESTIONABLE, (
                f"needs an unusual Weibull shape ({ks[0]:.2f}-{ks[1]:.2f}); hazards may be "
                "non-proportional")
        else:
            # The model is rejected: a shape estimated under it describes no curve.
            k, verdict, why = math.nan, INCONSISTENT, (
                f"it would need a Weibull shape of {ks[0]:.2f}-{ks[1]:.2f}, so medians and HR "
                "do not fit one proportional-hazards Weibull model")
    out.append(Check(a.id, "Weibull shape reconciling medians and HR", label, k, verdict, why,
                     kind="shape"))
    return out


def _landmark_checks(a: Analysis) -> list[Check]:
    """Under PH, ``S_e(t) = S_c(t)^HR``: the reported experimental rate must fit the HR CI."""
    names = a.arm_names
    if len(names) != 2 or a.hazard_ratio is None:
        return []
    exp_arm, ctl_arm = (a.arms[n] for n in names)
    hr = a.hazard_ratio.printed
    unit = a.time_unit.removesuffix("s")
    out = []
    for le in exp_arm.landmarks:
        lc = next((x for x in ctl_arm.landmarks if x.time == le.time
                   and x.method == le.method == "km"), None)
        if lc is None:
            continue
        if le.percent.value is None or lc.percent.value is None:
            out.append(Check(a.id, f"{le.time:g}-{unit} rate under PH",
                             f"{le.percent.text}% vs {lc.percent.text}%", math.nan, UNTESTABLE,
                             "a rate printed as not estimable (NR, NE) constrains nothing",
                             kind="percent"))
            continue
        sc = lc.percent.value / 100.0
        implied = 100.0 * sc ** hr.value
        lo_, hi_ = 100.0 * sc ** hr.upper, 100.0 * sc ** hr.lower
        half = le.percent.half_unit()
        ok = lo_ - half <= le.percent.value <= hi_ + half
        out.append(Check(
            a.id, f"{le.time:g}-{unit} rate under PH",
            f"{le.percent.text}% vs {lc.percent.text}%", implied,
            CONSISTENT if ok else QUESTIONABLE,
            "S_exp = S_ctl ^ HR"
            + ("" if ok else ": outside the range; hazards may be non-proportional"),
            kind="percent", low=lo_, high=hi_, range="over the HR's CI"))
    return out


def _binary_checks(a: Analysis) -> list[Check]:
    out = []
    counts: dict[str, list[int]] = {}
    items: list[tuple[str, Printed, int, str]] = []
    for name in a.arm_names:
        arm = a.arms[name]
        if arm.n is None:
            continue
        if arm.percent is not None:
            items.append((name, arm.percent, arm.n, "percent"))
        items += [(name, lm.percent, arm.n,
                   f"{lm.time:g}-{a.time_unit.removesuffix('s')} crude rate")
                  for lm in arm.landmarks if lm.method == "crude"]
    for name, pct, n, what in items:
        if pct.value is None:
            out.append(Check(a.id, f"GRIM {what} ({name})", f"{pct.text}% of {n}", math.nan,
                             UNTESTABLE,
                             "a percentage printed as not estimable (NR, NE) has no count",
                             kind="count", n=n))
            continue
        ks = grim_counts(pct.value, n, pct.decimals[0])
        if what == "percent":
            counts[name] = ks
        if ks:
            verdict, why = CONSISTENT, f"{len(ks)} count(s) of {n} round to {pct.value:g}%"
        else:
            lo_k = math.floor(pct.value * n / 100)
            verdict, why = INCONSISTENT, (
                f"no count of {n} rounds to {pct.text}% ({lo_k}/{n} = {100 * lo_k / n:.2f}%, "
                f"{lo_k + 1}/{n} = {100 * (lo_k + 1) / n:.2f}%): the denominator differs from N")
        # GRIM counts are consecutive: the first and last give them all.
        out.append(Check(a.id, f"GRIM {what} ({name})", f"{pct.text}% of {n}",
                         float(ks[0]) if ks else math.nan, verdict, why, kind="count",
                         low=float(ks[0]) if ks else math.nan,
                         high=float(ks[-1]) if ks else math.nan, n=n))
        if ks and pct.lower is not None and pct.upper is not None:
            tol = max(pct.half_unit("lower"), pct.half_unit("upper")) + 1e-9
            match = _exact_ci_count(ks, n, pct.lower, pct.upper, tol)
            k = match if match is not None else min(
                ks, key=lambda c: abs(100 * c / n - pct.value))
            lo_, hi_ = _exact_ci(k, n)
            out.append(Check(a.id, f"exact CI of percent ({name})", pct.text, float(k),
                             CONSISTENT if match is not None else QUESTIONABLE,
                             "printed CI matches the exact binomial CI" if match is not None else
                             "printed CI is not the Clopper-Pearson interval of any count that "
                             "fits the percentage (another method, e.g. Wilson)",
                             kind="exact-ci", low=lo_, high=hi_, range="Clopper-Pearson 95% CI",
                             n=n))
    names = a.arm_names
    if len(names) == 2 and all(counts.get(n) for n in names):
        (x1, n1), (x2, n2) = ((min(counts[n], key=lambda c, n=n: abs(
            100 * c / a.arms[n].n - a.arms[n].percent.value)), a.arms[n].n) for n in names)
        c = compare_proportions(x1, n1, x2, n2)
        printed = " vs ".join(f"{a.arms[n].percent.text}% of {a.arms[n].n}" for n in names)
        counts_used = f"from the counts {x1}/{n1} vs {x2}/{n2} that fit the percentages"
        out.append(Check(a.id, "risk difference (Newcombe)", printed,
                         100 * c.risk_difference, UNTESTABLE, counts_used, kind="points",
                         low=100 * c.rd_lower, high=100 * c.rd_upper, range="95% CI"))
        out.append(Check(a.id, "relative risk", printed, c.relative_risk, UNTESTABLE,
                         counts_used if not math.isnan(c.rr_lower) else
                         counts_used + "; not defined with 0 events in control",
                         kind="ratio", low=c.rr_lower, high=c.rr_upper, range="95% CI"))
        if a.p_value is None:
            verdict, why = UNTESTABLE, counts_used + "; no p printed to compare with"
        else:
            qlo, qhi = a.p_value.parsed.two_sided()
            # Printed p for response rates usually comes from a stratified CMH test, so
            # agreement within a factor P_TOLERANCE is as close as an exact test can get.
            if qlo / P_TOLERANCE <= c.fisher_p <= qhi * P_TOLERANCE:
                verdict, why = CONSISTENT, "Fisher's exact p agrees with the printed p"
            else:
                verdict, why = QUESTIONABLE, "Fisher's exact p differs from the printed p"
            why += f" ({counts_used})"
        out.append(Check(a.id, "Fisher's exact test", a.p_value.printed if a.p_value
                         else "not reported", c.fisher_p, verdict, why, kind="p"))
    return out


def _exact_ci(k: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson 95% CI of ``k / n``, in percent."""
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return 100 * ci.low, 100 * ci.high


#: Up to this many candidate counts, each one's exact CI is computed; beyond, bisection.
_ENUMERATED_COUNTS = 64


def _exact_ci_count(ks: list[int], n: int, lower: float, upper: float, tol: float
                    ) -> int | None:
    """The first count of ``ks`` (consecutive) whose exact CI prints as ``lower-upper``."""
    def fits(k: int) -> bool:
        lo, hi = _exact_ci(k, n)
        return abs(lo - lower) <= tol and abs(hi - upper) <= tol

    if len(ks) <= _ENUMERATED_COUNTS:
        return next((k for k in ks if fits(k)), None)
    # A large arm admits thousands of counts, one binomial test each. Both bounds rise with k,
    # so the counts that fit form one run, and the first count past both lower limits is the
    # only candidate for its start.
    first = max(bisect.bisect_left(ks, lower - tol, key=lambda k: _exact_ci(k, n)[0]),
                bisect.bisect_left(ks, upper - tol, key=lambda k: _exact_ci(k, n)[1]))
    return ks[first] if first < len(ks) and fits(ks[first]) else None


def check_analysis(analysis: Analysis) -> list[Check]:
    """All consistency checks that the reported figures of one analysis allow."""
    out: list[Check] = []
    if analysis.hazard_ratio is not None:
        out += _hr_checks(analysis)
    if analysis.endpoint in TIME_TO_EVENT:
        out += _median_checks(analysis) + _landmark_checks(analysis)
    if analysis.endpoint in BINARY or any(
            lm.method == "crude" for arm in analysis.arms.values() for lm in arm.landmarks):
        out += _binary_checks(analysis)
    return out


#: The columns of :func:`check_table`: the fields of :class:`Check`.
CHECK_COLUMNS = tuple(Check.__dataclass_fields__)


def check_table(items: Iterable[Analysis]) -> pd.DataFrame:
    """Consistency checks of many analyses as one tidy table, one row per :class:`Check`.

    Derived figures are numbers (``value``, ``low``, ``high``; NaN where there is none);
    :func:`trialrecon.formatting.derived` shows a row's as text.
    """
    rows = [asdict(c) for a in items for c in check_analysis(a)]
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


def version_differences(items: Iterable[Analysis]) -> pd.DataFrame:
    """Figures that differ between versions of the same result: one trial, cohort, endpoint
    and population (as recorded; an unstated population is compared with unstated ones).

    Two printed numbers differ when they differ at the coarser of their two precisions
    ("0.3" and "0.30" are the same figure; "0.58" and "0.59" are not). Each side names its
    own analysis: a version key (``nejm-2021``) is shared by every result one source
    reported, so it is never enough to say which result a figure came from.
    Columns: ``trial, cohort, endpoint, population, quantity, version_a, analysis_a,
    label_a, value_a, version_b, analysis_b, label_b, value_b``.
    """
    def figures(a: Analysis) -> dict[str, tuple[float, int]]:
        out: dict[str, tuple[float, int]] = {}
        for name in a.arm_names:
            arm = a.arms[name]
            if arm.n is not None:
                out[f"N {name}"] = (arm.n, 0)
            for label, p in ((f"median {name}", arm.median), (f"% {name}", arm.percent)):
                if p is not None and p.reached:
                    out[label] = (p.value, p.decimals[0])
        if a.hazard_ratio is not None:
            p = a.hazard_ratio.printed
            out["HR"], out["HR lower"], out["HR upper"] = (
                (x, d) for x, d in zip((p.value, p.lower, p.upper), p.decimals, strict=True))
        return out

    groups: dict[tuple[str, str, str, str], list[Analysis]] = {}
    for a in items:
        key = (a.trial.trial, a.cohort or "", a.endpoint, a.population or "")
        groups.setdefault(key, []).append(a)
    rows = []
    for (trial, cohort, endpoint, population), group in groups.items():
        for a, b in itertools.combinations(group, 2):
            fa, fb = figures(a), figures(b)
            for q in [q for q in fa if q in fb]:
                (xa, da), (xb, db) = fa[q], fb[q]
                if round(xa, min(da, db)) != round(xb, min(da, db)):
                    rows.append({"trial": trial, "cohort": cohort, "endpoint": endpoint,
                                 "population": population, "quantity": q,
                                 "version_a": a.version, "analysis_a": a.id,
                                 "label_a": a.label, "value_a": f"{xa:.{da}f}",
                                 "version_b": b.version, "analysis_b": b.id,
                                 "label_b": b.label, "value_b": f"{xb:.{db}f}"})
    return pd.DataFrame(rows, columns=["trial", "cohort", "endpoint", "population", "quantity",
                                       "version_a", "analysis_a", "label_a", "value_a",
                                       "version_b", "analysis_b", "label_b", "value_b"])
