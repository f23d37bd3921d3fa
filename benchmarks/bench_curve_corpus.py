"""Accuracy, refusals and speed of the curve road on the kmdata corpus.

The curve road rebuilds patient data from a digitised Kaplan-Meier curve and the numbers at
risk printed under it (:func:`trialrecon.reconstruct.reconstruct_ipd`), by the default
``integer`` method and by ``guyot`` (Guyot P, Ades AE, Ouwens MJNM, Welton NJ, BMC Med Res
Methodol 2012;12:9), both in the same run on the same inputs; the targets judge the default.
For each dataset of ``../shared/corpus/kmdata`` (152 real-trial-shaped patient-level datasets;
see its README), each arm is drawn as a digitiser would read it
(:func:`trialrecon.corpus.digitise_arm`; the protocol is in the doc of :mod:`trialrecon.corpus`)
in up to four modes:

* ``exact``: every step corner exactly (a vector figure read without error);
* ``noisy``: about 100 clicks per arm spread along the drawn path (steep drops included),
  each moved by normal noise of sd 0.3% of the axis range on both axes (time range: the arm's
  last time, months; survival range: 1) and read to three decimals, seeded per dataset and arm;
* ``noisy1``: the same clicks with 1% noise;
* ``marks``: the ``noisy`` clicks and the censoring marks (+) clicked too
  (:func:`trialrecon.corpus.censor_marks`), given to the integer method (Guyot's has no use
  for them and is run without); reported, not judged;
* the convention axis (``trialrecon.corpus.CURVE_MODES``), each at 0.3% noise: ``feet``,
  ``tops`` (one click at the foot or top of every k-th drop), ``corners`` (both), ``sparse``
  (30 clicks along the path), ``dense`` (an extractor's points at every pixel column),
  ``exact-notail`` and ``feet-notail`` (the tail's end not clicked), ``shuffled`` (the feet in
  random order). Each convention is judged on the same targets as ``noisy``, plus the
  default's KM RMSE p90 at most :data:`CONVENTION_TARGETS` ``rmse_vs_guyot`` times Guyot's in
  the same run.

Each arm gets the true numbers at risk at round times (a step of 1, 2, 3, 6, 12 or 24 months,
at most 10 rows up to the arm's last time; :func:`trialrecon.corpus.at_risk_rows`). Both arms
are rebuilt together with ``reconstruct_arms(curves, at_risk, method=...)`` (one arm's
follow-up informs the other's missing tail); if either is refused
(``InputError`` or any other exception) the dataset counts as refused in that mode and method,
with the one-line message.
Otherwise it is compared with the dataset:

* per arm, the events error in percent of the true events, ``|rebuilt - true| / true * 100``;
* per arm, the RMSE between the Kaplan-Meier curve of the rebuilt data and that of the dataset
  on 200 equally spaced times from 0 to the arm's last time (survival as a proportion);
* per arm, the same RMSE of the curve the clicks themselves draw, read with the mode's true
  convention (:func:`clicks_as_drawn`): a yardstick of what the clicks hold, which no method
  sees, printed beside the default's;
* per dataset, ``|log HR error|``: the absolute difference between the log Cox hazard ratios
  (:func:`trialrecon.analysis.cox_hr`: lifelines, Efron ties, unstratified) of the rebuilt data
  and of the dataset, first arm vs second arm as listed by :func:`trialrecon.corpus.dataset_arms`.

Finally the speed of ``reconstruct_ipd`` per method on a synthetic arm of 10,000 patients drawn
with every step corner (about 7,000 clicks) and an at-risk table every 3 months, median of 3
runs with the methods taking turns, measured after the corpus run so that the workers do not
compete with it; the default may take at most :data:`SPEED_RATIO` times Guyot's time.

Run from the repository root::

    .venv/bin/python benchmarks/bench_curve_corpus.py                    # all datasets, modes
    .venv/bin/python benchmarks/bench_curve_corpus.py --limit 20 --out /tmp/curve
    .venv/bin/python benchmarks/bench_curve_corpus.py --modes noisy --datasets ACT1_2A,ACT2_2C
    .venv/bin/python benchmarks/bench_curve_corpus.py --methods integer     # the default only

The exit status is 0 when every target of the selected modes is met, 1 when one is missed, 2
when nothing ran.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from corpus_runner import corpus_parser, run_all, select_entries, write_tables
from trialrecon import corpus

GRID_POINTS = 200
SHOWN_REFUSALS = 3
SPEED_PATIENTS = 10_000
SPEED_RUNS = 3
#: Most the default method may take on the speed arm, as a multiple of Guyot's time there.
SPEED_RATIO = 3.0

#: Targets of the curve road on this corpus, per mode (absent: reported, not judged).
#: ``refused`` is a count of datasets; HR error on the log scale; events error in percent.
#: ``rmse_vs_guyot``: most the default's KM RMSE p90 may be as a multiple of Guyot's in the
#: same run and mode.
CONVENTION_TARGETS = {"refused": 0, "log_hr_p90": 0.025, "rmse_p90": 0.008, "events_p90": 2.5,
                      "rmse_vs_guyot": 1.05}
TARGETS: dict[str, dict[str, float]] = {
    "exact": {"refused": 0, "events_p90": 0.5, "log_hr_p90": 0.005},
    "exact-notail": {"refused": 0, "log_hr_p90": 0.005},
    **{mode: CONVENTION_TARGETS for mode in ("noisy", "feet", "tops", "corners", "sparse",
                                             "dense", "feet-notail", "shuffled")},
    "noisy1": {"refused": 0},
}
DATASET_COLUMNS = ["dataset", "mode", "method", "n", "outcome", "status", "stage", "message",
                   "hr_true", "hr_rebuilt", "log_hr_error", "seconds", "traceback"]
ARM_COLUMNS = ["dataset", "mode", "method", "arm", "position", "n", "last_time", "at_risk_step",
               "at_risk_rows", "clicks", "events_true", "events_rebuilt", "events_error_pct",
               "km_rmse", "clicks_rmse", "seconds"]


# --------------------------------------------------------------------------- one dataset


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean square difference of two equally long arrays."""
    return float(np.sqrt(np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)))


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (at most 300 characters)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:300]


