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
from lifelines.plotting import add_at_risk_counts

from .analysis import fit_km

COLOURS = ("#1b6ca8", "#c8553d", "#588b8b", "#8e6c8a", "#d4a72c", "#4a4a4a")


def _literal(text: object) -> str:
    """Text for matplotlib that is drawn as typed.

    matplotlib reads text between two ``$`` as mathtext, and a formula it cannot parse (a
    trial or arm name such as ``A $\\frac$ B``) raises while the figure is drawn; ``\\$`` is a
    literal dollar sign.
    """
    return str(text).replace("$", r"\$")


def _at_risk_label(name: object) -> str:
    # lifelines passes each label through str.format once more: braces must be doubled.
    return _literal(name).replace("{", "{{").replace("}", "}}")


def km_plot(arms: Mapping[str, pd.DataFrame], *, title: str = "",
            reported_medians: Mapping[str, float | None] | None = None,
            reported_hr: str | None = None, time_unit: str = "months",
            endpoint: str = "Survival", at_risk_step: float | None = None,
            digitised: Mapping[str, pd.DataFrame] | None = None,
            bands: Mapping[str, pd.DataFrame] | None = None, band_label: str = "",
            warnings: Sequence[str] = (), at_risk_label: str = "At risk") -> plt.Figure:
    """Kaplan-Meier curves of patient data with a numbers-at-risk table underneath.

    Parameters
    ----------
    arms
        Patient data per arm (columns ``time``, ``event``), experimental first.
    reported_medians
        Printed medians per arm, drawn as dashed drop lines marked "reported".
    reported_hr
        Printed HR with CI, shown in a box beside the reconstructed HR.
    digitised
        Digitised curve points per arm (``time``, ``survival``), drawn as dots.
    bands
        A band per arm (``time``, ``lower``, ``upper``), shaded and labelled ``band_label``;
        it replaces the Kaplan-Meier confidence band.
    warnings
        Shown in a red box on the figure, so that an implausible curve never goes unmarked.
    """
    fig, ax = plt.subplots(figsize=(8, 5.2))
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
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_ylabel(f"{_literal(endpoint)} probability")
    ax.set_xlabel(f"Time since randomisation ({_literal(time_unit)})")
    if reported_hr:
        ax.text(0.98, 0.97, _literal(reported_hr), transform=ax.transAxes, ha="right", va="top",
                fontsize=9, bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"})
    if warnings:
        ax.text(0.02, 0.03 if not reported_hr else 0.03, "WARNING\n" + "\n".join(
            _wrap(_literal(w), 70) for w in warnings), transform=ax.transAxes, ha="left",
            va="bottom", fontsize=7.5, color="#8b0000",
            bbox={"boxstyle": "round", "fc": "#fff0f0", "ec": "#8b0000"})
    ax.legend(loc="upper right" if not reported_hr else "center right", fontsize=7.5,
              frameon=True, framealpha=0.85)
    if title:
        ax.set_title(_literal(title), fontsize=11)
    end = max(float(f.timeline.max()) for f in fits)
    step = at_risk_step or _nice_step(end)
    ax.set_xticks(np.arange(0, end + 1e-9, step))
    add_at_risk_counts(*fits, ax=ax, rows_to_show=["At risk"],
                       labels=[_at_risk_label(a) for a in arms])
    if at_risk_label != "At risk":
        # lifelines writes the row title into the first tick label of its own axis.
        for extra in fig.axes[1:]:
            ticks = extra.get_xticklabels()
            if ticks and ticks[0].get_text().startswith("At risk"):
                ticks[0].set_text(ticks[0].get_text().replace("At risk",
                                                              _literal(at_risk_label), 1))
                extra.set_xticks(extra.get_xticks(), ticks)
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _nice_step(end: float) -> float:
    raw = end / 8
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    return min((m * power for m in (1, 2, 3, 5, 10) if m * power >= raw), default=raw)


def forest_plot(rows: pd.DataFrame, *, title: str = "Reported hazard ratios") -> plt.Figure:
    """Forest plot of printed HRs: columns ``label, hr, lower, upper, level, group``.

    Rows are drawn in order, grouped by ``group`` with a gap between groups; the x-axis is
    logarithmic and the CI level is printed beside each interval.
    """
    n = len(rows)
    fig, ax = plt.subplots(figsize=(9, 0.32 * n + 1.6))
    y, ticks, labels, last = 0.0, [], [], None
    for r in rows.itertuples():
        if last is not None and r.group != last:
            y -= 0.6
        last = r.group
        ax.plot([r.lower, r.upper], [y, y], color="#1b6ca8", lw=1.5)
        ax.plot([r.hr], [y], "s", color="#1b6ca8", ms=5)
        ax.text(r.upper * 1.04, y, f"{r.hr:.2f} ({r.lower:.2f}-{r.upper:.2f}), {r.level:g}% CI",
                va="center", fontsize=7)
        ticks.append(y)
        labels.append(_literal(r.label))
        y -= 1
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(ticks, labels, fontsize=7.5)
    ax.set_xlabel("Hazard ratio, experimental vs control (log scale; < 1 favours experimental)")
    lo, hi = rows.lower.min(), rows.upper.max()
    ax.set_xlim(lo / 1.3, hi * 3.5)
    ax.set_title(_literal(title), fontsize=11)
    fig.tight_layout()
    return fig


def accuracy_plot(table: pd.DataFrame, *, x: str, y: str, hue: str,
                  ylabel: str, title: str) -> plt.Figure:
    """Grouped bars of an accuracy table (one bar per ``hue`` within each ``x``)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    groups = list(dict.fromkeys(table[x]))
    hues = list(dict.fromkeys(table[hue]))
    width = 0.8 / len(hues)
    for k, h in enumerate(hues):
        sub = table[table[hue] == h].set_index(x).reindex(groups)
        ax.bar(np.arange(len(groups)) + k * width, sub[y], width, label=_literal(h),
               color=COLOURS[k % len(COLOURS)])
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, [_literal(g) for g in groups])
    ax.set_ylabel(_literal(ylabel))
    ax.set_title(_literal(title), fontsize=11)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def close(figures: Sequence[plt.Figure] | plt.Figure) -> None:
    """Release figures from pyplot, so that a notebook shows each once, where displayed."""
    for f in figures if isinstance(figures, Sequence) else [figures]:
        plt.close(f)
