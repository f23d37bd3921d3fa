"""Figures for people: Kaplan-Meier plots with numbers at risk, forest plots, overlays.

Reported values are drawn beside reconstructed ones and labelled as such. Every text given
to these functions (titles, arm names, labels) is drawn as typed, never as a formula.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullLocator

from .analysis import fit_km, km_steps

COLOURS = ("#1b6ca8", "#c8553d", "#588b8b", "#8e6c8a", "#d4a72c", "#4a4a4a")


def _literal(text: object) -> str:
    """Text for matplotlib that is drawn as typed.

    matplotlib reads text between two ``$`` as mathtext, and a formula it cannot parse (a
    trial or arm name such as ``A $\\frac$ B``) raises while the figure is drawn; ``\\$`` is a
    literal dollar sign.
    """
    return str(text).replace("$", r"\$")


#: Row title of the numbers at risk computed from the (reconstructed or pseudo) patient data.
AT_RISK_LABEL = "At risk, reconstructed (derived)"


def _endpoint_name(endpoint: str) -> str:
    from .registry import ENDPOINT_LABELS

    return ENDPOINT_LABELS.get(endpoint, endpoint)


def _survival_label(endpoint: str) -> str:
    """``Overall survival probability``; an endpoint that is no survival says what is plotted."""
    name = _endpoint_name(endpoint)
    if name.lower().endswith("survival"):
        return f"{_literal(name)} probability"
    return f"Probability free of the event ({_literal(name)})"


def _derived_label(label: str) -> str:
    # Numbers computed from reconstructed data must never pass for printed ones.
    return label if "derived" in label.lower() else f"{label} (derived)"


def _published_table(table: object, arm: str) -> pd.DataFrame:
    frame = table.to_frame() if hasattr(table, "to_frame") else pd.DataFrame(table)
    missing = {"time", "n_at_risk"} - set(frame.columns)
    if missing:
        raise ValueError(f"published numbers at risk of arm {arm!r} lack column(s) "
                         f"{', '.join(sorted(missing))}")
    frame = frame[["time", "n_at_risk"]].apply(pd.to_numeric, errors="coerce").dropna()
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


def _count(n: float) -> str:
    return f"{n:.0f}" if float(n).is_integer() else f"{n:g}"


def _n_at_risk(ipd: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Patients still at risk (time >= t), the convention of printed tables."""
    t = np.sort(ipd["time"].to_numpy(float))
    return len(t) - np.searchsorted(t, np.asarray(times, float), side="left")


