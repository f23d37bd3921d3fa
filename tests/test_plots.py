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


# Extrapolation figures -------------------------------------------------------------------

_EXTRAP_MODELS = ["exponential", "weibull", "lognormal"]
_HORIZON = 120.0


def _simulated_trial(names=("drug", "placebo")) -> pd.DataFrame:
    """150 patients per arm, Weibull event times, censored uniformly from 18 to 36 months."""
    rng = np.random.default_rng(20240611)
    frames = []
    for name, scale, shape in zip(names, (22.0, 13.0), (1.3, 1.0), strict=False):
        t = scale * rng.weibull(shape, 150)
        c = rng.uniform(18.0, 36.0, 150)
        frames.append(pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                                    "arm": name}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def extrapolation():
    from trialrecon.extrapolation import extrapolate

    return extrapolate(_simulated_trial(), horizon=_HORIZON, models=_EXTRAP_MODELS)


def _with_failed_fit(result, arm: str, model: str):
    """``result`` with the fit of ``model`` in ``arm`` marked failed (no fitter)."""
    import dataclasses

    from trialrecon.extrapolation import FittedModel

    fits = dict(result.fits)
    old = fits[(arm, model)]
    fits[(arm, model)] = FittedModel(arm, old.spec, None, old.n, "fit failed: for the test")
    table = result.table.copy()
    table.loc[(table.arm == arm) & (table.model == model), "converged"] = False
    return dataclasses.replace(result, fits=fits, table=table)


def _gid_lines(ax, prefix: str) -> dict[str, object]:
    return {ln.get_gid().removeprefix(prefix): ln for ln in ax.lines
            if (ln.get_gid() or "").startswith(prefix)}


def _arm_data(result, arm: str) -> pd.DataFrame:
    return result.ipd[result.ipd.arm == arm]


def _legend_texts(fig, arm: str) -> list[str]:
    return [t.get_text() for t in _axes(fig, f"legend: {arm}").get_legend().get_texts()]


def _data_x_extent(ax, artist) -> tuple[float, float]:
    box = artist.get_window_extent(ax.figure.canvas.get_renderer())
    xs = ax.transData.inverted().transform([[box.x0, box.y0], [box.x1, box.y1]])[:, 0]
    return float(xs[0]), float(xs[1])


def test_extrapolation_plot_each_converged_model_to_the_horizon(extrapolation):
    result = _with_failed_fit(extrapolation, "drug", "lognormal")
    fig = plots.extrapolation_plot(result, title="Trial")
    fig.canvas.draw()
    preferred = result.preferred("aic")
    for arm in result.arms:
        ax = _axes(fig, f"survival: {arm}")
        drawn = _gid_lines(ax, "model:")
        converged = [m for m in _EXTRAP_MODELS if result.fits[(arm, m)].converged]
        assert sorted(drawn) == sorted(converged)
        assert len(drawn) == (2 if arm == "drug" else 3)
        for model, line in drawn.items():  # each is the model's survival, from 0 to horizon
            x, y = line.get_xdata(), line.get_ydata()
            assert x[0] == 0 and x[-1] == pytest.approx(_HORIZON)
            np.testing.assert_allclose(y, result.fits[(arm, model)].survival(x), rtol=1e-12)
        # The best AIC among those drawn is the thick line marked so, and only it.
        rows = result.table[(result.table.arm == arm) & result.table.converged]
        best = rows.sort_values("aic").model.iloc[0]
        marked = [t for t in _legend_texts(fig, arm) if "(best AIC" in t]
        assert marked == [f"{result.fits[(arm, best)].spec.label} (best AIC"
                          + (")" if best == preferred[arm] else " of those shown)")]
        widths = {m: ln.get_linewidth() for m, ln in drawn.items()}
        assert all(widths[best] > w for m, w in widths.items() if m != best)
        # End of follow-up at the arm's last observed time; shaded from there to the horizon.
        end = float(_arm_data(result, arm).time.max())
        (line,) = _gid_lines(ax, "follow-up").values()
        assert np.allclose(line.get_xdata(), end)
        km = _gid_lines(ax, "km")[""]
        assert km.get_xdata()[-1] == pytest.approx(end) and km.get_drawstyle() == "steps-post"
        (shade,) = [p for p in ax.patches if p.get_label().startswith("extrapolated")]
        lo, hi = _data_x_extent(ax, shade)
        assert lo == pytest.approx(end, abs=0.2) and hi >= _HORIZON - 0.2
        assert ax.get_xlim()[1] >= _HORIZON
        assert ax.get_xlabel() == "Time (months)" and ax.get_ylabel() == "Survival probability"
        notes = " ".join(t.get_text() for t in ax.texts)
        assert "end of follow-up" in notes and "extrapolated" in notes
        top = ax.get_window_extent().y1  # the notes stand above the data area
        assert all(t.get_window_extent().y0 >= top for t in ax.texts)
        assert any("end of follow-up" in t for t in _legend_texts(fig, arm))
    assert "not drawn, fit failed: Log-normal" in _legend_texts(fig, "drug")
    assert not any("fit failed" in t for t in _legend_texts(fig, "placebo"))
    plots.close(fig)


