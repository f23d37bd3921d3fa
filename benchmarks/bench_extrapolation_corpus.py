"""How well the survival models extrapolate: fit on the first half of each kmdata dataset's
follow-up, compare the restricted mean to the full follow-up with the Kaplan-Meier one.

For each dataset of ``../shared/corpus/kmdata`` (152 real-trial-shaped patient-level datasets,
times in months; see its README) and each of its two arms:

* ``tau`` (full follow-up, one per dataset, both arms alike): the last time at which the
  pooled number at risk (both arms, ``time >= t``) is still at least 10% of the dataset's
  patients, i.e. the ``ceil(0.1 n)``-th largest observed time, but no later than the last
  observed time of the arm whose follow-up ends first (so that both Kaplan-Meier curves are
  observed on all of ``[0, tau]``, never carried forward). Beyond it the Kaplan-Meier curve
  rests on few patients; up to it the observed restricted mean is stable (its relative
  standard error is printed).
* The cut ``c = tau / 2``: every patient is censored administratively at ``c``
  (``time = min(time, c)``, ``event = event and time <= c``).
* Arms with fewer than 10 events at or before ``c`` are skipped (counted and listed).
* Fit: ``trialrecon.extrapolation.extrapolate(cut arm, horizon=tau, time_unit="months")``,
  all 13 models (7 standard of NICE DSU TSD 14, 6 Royston-Parmar splines), each arm alone.
* Observed: the Kaplan-Meier restricted mean to ``tau`` of the FULL arm
  (:func:`trialrecon.analysis.rmst`, with its standard error).
* Relative error of a model: ``(model rmst - observed) / observed``; ``|.|`` for accuracy,
  the signed median for bias. Also the relative error of the area after the cut alone,
  ``integral_c^tau S``, model against Kaplan-Meier (the part that is truly extrapolated; the
  area before the cut is nearly the same for every model).

Printed per model: arms fitted (finite restricted mean), failed (no finite restricted mean:
the fit failed, or converged to a curve whose restricted mean is not finite), median and p90 of
``|rel err|`` (percent), median signed error (bias, percent), median and p90 of the after-cut
``|rel err|``, how often the model is the AIC choice and how often the best extrapolator
(smallest ``|rel err|`` of the converged models in that arm). Pseudo-models: ``AIC-best`` and
``BIC-best`` (in each arm the model of lowest AIC / BIC among those with a finite restricted
mean; how often the library's ``aic_rank`` 1 has none is printed) and ``oracle`` (the best
extrapolator in each arm: the floor no selection rule can beat). Then the share of arms whose
AIC-best (BIC-best) model is the best extrapolator, and the share where its ``|rel err|`` is
within 2 percentage points of the best one's (``|err_AIC| - |err_best| <= 0.02``); one in 13
would be chance. Finally every failed fit (dataset, arm, model, reason), every converged fit
whose restricted mean is not finite, every converged fit with a note from the library (e.g. no
confidence interval), grouped by the note, crashes, and the wall time.

Datasets run in worker processes (``--jobs``, default 2, one per core), each worker with one
BLAS thread (``--blas-threads``, default 1; the script re-executes itself with
``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` set; 0 leaves the
environment as it is).

Run from the repository root::

    .venv/bin/python benchmarks/bench_extrapolation_corpus.py                  # all datasets
    .venv/bin/python benchmarks/bench_extrapolation_corpus.py --limit 10 --jobs 2
    .venv/bin/python benchmarks/bench_extrapolation_corpus.py --datasets ACT1_2A --out /tmp/ex

``--out PREFIX`` writes ``PREFIX_datasets.csv`` (one row per dataset) and ``PREFIX_arms.csv``
(one row per arm and model, with the arm's tau, cut and observed restricted mean). Nothing is
judged against a target: the exit status is 0 when the run completed, 2 when nothing ran.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from corpus_runner import corpus_parser, pin_blas, run_all, select_entries, write_tables
from trialrecon import analysis, corpus

#: tau: the last time the pooled number at risk is at least this share of the patients.
AT_RISK_SHARE = 0.10
#: The cut, as a share of tau.
CUT_SHARE = 0.5
#: Fewest events at or before the cut for an arm to be fitted.
MIN_EVENTS = 10
#: "Close to the best": |rel err| at most this much above the best model's (2 points).
CLOSE = 0.02

ARM_COLUMNS = ["dataset", "arm", "n", "events", "tau", "cut", "events_before_cut",
               "at_risk_tau", "observed", "observed_se", "observed_after_cut", "model",
               "converged", "note", "aic", "bic", "rmst", "rmst_after_cut", "rel_err",
               "rel_err_after_cut", "fit_seconds"]


# --------------------------------------------------------------------------- one dataset


def follow_up(ipd: pd.DataFrame) -> float:
    """tau: the ``ceil(AT_RISK_SHARE n)``-th largest time (pooled number at risk >= 10%), at
    most the shortest arm's last observed time."""
    time = ipd.time.to_numpy(float)
    k = max(1, math.ceil(AT_RISK_SHARE * len(time)))
    return min(float(np.sort(time)[::-1][k - 1]), float(ipd.groupby("arm").time.max().min()))