def km_plot(arms: Mapping[str, pd.DataFrame], *, title: str = "",
            reported_medians: Mapping[str, float | None] | None = None,
            reported_hr: str | None = None, time_unit: str = "months",
            endpoint: str = "Survival", at_risk_step: float | None = None,
            digitised: Mapping[str, pd.DataFrame] | None = None,
            bands: Mapping[str, pd.DataFrame] | None = None, band_label: str = "",
            warnings: Sequence[str] = (), at_risk_label: str = AT_RISK_LABEL,
            published_at_risk: Mapping[str, pd.DataFrame] | None = None) -> plt.Figure:
    """Kaplan-Meier curves of patient data with a numbers-at-risk table underneath.

    The legend, the HR box and the warnings are drawn beside or below the plotting area,
    never over a curve.

    Parameters
    ----------
    arms
        Patient data per arm (columns ``time``, ``event``), experimental first.
    reported_medians
        Printed medians per arm, drawn as dashed drop lines marked "reported".
    reported_hr
        Printed HR with CI, shown in a box beside the reconstructed HR.
    endpoint
        Endpoint code (``OS``, ``PFS``...) or name; the survival axis is named after it.
    at_risk_step
        Spacing of the time grid (ticks, and at-risk times when nothing is published).
    digitised
        Digitised curve points per arm (``time``, ``survival``), drawn as dots.
    bands
        A band per arm (``time``, ``lower``, ``upper``), shaded and labelled ``band_label``;
        it replaces the Kaplan-Meier confidence band.
    warnings
        Shown in a red box under the figure, so that an implausible curve never goes unmarked.
    at_risk_label
        Title of the table of numbers at risk computed from ``arms``; " (derived)" is added
        when it does not say "derived".
    published_at_risk
        Numbers at risk as printed per arm (columns ``time``, ``n_at_risk``), drawn in a row
        "(published)" under the arm's derived row; the derived numbers are then computed at
        the published times (for every arm, at all published times).
    """
    arms = dict(arms)
    published = {}
    for arm, table in (published_at_risk or {}).items():
        if arm not in arms:
            raise ValueError(f"published numbers at risk for arm {arm!r}, which is not among "
                             f"the arms plotted ({', '.join(map(repr, arms))})")
        if table is not None:
            published[arm] = _published_table(table, arm)
    rows = sum(1 + (a in published) for a in arms)
    warned = [_wrap(_literal(w), 130) for w in warnings]
    warn_lines = sum(w.count("\n") + 1 for w in warned) + 1 if warned else 0
    heights = [4.3, 0.24 * rows + 0.25] + ([0.135 * warn_lines + 0.15] if warned else [])
    fig = plt.figure(figsize=(10.5, sum(heights) + 1.3), layout="constrained")
    grid = fig.add_gridspec(len(heights), 2, width_ratios=[7.2, 3.3], height_ratios=heights)
    ax = fig.add_subplot(grid[0, 0], label="survival")
    tab = fig.add_subplot(grid[1, 0], label="numbers at risk")
    side = fig.add_subplot(grid[0:2, 1], label="legend")
    side.set_axis_off()

    fits = []
    for colour, (arm, ipd) in zip(COLOURS, arms.items(), strict=False):
        name = _literal(arm)
        kmf = fit_km(ipd, label=f"{name} (reconstructed)")
        kmf.plot_survival_function(ax=ax, ci_show=bands is None, color=colour, linewidth=1.8,
                                   show_censors=True, censor_styles={"ms": 4, "marker": "|"})
        fits.append(kmf)
        if bands is not None and arm in bands:
            b = bands[arm]
            ax.fill_between(b["time"], b["lower"], b["upper"], color=colour, alpha=0.15,
                            step=None, lw=0,
                            label=f"{name}: {_literal(band_label)}".rstrip(": "))
        if digitised is not None and arm in digitised:
            d = digitised[arm]
            ax.plot(d["time"], d["survival"], "o", ms=2.5, color=colour, alpha=0.6,
                    label=f"{name} (digitised points)")
        if reported_medians and reported_medians.get(arm) is not None:
            m = reported_medians[arm]
            ax.plot([m, m], [0, 0.5], ls="--", lw=1, color=colour)
            ax.plot([m], [0.5], marker="D", color=colour, ms=6, ls="none",
                    label=f"{name}: reported median {m:g} {_literal(time_unit)}")
    if ax.get_legend() is not None:  # lifelines draws one on the curves
        ax.get_legend().remove()
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(_survival_label(endpoint))
    ax.set_xlabel(f"Time ({_literal(time_unit)})")
    if title:
        ax.set_title(_literal(title), fontsize=11)

    end = max(float(f.timeline.max()) for f in fits)
    step = at_risk_step or _nice_step(end)
    regular = np.arange(0, end + 1e-9, step)
    printed_times = np.unique(np.concatenate([t["time"].to_numpy(float)
                                              for t in published.values()] or [[]]))
    right = max(end, float(printed_times.max()) if printed_times.size else 0.0)
    ax.set_xticks(printed_times if 2 <= printed_times.size <= 16 else regular)
    ax.set_xlim(0, right * 1.02 if right > 0 else 1)
    tab.set_xlim(ax.get_xlim())  # not shared: sharing would hide the time axis's labels

    handles, labels = ax.get_legend_handles_labels()
    legend = side.legend(handles, [_wrap(lb, 44) for lb in labels], loc="upper left",
                         bbox_to_anchor=(0, 1), borderaxespad=0, fontsize=7.5, frameon=True)
    if reported_hr:
        # Below the legend, wrapped to the width of the column so that it stays on the figure.
        side.annotate(_wrap(_literal(reported_hr), 44), xy=(0, 0), xycoords=legend,
                      xytext=(0, -10), textcoords="offset points", ha="left", va="top",
                      fontsize=8,
                      bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"},
                      annotation_clip=False).set_in_layout(False)
    if warned:
        box = fig.add_subplot(grid[2, :], label="warnings")
        box.set_axis_off()
        box.text(0, 1, "WARNING\n" + "\n".join(warned), transform=box.transAxes, ha="left",
                 va="top", fontsize=7.5, color="#8b0000",
                 bbox={"boxstyle": "round", "fc": "#fff0f0", "ec": "#8b0000"})

    _at_risk_table(tab, arms, published, printed_times if printed_times.size else regular,
                   _derived_label(at_risk_label))
    return fig


def _at_risk_table(tab: plt.Axes, arms: Mapping[str, pd.DataFrame],
                   published: Mapping[str, pd.DataFrame], times: np.ndarray,
                   header: str) -> None:
    """Rows "<arm> (derived)" (counted from the data at ``times``, or at the arm's printed
    times) and, where printed, "<arm> (published)" with the numbers as printed."""
    ticks, labels, colours, y = [], [], [], 0.0
    for colour, (arm, ipd) in zip(COLOURS, arms.items(), strict=False):
        printed = published.get(arm)
        at = printed["time"].to_numpy(float) if printed is not None else times
        for t, n in zip(at, _n_at_risk(ipd, at), strict=True):
            tab.text(t, y, _count(n), ha="center", va="center", fontsize=8, color=colour)
        ticks.append(y)
        labels.append(f"{_literal(arm)} (derived)")
        colours.append(colour)
        y -= 1
        if printed is not None:
            for t, n in zip(printed["time"], printed["n_at_risk"], strict=True):
                tab.text(t, y, _count(n), ha="center", va="center", fontsize=8,
                         color="0.25", style="italic")
            ticks.append(y)
            labels.append(f"{_literal(arm)} (published)")
            colours.append("0.25")
            y -= 1
    tab.set_ylim(y + 0.5, 0.5)
    tab.set_yticks(ticks, labels, fontsize=8)
    for label, colour in zip(tab.get_yticklabels(), colours, strict=True):
        label.set_color(colour)
    tab.tick_params(axis="x", bottom=False, labelbottom=False)
    tab.tick_params(axis="y", left=False, pad=16)  # clear of the numbers at time 0
    for spine in tab.spines.values():
        spine.set_visible(False)
    tab.set_title(_literal(header), loc="left", fontsize=8.5)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(line for part in text.split("\n")
                     for line in (textwrap.wrap(part, width) or [""]))


def _nice_step(end: float) -> float:
    raw = end / 8
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    return min((m * power for m in (1, 2, 3, 5, 10) if m * power >= raw), default=raw)


def _log2_axis(lo: float, hi: float, most: int = 9) -> tuple[tuple[float, float], list[float]]:
    """Limits at most one doubling beyond ``lo`` and ``hi`` and ticks at powers of 2."""
    a, b = math.floor(math.log2(lo) + 1e-12), math.ceil(math.log2(hi) - 1e-12)
    left, right = 2.0 ** a, 2.0 ** b
    pad = 2 ** 0.04  # a CI that ends on a tick is not drawn on the frame
    left, right = min(left, lo / pad), max(right, hi * pad)
    every = max(1, math.ceil((b - a + 1) / most))
    ticks = [2.0 ** k for k in range(a, b + 1) if k % every == 0]
    return (left, right), ticks


