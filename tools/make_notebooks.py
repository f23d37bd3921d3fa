"""Write the report's notebooks (thin: parameters, narrative and calls into trialrecon).

The notebooks are committed with their outputs (nbval compares them); this script is their
source. ``make notebooks`` writes and executes them, and strips the execution timestamps
that would otherwise change the files on every run.
"""

from pathlib import Path

import nbformat as nbf
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}


def md(text):
    return nbf.v4.new_markdown_cell(text.strip())


def code(text, *tags):
    cell = nbf.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def write(name, cells):
    nb = nbf.v4.new_notebook(cells=cells, metadata=KERNEL)
    for i, cell in enumerate(nb.cells):  # stable ids: the files change only with content
        cell.id = f"{name}-{i}"
    NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
                   ).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbf.write(nb, HERE / f"{name}.ipynb")


SETUP = """
import warnings
warnings.filterwarnings("ignore")
import pandas as pd
from IPython.display import Markdown, display
pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 160)
"""

write("trial_report", [
    md("""
*trialrecon trial report.* One trial (and cohort): what each source printed, whether the figures agree with each other,
and patient data rebuilt from the printed summary. Reported figures are copied from their
sources; everything computed here is marked **derived**.
"""),
    code("""
# Parameters (papermill -p NAME VALUE; `papermill --help-notebook` lists them)
trial = "clarinet"  # trial id: cabinet, clarinet, meteor, checkmate9er, cabosun, celestial, cosmic311, somatuline-acromegaly, increlex
cohort = ""  # cohort id, needed for trials with cohorts (cabinet: pnet or epnet)
""", "parameters"),
    code(SETUP + """
from trialrecon.pages import TrialPage
page = TrialPage(trial, cohort)
display(Markdown(page.title()))
"""),
    md("""
## What was reported
Every figure as printed, one column per version of the analysis (reported data, nothing
derived). Medians and follow-up in months; CIs are 95% unless the row says otherwise.
"""),
    code("""
display(page.reported())
display(Markdown("**Sources.**\\n\\n" + page.sources()))
"""),
    md("""
## Are the printed figures consistent with each other? (derived)
For each analysis: the SE of log HR from the CI at its stated level; whether the HR sits at
the geometric centre of its CI within the rounding of the printed digits; the two-sided p
implied by HR and CI (exact normal; Altman and Bland 2011) against the printed p; the events
implied by the CI width (Schoenfeld 1983, d = 1/(SE² p(1−p)) for the allocation ratio); the HR
that exponential curves with the printed medians imply and the common Weibull shape that
reconciles medians and HR under proportional hazards; and, for percentages with a known
denominator, the counts that round to them (GRIM; Brown and Heathers 2016).
"""),
    code("""
checks = page.checks()
display(checks if len(checks) else Markdown("_No figure of this trial allows a consistency "
                                            "check (no HR, CI or percentage with a denominator)._"))
"""),
    md("""
## Where the versions disagree (reported)
Printed figures that differ between versions of the same analysis, at the coarser of the two
printed precisions. Different versions are different data snapshots or reviews, not errors.
"""),
    code("""
diffs = page.differences()
display(diffs if len(diffs) else Markdown("_No printed figure differs between versions._"))
"""),
    md("""
## Patient data rebuilt from the printed summary (derived)
Pseudo patient data per arm rebuilt from the printed figures alone. A flexible survival model
(piecewise-constant hazards whose prior prefers Weibull-like, proportional curves) and a
censoring model (accrual, cut-off, drop-out, early censoring, a share followed on to where
the data end) are fitted to everything printed: medians and their confidence intervals, landmark rates, the HR with its CI and p,
events and median follow-up. Pseudo patients that follow the model are then placed so that
their re-analysis (Kaplan-Meier medians and intervals, Cox HR with Efron ties, reverse-KM
follow-up) reproduces each printed figure within its rounding. Dashed lines mark the
printed medians; the box gives the printed and the reconstructed HR. The shaded band holds
90% of the curves the print allows: the print does not pin down one curve, and the band
says how much it leaves open. A figure that is not reproduced is a finding, which says
whether the printed numbers themselves conflict or the reconstruction fell short; a curve
no trial is likely to show carries a warning on the figure.
"""),
    code("""
for fit in page.fits:
    display(*page.fit_section(fit))
if not page.fits:
    display(Markdown("_No time-to-event analysis of this trial prints arm sizes, a median or "
                     "landmark and an HR, so none can be rebuilt._"))
"""),
    md("""
## Binary outcomes (derived)
Response and adverse-event rates: integer counts that round to each printed percentage, the
exact (Clopper-Pearson) CI of those counts against any printed CI, and the risk difference
(Newcombe), relative risk and Fisher's exact test between arms.
"""),
    code("""
binary = page.binary()
display(binary if len(binary) else Markdown("_No binary outcome with a denominator._"))
continuous = page.continuous()
if len(continuous):
    display(Markdown("**Continuous outcomes (reported).**"), continuous)
"""),
    md("## Key figures (derived, rounded; compared by the regression tests)"),
    code("""
print(page.key_figures())
"""),
])

