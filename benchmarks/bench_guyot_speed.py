"""Speed of the Guyot road, this tree against an older library on identical inputs.

Measures the library call ``reconstruct_ipd(curve, table, method="guyot")`` (cleaning of the
curve and the at-risk table, Guyot's algorithm, the patient frame; no diagnostics) on the
synthetic arms of ``bench_reconstruct.py``: ``synthetic_arm(n, seed=n)`` for n = 400 and 10,000
(Weibull times, uniform censoring, every Kaplan-Meier step corner clicked, numbers at risk every
3 months). Reported: the median of 200 runs (400 patients) and of 30 runs (10,000 patients) per
library, after a few untimed warm-up calls.

The inputs are built once, by this tree, and pickled to a temporary file. Each library runs in
its own long-lived subprocess (``PYTHONPATH`` set to its ``lib`` folder) that reads that file,
so both see bit-identical frames. The runs are interleaved: the parent asks each worker in turn
for a small batch of runs (alternating which goes first), so that load from other processes or
a change of clock speed falls on both alike. A library from before the ``method`` argument
(commit b4e6727 and earlier) is called without it (Guyot was its only method). The script also
says whether both rebuilt the same patients (as a sorted list of (time, event)).

Run::

    .venv/bin/python benchmarks/bench_guyot_speed.py                  # this tree only
    git worktree add /tmp/old b4e6727
    .venv/bin/python benchmarks/bench_guyot_speed.py --old /tmp/old/lib
    git worktree remove /tmp/old

``--new PATH`` times another lib folder in place of this tree's (a worktree of another commit,
say). Exit status 1 when ``--old`` is given and the new library is slower than the old one at
any size (ratio new / old above 1 + ``--slack``, default 0).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Patients of the synthetic arms: (timed runs per library, runs per interleaved batch).
RUNS = {400: (200, 10), 10_000: (30, 3)}
#: Untimed calls before timing (imports, caches).
WARMUP = 3
#: This tree's library.
LIB = Path(__file__).resolve().parents[1] / "lib"


def build_inputs() -> dict[int, tuple]:
    """The arms of ``bench_reconstruct.synthetic_arm`` (same code, this tree's validation)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_reconstruct import synthetic_arm

    return {n: synthetic_arm(n, seed=n) for n in RUNS}


def worker(inputs: Path) -> None:
    """Serve timing requests on stdin (``n runs``) with the library first on ``sys.path``
    (the parent sets PYTHONPATH); answer one JSON line each on stdout."""
    import inspect
    import warnings

    import trialrecon
    from trialrecon.reconstruct import reconstruct_ipd

    warnings.simplefilter("ignore")
    arms = pickle.loads(inputs.read_bytes())
    kwargs = ({"method": "guyot"} if "method" in inspect.signature(reconstruct_ipd).parameters
              else {})
    patients = {}
    for n, (curve, table) in arms.items():
        for _ in range(WARMUP):
            ipd = reconstruct_ipd(curve, table, **kwargs)
        patients[n] = sorted(zip(ipd["time"].tolist(), ipd["event"].tolist(), strict=True))
    print(json.dumps({"library": str(Path(trialrecon.__file__).parent),
                      "patients": {str(n): p for n, p in patients.items()}}), flush=True)
    for line in sys.stdin:
        n, count = map(int, line.split())
        curve, table = arms[n]
        seconds = []
        for _ in range(count):
            t0 = time.perf_counter()
            reconstruct_ipd(curve, table, **kwargs)
            seconds.append(time.perf_counter() - t0)
        print(json.dumps(seconds), flush=True)


class Worker:
    """A timing subprocess on the library in ``lib``."""

    def __init__(self, lib: Path, inputs: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(lib.resolve())}
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", str(inputs)],
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.info = json.loads(self.proc.stdout.readline())
        self.seconds: dict[int, list[float]] = {n: [] for n in RUNS}

    def batch(self, n: int, count: int) -> None:
        self.proc.stdin.write(f"{n} {count}\n")
        self.proc.stdin.flush()
        self.seconds[n] += json.loads(self.proc.stdout.readline())

    def median_ms(self, n: int) -> float:
        x = sorted(self.seconds[n])
        return 1e3 * (x[len(x) // 2] + x[(len(x) - 1) // 2]) / 2

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, help="lib folder of an older tree (a worktree)")
    parser.add_argument("--new", type=Path, default=LIB,
                        help="lib folder of the library to judge (default: this tree's)")
    parser.add_argument("--slack", type=float, default=0.0,
                        help="allowed excess of new over old (0.05: 5%%; default 0)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "arms.pkl"
        inputs.write_bytes(pickle.dumps(build_inputs()))
        new = Worker(args.new, inputs)
        old = Worker(args.old, inputs) if args.old else None
        workers = [new, old] if old else [new]
        for n, (runs, per_batch) in RUNS.items():
            for k in range(runs // per_batch):
                for w in workers[::(-1) ** k]:  # alternate which goes first
                    w.batch(n, per_batch)
        for w in workers:
            w.close()

    print(f"reconstruct_ipd(method='guyot'), median ms; new = {new.info['library']}"
          + (f", old = {old.info['library']}" if old else ""))
    slower = False
    for n, (runs, _) in RUNS.items():
        line = f"  {n:>6,} patients ({runs} runs each): new {new.median_ms(n):8.3f}"
        if old:
            ratio = new.median_ms(n) / old.median_ms(n)
            slower |= ratio > 1.0 + args.slack
            same = new.info["patients"][str(n)] == old.info["patients"][str(n)]
            line += (f"   old {old.median_ms(n):8.3f}   new/old {ratio:5.2f}   "
                     f"({'same' if same else 'DIFFERENT'} patients)")
        print(line)
    return 1 if slower else 0


if __name__ == "__main__":
    sys.exit(main())
