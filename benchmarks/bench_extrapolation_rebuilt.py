"""Does rebuilding patients from a published curve change the extrapolation?

For each dataset of ``../shared/corpus/kmdata`` and each arm: the curve a paper would draw
(``corpus.digitise_arm``, 0.3% click jitter: ``noisy``, the mode the curve benchmark judges)
and its printed numbers at risk (``corpus.at_risk_rows``) are rebuilt into patients
(``reconstruct_ipd``, integer method), and the 13 models of
:func:`trialrecon.extrapolation.extrapolate` are fitted to the rebuilt and to the true
patients alike, with the restricted mean to twice the arm's last observed time (half of it
extrapolated). Printed per model: median and p90 of ``|RMST rebuilt - RMST true| / RMST
true``, and how often the AIC-best model of the rebuilt data is the AIC-best of the true
data. This measures the curve road's error as it reaches an economic model; it is not the
error of the extrapolation itself (``bench_extrapolation_corpus.py``).

Run from the repository root::

    .venv/bin/python benchmarks/bench_extrapolation_rebuilt.py              # all datasets
    .venv/bin/python benchmarks/bench_extrapolation_rebuilt.py --limit 10
"""

from __future__ import annotations

import math
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from corpus_runner import corpus_parser, pin_blas, run_all, select_entries, write_tables
from trialrecon import corpus

#: Digitisation mode of the curves (see ``corpus.CURVE_MODES``).
MODE = "noisy"
#: Horizon of the restricted mean, as a multiple of the arm's last observed time.
HORIZON_FACTOR = 2.0


def run_one(entry: dict[str, Any], directory: str) -> dict[str, Any]:
    """Rebuild both arms of one dataset and fit every model to rebuilt and true patients;
    no exception escapes (a failure is one row with its stage and message)."""
    warnings.simplefilter("ignore")
    from trialrecon.extrapolation import extrapolate
    from trialrecon.reconstruct import reconstruct_ipd

    name = str(entry["dataset"])
    rows: list[dict[str, Any]] = []
    stage = "read"
    try:
        ipd = corpus.read_dataset(Path(directory) / str(entry["file"]))
        for label in corpus.dataset_arms(entry):
            stage = f"rebuild {label}"
            arm = ipd[ipd["arm"] == label].reset_index(drop=True)
            curve = corpus.digitise_arm(arm, MODE, seed=corpus.stable_seed(name, label))
            rebuilt = reconstruct_ipd(curve, corpus.at_risk_rows(arm), method="integer")
            horizon = HORIZON_FACTOR * float(arm["time"].max())
            stage = f"fit {label}"
            fits = {}
            for what, data in (("true", arm), ("rebuilt", rebuilt)):
                fits[what] = extrapolate(data[["time", "event"]], horizon=horizon).table
            both = fits["true"].merge(fits["rebuilt"], on="model", suffixes=("_true", ""))
            for r in both.itertuples():
                rows.append({"dataset": name, "arm": label, "model": r.model,
                             "rmst_true": r.rmst_true, "rmst_rebuilt": r.rmst,
                             "aic_rank_true": r.aic_rank_true, "aic_rank_rebuilt": r.aic_rank,
                             "stage": "", "message": ""})
    except Exception as exc:  # noqa: BLE001 - a benchmark records every failure
        rows.append({"dataset": name, "arm": "", "model": "", "stage": stage,
                     "message": str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                     "traceback": traceback.format_exc()})
    return {"rows": rows}


def summarise(fits: pd.DataFrame, wall: float, datasets: int) -> None:
    from trialrecon.extrapolation import MODELS

    failed = fits[fits.stage.fillna("") != ""]
    ok = fits[fits.stage.fillna("") == ""].copy()
    ok["rel"] = (ok.rmst_rebuilt - ok.rmst_true).abs() / ok.rmst_true
    arms = ok.groupby(["dataset", "arm"]).ngroups
    print(f"\n{datasets} datasets: {arms} arms rebuilt and fitted, {len(failed)} failure(s); "
          f"mode {MODE}, integer method, RMST to {HORIZON_FACTOR:g} x the arm's last time")
    table = []
    for model in MODELS:
        rel = ok[ok.model == model].rel.dropna()
        table.append({"model": model, "arms": len(rel),
                      "median |rel diff| %": round(100 * rel.median(), 2),
                      "p90 |rel diff| %": round(100 * rel.quantile(0.9), 2),
                      "max %": round(100 * rel.max(), 2)})
    print(pd.DataFrame(table).to_string(index=False))
    best_true = ok[ok.aic_rank_true == 1].set_index(["dataset", "arm"]).model
    best_rebuilt = ok[ok.aic_rank_rebuilt == 1].set_index(["dataset", "arm"]).model
    common = best_true.index.intersection(best_rebuilt.index)
    same = float((best_true[common] == best_rebuilt[common]).mean()) if len(common) else math.nan
    print(f"\nAIC-best model the same on rebuilt and true data: {100 * same:.1f}% of "
          f"{len(common)} arms")
    for r in failed.itertuples():
        print(f"  failed: {r.dataset} ({r.stage}): {r.message}")
    print(f"wall {wall:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = corpus_parser(__doc__.split("\n\n")[0])
    args = parser.parse_args(argv)
    if argv is None:
        pin_blas(1)
    entries = select_entries(args)
    if entries is None:
        return 2
    results, wall = run_all(run_one, entries, args.corpus, args.jobs)
    fits = pd.DataFrame([r for res in results for r in res["rows"]])
    write_tables(args.out, pd.DataFrame({"dataset": [e["dataset"] for e in entries]}),
                 fits.drop(columns="traceback", errors="ignore"))
    summarise(fits, wall, len(entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