def forest_plot(rows: pd.DataFrame, *, title: str = "Reported hazard ratios") -> plt.Figure:
    """Forest plot of printed HRs: columns ``label, hr, lower, upper, level, group``.

    Rows are drawn in order, grouped by ``group`` with a gap between groups. The x-axis is
    logarithmic with ticks at powers of 2 (0.25, 0.5, 1, 2, extended only as far as the data
    go) and fits the CIs and the line at 1; each HR with its CI and level is printed in a
    column right of the axes.
    """
    n = len(rows)
    fig, ax = plt.subplots(figsize=(9.5, 0.32 * n + 1.6), layout="constrained")
    ax.set_title(_literal(title), fontsize=11)
    if n == 0:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No hazard ratios to show", ha="center", va="center",
                transform=ax.transAxes)
        return fig
    column = ax.get_yaxis_transform()  # x in axes, y in data coordinates
    y, ticks, labels, last = 0.0, [], [], None
    for r in rows.itertuples():
        if last is not None and r.group != last:
            y -= 0.6
        last = r.group
        ax.plot([r.lower, r.upper], [y, y], color="#1b6ca8", lw=1.5)
        ax.plot([r.hr], [y], "s", color="#1b6ca8", ms=5)
        ax.text(1.02, y, f"{r.hr:.2f} ({r.lower:.2f}-{r.upper:.2f}), {r.level:g}% CI",
                transform=column, va="center", ha="left", fontsize=7)
        ticks.append(y)
        labels.append(_literal(r.label))
        y -= 1
    ax.text(1.02, 0.6, "HR (CI), as reported", transform=column, va="bottom", ha="left",
            fontsize=7, weight="bold")
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log")
    (left, right), xticks = _log2_axis(min(float(rows.lower.min()), 1.0),
                                       max(float(rows.upper.max()), 1.0))
    ax.set_xticks(xticks, [f"{t:g}" for t in xticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(left, right)
    ax.set_ylim(y + 0.4, 0.6 + 0.55)
    ax.set_yticks(ticks, labels, fontsize=7.5)
    ax.set_xlabel("Hazard ratio, experimental vs control (log scale; < 1 favours experimental)")
    return fig


def accuracy_plot(table: pd.DataFrame, *, x: str, y: str, hue: str,
                  ylabel: str, title: str, missing_label: str | None = None,
                  xlabel: str | None = None) -> plt.Figure:
    """Grouped bars of an accuracy table (one bar per ``hue`` within each ``x``).

    A bar without a value (NaN, or no row for the pair) is marked at its place: "all
    refused" when the table's ``refused`` and ``runs`` columns say every run was refused,
    else ``missing_label`` or "no result". A bar from fewer runs than planned says how many
    were refused.
    """
    fig, ax = plt.subplots(figsize=(8, 4.4), layout="constrained")
    groups = list(dict.fromkeys(table[x]))
    hues = list(dict.fromkeys(table[hue]))
    width = 0.8 / max(len(hues), 1)
    counted = {"refused", "runs"} <= set(table.columns)
    for k, h in enumerate(hues):
        sub = table[table[hue] == h].drop_duplicates(x).set_index(x).reindex(groups)
        colour = COLOURS[k % len(COLOURS)]
        places = np.arange(len(groups)) + k * width
        values = pd.to_numeric(sub[y], errors="coerce")
        ax.bar(places, values, width, label=_literal(h), color=colour)
        for place, value, (_, r) in zip(places, values, sub.iterrows(), strict=True):
            refused = r["refused"] if counted else np.nan
            runs = r["runs"] if counted else np.nan
            if pd.isna(value):
                if missing_label is not None:
                    note = _literal(missing_label)
                elif pd.notna(runs) and runs > 0 and refused == runs:
                    note = f"all refused ({refused:g} of {runs:g} runs)"
                else:
                    note = "no result"
                ax.text(place, 0.02, note, transform=ax.get_xaxis_transform(), rotation=90,
                        ha="center", va="bottom", fontsize=7, color=colour)
            elif pd.notna(refused) and refused > 0:
                ax.annotate(f"{refused:g}/{runs:g} refused", (place, value), xytext=(0, 2),
                            textcoords="offset points", rotation=90, ha="center",
                            va="bottom", fontsize=6.5, color=colour)
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, [_literal(g) for g in groups])
    ax.set_xlabel(_literal(xlabel if xlabel is not None else x[:1].upper() + x[1:]))
    ax.set_ylabel(_literal(ylabel))
    top = pd.to_numeric(table[y], errors="coerce").max() if len(table) else np.nan
    ax.set_ylim(0, 1.3 * top if np.isfinite(top) and top > 0 else 1.0)  # room for the notes
    ax.set_title(_literal(title), fontsize=11)
    fig.legend(loc="outside lower center", ncols=min(len(hues), 3), fontsize=8,
               frameon=False)
    return fig


# ----------------------------------------------------------------------------------------
# Extrapolation figures (trialrecon.extrapolation.Extrapolation)

#: Colour and line style of each model of the TSD 14 / TSD 21 set: the same in every figure,
#: standard models solid, splines dashed (hazard scale) or dash-dotted (odds scale).
_MODEL_COLOURS = {
    "exponential": "#1f77b4", "weibull": "#ff7f0e", "gompertz": "#2ca02c",
    "loglogistic": "#d62728", "lognormal": "#9467bd", "gengamma": "#8c564b",
    "gamma": "#e377c2",
}
_SPLINE_COLOURS = {"1": "#17becf", "2": "#bcbd22", "3": "#7f7f7f"}
_KM_COLOUR = "0.1"
_EXTRAPOLATED_SHADE = "0.92"


def _model_style(name: str, k: int) -> tuple[str, str]:
    """Colour and line style of model ``name`` (``k``-th model shown, for names unknown here)."""
    if name in _MODEL_COLOURS:
        return _MODEL_COLOURS[name], "-"
    if name.startswith("spline-"):
        scale, _, knots = name.removeprefix("spline-").rpartition("-")
        colour = _SPLINE_COLOURS.get(knots, COLOURS[k % len(COLOURS)])
        return colour, "--" if scale == "hazard" else "-."
    return COLOURS[k % len(COLOURS)], ":"


def _unit_singular(unit: str) -> str:
    """``months`` -> ``month`` (for "patient-month")."""
    return unit[:-1] if unit.endswith("s") and len(unit) > 1 else unit


def _result_arms(result: object, arms: Sequence[str] | None) -> list[str]:
    known = list(result.arms)
    chosen = known if arms is None else [str(a) for a in arms]
    unknown = [a for a in chosen if a not in known]
    if unknown:
        raise ValueError(f"arm {unknown[0]!r} is not among the arms of the extrapolation "
                         f"({', '.join(map(repr, known))})")
    if not chosen:
        raise ValueError("no arm to plot")
    return chosen


def _result_models(result: object, arm: str, models: Sequence[str] | None
                   ) -> tuple[list[tuple[object, pd.Series]], list[str]]:
    """The converged fits of ``arm`` to draw, lowest AIC first, each with its table row, and
    the labels of the requested models whose fit failed (not drawn)."""
    known = list(result.models)
    names = known if models is None else [str(m) for m in models]
    unknown = [m for m in names if m not in known]
    if unknown:
        raise ValueError(f"model {unknown[0]!r} was not fitted in this extrapolation "
                         f"(fitted: {', '.join(known)})")
    rows = result.table[result.table.arm == arm].set_index("model")
    shown, failed = [], []
    for name in names:
        fit = result.fits[(arm, name)]
        if fit.converged:
            shown.append((fit, rows.loc[name]))
        else:
            failed.append(fit.spec.label)
    shown.sort(key=lambda pair: float(pair[1]["aic"]))
    return shown, failed


def _model_label(fit: object, row: pd.Series, best: bool) -> str:
    label = _literal(fit.spec.label)
    if best:
        return f"{label} (best AIC)" if int(row["aic_rank"]) == 1 else \
            f"{label} (best AIC of those shown)"
    return f"{label}, \N{GREEK CAPITAL LETTER DELTA}AIC {float(row['delta_aic']):.1f}"


def _arm_ipd(result: object, arm: str) -> pd.DataFrame:
    """The arm's patient data (``time``, ``event``) as given to ``extrapolate``."""
    ipd = result.ipd
    if "arm" in ipd.columns:
        ipd = ipd[ipd["arm"].astype(str).to_numpy() == arm]
    return pd.DataFrame({"time": pd.to_numeric(ipd["time"]).to_numpy(float),
                         "event": pd.to_numeric(ipd["event"]).to_numpy(float)})


def _follow_up(result: object, arm: str) -> float:
    return float(result.observed.set_index("arm").loc[arm, "follow_up"])


def _mark_extrapolated(ax: plt.Axes, follow_up: float, horizon: float, unit: str) -> None:
    """Shade the time beyond follow-up, a dashed line at its end, and say so above the axes
    (outside the data area, so that no curve is covered)."""
    if horizon > follow_up:
        ax.axvspan(follow_up, horizon, color=_EXTRAPOLATED_SHADE, lw=0, zorder=0,
                   label=f"extrapolated (beyond {follow_up:.3g} {_literal(unit)})")
    ax.axvline(follow_up, color="0.35", ls="--", lw=1.0, zorder=1, gid="follow-up",
               label=f"end of follow-up ({follow_up:.3g} {_literal(unit)})")
    frac = follow_up / max(horizon, follow_up)
    where = {"xy": (follow_up, 1.0), "xycoords": ax.get_xaxis_transform(),
             "textcoords": "offset points", "va": "bottom", "fontsize": 7.5, "color": "0.3",
             "annotation_clip": False}
    if frac < 0.22:  # too little room left of the line: both to its right
        text = "\N{LEFTWARDS ARROW} end of follow-up"
        ax.annotate(text + ("  |  extrapolated \N{RIGHTWARDS ARROW}"
                            if horizon > follow_up else ""),
                    xytext=(3, 3), ha="left", **where)
    else:
        ax.annotate("end of follow-up", xytext=(-3, 3), ha="right", **where)
        if frac < 0.8:
            ax.annotate("extrapolated \N{RIGHTWARDS ARROW}", xytext=(3, 3), ha="left", **where)


def _time_axis(ax: plt.Axes, right: float, unit: str) -> None:
    ax.set_xlim(0, right)
    ax.set_xticks(np.arange(0, right + 1e-9, _nice_step(right)))
    ax.set_xlabel(f"Time ({_literal(unit)})")


def _side_legend(side: plt.Axes, ax: plt.Axes, failed: Sequence[str], title: str) -> None:
    """The axes' legend in ``side``: the data first, then the models (as drawn, lowest AIC
    first), then the end of follow-up and the extrapolated region."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    last = ("end of follow-up", "extrapolated")
    order = sorted(range(len(labels)), key=lambda j: labels[j].startswith(last))
    handles, labels = [handles[j] for j in order], [labels[j] for j in order]
    if failed:
        handles.append(Line2D([], [], lw=0))
        labels.append("not drawn, fit failed: " + ", ".join(map(_literal, failed)))
    side.legend(handles, [_wrap(lb, 46) for lb in labels], loc="upper left",
                bbox_to_anchor=(0, 1), borderaxespad=0, fontsize=7, frameon=True,
                title=_wrap(title, 40), title_fontsize=7.5, alignment="left")


def _panel_title(result: object, arm: str) -> str:
    row = result.observed.set_index("arm").loc[arm]
    return (f"{_literal(arm)}: {int(row['n'])} patients, {int(row['events'])} events, "
            f"follow-up to {float(row['follow_up']):.3g} {_literal(result.time_unit)}")


def _draw_band(ax: plt.Axes, fit: object, times: np.ndarray, colour: str) -> None:
    """The 95% band of a model's survival from its parameters' uncertainty (delta method on
    log(-log S), :meth:`Fit.survival_band`); nothing where the data do not determine it."""
    if not fit.determined:
        return
    lower, upper = fit.fit.survival_band(times)
    ok = np.isfinite(lower) & np.isfinite(upper)
    if ok.any():
        ax.fill_between(times[ok], lower[ok], upper[ok], color=colour, alpha=0.18, lw=0,
                        zorder=2, gid=f"band:{fit.name}",
                        label=f"95% CI of {_literal(fit.spec.label)} (parameter uncertainty)")


def _draw_capped(ax: plt.Axes, fit: object, times: np.ndarray, population: object) -> None:
    """The model's survival with its hazard held at no less than the general population's
    (:func:`~trialrecon.extrapolation.background.capped`), labelled derived with its table."""
    from .extrapolation.background import capped

    table = population.table
    ax.plot(times, capped(fit.survival(times), times, population), color="0.25", ls=(0, (1, 1)),
            lw=1.6, zorder=3, gid=f"capped:{fit.name}",
            label=f"{_literal(fit.spec.label)}, hazard at least the general population's "
                  f"(derived; life table {_literal(table.name)}: {_literal(table.source)})")


def extrapolation_plot(result: object, *, arms: Sequence[str] | None = None,
                       models: Sequence[str] | None = None, title: str | None = None,
                       show_censors: bool = True,
                       at_risk_label: str = AT_RISK_LABEL, band: bool = True,
                       population: object | None = None) -> plt.Figure:
    """Kaplan-Meier curve and fitted models to the horizon, one panel per arm.

    Each panel shows the Kaplan-Meier curve of the arm's patient data over follow-up (with
    censor ticks), and the fitted survival of each converged model from 0 to
    ``result.horizon``. The time beyond the arm's last observed time is shaded and marked
    "extrapolated", the end of follow-up by a dashed line. The model with the lowest AIC is
    drawn thicker and marked "(best AIC)", with its 95% band from parameter uncertainty;
    the others are listed by AIC with their distance from it. Numbers at risk, counted from
    the patient data, are drawn under each panel and labelled derived. Legends stand right
    of the axes, never over a curve.

    Parameters
    ----------
    result
        An :class:`~trialrecon.extrapolation.Extrapolation`.
    arms
        The arms to draw, in order (default: all).
    models
        The models to draw (default: every converged model); a model whose fit failed is
        listed in the legend as not drawn.
    title
        Figure title.
    show_censors
        Draw censor ticks on the Kaplan-Meier curve.
    at_risk_label
        Title of the numbers-at-risk rows; " (derived)" is added when it does not say so.
    band
        Shade the 95% band of the best model's survival (parameter uncertainty; only the
        best, for more would hide the curves).
    population
        A :class:`~trialrecon.extrapolation.background.Population`: the best model's curve
        is drawn again with its hazard held at no less than the population's (derived).

    Returns
    -------
    matplotlib.figure.Figure
    """
    chosen = _result_arms(result, arms)
    horizon, unit = float(result.horizon), str(result.time_unit)
    heights = [h for _ in chosen for h in (3.3, 0.5)]
    fig = plt.figure(figsize=(10.5, sum(heights) + 0.5 + 0.3 * bool(title)),
                     layout="constrained")
    grid = fig.add_gridspec(len(heights), 2, width_ratios=[7.2, 3.3], height_ratios=heights)
    grid_t = np.linspace(0.0, horizon, 500)
    for i, arm in enumerate(chosen):
        ax = fig.add_subplot(grid[2 * i, 0], label=f"survival: {arm}")
        tab = fig.add_subplot(grid[2 * i + 1, 0], label=f"numbers at risk: {arm}")
        side = fig.add_subplot(grid[2 * i:2 * i + 2, 1], label=f"legend: {arm}")
        side.set_axis_off()
        ipd = _arm_ipd(result, arm)
        end = _follow_up(result, arm)
        _mark_extrapolated(ax, end, horizon, unit)

        km = km_steps(ipd["time"].to_numpy(float), ipd["event"].to_numpy(float))
        x = np.concatenate(([0.0], km.times[km.times < end], [end]))
        y = np.concatenate(([1.0], km.survival[km.times < end],
                            [km.at(end)]))
        ax.plot(x, y, drawstyle="steps-post", color=_KM_COLOUR, lw=1.8, zorder=4, gid="km",
                label="Kaplan-Meier of the data")
        if show_censors:
            censored = np.sort(ipd.loc[ipd["event"] == 0, "time"].to_numpy(float))
            if censored.size:
                k = np.searchsorted(km.times, censored, side="right")
                level = np.where(k > 0, km.survival[np.maximum(k - 1, 0)], 1.0)
                ax.plot(censored, level, ls="none", marker="|", ms=4, color=_KM_COLOUR,
                        zorder=4, gid="censor", label="censored")

        shown, failed = _result_models(result, arm, models)
        for k, (fit, row) in enumerate(shown):
            colour, style = _model_style(fit.name, k)
            best = k == 0
            ax.plot(grid_t, fit.survival(grid_t), color=colour, ls=style,
                    lw=2.6 if best else 1.15, alpha=1.0 if best else 0.9,
                    zorder=3 if best else 2, gid=f"model:{fit.name}",
                    label=_model_label(fit, row, best))
            if best and band:
                _draw_band(ax, fit, grid_t, colour)
            if best and population is not None:
                _draw_capped(ax, fit, grid_t, population)
        ax.axhline(0.5, color="grey", lw=0.6, ls=":", zorder=1)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("Survival probability")
        _time_axis(ax, horizon if horizon > end else 1.02 * end, unit)
        ax.set_title(_panel_title(result, arm), loc="left", fontsize=9.5, pad=14)
        _side_legend(side, ax, failed, f"{_literal(arm)} (models by AIC, lowest first)")

        # Numbers at risk over follow-up only (nobody is observed beyond), on a grid of their
        # own (the time axis runs to the horizon); their times are printed under them.
        step = _nice_step(8 * max(end / 8, horizon / 25))
        times = np.arange(0.0, end + 1e-9, step)
        _at_risk_table(tab, {arm: ipd}, {}, times, _derived_label(at_risk_label))
        tab.set_xlim(ax.get_xlim())
        tab.set_xticks(times, [f"{t:g}" for t in times])
        tab.tick_params(axis="x", labelbottom=True, labelsize=6.5, labelcolor="0.45",
                        length=0, pad=1)
        for text in [*tab.texts, *tab.get_yticklabels()]:
            text.set_color(_KM_COLOUR)
    if title:
        fig.suptitle(_literal(title), fontsize=11)
    return fig


#: The smoothed empirical hazard is drawn only where this many patients are at risk at the end
#: of the kernel window.
_HAZARD_MIN_AT_RISK = 10


def hazard_plot(result: object, *, arms: Sequence[str] | None = None,
                models: Sequence[str] | None = None,
                bandwidth: float | None = None) -> plt.Figure:
    """Smoothed empirical hazard of the data against each model's hazard, one panel per arm.

    The empirical hazard is the kernel-smoothed Nelson-Aalen estimate (lifelines'
    ``NelsonAalenFitter.smoothed_hazard_``, Epanechnikov kernel) with its 95% band. Its
    bandwidth ``b`` is one tenth of the arm's follow-up unless given. It is drawn only at
    times ``s`` whose kernel window ``[s - b, s + b]`` lies within the data: ``s >= b``
    (no boundary bias at 0), ``s + b`` no later than the last event and at least 10
    patients at risk at ``s + b``. Each converged model's hazard is drawn over follow-up and
    on to the horizon, the AIC-best thicker; the time beyond follow-up is shaded. The
    scale is set by the data's hazard and the models' over follow-up: a model that leaves
    it later says from when.

    Parameters
    ----------
    result
        An :class:`~trialrecon.extrapolation.Extrapolation`.
    arms
        The arms to draw, in order (default: all).
    models
        The models to draw (default: every converged model).
    bandwidth
        Kernel bandwidth in the data's time unit (default: follow-up / 10, per arm).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from lifelines import NelsonAalenFitter

    chosen = _result_arms(result, arms)
    horizon, unit = float(result.horizon), str(result.time_unit)
    fig = plt.figure(figsize=(10.5, 3.4 * len(chosen) + 0.4), layout="constrained")
    grid = fig.add_gridspec(len(chosen), 2, width_ratios=[7.2, 3.3])
    grid_t = np.linspace(horizon / 1000.0, horizon, 500)
    for i, arm in enumerate(chosen):
        ax = fig.add_subplot(grid[i, 0], label=f"hazard: {arm}")
        side = fig.add_subplot(grid[i, 1], label=f"legend: {arm}")
        side.set_axis_off()
        ipd = _arm_ipd(result, arm)
        end = _follow_up(result, arm)
        _mark_extrapolated(ax, end, horizon, unit)

        b = float(bandwidth) if bandwidth is not None else end / 10.0
        t, e = ipd["time"].to_numpy(float), ipd["event"].to_numpy(float)
        # Where the kernel window [s - b, s + b] lies within the data: after time 0, before
        # the last event, and with at least _HAZARD_MIN_AT_RISK patients still at risk.
        stop = min(float(t[e == 1].max()),
                   float(np.sort(t)[max(len(t) - _HAZARD_MIN_AT_RISK, 0)])) - b
        inside = np.linspace(b, stop, 200) if stop > b else np.empty(0)
        top = 0.0
        if inside.size:
            naf = NelsonAalenFitter().fit(t, e, timeline=np.union1d(t, inside))
            smooth = naf.smoothed_hazard_(b)
            with np.errstate(divide="ignore", invalid="ignore"):  # 0 away from the grid
                band = naf.smoothed_hazard_confidence_intervals_(b, smooth.to_numpy()[:, 0])
            keep = np.isin(naf.timeline, inside)
            h = smooth.to_numpy()[keep, 0]
            lo, hi = band.to_numpy()[keep, 1], band.to_numpy()[keep, 0]
            ax.plot(inside, h, color=_KM_COLOUR, lw=1.8, zorder=4, gid="empirical hazard",
                    label=f"smoothed Nelson-Aalen (Epanechnikov kernel, bandwidth {b:.3g} "
                          f"{_literal(unit)}{' = follow-up / 10' if bandwidth is None else ''})")
            ax.fill_between(inside, lo, hi, color="0.75", alpha=0.5, lw=0, zorder=1,
                            label="95% band of the smoothed hazard")
            top = float(np.nanmax(h))

        shown, failed = _result_models(result, arm, models)
        # A constant hazard (exponential) comes back as one number.
        curves = [(fit, row, np.broadcast_to(fit.hazard(grid_t), grid_t.shape))
                  for fit, row in shown]
        # The scale: the data's hazard and the models' over the window where it is drawn.
        window = (grid_t >= min(b, end)) & (grid_t <= end)
        for _, _, hz in curves:
            finite = hz[window & np.isfinite(hz)]
            top = max(top, float(finite.max()) if finite.size else 0.0)
        top = 1.35 * top if top > 0 else 1.0
        for k, (fit, row, hz) in enumerate(curves):
            colour, style = _model_style(fit.name, k)
            best = k == 0
            label = _model_label(fit, row, best)
            over = np.flatnonzero((grid_t > end) & (hz > top))
            if over.size:
                label += f" (off scale from {grid_t[over[0]]:.3g})"
            ax.plot(grid_t, hz, color=colour, ls=style, lw=2.6 if best else 1.15,
                    alpha=1.0 if best else 0.9, zorder=3 if best else 2,
                    gid=f"model:{fit.name}", label=label)
        ax.set_ylim(0, top)
        ax.set_ylabel(f"Hazard (events per patient-{_literal(_unit_singular(unit))})")
        _time_axis(ax, horizon if horizon > end else 1.02 * end, unit)
        ax.set_title(_panel_title(result, arm), loc="left", fontsize=9.5, pad=14)
        _side_legend(side, ax, failed, f"{_literal(arm)} (models by AIC, lowest first)")
    return fig


