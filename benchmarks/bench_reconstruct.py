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
from trialrecon.reconstruct import reconstruct_ipd
from trialrecon.validation import at_risk_table, guyot_accuracy, km_steps

warnings.simplefilter("ignore")


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
    print(guyot_accuracy().round(4).to_string(index=False))
    print("\nSpeed of reconstruct_ipd (library call only, median of repeated runs)")
    table = speed()
    print(table.to_string(index=False))
    return 0 if (table["median ms"] < table["target ms"]).all() else 1


if __name__ == "__main__":
    sys.exit(main())
