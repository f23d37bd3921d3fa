"""Content blocks of the report's pages, so that notebooks stay thin.

Each function returns a table (DataFrame), a figure or Markdown text. Tables keep reported
and derived figures apart: a column says which, and derived columns are named so.

Text from the data (a trial file, a curve file) reaches Markdown only through :func:`md_text`,
so that it is shown as typed: nbconvert passes HTML in Markdown through to the page, where a
name like ``<img src=x onerror=...>`` would run in every browser that opens it. Tables need no
such step (pandas escapes their HTML) and figures are images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import formatting, paths, plots, registry, summary
from .analysis import compare_arms
from .errors import InputError
from .extrapolation import MODELS, STANDARD, YEAR, Extrapolation, censor_at, extrapolate
from .extrapolation.background import Population, life_table
from .extrapolation.joint import MEASURE
from .extrapolation.joint import joint_table as _joint_rows
from .formatting import Column, Table
from .registry import BINARY, CONTINUOUS, ENDPOINT_LABELS, TIME_TO_EVENT, Analysis, Trial
from .simulate import SummaryFit, fit_summary, reconstructable

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


def analysis_name(a: Analysis) -> str:
    """How a page names an analysis: its endpoint in words, and its version's label."""
    return f"{ENDPOINT_LABELS[a.endpoint]}, {a.label}"


def side_by_side(items: list[Analysis]) -> Table:
    """Reported figures with one column per version (as printed; nothing derived)."""
    table = registry.reported_table(items)
    if table.empty:
        return Table(pd.DataFrame({"endpoint": [], "figure": []}),
                     {"endpoint": Column("Endpoint"), "figure": Column("Figure")})
    table["figure"] = table.quantity + table.arm.map(lambda x: f", {x}" if x else "")
    table["endpoint"] = table.endpoint.map(ENDPOINT_LABELS)
    order = list(dict.fromkeys(table.version))
    wide = table.pivot_table(index=["endpoint", "figure"], columns="version", values="reported",
                             aggfunc="first", sort=False)
    wide = wide.reindex(columns=order).fillna("").reset_index()
    wide.columns.name = None
    return Table(wide, {"endpoint": Column("Endpoint"), "figure": Column("Figure"),
                        **{v: Column(v) for v in order}},
                 caption="As printed, one column per version (reported)")


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


#: The verdicts in the order pages show them.
VERDICTS = (summary.CONSISTENT, summary.QUESTIONABLE, summary.INCONSISTENT, summary.UNTESTABLE)


def verdict_counts(items: list[Analysis]) -> pd.DataFrame:
    """Number of consistency checks per trial id and verdict (derived)."""
    checks = summary.check_table(items)
    checks["trial"] = checks.analysis_id.str.split("/").str[0]
    counts = checks.pivot_table(index="trial", columns="verdict", values="check",
                                aggfunc="count", fill_value=0)
    return counts.reindex(columns=list(VERDICTS), fill_value=0)


def verdict_table(items: list[Analysis]) -> Table:
    """:func:`verdict_counts` for a page: one row per trial, by name."""
    counts = verdict_counts(items).reset_index()
    counts.columns.name = None
    names = {t.trial: t.name for t in registry.trials().values()}
    counts.insert(0, "name", counts.trial.map(names).fillna(counts.trial))
    return Table(counts, {"name": Column("Trial"),
                          **{v: Column(v.capitalize(), "count") for v in VERDICTS}},
                 caption="Number of consistency checks per verdict (derived)")


def check_rows(items: list[Analysis]) -> Table:
    """Consistency checks as a page shows them: the analysis by name, the derived figure from
    its numbers, every reason in full."""
    checks = summary.check_table(items)
    names = {a.id: analysis_name(a) for a in items}
    checks.insert(0, "analysis", checks.analysis_id.map(names))
    return Table(checks, {"analysis": Column("Analysis"), "check": Column("Check"),
                          "reported": Column("Reported (as printed)"),
                          "derived": Column("Derived", "derived",
                                            fields=formatting.DERIVED_FIELDS),
                          "verdict": Column("Verdict"), "reason": Column("Reason")},
                 caption="Consistency checks (derived from the printed figures)")


def flagged_checks(items: list[Analysis]) -> Table:
    """Checks whose verdict is questionable or inconsistent (derived), with reasons."""
    rows = check_rows(items)
    keep = rows.data.verdict.isin([summary.QUESTIONABLE, summary.INCONSISTENT])
    trial = {a.id: a.trial.name for a in items}
    data = rows.data[keep].reset_index(drop=True)
    data.insert(0, "trial", data.analysis_id.map(trial))
    return Table(data, {"trial": Column("Trial"), **rows.columns},
                 caption="Questionable and inconsistent figures (derived)")


def select_analyses(trials: str = "") -> list[Analysis]:
    """Analyses of the comma-separated trial ids, or of every trial for ``""``."""
    ids = [t.strip() for t in trials.split(",") if t.strip()]
    return [a for t in ids for a in registry.analyses(t)] if ids else registry.analyses()


def portfolio_context(trials: str = "") -> Table:
    """One row per trial: identity, indication and design (reported)."""
    ids = {a.trial.trial for a in select_analyses(trials)}
    data = pd.DataFrame([{"trial": t.name, "registry": t.nct or "", "company": t.company,
                          "drug": t.drug, "comparator": t.comparator or "",
                          "indication": t.indication, "design": f"phase {t.design.phase}, "
                          f"allocation {t.design.allocation}, {t.design.blinding}",
                          "analyses": len(t.analyses)} for t in registry.trials().values()
                         if t.trial in ids],
                        columns=["trial", "registry", "company", "drug", "comparator",
                                 "indication", "design", "analyses"])
    return Table(data, {"trial": Column("Trial"), "registry": Column("Registry"),
                        "company": Column("Company"), "drug": Column("Drug"),
                        "comparator": Column("Comparator"), "indication": Column("Indication"),
                        "design": Column("Design"), "analyses": Column("Analyses", "count")},
                 caption="The trials (reported)")


def hazard_ratio_table(items: list[Analysis]) -> Table:
    """Every printed HR with its CI (reported), as the portfolio's table and download."""
    hrs = hazard_ratios(items)
    return Table(hrs, {"label": Column("Analysis"),
                       "hr": Column("HR (reported)", "interval", 2,
                                    fields=("hr", "lower", "upper")),
                       "level": Column("CI level (%)", "number", 2),
                       "source": Column("Source")},
                 caption="Printed hazard ratios with their CIs (reported)")