write("portfolio", [
    md("""
# Portfolio overview
Every hazard ratio the registry holds, grouped by trial, cohort, endpoint and version, with
the consistency verdicts of all analyses and the context of each trial. HRs and CIs are
reported values; verdicts are derived.
"""),
    code("""
# Parameters
trials = ""  # comma-separated trial ids to include; "" for every trial
""", "parameters"),
    code(SETUP + """
from trialrecon import pages, plots
items = pages.select_analyses(trials)
fig = plots.forest_plot(pages.hazard_ratios(items),
                        title="Reported hazard ratios with their CIs (reported values)")
plots.close(fig)
display(fig)
"""),
    md("## Consistency verdicts per trial (derived)"),
    code("""
display(pages.verdict_counts(items))
"""),
    md("## Questionable and inconsistent figures (derived), with reasons"),
    code("""
display(pages.flagged_checks(items))
"""),
    md("## The trials"),
    code("""
display(pages.portfolio_context())
display(Markdown("**Sources.**\\n\\n" + pages.sources_markdown(items)))
"""),
    md("## Key figures (compared by the regression tests)"),
    code("""
print(f"{len(items)} analyses, {len(pages.hazard_ratios(items))} hazard ratios")
print(pages.verdict_counts(items).sum().to_string())
"""),
])

write("curve_reconstruction", [
    md("""
# Rebuilding patient data from a digitised Kaplan-Meier figure
The clicks are first made into a non-increasing curve by the smallest moves in both time and
survival (the notes say how many clicks moved and how far). The default method, `integer`,
then meets every printed number at risk exactly: per interval between two printed numbers, the
censorings and events that the curve's drop and the table allow, as whole patients; where the
figure was read without error, the height of each step gives its events exactly. Guyot, Ades,
Ouwens and Welton (BMC Med Res Methodol 2012;12:9) remains available as `method = "guyot"`.
Both are measured on 152 real trials by `benchmarks/bench_curve_corpus.py`. By default the
input is made here from real patient data of a randomised trial that lifelines ships (GBSG2,
Schumacher et al. 1994, hormonal therapy vs none, recurrence-free survival; days converted to
months), drawn as a journal would draw it, so the truth is known.
"""),
    code("""
# Parameters: CSV files per arm ("" for the bundled example)
curve_experimental = ""  # digitised curve of the experimental arm: columns time,survival
at_risk_experimental = ""  # its numbers at risk: columns time,n_at_risk
curve_control = ""  # digitised curve of the control arm
at_risk_control = ""  # its numbers at risk
scale = "proportion"  # survival column unit: proportion or percent
method = "integer"  # reconstruction method: integer (default) or guyot
""", "parameters"),
    code(SETUP + """
from trialrecon import pages, plots
from trialrecon.analysis import compare_arms
from trialrecon.reconstruct import reconstruct
curves, tables, truth, unit = pages.curve_inputs(
    {"experimental": curve_experimental, "control": curve_control},
    {"experimental": at_risk_experimental, "control": at_risk_control}, scale)
if truth is not None:
    names = list(truth)
    curves = dict(zip(names, curves.values()))
    tables = dict(zip(names, tables.values()))
results = {arm: reconstruct(curves[arm], tables[arm], method=method) for arm in curves}
ipd = {arm: r.ipd for arm, r in results.items()}
fig = plots.km_plot(ipd, digitised=curves, title="Digitised points and reconstructed "
                    "Kaplan-Meier curves (derived)", time_unit=unit, endpoint="Recurrence-free survival")
plots.close(fig)
display(fig)
"""),
    md("## Numbers at risk: printed vs estimated by the reconstruction"),
    code("""
# Arm names and notes come from the input files: pages.md_text shows them as typed.
for arm, r in results.items():
    display(Markdown(f"**{pages.md_text(arm)}** ({pages.md_text(r.method)} method"
                     + (", exact steps" if r.exact_steps else "") + "): largest |digitised − "
                     f"reconstructed| survival {r.max_abs_error:.4f}"
                     + "".join(f"\\n- {pages.md_text(note)}" for note in r.fixes)), r.intervals)
"""),
    md("## Re-analysis of the reconstructed data (derived)"),
    code("""
comparison = compare_arms(*ipd.values(), names=tuple(ipd), landmarks=(12, 36))
display(comparison.arms.round(3), comparison.landmarks.round(3), comparison.effects.round(4))
"""),
    md("## Reconstructed vs true (the example's truth is known)"),
    code("""
if truth is not None:
    display(pages.reconstructed_vs_true(ipd, truth))
else:
    display(Markdown("_Own files given: no truth to compare with._"))
"""),
    md("## Key figures (compared by the regression tests)"),
    code("""
print(f"reconstructed HR {comparison.value('hazard ratio'):.3f}, events "
      + ", ".join(f"{a} {int(d.event.sum())}" for a, d in ipd.items()))
"""),
])

