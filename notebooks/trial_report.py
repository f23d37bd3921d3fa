# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
# Parameters (papermill -p NAME VALUE; `papermill --help-notebook` lists them)
# trial: a registry id (cabinet, clarinet, meteor, checkmate9er, cabosun, celestial,
# cosmic311, somatuline-acromegaly, increlex; `trialrecon trials` lists them), or the path
# of your own trial file (docs/trial-yaml.md), e.g. -p trial /path/to/my-trial.yaml
trial: str = "clarinet"
cohort: str = ""  # cohort id, needed for trials with cohorts (cabinet: pnet or epnet)
downloads: str = ""  # folder for the page's tables and pseudo patient data (CSV, Excel); "" none

# %%
from IPython.display import Markdown, display
from trialrecon.pages import TrialPage, analysis_name, md_text
from trialrecon.plots import show_alt_text

show_alt_text()  # each figure's title and axes as its alternative text

page = TrialPage(trial, cohort)
display(Markdown(page.title()))
display(Markdown(page.summary()))

# %% [markdown]
# *About this page.* One trial (and cohort): what each source printed, whether the figures
# agree with each other, and, for time-to-event endpoints, patient data rebuilt from the
# printed summary. Reported figures are copied from their sources; everything computed here is
# marked **derived**.
#
# ## What was reported
# Every figure as printed, one column per version of the analysis (reported data, nothing
# derived). Times in the unit each row names; CIs are 95% unless the row says otherwise.

# %%
display(page.reported())
display(Markdown("**Sources.**\n\n" + page.sources()))

# %% [markdown]
# ## Are the printed figures consistent with each other? (derived)
# For each analysis: the SE of log HR from the CI at its stated level; whether the HR sits at
# the geometric centre of its CI within the rounding of the printed digits; the two-sided p
# implied by HR and CI (exact normal; Altman and Bland 2011) against the printed p; the events
# implied by the CI width (Schoenfeld 1983, d = 1/(SE² p(1−p)) for the allocation ratio); the HR
# that exponential curves with the printed medians imply and the common Weibull shape that
# reconciles medians and HR under proportional hazards; and, for percentages with a known
# denominator, the counts that round to them (GRIM; Brown and Heathers 2016).

# %%
checks = page.checks()
display(checks if len(checks) else Markdown(
    "_No figure of this trial allows a consistency check: no hazard ratio with a CI and no "
    "percentage with its denominator is printed._"))

# %% [markdown]
# ## Where the versions disagree (reported)
# Printed figures that differ between versions of the same analysis, at the coarser of the two
# printed precisions. Different versions are different data snapshots or reviews, not errors.

# %%
diffs = page.differences()
display(diffs if len(diffs) else Markdown("_No printed figure differs between versions._"))

# %%
# Survival sections only where the trial reports a time-to-event endpoint.
if page.has_time_to_event:
    display(Markdown("""## Patient data rebuilt from the printed summary (derived)
Pseudo patient data per arm rebuilt from the printed figures alone. A flexible survival model
(piecewise-constant hazards whose prior prefers Weibull-like, proportional curves) and a
censoring model (accrual, cut-off, drop-out, early censoring) are fitted to everything
printed: medians and their confidence intervals, landmark rates, the HR with its CI and p,
events, median follow-up and the trial's calendar. Nobody is followed longer than the
calendar allows (data cut-off minus first randomisation, or the printed longest follow-up;
where neither is printed, the cut-off inferred from the print, as the fitted model below
says). Pseudo patients that follow the model are then placed so that their re-analysis
(Kaplan-Meier medians and intervals, Cox HR with Efron ties, reverse-KM follow-up) prints
each printed figure with the same digits: within half a unit of its last printed digit.
Dashed lines mark the printed medians; the box gives the printed and the reconstructed HR.
The shaded band holds 90% of the curves the print allows: the print does not pin down one
curve, and the band says how much it leaves open. A figure that is not reproduced is a
finding, which says whether the printed numbers themselves conflict or the reconstruction
fell short; a curve no trial is likely to show carries a warning on the figure."""))
    for fit in page.fits:
        display(*page.fit_section(fit))
    missing = page.not_rebuilt()
    if missing:
        display(Markdown("**Not rebuilt.** " + " ".join(
            f"{md_text(analysis_name(a))}: {md_text(why)}." for a, why in missing)))

# %%
sections = page.extrapolations()
if sections:
    display(Markdown("""## Survival beyond follow-up (derived)
For the endpoint an appraisal would model, the rebuilt patients of each arm are fitted with
the standard parametric models of NICE DSU TSD 14 (exponential, Weibull, Gompertz,
log-logistic, log-normal, generalised and plain gamma) and the Royston-Parmar splines of
TSD 21 (1 to 3 internal knots, hazard and odds scales), ranked by AIC and BIC and
extrapolated to a 10-year horizon. The models agree over follow-up and part ways after it:
the table shows how far, and the spread over pseudo datasets shows how much of it the print
itself leaves open."""), *sections)

# %%
binary, continuous = page.binary(), page.continuous()
if page.has_binary or len(continuous):
    display(Markdown("""## Binary and continuous outcomes (derived)
Response, biochemical-control and adverse-event rates: integer counts that round to each
printed percentage, the exact (Clopper-Pearson) CI of those counts against any printed CI,
and the risk difference (Newcombe), relative risk and Fisher's exact test between arms."""))
    display(binary if len(binary) else Markdown(
        "_No binary outcome of this trial prints its denominator, so no count can be "
        "checked._"))
    if len(continuous):
        display(continuous)

# %%
if downloads:  # the report gives each page a folder; its links are on the page's top bar
    from trialrecon.downloads import write_downloads

    write_downloads(downloads, page.downloads())

# %% [markdown] tags=["remove_cell"]
# ## Key figures (derived, rounded; compared by the regression tests)

# %% tags=["remove_cell"]
# NBVAL_CHECK_OUTPUT
print(page.key_figures())