def portfolio_summary(items: list[Analysis]) -> str:
    """The portfolio page's summary: trials, analyses, verdicts, the flagged checks."""
    checks = summary.check_table(items)
    counts = checks.verdict.value_counts()
    trials = list(dict.fromkeys(a.trial.name for a in items))
    flagged = checks[checks.verdict.isin([summary.QUESTIONABLE, summary.INCONSISTENT])]
    per_trial = flagged.analysis_id.str.split("/").str[0].value_counts()
    names = {t.trial: t.name for t in registry.trials().values()}
    lines = [f"**Summary.** {len(trials)} trial(s), {len(items)} analyses as printed, "
             f"{len(hazard_ratios(items))} hazard ratios (reported).",
             f"- **Consistency (derived):** {len(checks)} checks: " + ", ".join(
                 f"{int(counts.get(v, 0))} {v}" for v in VERDICTS) + "."]
    if len(per_trial):
        lines.append("- **Flagged (questionable or inconsistent), by trial:** " + "; ".join(
            f"{md_text(names.get(t, t))} {n}" for t, n in per_trial.items()) +
            ". Each is listed below with its reason.")
    else:
        lines.append("- No check is questionable or inconsistent.")
    return "\n".join(lines)


def accuracy_table(accuracy: pd.DataFrame) -> Table:
    """The curve road's accuracy per method, dataset and setting (derived)."""
    return Table(accuracy, {
        "method": Column("Method"), "dataset": Column("Dataset"),
        "patients": Column("Patients", "count"), "setting": Column("Digitisation"),
        "runs": Column("Runs", "count"), "refused": Column("Refused", "count"),
        "HR true": Column("True HR", "number", 3),
        "HR error % (mean)": Column("HR error, mean (%)", "number", 2),
        "HR error % (max)": Column("HR error, max (%)", "number", 2),
        "events error % (max)": Column("Events error, max (%)", "number", 2),
        "max KM gap (max)": Column("Largest KM gap (survival)", "number", 3)},
        caption="Reconstructed against true patient data (derived); a setting whose every "
                "run was refused has no error")


def recovery_table(recovery: pd.DataFrame) -> Table:
    """The summary road's recovery of known models (derived)."""
    return Table(recovery, {
        "true shape": Column("True Weibull shape", "number", 2),
        "true HR": Column("True HR", "number", 2), "printed HR": Column("Printed HR", "number", 2),
        "fitted HR": Column("Fitted HR (Cox)", "number", 3),
        "true control median": Column("True control median (months)", "number", 1),
        "model control median": Column("Model control median (months)", "number", 1),
        "max |model - true S|, control, 0-36 months":
            Column("Largest |model − true survival|, control, 0–36 months", "number", 3),
        "figures within rounding": Column("Printed figures within rounding", "count"),
        "figures": Column("Printed figures", "count")},
        caption="Trials simulated from known models, printed and rebuilt (derived)")


def validation_summary(accuracy: pd.DataFrame, recovery: pd.DataFrame) -> str:
    """The validation page's summary: the largest errors of each method and road."""
    lines = ["**Summary.** Both reconstructions are run here on data whose truth is known "
             "(derived); accuracy on 152 real trials is measured by the benchmarks."]
    for method, rows in accuracy.groupby("method", sort=False):
        exact = rows[rows.setting.str.startswith("exact")]
        noisy = rows[~rows.setting.str.startswith("exact")]
        refused = int(rows.refused.sum())
        lines.append(
            f"- **Curve road, {md_text(method)} method:** exact corners: largest HR error "
            f"{formatting.number(exact['HR error % (max)'].max(), 1)}%, largest events error "
            f"{formatting.number(exact['events error % (max)'].max(), 1)}%; hand-digitised: "
            f"mean HR error up to {formatting.number(noisy['HR error % (mean)'].max(), 1)}%; "
            f"{refused} of {int(rows.runs.sum())} runs refused.")
    gap = (recovery["fitted HR"] - recovery["printed HR"]).abs().max()
    held = int(recovery["figures within rounding"].sum())
    lines.append(f"- **Summary road:** {held} of {int(recovery.figures.sum())} printed "
                 f"figures reproduced within rounding; largest |fitted − printed HR| "
                 f"{formatting.number(gap, 3)}.")
    return "\n".join(lines)


#: The report's extrapolations: restricted means to 10 years, and an ensemble of pseudo
#: datasets (up to 5 members, the classic number of multiple imputations, from 30 draws)
#: fitted with the seven standard models and the one-knot splines; the two- and three-knot
#: splines, a second each per dataset, are fitted to the central dataset only, to keep the
#: report's build time (benchmarks/bench_report.py).
EXTRAPOLATION_YEARS = 10
ENSEMBLE_DRAWS, ENSEMBLE_MEMBERS = 30, 5
ENSEMBLE_MODELS = (*STANDARD, "spline-hazard-1", "spline-odds-1")


def extrapolation_table(result: Extrapolation) -> Table:
    """Model selection and restricted means per arm and model (all derived)."""
    t = result.table.copy()
    t["beyond"] = 100.0 * t["beyond"]
    for col in ("aic_rank", "bic_rank"):
        t[col] = t[col].astype("float")
    unit = result.time_unit
    columns = {"arm": Column("Arm"), "label": Column("Model"),
               "n_params": Column("Parameters", "count"),
               "loglik": Column("Log-likelihood", "number", 2),
               "aic": Column("AIC", "number", 2), "delta_aic": Column("ΔAIC", "number", 2),
               "aic_rank": Column("AIC rank", "count"), "bic_rank": Column("BIC rank", "count"),
               "rmst": Column(f"RMST to {result.horizon:g} {unit} (95% CI)", "interval", 1,
                              ("rmst", "rmst_lower", "rmst_upper"))}
    if "ensemble_low" in t.columns:
        columns["ensemble"] = Column("Spread over pseudo datasets (5th to 95th percentile)",
                                     "range", 1, ("ensemble_low", "ensemble_high"))
        columns["total"] = Column("Total (Rubin's rules), 95% CI", "range", 1,
                                  ("total_lower", "total_upper"))
        members = 0 if result.members is None else result.members.member.nunique()
        columns["aic_ranks"] = Column("AIC rank over pseudo datasets", "range", 0,
                                      ("aic_rank_low", "aic_rank_high"))
        columns["aic_best_members"] = Column(f"AIC-best in (of {members} datasets)", "count")
    columns["beyond"] = Column("Share after follow-up", "percent", 0)
    columns["mean"] = Column(f"Mean, unrestricted ({unit})", "finite", 1)
    t["note_ref"] = _note_refs(t.note)
    columns["note_ref"] = Column("Note")
    return Table(t, columns, caption=f"Parametric models per arm, ranked by AIC and BIC; "
                 f"restricted mean survival to {result.horizon:g} {unit} and the mean over an "
                 "unlimited time (derived)", name="extrapolation")