def cut_at(ipd: pd.DataFrame, c: float) -> pd.DataFrame:
    """Administrative censoring of every patient at ``c``."""
    return pd.DataFrame({"time": np.minimum(ipd.time.to_numpy(float), c),
                         "event": ((ipd.event.to_numpy() == 1) & (ipd.time.to_numpy() <= c))
                         .astype(int),
                         "arm": ipd.arm.to_numpy()})


def _message(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:300]


def run_one(entry: dict[str, Any], directory: str) -> dict[str, Any]:
    """Cut, fit and compare both arms of one dataset; every exception recorded, none raised."""
    warnings.simplefilter("ignore")
    from trialrecon.extrapolation import extrapolate

    t_start = time.perf_counter()
    info: dict[str, Any] = {"dataset": entry["dataset"], "n": int(entry["n"]),
                            "outcome": entry["outcome"], "tau": math.nan, "cut": math.nan,
                            "arms_fitted": 0, "arms_skipped": 0, "skipped": "", "crash": "",
                            "seconds": math.nan, "traceback": ""}
    rows: list[dict[str, Any]] = []
    try:
        ipd = corpus.read_dataset(Path(directory) / str(entry["file"]))
        tau = follow_up(ipd)
        c = CUT_SHARE * tau
        info.update(tau=tau, cut=c)
        for label in corpus.dataset_arms(entry):
            full = ipd[ipd.arm == label].reset_index(drop=True)
            cut = cut_at(full, c)
            before = int(cut.event.sum())
            if before < MIN_EVENTS:
                info["arms_skipped"] += 1
                info["skipped"] += f"{label} ({before} events before the cut); "
                continue
            observed, observed_se = analysis.rmst(full, tau)
            observed_after = observed - analysis.rmst(full, c)[0]
            base = {"dataset": entry["dataset"], "arm": label, "n": len(full),
                    "events": int(full.event.sum()), "tau": tau, "cut": c,
                    "events_before_cut": before,
                    "at_risk_tau": float(np.mean(full.time.to_numpy() >= tau)),
                    "observed": observed, "observed_se": observed_se,
                    "observed_after_cut": observed_after}
            try:
                t0 = time.perf_counter()
                result = extrapolate(cut, horizon=tau, time_unit="months")
                seconds = time.perf_counter() - t0
            except Exception as exc:  # noqa: BLE001 - a benchmark records every failure
                info["crash"] += f"{label}: {_message(exc)}; "
                info["traceback"] += traceback.format_exc()
                continue
            info["arms_fitted"] += 1
            for r in result.table.itertuples():
                fit = result.fits[(r.arm, r.model)]
                ok = bool(r.converged) and math.isfinite(r.rmst)
                after = r.rmst - fit.rmst(c)[0] if ok else math.nan
                rows.append({**base, "model": r.model, "converged": bool(r.converged),
                             "note": r.note, "aic": r.aic, "bic": r.bic,
                             "rmst": r.rmst if ok else math.nan,
                             "rmst_after_cut": after,
                             "rel_err": (r.rmst - observed) / observed if ok else math.nan,
                             "rel_err_after_cut": ((after - observed_after) / observed_after
                                                   if ok and observed_after > 0 else math.nan),
                             "fit_seconds": seconds})
    except Exception as exc:  # noqa: BLE001
        info["crash"] += _message(exc)
        info["traceback"] += traceback.format_exc()
    info["seconds"] = time.perf_counter() - t_start
    return {"dataset": info, "arms": rows}


