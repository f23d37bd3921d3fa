"""Time to calibrate pseudo patient data to every reconstructable analysis of the registry,
and how many printed figures each reproduces within rounding.

Run: ``.venv/bin/python benchmarks/bench_simulate.py`` (target: under 10 s in total).
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
        judged = fit.table[fit.table.within.notna()
                           & ~fit.table.quantity.str.contains("not calibrated")]
        rows.append({"analysis": a.id, "seconds": round(seconds, 3),
                     "figures within rounding": f"{int(judged.within.sum())}/{len(judged)}",
                     "weibull shape": round(fit.model.shape, 2)})
    total = time.perf_counter() - start
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"\n{len(rows)} analyses in {total:.1f} s (target < 10 s)")
    return 0 if total < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