def _note_refs(notes: pd.Series) -> list[str]:
    """``note 1``, ``note 2``, ... for each non-empty note, in order (empty otherwise)."""
    refs, k = [], 0
    for note in notes.fillna(""):
        k += bool(note)
        refs.append(f"note {k}" if note else "")
    return refs


def extrapolation_notes(result: Extrapolation) -> str:
    """The notes of the extrapolation table as a numbered list (each model's fit problem,
    a hazard that jumps, a flat likelihood), and what "not finite" means (derived)."""
    t = result.table
    rows = t[t.note.fillna("") != ""]
    lines = [f"{k}. {md_text(r.arm)}, {md_text(r.label)}: {md_text(r.note)}"
             for k, r in enumerate(rows.itertuples(), start=1)]
    text = "**Notes to the table (derived).**\n\n" + "\n".join(lines) if lines else ""
    if np.isinf(t["mean"]).any():
        text += ("\n\n" if text else "") + (
            "_Mean, unrestricted: \"not finite\" where the model's curve levels off (a "
            "plateau, a cured fraction) or falls too slowly for a mean over an unlimited time "
            "to exist; the restricted mean is the figure to use there._")
    return text


def landmark_table(result: Extrapolation) -> Table:
    """Survival at 1, 2, 5 and 10 years per arm and model, with 95% CIs (derived)."""
    lm = result.landmarks
    wide = result.table[["arm", "model", "label"]].copy()
    columns = {"arm": Column("Arm"), "label": Column("Model")}
    for k, when in enumerate(dict.fromkeys(lm.time)):
        rows = lm[lm.time == when].set_index(["arm", "model"])
        key = list(zip(wide.arm, wide.model, strict=True))
        for col in ("survival", "lower", "upper"):
            wide[f"{col}_{k}"] = 100.0 * rows.loc[key, col].to_numpy()
        years = when / YEAR[result.time_unit]
        columns[f"s{k}"] = Column(f"{years:g}-year survival, % (95% CI)", "interval", 1,
                                  (f"survival_{k}", f"lower_{k}", f"upper_{k}"))
    return Table(wide, columns, caption="Survival at landmarks from each model, 95% CI "
                 "(delta method, log(-log) scale; derived)", name="landmarks")


#: What kind of treatment effect each measure of a joint model is.
_EFFECT_KIND = {measure: kind for kind, measure in MEASURE.items()}


def joint_table(result: Extrapolation) -> Table:
    """The joint models of two arms: each family with a treatment effect on a shared
    shape, its effect with a 95% CI, and the likelihood-ratio test against fitting each arm
    alone (all derived)."""
    t = _joint_rows(result.joint)
    t["kind"] = t.effect.map(_EFFECT_KIND)
    t["beta"] = [f.effect.beta for f in result.joint]
    t["se"] = [f.effect.se for f in result.joint]
    t["note_ref"] = _note_refs(t.note)
    first = result.joint[0]
    columns = {"model": Column("Model"), "kind": Column("Effect (PH, AFT or PO)"),
               "effect": Column("Measure"),
               "ratio": Column(f"Ratio, {first.experimental} vs {first.control} (95% CI)",
                               "interval", 2, ("ratio", "lower", "upper")),
               "beta": Column("Coefficient β (flexsurv scale)", "number", 3),
               "se": Column("SE of β", "number", 3),
               "aic_joint": Column("AIC, joint", "number", 1),
               "aic_separate": Column("AIC, each arm alone", "number", 1),
               "lr_statistic": Column("LR χ²", "number", 2),
               "lr_df": Column("LR df", "count"),
               "lr_p": Column("LR p (shared shape)", "p"),
               "note_ref": Column("Note")}
    return Table(t, columns, caption="Both arms in one model with a treatment effect "
                 "(PH: hazard ratio; AFT: time ratio, above 1 longer times; PO: odds ratio "
                 "of failure), against each arm fitted alone with the same family: a small "
                 "likelihood-ratio p says the arms do not share a shape; the exponential has "
                 "no shape to share, and no test (derived)",
                 name="joint-models")


def joint_notes(result: Extrapolation) -> str:
    """The joint table's notes as a numbered list, or empty."""
    lines = [f"{k}. {md_text(f.label)}: {md_text(f.note)}" for k, f in
             enumerate((f for f in result.joint if f.note), start=1)]
    return "**Notes to the table (derived).**\n\n" + "\n".join(lines) if lines else ""


def ph_statement(result: Extrapolation) -> str:
    """The Grambsch-Therneau test of proportional hazards in words (derived)."""
    test, first = result.ph_test, result.joint[0] if result.joint else None
    arms = (f" ({md_text(first.experimental)} against {md_text(first.control)})"
            if first else "")
    verdict = ("the hazard ratio changes over time: a single hazard ratio, and a "
               "proportional-hazards joint model, misdescribe these data" if test.p < 0.05
               else "no evidence that the hazard ratio changes over time (with few events "
               "the test has little power, so this does not show that it is constant)")
    return (f"**Proportional hazards (derived).** Grambsch-Therneau test on the scaled "
            f"Schoenfeld residuals of the Cox model{arms}, time transformed by "
            f"{plots.TRANSFORMS.get(test.transform, test.transform)}: χ² = "
            f"{formatting.number(test.statistic, 2)} on {test.df} df, p = "
            f"{formatting.p_value(test.p)}; {verdict}. Cox log hazard ratio "
            f"{formatting.number(test.beta, 3)} (hazard ratio "
            f"{formatting.number(float(np.exp(test.beta)), 2)}).")


