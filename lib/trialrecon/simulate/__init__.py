"""Pseudo patient data rebuilt from a trial's printed summary alone (no curve needed).

The road, one module each:

1. :mod:`.targets`: the printed figures as numbers with their rounding;
2. :mod:`.model`: a flexible two-arm survival model (piecewise hazards with random-walk
   priors that prefer Weibull-like, proportional curves) and a censoring model (uniform
   accrual, cut-off, drop-out), fitted to the print in expectation (maximum a posteriori);
3. :mod:`.sample`: deterministic pseudo patients that follow the fitted model and are then
   warped and tuned until their re-analysis meets every printed figure within its rounding;
4. :mod:`.findings`: the reported-vs-reconstructed table (lifelines), findings, warnings.

The print does not pin down one curve. :meth:`SummaryFit.survival_band` spreads the model
over what the print allows (the Laplace approximation of the posterior at the fit), and
:meth:`SummaryFit.ensemble` rebuilds pseudo datasets from those draws, each calibrated to
the print like the central one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from .. import registry
from ..analysis import km_steps
from ..errors import InputError
from ..registry import Analysis
from . import findings, model, sample
from .model import ANCHOR_KM_SE, Censoring, ModelFit, PiecewiseHazards, fit_model
from .targets import Targets, targets

#: Draws behind a band.
BAND_DRAWS = 400


@dataclass(frozen=True)
class SummaryFit:
    """Pseudo patient data of both arms with the fitted model and the comparison table.

    Attributes
    ----------
    ipd
        Columns ``time`` (months), ``event`` (1/0), ``arm`` (the analysis' arm names).
    model, censoring
        The fitted event-time and censoring models (the central, most plausible ones).
    table
        Reported vs reconstructed, one row per printed figure: ``quantity, arm, reported,
        reconstructed, difference, tolerance, within, calibrated``; reconstructed values are
        derived (lifelines re-analysis of ``ipd``); ``calibrated`` is True where the pseudo
        data were built to meet the figure (see :func:`.findings.table`).
    misses
        Findings: one per cause of printed figures not reproduced; empty when every printed
        figure is reproduced within its rounding.
    warnings
        Plausibility warnings about the central curves (empty when none).
    """

    analysis_id: str
    ipd: pd.DataFrame
    model: PiecewiseHazards
    censoring: Censoring
    table: pd.DataFrame
    misses: tuple[str, ...]
    warnings: tuple[str, ...]
    targets: Targets = field(repr=False)
    fitted: ModelFit = field(repr=False)
    seed: int = 0

    @property
    def names(self) -> tuple[str, str]:
        return self.targets.names

    @property
    def follow_up_end(self) -> float:
        """Last time of the pseudo data (months): beyond it every figure is the model's."""
        return float(self.ipd.time.max())

    @property
    def shared_end(self) -> float:
        """Last time both pseudo arms are followed (months)."""
        return float(self.ipd.groupby("arm").time.max().min())

    @property
    def supported_end(self) -> float:
        """The data cut-off of the fitted censoring model (months after the first
        randomisation): what the print supports. Pseudo patients the censoring model lets on
        beyond it (a small share, to where the data end) follow the event model's prior
        rather than any printed figure; an extrapolation censors them here."""
        return float(self.censoring.end)

    @property
    def longest_follow_up(self) -> tuple[float, str]:
        """The longest follow-up any pseudo patient may have (months) and why.

        The bound the print allows (:attr:`trialrecon.registry.Analysis.follow_up_bound`:
        the data cut-off minus the first randomisation, or the printed longest follow-up);
        where neither is printed, the data cut-off of the fitted censoring model, inferred
        from the printed figures (the median follow-up, when printed).
        """
        tg = self.targets
        if tg.longest is not None:
            return tg.longest, tg.longest_reason
        source = ("the printed median follow-up" if tg.follow_up is not None
                  else "the printed figures")
        return self.censoring.last, (f"no calendar or longest follow-up is printed: the data "
                                     f"cut-off inferred from {source} under the censoring "
                                     "model")

    def describe(self) -> str:
        """The fitted models in words, for people (all figures derived)."""
        m, c = self.model, self.censoring
        parts = []
        end = self.follow_up_end
        for a, name in enumerate(self.names):
            s = m.survival(end, a)
            start = float(m.quantile(1.0 - 0.05 * (1.0 - s), a)) if s < 0.999 else end
            k = findings.effective_shape(m, a, start, end) if 0 < start < end else math.nan
            trend = ("rising" if k > 1.1 else "falling" if k < 0.9 else "about constant")
            parts.append(f"{name}: hazard {trend} over follow-up (Weibull-equivalent shape "
                         f"{k:.2f}), model median {m.median(a):.1f} months")
        lo, hi = m.hazard_ratio_range(self.shared_end)
        ph = ("proportional hazards" if hi / lo < 1.05 else
              f"hazard ratio varying from {lo:.2f} to {hi:.2f} over follow-up")
        counts = self.ipd.groupby("arm", sort=False).event.agg(["size", "sum"])
        events = ", ".join(f"{int(r['sum'])} of {int(r['size'])} ({name})"
                           for name, r in counts.iterrows())
        pace = ("at an even pace" if 0.9 <= c.accrual_power <= 1.1 else
                "speeding up" if c.accrual_power > 1 else "slowing down")
        early = (f"; {100 * c.early:.0f}% censored at the start (no assessment after "
                 "randomisation)" if c.early >= 0.01 else "")
        early += (f"; {100 * c.at_end:.0f}% of patients followed on to {c.last:.1f} months, "
                  "the longest follow-up" if c.at_end >= 0.01 else "")
        longest, why = self.longest_follow_up
        return (f"Piecewise-exponential model; {'; '.join(parts)}; {ph} while both arms are "
                f"followed. Censoring: data cut-off {c.end:.1f} months after the first "
                f"randomisation, accrual over {100 * c.accrual_fraction:.0f}% of it "
                f"({pace}), drop-out {c.dropout:.3f} per month{early}. Nobody is followed "
                f"beyond {longest:.1f} months ({why}); the longest pseudo follow-up is "
                f"{self.follow_up_end:.1f} months. Events in the pseudo data: {events}.")

    # ------------------------------------------------------------------ uncertainty

    @cached_property
    def _draws(self) -> np.ndarray:
        return self.fitted.draws(BAND_DRAWS, self.seed)

    def survival_draws(self, times) -> np.ndarray:
        """Model survival of each draw: array ``(draws, 2 arms, times)``."""
        times = np.asarray(times, dtype=float)
        out = np.empty((len(self._draws), 2, len(times)))
        for i, x in enumerate(self._draws):
            m, _ = self.fitted.models(x)
            for a in range(2):
                out[i, a] = m.survival(times, a)
        return out

    def survival_band(self, times, level: float = 0.90) -> pd.DataFrame:
        """Pointwise band of survival over what the print allows, with the central estimate.

        Returns a tidy frame ``arm, time, lower, estimate, upper``: ``estimate`` is the
        Kaplan-Meier curve of the central pseudo data, ``lower`` and ``upper`` the
        ``(1 -+ level) / 2`` quantiles of the model curves drawn from the Laplace
        approximation of the posterior (all derived).
        """
        times = np.asarray(times, dtype=float)
        draws = self.survival_draws(times)
        q = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
        rows = []
        for a, name in enumerate(self.names):
            arm = self.ipd[self.ipd.arm == name]
            km = km_steps(arm.time.to_numpy(), arm.event.to_numpy())
            estimate = np.array([km.at(t) for t in times])
            rows.append(pd.DataFrame({"arm": name, "time": times, "lower": q[0, a],
                                      "estimate": estimate, "upper": q[1, a]}))
        return pd.concat(rows, ignore_index=True)

    def ensemble(self, count: int = 20, *, keep: str = "all", limit: int | None = None
                 ) -> list[pd.DataFrame]:
        """Pseudo datasets from ``count`` posterior draws, each calibrated to the print.

        ``keep="all"``: members whose calibration misses a printed figure are left out, so
        that every member reproduces the print. ``keep="arms"``: members must reproduce
        every figure of each arm's own curve (medians and their CIs, landmark rates,
        events) and the median follow-up, while the comparison (HR, its CI and p) may miss;
        for what rests on each arm alone, such as each arm's extrapolation. Fewer than
        ``count`` members may come back; ``limit`` stops at that many.
        """
        if keep not in ("all", "arms"):
            raise ValueError(f"keep must be 'all' or 'arms', not {keep!r}")
        out = []
        for x in self.fitted.draws(count, self.seed + 1):
            m, c = self.fitted.models(x)
            result = sample.calibrate(m, c, self.targets, self.fitted.layout.cox_target,
                                      budget=3)
            judged = [v for k, v in result.misses.items()
                      if keep == "all" or k.split(" ")[0] in _ARM_FIGURES]
            if max(judged, default=0.0) <= 1.0:
                out.append(_frame(result.arms, self.names))
                if limit is not None and len(out) >= limit:
                    break
        return out


#: The kinds of figure that describe one arm's own curve (keys of :func:`sample.misses`).
_ARM_FIGURES = frozenset({"median", "landmark", "events", "follow-up"})


def _frame(arms: list[sample.Arm], names: tuple[str, str]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"time": t, "event": e.astype(int), "arm": name})
                      for (t, e), name in zip(arms, names, strict=True)], ignore_index=True)


