"""Known-truth material for validating reconstructions.

Real randomised-trial patient data shipped with lifelines are drawn as a publication would
draw them (the exact Kaplan-Meier step corners and a numbers-at-risk table at regular times),
optionally with the noise of a hand digitisation, so that a reconstruction can be compared
with the truth it came from.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import datasets

from . import analysis
from .analysis import cox_hr, cox_two_arm, fit_km, median_follow_up
from .errors import InputError


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


#: Digitisation settings of the accuracy study: (label, jitter or None for exact, at-risk rows).
SETTINGS = (("exact corners, 8 at-risk times", None, 8),
            ("exact corners, 4 at-risk times", None, 4),
            ("100 clicks, jitter 0.2%, 4 at-risk times", 0.002, 4),
            ("100 clicks, jitter 0.5%, 4 at-risk times", 0.005, 4),
            ("100 clicks, jitter 1%, 3 at-risk times", 0.01, 3))


def km_gap(true: pd.DataFrame, rec: pd.DataFrame) -> float:
    """Largest |S_true(t) - S_rec(t)| on a fine grid of the common follow-up."""
    grid = np.linspace(0, min(true["time"].max(), rec["time"].max()), 2000)

    def curve(ipd: pd.DataFrame) -> np.ndarray:
        km = analysis.km_steps(ipd["time"].to_numpy(), ipd["event"].to_numpy())
        k = np.searchsorted(km.times, grid, side="right")  # right-continuous, as lifelines
        return np.where(k == 0, 1.0, km.survival[np.maximum(k - 1, 0)])

    return float(np.max(np.abs(curve(true) - curve(rec))))


def _hr(experimental: pd.DataFrame, control: pd.DataFrame) -> float:
    """The Cox HR of two arms by the fast two-arm kernel (:func:`cox_hr` to its tolerance)."""
    both = pd.concat([experimental, control], ignore_index=True)
    x = np.r_[np.ones(len(experimental)), np.zeros(len(control))]
    return cox_two_arm(both["time"].to_numpy(), both["event"].to_numpy(), x).hr


def curve_accuracy(datasets: tuple[str, ...] = tuple(EXAMPLES), settings=SETTINGS,
                   repeats: int = 20, methods: tuple[str, ...] = ("integer", "guyot")
                   ) -> pd.DataFrame:
    """Reconstruct each bundled trial under each digitisation setting with each method of
    :func:`trialrecon.reconstruct.reconstruct`; compare with truth.

    Noisy settings are repeated ``repeats`` times with seeds 0..repeats-1; a digitisation
    that a method refuses is counted, not used.
    """
    return pd.concat([_accuracy(m, datasets, settings, repeats) for m in methods],
                     ignore_index=True)


def _accuracy(method: str, datasets: tuple[str, ...], settings, repeats: int) -> pd.DataFrame:
    from .reconstruct import reconstruct

    rows = []
    for name in datasets:
        trial = example_trial(name)
        arms = [trial.arms[n] for n in trial.names]
        hr_true = _hr(*arms)
        d_true = sum(int(a["event"].sum()) for a in arms)
        for label, jitter, count in settings:
            times = regular_times(arms, count)
            runs = 1 if jitter is None else repeats
            hr_err, d_err, gaps, refused = [], [], [], 0
            for seed in range(runs):
                try:
                    recs = [reconstruct(km_steps(a) if jitter is None else
                                        digitise(a, clicks=100, jitter=jitter,
                                                 seed=1000 * seed + k),
                                        at_risk_table(a, times), method=method,
                                        diagnostics=False).ipd
                            for k, a in enumerate(arms)]
                except InputError:
                    refused += 1
                    continue
                hr_err.append(abs(_hr(*recs) / hr_true - 1))
                d_err.append(abs(sum(int(r["event"].sum()) for r in recs) / d_true - 1))
                gaps.append(max(km_gap(a, r) for a, r in zip(arms, recs, strict=True)))
            def stat(fn, xs):  # every run refused: nothing to summarise
                return float(fn(xs)) if xs else float("nan")
            rows.append({"method": method, "dataset": name,
                         "patients": sum(len(a) for a in arms),
                         "setting": label, "runs": runs, "refused": refused,
                         "HR true": hr_true,
                         "HR error % (mean)": 100 * stat(np.mean, hr_err),
                         "HR error % (max)": 100 * stat(np.max, hr_err),
                         "events error % (max)": 100 * stat(np.max, d_err),
                         "max KM gap (max)": stat(np.max, gaps)})
    return pd.DataFrame(rows)


def summary_recovery(cases: tuple[tuple[float, float, float], ...] = (
        (0.8, 6.0, 0.5), (1.0, 10.0, 0.7), (1.4, 10.0, 0.6), (1.8, 15.0, 0.4)),
        n: int = 600, seed: int = 1) -> pd.DataFrame:
    """Simulate trials from known Weibull PH models, summarise them as a paper would, and
    recover the model with :func:`trialrecon.simulate.fit_summary`.

    ``cases`` are (shape, control scale in months, HR). Censoring is uniform on 12-36 months.
    """
    from .registry import Trial
    from .simulate import fit_summary

    rng = np.random.default_rng(seed)
    rows = []
    for shape, scale_c, hr in cases:
        scale_e = scale_c * hr ** (-1 / shape)
        arms = []
        for scale in (scale_e, scale_c):
            t = scale * rng.weibull(shape, n)
            c = rng.uniform(12, 36, n)
            arms.append(pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)}))
        fit_hr = cox_hr(*arms)
        medians = [f"{float(fit_km(a).median_survival_time_):.1f}" for a in arms]
        trial = Trial.model_validate({
            "trial": "simulated", "name": "Simulated", "company": "-", "drug": "a",
            "comparator": "b", "indication": "-",
            "design": {"phase": "3", "allocation": "1:1", "blinding": "-"},
            "arms": ["a", "b"], "sources": {"sim": "simulated from a known model"},
            "analyses": [{"version": "v", "label": "v", "endpoint": "PFS", "source": "sim",
                          "follow_up": round(median_follow_up(pd.concat(arms)), 1),
                          "arms": {"a": {"n": n, "median": medians[0]},
                                   "b": {"n": n, "median": medians[1]}},
                          "hazard_ratio": {"printed": f"{fit_hr.hr:.2f} ({fit_hr.lower:.2f}-"
                                                     f"{fit_hr.upper:.2f})"}}]})
        fit = fit_summary(trial.analyses[0])
        grid = np.linspace(0.0, 36.0, 145)
        truth = np.exp(-(grid / scale_c) ** shape)
        judged = fit.table[fit.table.within.notna()]
        rows.append({"true shape": shape, "true HR": hr, "printed HR": round(fit_hr.hr, 2),
                     "fitted HR": cox_hr(*(fit.ipd[fit.ipd.arm == x] for x in ("a", "b"))).hr,
                     "true control median": scale_c * math.log(2.0) ** (1 / shape),
                     "model control median": fit.model.median(1),
                     "max |model - true S|, control, 0-36 months":
                         float(np.abs(fit.model.survival(grid, 1) - truth).max()),
                     "figures within rounding": int(judged.within.astype(bool).sum()),
                     "figures": len(judged)})
    return pd.DataFrame(rows)
