"""An Excel workbook a cost-effectiveness model can read: survival per model cycle for every
model, the parameters with their covariance and Cholesky factor, and the fit statistics.

The models are fitted by :mod:`.families` in R flexsurv's parameterisation (Jackson 2016),
the one most partitioned-survival and Markov models in Excel are built to read: positive
parameters on the log scale (flexsurv's ``coef``), their covariance (``vcov``) and its lower
Cholesky factor ``L`` (``L L' = vcov``; a probabilistic sensitivity analysis draws
``coef + L z`` with ``z`` standard normal). Every number is written as a number (a display
format, never text), headers are words, and sheet names are never cut: an arm whose name
will not fit in a sheet name gets a numbered sheet, its name written in full on the cover.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .background import YEAR, Population, capped
from .families import Fit, family, fit
from .joint import JointFit

#: The per-arm models of the workbook, in TSD 14's order then TSD 21's splines (flexsurv
#: names: ``weibull`` is flexsurv's AFT Weibull, the same curve as the PH one).
WORKBOOK_MODELS = ("exp", "weibull", "gompertz", "llogis", "lnorm", "gengamma", "gamma",
                   "spline-hazard-1", "spline-hazard-2", "spline-hazard-3",
                   "spline-odds-1", "spline-odds-2", "spline-odds-3")

_SHEET_BAD = re.compile(r"[\[\]:*?/\\']")
_SHEET_LIMIT = 31


@dataclass(frozen=True)
class ArmFits:
    """The models fitted to one arm (all derived)."""

    arm: str
    n: int
    events: int
    fits: dict[str, Fit]


def fit_arms(ipd: pd.DataFrame, models: Sequence[str] = WORKBOOK_MODELS) -> list[ArmFits]:
    """Fit each of ``models`` (:mod:`.families` names) to each arm of ``ipd`` (``time``,
    ``event``, optionally ``arm``)."""
    arms = (ipd.groupby(ipd["arm"].astype(str), sort=False) if "arm" in ipd.columns
            else [("all", ipd)])
    out = []
    for name, frame in arms:
        t = pd.to_numeric(frame["time"], errors="coerce").to_numpy(dtype=float)
        e = pd.to_numeric(frame["event"], errors="coerce").to_numpy(dtype=float)
        fits = {m: fit(family(m, t, e), t, e) for m in models}
        out.append(ArmFits(str(name), len(t), int(e.sum()), fits))
    return out


def arm_fits(result) -> list[ArmFits]:
    """The per-arm fits of an :class:`~trialrecon.extrapolation.Extrapolation` (no refit);
    a model whose fit failed is left out (the extrapolation's table says why)."""
    out = []
    for row in result.observed.itertuples():
        fits = {fm.spec.family: fm.fit for (arm, _), fm in result.fits.items()
                if arm == row.arm and fm.fit is not None}
        out.append(ArmFits(str(row.arm), int(row.n), int(row.events), fits))
    return out


def _sheet_name(arm: str, k: int, taken: set[str]) -> str:
    """The arm's name as a sheet name when Excel takes it whole, else ``Arm k``."""
    name = f"Survival {arm}"
    if len(name) > _SHEET_LIMIT or _SHEET_BAD.search(name) or name.lower() in taken:
        name = f"Survival arm {k}"
    taken.add(name.lower())
    return name


def _cycles(cycle: float, horizon: float) -> np.ndarray:
    if not (math.isfinite(cycle) and cycle > 0):
        raise InputError(f"cycle length must be a positive number, not {cycle!r}",
                         column="cycle")
    if not (math.isfinite(horizon) and horizon >= cycle):
        raise InputError(f"horizon {horizon!r} is shorter than one cycle ({cycle:g})",
                         column="horizon")
    n = int(math.floor(horizon / cycle + 1e-9))
    if n > 200_000:
        raise InputError(f"{n} cycles are too many for a worksheet", column="cycle",
                         advice="choose a longer cycle or a shorter horizon")
    return np.arange(n + 1) * cycle


def survival_table(arm: ArmFits, times: np.ndarray, population: Population | None = None
                   ) -> pd.DataFrame:
    """Survival of every model of ``arm`` at ``times`` (starting at 0), capped at the
    population's hazard when ``population`` is given (:func:`.background.capped`)."""
    columns = {}
    for f in arm.fits.values():
        s = f.survival(times) if f.converged else np.full(len(times), np.nan)
        if population is not None and f.converged:
            s = capped(s, times, population)
        columns[f.family.label] = s
    return pd.DataFrame(columns)


def write_workbook(path: str | Path, arms: Sequence[ArmFits], *, cycle: float,
                   horizon: float, time_unit: str = "months", source: str,
                   population: Population | None = None,
                   joint: Sequence[JointFit] = ()) -> Path:
    """Write the workbook to ``path`` (whole or not at all).

    Parameters
    ----------
    arms
        :func:`fit_arms`'s result.
    cycle, horizon
        Model cycle length and time horizon, in ``time_unit``: one row per cycle from 0.
    source
        Where the patient data came from (a citation, or a reconstruction's description),
        shown on the cover.
    population
        General-population mortality: survival per cycle is capped at it (TSD 14).
    joint
        Models of both arms with a treatment effect (:mod:`.joint`), one sheet.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from .. import __version__

    if time_unit not in YEAR:
        raise InputError(f"time unit '{time_unit}' is not one of {', '.join(YEAR)}",
                         column="time_unit")
    times = _cycles(cycle, horizon)
    path = Path(path)
    book = Workbook()
    bold = Font(bold=True)

    def table(sheet, frame: pd.DataFrame, formats: Mapping[str, str], start_row: int = 1):
        for j, col in enumerate(frame.columns, start=1):
            cell = sheet.cell(row=start_row, column=j, value=str(col))
            cell.font = bold
            sheet.column_dimensions[get_column_letter(j)].width = max(12, min(40, len(col) + 2))
        for i, row in enumerate(frame.itertuples(index=False), start=start_row + 1):
            for j, (col, value) in enumerate(zip(frame.columns, row, strict=True), start=1):
                if isinstance(value, (float, np.floating)):
                    value = None if not math.isfinite(value) else float(value)
                elif isinstance(value, (np.integer,)):
                    value = int(value)
                cell = sheet.cell(row=i, column=j, value=value)
                if cell.data_type == "f":  # text from a trial file is never a formula
                    cell.data_type = "s"
                fmt = formats.get(col)
                if fmt and isinstance(value, (int, float)):
                    cell.number_format = fmt
        sheet.freeze_panes = sheet.cell(row=start_row + 1, column=1)

    # Cover
    cover = book.active
    cover.title = "Cover"
    taken: set[str] = {"cover", "fit statistics", "parameters", "covariance", "cholesky",
                       "joint models", "columns"}
    sheets = [(a, _sheet_name(a.arm, k, taken)) for k, a in enumerate(arms, start=1)]
    lines = [
        ("Survival models for a cost-effectiveness model", None),
        ("Source of the patient data", source),
        ("Method", "Parametric survival models (NICE DSU TSD 14 and 21) fitted by maximum "
         "likelihood to each arm; parameters in R flexsurv's parameterisation (positive "
         "parameters on the log scale); covariance = inverse observed information"),
        ("What is derived", "Everything in this workbook is derived from the patient data "
         "named above; nothing is a reported figure"),
        ("Time unit", time_unit),
        ("Cycle length", float(cycle)),
        ("Horizon", float(horizon)),
        ("General-population mortality",
         "none applied" if population is None else
         f"hazard held at no less than {population.table.source}, age {population.age:g} "
         f"years, {population.male_share:.0%} men"),
        ("trialrecon version", __version__),
    ]
    for i, (key, value) in enumerate(lines, start=1):
        cover.cell(row=i, column=1, value=key).font = bold
        if value is not None:
            cover.cell(row=i, column=2, value=value)
    row = len(lines) + 2
    cover.cell(row=row, column=1, value="Arm").font = bold
    cover.cell(row=row, column=2, value="Sheet").font = bold
    cover.cell(row=row, column=3, value="Patients").font = bold
    cover.cell(row=row, column=4, value="Events").font = bold
    for i, (a, sheet) in enumerate(sheets, start=row + 1):
        cover.cell(row=i, column=1, value=a.arm).data_type = "s"
        cover.cell(row=i, column=2, value=sheet)
        cover.cell(row=i, column=3, value=a.n)
        cover.cell(row=i, column=4, value=a.events)
    cover.column_dimensions["A"].width = 32
    cover.column_dimensions["B"].width = 90

    # Survival per cycle, per arm
    unit = time_unit
    for a, name in sheets:
        frame = pd.concat([pd.DataFrame({"Cycle": np.arange(len(times)),
                                         f"Time ({unit})": times,
                                         "Time (years)": times / YEAR[unit]}),
                           survival_table(a, times, population)], axis=1)
        table(book.create_sheet(name), frame,
              {c: "0.000000" for c in frame.columns if c not in ("Cycle",)} | {"Cycle": "0"})

    # Fit statistics
    stats_rows, par_rows = [], []
    for a in arms:
        ranked = sorted((f.aic, m) for m, f in a.fits.items() if f.converged)
        rank = {m: i for i, (_, m) in enumerate(ranked, start=1)}
        for m, f in a.fits.items():
            rm, se = f.rmst(horizon) if f.converged else (math.nan, math.nan)
            stats_rows.append({
                "Arm": a.arm, "Model": f.family.label, "Parameters": f.n_params,
                "Log-likelihood": f.loglik, "AIC": f.aic, "BIC": f.bic,
                "AIC rank": rank.get(m), f"Restricted mean to {horizon:g} {unit}": rm,
                "Restricted mean SE": se, "Note": f.note or ""})
            for j, p in enumerate(f.names):
                positive = j < f.family.n_params and f.family.positive[j]
                par_rows.append({
                    "Arm": a.arm, "Model": f.family.label, "Parameter": p,
                    "Scale": "log" if positive else "identity",
                    "Estimate (scale)": float(f.coef[j]),
                    "Estimate": f.estimates[p],
                    "Standard error (scale)": float(math.sqrt(f.covariance[j, j]))
                    if np.isfinite(f.covariance[j, j]) else math.nan})
    stats = pd.DataFrame(stats_rows)
    table(book.create_sheet("Fit statistics"), stats,
          {c: "0.000" for c in stats.columns if c not in ("Parameters", "AIC rank")})
    pars = pd.DataFrame(par_rows)
    table(book.create_sheet("Parameters"), pars,
          {c: "0.000000" for c in ("Estimate (scale)", "Estimate", "Standard error (scale)")})

    # Covariance and Cholesky factor: one labelled block per arm and model
    for title, matrix in (("Covariance", lambda f: f.covariance),
                          ("Cholesky", lambda f: f.cholesky)):
        sheet = book.create_sheet(title)
        sheet.cell(row=1, column=1, value=(
            "Covariance of the estimates on their scale (flexsurv's vcov)" if title ==
            "Covariance" else "Lower Cholesky factor L of the covariance (L L' = covariance)"))
        r = 3
        for a in arms:
            for f in a.fits.values():
                sheet.cell(row=r, column=1, value=f"{a.arm} | {f.family.label}").font = bold
                for j, p in enumerate(f.names, start=2):
                    sheet.cell(row=r, column=j, value=p).font = bold
                m = matrix(f)
                for i, p in enumerate(f.names):
                    sheet.cell(row=r + 1 + i, column=1, value=p).font = bold
                    for j in range(len(f.names)):
                        v = float(m[i, j])
                        c = sheet.cell(row=r + 1 + i, column=2 + j,
                                       value=v if math.isfinite(v) else None)
                        c.number_format = "0.000E+00"
                r += len(f.names) + 2
        sheet.column_dimensions["A"].width = 40

    if joint:
        rows = [{"Model": j.label, "Effect": j.effect.measure,
                 f"{j.experimental} vs {j.control}": j.effect.ratio,
                 "Lower 95%": j.effect.lower, "Upper 95%": j.effect.upper,
                 "Coefficient": j.effect.beta, "Coefficient SE": j.effect.se,
                 "Log-likelihood (joint)": j.joint.loglik, "AIC (joint)": j.joint.aic,
                 "Log-likelihood (separate)": sum(s.loglik for s in j.separate.values()),
                 "Likelihood-ratio statistic": j.lr_statistic, "Degrees of freedom": j.lr_df,
                 "P (shared shape)": j.lr_p, "Note": j.note} for j in joint]
        frame = pd.DataFrame(rows)
        frame.columns = [c if i != 2 else "Ratio (experimental vs control)"
                         for i, c in enumerate(frame.columns)]
        table(book.create_sheet("Joint models"), frame,
              {c: "0.0000" for c in frame.columns if c not in ("Degrees of freedom",)})

    # What each column means
    meaning = pd.DataFrame([
        ("Survival sheets", "Cycle", "Cycle number from 0"),
        ("Survival sheets", f"Time ({unit})", "Start of the cycle in the data's time unit"),
        ("Survival sheets", "a model's name", "Survival at the start of the cycle"
         + ("" if population is None else ", hazard held at no less than the population's")),
        ("Fit statistics", "AIC rank", "1 = lowest AIC within the arm"),
        ("Fit statistics", "Restricted mean", f"Area under the curve to {horizon:g} {unit} "
         "(not capped), with its delta-method standard error"),
        ("Parameters", "Estimate (scale)", "flexsurv's coef: log of positive parameters"),
        ("Parameters", "Estimate", "the parameter itself (flexsurv's res[, 'est'])"),
        ("Covariance / Cholesky", "block", "one matrix per arm and model, on the scale of "
         "Estimate (scale)"),
    ], columns=["Sheet", "Column", "Meaning"])
    table(book.create_sheet("Columns"), meaning, {})

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            book.save(tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the workbook: {exc.strerror}", file=path,
                         advice="choose a folder you can write to") from None
    return path