def run_one(entry: dict[str, Any], directory: str, modes: list[str],
            methods: list[str]) -> dict[str, Any]:
    """Digitise, rebuild and compare one dataset in every mode and method; no exception
    escapes.

    Returns
    -------
    dict
        ``datasets``: one row per mode and method (``status`` ``ok``, ``refused`` when
        ``reconstruct_ipd`` raised for an arm, ``error`` when the benchmark itself failed);
        ``arms``: one row per mode, method and arm that was compared.
    """
    warnings.simplefilter("ignore")
    from trialrecon.analysis import cox_hr
    from trialrecon.reconstruct import reconstruct_arms

    name = str(entry["dataset"])
    rows: list[dict[str, Any]] = []
    arm_rows: list[dict[str, Any]] = []

    def base(mode: str, method: str) -> dict[str, Any]:
        return {"dataset": name, "mode": mode, "method": method, "n": int(entry["n"]),
                "outcome": entry["outcome"], "status": "ok", "stage": "", "message": "",
                "hr_true": math.nan, "hr_rebuilt": math.nan, "log_hr_error": math.nan,
                "seconds": math.nan, "traceback": ""}

    stage = "read"
    try:
        ipd = corpus.read_dataset(Path(directory) / str(entry["file"]))
        labels = corpus.dataset_arms(entry)
        arms = [ipd[ipd["arm"] == label].reset_index(drop=True) for label in labels]
        stage = "truth"
        hr_true = cox_hr(arms[0], arms[1]).hr
        tables = [corpus.at_risk_rows(a) for a in arms]
        grids = [np.linspace(0.0, float(a["time"].max()), GRID_POINTS) for a in arms]
        truths = [corpus.km_on_grid(a, g) for a, g in zip(arms, grids, strict=True)]
        seeds = [corpus.stable_seed(name, label) for label in labels]
    except Exception as exc:  # noqa: BLE001 - a benchmark records every failure
        for mode in modes:
            for method in methods:
                rows.append(base(mode, method) | {"status": "error", "stage": stage,
                                                  "message": one_line(exc),
                                                  "traceback": traceback.format_exc()})
        return {"datasets": rows, "arms": arm_rows}

    for mode, method in ((m, k) for m in modes for k in methods):
        row = base(mode, method) | {"hr_true": hr_true}
        stage = "digitise"
        try:
            curves = [corpus.digitise_arm(a, mode, seed=s) for a, s in zip(arms, seeds,
                                                                          strict=True)]
            marks = [corpus.censor_marks(a, jitter=corpus.CURVE_MODES[mode].jitter or 0.0,
                                         seed=s + 1)
                     if mode in corpus.MARK_MODES else None
                     for a, s in zip(arms, seeds, strict=True)]
            if method == "guyot" and mode in corpus.MARK_MODES:
                marks = [None, None]  # Guyot's method has no use for marks
            stage = "reconstruct"
            t0 = time.perf_counter()
            # Both arms together: one arm's follow-up informs the other's missing tail.
            results = reconstruct_arms(dict(zip(labels, curves, strict=True)),
                                       dict(zip(labels, tables, strict=True)), method=method,
                                       censor_marks=dict(zip(labels, marks, strict=True)),
                                       diagnostics=False)
            rebuilt = [results[label].ipd for label in labels]
            row["seconds"] = time.perf_counter() - t0
            seconds = [row["seconds"] / len(arms)] * len(arms)
            stage = "compare"
            hr = cox_hr(rebuilt[0], rebuilt[1]).hr
            row["hr_rebuilt"] = hr
            row["log_hr_error"] = abs(math.log(hr) - math.log(hr_true))
            for k, label in enumerate(labels):
                true_events = int(arms[k]["event"].sum())
                events = int(rebuilt[k]["event"].sum())
                arm_rows.append({
                    "dataset": name, "mode": mode, "method": method, "arm": label,
                    "position": k + 1,
                    "n": len(arms[k]), "last_time": float(grids[k][-1]),
                    "at_risk_step": float(tables[k]["time"].iloc[1])
                    if len(tables[k]) > 1 else math.nan,
                    "at_risk_rows": len(tables[k]), "clicks": len(curves[k]),
                    "events_true": true_events, "events_rebuilt": events,
                    "events_error_pct": 100.0 * abs(events - true_events) / true_events
                    if true_events else math.nan,
                    "km_rmse": rmse(corpus.km_on_grid(rebuilt[k], grids[k]), truths[k]),
                    "clicks_rmse": rmse(clicks_as_drawn(curves[k], mode, grids[k]),
                                        truths[k]),
                    "seconds": seconds[k]})
        except Exception as exc:  # noqa: BLE001 - a benchmark records every failure
            refused = stage == "reconstruct"
            row |= {"status": "refused" if refused else "error", "stage": stage,
                    "message": one_line(exc), "traceback": traceback.format_exc()}
            arm_rows = [a for a in arm_rows
                        if not (a["mode"] == mode and a["method"] == method)]
        rows.append(row)
    return {"datasets": rows, "arms": arm_rows}


