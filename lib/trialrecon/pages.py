"""Content blocks of the report's pages, so that notebooks stay thin.

Each function returns a table (DataFrame), a figure or Markdown text. Tables keep reported
and derived figures apart: a column says which, and derived columns are named so.

Text from the data (a trial file, a curve file) reaches Markdown only through :func:`md_text`,
so that it is shown as typed: nbconvert passes HTML in Markdown through to the page, where a
name like ``<img src=x onerror=...>`` would run in every browser that opens it. Tables need no
such step (pandas escapes their HTML) and figures are images.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import plots, registry, summary
from .analysis import compare_arms
from .errors import InputError
from .registry import BINARY, CONTINUOUS, ENDPOINT_LABELS, TIME_TO_EVENT, Analysis, Trial
from .simulate import SummaryFit, fit_summary, reconstructable

# lifelines warns about approximations it makes on purpose; the report states its methods.
warnings.filterwarnings("ignore", module="lifelines")

#: Characters that HTML or Markdown (CommonMark, GFM tables and autolinks, the ``$`` math that
#: nbconvert and JupyterLab render) may read as markup. Each becomes a numeric character
#: reference: every Markdown renderer shows one as its character and never as markup, which
#: backslash escapes do not guarantee (inside ``$...$`` or a URL, or for ``<`` and ``&``).
_MARKUP = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-.!|~$:=^@"})


def md_text(value: object) -> str:
    """Text from the data, made safe to place in Markdown: it renders exactly as typed.

    Every character that HTML or Markdown could read as markup is written as a character
    reference, so no tag, link, emphasis, heading, list or formula can come from the text.
    Runs of whitespace (line breaks included) become one space: the text stays inline,
    inside the sentence, list item or heading it is placed in, as HTML would show it anyway.

    Parameters
    ----------
    value
        Any value; it is shown as ``str(value)``.

    Returns
    -------
    str
        Markdown that renders as the text of ``value``.

    Examples
    --------
    >>> md_text("CLARINET <b>*</b>")
    'CLARINET &#60;b&#62;&#42;&#60;/b&#62;'
    """
    return " ".join(str(value).split()).translate(_MARKUP)


def sources_markdown(items: list[Analysis]) -> str:
    """Markdown list of the primary sources cited by these analyses."""
    seen: dict[str, str] = {}
    for a in items:
        seen.setdefault(a.source, a.citation)
    return "\n".join(f"- **{md_text(key)}**: {md_text(text)}" for key, text in seen.items())


def side_by_side(items: list[Analysis]) -> pd.DataFrame:
    """Reported figures with one column per version (as printed; nothing derived)."""
    table = registry.reported_table(items)
    if table.empty:
        return table
    table["figure"] = table.quantity + table.arm.map(lambda x: f" [{x}]" if x else "")
    order = list(dict.fromkeys(table.version))
    wide = table.pivot_table(index=["endpoint", "figure"], columns="version", values="reported",
                             aggfunc="first", sort=False)
    return wide.reindex(columns=order).fillna("")


def hazard_ratios(items: list[Analysis]) -> pd.DataFrame:
    """Every printed HR with its CI, for the forest plot (reported values)."""
    rows = []
    for a in items:
        if a.hazard_ratio is None:
            continue
        p = a.hazard_ratio.printed
        cohort = f" {a.cohort}" if a.cohort else ""
        rows.append({"group": f"{a.trial.name}{cohort} {a.endpoint}",
                     "label": f"{a.trial.name.split(' (')[0]}{cohort} {a.endpoint}: {a.label}",
                     "hr": p.value, "lower": p.lower, "upper": p.upper,
                     "level": a.hazard_ratio.level, "source": a.source})
    # Named columns: a trial without any hazard ratio gives an empty table, not a KeyError.
    frame = pd.DataFrame(rows, columns=["group", "label", "hr", "lower", "upper", "level",
                                        "source"])
    return frame.sort_values("group", kind="stable").reset_index(drop=True)


def verdict_counts(items: list[Analysis]) -> pd.DataFrame:
    """Number of consistency checks per trial and verdict (derived)."""
    checks = summary.check_table(items)
    checks["trial"] = checks.analysis_id.str.split("/").str[0]
    counts = checks.pivot_table(index="trial", columns="verdict", values="check",
                                aggfunc="count", fill_value=0)
    return counts.reindex(columns=[summary.CONSISTENT, summary.QUESTIONABLE,
                                   summary.INCONSISTENT, summary.UNTESTABLE], fill_value=0)


def flagged_checks(items: list[Analysis]) -> pd.DataFrame:
    """Checks whose verdict is questionable or inconsistent (derived), with reasons."""
    checks = summary.check_table(items)
    keep = checks.verdict.isin([summary.QUESTIONABLE, summary.INCONSISTENT])
    return checks.loc[keep, ["analysis_id", "check", "reported", "derived", "verdict",
                             "reason"]].reset_index(drop=True)


def select_analyses(trials: str = "") -> list[Analysis]:
    """Analyses of the comma-separated trial ids, or of every trial for ``""``."""
    ids = [t.strip() for t in trials.split(",") if t.strip()]
    return [a for t in ids for a in registry.analyses(t)] if ids else registry.analyses()


def curve_inputs(curves: dict[str, str], at_risk: dict[str, str], scale: str = "proportion"):
    """Digitised curves and at-risk tables per arm: from files, or the bundled example.

    Returns ``(curves, tables, truth, unit)``; ``truth`` holds the true patient data when the
    example is used (a real randomised trial shipped with lifelines), else ``None``.
    """
    from .curves import read_at_risk, read_curve
    from .validation import at_risk_table, example_trial, km_steps, regular_times

    if any(curves.values()):
        return ({arm: read_curve(path, scale=scale).to_frame() for arm, path in curves.items()},
                {arm: read_at_risk(path).to_frame() for arm, path in at_risk.items()}, None,
                "months")
    trial = example_trial("gbsg2")
    days_per_month = 365.25 / 12
    truth = {arm: ipd.assign(time=ipd.time / days_per_month) for arm, ipd in trial.arms.items()}
    times = regular_times(list(truth.values()), 6)
    return ({arm: km_steps(ipd) for arm, ipd in truth.items()},
            {arm: at_risk_table(ipd, times) for arm, ipd in truth.items()}, truth, "months")


def reconstructed_vs_true(reconstructed: dict[str, pd.DataFrame],
                          truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The re-analysis of reconstructed and true patient data side by side (both derived)."""
    rec = compare_arms(*reconstructed.values(), names=tuple(reconstructed), landmarks=(12, 36))
    tru = compare_arms(*truth.values(), names=tuple(truth), landmarks=(12, 36), tau=rec.tau)
    rows = []
    for label, r, t in (("hazard ratio", rec.value("hazard ratio"), tru.value("hazard ratio")),
                        ("RMST difference (months)", rec.value("RMST difference"),
                         tru.value("RMST difference"))):
        rows.append({"quantity": label, "reconstructed": r, "true": t})
    for (_, r), (_, t) in zip(rec.arms.iterrows(), tru.arms.iterrows(), strict=True):
        rows.append({"quantity": f"events, {r.arm}", "reconstructed": r.events, "true": t.events})
        rows.append({"quantity": f"median (months), {r.arm}", "reconstructed": r["median"],
                     "true": t["median"]})
    for (_, r), (_, t) in zip(rec.landmarks.iterrows(), tru.landmarks.iterrows(), strict=True):
        rows.append({"quantity": f"{r.time:g}-month survival, {r.arm}",
                     "reconstructed": r.survival, "true": t.survival})
    out = pd.DataFrame(rows)
    out["difference"] = out.reconstructed - out.true
    return out.round(4)


