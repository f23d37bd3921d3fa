"""Reported against reconstructed: the table, the findings and the plausibility warnings.

The table re-analyses the final pseudo patients independently with lifelines. A finding
names printed figures that were not reproduced and says why. Only one cause is a property
of the print alone: no Cox estimate lies inside the rounding boxes of the printed HR, CI and
p together (:func:`~trialrecon.simulate.targets.cox_box`). Everything else a flexible,
non-proportional model can reach in principle; a miss there is a limitation of this
reconstruction and is said to be one, with the printed numbers that pulled against each
other.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
from lifelines.utils import median_survival_times
from scipy import stats

from ..analysis import cox_hr, fit_km, median_follow_up
from ..registry import Analysis
from ..summary import WIDE_SHAPE, p_from_ci, wald_ci
from .model import Censoring, PiecewiseHazards
from .targets import EVENTS_TOLERANCE, Targets, cox_aim, cox_box


def table(a: Analysis, tg: Targets, ipd: pd.DataFrame) -> pd.DataFrame:
    """One row per printed figure: ``quantity, arm, reported, reconstructed, difference,
    tolerance, within, calibrated`` (reconstructed values derived; ``within`` is None where
    the print gives nothing to judge).

    ``calibrated`` is True where the figure is a target of the reconstruction: the pseudo
    data are built to meet it (:func:`.sample.calibrate`; the arm sizes by construction).
    It is False where nothing was printed (events "not reported") and for a printed p that
    cannot hold together with the printed HR and CI, which the Cox calibration then leaves
    aside (:func:`~trialrecon.simulate.targets.cox_aim`); such a p is still judged.
    """
    arms = [ipd[ipd.arm == name] for name in tg.names]
    fits = [fit_km(x, level=a.median_level) for x in arms]
    rows = []

    def add(quantity: str, arm: str, reported: str, got: float | None,
            target: float | None, tol: float | None) -> None:
        if target is None or tol is None:
            diff, within = math.nan, None
        elif got is None or math.isinf(got) or math.isinf(target):
            same = got is not None and math.isinf(got) == math.isinf(target)
            diff, within = (0.0 if same else math.nan), same
        else:
            diff = got - target
            within = bool(abs(diff) <= tol + 1e-9)
        rows.append({"quantity": quantity, "arm": arm, "reported": reported,
                     "reconstructed": math.nan if got is None else float(got),
                     "difference": diff, "tolerance": tol, "within": within,
                     "calibrated": target is not None})

    for k, (name, at) in enumerate(zip(tg.names, tg.arms, strict=True)):
        arm, kmf = a.arms[name], fits[k]
        add("N", name, str(arm.n), float(len(arms[k])), float(arm.n), 0.0)
        events = float(arms[k].event.sum())
        add("events", name, "not reported" if arm.events is None else str(arm.events),
            events, None if arm.events is None else float(arm.events),
            None if arm.events is None else EVENTS_TOLERANCE)
        if arm.median is not None:
            add("median (months)", name, arm.median.text, float(kmf.median_survival_time_),
                at.median, at.median_tol)
            lo, hi = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
            for i, (bound, got, printed) in enumerate((("lower", lo, at.median_lower),
                                                        ("upper", hi, at.median_upper))):
                if printed is not None:
                    add(f"median {a.median_level:g}% CI {bound}", name,
                        _as_printed(printed, arm.median.decimals[i + 1]), float(got), printed,
                        at.bound_tols[i])
        marks = [lm for lm in arm.landmarks
                 if lm.method == "km" and lm.percent.value is not None]  # as targets() keeps
        for (t, p, tol), lm in zip(at.landmarks, marks, strict=True):
            got = float(kmf.survival_function_at_times(t).iloc[0])
            add(f"{t:g}-month rate (%)", name, lm.percent.text, 100 * got, 100 * p, 100 * tol)
    if tg.events_total is not None and any(x.events is None for x in tg.arms):
        add("events (total)", "", str(tg.events_total), float(ipd.event.sum()),
            float(tg.events_total), EVENTS_TOLERANCE)
    if tg.hr is not None:
        cox = cox_hr(arms[0], arms[1])
        lo, hi = wald_ci(cox.hr, cox.se, tg.level)
        hr = a.hazard_ratio
        add("hazard ratio", "", hr.printed.text, cox.hr, tg.hr, tg.hr_tol)
        digits = hr.printed.decimals
        add(f"HR {tg.level:g}% CI lower", "", _as_printed(tg.ci[0], digits[1]), lo, tg.ci[0],
            tg.ci_tols[0])
        add(f"HR {tg.level:g}% CI upper", "", _as_printed(tg.ci[1], digits[2]), hi, tg.ci[1],
            tg.ci_tols[1])
        if a.p_value is not None:
            p = float(2 * stats.norm.sf(abs(math.log(cox.hr)) / cox.se))
            qlo, qhi = tg.p_interval
            rows.append({"quantity": "p-value (two-sided)", "arm": "",
                         "reported": a.p_value.printed, "reconstructed": p,
                         "difference": math.nan, "tolerance": math.nan,
                         "within": bool(qlo <= p <= qhi),
                         "calibrated": cox_aim(tg).p_interval is not None})
    if tg.follow_up is not None:
        got = median_follow_up(ipd)
        add("median follow-up (months)", "", f"{tg.follow_up:g}", got, tg.follow_up,
            tg.follow_up_tol)
    return pd.DataFrame(rows)


def _as_printed(x: float, decimals: int | None) -> str:
    """A parsed printed number back in its printed digits ("0.30", not "0.3")."""
    if math.isinf(x):
        return "NR"
    return f"{x:.{decimals}f}" if decimals is not None else f"{x:g}"


def explain(tab: pd.DataFrame, a: Analysis, tg: Targets) -> tuple[str, ...]:
    """One finding per cause of the figures outside their rounding."""
    missed = tab[tab.within == False]  # noqa: E712
    if missed.empty:
        return ()
    is_cox = missed.quantity.str.startswith(("hazard ratio", "HR ", "p-value"))
    cox_rows = is_cox.copy()  # the Cox figures not yet explained
    p_row = missed.quantity.str.startswith("p-value")
    out = []
    symmetric = cox_box(dataclasses.replace(tg, p_interval=None)) is not None
    if cox_rows.any() and not symmetric:
        printed = a.hazard_ratio.printed
        what = "; ".join(_row(r) for r in missed[cox_rows].itertuples())
        out.append(f"{what}: no Wald interval exp(log HR ± z SE) joins the printed HR "
                   f"{printed.text} and both CI bounds within their rounding "
                   f"(±{printed.half_unit('lower'):g} and ±{printed.half_unit('upper'):g}): "
                   "the CI is not symmetric about the HR on the log scale, as a "
                   "profile-likelihood, exact or stratified interval need not be (a property "
                   "of the printed numbers)")
        cox_rows &= False
    elif p_row.any() and cox_box(tg) is None:
        # The p cannot hold with the HR and CI: a finding about the print, for the p alone;
        # an HR or CI bound missed as well is the reconstruction's (they can hold together).
        p_ci = p_from_ci(tg.hr, *tg.ci, tg.level)
        out.append(f"{_row(missed[p_row].iloc[0])}: no Cox estimate lies within the rounding "
                   f"of the printed HR {a.hazard_ratio.printed.text}, its CI and p "
                   f"{a.p_value.printed} together (the Wald p of the printed HR and CI is "
                   f"{p_ci:.2g}); the p probably comes from another test, such as a "
                   "stratified log-rank test (a property of the printed numbers)")
        cox_rows &= ~p_row
    if cox_rows.any():
        what = "; ".join(_row(r) for r in missed[cox_rows].itertuples())
        if missed[cox_rows].reconstructed.isna().any():
            out.append(f"{what}: the pseudo data have no Cox estimate (an arm's events all "
                       "come before the other's, so the partial likelihood has no maximum); "
                       "too few patients or events for the printed comparison to be rebuilt "
                       "(a limitation of the reconstruction, not evidence against the "
                       "publication)")
        else:
            can = "HR and CI" if cox_box(tg) is None else "HR, CI and p"
            out.append(f"{what}: not reproduced by this reconstruction although the printed "
                       f"{can} can hold together; the pseudo data's event counts move the SE "
                       "in steps coarser than the print (a limitation of the reconstruction, "
                       "not evidence against the publication)")
    rest = missed[~is_cox]
    if not rest.empty:
        what = "; ".join(_row(r) for r in rest.itertuples())
        out.append(f"{what}: not reproduced by this reconstruction; with the other printed "
                   "figures met, the pseudo data could not also place this one (a limitation "
                   "of the reconstruction, not evidence against the publication)")
    return tuple(out)


def _row(r) -> str:
    got = r.reconstructed
    shown = "NR" if isinstance(got, float) and math.isinf(got) else (
        "not estimable" if got != got else
        f"{got:.3g}" if r.quantity.startswith("p-value") else f"{got:.2f}")
    return f"{r.quantity}{' (' + r.arm + ')' if r.arm else ''} {shown} vs {r.reported}"


def effective_shape(model: PiecewiseHazards, arm: int, start: float, end: float) -> float:
    """Slope of ``log H`` against ``log t`` between two times: a Weibull's shape."""
    h0, h1 = (float(model.cumulative_hazard(t, arm)) for t in (start, end))
    return math.log(h1 / h0) / math.log(end / start)


