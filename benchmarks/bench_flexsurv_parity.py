"""Parity of trialrecon's per-arm survival fits with R flexsurv 2.3.2 (a measurement, no test).

Reads the stored reference ``tests/reference/flexsurv_per_arm.csv`` (made by
``tests/reference/make_flexsurv.R``; this script never runs R), fits the same arms of the same
kmdata datasets (``../shared/corpus/kmdata``, times in months) with
``trialrecon.extrapolation.extrapolate(arm, horizon=60, time_unit="months")`` (all 13 models)
and compares, fit by fit:

* ``dloglik = loglik(trialrecon) - loglik(flexsurv)`` (positive: trialrecon found a higher
  maximum);
* the relative difference of the restricted mean to 60 months,
  ``rmst(trialrecon) / rmst(flexsurv) - 1``, against flexsurv's ``summary(type = "rmst")``
  (``rmst60``, integrated to ``integrate()``'s default tolerance) and against ``rmst60_tight``
  (flexsurv's survival function integrated to a relative tolerance of 1e-10);
* the largest absolute difference of survival at 12, 24 and 60 months.

Model names: trialrecon's exponential, weibull, gompertz, loglogistic, lognormal, gengamma,
gamma, spline-{hazard,odds}-k are flexsurv's exp, weibull, gompertz, llogis, lnorm, gengamma,
gamma and flexsurvspline(k, scale = "hazard" / "odds"), spline_{hazard,odds}_kk in the CSV.

Printed: per model the number of fits compared, the largest ``|dloglik|`` and the largest
``|relative RMST difference|`` (with their medians), then every fit with ``|dloglik| > 0.01``
or ``|relative RMST difference| > 0.05%`` (or a value missing on one side), with both
convergence flags (flexsurv's, as judged by the R script, and trialrecon's ``converged``) and
trialrecon's note.

Run from the repository root::

    .venv/bin/python benchmarks/bench_flexsurv_parity.py [--jobs 2] [--out /tmp/parity.csv]

``--lib FOLDER`` measures another version of the library, e.g. an earlier commit's::

    mkdir /tmp/old && git archive COMMIT lib | tar -x -C /tmp/old
    .venv/bin/python benchmarks/bench_flexsurv_parity.py --lib /tmp/old/lib
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference" / "flexsurv_per_arm.csv"
KMDATA = ROOT.parent / "shared" / "corpus" / "kmdata"

HORIZON = 60.0
LANDMARKS = (12.0, 24.0, 60.0)
#: Listing thresholds: |dloglik| and |relative RMST difference|.
LOGLIK_TOL = 0.01
RMST_TOL = 5e-4

#: trialrecon's model name -> flexsurv's, as in the reference CSV.
NAMES = {"exponential": "exp", "weibull": "weibull", "gompertz": "gompertz",
         "loglogistic": "llogis", "lognormal": "lnorm", "gengamma": "gengamma",
         "gamma": "gamma",
         **{f"spline-{s}-{k}": f"spline_{s}_k{k}" for s in ("hazard", "odds") for k in (1, 2, 3)}}


def fit_dataset(file: str, directory: str) -> pd.DataFrame:
    """trialrecon's fits of every arm of one dataset: loglik, RMST(60), S(12, 24, 60)."""
    warnings.simplefilter("ignore")
    from trialrecon.extrapolation import extrapolate

    ipd = pd.read_csv(Path(directory) / file, dtype={"arm": str})
    rows = []
    for arm, part in ipd.groupby("arm", sort=False):
        start = time.perf_counter()
        ex = extrapolate(part.reset_index(drop=True), horizon=HORIZON, time_unit="months")
        seconds = time.perf_counter() - start
        for _, r in ex.table.iterrows():
            # FittedModel.survival: NaN for a failed fit.
            surv = ex.fits[(r.arm, r.model)].survival(np.array(LANDMARKS))
            rows.append({"file": file, "arm": arm, "model": NAMES[r.model],
                         "tr_model": r.model, "tr_loglik": r.loglik, "tr_rmst60": r.rmst,
                         "tr_converged": bool(r.converged), "tr_note": r.note,
                         **{f"tr_s{int(t)}": float(s) for t, s in zip(LANDMARKS, surv,
                                                                       strict=True)},
                         "arm_seconds": seconds})
    return pd.DataFrame(rows)


