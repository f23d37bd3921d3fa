"""Accuracy and speed of the curve road on the patient data bundled with lifelines.

Accuracy: real randomised-trial patient data shipped with lifelines are drawn as a figure
(exact Kaplan-Meier corners, numbers at risk at regular times), reconstructed by each method of
:func:`trialrecon.reconstruct.reconstruct_ipd` and compared with the truth; then again with
simulated hand-digitising noise (about 100 jittered clicks per arm and a few at-risk times).
Speed: the library call only, median of repeated runs, the methods taking turns. The corpus
benchmark (``bench_curve_corpus.py``, 152 real trials) holds the targets; this one is quick.

Run: ``.venv/bin/python benchmarks/bench_reconstruct.py`` (or ``make benchmark``).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd
from trialrecon.reconstruct import METHODS, reconstruct_ipd
from trialrecon.validation import at_risk_table, curve_accuracy, km_steps

warnings.simplefilter("ignore")

#: Patients of the synthetic arms.
SIZES = (400, 10_000)
#: Most the default method may take, as a multiple of Guyot's time on the same arm and run.
SPEED_RATIO = 5.0


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
    for n in SIZES:
        curve, table = synthetic_arm(n, seed=n)
        runs: dict[str, list[float]] = {m: [] for m in METHODS}
        for _ in range(100 if n < 1000 else 20):
            for method in METHODS:
                t0 = time.perf_counter()
                reconstruct_ipd(curve, table, method=method)
                runs[method].append(time.perf_counter() - t0)
        guyot = float(np.median(runs["guyot"]))
        for method in METHODS:
            seconds = float(np.median(runs[method]))
            rows.append({"method": method, "patients": n, "clicks": len(curve),
                         "at-risk rows": len(table), "median ms": round(1e3 * seconds, 3),
                         "x guyot": round(seconds / guyot, 2),
                         "target x guyot": SPEED_RATIO if method == METHODS[0] else np.nan})
    return pd.DataFrame(rows)


def main() -> int:
    pd.set_option("display.width", 200)
    print("Accuracy against truth (lifelines' bundled randomised trials)")
    print(curve_accuracy().round(4).to_string(index=False))
    print("\nSpeed of reconstruct_ipd (library call only, median of repeated runs)")
    table = speed()
    print(table.to_string(index=False))
    judged = table[table.method == METHODS[0]]
    return 0 if (judged["x guyot"] <= judged["target x guyot"]).all() else 1


if __name__ == "__main__":
    sys.exit(main())
