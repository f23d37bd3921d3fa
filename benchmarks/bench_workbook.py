"""Speed of the model workbook: two arms of 1,000 patients, 13 models each, monthly cycles
to 40 years (481 rows per arm), with the joint models' sheet.

Simulated, seeded (``numpy.random.default_rng(20240611)``): Weibull times of shape 1.3 and
scale 12 months, censored uniformly on 0 to 36 months. Printed: the fits (once) and the
workbook written from them (best and median of 3). Target: the workbook under 5 s.

    .venv/bin/python benchmarks/bench_workbook.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from trialrecon.extrapolation.joint import joint_models
from trialrecon.extrapolation.workbook import fit_arms, write_workbook


def main() -> None:
    rng = np.random.default_rng(20240611)
    frames = []
    for arm in ("drug", "placebo"):
        t = 12.0 * rng.weibull(1.3, 1000)
        c = rng.uniform(0.0, 36.0, 1000)
        frames.append(pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                                    "arm": arm}))
    ipd = pd.concat(frames, ignore_index=True)
    t0 = time.perf_counter()
    arms = fit_arms(ipd)
    t1 = time.perf_counter()
    joint = joint_models(ipd)
    t2 = time.perf_counter()
    print(f"fits: 13 models x 2 arms {t1 - t0:.2f} s; 10 joint models {t2 - t1:.2f} s")
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(3):
            start = time.perf_counter()
            write_workbook(Path(folder) / "model.xlsx", arms, cycle=1.0, horizon=480.0,
                           source="simulated", joint=joint)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"workbook: best {min(times):.2f} s, median {median:.2f} s of 3 (target < 5 s) "
          f"{'MET' if median < 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
