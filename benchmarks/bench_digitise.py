"""Accuracy and speed of ``trialrecon.digitise`` on the corpus's Kaplan-Meier figures.

``../shared/corpus/figures`` holds two-arm figures drawn from datasets of
``../shared/corpus/kmdata`` in several styles (R survminer, base R, lifelines), each as a vector
PDF and a raster; its README gives the measurement, which this script follows for the vector
PDFs and the rasters:

* per arm, matched to the dataset's arm by name (case and non-alphanumerics ignored), else by
  the assignment with the least error: the IAE, the mean |difference| between the read curve
  (a right-continuous step function through its points) and the true Kaplan-Meier curve on
  500 points over [0, the arm's last time]; the RMSE on 200 points over [0, the shorter arm's
  last time]; the largest |difference|;
* the numbers at risk: the share of the manifest's printed cells read exactly (time within 2%
  of the break, count equal);
* per figure: failure (an error, or fewer arms read than the data has) and seconds.

Then the curve road on what was read (``reconstruct_arms``, integer method, the censoring
marks given) and the |log HR error| against the dataset's Cox HR.

Targets: vector, no failure, IAE median <= 0.002, RMSE p90 <= 0.004, at-risk cells >= 99%
exact, median <= 2 s a figure; raster, failures under 2%, IAE median <= 0.005 and p95 <= 0.015,
at-risk cells >= 98% exact, median <= 10 s a figure; both, |log HR error| p90 <= 0.05. The
rasters are broken down by print (format and resolution), colours, line types, bands and marks.

``--format svg`` measures SVG figures the same way and against the vector targets: those that
``benchmarks/render_svg.R`` draws with R (base R and survminer, through svglite) from the same
datasets into ``--svg-dir`` with their own ``manifest.csv``; they are broken down by renderer,
style, colours, line types, bands, marks, y scale and y labels.

``--format raster --raster-dir DIR`` reads the rasters and ``manifest.csv`` of DIR instead of
the corpus's: those that ``benchmarks/render_rasters.py`` prints from the SVG figures with
librsvg (and Pillow for JPEG), a raster set that R's devices did not draw. They are measured
against the raster targets and broken down as the corpus rasters, plus by the SVG figure's
style.

Run from the repository root::

    .venv/bin/python benchmarks/bench_digitise.py
    .venv/bin/python benchmarks/bench_digitise.py --figures kmfig_d001,kmfig_d002
    Rscript benchmarks/render_svg.R ../shared/corpus/kmdata /tmp/trialrecon-svg
    .venv/bin/python benchmarks/bench_digitise.py --format svg
    .venv/bin/python benchmarks/render_rasters.py
    .venv/bin/python benchmarks/bench_digitise.py --format raster \\
        --raster-dir /tmp/trialrecon-rasters
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

FIGURES = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "figures"
KMDATA = FIGURES.parent / "kmdata"
#: Where benchmarks/render_svg.R draws the SVG figures by default.
SVG_DIR = Path("/tmp/trialrecon-svg")
#: Where benchmarks/render_rasters.py prints them as rasters by default.
RASTER_DIR = Path("/tmp/trialrecon-rasters")
TARGETS = {
    "vector": {"failures": 0.0, "iae_median": 0.002, "rmse_p90": 0.004, "at_risk_exact": 0.99,
               "seconds": 2.0, "log_hr_p90": 0.05},
    "raster": {"failures": 0.02, "iae_median": 0.005, "iae_p95": 0.015, "at_risk_exact": 0.98,
               "seconds": 10.0, "log_hr_p90": 0.05},
}
TARGETS["svg"] = TARGETS["vector"]


def km_on(times: np.ndarray, events: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The Kaplan-Meier estimate at ``grid`` (right-continuous)."""
    from trialrecon.analysis import km_steps

    steps = km_steps(times, events)
    i = np.searchsorted(steps.times, grid, side="right") - 1
    return np.where(i >= 0, steps.survival[np.clip(i, 0, None)], 1.0)


