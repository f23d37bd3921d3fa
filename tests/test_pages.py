import warnings
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
from trialrecon import InputError, pages
from trialrecon.pages import TrialPage, md_text
from trialrecon.simulate import fit_summary

warnings.simplefilter("ignore")


def test_unprinted_figures_for_cabinet_pnet():
    fit = fit_summary("cabinet/pnet/pfs/nejm-2025")
    table = TrialPage("cabinet", "pnet").unprinted(fit, landmark=6.0, horizons=(6.0, 60.0))
    rows = table.data.set_index(["figure", "arm"])
    # The central pseudo data reproduce the print, so their own figures must lie within the
    # range of the curves the print allows (the band's draws).
    for arm in ("cabozantinib", "placebo"):
        row = rows.loc[("6-month rate (%)", arm)]
        assert row.range_low - 2.0 <= row.value <= row.range_high + 2.0
        assert row.lower < row.value < row.upper
    rmst6 = rows.loc[("RMST difference up to 6 months (months)", "")]
    assert rmst6.range_low - 0.2 <= rmst6.value <= rmst6.range_high + 0.2
    # Beyond the pseudo follow-up only the model answers, and the page says so.
    rmst60 = rows.loc[("RMST difference up to 60 months (months)", "")]
    assert np.isnan(rmst60.value) and rmst60.note.startswith("pseudo follow-up ends at")
    assert rmst60.range_low < rmst60.range_high
    shown = table.text().set_index("Figure (derived)")
    assert shown.loc["RMST difference up to 60 months (months)",
                     "Pseudo data, Kaplan-Meier (95% CI)"] == "not estimable"


def test_fit_table_shows_numbers_by_kind_and_keeps_them():
    page = TrialPage("clarinet")
    table = page.fit_table(page.fits[0])
    shown = table.text().set_index(["Figure", "Arm"])
    data = table.data.set_index(["quantity", "arm"])
    # NR for a median not reached, whole patients, p with two significant digits
    assert shown.loc[("median (months)", "lanreotide"), "Reconstructed (derived)"] == "NR"
    assert data.loc[("median (months)", "lanreotide"), "reconstructed"] == np.inf
    n = data.loc[("N", "placebo"), "reconstructed"]
    assert shown.loc[("N", "placebo"), "Reconstructed (derived)"] == f"{n:.0f}"
    p = data.loc[("p-value (two-sided)", ""), "reconstructed"]
    assert shown.loc[("p-value (two-sided)", ""), "Reconstructed (derived)"] == f"{p:.2g}"
    assert set(shown["Within rounding"]) <= {"yes", "no", ""}


def test_summary_counts_the_verdicts_and_names_the_flagged_checks():
    page = TrialPage("clarinet")
    checks = page.checks().data
    text = page.summary()
    counts = checks.verdict.value_counts()
    assert f"{len(checks)} checks: {counts.get('consistent', 0)} consistent" in text
    bad = checks[checks.verdict.isin(["inconsistent", "questionable"])]
    assert len(bad) >= 1  # the ECE 2014 p: 0.0002 printed, 0.00087 implied
    for r in bad.itertuples():
        assert md_text(r.check) in text and md_text(r.reported) in text
    # every time-to-event analysis is either rebuilt or said not to be, with a reason
    tte = [a for a in page.analyses if a.endpoint in ("PFS", "OS")]
    rebuilt = len(page.fits)
    assert f"{rebuilt} analys{'i' if rebuilt == 1 else 'e'}s rebuilt from the print" in text
    missing = page.not_rebuilt()
    assert rebuilt + len(missing) == len(tte)
    for a, why in missing:
        assert f"{md_text(pages.analysis_name(a))} ({md_text(why)})" in text


def test_reported_table_has_labels_and_every_version():
    page = TrialPage("clarinet")
    table = page.reported()
    shown = table.text()
    assert list(shown.columns[:2]) == ["Endpoint", "Figure"]
    assert set(shown.Endpoint) == {"Progression-free survival"}
    assert set(shown.columns[2:]) == {a.label for a in page.analyses}
    html = table._repr_html_()
    assert '<th style="text-align: left">Endpoint</th>' in html and "></th>" not in html


def test_a_trial_without_hazard_ratios_has_an_empty_forest_table():
    assert pages.hazard_ratios([a for a in TrialPage("increlex").analyses]).empty


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


def _extrapolated():
    from trialrecon.extrapolation import extrapolate

    rng = np.random.default_rng(11)
    frames = []
    for arm, rate in (("drug", 0.03), ("placebo", 0.06)):
        t = rng.exponential(1 / rate, 200)
        c = rng.uniform(6, 36, 200)
        frames.append(pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                                    "arm": arm}))
    d = pd.concat(frames, ignore_index=True)
    return d, extrapolate(d, horizon=120.0, models=["exponential", "weibull"], ensemble=[d])


