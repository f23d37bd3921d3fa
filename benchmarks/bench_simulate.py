"""Time to calibrate pseudo patient data to every reconstructable analysis of the registry,
and how many printed figures each reproduces within rounding.

Run: ``.venv/bin/python benchmarks/bench_simulate.py``
(target: at most 1 s per analysis at the median).
"""

from __future__ import annotations

import sys
import time
import warnings

import pandas as pd
from trialrecon.simulate import fit_summary, reconstructable

warnings.simplefilter("ignore")


def main() -> int:
    rows = []
    start = time.perf_counter()
    for a in reconstructable():
        t0 = time.perf_counter()
        fit = fit_summary(a)
        seconds = time.perf_counter() - t0
        judged = fit.table[fit.table.within.notna()]
        lo, hi = fit.model.hazard_ratio_range(fit.follow_up_end)
        rows.append({"analysis": a.id, "seconds": round(seconds, 3),
                     "figures within rounding":
                         f"{int(judged.within.astype(bool).sum())}/{len(judged)}",
                     "findings": len(fit.misses), "warnings": len(fit.warnings),
                     "model HR range": f"{lo:.2f}-{hi:.2f}"})
    total = time.perf_counter() - start
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).to_string(index=False))
    median = float(pd.DataFrame(rows).seconds.median())
    print(f"\n{len(rows)} analyses in {total:.1f} s, median {median:.2f} s per analysis "
          "(target <= 1 s)")
    return 0 if median <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