def describe(folder: Path) -> str:
    """The git commit of ``folder`` and whether its files differ from it, if in a work tree."""
    def git(*cmd: str) -> str:
        out = subprocess.run(["git", "-C", str(folder), *cmd], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return ""
    dirty = git("status", "--porcelain", "--", ".")
    return f" (commit {head}{', with uncommitted changes' if dirty else ''})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--data", type=Path, default=KMDATA)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the fit-by-fit comparison to this CSV")
    parser.add_argument("--lib", type=Path, help="import trialrecon from this folder instead "
                        "(e.g. an earlier commit's lib/, from git archive)")
    args = parser.parse_args(argv)
    if args.lib:
        sys.path.insert(0, str(args.lib.resolve()))
    import trialrecon

    library = Path(trialrecon.__file__).resolve().parent
    print(f"trialrecon: {library}{describe(library)}")

    ref = pd.read_csv(args.reference, dtype={"arm": str})
    files = list(dict.fromkeys(ref.file))
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        ours = pd.concat(pool.map(fit_dataset, files, [str(args.data)] * len(files)),
                         ignore_index=True)
    wall = time.perf_counter() - started

    both = ref.merge(ours, on=["file", "arm", "model"], how="outer", indicator=True)
    unmatched = both[both._merge != "both"]
    both = both[both._merge == "both"].copy()
    both["dloglik"] = both.tr_loglik - both.loglik
    both["rel_rmst"] = both.tr_rmst60 / both.rmst60 - 1.0
    both["rel_rmst_tight"] = both.tr_rmst60 / both.rmst60_tight - 1.0
    both["max_ds"] = np.nanmax(np.abs(both[["tr_s12", "tr_s24", "tr_s60"]].to_numpy()
                                      - both[["s12", "s24", "s60"]].to_numpy()), axis=1)

    shown = (args.reference.resolve().relative_to(ROOT)
             if args.reference.resolve().is_relative_to(ROOT) else args.reference)
    arms = ref.groupby(["file", "arm"]).ngroups
    print(f"reference: {shown} ({len(files)} datasets, {arms} arms, {len(ref)} fits; "
          f"flexsurv converged: {int(ref.converged.sum())})")
    versions = args.reference.parent / "versions.csv"
    if versions.exists():
        v = pd.read_csv(versions)
        print("versions: " + ", ".join(f"{c} {x}" for c, x in zip(v.component, v.version,
                                                                   strict=True)))
    print(f"trialrecon fits: {len(ours)} in {wall:.0f} s wall ({args.jobs} jobs)")
    if len(unmatched):
        print(f"unmatched rows: {len(unmatched)}")
        print(unmatched[["file", "arm", "model", "_merge"]].to_string(index=False))
    print()
    order = list(NAMES.values())
    summary = []
    for model in order:
        m = both[both.model == model]
        dl = m.dloglik.abs()
        rr = m.rel_rmst.abs()
        summary.append({
            "model": model, "fits": len(m),
            "both_conv": int((m.converged & m.tr_converged).sum()),
            "max|dLL|": dl.max(), "med|dLL|": dl.median(),
            "max|dRMST|%": 100 * rr.max(), "med|dRMST|%": 100 * rr.median(),
            "max|dRMSTt|%": 100 * m.rel_rmst_tight.abs().max(),
            "max|dS|": m.max_ds.max(),
            "n_dLL>0.01": int((dl > LOGLIK_TOL).sum()),
            "n_dRMST>0.05%": int((rr > RMST_TOL).sum()),
            "n_missing": int((m.dloglik.isna() | m.rel_rmst.isna()).sum())})
    table = pd.DataFrame(summary)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("per model (|dLL| = |loglik trialrecon - loglik flexsurv|; dRMST = relative "
              "difference of RMST(60) from flexsurv's summary(type = 'rmst'), dRMSTt from "
              "rmst60_tight (flexsurv's S integrated to rel.tol 1e-10); dS = largest survival "
              "difference at 12/24/60 months):")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
        dl_all, rr_all = both.dloglik.abs(), both.rel_rmst.abs()
        print(f"\nall models: max |dLL| {dl_all.max():.3g}, max |dRMST| "
              f"{100 * rr_all.max():.3g}% (against rmst60_tight "
              f"{100 * both.rel_rmst_tight.abs().max():.3g}%), fits compared {len(both)}")
        flagged = both[(both.dloglik.abs() > LOGLIK_TOL) | (both.rel_rmst.abs() > RMST_TOL)
                       | both.dloglik.isna() | both.rel_rmst.isna()]
        flagged = flagged.assign(order=flagged.model.map({m: i for i, m in enumerate(order)}))
        flagged = flagged.sort_values(["order", "dataset", "arm"])
        print(f"\nfits with |dLL| > {LOGLIK_TOL} or |dRMST| > {100 * RMST_TOL:g}% or a missing "
              f"value: {len(flagged)}")
        if len(flagged):
            out = flagged[["dataset", "arm", "model", "loglik", "dloglik", "rmst60", "tr_rmst60",
                           "rel_rmst", "converged", "tr_converged", "tr_note"]].copy()
            out["rel_rmst"] = (100 * out.rel_rmst).map(lambda x: f"{x:.3g}%")
            out["tr_note"] = out.tr_note.fillna("").str.slice(0, 70)
            out = out.rename(columns={"converged": "fs_conv", "tr_converged": "tr_conv",
                                      "rmst60": "fs_rmst60"})
            print(out.to_string(index=False, float_format=lambda x: f"{x:.6g}"))
    if args.out:
        both.drop(columns="_merge").to_csv(args.out, index=False)
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
