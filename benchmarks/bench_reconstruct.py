"""Accuracy and speed of the Guyot reconstruction.

Accuracy: real randomised-trial patient data shipped with lifelines are drawn as a figure
(exact Kaplan-Meier corners, numbers at risk at regular times), reconstructed, and compared
with the truth; then again with simulated hand-digitising noise (about 100 jittered clicks per
arm and a few at-risk times). Speed: the library call only, median of repeated runs.

Run: ``.venv/bin/python benchmarks/bench_reconstruct.py`` (or ``make benchmark``).
"""

from __future__ import annotations

import sys
import timeit
import warnings

import numpy as np
import pandas as pd
from trialrecon import InputError
from trialrecon.analysis import compare_arms, fit_km
from trialrecon.reconstruct import reconstruct, reconstruct_ipd
from trialrecon.validation import (
    EXAMPLES,
    at_risk_table,
    digitise,
    example_trial,
    km_steps,
    regular_times,
)

warnings.simplefilter("ignore")


def km_gap(true: pd.DataFrame, rec: pd.DataFrame) -> float:
    """Largest |S_true(t) - S_rec(t)| over a fine grid of the common follow-up."""
    grid = np.linspace(0, min(true.time.max(), rec.time.max()), 2000)
    a = fit_km(true).survival_function_at_times(grid).to_numpy()
    b = fit_km(rec).survival_function_at_times(grid).to_numpy()
    return float(np.max(np.abs(a - b)))


def accuracy() -> pd.DataFrame:
    rows = []
    settings = [("exact corners, 8 at-risk times", None, 8),
                ("exact corners, 4 at-risk times", None, 4),
                ("100 clicks, jitter 0.2%, 4 at-risk times", 0.002, 4),
                ("100 clicks, jitter 0.5%, 4 at-risk times", 0.005, 4),
                ("100 clicks, jitter 1%, 3 at-risk times", 0.01, 3)]
    for name in EXAMPLES:
        trial = example_trial(name)
        arms = [trial.arms[n] for n in trial.names]
        true = compare_arms(*arms)
        hr_true = true.value("hazard ratio")
        d_true = sum(int(a.event.sum()) for a in arms)
        for label, jitter, count in settings:
            times = regular_times(arms, count)
            repeats = 1 if jitter is None else 20
            hr_err, d_err, gaps, refused = [], [], [], 0
            for seed in range(repeats):
                recs = []
                try:
                    for k, a in enumerate(arms):
                        curve = km_steps(a) if jitter is None else digitise(
                            a, clicks=100, jitter=jitter, seed=1000 * seed + k)
                        recs.append(reconstruct(curve, at_risk_table(a, times),
                                                diagnostics=False).ipd)
                except InputError:
                    refused += 1  # noise beyond what cleaning accepts: refused, as it should
                    continue
                rec = compare_arms(*recs)
                hr_err.append(abs(rec.value("hazard ratio") / hr_true - 1))
                d_err.append(abs(sum(int(r.event.sum()) for r in recs) / d_true - 1))
                gaps.append(max(km_gap(a, r) for a, r in zip(arms, recs, strict=True)))
            rows.append({"dataset": name, "n": sum(len(a) for a in arms), "setting": label,
                         "runs": repeats, "refused": refused, "HR true": round(hr_true, 4),
                         "HR error % (mean)": round(100 * np.mean(hr_err), 2),
                         "HR error % (max)": round(100 * np.max(hr_err), 2),
                         "events error % (max)": round(100 * np.max(d_err), 2),
                         "max |KM gap| (max)": round(float(np.max(gaps)), 4)})
    return pd.DataFrame(rows)


def synthetic_arm(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An arm of ``n`` Weibull patients with censoring, drawn with every step clicked."""
    rng = np.random.default_rng(seed)
    t = rng.weibull(1.2, n) * 12
    c = rng.uniform(0, 40, n)
    ipd = pd.DataFrame({"time": np.round(np.minimum(t, c), 3), "event": (t <= c).astype(int)})
    curve = km_steps(ipd)
    return curve, at_risk_table(ipd, np.arange(0, curve.time.max(), 3.0))


def speed() -> pd.DataFrame:
    rows = []
    for n, target in ((400, 1.0), (10_000, 30.0)):
        curve, table = synthetic_arm(n, seed=n)
        runs = timeit.repeat(lambda c=curve, r=table: reconstruct_ipd(c, r), number=1,
                             repeat=200 if n < 1000 else 50)
        rows.append({"patients": n, "clicks": len(curve), "at-risk rows": len(table),
                     "median ms": round(1e3 * float(np.median(runs)), 3),
                     "target ms": target})
    return pd.DataFrame(rows)


def main() -> int:
    pd.set_option("display.width", 200)
    print("Accuracy against truth (lifelines' bundled randomised trials)")
    print(accuracy().to_string(index=False))
    print("\nSpeed of reconstruct_ipd (library call only, median of repeated runs)")
    table = speed()
    print(table.to_string(index=False))
    return 0 if (table["median ms"] < table["target ms"]).all() else 1


if __name__ == "__main__":
    sys.exit(main())
