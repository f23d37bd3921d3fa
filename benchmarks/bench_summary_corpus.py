"""Accuracy and speed of the summary reconstruction on the kmdata corpus.

For each dataset of ``../shared/corpus/kmdata`` (152 real-trial-shaped patient-level
datasets; see its README): print what a paper would print (:mod:`trialrecon.corpus`), write it
as a trial YAML into a temporary folder, load it with :func:`trialrecon.registry.load_trial`,
rebuild patients with :func:`trialrecon.simulate.fit_summary` and compare with the dataset:

* crashes (any exception, by stage) and false findings (``fit.misses`` on figures that are
  true together by construction), with the printed figures the fit missed; every figure is
  judged at its own half-unit (it must print the same);
* pseudo patients followed beyond the printed longest follow-up (``follow_up_max``, the
  dataset's longest time rounded up to 0.1 month; ``--no-follow-up-max`` leaves it out and
  ``--calendar`` prints a first randomisation and a data cut-off that far apart instead);
* per arm, the RMSE between the Kaplan-Meier curve of the pseudo data and that of the dataset
  on 200 equally spaced times from 0 to the shorter arm's last observed time, against the
  baseline of an exponential curve through the printed median (through the landmark rate
  where the median is not reached);
* where the fit offers ``survival_band(grid, level)``, the share of grid times at which the
  dataset's curve lies inside the 90% band;
* seconds for the central fit and, separately, for the band.

Run from the repository root::

    .venv/bin/python benchmarks/bench_summary_corpus.py                   # all datasets
    .venv/bin/python benchmarks/bench_summary_corpus.py --limit 20 --jobs 2 --out /tmp/corpus
    .venv/bin/python benchmarks/bench_summary_corpus.py --datasets ACT1_2A,ACT2_2C

The exit status is 0 when every target is met, 1 when one is missed, 2 when nothing ran.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import time
import traceback
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from corpus_runner import corpus_parser, run_all, select_entries, write_tables
from trialrecon import corpus, registry
from trialrecon.printed import parse_printed

GRID_POINTS = 200
BAND_LEVEL = 0.90

# Targets of the summary road on this corpus.
TARGET_CRASHES = 0
TARGET_FALSE_FINDINGS = 0.05      # share of analyses, at most
TARGET_RMSE_MEDIAN = 0.030        # over arms, at most
TARGET_RMSE_P90 = 0.065
TARGET_BETTER = 0.75              # share of arms beating the baseline, at least
TARGET_COVERAGE = 0.80            # median over arms of the share of grid times inside the band
TARGET_FIT_MEDIAN_S = 1.0
TARGET_FIT_MAX_S = 10.0
TARGET_BEYOND = 0                 # pseudo patients followed beyond the printed maximum
TARGET_BAND_MAX_S = 20.0


# --------------------------------------------------------------------------- one dataset


def baseline_curve(arm: dict[str, Any], grid: np.ndarray) -> np.ndarray:
    """Exponential survival through the printed median, or the landmark rate if NR."""
    median = parse_printed(arm["median"]).value
    if median is not None:
        t, s = median, 0.5
    else:
        landmark = arm["landmarks"][0]
        t, s = float(landmark["time"]), float(landmark["percent"]) / 100.0
    if s >= 1.0:
        return np.ones_like(grid)
    if t <= 0 or s <= 0.0:
        return np.where(grid > 0, 0.0, 1.0)
    return np.exp(math.log(s) / t * grid)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def missed_quantities(table: pd.DataFrame) -> list[str]:
    """Figures of ``fit.table`` outside their rounding (``within`` False), calibrated only."""
    if table.empty or "within" not in table.columns:
        return []
    missed = table[table["within"].eq(False) & table["calibrated"].eq(True)]
    return [f"{q} [{a}]" if a else str(q) for q, a in zip(missed["quantity"], missed["arm"],
                                                           strict=True)]


def band_coverage(band: pd.DataFrame, arm: str, grid: np.ndarray, truth: np.ndarray) -> float:
    """Share of grid times where ``lower <= truth <= upper`` for one arm of a tidy band."""
    rows = band[band["arm"] == arm].sort_values("time")
    if rows.empty:
        return math.nan
    t = rows["time"].to_numpy(float)
    lower = np.interp(grid, t, rows["lower"].to_numpy(float))
    upper = np.interp(grid, t, rows["upper"].to_numpy(float))
    eps = 1e-9
    return float(np.mean((lower - eps <= truth) & (truth <= upper + eps)))


def as_calendar(record: dict[str, Any]) -> dict[str, Any]:
    """The record with a calendar instead of a printed longest follow-up: the first
    randomisation on 1 January 2010 and the data cut-off the longest follow-up later (to the
    day, rounded up), as a paper that prints dates but no follow-up range."""
    analysis = record["analyses"][0]
    longest = analysis.pop("follow_up_max")
    start = date(2010, 1, 1)
    record["design"] |= {"enrolment_start": start.isoformat(),
                         "calendar_source": corpus.SOURCE_KEY}
    analysis["data_cutoff"] = (start + timedelta(days=math.ceil(longest * 365.25 / 12))
                               ).isoformat()
    return record


def run_one(entry: dict[str, Any], directory: str, median_ci: bool,
            landmark_decimals: int, follow_up_max: bool = True,
            calendar: bool = False) -> dict[str, Any]:
    """Print, load, fit and compare one dataset; every exception is recorded, none raised."""
    warnings.simplefilter("ignore")
    result: dict[str, Any] = {
        "dataset": entry["dataset"], "n": int(entry["n"]), "outcome": entry["outcome"],
        "crash": "", "stage": "", "misses": math.nan, "missed": "", "findings": "",
        "fit_seconds": math.nan, "band_seconds": math.nan, "printed_hr": "", "printed_p": "",
        "landmark_months": math.nan, "beyond": math.nan, "longest": math.nan,
        "traceback": ""}
    arms_out: list[dict[str, Any]] = []
    stage = "read"
    try:
        ipd = corpus.read_dataset(Path(directory) / str(entry["file"]))
        stage = "print"
        record = corpus.print_dataset(entry, directory, median_ci=median_ci,
                                      landmark_decimals=landmark_decimals,
                                      follow_up_max=follow_up_max)
        printed = record["analyses"][0]
        longest = printed.get("follow_up_max")
        if calendar and longest is not None:
            record = as_calendar(record)
            # The bound the dates allow: both days counted, in months of 365.25 / 12 days.
            cutoff, start = (date.fromisoformat(x) for x in (
                record["analyses"][0]["data_cutoff"], record["design"]["enrolment_start"]))
            longest = ((cutoff - start).days + 1) / (365.25 / 12)
        result["printed_hr"] = printed["hazard_ratio"]["printed"]
        result["printed_p"] = printed["p_value"]
        stage = "load"
        with tempfile.TemporaryDirectory() as tmp:
            trial = registry.load_trial(corpus.write_trial_yaml(record, tmp))
        analysis = trial.analyses[0]

        stage = "fit"
        from trialrecon.simulate import fit_summary
        t0 = time.perf_counter()
        fit = fit_summary(analysis)
        result["fit_seconds"] = time.perf_counter() - t0
        result["misses"] = len(fit.misses)
        result["findings"] = " | ".join(fit.misses)
        result["missed"] = "; ".join(missed_quantities(fit.table))
        result["longest"] = fit.follow_up_end
        if longest is not None:
            result["beyond"] = int((fit.ipd.time > longest + 1e-9).sum())

        stage = "compare"
        labels = corpus.dataset_arms(entry)
        names = corpus.arm_slugs(labels)
        tau = min(float(ipd.loc[ipd.arm == label, "time"].max()) for label in labels)
        grid = np.linspace(0.0, tau, GRID_POINTS)
        truth = {}
        for role, label, name in zip(("experimental", "control"), labels, names, strict=True):
            arm_record = printed["arms"][name]
            if "landmarks" in arm_record:
                result["landmark_months"] = float(arm_record["landmarks"][0]["time"])
            truth[name] = corpus.km_on_grid(ipd[ipd.arm == label], grid)
            central = corpus.km_on_grid(fit.ipd[fit.ipd.arm == name], grid)
            base = baseline_curve(arm_record, grid)
            error, base_error = rmse(central, truth[name]), rmse(base, truth[name])
            arms_out.append({"dataset": entry["dataset"], "arm": name, "role": role,
                             "n": arm_record["n"], "median": arm_record["median"],
                             "tau": tau, "rmse": error, "baseline_rmse": base_error,
                             "better": error < base_error, "band_coverage": math.nan})

        if hasattr(fit, "survival_band"):
            stage = "band"
            t0 = time.perf_counter()
            band = fit.survival_band(grid, level=BAND_LEVEL)
            result["band_seconds"] = time.perf_counter() - t0
            for row in arms_out:
                row["band_coverage"] = band_coverage(band, row["arm"], grid, truth[row["arm"]])
    except Exception as exc:  # noqa: BLE001 - a benchmark records every failure
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        ours = [f for f in traceback.extract_tb(exc.__traceback__)
                if "trialrecon" in f.filename and "site-packages" not in f.filename]
        where = " -> ".join(f"{Path(f.filename).parent.name}/{Path(f.filename).name}:"
                            f"{f.lineno} {f.name}" for f in ours[-2:])
        where = f" (at {where})" if where else ""
        result["crash"] = f"{type(exc).__name__}: {message}"[:300] + where
        result["stage"] = stage
        result["traceback"] = traceback.format_exc()
    return {"dataset": result, "arms": arms_out}


# --------------------------------------------------------------------------- summary


def _quantity_kind(text: str) -> str:
    text = re.sub(r" \[[^]]*\]$", "", text)
    return re.sub(r"^\d+(\.\d+)?-month rate", "landmark rate", text)


def _check(ok: bool, targets: list[tuple[str, bool]], name: str) -> str:
    targets.append((name, ok))
    return "" if ok else " MISSED"


def summarise(datasets: pd.DataFrame, arms: pd.DataFrame, wall: float, jobs: int) -> bool:
    """Print the summary against the targets; return whether all are met."""
    targets: list[tuple[str, bool]] = []
    total = len(datasets)
    crashed = datasets[datasets.crash != ""]
    fitted = datasets[datasets.misses.notna()]
    false = fitted[fitted.misses > 0]
    share = len(false) / total if total else 0.0
    print(f"\nanalyses {total}, crashes {len(crashed)} (target {TARGET_CRASHES})"
          + _check(len(crashed) <= TARGET_CRASHES, targets, "crashes")
          + f", false findings {len(false)} = {100 * share:.1f}% "
          f"(target <= {100 * TARGET_FALSE_FINDINGS:.0f}%)"
          + _check(share <= TARGET_FALSE_FINDINGS, targets, "false findings"))

    beyond = datasets.beyond.dropna()
    if len(beyond):
        count = int(beyond.sum())
        print(f"pseudo patients followed beyond the printed longest follow-up (or the "
              f"calendar's): {count} in "
              f"{int((beyond > 0).sum())} of {len(beyond)} analyses (target {TARGET_BEYOND})"
              + _check(count <= TARGET_BEYOND, targets, "beyond the printed maximum"))

    kinds = pd.Series([_quantity_kind(q) for text in fitted.missed for q in text.split("; ")
                       if q], dtype=object)
    counts = kinds.value_counts()
    print("missed figures by quantity: "
          + (", ".join(f"{k} {v}" for k, v in counts.items()) if len(counts) else "none"))

    if arms.empty:
        print("RMSE: no arm was compared")
        return False
    err = arms.rmse
    worst = arms.loc[err.idxmax()]
    med, p90 = float(err.median()), float(err.quantile(0.9))
    print(f"RMSE central vs dataset KM: median {med:.3f} (target <= {TARGET_RMSE_MEDIAN:.3f})"
          + _check(med <= TARGET_RMSE_MEDIAN, targets, "RMSE median")
          + f", p90 {p90:.3f} (target <= {TARGET_RMSE_P90:.3f})"
          + _check(p90 <= TARGET_RMSE_P90, targets, "RMSE p90")
          + f", worst {worst.rmse:.3f} ({worst.dataset}, {worst.arm})")
    better = float(arms.better.mean())
    print(f"baseline (exponential through the median): median {arms.baseline_rmse.median():.3f}"
          f", p90 {arms.baseline_rmse.quantile(0.9):.3f}; reconstruction better in "
          f"{100 * better:.0f}% of {len(arms)} arms (target >= {100 * TARGET_BETTER:.0f}%)"
          + _check(better >= TARGET_BETTER, targets, "better than baseline"))

    covered = arms.band_coverage.dropna()
    if covered.empty:
        print(f"band {100 * BAND_LEVEL:.0f}%: not available (the fit has no survival_band)")
        targets.append(("band coverage (no band)", False))
    else:
        cov = float(covered.median())
        print(f"band {100 * BAND_LEVEL:.0f}%: dataset KM inside at {100 * cov:.0f}% of grid "
              f"points, median over {len(covered)} arms (target >= {100 * TARGET_COVERAGE:.0f}%)"
              + _check(cov >= TARGET_COVERAGE, targets, "band coverage"))

    fit_s, band_s = datasets.fit_seconds.dropna(), datasets.band_seconds.dropna()
    line = "time: "
    if len(fit_s):
        line += (f"central fit median {fit_s.median():.2f} s, max {fit_s.max():.2f} s "
                 f"(target median <= {TARGET_FIT_MEDIAN_S:g} s, max <= {TARGET_FIT_MAX_S:g} s)"
                 + _check(fit_s.median() <= TARGET_FIT_MEDIAN_S, targets, "fit time")
                 + _check(fit_s.max() <= TARGET_FIT_MAX_S, targets, "fit time max"))
    if len(band_s):
        line += (f"; band median {band_s.median():.1f} s, max {band_s.max():.1f} s "
                 f"(target <= {TARGET_BAND_MAX_S:g} s)"
                 + _check(band_s.max() <= TARGET_BAND_MAX_S, targets, "band time"))
    print(line + f"; wall {wall:.0f} s with {jobs} job(s)")

    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 60)
    print("\n10 worst arms by RMSE:")
    cols = ["dataset", "arm", "role", "n", "median", "rmse", "baseline_rmse", "band_coverage"]
    print(arms.nlargest(10, "rmse")[cols].to_string(index=False, float_format="{:.3f}".format))
    if len(crashed):
        print("\ncrashes:")
        for row in crashed.itertuples():
            print(f"  {row.dataset} ({row.stage}): {row.crash}")
    if len(false):
        print("\nfalse findings (printed figures missed):")
        for row in false.itertuples():
            print(f"  {row.dataset}: {int(row.misses)} finding(s); missed {row.missed or '-'}"
                  f"  [printed HR {row.printed_hr}, p {row.printed_p}]")
    missed = [name for name, ok in targets if not ok]
    print(f"\ntargets met: {len(targets) - len(missed)} of {len(targets)}"
          + (f"; missed: {', '.join(missed)}" if missed else ""))
    return not missed


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = corpus_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--no-median-ci", action="store_true",
                        help="print medians without their 95%% CI")
    parser.add_argument("--landmark-decimals", type=int, default=1,
                        help="decimals of printed landmark rates (default 1)")
    parser.add_argument("--no-follow-up-max", action="store_true",
                        help="print no longest follow-up (the bound is then inferred)")
    parser.add_argument("--calendar", action="store_true",
                        help="print the first randomisation and the data cut-off instead of "
                             "the longest follow-up")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    entries = select_entries(args)
    if entries is None:
        return 2
    try:
        from trialrecon.simulate import fit_summary  # noqa: F401 - fail early and clearly
    except Exception as exc:  # noqa: BLE001
        print(f"cannot import trialrecon.simulate.fit_summary: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 2

    longest = ("not printed" if args.no_follow_up_max
               else "as a calendar" if args.calendar else "printed")
    print(f"summary reconstruction on {len(entries)} kmdata dataset(s) from {args.corpus}; "
          f"medians {'without' if args.no_median_ci else 'with'} CI, landmark rates to "
          f"{args.landmark_decimals} decimal(s), longest follow-up {longest}, "
          f"{args.jobs} job(s)")
    results, wall = run_all(run_one, entries, args.corpus, args.jobs, not args.no_median_ci,
                            args.landmark_decimals, not args.no_follow_up_max, args.calendar)
    datasets = pd.DataFrame([r["dataset"] for r in results])
    arms = pd.DataFrame([a for r in results for a in r["arms"]],
                        columns=["dataset", "arm", "role", "n", "median", "tau", "rmse",
                                 "baseline_rmse", "better", "band_coverage"])
    write_tables(args.out, datasets, arms)
    return 0 if summarise(datasets, arms, wall, args.jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