# --------------------------------------------------------------------------- summary


def _pct(x: float) -> str:
    return f"{100 * x:.1f}" if math.isfinite(x) else "-"


def choices(fits: pd.DataFrame) -> pd.DataFrame:
    """Per arm: the AIC-best, BIC-best and best-extrapolating model and their errors."""
    out = []
    for (dataset, arm), rows in fits.groupby(["dataset", "arm"], sort=False):
        ok = rows[rows.rmst.notna()]
        if ok.empty:
            continue
        err = ok.rel_err.abs()
        best = ok.loc[err.idxmin()]
        by_err = err.rank(method="min")
        row = {"dataset": dataset, "arm": arm, "fitted": len(ok), "best": best.model,
               "best_err": float(abs(best.rel_err))}
        for crit in ("aic", "bic"):
            pick = ok.loc[ok[crit].idxmin()]
            row[f"{crit}_model"] = pick.model
            row[f"{crit}_rel_err"] = float(pick.rel_err)
            row[f"{crit}_rel_err_after_cut"] = float(pick.rel_err_after_cut)
            row[f"{crit}_rank"] = int(by_err[pick.name])
        row["oracle_rel_err"] = float(best.rel_err)
        row["oracle_rel_err_after_cut"] = float(best.rel_err_after_cut)
        out.append(row)
    return pd.DataFrame(out)


def _stats(name: str, err: pd.Series, after: pd.Series, failed: int) -> dict[str, Any]:
    err, after = err.dropna(), after.dropna()
    a = err.abs()
    return {"model": name, "fitted": len(err), "failed": failed,
            "med |err| %": _pct(a.median() if len(a) else math.nan),
            "p90 |err| %": _pct(a.quantile(0.9) if len(a) else math.nan),
            "bias %": _pct(err.median() if len(err) else math.nan),
            "med |after| %": _pct(after.abs().median() if len(after) else math.nan),
            "p90 |after| %": _pct(after.abs().quantile(0.9) if len(after) else math.nan)}


def summary_frame(fits: pd.DataFrame) -> pd.DataFrame:
    """The per-model table as numbers (fractions, not percent), for the report's methods
    page: one row per model and per choice rule (AIC-best, BIC-best, oracle)."""
    from trialrecon.extrapolation import MODELS

    chosen = choices(fits)

    def row(name: str, err: pd.Series, after: pd.Series, **extra: Any) -> dict[str, Any]:
        err, after = err.dropna(), after.dropna()
        return {"model": name, "arms": len(err), "median_abs_error": err.abs().median(),
                "p90_abs_error": err.abs().quantile(0.9), "median_error": err.median(),
                "median_abs_error_after_cut": after.abs().median(),
                "p90_abs_error_after_cut": after.abs().quantile(0.9), **extra}

    out = [row(name, fits[fits.model == name].rel_err,
               fits[fits.model == name].rel_err_after_cut,
               aic_picks=int((chosen.aic_model == name).sum()),
               best_extrapolator=int((chosen.best == name).sum())) for name in MODELS]
    for label, key in (("AIC-best", "aic"), ("BIC-best", "bic"), ("oracle", "oracle")):
        same = (float((chosen[f"{key}_model"] == chosen.best).mean())
                if key != "oracle" else 1.0)
        out.append(row(label, chosen[f"{key}_rel_err"], chosen[f"{key}_rel_err_after_cut"],
                       share_best=same))
    return pd.DataFrame(out)