def step_on(t: np.ndarray, s: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A curve read as a right-continuous step function through its points."""
    order = np.argsort(t, kind="stable")
    t, s = t[order], s[order]
    i = np.searchsorted(t, grid, side="right") - 1
    return np.where(i >= 0, s[np.clip(i, 0, None)], 1.0)


def key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


def one(row: pd.Series, form: str = "vector", folder: Path = FIGURES) -> list[dict]:
    """Read one figure (its vector PDF, its raster, or an SVG in ``folder``) and compare it
    with its dataset; one row per true arm."""
    from trialrecon.digitise import digitise

    truth = pd.read_csv(KMDATA / row.truth_file)
    arms = row.arm_order.split(";")
    t0 = time.perf_counter()
    try:
        read = digitise(folder / (row.raster_file if form == "raster" else row.vector_file))
        error = ""
    except Exception as exc:  # noqa: BLE001 - a benchmark records every failure
        read, error = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    seconds = time.perf_counter() - t0
    base = {"figure": row.figure_id, "renderer": row.renderer, "seconds": seconds,
            "error": error, "format": form,
            "print": "svg" if form == "svg" else
            (f"{row.raster_format} {row.dpi_or_quality}"
             + (" dpi" if row.raster_format == "png" else f" at {row.raster_dpi} dpi")),
            "colours": "greyscale" if row.greyscale else "colour",
            "lines": row.linetype.replace(";", "+"),
            "bands": "bands" if row.conf_int else "no bands",
            "marks": f"marks {row.censor_mark}"}
    if form == "svg":
        base |= {"style": row.style, "y scale": f"y {row.y_scale}",
                 "y labels": f"y labels {row.y_labels}"}
    elif form == "raster" and "style" in row.index:  # rasters printed from the SVG figures
        base["style"] = row.style
    if read is None or len(read.arms) < len(arms):
        return [base | {"arm": a, "failed": True,
                        "error": error or f"{0 if read is None else len(read.arms)} arms read"}
                for a in arms]
    shorter = min(float(truth[truth.arm == a].time.max()) for a in arms)
    cost = np.zeros((len(arms), len(read.arms)))
    curves = {}
    for i, a in enumerate(arms):
        d = truth[truth.arm == a]
        grid = np.linspace(0.0, float(d.time.max()), 500)
        true = km_on(d.time.to_numpy(float), d.event.to_numpy(int), grid)
        for j, b in enumerate(read.arms):
            c = read.curves[read.curves.arm == b]
            est = step_on(c.time.to_numpy(float), c.survival.to_numpy(float), grid)
            cost[i, j] = float(np.mean(np.abs(est - true)))
            curves[(i, j)] = c
    by_name = {i: j for i, a in enumerate(arms) for j, b in enumerate(read.arms)
               if key(a) == key(b)}
    if len(by_name) != len(arms):
        from itertools import permutations
        best = min(permutations(range(len(read.arms)), len(arms)),
                   key=lambda p: sum(cost[i, j] for i, j in enumerate(p)))
        by_name = dict(enumerate(best))
    hr_error = math.nan
    try:  # the curve road on what was read, both arms together, against the dataset's HR
        from trialrecon.analysis import cox_hr
        from trialrecon.reconstruct import reconstruct_arms

        names = [read.arms[by_name[i]] for i in range(len(arms))]
        parts = {b: read.arm(b) for b in names}
        rebuilt = reconstruct_arms({b: parts[b][0] for b in names},
                                   {b: parts[b][1] for b in names},
                                   censor_marks={b: parts[b][2] for b in names},
                                   diagnostics=False)
        true_arms = [truth[truth.arm == a] for a in arms]
        hr_error = abs(math.log(cox_hr(rebuilt[names[0]].ipd, rebuilt[names[1]].ipd).hr)
                       - math.log(cox_hr(true_arms[0], true_arms[1]).hr))
    except Exception:  # noqa: BLE001 - counted as a failure of the curve road, shown as NaN
        pass
    out = []
    printed_times = [float(x) for x in str(row.risk_times).split(";")]
    for i, a in enumerate(arms):
        j = by_name[i]
        d = truth[truth.arm == a]
        grid = np.linspace(0.0, shorter, 200)
        true = km_on(d.time.to_numpy(float), d.event.to_numpy(int), grid)
        c = curves[(i, j)]
        est = step_on(c.time.to_numpy(float), c.survival.to_numpy(float), grid)
        printed = [int(x) for x in str(getattr(row, f"risk_counts_{i + 1}")).split(";")]
        got = read.at_risk[read.at_risk.arm == read.arms[j]]
        exact = sum(any(abs(t - pt) <= 0.02 * max(printed_times[-1], 1.0) and n == pn
                        for t, n in zip(got.time, got.n_at_risk, strict=True))
                    for pt, pn in zip(printed_times, printed, strict=True))
        out.append(base | {"arm": a, "failed": False, "iae": cost[i, j],
                           "rmse": float(np.sqrt(np.mean((est - true) ** 2))),
                           "largest": float(np.max(np.abs(est - true))),
                           "cells": len(printed), "cells_exact": exact,
                           "log_hr_error": hr_error if i == 0 else math.nan,
                           "warnings": len(read.warnings)})
    return out


def _style_lines(ok: pd.DataFrame, form: str) -> None:
    groups = ["renderer"] + (["print", "colours", "lines", "bands", "marks"]
                             if form == "raster" else
                             ["style", "colours", "lines", "bands", "marks", "y scale",
                              "y labels"] if form == "svg" else [])
    if form == "raster" and "style" in ok:  # the SVG figures' style, after the print
        groups.insert(2, "style")
    for column in ["all", *groups]:
        parts = [("all", ok)] if column == "all" else list(ok.groupby(column))
        for label, g in parts:
            if g.empty:
                continue
            exact = g.cells_exact.sum() / g.cells.sum()
            print(f"  {label:22s} arms {len(g):3d}  IAE median {g.iae.median():.5f} "
                  f"p90 {g.iae.quantile(0.9):.5f} p95 {g.iae.quantile(0.95):.5f}  "
                  f"RMSE p90 {g.rmse.quantile(0.9):.5f}  largest {g.largest.max():.4f}  "
                  f"at-risk exact {100 * exact:.1f}%")


def report(df: pd.DataFrame, form: str) -> bool:
    """Print one format's figures and targets; True when every target is met."""
    target = TARGETS[form]
    failed = df.groupby("figure").failed.any()
    print(f"{form}: {len(failed)} figures, {int(failed.sum())} failed")
    for figure, err in df[df.failed].groupby("figure").error.first().items():
        print(f"  {figure}: {err}")
    if "style" in df and failed.any():  # which styles the failures are of
        styles = df.groupby("figure")["style"].first()
        print("  failed by style: " + ", ".join(
            f"{s} {int(failed[styles == s].sum())}/{int((styles == s).sum())}"
            for s in sorted(styles.unique()) if failed[styles == s].any()))
    ok = df[~df.failed]
    if ok.empty:
        return False
    _style_lines(ok, form)
    hr = ok.log_hr_error.dropna()
    print(f"  then trialrecon reconstruct (integer, both arms, marks): |log HR error| median "
          f"{hr.median():.4f}, p90 {hr.quantile(0.9):.4f} over {len(hr)} figures "
          f"({ok.figure.nunique() - len(hr)} not rebuilt)")
    seconds = df.groupby("figure").seconds.first()
    print(f"  seconds a figure: median {seconds.median():.2f}, largest {seconds.max():.2f}")
    checks = [("failures", failed.mean() <= target["failures"]),
              ("IAE median", ok.iae.median() <= target["iae_median"])]
    if "iae_p95" in target:
        checks.append(("IAE p95", ok.iae.quantile(0.95) <= target["iae_p95"]))
    if "rmse_p90" in target:
        checks.append(("RMSE p90", ok.rmse.quantile(0.9) <= target["rmse_p90"]))
    checks += [("at-risk exact", ok.cells_exact.sum() / ok.cells.sum()
                >= target["at_risk_exact"]),
               ("seconds", seconds.median() <= target["seconds"]),
               ("|log HR error| p90", hr.quantile(0.9) <= target["log_hr_p90"])]
    for name, met in checks:
        print(f"  target {name}: {'MET' if met else 'MISSED'}")
    return all(m for _, m in checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figures", help="comma-separated figure ids (default: all)")
    parser.add_argument("--format", choices=("vector", "raster", "both", "svg"),
                        default="both", help="read the vector PDFs, the rasters, or both "
                        "(default); or the SVG figures of --svg-dir")
    parser.add_argument("--svg-dir", type=Path, default=SVG_DIR,
                        help=f"the SVG figures and their manifest.csv that "
                        f"benchmarks/render_svg.R drew (default: {SVG_DIR})")
    parser.add_argument("--raster-dir", type=Path,
                        help="with --format raster: read the rasters and manifest.csv here "
                        "instead of the corpus's (e.g. those benchmarks/render_rasters.py "
                        f"prints into {RASTER_DIR})")
    parser.add_argument("--csv", help="write the per-arm rows here")
    args = parser.parse_args(argv)
    if args.raster_dir is not None and args.format != "raster":
        parser.error("--raster-dir goes with --format raster")
    folder = (args.svg_dir if args.format == "svg" else
              args.raster_dir if args.raster_dir is not None else FIGURES)
    if args.format == "svg" and not (folder / "manifest.csv").is_file():
        print(f"{folder} has no manifest.csv: run `Rscript benchmarks/render_svg.R "
              f"../shared/corpus/kmdata {folder}` first")
        return 2
    if args.raster_dir is not None and not (folder / "manifest.csv").is_file():
        print(f"{folder} has no manifest.csv: run `.venv/bin/python "
              f"benchmarks/render_rasters.py --out-dir {folder}` first")
        return 2
    manifest = pd.read_csv(folder / "manifest.csv")
    if args.figures:
        manifest = manifest[manifest.figure_id.isin(args.figures.split(","))]
    forms = ("vector", "raster") if args.format == "both" else (args.format,)
    met, frames = True, []
    for form in forms:
        df = pd.DataFrame([r for _, row in manifest.iterrows()
                           for r in one(row, form, folder)])
        frames.append(df)
        met = report(df, form) and met
    if args.csv:
        pd.concat(frames, ignore_index=True).to_csv(args.csv, index=False)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
