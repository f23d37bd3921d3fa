"""The curve-reconstruction page's blocks (trialrecon.curve_page), with own files and the
bundled example."""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from trialrecon import curve_page, plots
from trialrecon.errors import InputError
from trialrecon.reconstruct import reconstruct_arms
from trialrecon.validation import at_risk_table, example_trial, km_steps

ENDPOINT = "Time to re-arrest"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Own files: the curves and numbers at risk of a real trial in weeks (Rossi 1980)."""
    folder = tmp_path_factory.mktemp("own")
    arms = example_trial("rossi").arms
    paths = {}
    for arm, ipd in zip(("drugx", "placebo"), arms.values(), strict=True):
        curve, at_risk = folder / f"{arm}_curve.csv", folder / f"{arm}_at_risk.csv"
        km_steps(ipd).to_csv(curve, index=False)
        at_risk_table(ipd, np.arange(0, 52, 10.0)).to_csv(at_risk, index=False)
        paths[f"curve_{'experimental' if arm == 'drugx' else 'control'}"] = str(curve)
        paths[f"at_risk_{'experimental' if arm == 'drugx' else 'control'}"] = str(at_risk)
    return paths


@pytest.fixture(scope="module")
def own(files):
    inputs = curve_page.curve_inputs(**files, endpoint=ENDPOINT, time_unit="weeks")
    results = reconstruct_arms({arm: inputs.curves[arm] for arm in inputs.names},
                               {arm: inputs.tables[arm] for arm in inputs.names})
    return inputs, results, {arm: r.ipd for arm, r in results.items()}


def texts(blocks) -> str:
    """Everything a list of page blocks shows, as text."""
    out = []
    for b in blocks:
        out.append(b.text().to_string() if hasattr(b, "text") else b.data)
    return "\n".join(out)


def test_own_files_names_units_and_no_example(own, files):
    inputs, _, _ = own
    assert inputs.names == ("drugx", "placebo")  # from the file names
    assert not inputs.example and inputs.truth is None
    assert inputs.time_unit == "weeks" and inputs.endpoint == ENDPOINT
    about = inputs.about()
    assert "GBSG2" not in about and "example" not in about and "truth" not in about
    assert "drugx&#95;curve&#46;csv" in about  # the file's name, shown as typed
    assert str(files["curve_control"]).rsplit("/", 1)[0] not in about  # not its folders
    assert "weeks" in about and "Time to re" in about
    assert "drugx vs placebo" in inputs.heading()


def test_explicit_names_endpoint_and_title(files):
    inputs = curve_page.curve_inputs(**files, experimental_name="Drug <X>",
                                     control_name="Placebo", title="My *title*")
    assert inputs.names == ("Drug <X>", "Placebo")
    assert inputs.heading() == "# My &#42;title&#42;"
    assert inputs.endpoint == curve_page.DEFAULT_ENDPOINT
    assert inputs.time_unit == curve_page.DEFAULT_TIME_UNIT


def test_inputs_refused(files):
    partial = {k: v for k, v in files.items() if k != "at_risk_control"}
    with pytest.raises(InputError, match="at_risk_control not given"):
        curve_page.curve_inputs(**partial)
    with pytest.raises(InputError, match="both arms are named"):
        curve_page.curve_inputs(**files, experimental_name="A", control_name="A")
    with pytest.raises(InputError, match="both arms are named"):
        curve_page.curve_inputs(**files, experimental_name="placebo")
    with pytest.raises(InputError, match="in months"):
        curve_page.curve_inputs(time_unit="weeks")


def test_figure_axes_say_endpoint_and_unit(own):
    inputs, results, _ = own
    fig = curve_page.curve_figure(inputs, results)
    try:
        ax = fig.axes[0]
        assert "weeks" in ax.get_xlabel()
        assert ENDPOINT in ax.get_ylabel()
    finally:
        plots.close(fig)


def test_at_risk_sections_are_labelled_tables(own):
    inputs, results, _ = own
    blocks = curve_page.at_risk_sections(results, inputs.time_unit)
    tables = [b for b in blocks if hasattr(b, "text")]
    assert len(tables) == 2
    shown = tables[0].text()
    assert list(shown.columns)[:2] == ["from (weeks)", "to (weeks)"]
    assert shown["from (weeks)"].tolist() == ["0", "10", "20", "30", "40", "50"]
    html = tables[0]._repr_html_()
    assert '<th class="num"' in html and "<tbody>" in html
    assert "drugx" in blocks[0].data


@pytest.mark.parametrize(("end", "unit", "expected"), [
    (87.4, "months", (24, 48, 72)), (20.9, "months", (6, 12, 18)), (52, "weeks", (13, 26, 39)),
    (1000, "days", (365, 730)), (7, "cycles", (2, 4, 6)), (12, "months", (3, 6, 9)),
])
def test_default_landmarks_lie_within_follow_up(end, unit, expected):
    assert curve_page.default_landmarks(end, unit) == expected


def test_landmarks_given_and_past_follow_up(own):
    inputs, _, ipd = own
    assert curve_page.landmark_times("", ipd, "weeks") == (13.0, 26.0, 39.0)
    times = curve_page.landmark_times(" 10, 500,10 ", ipd, "weeks")
    assert times == (10.0, 500.0)
    comparison = curve_page.reanalysis(ipd, times)
    blocks = curve_page.reanalysis_tables(comparison, ipd, inputs.time_unit)
    marks = blocks[1].text()
    beyond = marks[marks.time == "500 weeks"]["survival (95% CI)"].tolist()
    assert beyond == ["not estimable: follow-up ends at 52.0 weeks"] * 2
    within = marks[marks.time == "10 weeks"]["survival (95% CI)"].tolist()
    assert all(s.endswith("%)") for s in within)
    with pytest.raises(InputError, match="not a number"):
        curve_page.landmark_times("6, twelve", ipd)
    with pytest.raises(InputError, match="above 0"):
        curve_page.landmark_times("-3", ipd)


def test_reanalysis_never_shows_inf_nan_or_p_zero(own):
    inputs, _, ipd = own
    comparison = curve_page.reanalysis(ipd, (26,))
    shown = texts(curve_page.reanalysis_tables(comparison, ipd, inputs.time_unit))
    # The curves stay above one half: the medians are not reached.
    assert "NR" in blocks_column(comparison, ipd, inputs, "median, weeks (95% CI)")
    for bad in ("inf", "nan", "p 0.0", " 0.0 "):
        assert bad not in shown
    # An overwhelming difference: the p-value is written in powers of ten, never 0.0.
    n = 400
    strong = {"A": pd.DataFrame({"time": np.full(n, 100.0), "event": np.r_[np.ones(5, int),
                                                                          np.zeros(n - 5, int)]}),
              "B": pd.DataFrame({"time": np.linspace(1, 50, n), "event": np.ones(n, int)})}
    comparison = curve_page.reanalysis(strong, (10,))
    effects = curve_page.reanalysis_tables(comparison, strong, "months")[2].text()
    assert all("× 10" in p or p.startswith("<") for p in effects["p (two-sided)"] if p)
    assert effects["estimate (95% CI)"][0] == "not estimable"  # the arms do not overlap


def blocks_column(comparison, ipd, inputs, column: str) -> str:
    arms = curve_page.reanalysis_tables(comparison, ipd, inputs.time_unit)[0].text()
    return " ".join(arms[column])


def test_truth_only_for_the_example(own):
    inputs, _, ipd = own
    assert curve_page.truth_section(inputs, ipd, (10,)) == []
    line = curve_page.key_figures(curve_page.reanalysis(ipd, (10,)), ipd)
    assert line.startswith("reconstructed HR 0.") and ", events drugx " in line


def test_example_and_reconstructed_vs_true():
    inputs = curve_page.curve_inputs()
    assert inputs.example and inputs.names == ("tamoxifen", "none")
    assert inputs.time_unit == "months" and inputs.endpoint == "Recurrence-free survival"
    assert "GBSG2" in inputs.about()
    table = curve_page.reconstructed_vs_true(inputs.truth, inputs.truth, (12, 36), "months")
    shown = table.text()
    assert list(shown.columns) == ["quantity", "reconstructed (derived)",
                                   "true (derived from the example's patient data)",
                                   "difference"]
    assert "survival at 36 months, none" in shown.quantity.tolist()
    assert set(shown.difference) <= {"+0", "+0.0", "+0.00", "+0.000"}
    assert "inf" not in shown.to_string() and "<th></th>" not in table._repr_html_()
    blocks = curve_page.truth_section(inputs, inputs.truth, (12,))
    assert "Reconstructed vs true" in blocks[0].data
    renamed = curve_page.curve_inputs(experimental_name="TAM", control_name="no therapy")
    assert renamed.names == ("TAM", "no therapy") and list(renamed.truth) == list(renamed.names)


def test_not_reached_median_is_nr_in_the_truth_table():
    ipd = {"A": pd.DataFrame({"time": np.linspace(1, 30, 50), "event": np.r_[np.ones(10, int),
                                                                            np.zeros(40, int)]}),
           "B": pd.DataFrame({"time": np.linspace(1, 30, 50), "event": np.ones(50, int)})}
    shown = curve_page.reconstructed_vs_true(ipd, ipd, (10,)).text()
    median_a = shown[shown.quantity == "median (months), A"]
    assert median_a["reconstructed (derived)"].tolist() == ["NR"]
    assert median_a["difference"].tolist() == [""]


def test_summary_and_downloads_of_own_files(own):
    inputs, results, ipd = own
    comparison = curve_page.reanalysis(ipd, (10, 500))
    text = html.unescape(curve_page.summary(inputs, results, comparison))
    assert text.startswith("**Summary (derived).**")
    assert "drugx vs placebo" in text and "weeks" in text and "GBSG2" not in text
    assert "inf" not in text and "nan" not in text and "p 0.0 " not in text
    assert "median NR" in text  # the curves stay above one half
    tables = curve_page.download_tables(inputs, results, comparison)
    assert list(tables) == ["pseudo_patients", "at_risk", "arms", "landmarks", "effects"]
    patients = tables["pseudo_patients"]
    assert list(patients.columns) == ["arm", "time", "event"]
    assert patients.groupby("arm", sort=False).size().to_dict() == {
        a: len(d) for a, d in ipd.items()}
    assert tables["at_risk"].columns[0] == "arm"


def test_summary_and_downloads_of_the_example():
    inputs = curve_page.curve_inputs()
    results = reconstruct_arms({arm: inputs.curves[arm] for arm in inputs.names},
                               {arm: inputs.tables[arm] for arm in inputs.names})
    ipd = {arm: r.ipd for arm, r in results.items()}
    comparison = curve_page.reanalysis(ipd, curve_page.landmark_times("", ipd, "months"))
    assert list(comparison.landmarks.time.unique()) == [24.0, 48.0, 72.0]
    text = html.unescape(curve_page.summary(inputs, results, comparison))
    assert "every printed number at risk is met exactly" in text
    assert "true patient data give a hazard ratio of 0.69" in text
    tables = curve_page.download_tables(inputs, results, comparison)
    truth = tables["reconstructed_vs_true"]
    assert list(truth.columns) == ["quantity", "reconstructed", "true", "difference"]
    assert truth.reconstructed.map(type).eq(float).all()  # numbers, not text
    assert curve_page.key_figures(comparison, ipd) == (
        "reconstructed HR 0.694, events tamoxifen 94, none 206")


def test_extrapolation_sections_horizon_and_truth(own):
    inputs, _, ipd = own
    # Rebuilt data set against themselves as "truth": every difference is zero and the ranks
    # agree; the table says what it compares.
    from trialrecon.extrapolation import extrapolate

    frame = pd.concat([d.assign(arm=a) for a, d in ipd.items()], ignore_index=True)
    result = extrapolate(frame, horizon=60.0, models=["exponential", "weibull"])
    table = curve_page.extrapolation_vs_true(result, result)
    assert (table.data.difference == 0).all()
    assert (table.data.aic_rank == table.data.aic_rank_true).all()
    assert "RMST to 60 months, rebuilt data" in table._repr_html_()
    blocks, none = curve_page.extrapolation_sections(inputs, ipd, "none")
    assert none is None and "not asked for" in blocks[0].data
    with pytest.raises(InputError, match="horizon 'ten' is not a number"):
        curve_page.extrapolation_sections(inputs, ipd, "ten")
