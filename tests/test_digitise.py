"""Kaplan-Meier figures read from vector PDFs (trialrecon.digitise), against the patient data
they were drawn from (../shared/corpus/figures: one figure per renderer here; the whole set is
measured by benchmarks/bench_digitise.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from trialrecon import paths
from trialrecon.analysis import km_steps
from trialrecon.cli import main
from trialrecon.digitise import digitise
from trialrecon.errors import InputError

FIGURES = paths.ROOT.parent / "shared" / "corpus" / "figures"
needs_figures = pytest.mark.skipif(not (FIGURES / "manifest.csv").exists(),
                                   reason="../shared/corpus/figures is not present")


def _manifest(figure: str) -> pd.Series:
    manifest = pd.read_csv(FIGURES / "manifest.csv")
    return manifest.set_index("figure_id").loc[figure]


def _iae(curve: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Mean |read - true| Kaplan-Meier over [0, the arm's last time], the read curve taken as
    a right-continuous step function through its points."""
    grid = np.linspace(0.0, float(truth.time.max()), 500)
    steps = km_steps(truth.time.to_numpy(float), truth.event.to_numpy(int))
    i = np.searchsorted(steps.times, grid, side="right") - 1
    true = np.where(i >= 0, steps.survival[np.clip(i, 0, None)], 1.0)
    t, s = curve.time.to_numpy(float), curve.survival.to_numpy(float)
    j = np.searchsorted(t, grid, side="right") - 1
    read = np.where(j >= 0, s[np.clip(j, 0, None)], 1.0)
    return float(np.mean(np.abs(read - true)))


@needs_figures
@pytest.mark.parametrize("figure", ["kmfig_d001", "kmfig_d002", "kmfig_d009", "kmfig_d026"])
def test_a_vector_figure_is_read_as_drawn(figure):
    # d001: base R, the at-risk rows named; d002: survminer, percent, the rows keyed by colour;
    # d009: lifelines with confidence bands; d026: lifelines, its numbers at risk right-aligned.
    row = _manifest(figure)
    truth = pd.read_csv(FIGURES.parent / "kmdata" / row.truth_file)
    read = digitise(FIGURES / row.vector_file)
    arms = row.arm_order.split(";")
    assert list(read.arms) == arms  # the legend's names, in its order
    assert read.survival_axis.unit == row.y_scale
    times = [float(x) for x in str(row.risk_times).split(";")]
    for k, arm in enumerate(arms):
        curve, at_risk, _ = read.arm(arm)
        assert _iae(curve, truth[truth.arm == arm]) < 0.001
        assert curve.survival.between(0.0, 1.0).all()
        printed = [int(x) for x in str(row[f"risk_counts_{k + 1}"]).split(";")]
        assert at_risk.time.tolist() == pytest.approx(times)
        assert at_risk.n_at_risk.tolist() == printed


@needs_figures
def test_digitise_writes_what_reconstruct_reads(tmp_path, capsys):
    out = tmp_path / "fig"
    assert main(["digitise", str(FIGURES / "kmfig_d002.pdf"), "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["5fu_bev_at_risk.csv", "5fu_bev_censor_marks.csv", "5fu_bev_curve.csv",
                     "digitised.json", "no_tx_at_risk.csv", "no_tx_censor_marks.csv",
                     "no_tx_curve.csv", "overlay.png"]
    from PIL import Image

    with Image.open(out / "overlay.png") as image:  # the page, at the overlay's resolution
        assert image.size[0] > 500 and image.format == "PNG"
    capsys.readouterr()
    ipd = tmp_path / "ipd.csv"
    assert main(["reconstruct", str(out / "no_tx_curve.csv"), "--at-risk",
                 str(out / "no_tx_at_risk.csv"), "--censor-marks",
                 str(out / "no_tx_censor_marks.csv"), "-o", str(ipd)]) == 0
    assert len(pd.read_csv(ipd)) == 158  # the first number at risk printed for no_tx


def test_what_cannot_be_read_is_refused_in_one_line(tmp_path, capsys):
    raster = tmp_path / "figure.png"
    raster.write_bytes(b"\x89PNG\r\n")
    with pytest.raises(InputError, match="not read yet"):
        digitise(raster)
    fake = tmp_path / "figure.pdf"
    fake.write_text("no PDF here")
    with pytest.raises(InputError, match="cannot be read as a PDF"):
        digitise(fake)
    with pytest.raises(InputError, match="no such file"):
        digitise(tmp_path / "missing.pdf")
    assert main(["digitise", str(fake), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "figure.pdf" in err and "\n" not in err
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_figure_drawn_here_is_read_with_its_names_and_percent_axis(tmp_path):
    # A protocol the corpus does not have: matplotlib's own step plot, arms named in several
    # words, survival in percent, a legend at the lower left, no table.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = {"Drug A + chemo": ([0, 2, 5, 9, 14], [100, 90, 75, 60, 55]),
             "Placebo + chemo": ([0, 1, 3, 6, 12], [100, 80, 60, 45, 30])}
    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, (t, s)), colour in zip(steps.items(), ("tab:red", "tab:green"), strict=True):
        ax.step(t + [16], s + [s[-1]], where="post", color=colour, label=name)
    ax.set_xticks([0, 4, 8, 12, 16])
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.legend(loc="lower left")
    path = tmp_path / "figure.pdf"
    fig.savefig(path)
    plt.close(fig)
    read = digitise(path)
    assert read.arms == tuple(steps)
    assert read.survival_axis.unit == "percent"
    for name, (t, s) in steps.items():
        curve = read.arm(name)[0]
        at = np.searchsorted(curve.time.to_numpy(), np.array(t) + 0.5, side="right") - 1
        assert curve.survival.to_numpy()[at] == pytest.approx(np.array(s) / 100, abs=1e-4)
    assert read.at_risk.empty and any("no numbers at risk" in w for w in read.warnings)
