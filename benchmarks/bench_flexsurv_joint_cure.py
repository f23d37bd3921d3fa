"""Parity of trialrecon's joint (treatment-effect) and mixture-cure fits with R flexsurv 2.3.2
and flexsurvcure 1.3.3 (a measurement, no test; never runs R).

Reads ``tests/reference/flexsurv_joint.csv`` and ``flexsurvcure.csv`` (made by
``tests/reference/make_flexsurv.R`` on 24 kmdata datasets), fits the same models with
:func:`trialrecon.extrapolation.joint.fit_joint` (reference arm as in R: the first arm in
C-locale order) and :func:`~trialrecon.extrapolation.joint.fit_cure`, and prints per model
the largest ``|loglik(trialrecon) - loglik(flexsurv)|`` and ``|RMST(60) / RMST_R(60) - 1|``,
then every fit beyond 0.01 or 0.05%. Fits flexsurv itself did not converge (its Hessian not
positive definite, a cure fraction at its bound) are counted apart.

    .venv/bin/python benchmarks/bench_flexsurv_joint_cure.py [--part joint|cure|both]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"
KMDATA = ROOT.parent / "shared" / "corpus" / "kmdata"


def _name(model: str) -> str:
    return re.sub(r"spline_(hazard|odds)_k(\d)", r"spline-\1-\2", model)


def joint() -> pd.DataFrame:
    from trialrecon.extrapolation.joint import fit_joint

    rows = []
    for r in pd.read_csv(REFERENCE / "flexsurv_joint.csv").itertuples():
        d = pd.read_csv(KMDATA / r.file)
        t0 = time.perf_counter()
        j = fit_joint(d, _name(r.model), control=r.ref_arm)
        rows.append({"dataset": r.dataset, "arm": "both", "model": r.model,
                     "r_converged": bool(r.converged), "dloglik": j.joint.loglik - r.loglik,
                     "drmst": j.rmst(60, r.ref_arm)[0] / r.rmst60_ref - 1,
                     "dbeta": j.effect.beta - r.trt_est, "dse": j.effect.se / r.trt_se - 1,
                     "seconds": time.perf_counter() - t0, "note": j.note})
    return pd.DataFrame(rows)


def cure() -> pd.DataFrame:
    from trialrecon.extrapolation.joint import fit_cure

    rows = []
    for r in pd.read_csv(REFERENCE / "flexsurvcure.csv").itertuples():
        d = pd.read_csv(KMDATA / r.file)
        a = d[d.arm == r.arm]
        t0 = time.perf_counter()
        f = fit_cure(a.time.to_numpy(), a.event.to_numpy(), r.model)
        rows.append({"dataset": r.dataset, "arm": r.arm, "model": r.model,
                     "r_converged": bool(r.converged), "dloglik": f.loglik - r.loglik,
                     "drmst": f.rmst(60)[0] / r.rmst60 - 1,
                     "dtheta": f.estimates["theta"] - r.theta,
                     "seconds": time.perf_counter() - t0, "note": f.note})
    return pd.DataFrame(rows)


def report(name: str, out: pd.DataFrame) -> None:
    ok = out[out.r_converged]
    print(f"{name}: {len(out)} fits, {len(ok)} that flexsurv converged")
    by = ok.groupby("model").agg(fits=("dloglik", "size"),
                                 max_dloglik=("dloglik", lambda x: x.abs().max()),
                                 max_drmst_pct=("drmst", lambda x: 100 * x.abs().max()),
                                 max_seconds=("seconds", "max"))
    print(by.to_string(float_format=lambda v: f"{v:.3g}"))
    bad = ok[(ok.dloglik.abs() > 0.01) | (ok.drmst.abs() > 0.0005) | ok.dloglik.isna()]
    print(f"  beyond |dloglik| 0.01 or |dRMST| 0.05%: {len(bad)} of {len(ok)}")
    if len(bad):
        print(bad.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    rest = out[~out.r_converged]
    if len(rest):
        higher = int((rest.dloglik > 1e-6).sum())
        print(f"  flexsurv not converged: {len(rest)}; trialrecon's loglik higher in {higher}, "
              f"|dloglik| median {np.nanmedian(rest.dloglik.abs()):.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("joint", "cure", "both"), default="both")
    parser.add_argument("--out", type=Path, help="write the fit-by-fit comparison here")
    args = parser.parse_args()
    frames = []
    for part, run in (("joint", joint), ("cure", cure)):
        if args.part in (part, "both"):
            out = run()
            report(part, out)
            frames.append(out.assign(part=part))
    if args.out:
        pd.concat(frames).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
