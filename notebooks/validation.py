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

# %% [markdown]
# # Method validation
# Both reconstruction methods against known truth.
# 1. **Curve road (integer method and Guyot 2012).** Real randomised-trial patient data shipped
#    with lifelines are drawn as a figure (exact Kaplan-Meier corners, numbers at risk at regular
#    times), reconstructed by each method and compared with the truth; then with simulated
#    hand-digitisation noise (about 100 jittered clicks per arm, few at-risk times). Accuracy on
#    152 real trials is measured by `benchmarks/bench_curve_corpus.py`.
# 2. **Summary road.** Trials simulated from known Weibull proportional-hazards models are
#    summarised as a paper would (medians, HR with CI, follow-up) and rebuilt from the summary;
#    the rebuilt control curve is compared with the true one. Accuracy on 152 real trials is
#    measured by `benchmarks/bench_summary_corpus.py`.

# %% tags=["parameters"]
# Parameters
repeats: int = 5  # noisy digitisations per dataset and setting
downloads: str = ""  # folder for the page's tables (CSV, Excel); "" writes none

# %%
from IPython.display import Markdown, display
from trialrecon import pages, plots, validation

plots.show_alt_text()  # each figure's title and axes as its alternative text

accuracy = validation.curve_accuracy(repeats=repeats)
recovery = validation.summary_recovery()
display(Markdown(pages.validation_summary(accuracy, recovery)))

# %% [markdown]
# ## Curve road: reconstructed against true patient data (derived)

# %%
display(pages.accuracy_table(accuracy))

# %%
figs = [plots.accuracy_plot(accuracy[accuracy.method == m], x="dataset",
                           y="HR error % (mean)", hue="setting", ylabel="Mean |HR error| (%)",
                           title=f"Cox HR of reconstructed vs true data, {m} method")
        for m in dict.fromkeys(accuracy.method)]
plots.close(figs)
display(*figs)

# %% [markdown]
# ## Reference case: KEYNOTE-189 overall survival
# When the digitised reference curves are present beside the project (`../shared/validation`),
# Guyot's method is compared with the published output of reconstructKM (126/107 events,
# HR 0.496727), which it must reproduce, and the default integer method is shown beside it. This
# cell's output is not compared by the regression tests because the folder may be absent.

# %%
import pandas as pd
from trialrecon import paths
from trialrecon.analysis import compare_arms
from trialrecon.formatting import Column, Table
from trialrecon.reconstruct import reconstruct_arms

folder = paths.VALIDATION / "keynote189-os"
if folder.exists():
    columns = {}
    for method in ("guyot", "integer"):
        rebuilt = reconstruct_arms(
            {a: pd.read_csv(folder / f"{a}_curve.csv") for a in ("pembrolizumab", "placebo")},
            {a: pd.read_csv(folder / f"{a}_at_risk.csv") for a in ("pembrolizumab", "placebo")},
            method=method)
        arms = {a: r.ipd for a, r in rebuilt.items()}
        c = compare_arms(*arms.values(), names=tuple(arms), landmarks=(12,))
        columns[f"trialrecon, {method} (derived)"] = [
            int(arms["pembrolizumab"].event.sum()), int(arms["placebo"].event.sum()),
            c.value("hazard ratio"), c.value("hazard ratio", "se"),
            c.value("hazard ratio", "lower"), c.value("hazard ratio", "upper")]
    reference = pd.DataFrame({"quantity": ["events, pembrolizumab", "events, placebo", "HR",
                                           "SE of log HR", "HR 95% CI lower", "HR 95% CI upper"],
                              "reference (reconstructKM)": [126, 107, 0.496727, 0.1317469,
                                                            0.3836830, 0.6430771], **columns})
    reference["digits"] = "exact"  # as the reference prints them: up to 6 significant
    display(Table(reference, {"quantity": Column("Figure"), **{
        c: Column(c.capitalize(), "figure", fields=(c, "digits"))
        for c in reference.columns[1:-1]}},
        caption="KEYNOTE-189 OS: published reconstructKM output against trialrecon"))
else:
    display(Markdown("_../shared/validation is not present on this machine._"))

# %% [markdown]
# ## Summary road: recovering known models (derived)

# %%
display(pages.recovery_table(recovery))

# %% [markdown]
# ## Extrapolation on real trials (measured by a benchmark)
# Each of the corpus's real trials cut at half its follow-up: the 13 parametric models are
# fitted to the first half of each arm and their restricted mean to the full follow-up is set
# against the Kaplan-Meier one of the whole data. It says how much the choice of model matters
# beyond the data, and how little the fit to the data says about it.

# %%
measured = pages.extrapolation_benchmark()
if measured is None:
    display(Markdown("_The benchmark's stored table is not present: run "
                     "`benchmarks/bench_extrapolation_corpus.py --summary "
                     "benchmarks/results/extrapolation_corpus.csv`._"))
else:
    display(Markdown(measured[1]), measured[0])

# %%
if downloads:  # the report gives each page a folder; its links are on the page's top bar
    from trialrecon.downloads import write_downloads

    tables = {"curve-accuracy": pages.accuracy_table(accuracy).tidy(),
              "summary-recovery": pages.recovery_table(recovery).tidy()}
    if measured is not None:
        tables["extrapolation-corpus"] = measured[0].tidy()
    write_downloads(downloads, tables)

# %% [markdown] tags=["remove_cell"]
# ## Key figures (compared by the regression tests)

# %% tags=["remove_cell"]
# NBVAL_CHECK_OUTPUT
exact = accuracy[accuracy.setting.str.startswith("exact") & (accuracy.patients >= 100)]
for method, rows in exact.groupby("method", sort=False):
    print(f"{method}, exact corners, 100+ patients: max HR error "
          f"{rows['HR error % (max)'].max():.1f}%, max events error "
          f"{rows['events error % (max)'].max():.1f}%")
print(f"summary road: max |fitted - printed HR| "
      f"{(recovery['fitted HR'] - recovery['printed HR']).abs().max():.3f}")
