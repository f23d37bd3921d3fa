"""What the kmdata development corpus says about the summary road's priors.

The prior of :mod:`trialrecon.simulate.model` prefers hazard shapes and censoring patterns
of real trials. This script prints, over the datasets of ``../shared/corpus/kmdata``:

* the Weibull shape of each arm (maximum likelihood, lifelines ``WeibullFitter``): the
  slope of log hazard against log time is ``shape - 1``, the quantity whose prior centre is
  ``PRIOR_SLOPE_CENTRE``; and the difference of shapes between the arms of a trial;
* the share of each arm's censorings at its last time (patients still followed where the
  data or the figure end), which the censoring model's long-follow-up share describes;
* the longest follow-up against the median follow-up (reverse Kaplan-Meier).

Run from the repository root: ``.venv/bin/python benchmarks/prior_check.py``.
"""

from __future__ import annotations

import sys
import warnings

import pandas as pd
from lifelines import WeibullFitter
from trialrecon import corpus, paths
from trialrecon.analysis import median_follow_up
from trialrecon.simulate.model import PRIOR_SLOPE, PRIOR_SLOPE_CENTRE

CORPUS = paths.ROOT.parent / "shared" / "corpus" / "kmdata"


def describe(values: pd.Series, name: str) -> None:
    q = values.quantile([0.1, 0.25, 0.5, 0.75, 0.9]).to_numpy()
    print(f"{name}: median {q[2]:.3f}, quartiles {q[1]:.3f} to {q[3]:.3f}, "
          f"10th-90th percentiles {q[0]:.3f} to {q[4]:.3f} ({len(values)} values)")


def main() -> int:
    warnings.simplefilter("ignore")
    index = corpus.corpus_index(CORPUS)
    arms, trials = [], []
    for entry in index.to_dict("records"):
        data = corpus.read_dataset(CORPUS / str(entry["file"]))
        shapes = []
        for _, arm in data.groupby("arm"):
            fit = WeibullFitter().fit(arm.time.clip(lower=1e-3), arm.event)
            shapes.append(float(fit.rho_))
            censored = arm.time[arm.event == 0]
            last = float(arm.time.max())
            at_last = float((censored >= last * (1 - 1e-9)).sum() / max(len(censored), 1))
            arms.append({"shape": shapes[-1], "censored_at_last": at_last})
        trials.append({"shape_difference": shapes[0] - shapes[1],
                       "longest_over_median_follow_up":
                           float(data.time.max()) / median_follow_up(data)})
    arms_df, trials_df = pd.DataFrame(arms), pd.DataFrame(trials)
    print(f"kmdata development corpus: {len(trials_df)} datasets, {len(arms_df)} arms")
    describe(arms_df["shape"], "Weibull shape per arm")
    describe(arms_df["shape"] - 1.0, "slope of log hazard on log time (shape - 1)")
    print(f"  prior of the summary road: centre {PRIOR_SLOPE_CENTRE:.2f}, sd {PRIOR_SLOPE:.2f}")
    describe(trials_df["shape_difference"], "difference of shapes between the arms")
    describe(arms_df["censored_at_last"], "share of censorings at the arm's last time")
    print(f"  arms with more than 10% of censorings there: "
          f"{100 * (arms_df['censored_at_last'] > 0.1).mean():.0f}%")
    describe(trials_df["longest_over_median_follow_up"],
             "longest follow-up / median follow-up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