def portfolio_context() -> pd.DataFrame:
    """One row per trial: identity, indication and context from the seed documents."""
    return pd.DataFrame([{"trial": t.name, "registry": t.nct or "", "company": t.company,
                          "drug": t.drug, "comparator": t.comparator or "",
                          "indication": t.indication, "design": f"phase {t.design.phase}, "
                          f"{t.design.allocation}, {t.design.blinding}",
                          "analyses": len(t.analyses)} for t in registry.trials().values()])


@dataclass(frozen=True)
class TrialPage:
    """Everything the page of one trial (and cohort) shows.

    Parameters
    ----------
    trial_id
        The registry id of the trial.
    cohort
        The cohort id, for a trial with cohorts; ``None`` or ``""`` (the notebook's default,
        so that a scheduled run passes only ``-p trial ID``) for a trial without.

    A trial with cohorts has no page for all of them at once: its analyses of different
    cohorts share endpoints and versions, so one page would set side by side figures of
    different patients. Leaving the cohort out is then an error naming the valid ones (the
    report builds one page per cohort and always passes it).

    Raises
    ------
    InputError
        For an unknown trial, a cohort the trial does not have, or a trial with cohorts and
        none given; one line, listing the valid cohorts.
    """

    trial_id: str
    cohort: str | None = None

    def __post_init__(self) -> None:
        # "" and None mean the same: papermill parameters are strings, Python callers pass None.
        object.__setattr__(self, "cohort", self.cohort or None)
        trial = registry.get_trial(self.trial_id)
        cohorts = list(trial.design.cohorts)
        if self.cohort and self.cohort not in cohorts:
            advice = (f"valid cohorts: {', '.join(cohorts)}" if cohorts else
                      "it has no cohorts: leave the cohort out")
            raise InputError(f"trial {self.trial_id!r} has no cohort {self.cohort!r}",
                             column="cohort", advice=advice)
        if not self.cohort and cohorts:
            raise InputError(f"trial {self.trial_id!r} has cohorts, and none was given",
                             column="cohort",
                             advice=f"give one of: {', '.join(cohorts)}, for example "
                                    f"papermill -p cohort {cohorts[0]}")

    @property
    def trial(self) -> Trial:
        return registry.get_trial(self.trial_id)

    @property
    def analyses(self) -> list[Analysis]:
        """The trial's analyses of this cohort, plus those reported for all cohorts."""
        return [a for a in self.trial.analyses if a.cohort in (self.cohort, None)]

    def title(self) -> str:
        t, e = self.trial, md_text
        cohort = f", {e(t.design.cohorts[self.cohort])} cohort" if self.cohort else ""
        comparator = f" vs {e(t.comparator)}" if t.comparator else ""
        cutoffs = sorted({str(a.data_cutoff) for a in self.analyses if a.data_cutoff})
        data = f"Data cut-off(s): {e(', '.join(cutoffs))}." if cutoffs else \
            "Data cut-offs: as in each source."
        return (f"# {e(t.name)}{cohort}\n\n**{e(t.drug)}{comparator}** in "
                f"{e(t.indication.lower())}. {e(t.nct or '')} · {e(t.company)} · phase "
                f"{e(t.design.phase)}, allocation {e(t.design.allocation)}, "
                f"{e(t.design.blinding)}.\n\n{data}\n\n{e(t.context)}")

    def reported(self) -> pd.DataFrame:
        return side_by_side(self.analyses)

    def sources(self) -> str:
        return sources_markdown(self.analyses)

    def checks(self) -> pd.DataFrame:
        table = summary.check_table(self.analyses)
        return table.drop(columns=["derived_value"]).rename(
            columns={"reported": "reported (as printed)", "derived": "derived"})

    def differences(self) -> pd.DataFrame:
        return summary.version_differences(self.analyses)

    @cached_property
    def fits(self) -> list[SummaryFit]:
        """Summary reconstructions of every time-to-event analysis that allows one."""
        return [fit_summary(a) for a in reconstructable(self.analyses)]

    def fit_figure(self, fit: SummaryFit):
        """KM of the pseudo data with the 90% band of what the print allows, the printed
        medians and HR beside the reconstructed ones, and any plausibility warning."""
        a = registry.get(fit.analysis_id) if isinstance(fit.analysis_id, str) else fit
        arms = {name: fit.ipd[fit.ipd.arm == name] for name in fit.names}
        medians = {n: a.arms[n].median.value for n in fit.names
                   if a.arms[n].median is not None and a.arms[n].median.reached}
        hr = a.hazard_ratio.printed
        comp = compare_arms(*arms.values(), names=tuple(arms))
        text = (f"Reported HR {hr.text} ({a.hazard_ratio.level:g}% CI)\n"
                f"Reconstructed HR {comp.value('hazard ratio'):.2f} "
                f"({comp.value('hazard ratio', 'lower'):.2f}-"
                f"{comp.value('hazard ratio', 'upper'):.2f}, 95% CI)")
        grid = np.linspace(0.0, fit.follow_up_end, 121)
        band = fit.survival_band(grid, level=0.90)
        bands = {name: band[band.arm == name] for name in fit.names}
        return plots.km_plot(arms, title=f"{ENDPOINT_LABELS[a.endpoint]}: {a.label} "
                             "(pseudo patient data, derived)", reported_medians=medians,
                             reported_hr=text, endpoint=a.endpoint, bands=bands,
                             band_label="90% band of curves the print allows",
                             warnings=fit.warnings, at_risk_label="At risk (pseudo data)")

    def unprinted(self, fit: SummaryFit, landmark: float = 12.0,
                  horizons: tuple[float, ...] = (12.0, 24.0)) -> pd.DataFrame:
        """Figures the publication did not print (all derived), each with its range.

        ``pseudo data``: the Kaplan-Meier re-analysis of the central pseudo patients,
        estimable only within their follow-up. ``90% range``: the 5th to 95th percentile of
        the same figure over the model curves the print allows (the band's draws); beyond
        the follow-up it is the model's extrapolation alone.
        """
        arms = [fit.ipd[fit.ipd.arm == n] for n in fit.names]
        base = compare_arms(*arms, landmarks=(landmark,), names=fit.names)
        rows = []
        times = np.linspace(0.0, max(horizons + (landmark,)), 481)
        draws = fit.survival_draws(times)

        def spread(values: np.ndarray, fmt: str) -> str:
            lo, hi = np.quantile(values, [0.05, 0.95])
            return f"{fmt.format(lo)} to {fmt.format(hi)}"

        def beyond(end: float) -> str:
            return f"not estimable: pseudo follow-up ends at {end:.1f} months"

        k = int(np.searchsorted(times, landmark))
        for a, (r, ipd) in enumerate(zip(base.landmarks.itertuples(), arms, strict=True)):
            rows.append({"figure (derived)": f"{landmark:g}-month rate, {r.arm}",
                         "pseudo data (Kaplan-Meier)":
                             f"{100 * r.survival:.1f}% ({100 * r.lower:.1f}-"
                             f"{100 * r.upper:.1f})" if landmark <= ipd.time.max()
                             else beyond(ipd.time.max()),
                         "90% range over the curves the print allows":
                             spread(100 * draws[:, a, k], "{:.1f}%")})
        for r in base.arms.itertuples():
            rows.append({"figure (derived)": f"events, {r.arm}",
                         "pseudo data (Kaplan-Meier)": str(r.events),
                         "90% range over the curves the print allows": ""})
        for tau in horizons:
            upto = times <= tau
            gap = draws[:, 0, upto] - draws[:, 1, upto]
            area = np.sum(0.5 * (gap[:, 1:] + gap[:, :-1]) * np.diff(times[upto]), axis=1)
            if tau <= base.tau:
                c = compare_arms(*arms, landmarks=(), tau=tau, names=fit.names)
                data = (f"{c.value('RMST difference'):.2f} months "
                        f"({c.value('RMST difference', 'lower'):.2f} to "
                        f"{c.value('RMST difference', 'upper'):.2f})")
            else:
                data = beyond(base.tau)
            rows.append({"figure (derived)": f"RMST difference up to {tau:g} months",
                         "pseudo data (Kaplan-Meier)": data,
                         "90% range over the curves the print allows":
                             spread(area, "{:.2f}") + " months"})
        return pd.DataFrame(rows)

    def binary(self) -> pd.DataFrame:
        """GRIM counts, exact CIs, risk differences and tests of the binary outcomes."""
        items = [a for a in self.analyses if a.endpoint in BINARY]
        table = summary.check_table(items)
        return table.drop(columns=["derived_value"])

    def continuous(self) -> pd.DataFrame:
        rows = [{"analysis": a.label, "arm": name, f"time ({a.time_unit})": m.time,
                 "mean (reported)": m.mean, "SD (reported)": m.sd}
                for a in self.analyses if a.endpoint in CONTINUOUS
                for name, arm in a.arms.items() for m in arm.values]
        return pd.DataFrame(rows)

    def key_figures(self) -> str:
        """A few rounded numbers that regression tests compare run after run."""
        lines = []
        checks = summary.check_table(self.analyses)
        lines.append("checks: " + ", ".join(f"{v} {n}" for v, n in
                                             checks.verdict.value_counts().sort_index().items()))
        for fit in self.fits:
            judged = fit.table[fit.table.within.notna()]
            lines.append(f"{fit.analysis_id}: {int(judged.within.astype(bool).sum())}/"
                         f"{len(judged)} figures within rounding, "
                         f"{len(fit.warnings)} plausibility warning(s)")
        return "\n".join(lines)

    def fit_section(self, fit: SummaryFit) -> list:
        """Heading, KM figure with band, reported-vs-reconstructed table, findings, warnings,
        unprinted figures with their ranges."""
        from IPython.display import Markdown

        a = registry.get(fit.analysis_id)
        # Findings, warnings and the model's description name the arms, which come from data.
        findings = "\n".join(f"- {md_text(m)}" for m in fit.misses) or \
            "- Every printed figure is reproduced within its printed rounding."
        warned = "".join(f"\n\n**Warning (derived):** {md_text(w)}" for w in fit.warnings)
        figure = self.fit_figure(fit)
        plots.close(figure)
        t = fit.table

        def shown(r) -> str:
            x = r.reconstructed
            if not np.isfinite(x):
                return "NR" if x == np.inf else ""
            if r.quantity.startswith("p-value"):
                return f"{x:.2g}"
            if r.quantity in ("N", "events", "events (total)"):
                return f"{x:.0f}"
            return f"{x:.2f}" if r.quantity.startswith(("hazard", "HR")) else f"{x:.1f}"

        table = t.assign(
            reconstructed=[shown(r) for r in t.itertuples()],
            # round(...) + 0.0 turns float noise like -1e-15 into 0, not "-0.000".
            difference=t.difference.map(
                lambda x: "" if not np.isfinite(x) else f"{round(x, 3) + 0.0:+.3f}"),
            tolerance=t.tolerance.map(lambda x: "" if pd.isna(x) else f"{x:g}"),
            within=t.within.map({True: "yes", False: "no"}).fillna(""),
        ).rename(columns={"reported": "reported (as printed)",
                          "reconstructed": "reconstructed (derived)"}
                 ).set_index(["quantity", "arm"])
        return [Markdown(f"### {md_text(a.endpoint)}, {md_text(a.label)}\n\n"
                         f"Source: {md_text(a.citation)}"), figure,
                table, Markdown(f"**Findings (derived).**\n\n{findings}{warned}\n\n"
                                f"Fitted model (derived): {md_text(fit.describe())}"),
                Markdown("**Figures the publication did not print (derived from the pseudo "
                         "data and the curves the print allows).**"),
                self.unprinted(fit).set_index("figure (derived)")]

    @property
    def has_time_to_event(self) -> bool:
        return any(a.endpoint in TIME_TO_EVENT for a in self.analyses)


def report_pages() -> list[tuple[str, dict[str, str]]]:
    """Every page of the report: (notebook, parameters)."""
    out: list[tuple[str, dict[str, str]]] = [("portfolio", {}), ("validation", {}),
                                             ("curve_reconstruction", {})]
    for t in registry.trials().values():
        for cohort in t.cohorts:
            out.append(("trial_report", {"trial": t.trial, "cohort": cohort or ""}))
    return out