def fit_summary(analysis: Analysis | str, *, seed: int = 0) -> SummaryFit:
    """Rebuild pseudo patients from a printed two-arm time-to-event summary.

    Parameters
    ----------
    analysis
        An analysis (from the registry, a user's YAML file via :func:`registry.load_trial`,
        or :func:`registry.analysis_from_print`) or a registry id such as
        ``cabinet/pnet/pfs/nejm-2025``.
    seed
        Seeds the draws of the band and the ensemble; the central pseudo data are
        deterministic and do not depend on it.

    Returns
    -------
    SummaryFit
        ``.ipd`` (pseudo patients), ``.table`` (reported vs reconstructed), ``.misses``
        (findings, empty when every printed figure is reproduced), ``.warnings``.
    """
    a = registry.get(analysis) if isinstance(analysis, str) else analysis
    tg = targets(a)
    if tg.hr is not None and (tg.ci is None or tg.ci[0] <= 0):
        raise InputError("the hazard ratio needs a positive CI", row=a.id,
                         column="hazard_ratio")
    no_events = [name for name, arm in zip(tg.names, tg.arms, strict=True) if arm.events == 0]
    if tg.hr is not None and (no_events or tg.events_total == 0):
        # A Cox model has no estimate where an arm has no event: the print contradicts itself.
        raise InputError(f"a hazard ratio is printed but {' and '.join(no_events) or 'the arms'}"
                         f" had 0 events", row=f"analysis {a.id}", column="hazard_ratio",
                         advice="check the events and the hazard ratio against the source")
    fitted = fit_model(tg)
    m, c = fitted.models()
    result = sample.calibrate(m, c, tg, fitted.layout.cox_target)
    if result.worst > 1.0:
        # Where few are at risk the smooth curve may pass far from a printed point, and the
        # warps that put the point in place then collide; a curve held closer may not.
        # The simpler censoring (every follow-up ends by the cut-off) comes last.
        for strength, long in ((0.0, True), (0.25, True), (ANCHOR_KM_SE, False)):
            again = fit_model(tg, anchor_km_se=strength, long_follow_up=long)
            m2, c2 = again.models()
            other = sample.calibrate(m2, c2, tg, again.layout.cox_target)
            if other.worst < result.worst:
                fitted, m, c, result = again, m2, c2, other
            if result.worst <= 1.0:
                break
    ipd = _frame(result.arms, tg.names)
    tab = findings.table(a, tg, ipd)
    warnings = (findings.plausibility(m, tg, float(ipd.time.max()))
                + findings.censoring_warnings(c))
    return SummaryFit(a.id, ipd, m, c, tab, findings.explain(tab, a, tg), warnings, tg,
                      fitted, seed)


def ipd_from_summary(analysis: Analysis | str, *, seed: int = 0) -> pd.DataFrame:
    """Pseudo patient data (``time``, ``event``, ``arm``) rebuilt from a printed summary.

    See :func:`fit_summary` for the fitted model and the reported-vs-reconstructed table.
    """
    return fit_summary(analysis, seed=seed).ipd


def reconstructable(items: list[Analysis] | None = None) -> list[Analysis]:
    """Time-to-event analyses with arm sizes, a level (median or landmark) and an HR."""
    out = []
    for a in items if items is not None else registry.analyses():
        try:
            tg = targets(a)
        except InputError:
            continue
        if tg.hr is not None:
            out.append(a)
    return out


__all__ = ["SummaryFit", "fit_summary", "ipd_from_summary", "model", "reconstructable"]
