import warnings
from pathlib import Path

import nbformat
import papermill
import pytest
from trialrecon import InputError
from trialrecon.pages import TrialPage
from trialrecon.simulate import fit_summary

warnings.simplefilter("ignore")


def _range(text: str) -> tuple[float, float]:
    lo, hi = text.replace("%", "").replace(" months", "").split(" to ")
    return float(lo), float(hi)


def test_unprinted_figures_for_cabinet_pnet():
    fit = fit_summary("cabinet/pnet/pfs/nejm-2025")
    table = TrialPage("cabinet", "pnet").unprinted(fit, landmark=6.0, horizons=(6.0, 60.0))
    table = table.set_index("figure (derived)")
    spread = "90% range over the curves the print allows"
    # The central pseudo data reproduce the print, so their own figures must lie within the
    # range of the curves the print allows (the band's draws).
    for arm in ("cabozantinib", "placebo"):
        row = table.loc[f"6-month rate, {arm}"]
        km = float(row["pseudo data (Kaplan-Meier)"].split("%")[0])
        lo, hi = _range(row[spread])
        assert lo - 2.0 <= km <= hi + 2.0
    rmst6 = table.loc["RMST difference up to 6 months"]
    km = float(rmst6["pseudo data (Kaplan-Meier)"].split()[0])
    lo, hi = _range(rmst6[spread])
    assert lo - 0.2 <= km <= hi + 0.2
    # Beyond the pseudo follow-up only the model answers, and the page says so.
    rmst60 = table.loc["RMST difference up to 60 months"]
    assert rmst60["pseudo data (Kaplan-Meier)"].startswith("not estimable")
    events = [int(table.loc[f"events, {arm}", "pseudo data (Kaplan-Meier)"])
              for arm in ("cabozantinib", "placebo")]
    assert events == [int(fit.ipd[fit.ipd.arm == arm].event.sum())
                      for arm in ("cabozantinib", "placebo")]


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_trial_report_runs_with_only_the_trial_parameter(tmp_path):
    # A scheduled job for a trial without cohorts passes only its id (about 10 s: a kernel).
    out = tmp_path / "clarinet.ipynb"
    papermill.execute_notebook(str(NOTEBOOKS / "trial_report.ipynb"), str(out),
                               parameters={"trial": "clarinet"}, kernel_name="python3",
                               progress_bar=False, cwd=str(NOTEBOOKS))
    shown = "".join(o.get("data", {}).get("text/markdown", "")
                    for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", []))
    assert "# CLARINET" in shown


@pytest.mark.parametrize(("trial", "cohort", "named"), [
    ("cabinet", "pnett", "valid cohorts: pnet, epnet"),
    ("clarinet", "pnet", "it has no cohorts: leave the cohort out"),
    ("cabinet", "", "give one of: pnet, epnet"),
    ("cabinet", None, "give one of: pnet, epnet"),
])
def test_wrong_or_missing_cohort_is_a_one_line_error_naming_the_valid_ones(trial, cohort,
                                                                            named):
    with pytest.raises(InputError) as caught:
        TrialPage(trial, cohort)
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_empty_cohort_means_none_for_a_trial_without_cohorts():
    assert TrialPage("clarinet", "").cohort is None
    assert TrialPage("clarinet", "").analyses == TrialPage("clarinet").analyses
