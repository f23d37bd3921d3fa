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
# # Portfolio overview
# Every hazard ratio the registry holds, grouped by trial, cohort, endpoint and version, with
# the consistency verdicts of all analyses and the context of each trial. HRs and CIs are
# reported values; verdicts are derived.

# %% tags=["parameters"]
# Parameters
trials: str = ""  # comma-separated trial ids to include; "" for every trial
downloads: str = ""  # folder for the page's tables (CSV, Excel); "" writes none

# %%
from IPython.display import Markdown, display
from trialrecon import pages, plots, registry

plots.show_alt_text()  # each figure's title and axes as its alternative text

items = pages.select_analyses(trials)
display(Markdown(pages.portfolio_summary(items)))

# %% [markdown]
# ## Every printed hazard ratio (reported)

# %%
fig = plots.forest_plot(pages.hazard_ratios(items),
                        title="Reported hazard ratios with their CIs (reported values)")
plots.close(fig)
display(fig)

# %% [markdown]
# ## Consistency verdicts per trial (derived)

# %%
display(pages.verdict_table(items))

# %% [markdown]
# ## Questionable and inconsistent figures (derived), with reasons

# %%
flagged = pages.flagged_checks(items)
display(flagged if len(flagged) else Markdown("_No check is questionable or inconsistent._"))

# %% [markdown]
# ## The trials

# %%
display(pages.portfolio_context(trials))
display(pages.hazard_ratio_table(items))
display(Markdown("**Sources.**\n\n" + pages.sources_markdown(items)))

# %%
if downloads:  # the report gives each page a folder; its links are on the page's top bar
    from trialrecon.downloads import write_downloads

    write_downloads(downloads, {
        "hazard-ratios": pages.hazard_ratio_table(items).tidy(),
        "verdicts": pages.verdict_table(items).tidy(),
        "flagged-checks": pages.flagged_checks(items).tidy(),
        "checks": pages.check_rows(items).tidy(),
        "trials": pages.portfolio_context(trials).tidy()})

# %% [markdown] tags=["remove_cell"]
# ## Key figures (compared by the regression tests)

# %% tags=["remove_cell"]
# NBVAL_CHECK_OUTPUT
# The shipped trials only, whatever `trials` says: adding a trial to the registry changes none
# of these lines, and editing a trial changes its own line only.
shipped = ["cabinet", "cabosun", "celestial", "checkmate9er", "clarinet", "cosmic311",
           "increlex", "meteor", "somatuline-acromegaly"]
present = registry.trials()
for trial in shipped:
    if trial not in present:  # a registry of other trials (TRIALRECON_TRIALS)
        print(f"{trial}: not in the registry")
        continue
    analyses = pages.select_analyses(trial)
    verdicts = pages.verdict_counts(analyses).sum()
    print(f"{trial}: {len(analyses)} analyses, {len(pages.hazard_ratios(analyses))} hazard "
          "ratios; checks " + ", ".join(f"{v} {int(n)}" for v, n in verdicts.items()))