#: The life table of the general-population cap on the report's extrapolations.
LIFE_TABLE = "us-2014"


def background(trial: Trial, time_unit: str) -> tuple[Population, str] | None:
    """The general population matching the trial's patients (its record's ``baseline``) and
    a sentence citing it, or None when the record gives no age and sex."""
    b = trial.baseline
    if b is None:
        return None
    table = life_table(LIFE_TABLE)
    text = (f"median age {formatting.number(b.median_age, 1)} years and "
            f"{formatting.percent(100 * b.male_share, 0)} men at randomisation (reported: "
            f"{md_text(trial.sources[b.source])}); life table {md_text(table.name)}, "
            f"{md_text(table.source)}")
    return Population(table, b.median_age, b.male_share, time_unit), text


#: The stored output of benchmarks/bench_extrapolation_corpus.py --summary (the methods page
#: quotes it; rerun the benchmark to refresh it).
EXTRAPOLATION_BENCHMARK = paths.ROOT / "benchmarks" / "results" / "extrapolation_corpus.csv"


def extrapolation_benchmark(path: Path = EXTRAPOLATION_BENCHMARK) -> tuple[Table, str] | None:
    """How far each model's extrapolation fell from what happened, on the corpus: the
    benchmark's stored table and a sentence on where it came from (None when absent)."""
    if not path.exists():
        return None
    t = pd.read_csv(path)
    shown = t.assign(**{c: 100.0 * t[c] for c in ("median_abs_error", "p90_abs_error",
                                                  "median_error", "median_abs_error_after_cut",
                                                  "p90_abs_error_after_cut", "share_best")})
    rules = {"AIC-best": "The model AIC prefers", "BIC-best": "The model BIC prefers",
             "oracle": "The best model of each arm (known only afterwards)"}
    shown["label"] = [MODELS[m].label if m in MODELS else rules.get(m, m) for m in shown.model]
    table = Table(shown, {
        "label": Column("Model, or how it is chosen"), "arms": Column("Arms", "count"),
        "median_abs_error": Column("Median |error| of RMST, %", "number", 1),
        "p90_abs_error": Column("90th percentile |error|, %", "number", 1),
        "median_error": Column("Median error (bias), %", "signed", 1),
        "median_abs_error_after_cut": Column("Median |error| after the cut, %", "number", 1),
        "p90_abs_error_after_cut": Column("90th percentile after the cut, %", "number", 1),
        "aic_picks": Column("AIC's choice (arms)", "count"),
        "best_extrapolator": Column("Best extrapolator (arms)", "count"),
        "share_best": Column("Picks the best extrapolator, %", "number", 1)},
        caption="Fitted on the first half of follow-up, restricted mean to the full "
                "follow-up against the Kaplan-Meier one (derived)", name="extrapolation-corpus")
    first = t.iloc[0]
    aic = t[t.model == "AIC-best"].iloc[0]
    text = (f"Measured by `{first.script}` on {int(first.datasets)} real trials of the kmdata "
            f"corpus (commit {first.commit}, {first.date}); stored, not recomputed when the "
            f"report is built. The model AIC prefers is the best extrapolator in "
            f"{100 * aic.share_best:.1f}% of {int(aic.arms)} arms, against 7.7% (1 in 13) by "
            f"chance; its median error is {100 * aic.median_abs_error:.1f}% and its 90th "
            f"percentile {100 * aic.p90_abs_error:.1f}%, while the best model of each arm "
            "(known only afterwards) errs by "
            f"{100 * t[t.model == 'oracle'].iloc[0].median_abs_error:.1f}%. Fit to the observed "
            "data is a weak guide to what follows it.")
    return table, text


def _aic_spread(table: pd.DataFrame, arm: str, model: str) -> str:
    """How often the central dataset's AIC-best model led over the pseudo datasets."""
    if "aic_best_members" not in table.columns:
        return ""
    row = table[(table.arm == arm) & (table.model == model)].iloc[0]
    if pd.isna(row.aic_best_members):
        return ""
    return (f" (best in {int(row.aic_best_members)} of {int(row.ensemble_members)} pseudo "
            "datasets)")


def extrapolation_section(result: Extrapolation, name: str, members: int | None = None,
                          end: float | None = None,
                          population: tuple[Population, str] | None = None) -> list:
    """Heading, what AIC/BIC prefer and what that does not settle, the figures and tables
    of an extrapolation (for any page): the models with the best one's 95% band (and, given
    ``population``, its curve held to the general population's hazard), restricted and
    unrestricted means with their notes, landmarks, for two arms the joint models and the
    test of proportional hazards, and the diagnostics. ``members`` and ``end``: for patient
    data rebuilt from a summary, the ensemble's size and where the data were censored;
    ``population``: from :func:`background`."""
    from IPython.display import Markdown

    e = md_text
    unit = result.time_unit
    spread = ""
    if end is not None:
        spread += (f" The pseudo patients are censored at {end:.1f} {unit}, the data cut-off "
                   "of the fitted censoring model: beyond it pseudo data would follow the "
                   "reconstruction's own model, not the print, and the extrapolation would "
                   "only return it.")
    if members is not None and members > 1:
        spread += (f" The same models were fitted to {members} further pseudo datasets that "
                   "reproduce each arm's printed figures: their spread (with the central "
                   "dataset's) is what the print leaves open about the patients, beside the "
                   "within-dataset CI; Rubin's rules combine the two. The ensemble is fitted "
                   "with the seven standard models and the one-knot splines; the two- and "
                   "three-knot splines have no spread here (fitted to the central dataset "
                   "only, for the report's build time).")
    elif members is not None:
        spread += (f" Only {members} further pseudo dataset reproduced each arm's printed "
                   "figures: no spread over datasets is given.")
    if members is not None:
        spread += ("\n\n**The fit statistics reflect the rebuild, not the trial.** These "
                   "patients were rebuilt from the printed summary: between and beyond the "
                   "printed figures their curves follow the reconstruction's own model "
                   "(piecewise-constant hazards with a prior that prefers Weibull-like, "
                   "proportional curves). AIC and BIC therefore partly measure how close each "
                   "model comes to that prior, and their order is no evidence about the "
                   "trial's patients; read the spread of ranks and restricted means over the "
                   "pseudo datasets, not one AIC order. A digitised Kaplan-Meier curve (the "
                   "curve road) carries the trial's own shape.")
    warned = "".join(f"\n\n**Warning (derived):** {e(w)}" for w in result.warnings)
    figures = [plots.extrapolation_plot(result, title=f"{name}: fitted and extrapolated "
                                        "(derived)",
                                        population=population[0] if population else None),
               plots.hazard_plot(result), plots.log_cumulative_hazard_plot(result)]
    plots.close(figures)
    notes = extrapolation_notes(result)
    return [Markdown(f"### Extrapolation beyond follow-up: {e(name)} (derived)\n\n"
                     f"Thirteen parametric models (NICE DSU TSD 14 and TSD 21) fitted to each "
                     f"arm by maximum likelihood; restricted mean survival time (RMST) to "
                     f"{result.horizon:g} {unit} and landmark survival with 95% CIs by the "
                     f"delta method (log scale for the RMST, log(-log) for survival)."
                     f"{spread}\n\n**Model choice.** {e(result.statement())}"
                     f"{warned}"),
            Markdown(_figure_text(population)), figures[0], extrapolation_table(result),
            *([Markdown(notes)] if notes else []), landmark_table(result),
            *two_arm_section(result),
            Markdown("Diagnostics: the smoothed hazard of the data against each model's, and "
                     "log cumulative hazard against log time (parallel lines: proportional "
                     "hazards; straight lines: a Weibull fits)."),
            figures[1], figures[2]]


