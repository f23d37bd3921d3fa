"""Time and peak memory of the commands up to the largest inputs they accept.

``trialrecon.limits`` bounds the inputs (10 million patients per arm, a million clicks). This
script runs ``trialrecon reconstruct`` (both methods) and ``trialrecon compare`` on synthetic
inputs of growing size up to those bounds, each in a fresh process, and prints wall time and
peak resident memory, with the growth from one size to the next: about linear means the ratio
of times (and of the memory above the interpreter's own) follows the ratio of sizes. Inputs
past the bounds are refused up front (checked last).

Run: ``.venv/bin/python benchmarks/bench_limits.py`` (a few minutes; writes into a temporary
folder). ``--quick`` stops at a million patients.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from trialrecon.limits import MAX_CLICKS, MAX_PATIENTS

RUNNER = """
import resource, sys
from trialrecon.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code or 0
finally:
    print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def run(argv: list[str]) -> tuple[int, float, float, str]:
    """Exit code, seconds, peak MB and the last stderr line of ``trialrecon argv``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUNNER, *argv], capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - start
    lines = done.stderr.strip().splitlines()
    peak = next((int(x.split()[1]) / 1024 for x in lines if x.startswith("PEAK_KB")),
                float("nan"))
    other = [x for x in lines if not x.startswith("PEAK_KB")]
    return done.returncode, seconds, peak, other[-1] if other else ""


def arm_files(folder: Path, n: int, clicks: int) -> tuple[Path, Path, Path]:
    """A Weibull arm of ``n`` patients: its curve read at ``clicks`` points along the path,
    the at-risk table every 3 months, and the patient data itself."""
    rng = np.random.default_rng(n)
    t = rng.weibull(1.2, n) * 12.0
    c = rng.uniform(0.0, 40.0, n)
    time_ = np.round(np.minimum(t, c), 3)
    event = (t <= c).astype(np.int8)
    order = np.argsort(time_, kind="stable")
    ts, es = time_[order], event[order]
    at_risk = n - np.arange(n)
    # Kaplan-Meier at the last of each run of equal times, then thinned to ``clicks`` points.
    last = np.r_[ts[1:] != ts[:-1], True]
    surv = np.cumprod(1.0 - es / at_risk)[last]
    grid = np.unique(np.linspace(0, len(surv) - 1, clicks).round().astype(int))
    curve = pd.DataFrame({"time": np.r_[0.0, ts[last][grid]], "survival": np.r_[1.0,
                                                                                surv[grid]]})
    rows = np.arange(0.0, float(ts[-1]), 3.0)
    table = pd.DataFrame({"time": rows, "n_at_risk": n - np.searchsorted(ts, rows, "left")})
    paths = (folder / f"curve_{n}.csv", folder / f"risk_{n}.csv", folder / f"ipd_{n}.csv")
    curve.to_csv(paths[0], index=False)
    table.to_csv(paths[1], index=False)
    pd.DataFrame({"time": time_, "event": event}).to_csv(paths[2], index=False)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="stop at a million patients")
    args = parser.parse_args(argv)
    sizes = [10_000, 100_000, 1_000_000] + ([] if args.quick else [MAX_PATIENTS])
    print(f"bounds: {MAX_PATIENTS:,} patients per arm, {MAX_CLICKS:,} clicks")
    failures = 0
    _, base_s, base_mb, _ = run(["--help"])
    print(f"start-up of a fresh process (imports): {base_s:.2f} s, {base_mb:.0f} MB; the "
          "figures below are what each command adds to it")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = []
        for n in sizes:
            curve, risk, ipd = arm_files(folder, n, clicks=2_000)
            jobs = {"reconstruct integer": ["reconstruct", str(curve), "--at-risk", str(risk),
                                            "-o", str(folder / "out.csv")],
                    "reconstruct guyot": ["reconstruct", str(curve), "--at-risk", str(risk),
                                          "--method", "guyot", "-o", str(folder / "out.csv")],
                    "compare": ["compare", str(ipd), str(ipd), "--landmarks", "12"]}
            for name, command in jobs.items():
                code, seconds, peak, last = run(command)
                seconds, peak = seconds - base_s, peak - base_mb
                failures += code != 0
                rows.append({"command": name, "patients per arm": n, "exit": code,
                             "seconds": seconds, "peak MB": peak})
                print(f"{name:20s} {n:>12,} patients: exit {code}, +{seconds:6.2f} s, "
                      f"+{peak:6.0f} MB" + (f"  ({last})" if code else ""), flush=True)
        # The most clicks accepted: a smooth curve read at a million points, a million
        # patients at risk every 3 months of 36.
        times = np.linspace(0.0, 36.0, MAX_CLICKS)
        curve = folder / "clicks.csv"
        pd.DataFrame({"time": times, "survival": np.exp(-times / 20.0)}).to_csv(curve,
                                                                                  index=False)
        rows_t = np.arange(0.0, 36.0, 3.0)
        risk = folder / "clicks_risk.csv"
        pd.DataFrame({"time": rows_t, "n_at_risk": np.round(
            1_000_000 * np.exp(-rows_t / 20.0) * (1 - rows_t / 40.0)).astype(int)}).to_csv(
            risk, index=False)
        for method in ("integer", "guyot"):
            code, seconds, peak, last = run(["reconstruct", str(curve), "--at-risk", str(risk),
                                             "--method", method, "-o", str(folder / "o.csv")])
            failures += code != 0
            print(f"reconstruct {method:8s} {MAX_CLICKS:>9,} clicks: exit {code}, "
                  f"+{seconds - base_s:6.2f} s, +{peak - base_mb:6.0f} MB"
                  + (f"  ({last})" if code else ""), flush=True)
        # Past the bounds: refused up front, quickly.
        over = folder / "over.csv"
        over.write_text(f"time,n_at_risk\n0,{MAX_PATIENTS + 1}\n3,10\n")
        code, seconds, peak, last = run(["reconstruct", str(curve), "--at-risk", str(over),
                                         "-o", str(folder / "o.csv")])
        print(f"past the bound: exit {code} in {seconds:.2f} s, peak {peak:.0f} MB: {last}")
        failures += code != 2
    table = pd.DataFrame(rows)
    print("\ngrowth per tenfold size, over the start-up (seconds ratio; memory ratio):")
    for name, group in table.groupby("command", sort=False):
        g = group.reset_index(drop=True)
        steps = [f"{g['patients per arm'][k]:,}->{g['patients per arm'][k + 1]:,}: "
                 f"x{g.seconds[k + 1] / g.seconds[k]:.1f} s, "
                 f"x{g['peak MB'][k + 1] / g['peak MB'][k]:.1f} MB" for k in range(len(g) - 1)]
        print(f"  {name}: " + "; ".join(steps))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
