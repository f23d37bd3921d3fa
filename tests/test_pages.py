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


def _two_arm_result(models=("exponential", "weibull")):
    from trialrecon.extrapolation import extrapolate

    d, _ = _extrapolated()
    return d, extrapolate(d, horizon=120.0, models=list(models),
                          joint_models=("exp", "weibullPH", "llogis"))


def test_extrapolation_table_shows_the_unrestricted_mean_and_numbered_notes():
    import dataclasses

    d, result = _two_arm_result()
    drug = d[d.arm == "drug"]
    mean = drug.time.sum() / drug.event.sum()  # exponential: 1 / (events / exposure)
    table = pages.extrapolation_table(result)
    rows = table.data.set_index(["arm", "model"])
    assert rows.loc[("drug", "exponential"), "mean"] == pytest.approx(mean, rel=1e-6)
    assert f"{mean:.1f}" in table._repr_html_()
    assert "Mean, unrestricted (months)" in table._repr_html_()
    # A mean that does not exist reads "not finite", explained below; a note is numbered in
    # the table and given in full under it.
    t = result.table.copy()
    t.loc[1, "mean"], t.loc[3, "note"] = np.inf, "a note <b>for</b> the test"
    odd = dataclasses.replace(result, table=t)
    shown = pages.extrapolation_table(odd).text()
    assert shown["Mean, unrestricted (months)"].tolist()[1] == "not finite"
    assert shown["Note"].tolist() == ["", "", "", "note 1"]
    notes = pages.extrapolation_notes(odd)
    assert "1. placebo, Weibull: a note &#60;b&#62;for&#60;/b&#62; the test" in notes
    assert "not finite" in notes and pages.extrapolation_notes(result) == ""


def test_joint_table_shows_each_effect_with_its_ci_and_the_likelihood_ratio_test():
    from scipy import stats

    d, result = _two_arm_result()
    table = pages.joint_table(result)
    rows = table.data.set_index("model")
    rate = {a: g.event.sum() / g.time.sum() for a, g in d.groupby("arm")}
    # One exponential with a treatment effect is the two separate ones: the hazard ratio is
    # the ratio of the arms' event rates, and there is nothing to test.
    expo = rows.loc["Exponential"]
    assert expo.ratio == pytest.approx(rate["drug"] / rate["placebo"], rel=1e-5)
    se = np.sqrt(1 / d[d.arm == "drug"].event.sum() + 1 / d[d.arm == "placebo"].event.sum())
    assert expo.upper / expo.ratio == pytest.approx(np.exp(1.959964 * se), rel=1e-4)
    assert expo.lr_df == 0 and np.isnan(expo.lr_p)
    # The Weibull PH against separate Weibulls (the per-arm fits of the extrapolation).
    separate = sum(result.fits[(a, "weibull")].loglik for a in ("drug", "placebo"))
    weib = rows.loc["Weibull (PH)"]
    assert weib.lr_statistic == pytest.approx(2 * (separate - weib.loglik_joint), abs=1e-4)
    assert weib.lr_p == pytest.approx(stats.chi2.sf(weib.lr_statistic, 1), rel=1e-6)
    shown = table.text().set_index("Model")
    assert shown.loc["Weibull (PH)", "Effect (PH, AFT or PO)"] == "PH"
    assert shown.loc["Log-logistic", "Effect (PH, AFT or PO)"] == "AFT"
    assert shown.loc["Log-logistic", "Measure"] == "time ratio"
    assert shown.loc["Exponential", "Ratio, drug vs placebo (95% CI)"] == (
        f"{expo.ratio:.2f} ({expo.lower:.2f} to {expo.upper:.2f})")
    assert shown.loc["Exponential", "LR p (shared shape)"] == ""


def test_ph_statement_gives_the_grambsch_therneau_test_of_the_result():
    from trialrecon import formatting
    from trialrecon.analysis import proportional_hazards_test

    d, result = _two_arm_result()
    test = proportional_hazards_test(d.time, d.event, (d.arm == "drug").to_numpy(float))
    text = pages.ph_statement(result)
    assert f"χ² = {test.statistic:.2f} on 1 df, p = {formatting.p_value(test.p)}" in text
    assert "drug against placebo" in text and "Kaplan-Meier" in text
    assert ("no evidence" in text) == (test.p >= 0.05)


def test_background_population_comes_from_the_record_with_its_source(trial_dir):
    from trialrecon.registry import load_trial

    path = trial_dir / "demo.yaml"
    assert pages.background(load_trial(path), "months") is None
    source = next(iter(load_trial(path).sources))
    path.write_text(path.read_text() + f"baseline: {{median_age: 61, male_share: 0.7, "
                    f"source: {source}}}\n")
    trial = load_trial(path)
    population, text = pages.background(trial, "months")
    assert (population.age, population.male_share, population.time_unit) == (61, 0.7, "months")
    assert population.table.name == "us-2014"
    assert "61.0 years" in text and "70% men" in text and "2014" in text
    assert md_text(trial.sources[source]) in text


def test_extrapolation_section_shows_joint_models_ph_test_and_capped_curve():
    from IPython.display import Markdown
    from matplotlib.figure import Figure
    from trialrecon.extrapolation.background import Population, life_table

    _, result = _two_arm_result()
    population = Population(life_table("us-2014"), 70.0, 0.5, "months")
    parts = pages.extrapolation_section(result, "Demo", population=(population, "cited"))
    figures = [p for p in parts if isinstance(p, Figure)]
    tables = [p.name for p in parts if isinstance(p, pages.Table)]
    text = " ".join(p.data for p in parts if isinstance(p, Markdown))
    assert tables == ["extrapolation", "landmarks", "joint-models"]
    assert len(figures) == 4 and "Grambsch-Therneau" in text and "cited" in text
    gids = [ln.get_gid() for ax in figures[0].axes for ln in ax.lines]
    best = result.preferred("aic")
    assert sorted(g for g in gids if g and g.startswith("capped:")) == sorted(
        f"capped:{m}" for m in best.values())
    alone = pages.extrapolation_section(result, "Demo")
    assert "No general-population cap" in " ".join(
        p.data for p in alone if isinstance(p, Markdown))