def test_extrapolation_plot_subset_of_arms_and_models(extrapolation):
    fig = plots.extrapolation_plot(extrapolation, arms=["placebo"], models=["weibull"])
    labels = [a.get_label() for a in fig.axes]
    assert [lb for lb in labels if lb.startswith("survival")] == ["survival: placebo"]
    assert list(_gid_lines(_axes(fig, "survival: placebo"), "model:")) == ["weibull"]
    plots.close(fig)
    with pytest.raises(ValueError, match="arm 'nobody'"):
        plots.extrapolation_plot(extrapolation, arms=["nobody"])
    with pytest.raises(ValueError, match="model 'gompertz'"):
        plots.hazard_plot(extrapolation, models=["gompertz"])


def _rows_of(fig, label: str) -> tuple[str, dict[str, dict[float, str]]]:
    """Title and row label -> {time: number as drawn} of a numbers-at-risk axes."""
    fig.canvas.draw()
    tab = _axes(fig, label)
    rows = {}
    for y, text in zip(tab.get_yticks(), tab.get_yticklabels(), strict=True):
        rows[text.get_text()] = {round(float(t.get_position()[0]), 6): t.get_text()
                                 for t in tab.texts if math.isclose(t.get_position()[1], y)}
    return tab.get_title(loc="left"), rows


def test_extrapolation_plot_numbers_at_risk_derived_over_follow_up(extrapolation):
    fig = plots.extrapolation_plot(extrapolation)
    for arm in extrapolation.arms:
        header, rows = _rows_of(fig, f"numbers at risk: {arm}")
        assert "derived" in header.lower()
        assert list(rows) == [f"{arm} (derived)"]
        cells = rows[f"{arm} (derived)"]
        ipd = _arm_data(extrapolation, arm)
        assert len(cells) >= 3 and 0.0 in cells
        assert max(cells) <= ipd.time.max()  # nobody is counted beyond follow-up
        assert cells == dict(zip(cells, _n_at_risk(ipd, list(cells)), strict=True))
    plots.close(fig)


def _covering_boxes(fig) -> list:
    """Legends, and the texts drawn on or beside the data axes (follow-up notes)."""
    boxes = [a.get_legend().get_window_extent() for a in fig.axes if a.get_legend()]
    boxes += [t.get_window_extent() for a in fig.axes for t in a.texts
              if a.get_label().startswith(("survival", "hazard", "log cumulative"))]
    return boxes


@pytest.mark.parametrize("figure", ["extrapolation_plot", "hazard_plot",
                                    "log_cumulative_hazard_plot"])
def test_extrapolation_legends_and_notes_never_cover_a_curve(extrapolation, figure):
    fig = getattr(plots, figure)(_with_failed_fit(extrapolation, "placebo", "weibull"))
    fig.canvas.draw()
    data_axes = [a for a in fig.axes
                 if a.get_label().startswith(("survival", "hazard", "log cumulative"))]
    boxes = _covering_boxes(fig)
    legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    assert len(legends) == (1 if figure == "log_cumulative_hazard_plot" else 2)
    paths = [xy for ax in data_axes for xy in _curve_paths(ax)]
    assert data_axes and paths
    page = fig.bbox
    plots.close(fig)
    for box in boxes:
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 <= box.y1 <= page.y1
        for xy in paths:
            inside = ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1)
                      & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1))
            assert not inside.any()
            assert not Path(xy).intersects_bbox(box, filled=False)


def _smoothed_nelson_aalen(time, event, at, bandwidth):
    """Epanechnikov-smoothed Nelson-Aalen hazard, by hand (no ties in the data)."""
    order = np.argsort(time)
    t, e = np.asarray(time)[order], np.asarray(event)[order]
    jumps = e / (len(t) - np.arange(len(t)))
    u = (np.asarray(at)[:, None] - t[None, :]) / bandwidth
    kernel = np.where(np.abs(u) < 1, 0.75 * (1 - u ** 2), 0.0)
    return kernel @ jumps / bandwidth


