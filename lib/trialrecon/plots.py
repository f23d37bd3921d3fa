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

from .analysis import fit_km

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


def close(figures: Sequence[plt.Figure] | plt.Figure) -> None:
    """Release figures from pyplot, so that a notebook shows each once, where displayed."""
    for f in figures if isinstance(figures, Sequence) else [figures]:
        plt.close(f)