def _safe_log(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(x, 1e-300))


#: What the log cumulative hazard plot shows, printed under it.
LOG_CUMHAZ_CAPTION = (
    "log(-log S(t)) of the Kaplan-Meier curve against log time. Parallel lines suggest "
    "proportional hazards between the arms; straight lines suggest a Weibull model (slope "
    "1: exponential). Crossing or converging lines speak against proportional hazards.")


def log_cumulative_hazard_plot(result: object, *, arms: Sequence[str] | None = None
                               ) -> plt.Figure:
    """Log cumulative hazard of each arm's Kaplan-Meier curve against log time.

    ``log(-log S_KM(t))`` at every event time where ``0 < S_KM < 1``, one step line per arm
    on one axes: the diagnostic for proportional hazards (parallel lines) and for the
    Weibull model (straight lines), as the caption under the figure says. A top axis gives
    the times themselves.

    Parameters
    ----------
    result
        An :class:`~trialrecon.extrapolation.Extrapolation`.
    arms
        The arms to draw, in order (default: all).

    Returns
    -------
    matplotlib.figure.Figure
    """
    chosen = _result_arms(result, arms)
    unit = str(result.time_unit)
    fig = plt.figure(figsize=(9.0, 5.2), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[7.0, 2.0], height_ratios=[4.4, 0.55])
    ax = fig.add_subplot(grid[0, 0], label="log cumulative hazard")
    side = fig.add_subplot(grid[0, 1], label="legend")
    side.set_axis_off()
    lo, hi = math.inf, -math.inf
    for k, arm in enumerate(chosen):
        ipd = _arm_ipd(result, arm)
        km = km_steps(ipd["time"].to_numpy(float), ipd["event"].to_numpy(float))
        ok = (km.survival > 0) & (km.survival < 1) & (km.times > 0)
        x, y = np.log(km.times[ok]), np.log(-np.log(km.survival[ok]))
        if not x.size:
            continue
        ax.plot(x, y, drawstyle="steps-post", color=COLOURS[k % len(COLOURS)], lw=1.6,
                marker="o", ms=2, gid=f"log cumulative hazard:{arm}", label=_literal(arm))
        lo, hi = min(lo, float(x[0])), max(hi, float(x[-1]))
    ax.set_xlabel(f"log time (log {_literal(unit)})")
    ax.set_ylabel("log cumulative hazard")
    if math.isfinite(lo):
        pad = 0.03 * max(hi - lo, 1e-9)
        ax.set_xlim(lo - pad, hi + pad)
        top = ax.secondary_xaxis("top", functions=(np.exp, _safe_log))
        nice = [m * 10.0 ** p for p in range(-3, 6) for m in (1, 2, 5)]
        top.set_xticks([v for v in nice if lo - pad <= math.log(v) <= hi + pad],
                       [f"{v:g}" for v in nice if lo - pad <= math.log(v) <= hi + pad])
        top.xaxis.set_minor_locator(NullLocator())
        top.set_xlabel(f"Time ({_literal(unit)})", fontsize=8.5)
        top.tick_params(labelsize=8)
    ax.grid(color="0.9", lw=0.6)
    side.legend(*ax.get_legend_handles_labels(), loc="upper left", bbox_to_anchor=(0, 1),
                borderaxespad=0, fontsize=8, frameon=True, title="Kaplan-Meier, per arm",
                title_fontsize=8, alignment="left")
    note = fig.add_subplot(grid[1, :], label="caption")
    note.set_axis_off()
    note.text(0, 1, _wrap(LOG_CUMHAZ_CAPTION, 125), transform=note.transAxes, ha="left",
              va="top", fontsize=8, color="0.25")
    return fig