def test_hazard_plot_models_and_smoothed_empirical_hazard(extrapolation):
    fig = plots.hazard_plot(extrapolation)
    fig.canvas.draw()
    for arm in extrapolation.arms:
        ax = _axes(fig, f"hazard: {arm}")
        ipd = _arm_data(extrapolation, arm)
        assert ipd.time.is_unique
        end = float(ipd.time.max())
        drawn = _gid_lines(ax, "model:")
        assert sorted(drawn) == sorted(_EXTRAP_MODELS)
        for model, line in drawn.items():
            x, y = line.get_xdata(), line.get_ydata()
            assert x[-1] == pytest.approx(_HORIZON) and x[0] < 0.01 * _HORIZON
            np.testing.assert_allclose(y, np.broadcast_to(
                extrapolation.fits[(arm, model)].hazard(x), x.shape), rtol=1e-12)
        (empirical,) = _gid_lines(ax, "empirical hazard").values()
        x, y = empirical.get_xdata(), empirical.get_ydata()
        b = end / 10  # the stated rule
        last_event = float(ipd.time[ipd.event == 1].max())
        assert x[0] == pytest.approx(b) and x[-1] <= last_event - b + 1e-9
        assert (ipd.time >= x[-1] + b).sum() >= 10  # at least 10 at risk in every window
        np.testing.assert_allclose(y, _smoothed_nelson_aalen(ipd.time, ipd.event, x, b),
                                   rtol=1e-9)
        assert any(f"bandwidth {b:.3g} months" in t for t in _legend_texts(fig, arm))
        assert ax.get_ylabel() == "Hazard (events per patient-month)"
        assert ax.get_xlabel() == "Time (months)" and ax.get_xlim()[1] >= _HORIZON
        assert np.allclose(_gid_lines(ax, "follow-up")[""].get_xdata(), end)
    plots.close(fig)


def test_log_cumulative_hazard_points_are_log_minus_log_km(extrapolation):
    from lifelines import KaplanMeierFitter

    fig = plots.log_cumulative_hazard_plot(extrapolation)
    fig.canvas.draw()
    ax = _axes(fig, "log cumulative hazard")
    lines = _gid_lines(ax, "log cumulative hazard:")
    assert list(lines) == list(extrapolation.arms)
    for arm, line in lines.items():
        ipd = _arm_data(extrapolation, arm)
        kmf = KaplanMeierFitter().fit(ipd.time, ipd.event)
        x, y = line.get_xdata(), line.get_ydata()
        assert line.get_drawstyle() == "steps-post"
        events = np.sort(ipd.time[ipd.event == 1].to_numpy())
        for t in np.quantile(events, [0.1, 0.4, 0.7, 0.95]):
            drawn = y[np.searchsorted(x, math.log(t), side="right") - 1]
            s = float(kmf.predict(t))
            assert drawn == pytest.approx(math.log(-math.log(s)), rel=1e-9, abs=1e-12)
        assert x[0] == pytest.approx(math.log(events[0]))
    assert ax.get_xlabel() == "log time (log months)"
    assert ax.get_ylabel() == "log cumulative hazard"
    caption = " ".join(t.get_text() for t in _axes(fig, "caption").texts)
    assert "Parallel" in caption and "proportional hazards" in caption
    assert "straight" in caption and "Weibull" in caption
    plots.close(fig)


def test_extrapolation_figures_draw_arm_names_literally():
    from trialrecon.extrapolation import extrapolate

    arm = "A $\\frac{1}$ B"
    result = extrapolate(_simulated_trial((arm, "B {x}")), horizon=60.0, models=["weibull"],
                         time_unit="weeks")
    for figure in (plots.extrapolation_plot, plots.hazard_plot,
                   plots.log_cumulative_hazard_plot):
        fig = figure(result)
        fig.canvas.draw()  # raises if any text is parsed as an unbalanced formula
        plots.close(fig)
    fig = plots.hazard_plot(result)
    assert _axes(fig, f"hazard: {arm}").get_ylabel() == "Hazard (events per patient-week)"
    plots.close(fig)


