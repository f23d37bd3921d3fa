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
# Parameters (papermill -p NAME VALUE). No file given: the bundled example.
curve_experimental: str = ""  # digitised curve of the experimental arm: CSV, columns time,survival
at_risk_experimental: str = ""  # its numbers at risk: CSV, columns time,n_at_risk
curve_control: str = ""  # digitised curve of the control arm
at_risk_control: str = ""  # its numbers at risk
scale: str = "proportion"  # unit of the survival column: proportion or percent
method: str = "integer"  # reconstruction method: integer (default) or guyot
experimental_name: str = ""  # arm name; "" takes it from the file name (placebo_curve.csv: placebo)
control_name: str = ""  # arm name of the control arm
endpoint: str = ""  # endpoint label, e.g. Overall survival; "" for Survival
time_unit: str = ""  # unit of the time axis; "" for months
landmarks: str = ""  # comma-separated times of landmark survival; "" chooses them within follow-up
title: str = ""  # page title; "" makes one from the endpoint and the arm names
horizon: str = ""  # extrapolation horizon (time unit); "" for 10 years, none for no extrapolation
downloads: str = ""  # folder for the page's tables as CSV and Excel files; "" writes none

# %%
from IPython.display import Markdown, display
from trialrecon import curve_page, plots
from trialrecon.reconstruct import reconstruct_arms

plots.show_alt_text()  # each figure's title and axes as its alternative text

inputs = curve_page.curve_inputs(
    curve_experimental, at_risk_experimental, curve_control, at_risk_control, scale=scale,
    experimental_name=experimental_name, control_name=control_name, endpoint=endpoint,
    time_unit=time_unit, title=title)
# Both arms at once: one arm's follow-up tells how long the other's goes on when its tail's
# end was not digitised.
results = reconstruct_arms({arm: inputs.curves[arm] for arm in inputs.names},
                           {arm: inputs.tables[arm] for arm in inputs.names}, method=method)
ipd = {arm: r.ipd for arm, r in results.items()}
times = curve_page.landmark_times(landmarks, ipd, inputs.time_unit)
comparison = curve_page.reanalysis(ipd, times)
display(Markdown(inputs.heading()), Markdown(curve_page.summary(inputs, results, comparison)),
        Markdown(inputs.about()))

# %% [markdown]
# ## How the patient data are rebuilt
# The clicks are first made into a non-increasing curve by the smallest moves in both time and
# survival (the notes say how many clicks moved and how far). The default method, `integer`,
# then meets every printed number at risk exactly: per interval between two printed numbers, the
# censorings and events that the curve's drop and the table allow, as whole patients; where the
# figure was read without error, the height of each step gives its events exactly. It first
# tells how the curve was clicked: along its drawn path, or once per drop at its foot or its top
# (the events of a gap then fall at the clicked corner), and says so in the notes; the arms,
# digitised alike, take the reading their clicks tell most firmly. Where a curve
# ends in a drop (the end of its flat tail not clicked), its patients are followed on as long as
# the other arm is followed and the at-risk tables allow, and the notes say to when. Guyot, Ades,
# Ouwens and Welton (BMC Med Res Methodol 2012;12:9) remains available as `method = "guyot"`.
# Both are measured on 152 real trials by `benchmarks/bench_curve_corpus.py`.

# %%
fig = curve_page.curve_figure(inputs, results)
plots.close(fig)
display(fig)

# %% [markdown]
# ## Numbers at risk: printed vs estimated by the reconstruction

# %%
display(*curve_page.at_risk_sections(results, inputs.time_unit))

# %% [markdown]
# ## Re-analysis of the reconstructed data (derived)

# %%
display(*curve_page.reanalysis_tables(comparison, ipd, inputs.time_unit))

# %%
display(*curve_page.truth_section(inputs, ipd, times))

# %% [markdown]
# ## Survival beyond follow-up (derived)
# The rebuilt patients of each arm fitted with the parametric models of NICE DSU TSD 14 and
# the Royston-Parmar splines of TSD 21, ranked by AIC and BIC and extrapolated to the
# horizon (a parameter). Patient data rebuilt from a curve are one dataset: the CIs are those
# of the models fitted to it.

# %%
sections, extrapolated = curve_page.extrapolation_sections(inputs, ipd, horizon)
display(*sections)
if downloads:  # the report gives each page a folder; its links are on the page's top bar
    from trialrecon.downloads import write_downloads

    write_downloads(downloads, curve_page.download_tables(inputs, results, comparison,
                                                          extrapolated))

# %% [markdown] tags=["remove_cell"]
# ## Key figures (compared by the regression tests)

# %% tags=["remove_cell"]
# NBVAL_CHECK_OUTPUT
print(curve_page.key_figures(comparison, ipd, extrapolated))