def plausibility(model: PiecewiseHazards, tg: Targets, end: float) -> tuple[str, ...]:
    """Warnings about curves no trial is likely to show (thresholds from :mod:`summary`).

    Checked over the follow-up: the Weibull-equivalent shape of each arm between the times
    where 5% and the last of its events are expected, and cliffs (a fifth of an arm lost in
    the first 2% of follow-up).
    """
    out = []
    for a, name in enumerate(tg.names):
        s_end = float(model.survival(end, a))
        start = float(model.quantile(1.0 - 0.05 * (1.0 - s_end), a)) if s_end < 0.999 else end
        if 0 < start < end:
            k = effective_shape(model, a, start, end)
            if not WIDE_SHAPE[0] <= k <= WIDE_SHAPE[1]:
                trend = "rising" if k > 1 else "falling"
                out.append(f"{name}: the hazard is steeply {trend} over follow-up (Weibull-"
                           f"equivalent shape {k:.2f}, outside {WIDE_SHAPE[0]:.2f}-"
                           f"{WIDE_SHAPE[1]:.0f}); the curve may not be what the trial saw")
        early = 1.0 - float(model.survival(0.02 * end, a))
        if early > 0.2:
            out.append(f"{name}: {100 * early:.0f}% of patients have an event in the first "
                       f"{0.02 * end:.1f} months: a cliff the print may not support")
    return tuple(out)


#: Censoring beyond these is an assumption the print forces, not one a trial usually shows:
#: a fifth of patients censored at the start, accrual over 99% of the study.
EARLY_CENSORING_LIMIT = 0.2
ACCRUAL_LIMIT = 0.99


def censoring_warnings(cens: Censoring) -> tuple[str, ...]:
    """Warnings when the censoring model had to go to an edge to meet the print."""
    out = []
    if cens.early > EARLY_CENSORING_LIMIT:
        out.append(f"{100 * cens.early:.0f}% of patients are censored at the start of the "
                   "pseudo data: the reconstruction needed that to fit the printed CI (events) "
                   "and median follow-up together; they may come from different analyses "
                   "(for example a stratified model, or follow-up counted for survival)")
    if cens.accrual_fraction > ACCRUAL_LIMIT:
        out.append("accrual spans the whole study up to the data cut-off: the censoring "
                   "model is at its edge, and the curves' tails rest on that assumption")
    return tuple(out)