def _figure_text(population: tuple[Population, str] | None) -> str:
    """What the extrapolation figure shows beyond the curves: the band, and the cap."""
    text = ("In the figure, the model AIC prefers in each arm is drawn thick with its 95% "
            "band from the uncertainty of its parameters (delta method on log(-log) "
            "survival); the band leaves out the uncertainty of the choice of model, which the "
            "spread of the other curves shows.")
    if population is None:
        return text + (" No general-population cap: no median age and share of men are "
                       "given (a trial record's `baseline`).")
    return text + (" The dotted curve (derived) is the same model with its hazard held at no "
                   "less than that of the general population of the patients' age and sex "
                   f"(NICE DSU TSD 21): {population[1]}.")


def two_arm_section(result: Extrapolation) -> list:
    """For two arms: the joint models' table, and the test of proportional hazards with
    its residual plot (derived); nothing for one arm."""
    from IPython.display import Markdown

    if result.ph_test is None or not result.joint:
        return []
    first = result.joint[0]
    figure = plots.schoenfeld_plot(result.ph_test, time_unit=result.time_unit,
                                   experimental=first.experimental, control=first.control)
    plots.close(figure)
    notes = joint_notes(result)
    return [Markdown("#### Both arms in one model (derived)\n\n"
                     "NICE DSU TSD 14 asks, before each arm is fitted alone, whether one model "
                     "with a treatment effect on a shared shape describes both arms. Each "
                     "family below is fitted to both arms with the effect on its location "
                     "parameter (R flexsurv's `flexsurvreg(... ~ arm)`), and the same family to "
                     "each arm alone; the likelihood-ratio test compares the two (the joint "
                     "model is the separate fits with the shape parameters set equal).\n\n"
                     + ph_statement(result)),
            figure, joint_table(result), *([Markdown(notes)] if notes else [])]


def _in_sentence(text: str) -> str:
    """Text that starts a field, written inside a sentence: its first letter in lower case,
    unless the first word is an acronym or a name in capitals (``VEGFR``, ``RCC``).

    >>> _in_sentence("Advanced RCC after prior VEGFR-targeted therapy")
    'advanced RCC after prior VEGFR-targeted therapy'
    >>> _in_sentence("GEP-NETs")
    'GEP-NETs'
    """
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