def write_summary(path: str, fits: pd.DataFrame, datasets: int) -> None:
    """The summary table with where it came from (commit, date, datasets) in its columns."""
    import datetime
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    frame = summary_frame(fits).assign(
        datasets=datasets, commit=commit, date=datetime.date.today().isoformat(),
        script="benchmarks/bench_extrapolation_corpus.py")
    frame.to_csv(path, index=False, float_format="%.6g")
    print(f"wrote {path}")


def summarise(datasets: pd.DataFrame, fits: pd.DataFrame, wall: float, jobs: int,
              blas: str) -> None:
    from trialrecon.extrapolation import MODELS

    arms_total = 2 * len(datasets)
    skipped = int(datasets.arms_skipped.sum())
    fitted_arms = int(datasets.arms_fitted.sum())
    crashed = datasets[datasets.crash != ""]
    print(f"\n{len(datasets)} datasets, {arms_total} arms: {fitted_arms} fitted, {skipped} "
          f"skipped (< {MIN_EVENTS} events before the cut), "
          f"{arms_total - fitted_arms - skipped} crashed")
    if fits.empty:
        print("no arm was fitted")
        return
    per_arm = fits.drop_duplicates(["dataset", "arm"])
    share_after = per_arm.observed_after_cut / per_arm.observed
    rse = per_arm.observed_se / per_arm.observed
    print(f"tau (pooled at-risk >= {100 * AT_RISK_SHARE:.0f}%, <= shorter arm's last time): "
          f"median {per_arm.tau.median():.1f} months (range {per_arm.tau.min():.1f}-"
          f"{per_arm.tau.max():.1f}); cut at tau/2; "
          f"events before the cut per arm: median {per_arm.events_before_cut.median():.0f}; "
          f"arm's own at-risk share at tau: median {100 * per_arm.at_risk_tau.median():.0f}%, "
          f"min {100 * per_arm.at_risk_tau.min():.1f}%")
    print(f"observed KM RMST to tau: share after the cut median {_pct(share_after.median())}%; "
          f"relative SE median {_pct(rse.median())}%, p90 {_pct(rse.quantile(0.9))}% "
          "(the noise floor of the relative error)")

    chosen = choices(fits)
    n_arms = len(chosen)
    table = []
    for name in MODELS:
        rows = fits[fits.model == name]
        stats = _stats(name, rows.rel_err, rows.rel_err_after_cut,
                       int(rows.rmst.isna().sum()))
        stats["AIC pick"] = int((chosen.aic_model == name).sum())
        stats["best"] = int((chosen.best == name).sum())
        table.append(stats)
    for label, key in (("AIC-best", "aic"), ("BIC-best", "bic"), ("oracle", "oracle")):
        stats = _stats(label, chosen[f"{key}_rel_err"], chosen[f"{key}_rel_err_after_cut"], 0)
        stats["AIC pick"] = stats["best"] = ""
        table.append(stats)
    print(f"\nrelative error of the restricted mean to tau, model (fitted on [0, tau/2]) vs "
          f"Kaplan-Meier (full data), over {n_arms} arms; 'after' = area from the cut to tau "
          "only; 'AIC pick' / 'best' = arms where the model is the AIC choice / the smallest "
          "|err|")
    print(pd.DataFrame(table).to_string(index=False))

    print()
    for crit in ("aic", "bic"):
        same = float((chosen[f"{crit}_model"] == chosen.best).mean())
        close = float(((chosen[f"{crit}_rel_err"].abs() - chosen.best_err) <= CLOSE).mean())
        print(f"{crit.upper()}-best is the best extrapolator in {_pct(same)}% of {n_arms} arms "
              f"(chance 1/13 = 7.7%); within {100 * CLOSE:.0f} points of the best in "
              f"{_pct(close)}%; its rank by |err| among the fitted models: median "
              f"{chosen[f'{crit}_rank'].median():.0f}, mean {chosen[f'{crit}_rank'].mean():.1f}")

    failed = fits[~fits.converged]
    print(f"\nfailed fits: {len(failed)} of {len(fits)}")
    for r in failed.itertuples():
        print(f"  {r.model} ({r.dataset}, {r.arm}; {r.events_before_cut} events before the "
              f"cut, n {r.n}): {r.note}")
    nan = fits[fits.converged & fits.rmst.isna()]
    ranks = fits.groupby(["dataset", "arm"], sort=False).aic.rank(method="min")
    top = fits[(ranks == 1) & fits.converged & fits.rmst.isna()]
    print(f"converged fits without a finite restricted mean: {len(nan)}; in {len(top)} arm(s) "
          "the library's aic_rank 1 is one of them (the AIC-best above is then the next)")
    for r in nan.itertuples():
        print(f"  {r.model} ({r.dataset}, {r.arm}; {r.events_before_cut} events before the "
              f"cut, n {r.n}, tau {r.tau:.1f})"
              + (" [aic_rank 1]" if r.Index in top.index else ""))
    noted = fits[fits.converged & (fits.note.fillna("") != "")]
    print(f"converged fits with a note (e.g. no confidence interval): {len(noted)}")
    for note, rows in noted.groupby("note", sort=False):
        print(f"  '{note}': {len(rows)} fit(s), by model "
              + ", ".join(f"{m} {k}" for m, k in rows.model.value_counts().items()))
        print("    " + "; ".join(f"{r.model} ({r.dataset}, {r.arm})" for r in rows.itertuples()))
    if len(crashed):
        print("crashes:")
        for r in crashed.itertuples():
            print(f"  {r.dataset}: {r.crash}")
    skipped_rows = datasets[datasets.skipped != ""]
    if len(skipped_rows):
        print("skipped arms: " + "; ".join(f"{r.dataset} {r.skipped.rstrip('; ')}"
                                           for r in skipped_rows.itertuples()))
    seconds = per_arm.fit_seconds
    print(f"\nfit time per arm (13 models): median {seconds.median():.2f} s, max "
          f"{seconds.max():.2f} s ({per_arm.loc[seconds.idxmax(), 'dataset']}, n "
          f"{per_arm.loc[seconds.idxmax(), 'n']})")
    print(f"wall {wall:.0f} s with {jobs} job(s), BLAS threads per process: {blas}")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = corpus_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--summary", metavar="CSV",
                        help="also write the per-model table as numbers (the report's methods "
                        "page reads benchmarks/results/extrapolation_corpus.csv)")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads per process (default 1; 0: leave the environment)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if argv is None:
        pin_blas(args.blas_threads)
    entries = select_entries(args)
    if entries is None:
        return 2
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "library default")
    print(f"extrapolation on {len(entries)} kmdata dataset(s) from {args.corpus}: tau = last "
          f"time with pooled at-risk >= {100 * AT_RISK_SHARE:.0f}% of patients (at most the "
          f"shorter arm's last time), cut at "
          f"{CUT_SHARE:g} tau, arms with >= {MIN_EVENTS} events before the cut, 13 models; "
          f"{args.jobs} job(s), BLAS threads {blas}")
    results, wall = run_all(run_one, entries, args.corpus, args.jobs)
    datasets = pd.DataFrame([r["dataset"] for r in results])
    fits = pd.DataFrame([a for r in results for a in r["arms"]], columns=ARM_COLUMNS)
    write_tables(args.out, datasets.drop(columns="traceback"), fits)
    summarise(datasets, fits, wall, args.jobs, blas)
    if args.summary and not fits.empty:
        write_summary(args.summary, fits, len(datasets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