def clicks_as_drawn(clicks: pd.DataFrame, mode: str, grid: np.ndarray) -> np.ndarray:
    """The curve the clicks themselves draw, read with the mode's true convention (an oracle
    no method has, so a yardstick, not a method): a step down at each foot (``feet`` and the
    exact corners), down to the next top after each top (``tops``), a straight line between
    clicks otherwise (``path``, ``corners``, ``dense``, hidden steps spread); the clicks made
    non-increasing first (:func:`trialrecon.curves.clean_curve`)."""
    from trialrecon.curves import clean_curve

    c = clean_curve(clicks)
    t, s = c.time, c.survival
    how = corpus.CURVE_MODES[mode]
    convention = "feet" if how.jitter is None else how.convention
    if convention == "feet":
        return s[np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(s) - 1)]
    if convention == "tops":
        return s[np.clip(np.searchsorted(t, grid, side="right"), 0, len(s) - 1)]
    return np.interp(grid, t, s)


# --------------------------------------------------------------------------- speed


def synthetic_arm(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An arm of ``n`` Weibull patients (months, 4 decimals) with uniform censoring, drawn
    with every step corner (about 7,000 for 10,000 patients), and its numbers at risk every
    3 months."""
    from trialrecon.validation import at_risk_table, km_steps

    rng = np.random.default_rng(seed)
    t = rng.weibull(1.2, n) * 12.0
    c = rng.uniform(0.0, 40.0, n)
    ipd = pd.DataFrame({"time": np.round(np.minimum(t, c), 4), "event": (t <= c).astype(int)})
    curve = km_steps(ipd)
    return curve, at_risk_table(ipd, np.arange(0.0, float(curve["time"].max()), 3.0))


def speed(methods: list[str]) -> tuple[int, int, dict[str, float]]:
    """Clicks, at-risk rows and median seconds of ``reconstruct_ipd`` per method on the
    synthetic arm, the methods taking turns run by run so that both see the same machine."""
    from trialrecon.reconstruct import reconstruct_ipd

    curve, table = synthetic_arm(SPEED_PATIENTS, seed=SPEED_PATIENTS)
    runs: dict[str, list[float]] = {m: [] for m in methods}
    for _ in range(SPEED_RUNS):
        for method in methods:
            t0 = time.perf_counter()
            reconstruct_ipd(curve, table, method=method)
            runs[method].append(time.perf_counter() - t0)
    return len(curve), len(table), {m: float(np.median(r)) for m, r in runs.items()}


# --------------------------------------------------------------------------- summary


def _judge(mode: str, key: str, value: float, targets: list[tuple[str, bool]]) -> str:
    """`` (target <= x) MET|MISSED`` for a judged figure of a mode, else nothing."""
    limit = TARGETS.get(mode, {}).get(key)
    if limit is None:
        return ""
    ok = bool(value <= limit)
    targets.append((f"{mode} {key}", ok))
    return f" (target <= {limit:g}) {'MET' if ok else 'MISSED'}"


def summarise_mode(mode: str, method: str, datasets: pd.DataFrame, arms: pd.DataFrame,
                   targets: list[tuple[str, bool]] | None) -> None:
    """Print one mode's lines for one method, against the mode's targets when ``targets`` is
    given (the judged figures are appended to it)."""
    what = describe_mode(mode)
    d = datasets[(datasets["mode"] == mode) & (datasets["method"] == method)]
    a = arms[(arms["mode"] == mode) & (arms["method"] == method)]
    total = len(d)
    refused, errors = d[d.status == "refused"], d[d.status == "error"]
    judged = targets is not None
    targets = targets if judged else []
    print(f"\n[{mode}, {method}{'' if judged else ', not judged'}] {what}: {total} datasets")
    share = 100.0 * len(refused) / total if total else 0.0
    print(f"  refused: {len(refused)} = {share:.1f}%"
          + _judge(mode, "refused", len(refused), targets)
          + (f"; benchmark errors {len(errors)} (target 0) "
             f"{'MET' if errors.empty else 'MISSED'}"))
    targets.append((f"{mode} benchmark errors", errors.empty))
    for row in pd.concat([refused, errors]).head(SHOWN_REFUSALS).itertuples():
        print(f"    {row.dataset} ({row.status}, {row.stage}): {row.message}")
    compared = d[d.status == "ok"]
    if compared.empty:
        print("  nothing compared")
        for key in TARGETS.get(mode, {}):
            if key != "refused":
                targets.append((f"{mode} {key} (nothing compared)", False))
        return
    err = compared.log_hr_error
    worst = compared.loc[err.idxmax()]
    print(f"  |log HR error|: median {err.median():.4f}, p90 {err.quantile(0.9):.4f}"
          + _judge(mode, "log_hr_p90", float(err.quantile(0.9)), targets)
          + f", worst {worst.log_hr_error:.4f} ({worst.dataset}) over {len(compared)} datasets")
    ev = a.events_error_pct.dropna()
    worst_ev = a.loc[ev.idxmax()]
    print(f"  events error %: p90 {ev.quantile(0.9):.2f}"
          + _judge(mode, "events_p90", float(ev.quantile(0.9)), targets)
          + f", worst {worst_ev.events_error_pct:.2f} ({worst_ev.dataset}, {worst_ev.arm}: "
          f"{worst_ev.events_rebuilt} vs {worst_ev.events_true}) over {len(ev)} arms")
    km = a.km_rmse
    worst_km = a.loc[km.idxmax()]
    print(f"  KM RMSE: median {km.median():.4f}, p90 {km.quantile(0.9):.4f}"
          + _judge(mode, "rmse_p90", float(km.quantile(0.9)), targets)
          + f", worst {worst_km.km_rmse:.4f} ({worst_km.dataset}, {worst_km.arm})")
    if judged:
        print(f"  the clicks as drawn, read with the true convention (a yardstick): KM RMSE "
              f"median {a.clicks_rmse.median():.4f}, p90 {a.clicks_rmse.quantile(0.9):.4f}")
    guyot = arms[(arms["mode"] == mode) & (arms["method"] == "guyot")].km_rmse
    if judged and method != "guyot" and len(guyot):
        ratio = float(km.quantile(0.9)) / float(guyot.quantile(0.9))
        print(f"  KM RMSE p90 / guyot's ({guyot.quantile(0.9):.4f}): {ratio:.3f}"
              + _judge(mode, "rmse_vs_guyot", ratio, targets))


def describe_mode(mode: str) -> str:
    """One line saying how a mode reads the curve."""
    how = corpus.CURVE_MODES[mode]
    tail = "" if how.tail else ", tail's end not clicked"
    if how.jitter is None:
        return f"every step corner exactly{tail}"
    reading = {"path": f"about {how.clicks} clicks along the path",
               "feet": f"about {how.clicks} clicks at the foot of every k-th drop",
               "tops": f"about {how.clicks} clicks at the top of every k-th drop",
               "corners": f"about {how.clicks} clicks at both corners of every k-th drop",
               "dense": "an extractor's points at every pixel column of "
                        f"{corpus.DENSE_PIXELS[0]} x {corpus.DENSE_PIXELS[1]}"}[how.convention]
    order = ", in random order" if how.shuffled else ""
    marks = ", censoring marks clicked" if mode in corpus.MARK_MODES else ""
    return f"{reading}{tail}{order}{marks}, jitter {100 * how.jitter:g}% of each axis"


def summarise(datasets: pd.DataFrame, arms: pd.DataFrame, modes: list[str],
              methods: list[str], wall: float, jobs: int, speed_lines: list[str],
              speed_ok: bool | None) -> bool:
    """Print the summary of every mode and method, the default method against the targets;
    return whether all are met."""
    from trialrecon.reconstruct import METHODS

    targets: list[tuple[str, bool]] = []
    for mode in modes:
        for method in methods:
            summarise_mode(mode, method, datasets, arms,
                           targets if method == METHODS[0] else None)
    print()
    for line in speed_lines:
        print(line)
    if speed_ok is not None:
        targets.append(("speed", speed_ok))
    print(f"wall {wall:.0f} s with {jobs} job(s)")
    missed = [name for name, ok in targets if not ok]
    print(f"targets met: {len(targets) - len(missed)} of {len(targets)}"
          + (f"; missed: {', '.join(missed)}" if missed else ""))
    return not missed


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = corpus_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default=",".join(corpus.CURVE_MODES),
                        help="comma-separated digitisation modes (default: "
                             f"{','.join(corpus.CURVE_MODES)})")
    parser.add_argument("--methods", default="integer,guyot",
                        help="comma-separated reconstruction methods (default: integer,guyot; "
                             "the targets judge the library's default, integer)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown_modes = [m for m in modes if m not in corpus.CURVE_MODES]
    if unknown_modes or not modes:
        print(f"unknown or no mode(s): {', '.join(unknown_modes) or '-'}; choose from "
              f"{', '.join(corpus.CURVE_MODES)}", file=sys.stderr)
        return 2
    entries = select_entries(args)
    if entries is None:
        return 2

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    from trialrecon.reconstruct import METHODS
    unknown_methods = [m for m in methods if m not in METHODS]
    if unknown_methods or not methods:
        print(f"unknown or no method(s): {', '.join(unknown_methods) or '-'}; choose from "
              f"{', '.join(METHODS)}", file=sys.stderr)
        return 2

    print(f"curve road (reconstruct_ipd; methods {', '.join(methods)}) on {len(entries)} kmdata "
          f"dataset(s) from {args.corpus}; modes {', '.join(modes)}; {args.jobs} job(s)")
    results, wall = run_all(run_one, entries, args.corpus, args.jobs, modes, methods)
    rank = {m: k for k, m in enumerate(modes)}
    datasets = pd.DataFrame([d for r in results for d in r["datasets"]], columns=DATASET_COLUMNS)
    arms = pd.DataFrame([a for r in results for a in r["arms"]], columns=ARM_COLUMNS)
    datasets = datasets.sort_values("mode", key=lambda s: s.map(rank), kind="stable")
    arms = arms.sort_values("mode", key=lambda s: s.map(rank), kind="stable")
    write_tables(args.out, datasets, arms)

    warnings.simplefilter("ignore")
    speed_lines, speed_ok = [], None
    try:
        clicks, rows, seconds = speed(methods)
        speed_lines.append(f"speed: reconstruct_ipd on a synthetic arm of {SPEED_PATIENTS:,} "
                           f"patients, {clicks:,} clicks (exact corners), {rows} at-risk rows, "
                           f"median of {SPEED_RUNS} runs each, methods taking turns:")
        for method, sec in seconds.items():
            speed_lines.append(f"  {method}: {1e3 * sec:.1f} ms")
        if METHODS[0] in seconds and "guyot" in seconds and METHODS[0] != "guyot":
            ratio = seconds[METHODS[0]] / seconds["guyot"]
            speed_ok = bool(ratio <= SPEED_RATIO)
            speed_lines.append(f"  {METHODS[0]} / guyot = {ratio:.2f} (target <= {SPEED_RATIO:g})"
                               f" {'MET' if speed_ok else 'MISSED'}")
    except Exception as exc:  # noqa: BLE001 - a benchmark records every failure
        speed_lines.append(f"speed: not measured ({one_line(exc)})")
    return 0 if summarise(datasets, arms, modes, methods, wall, args.jobs, speed_lines,
                          speed_ok) else 1


if __name__ == "__main__":
    sys.exit(main())