def test_extrapolation_tables_show_numbers_with_labels_and_units():
    d, result = _extrapolated()
    table = pages.extrapolation_table(result)
    html = table._repr_html_()
    assert "RMST to 120 months (95% CI)" in html and "Spread over pseudo datasets" in html
    assert "<th></th>" not in html and "nan" not in html.lower()
    rows = table.data.set_index(["arm", "model"])
    rate = d[d.arm == "drug"].event.sum() / d[d.arm == "drug"].time.sum()
    rmst = (1 - np.exp(-rate * 120)) / rate
    assert rows.loc[("drug", "exponential"), "rmst"] == pytest.approx(rmst, rel=1e-6)
    assert f"{rmst:.1f} (" in html
    lm = pages.landmark_table(result)
    assert list(c.label for c in lm.columns.values())[2:] == [
        f"{y}-year survival, % (95% CI)" for y in (1, 2, 5, 10)]
    wide = lm.data.set_index(["arm", "model"])
    assert wide.loc[("drug", "exponential"), "survival_0"] == pytest.approx(
        100 * np.exp(-rate * 12), rel=1e-6)


def test_shipped_registry_trials_name_what_the_report_extrapolates():
    from trialrecon import registry

    wanted = {i for t in registry.trials().values() for i in t.extrapolate}
    assert wanted == {"cabinet/pnet/pfs/nejm-2025", "cabinet/epnet/pfs/nejm-2025",
                      "meteor/os/bjc-2018", "checkmate9er/os/asco-gu-2025"}
    # Each one is rebuilt, so the page has data to extrapolate.
    from trialrecon.simulate import reconstructable

    rebuilt = {a.id for a in reconstructable(registry.analyses())}
    assert wanted <= rebuilt


def test_extrapolation_benchmark_is_shown_in_percent_with_its_provenance(tmp_path):
    rows = [{"model": "weibull", "arms": 10, "median_abs_error": 0.021, "p90_abs_error": 0.08,
             "median_error": -0.01, "median_abs_error_after_cut": 0.05,
             "p90_abs_error_after_cut": 0.3, "aic_picks": 4, "best_extrapolator": 1},
            {"model": "AIC-best", "arms": 10, "median_abs_error": 0.03, "p90_abs_error": 0.09,
             "median_error": 0.0, "median_abs_error_after_cut": 0.06,
             "p90_abs_error_after_cut": 0.3, "share_best": 0.1},
            {"model": "oracle", "arms": 10, "median_abs_error": 0.002, "p90_abs_error": 0.01,
             "median_error": 0.0, "median_abs_error_after_cut": 0.01,
             "p90_abs_error_after_cut": 0.05, "share_best": 1.0}]
    path = tmp_path / "summary.csv"
    pd.DataFrame(rows).assign(datasets=5, commit="abc1234", date="2026-12-02",
                              script="benchmarks/x.py").to_csv(path, index=False)
    table, text = pages.extrapolation_benchmark(path)
    shown = table.text().set_index("Model, or how it is chosen")
    assert shown.loc["Weibull", "Median |error| of RMST, %"] == "2.1"
    assert shown.loc["The model AIC prefers", "Picks the best extrapolator, %"] == "10.0"
    assert "commit abc1234" in text and "10.0% of 10 arms" in text and "errs by 0.2%" in text
    assert pages.extrapolation_benchmark(tmp_path / "absent.csv") is None


def test_a_trial_file_gets_the_page_of_a_registry_trial(tmp_path):
    # The page of a trial file outside the registry: its versions labelled by their own
    # analyses (two results filed under each version key), and no survival section asked
    # of a trial without a time-to-event endpoint.
    from test_summary import TWO_UNDER_ONE_KEY

    path = tmp_path / "keys.yaml"
    path.write_text(TWO_UNDER_ONE_KEY)
    page = TrialPage(str(path))
    assert page.trial.trial == "keys" and page.has_time_to_event and page.has_binary
    d = page.differences().data
    assert set(d.label_a) == {"Paper 2020 interim OS"}
    assert set(d.label_b) == {"Update 2022 final OS"}
    assert "Keys" in page.title() and "not rebuilt" not in page.summary().lower()
    assert {f.analysis_id for f in page.fits} == {"keys/pfs/paper-2020", "keys/os/paper-2020",
                                                  "keys/os/update-2022", "keys/pfs/update-2022"}
    assert not TrialPage("increlex").has_time_to_event


def test_an_indication_keeps_its_acronyms_in_a_sentence():
    title = TrialPage("meteor").title()
    assert "after prior VEGFR" in title and "vegfr" not in title
    assert "in advanced renal cell carcinoma" in title