@dataclass(frozen=True)
class TrialPage:
    """Everything the page of one trial (and cohort) shows.

    Parameters
    ----------
    trial_id
        The registry id of the trial, or the path of a trial file anywhere on disk
        (``docs/trial-yaml.md``): a user's own trial gets the same page.
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
    _trial: Trial | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # "" and None mean the same: papermill parameters are strings, Python callers pass None.
        object.__setattr__(self, "cohort", self.cohort or None)
        trial = registry.find_trial(self.trial_id)
        object.__setattr__(self, "_trial", trial)
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
        assert self._trial is not None  # set on construction
        return self._trial

    @property
    def has_time_to_event(self) -> bool:
        """Whether the page reports a time-to-event endpoint (its survival sections)."""
        return any(a.endpoint in TIME_TO_EVENT for a in self.analyses)

    @property
    def has_binary(self) -> bool:
        """Whether the page reports a binary endpoint (response, control, adverse events)."""
        return any(a.endpoint in BINARY for a in self.analyses)

    def analysis(self, analysis_id: str) -> Analysis:
        """One of this page's analyses by id (the trial may be a file outside the registry)."""
        return next(a for a in self.trial.analyses if a.id == analysis_id)

    @property
    def analyses(self) -> list[Analysis]:
        """The trial's analyses of this cohort, plus those reported for all cohorts."""
        return [a for a in self.trial.analyses if a.cohort in (self.cohort, None)]

    @property
    def name(self) -> str:
        """The trial and cohort in words ("CABINET, pancreatic NET cohort")."""
        t = self.trial
        return t.name + (f", {t.design.cohorts[self.cohort]} cohort" if self.cohort else "")

    def title(self) -> str:
        t, e = self.trial, md_text
        comparator = f" vs {e(t.comparator)}" if t.comparator else ""
        cutoffs = sorted({str(a.data_cutoff) for a in self.analyses if a.data_cutoff})
        data = f"Data cut-off(s): {e(', '.join(cutoffs))}." if cutoffs else \
            "Data cut-offs: as in each source."
        d = t.design
        if d.enrolment_start or d.enrolment_end:
            start = e(str(d.enrolment_start)) if d.enrolment_start else "a date not printed"
            end = (f" to {e(str(d.enrolment_end))}" if d.enrolment_end
                   else " (last randomisation not printed)")
            data += f" Randomised from {start}{end} ({e(d.calendar_source)}, reported)."
        return (f"# {e(self.name)}\n\n**{e(t.drug)}{comparator}** in "
                f"{e(_in_sentence(t.indication))}. {e(t.nct or '')} · {e(t.company)} · phase "
                f"{e(t.design.phase)}, allocation {e(t.design.allocation)}, "
                f"{e(t.design.blinding)}.\n\n{data}\n\n{e(t.context)}")

    # ------------------------------------------------------------------ summary first

    @cached_property
    def _checks(self) -> pd.DataFrame:
        return summary.check_table(self.analyses)

    def not_rebuilt(self) -> list[tuple[Analysis, str]]:
        """Time-to-event analyses without a rebuild, each with the reason (what is missing)."""
        from .simulate.targets import targets

        rebuilt = {f.analysis_id for f in self.fits}
        out = []
        for a in self.analyses:
            if a.endpoint not in TIME_TO_EVENT or a.id in rebuilt:
                continue
            try:
                why = "no hazard ratio is printed" if targets(a).hr is None else ""
            except InputError as exc:
                why = exc.message
            out.append((a, why or "the printed figures do not allow a rebuild"))
        return out

    def summary(self) -> str:
        """The page's summary, in Markdown: what was reported, what is consistent, the key
        derived figures with their ranges, and what the rebuilt data add."""
        e = md_text
        items = self.analyses
        versions = list(dict.fromkeys(a.label for a in items))
        endpoints = list(dict.fromkeys(ENDPOINT_LABELS[a.endpoint] for a in items))
        lines = [f"**Summary.** {len(items)} analys{'i' if len(items) == 1 else 'e'}s of "
                 f"{e(self.name)} as printed in "
                 f"{len(versions)} version(s) ({e('; '.join(versions))}); endpoints: "
                 f"{e(', '.join(endpoints))}."]
        checks = self._checks
        counts = checks.verdict.value_counts()
        if len(checks):
            lines.append(f"- **Consistency (derived):** {len(checks)} checks: " + ", ".join(
                f"{int(counts.get(v, 0))} {v}" for v in VERDICTS) + ".")
        else:
            lines.append("- **Consistency (derived):** no printed figure allows a check (no "
                         "hazard ratio with a CI, no percentage with its denominator).")
        names = {a.id: analysis_name(a) for a in items}
        for verdict in (summary.INCONSISTENT, summary.QUESTIONABLE):
            for r in checks[checks.verdict == verdict].itertuples():
                lines.append(f"    - {verdict.capitalize()}: {e(names[r.analysis_id])}: "
                             f"{e(r.check)}, reported {e(r.reported)}, derived "
                             f"{e(formatting.derived(r))}: {e(r.reason)}.")
        hrs = [a for a in items if a.hazard_ratio is not None]
        if hrs:
            lines.append("- **Hazard ratios (reported) and what they imply (derived):**")
        for a in hrs:
            own = checks[checks.analysis_id == a.id].set_index("check")
            parts = [f"HR {e(a.hazard_ratio.printed.text)}"]
            for label, check in (("implied p", "p-value from HR and CI"),
                                 ("implied events", "events implied by CI (Schoenfeld)"),
                                 ("Weibull shape", "Weibull shape reconciling medians and HR")):
                if check in own.index and np.isfinite(own.loc[check, "value"]):
                    parts.append(f"{label} {e(formatting.derived(own.loc[check]))}")
                elif check in own.index and own.loc[check, "kind"] == "shape":
                    # A shape without meaning is not shown as a number; the reason is.
                    parts.append(f"no meaningful {label} ({e(own.loc[check, 'reason'])})")
            lines.append(f"    - {e(analysis_name(a))}: " + "; ".join(parts) + ".")
        if self.fits:
            whole = sum(not fit.misses for fit in self.fits)
            warned = sum(bool(fit.warnings) for fit in self.fits)
            n = len(self.fits)
            lines.append(f"- **Rebuilt patient data (derived):** {n} "
                         f"analys{'i' if n == 1 else 'e'}s rebuilt from the print; {whole} "
                         f"reproduce{'s' if whole == 1 else ''} every printed figure "
                         "(printing the same digits)"
                         + (f"; {warned} carr{'ies' if warned == 1 else 'y'} a plausibility "
                            "warning" if warned else "")
                         + ". The figures the papers did not print are given below with the "
                         "range each print allows.")
        for fit in self.fits:
            if not fit.misses:
                continue
            judged = fit.table[fit.table.within.notna()]
            rows = judged[~judged.within.astype(bool)]
            missed = ", ".join(f"{r.quantity}{' (' + r.arm + ')' if r.arm else ''}"
                               for r in rows.itertuples())
            printed = sum(m.endswith("(a property of the printed numbers)") for m in fit.misses)
            lines.append(f"    - {e(analysis_name(self.analysis(fit.analysis_id)))}: not "
                         f"reproduced: {e(missed)}; the findings below say why ({printed} about "
                         f"the print itself, {len(fit.misses) - printed} limits of the "
                         "reconstruction).")
        missing = self.not_rebuilt()
        if missing:
            lines.append("- **Not rebuilt:** " + "; ".join(
                f"{e(analysis_name(a))} ({e(why)})" for a, why in missing) + ".")
        for analysis_id, (result, _, _) in self._extrapolations.items():
            name = analysis_name(self.analysis(analysis_id))
            best = result.preferred("aic")
            t = result.table[result.table.converged]
            parts = [f"{e(arm)}: AIC on the rebuilt data prefers "
                     f"{e(t[(t.arm == arm) & (t.model == m)].label.iloc[0])}"
                     f"{_aic_spread(t, arm, m)}, RMST {rows.rmst.min():.1f} to "
                     f"{rows.rmst.max():.1f} {result.time_unit} across models"
                     for arm, m in best.items() for rows in [t[t.arm == arm]]]
            lines.append(f"- **Extrapolation to {result.horizon:g} {result.time_unit} "
                         f"(derived), {e(name)}:** " + "; ".join(parts) + ". The data are "
                         "rebuilt from the summary, so the AIC order reflects the rebuild's "
                         "assumptions, and fit alone does not choose the model (see the "
                         "section).")
        return "\n".join(lines)

    # ------------------------------------------------------------------ sections

    def reported(self) -> Table:
        return side_by_side(self.analyses)

    def sources(self) -> str:
        return sources_markdown(self.analyses)

    def checks(self) -> Table:
        return check_rows(self.analyses)

    def differences(self) -> Table:
        # Each side is labelled by its own analysis: a version key names a source, shared by
        # every result it reported.
        d = summary.version_differences(self.analyses)
        d = d.assign(endpoint=d.endpoint.map(ENDPOINT_LABELS))
        columns = {"endpoint": Column("Endpoint")}
        if (d.population != "").any():
            columns["population"] = Column("Population")
        columns |= {"quantity": Column("Figure"), "label_a": Column("Version"),
                    "value_a": Column("Printed"), "label_b": Column("Other version"),
                    "value_b": Column("Printed in the other version")}
        return Table(d, columns,
                     caption="Printed figures that differ between versions (reported)")

    @cached_property
    def fits(self) -> list[SummaryFit]:
        """Summary reconstructions of every time-to-event analysis that allows one."""
        return [fit_summary(a) for a in reconstructable(self.analyses)]

    @cached_property
    def _extrapolations(self) -> dict[str, tuple[Extrapolation, int, float]]:
        wanted = set(self.trial.extrapolate)
        out = {}
        for fit in self.fits:
            if fit.analysis_id not in wanted:
                continue
            a = self.analysis(fit.analysis_id)
            end = fit.supported_end
            members = [censor_at(m, end) for m in
                       fit.ensemble(ENSEMBLE_DRAWS, keep="arms", limit=ENSEMBLE_MEMBERS)]
            result = extrapolate(censor_at(fit.ipd, end),
                                 horizon=EXTRAPOLATION_YEARS * YEAR[a.time_unit],
                                 time_unit=a.time_unit,
                                 ensemble=members if len(members) > 1 else (),
                                 ensemble_models=ENSEMBLE_MODELS)
            out[fit.analysis_id] = (result, len(members), end)
        return out

    def extrapolations(self) -> list:
        """An extrapolation section per analysis the trial names for it (see
        :attr:`Trial.extrapolate`), or a sentence saying why there is none."""
        from IPython.display import Markdown

        out: list = []
        for analysis_id in self.trial.extrapolate:
            a = self.analysis(analysis_id)
            if a.cohort not in (self.cohort, None):
                continue
            if analysis_id not in self._extrapolations:
                out.append(Markdown(f"_Not extrapolated: {md_text(analysis_name(a))} has no "
                                    "rebuilt patient data._"))
                continue
            result, members, end = self._extrapolations[analysis_id]
            out += extrapolation_section(result, analysis_name(a), members, end,
                                         background(self.trial, a.time_unit))
        return out

    def fit_figure(self, fit: SummaryFit):
        """KM of the pseudo data with the 90% band of what the print allows, the printed
        medians and HR beside the reconstructed ones, and any plausibility warning."""
        a = self.analysis(fit.analysis_id)
        arms = {name: fit.ipd[fit.ipd.arm == name] for name in fit.names}
        medians = {n: a.arms[n].median.value for n in fit.names
                   if a.arms[n].median is not None and a.arms[n].median.reached}
        hr = a.hazard_ratio.printed
        comp = compare_arms(*arms.values(), names=tuple(arms))
        text = (f"Reported HR {hr.text} ({a.hazard_ratio.level:g}% CI)\n"
                "Reconstructed HR " + formatting.estimate(
                    comp.value("hazard ratio"), comp.value("hazard ratio", "lower"),
                    comp.value("hazard ratio", "upper")) + ", 95% CI (derived)")
        grid = np.linspace(0.0, fit.follow_up_end, 121)
        band = fit.survival_band(grid, level=0.90)
        bands = {name: band[band.arm == name] for name in fit.names}
        return plots.km_plot(arms, title=f"{ENDPOINT_LABELS[a.endpoint]}: {a.label} "
                             "(pseudo patient data, derived)", reported_medians=medians,
                             reported_hr=text, endpoint=a.endpoint, bands=bands,
                             band_label="90% band of curves the print allows",
                             warnings=fit.warnings, time_unit=a.time_unit,
                             at_risk_label="At risk, pseudo data (derived)")

    def fit_table(self, fit: SummaryFit) -> Table:
        """Reported against reconstructed, one row per printed figure."""
        def kind(q: str) -> str:
            if q in ("N", "events", "events (total)"):
                return "count"
            if q.startswith("p-value"):
                return "p"
            if q.startswith(("hazard", "HR")):
                return "ratio"
            return "percent" if "rate" in q else "time"

        t = fit.table.assign(kind=[kind(q) for q in fit.table.quantity],
                             difference=fit.table.difference.where(
                                 np.isfinite(fit.table.difference)))
        columns = {"quantity": Column("Figure"), "arm": Column("Arm"),
                   "reported": Column("Reported (as printed)"),
                   "reconstructed": Column("Reconstructed (derived)", "figure",
                                           fields=("reconstructed", "kind")),
                   "difference": Column("Difference", "signed", 3),
                   "tolerance": Column("Rounding tolerance", "number", 3),
                   "within": Column("Within rounding", "yesno")}
        columns["calibrated"] = Column("Fitted to it", "yesno")
        return Table(t, columns, caption="Printed figures against the re-analysis of the "
                     "pseudo patient data")

    def unprinted(self, fit: SummaryFit, landmark: float = 12.0,
                  horizons: tuple[float, ...] = (12.0, 24.0)) -> Table:
        """Figures the publication did not print (all derived), each with its range.

        ``pseudo data``: the Kaplan-Meier re-analysis of the central pseudo patients,
        estimable only within their follow-up. ``90% range``: the 5th to 95th percentile of
        the same figure over the model curves the print allows (the band's draws); beyond
        the follow-up it is the model's extrapolation alone. Times are in the analysis's unit.
        """
        key = (fit.analysis_id, landmark, horizons)
        if key not in self._unprinted:  # the page shows it and its downloads write it
            self._unprinted[key] = self._unprinted_table(fit, landmark, horizons)
        return self._unprinted[key]

    @cached_property
    def _unprinted(self) -> dict[tuple, Table]:
        return {}

    def _unprinted_table(self, fit: SummaryFit, landmark: float,
                         horizons: tuple[float, ...]) -> Table:
        unit = self.analysis(fit.analysis_id).time_unit
        one = unit.removesuffix("s")
        arms = [fit.ipd[fit.ipd.arm == n] for n in fit.names]
        base = compare_arms(*arms, landmarks=(landmark,), names=fit.names)
        rows = []
        times = np.linspace(0.0, max(horizons + (landmark,)), 481)
        draws = fit.survival_draws(times)
        nan = float("nan")

        def row(figure: str, arm: str, value: float = nan, lower: float = nan,
                upper: float = nan, spread: np.ndarray | None = None, note: str = "") -> None:
            lo, hi = np.quantile(spread, [0.05, 0.95]) if spread is not None else (nan, nan)
            rows.append({"figure": figure, "arm": arm, "value": value, "lower": lower,
                         "upper": upper, "range_low": lo, "range_high": hi, "note": note})

        def beyond(end: float) -> str:
            return f"pseudo follow-up ends at {end:.1f} {unit}"

        k = int(np.searchsorted(times, landmark))
        for a, (r, ipd) in enumerate(zip(base.landmarks.itertuples(), arms, strict=True)):
            inside = landmark <= ipd.time.max()
            row(f"{landmark:g}-{one} rate (%)", r.arm, *(
                (100 * r.survival, 100 * r.lower, 100 * r.upper) if inside else (nan,) * 3),
                spread=100 * draws[:, a, k], note="" if inside else beyond(ipd.time.max()))
        for tau in horizons:
            upto = times <= tau
            gap = draws[:, 0, upto] - draws[:, 1, upto]
            area = np.sum(0.5 * (gap[:, 1:] + gap[:, :-1]) * np.diff(times[upto]), axis=1)
            label = f"RMST difference up to {tau:g} {unit} ({unit})"
            if tau <= base.tau:
                c = compare_arms(*arms, landmarks=(), tau=tau, names=fit.names)
                row(label, "", c.value("RMST difference"), c.value("RMST difference", "lower"),
                    c.value("RMST difference", "upper"), spread=area)
            else:
                row(label, "", spread=area, note=beyond(base.tau))
        data = pd.DataFrame(rows)
        return Table(data, {"figure": Column("Figure (derived)"), "arm": Column("Arm"),
                            "value": Column("Pseudo data, Kaplan-Meier (95% CI)", "interval",
                                            1, fields=("value", "lower", "upper")),
                            "range": Column("90% range over the curves the print allows",
                                            "range", 1, fields=("range_low", "range_high")),
                            "note": Column("Note")},
                     caption="Figures the publication did not print (derived)")

    def binary(self) -> Table:
        """GRIM counts, exact CIs, risk differences and tests of the binary outcomes."""
        return check_rows([a for a in self.analyses if a.endpoint in BINARY])

    def continuous(self) -> Table:
        rows = [{"analysis": analysis_name(a), "arm": name, "time": m.time,
                 "unit": a.time_unit, "mean": m.mean, "sd": m.sd}
                for a in self.analyses if a.endpoint in CONTINUOUS
                for name, arm in a.arms.items() for m in arm.values]
        data = pd.DataFrame(rows, columns=["analysis", "arm", "time", "unit", "mean", "sd"])
        return Table(data, {"analysis": Column("Analysis"), "arm": Column("Arm"),
                            "time": Column("Time", "number", 0), "unit": Column("Unit"),
                            "mean": Column("Mean (reported)", "text"),
                            "sd": Column("SD (reported)", "text")},
                     caption="Continuous outcomes (reported)")

    def key_figures(self) -> str:
        """A few rounded numbers that regression tests compare run after run."""
        lines = []
        checks = self._checks
        lines.append("checks: " + ", ".join(f"{v} {n}" for v, n in
                                             checks.verdict.value_counts().sort_index().items()))
        for fit in self.fits:
            judged = fit.table[fit.table.within.notna()]
            lines.append(f"{fit.analysis_id}: {int(judged.within.astype(bool).sum())}/"
                         f"{len(judged)} figures within rounding, "
                         f"{len(fit.warnings)} plausibility warning(s)")
        for analysis_id, (result, _, _) in self._extrapolations.items():
            lines.append(f"{analysis_id} extrapolation: AIC-best " + ", ".join(
                f"{arm} {m}" for arm, m in result.preferred("aic").items()))
        return "\n".join(lines)

    def fit_section(self, fit: SummaryFit) -> list:
        """Heading, KM figure with band, reported-vs-reconstructed table, findings, warnings,
        unprinted figures with their ranges."""
        from IPython.display import Markdown

        a = self.analysis(fit.analysis_id)
        # Findings, warnings and the model's description name the arms, which come from data.
        findings = "\n".join(f"- {md_text(m)}" for m in fit.misses) or \
            "- Every printed figure is reproduced within its printed rounding."
        warned = "".join(f"\n\n**Warning (derived):** {md_text(w)}" for w in fit.warnings)
        figure = self.fit_figure(fit)
        plots.close(figure)
        return [Markdown(f"### {md_text(analysis_name(a))}\n\nSource: {md_text(a.citation)}"),
                figure, self.fit_table(fit),
                Markdown(f"**Findings (derived).**\n\n{findings}{warned}\n\n"
                         f"Fitted model (derived): {md_text(fit.describe())}"),
                self.unprinted(fit)]

    def downloads(self) -> dict[str, pd.DataFrame]:
        """The page's tables and pseudo patient data, as numbers, for CSV and Excel."""
        out = {"reported": self.reported().tidy(), "checks": self.checks().tidy()}
        for fit in self.fits:
            short = fit.analysis_id.split("/", 1)[1].replace("/", "-")
            out[f"ipd-{short}"] = fit.ipd
            out[f"fit-{short}"] = self.fit_table(fit).tidy()
            out[f"unprinted-{short}"] = self.unprinted(fit).tidy()
            if fit.analysis_id in self._extrapolations:
                result, _, _ = self._extrapolations[fit.analysis_id]
                out[f"extrapolation-{short}"] = result.table
                out[f"landmarks-{short}"] = result.landmarks
                if result.members is not None:
                    out[f"ensemble-{short}"] = result.members
        return out


def report_pages() -> list[tuple[str, dict[str, str]]]:
    """Every page of the report: (notebook, parameters)."""
    out: list[tuple[str, dict[str, str]]] = [("portfolio", {}), ("validation", {}),
                                             ("curve_reconstruction", {})]
    for t in registry.trials().values():
        for cohort in t.cohorts:
            out.append(("trial_report", {"trial": t.trial, "cohort": cohort or ""}))
    return out
