"""Known-truth material for validating reconstructions.

Real randomised-trial patient data shipped with lifelines are drawn as a publication would
draw them (the exact Kaplan-Meier step corners and a numbers-at-risk table at regular times),
optionally with the noise of a hand digitisation, so that a reconstruction can be compared
with the truth it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import datasets

from .analysis import fit_km


@dataclass(frozen=True)
class ExampleTrial:
    """Patient data of a randomised trial, split by arm (columns ``time``, ``event``)."""

    name: str
    citation: str
    time_unit: str
    arms: dict[str, pd.DataFrame]  # experimental first

    @property
    def names(self) -> tuple[str, str]:
        exp_, ctl = self.arms
        return exp_, ctl


def _split(frame: pd.DataFrame, time: str, event: str, arm: str,
           labels: dict[object, str]) -> dict[str, pd.DataFrame]:
    return {label: pd.DataFrame({"time": frame.loc[frame[arm] == value, time].astype(float),
                                 "event": frame.loc[frame[arm] == value, event].astype(int)}
                                ).reset_index(drop=True)
            for value, label in labels.items()}


def _rossi() -> ExampleTrial:
    return ExampleTrial(
        "rossi", "Rossi, Berk and Lenihan 1980: randomised financial aid after release from "
                 "prison; time to re-arrest (lifelines.datasets.load_rossi)", "weeks",
        _split(datasets.load_rossi(), "week", "arrest", "fin", {1: "financial aid", 0: "none"}))


def _gbsg2() -> ExampleTrial:
    return ExampleTrial(
        "gbsg2", "German Breast Cancer Study Group 2 (Schumacher et al. 1994): hormonal "
                 "therapy; recurrence-free survival (lifelines.datasets.load_gbsg2)", "days",
        _split(datasets.load_gbsg2(), "time", "cens", "horTh", {"yes": "tamoxifen", "no": "none"}))


def _leukemia() -> ExampleTrial:
    return ExampleTrial(
        "leukemia", "Freireich et al. 1963: 6-mercaptopurine vs placebo in acute leukaemia; "
                    "remission duration (lifelines.datasets.load_leukemia)", "weeks",
        _split(datasets.load_leukemia(), "t", "status", "Rx", {0: "6-MP", 1: "placebo"}))


EXAMPLES: dict[str, Callable[[], ExampleTrial]] = {
    "rossi": _rossi, "gbsg2": _gbsg2, "leukemia": _leukemia}


def example_trial(name: str) -> ExampleTrial:
    """One of the bundled randomised trials: ``rossi``, ``gbsg2`` or ``leukemia``."""
    return EXAMPLES[name]()


def km_steps(ipd: pd.DataFrame) -> pd.DataFrame:
    """The exact corners of the Kaplan-Meier curve as a careful digitiser would click them.

    (0, 1), then (event time, survival after the drop) at every event time, then the end of
    the flat tail (last follow-up time, last survival) when follow-up goes on after the last
    event, because a published curve is drawn to its last censoring.
    """
    kmf = fit_km(ipd)
    times = np.unique(ipd.loc[ipd["event"] == 1, "time"].to_numpy(float))
    surv = kmf.survival_function_at_times(times).to_numpy()
    end = float(ipd["time"].max())
    if times.size == 0 or end > times[-1]:
        times, surv = np.r_[times, end], np.r_[surv, surv[-1] if surv.size else 1.0]
    return pd.DataFrame({"time": np.r_[0.0, times], "survival": np.r_[1.0, surv]})


def at_risk_table(ipd: pd.DataFrame, times: np.ndarray) -> pd.DataFrame:
    """Numbers at risk (time >= t) at the given times, as printed under a figure."""
    t = np.sort(ipd["time"].to_numpy(float))
    n = len(t) - np.searchsorted(t, np.asarray(times, float), side="left")
    return pd.DataFrame({"time": np.asarray(times, float), "n_at_risk": n.astype(int)})


def regular_times(ipd_arms: list[pd.DataFrame], count: int) -> np.ndarray:
    """``count`` evenly spaced at-risk times from 0, all within every arm's curve."""
    end = min(float(a["time"].max()) for a in ipd_arms)
    step = end / count
    # Round the step as a journal would (1, 2, 2.5, 5 times a power of ten).
    power = 10 ** np.floor(np.log10(step))
    nice = min((m * power for m in (1, 2, 2.5, 5, 10) if m * power >= step * 0.75),
               key=lambda x: abs(x - step))
    return np.arange(0, end, nice)


def digitise(ipd: pd.DataFrame, *, clicks: int = 100, jitter: float = 0.002,
             seed: int = 0) -> pd.DataFrame:
    """A simulated hand digitisation of the exact curve of ``ipd``.

    ``clicks`` step corners are chosen evenly along the curve (all of them if there are
    fewer) and each is moved by independent normal noise: ``jitter`` times the time range
    in time and ``jitter`` in survival (0.002 is about a pixel on a 500-pixel axis).
    Clicks that the noise pushes before 0 or above 1 are left for the cleaning to repair.
    """
    rng = np.random.default_rng(seed)
    steps = km_steps(ipd)
    corners = steps.iloc[1:]
    if len(corners) > clicks:
        pick = np.unique(np.linspace(0, len(corners) - 1, clicks).round().astype(int))
        corners = corners.iloc[pick]
    span = float(steps["time"].max())
    t = corners["time"].to_numpy() + rng.normal(0, jitter * span, len(corners))
    s = corners["survival"].to_numpy() + rng.normal(0, jitter, len(corners))
    return pd.DataFrame({"time": np.r_[0.0, t], "survival": np.r_[1.0, s]})