write("validation", [
    md("""
# Method validation
Both reconstruction methods against known truth.
1. **Curve road (integer method and Guyot 2012).** Real randomised-trial patient data shipped
   with lifelines are drawn as a figure (exact Kaplan-Meier corners, numbers at risk at regular
   times), reconstructed by each method and compared with the truth; then with simulated
   hand-digitisation noise (about 100 jittered clicks per arm, few at-risk times). Accuracy on
   152 real trials is measured by `benchmarks/bench_curve_corpus.py`.
2. **Summary road.** Trials simulated from known Weibull proportional-hazards models are
   summarised as a paper would (medians, HR with CI, follow-up) and rebuilt from the summary;
   the rebuilt control curve is compared with the true one. Accuracy on 152 real trials is
   measured by `benchmarks/bench_summary_corpus.py`.
"""),
    code("""
# Parameters
repeats = 5  # noisy digitisations per dataset and setting
""", "parameters"),
    code(SETUP + """
from trialrecon import plots, validation
accuracy = validation.curve_accuracy(repeats=repeats)
display(accuracy.round(3))
"""),
    code("""
figs = [plots.accuracy_plot(accuracy[accuracy.method == m], x="dataset",
                           y="HR error % (mean)", hue="setting", ylabel="Mean |HR error| (%)",
                           title=f"Cox HR of reconstructed vs true data, {m} method")
        for m in dict.fromkeys(accuracy.method)]
plots.close(figs)
display(*figs)
"""),
    md("""
## Reference case: KEYNOTE-189 overall survival
When the digitised reference curves are present beside the project (`../shared/validation`),
Guyot's method is compared with the published output of reconstructKM (126/107 events,
HR 0.496727), which it must reproduce, and the default integer method is shown beside it. This
cell's output is not compared by the regression tests because the folder may be absent.
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
import pandas as pd
from trialrecon import paths
from trialrecon.analysis import compare_arms
from trialrecon.reconstruct import reconstruct
folder = paths.VALIDATION / "keynote189-os"
if folder.exists():
    columns = {}
    for method in ("guyot", "integer"):
        arms = {a: reconstruct(pd.read_csv(folder / f"{a}_curve.csv"),
                               pd.read_csv(folder / f"{a}_at_risk.csv"), method=method).ipd
                for a in ("pembrolizumab", "placebo")}
        c = compare_arms(*arms.values(), names=tuple(arms), landmarks=(12,))
        columns[f"trialrecon, {method} (derived)"] = [
            int(arms["pembrolizumab"].event.sum()), int(arms["placebo"].event.sum()),
            c.value("hazard ratio"), c.value("hazard ratio", "se"),
            c.value("hazard ratio", "lower"), c.value("hazard ratio", "upper")]
    display(pd.DataFrame({"quantity": ["events pembrolizumab", "events placebo", "HR", "SE log HR",
                                       "CI lower", "CI upper"],
                          "reference (reconstructKM)": [126, 107, 0.496727, 0.1317469,
                                                        0.3836830, 0.6430771], **columns}))
else:
    display(Markdown("_../shared/validation is not present on this machine._"))
"""),
    md("## Summary road: recovering known models (derived)"),
    code("""
recovery = validation.summary_recovery()
display(recovery.round(3))
"""),
    md("## Key figures (compared by the regression tests)"),
    code("""
exact = accuracy[accuracy.setting.str.startswith("exact") & (accuracy.patients >= 100)]
for method, rows in exact.groupby("method", sort=False):
    print(f"{method}, exact corners, 100+ patients: max HR error "
          f"{rows['HR error % (max)'].max():.1f}%, max events error "
          f"{rows['events error % (max)'].max():.1f}%")
print(f"summary road: max |fitted - printed HR| "
      f"{(recovery['fitted HR'] - recovery['printed HR']).abs().max():.3f}")
"""),
])
print("written and executed")