def test_extrapolation_plot_band_of_the_best_model_is_its_delta_method_band():
    # The exponential alone: log(-log S(t)) = log(rate) + log t, and log(rate) has standard
    # error 1 / sqrt(events), so the band is exp(-rate t exp(-+1.96 / sqrt(d))).
    from trialrecon.extrapolation import extrapolate

    d = _simulated_trial()
    result = extrapolate(d, horizon=_HORIZON, models=["exponential", "weibull"],
                         joint_models=())
    fig = plots.extrapolation_plot(result, models=["exponential"])
    for arm in result.arms:
        ax = _axes(fig, f"survival: {arm}")
        (band,) = [c for c in ax.collections if (c.get_gid() or "").startswith("band:")]
        assert band.get_gid() == "band:exponential" and "95% CI" in band.get_label()
        g = _arm_data(result, arm)
        rate, events = g.event.sum() / g.time.sum(), g.event.sum()
        t, y = band.get_paths()[0].vertices.T
        inner = t > 0
        lower = np.exp(-rate * t * np.exp(1.959964 / np.sqrt(events)))
        upper = np.exp(-rate * t * np.exp(-1.959964 / np.sqrt(events)))
        on_edge = np.isclose(y, lower, rtol=1e-4) | np.isclose(y, upper, rtol=1e-4)
        assert on_edge[inner].all() and np.isclose(y, lower, rtol=1e-4)[inner].any()
    plots.close(fig)
    fig = plots.extrapolation_plot(result, band=False)
    assert not any((c.get_gid() or "").startswith("band:") for ax in fig.axes
                   for c in ax.collections)
    plots.close(fig)


def test_capped_curve_falls_at_least_as_fast_as_the_population_and_says_so():
    # Patients of 85 whose disease kills slowly (0.2% a month, under the population's ~1%):
    # the cap binds.
    from trialrecon.extrapolation import extrapolate
    from trialrecon.extrapolation.background import Population, life_table

    rng = np.random.default_rng(4)
    t = rng.exponential(500.0, 400)
    c = rng.uniform(18.0, 36.0, 400)
    d = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                      "arm": np.repeat(["drug", "placebo"], 200)})
    extrapolation = extrapolate(d, horizon=_HORIZON, models=["exponential"], joint_models=())
    population = Population(life_table("us-2014"), 85.0, 0.5, "months")
    fig = plots.extrapolation_plot(extrapolation, population=population)
    best = extrapolation.preferred("aic")
    for arm in extrapolation.arms:
        ax = _axes(fig, f"survival: {arm}")
        line = _gid_lines(ax, "capped:")[best[arm]]
        t, s = line.get_xdata(), line.get_ydata()
        model = extrapolation.fits[(arm, best[arm])].survival(t)
        pop = population.survival(t)
        assert s[0] == 1 and (s <= model + 1e-12).all()
        # over every step, at least the population's fall and at least the model's
        assert (s[1:] / s[:-1] <= pop[1:] / pop[:-1] + 1e-12).all()
        assert (s[1:] / s[:-1] <= model[1:] / model[:-1] + 1e-12).all()
        assert s[-1] < 0.5 * model[-1]  # the population's hazard binds
        label = line.get_label()
        assert "derived" in label and "us-2014" in label and "2014" in label
    plots.close(fig)


def test_schoenfeld_plot_residuals_smooth_cox_line_and_test_result():
    from trialrecon import formatting
    from trialrecon.analysis import proportional_hazards_test

    d = _simulated_trial()
    test = proportional_hazards_test(d.time, d.event, (d.arm == "drug").to_numpy(float))
    fig = plots.schoenfeld_plot(test, time_unit="months", experimental="drug",
                                control="placebo")
    ax = _axes(fig, "residuals")
    lines = _gid_lines(ax, "")
    np.testing.assert_array_equal(lines["residuals"].get_xdata(), test.times)
    np.testing.assert_array_equal(lines["residuals"].get_ydata(), test.residuals)
    assert np.allclose(lines["cox"].get_ydata(), test.beta)
    assert np.allclose(lines["zero"].get_ydata(), 0.0)
    # The smooth at each distinct event time; the band around it.
    x = lines["smooth"].get_xdata()
    assert np.all(np.diff(x) > 0) and set(x) == set(test.times)
    (band,) = [c for c in ax.collections if c.get_gid() == "band"]
    yb = band.get_paths()[0].vertices[:, 1]
    y = lines["smooth"].get_ydata()
    assert yb.min() < y.min() and yb.max() > y.max()
    title = ax.get_title(loc="left")
    assert f"χ² = {test.statistic:.2f}" in title and formatting.p_value(test.p) in title
    assert "drug vs placebo" in title
    assert ax.get_xlabel().startswith("Time (months)") and "Kaplan-Meier" in ax.get_xlabel()
    assert "Scaled Schoenfeld residual" in ax.get_ylabel()
    plots.close(fig)