#: How each transform of time of the Grambsch-Therneau test is named on the axis.
TRANSFORMS = {"km": "1 minus the pooled Kaplan-Meier estimate (R cox.zph's default)",
              "rank": "the rank of the time", "identity": "time itself",
              "log": "log time"}


def schoenfeld_plot(test: object, *, time_unit: str = "months", experimental: str = "",
                    control: str = "", title: str | None = None) -> plt.Figure:
    """Scaled Schoenfeld residuals of the treatment against time, with their smooth.

    The residuals of a two-arm Cox model (:class:`~trialrecon.analysis.PHTest`) at each
    event time, the natural-spline smooth that R's ``plot.cox.zph`` draws through them
    (fitted on the test's transform of time, drawn against time) with its band of two
    standard errors, the Cox coefficient as a horizontal line and zero (no effect) dotted.
    A smooth that stays level about the coefficient is what proportional hazards look like;
    the Grambsch-Therneau test's chi-square and p stand in the title.

    Parameters
    ----------
    test
        A :class:`~trialrecon.analysis.PHTest`.
    time_unit
        Unit of the event times, for the axis.
    experimental, control
        The arms coded 1 and 0, named in the axis label.
    title
        Figure title (default: what is plotted and the test's result).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .formatting import number, p_value

    fig = plt.figure(figsize=(10.5, 4.2), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[7.2, 3.3])
    ax = fig.add_subplot(grid[0, 0], label="residuals")
    side = fig.add_subplot(grid[0, 1], label="legend: residuals")
    side.set_axis_off()
    ax.plot(test.times, test.residuals, ls="none", marker="o", ms=2.5, color="0.55",
            alpha=0.6, zorder=2, gid="residuals", label="scaled Schoenfeld residual, one per "
            "event (derived)")
    first = np.r_[True, np.diff(test.transformed) > 0]
    smooth = test.smooth(at=test.transformed[first])
    t = test.times[first]
    ax.fill_between(t, smooth.lower, smooth.upper, color=COLOURS[0], alpha=0.2, lw=0,
                    zorder=1, gid="band", label="band of 2 standard errors")
    ax.plot(t, smooth.fit, color=COLOURS[0], lw=2.2, zorder=3, gid="smooth",
            label="smooth (natural spline, 4 df, as R plot.cox.zph)")
    ax.axhline(test.beta, color=COLOURS[1], lw=1.4, ls="--", zorder=3, gid="cox",
               label=f"Cox coefficient (log hazard ratio) {number(test.beta, 3)}, "
                     f"HR {number(math.exp(test.beta), 2)}")
    ax.axhline(0.0, color="0.3", lw=0.8, ls=":", zorder=1, gid="zero",
               label="0: no effect of treatment")
    low, high = np.percentile(test.residuals, [1, 99])
    span = [min(low, smooth.lower.min(), 0.0), max(high, smooth.upper.max(), 0.0)]
    pad = 0.05 * (span[1] - span[0])
    ax.set_ylim(span[0] - pad, span[1] + pad)
    ax.set_xlim(0, 1.02 * float(test.times.max()))
    arms = f" ({_literal(experimental)} vs {_literal(control)})" if experimental else ""
    ax.set_ylabel("Scaled Schoenfeld residual, β(t)\n(log hazard ratio)")
    ax.set_xlabel(f"Time ({_literal(time_unit)}); smooth fitted on "
                  f"{TRANSFORMS.get(test.transform, test.transform)}")
    result = (f"Grambsch-Therneau test: χ² = {number(test.statistic, 2)} on {test.df} df, "
              f"p = {p_value(test.p)}")
    ax.set_title(_literal(title) + "\n" + result if title else
                 f"Is the hazard ratio{arms} constant over time? (derived)\n" + result,
                 loc="left", fontsize=9.5)
    handles, labels = ax.get_legend_handles_labels()
    side.legend(handles, [_wrap(lb, 46) for lb in labels], loc="upper left",
                bbox_to_anchor=(0, 1), borderaxespad=0, fontsize=7, frameon=True)
    note = ("Outside the plotted range: residuals beyond the 1st and 99th percentiles."
            if (test.residuals < span[0] - pad).any() or (test.residuals > span[1] + pad).any()
            else "")
    if note:
        side.text(0, 0, _wrap(note, 50), transform=side.transAxes, fontsize=7, color="0.3",
                  va="bottom")
    return fig


def close(figures: Sequence[plt.Figure] | plt.Figure) -> None:
    """Release figures from pyplot, so that a notebook shows each once, where displayed."""
    for f in figures if isinstance(figures, Sequence) else [figures]:
        plt.close(f)


def alt_text(figure: plt.Figure) -> str:
    """A description of a figure for people who cannot see it: its title(s) and axes.

    >>> fig, ax = plt.subplots(); _ = ax.set(title="OS", xlabel="Months", ylabel="Survival")
    >>> alt_text(fig)
    'OS: Survival against Months'
    >>> plt.close(fig)
    """
    parts = []
    if figure._suptitle is not None and figure._suptitle.get_text():
        parts.append(figure._suptitle.get_text())
    for ax in figure.axes:
        title, x, y = ax.get_title(), ax.get_xlabel(), ax.get_ylabel()
        if not (title or x or y):
            continue  # a table of numbers at risk, a legend panel
        axes = f"{y} against {x}" if x and y else (y or x)
        parts.append(f"{title}: {axes}" if title and axes else (title or axes))
    text = "; ".join(p.replace("\\$", "$").replace("\n", " ") for p in parts)
    return text or "A figure (no title or axis labels)"


def show_alt_text() -> None:
    """Give every figure a notebook displays its :func:`alt_text` (output metadata ``alt``),
    which the report writes as the image's alternative text. Does nothing outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    def png(figure: Figure) -> tuple[bytes, dict[str, str]]:
        from IPython.core.pylabtools import print_figure

        return print_figure(figure, "png", bbox_inches="tight"), {"alt": alt_text(figure)}

    shell.display_formatter.formatters["image/png"].for_type(Figure, png)
