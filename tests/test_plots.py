"""Figures: numbers at risk labelled derived beside the published ones, legends off the
curves, forest-plot axis, missing accuracy bars marked, axis labels with units."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.cbook import pts_to_poststep  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from trialrecon import plots  # noqa: E402


def _arm(n: int, events: int, end: float = 24.0) -> pd.DataFrame:
    """``events`` events spread over follow-up, everybody else censored at ``end``."""
    times = np.r_[np.linspace(1.0, end - 1.0, events), np.full(n - events, end)]
    return pd.DataFrame({"time": times, "event": np.r_[np.ones(events), np.zeros(n - events)]})


def _upper_right_arms() -> dict[str, pd.DataFrame]:
    # Both curves stay high to the end: experimental near 0.93, placebo at 0.8.
    return {"drug": _arm(100, 7), "placebo": _arm(100, 20)}


def _axes(fig, label: str):
    found = [a for a in fig.axes if a.get_label() == label]
    assert len(found) == 1, [a.get_label() for a in fig.axes]
    return found[0]


def _at_risk_rows(fig) -> dict[str, dict[float, str]]:
    """Row label -> {time: number as drawn} of the numbers-at-risk table."""
    fig.canvas.draw()
    tab = _axes(fig, "numbers at risk")
    rows = {}
    for y, label in zip(tab.get_yticks(), tab.get_yticklabels(), strict=True):
        cells = {round(float(t.get_position()[0]), 6): t.get_text() for t in tab.texts
                 if math.isclose(t.get_position()[1], y)}
        rows[label.get_text()] = cells
    return rows


def _n_at_risk(ipd: pd.DataFrame, times) -> list[str]:
    return [str(int((ipd.time >= t).sum())) for t in times]


def test_km_at_risk_derived_beside_published_at_published_times():
    arms = _upper_right_arms()
    published = {"drug": pd.DataFrame({"time": [0, 5, 10, 20], "n_at_risk": [100, 97, 95, 91]})}
    fig = plots.km_plot(arms, published_at_risk=published)
    rows = _at_risk_rows(fig)
    header = _axes(fig, "numbers at risk").get_title(loc="left")
    plots.close(fig)
    times = [0.0, 5.0, 10.0, 20.0]
    assert "derived" in header.lower()
    assert list(rows) == ["drug (derived)", "drug (published)", "placebo (derived)"]
    assert rows["drug (published)"] == {t: n for t, n in zip(times, ["100", "97", "95", "91"],
                                                             strict=True)}
    for arm in arms:  # derived at the published times, for the arm without a print as well
        assert rows[f"{arm} (derived)"] == dict(zip(times, _n_at_risk(arms[arm], times),
                                                    strict=True))


def test_km_at_risk_without_print_is_derived_on_the_time_grid():
    arms = _upper_right_arms()
    fig = plots.km_plot(arms, at_risk_label="At risk (pseudo data)")
    rows = _at_risk_rows(fig)
    header = _axes(fig, "numbers at risk").get_title(loc="left")
    grid = [float(t) for t in fig.axes[0].get_xticks() if 0 <= t <= 24]
    plots.close(fig)
    assert header.startswith("At risk (pseudo data)") and "derived" in header
    assert list(rows) == ["drug (derived)", "placebo (derived)"]
    for arm, ipd in arms.items():
        assert rows[f"{arm} (derived)"] == dict(zip(grid, _n_at_risk(ipd, grid), strict=True))


def _curve_paths(ax) -> list[np.ndarray]:
    """Display coordinates of every drawn curve point, step corners included."""
    paths = []
    for line in ax.lines:
        xy = np.asarray(line.get_xydata(), float)
        if len(xy) == 0:
            continue
        if line.get_drawstyle() == "steps-post" and len(xy) > 1:
            xy = np.column_stack(pts_to_poststep(xy[:, 0], xy[:, 1]))
        paths.append(line.get_transform().transform(xy))
    return paths


@pytest.mark.parametrize("reported_hr", [None, "Reported HR 0.50 (0.35-0.71)\nReconstructed"])
def test_km_legend_and_boxes_never_cover_a_curve(reported_hr):
    arms = _upper_right_arms()
    digitised = {a: pd.DataFrame({"time": [0.0, 12.0, 24.0], "survival": [1.0, 0.9, 0.85]})
                 for a in arms}
    fig = plots.km_plot(arms, reported_hr=reported_hr, digitised=digitised,
                        reported_medians={"drug": None, "placebo": None},
                        warnings=["curve looks implausible"])
    fig.canvas.draw()
    ax = fig.axes[0]
    legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None] + fig.legends
    assert len(legends) == 1
    boxes = [legends[0].get_window_extent()]
    boxes += [t.get_window_extent() for a in fig.axes for t in a.findobj(Text)
              if t.get_bbox_patch() is not None and t.get_text()]  # HR and warning boxes
    paths = _curve_paths(ax)
    assert paths
    plots.close(fig)
    assert len(boxes) == 2 + (reported_hr is not None)
    for box in boxes:
        for xy in paths:
            inside = ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1)
                      & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1))
            assert not inside.any()
            assert not Path(xy).intersects_bbox(box, filled=False)


def _visible_tick_labels(ax) -> list[str]:
    lo, hi = ax.get_xlim()
    return [t.get_text() for t in ax.get_xticklabels()
            if lo * (1 - 1e-9) <= t.get_position()[0] <= hi * (1 + 1e-9)]


def _forest(intervals) -> pd.DataFrame:
    return pd.DataFrame([{"group": f"g{k // 2}", "label": f"row {k}", "hr": math.sqrt(lo * hi),
                          "lower": lo, "upper": hi, "level": 95.0}
                         for k, (lo, hi) in enumerate(intervals)])


@pytest.mark.parametrize(("intervals", "labels"), [
    ([(0.3, 0.9), (0.6, 1.7), (0.45, 1.1)], ["0.25", "0.5", "1", "2"]),
    ([(0.1, 0.5), (0.8, 3.0)], ["0.0625", "0.125", "0.25", "0.5", "1", "2", "4"]),
    ([(0.55, 0.8), (0.6, 0.95)], ["0.5", "1"]),
])
def test_forest_axis_plain_ticks_and_limits_fit_the_data(intervals, labels):
    fig = plots.forest_plot(_forest(intervals))
    fig.canvas.draw()
    ax = fig.axes[0]
    shown = _visible_tick_labels(ax)
    minor = [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    lo, hi = ax.get_xlim()
    unity = [ln for ln in ax.lines if np.allclose(ln.get_xdata(), 1.0)]
    plots.close(fig)
    assert ax.get_xscale() == "log"
    assert shown == labels and not minor
    data_lo = min(min(i[0] for i in intervals), 1.0)  # the line at 1 is always in view
    data_hi = max(max(i[1] for i in intervals), 1.0)
    assert lo <= min(i[0] for i in intervals) and hi >= max(i[1] for i in intervals)
    # At most one tick step (a factor of 2) beyond the data on either side.
    assert math.log2(data_lo / lo) <= 1 + 1e-9 and math.log2(hi / data_hi) <= 1 + 1e-9
    assert unity


def _accuracy_table(refused_column: bool = True) -> pd.DataFrame:
    rows = [("rossi", "exact", 1, 0, 3.0), ("rossi", "noisy", 5, 5, float("nan")),
            ("gbsg2", "exact", 1, 0, 1.0), ("gbsg2", "noisy", 5, 2, 4.0)]
    table = pd.DataFrame(rows, columns=["dataset", "setting", "runs", "refused", "err"])
    return table if refused_column else table.drop(columns=["refused", "runs"])


def _annotations(ax) -> list[tuple[float, str]]:
    return [(float(t.get_position()[0]), t.get_text()) for t in ax.texts]


def _slot(ax, group: int, hue: int, hues: int) -> tuple[float, float]:
    width = 0.8 / hues
    centre = group + hue * width
    return centre - width / 2, centre + width / 2


def test_accuracy_missing_bar_marked_all_refused_at_its_place():
    fig = plots.accuracy_plot(_accuracy_table(), x="dataset", y="err", hue="setting",
                              ylabel="Mean |HR error| (%)", title="t")
    fig.canvas.draw()
    ax = fig.axes[0]
    notes = _annotations(ax)
    xlabel = ax.get_xlabel()
    plots.close(fig)
    lo, hi = _slot(ax, group=0, hue=1, hues=2)  # rossi, noisy
    marked = [x for x, text in notes if "all refused" in text]
    assert len(marked) == 1 and lo <= marked[0] <= hi
    assert xlabel  # the grouping axis is named


def test_accuracy_missing_bar_without_refusal_counts_says_no_result():
    table = _accuracy_table(refused_column=False)
    table = table[~((table.dataset == "gbsg2") & (table.setting == "exact"))]  # absent row
    fig = plots.accuracy_plot(table, x="dataset", y="err", hue="setting", ylabel="e", title="t")
    fig.canvas.draw()
    ax = fig.axes[0]
    notes = _annotations(ax)
    plots.close(fig)
    places = sorted(x for x, text in notes if text == "no result")
    assert len(places) == 2
    for x, (group, hue) in zip(places, [(0, 1), (1, 0)], strict=True):
        lo, hi = _slot(ax, group, hue, 2)
        assert lo <= x <= hi


def test_accuracy_missing_bar_given_reason_is_drawn_literally():
    fig = plots.accuracy_plot(_accuracy_table(), x="dataset", y="err", hue="setting",
                              ylabel="e", title="t", missing_label="refused: $\\frac$ input")
    fig.canvas.draw()  # a mathtext formula that does not parse would raise here
    notes = [text for _, text in _annotations(fig.axes[0])]
    plots.close(fig)
    assert "refused: \\$\\frac\\$ input" in notes


def test_axis_labels_carry_units_and_endpoint():
    arms = _upper_right_arms()
    fig = plots.km_plot(arms, time_unit="weeks", endpoint="PFS")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Time (weeks)" and ax.xaxis.label.get_visible()
    assert [t.get_text() for t in ax.get_xticklabels() if t.get_visible()][:2] == ["0", "3"]
    assert fig.axes[0].get_ylabel() == "Progression-free survival probability"
    plots.close(fig)
    fig = plots.km_plot(arms)
    assert fig.axes[0].get_xlabel() == "Time (months)"
    assert fig.axes[0].get_ylabel() == "Survival probability"
    plots.close(fig)


def test_km_texts_from_data_are_literal():
    arm = "A $\\frac{1}$ B"
    arms = {arm: _arm(40, 10), "B {x}": _arm(40, 5)}
    published = {arm: pd.DataFrame({"time": [0, 10], "n_at_risk": [40, 30]})}
    fig = plots.km_plot(arms, published_at_risk=published, title=arm, band_label="$x",
                        at_risk_label="At risk $ (derived)", warnings=["$\\frac$"])
    fig.canvas.draw()  # raises if any text is parsed as an unbalanced formula
    rows = _at_risk_rows(fig)
    plots.close(fig)
    assert "A \\$\\frac{1}\\$ B (published)" in rows and "B {x} (derived)" in rows


def teardown_module():
    plt.close("all")
