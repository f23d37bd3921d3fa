"""The curve-reconstruction page: its inputs, its narrative, its figure and its tables.

The page rebuilds patient data from digitised Kaplan-Meier curves and their numbers at risk:
from files the reader gives (one curve and one at-risk table per arm), or from the bundled
example, made from real patient data of a randomised trial that lifelines ships (GBSG2), whose
truth is therefore known. Only the example's page speaks of GBSG2 and of a truth; a page made
from own files names the files, arms, endpoint and time unit given with them.

Every block is Markdown text (data text passes through :func:`trialrecon.pages.md_text`, so it
is shown as typed), a :class:`~trialrecon.formatting.Table` (labelled columns, no index,
numbers shown by :mod:`trialrecon.formatting`: "NR" for a median not reached, p-values never
"0.0") or a figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import plots
from .analysis import Comparison, compare_arms
from .curves import AtRisk, Curve, clean_at_risk, clean_curve, label_of, read_at_risk, read_curve
from .errors import InputError
from .extrapolation import YEAR, extrapolate
from .formatting import (
    NOT_ESTIMABLE,
    Column,
    Table,
    count,
    estimate,
    interval,
    number,
    p_value,
    percent,
)
from .limits import positive_time
from .pages import extrapolation_section, md_text
from .reconstruct import Reconstruction

#: Parameters of the notebook that name the four input files, in the order of the arms.
FILE_PARAMETERS = ("curve_experimental", "at_risk_experimental", "curve_control",
                   "at_risk_control")
DEFAULT_ENDPOINT = "Survival"
DEFAULT_TIME_UNIT = "months"
#: The bundled example: GBSG2 (lifelines), days converted to months, at-risk times.
EXAMPLE_ENDPOINT = "Recurrence-free survival"
EXAMPLE_TIME_UNIT = "months"
EXAMPLE_AT_RISK_TIMES = 6
DAYS_PER_MONTH = 365.25 / 12
#: Landmark steps that read naturally in each time unit (a unit is matched by its start).
_LANDMARK_STEPS: dict[str, tuple[float, ...]] = {
    "month": (1, 3, 6, 12, 24, 36, 60, 120),
    "week": (1, 2, 4, 8, 13, 26, 52, 104, 260),
    "day": (7, 14, 30, 90, 180, 365, 730, 1825),
    "year": (0.25, 0.5, 1, 2, 3, 5, 10, 20),
}
#: At most this many landmarks are chosen when none are given.
MAX_DEFAULT_LANDMARKS = 3
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class CurveInputs:
    """What the page reconstructs: a cleaned curve and an at-risk table per arm.

    Attributes
    ----------
    curves, tables
        Per arm (experimental first, keyed by the arm's name): the cleaned digitised curve
        (its ``fixes`` say what cleaning repaired) and the numbers at risk.
    truth
        The true patient data per arm when the bundled example is used, else None.
    time_unit, endpoint, title
        Labels of the time axis, the endpoint and the page.
    files
        Per arm, the names of its curve and at-risk files (empty for the example).
    """

    curves: dict[str, Curve]
    tables: dict[str, AtRisk]
    truth: dict[str, pd.DataFrame] | None
    time_unit: str
    endpoint: str
    title: str
    files: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, str]:
        experimental, control = self.curves
        return experimental, control

    @property
    def example(self) -> bool:
        return self.truth is not None

    def heading(self) -> str:
        """The page's title as a Markdown heading."""
        return f"# {md_text(self.title)}"

    def about(self) -> str:
        """Markdown: what the input is (the example and its source, or the files given)."""
        if self.example:
            experimental, control = (md_text(n) for n in self.names)
            times = ", ".join(number(t, 0) for t in next(iter(self.tables.values())).time)
            return (
                "**Input: the bundled example.** Made here from real patient data of a "
                "randomised trial that lifelines ships (GBSG2, Schumacher et al. 1994: hormonal "
                f"therapy, {experimental}, vs {control}; recurrence-free survival; days "
                "converted to months), drawn as a journal would draw it: the exact corners of "
                f"each Kaplan-Meier curve and the numbers at risk at {times} months. The truth "
                "is therefore known, and the last section compares the reconstruction with it. "
                "Give your own digitised curves and numbers at risk with the parameters "
                + ", ".join(f"`{p}`" for p in FILE_PARAMETERS) + " (papermill -p NAME VALUE).")
        unit = md_text(self.time_unit)
        lines = [f"**Input: digitised curves and numbers at risk** ({md_text(self.endpoint)}; "
                 f"times in {unit}). Patient data are rebuilt from these figures alone: nothing "
                 "here is known about the patients beyond what the figure shows."]
        for arm in self.names:
            curve_file, at_risk_file = self.files[arm]
            table = self.tables[arm]
            lines.append(
                f"- **{md_text(arm)}**: curve {md_text(curve_file)} "
                f"({count(len(self.curves[arm].time))} points after cleaning), numbers at "
                f"risk {md_text(at_risk_file)} ({count(table.n_at_risk[0])} patients at "
                f"time 0, {count(len(table.time))} printed times up to "
                f"{md_text(number(table.time[-1], _decimals(table.time)))} {unit})")
        return "\n".join(lines)


def _file_name(path: str) -> str:
    """The name of a file without its folders (pages must not show a machine's paths)."""
    return Path(path).name


def curve_inputs(curve_experimental: str = "", at_risk_experimental: str = "",
                 curve_control: str = "", at_risk_control: str = "", *,
                 scale: str = "proportion", experimental_name: str = "",
                 control_name: str = "", endpoint: str = "", time_unit: str = "",
                 title: str = "") -> CurveInputs:
    """Read the four input files, or make the bundled example when none is given.

    Parameters
    ----------
    curve_experimental, at_risk_experimental, curve_control, at_risk_control
        CSV files: each arm's digitised curve (``time,survival``) and numbers at risk
        (``time,n_at_risk``). All four, or none for the bundled example.
    scale
        Unit of the survival column: ``proportion`` or ``percent``.
    experimental_name, control_name
        Arm names; by default from the curve files' names (``placebo_curve.csv`` is
        ``placebo``), or "experimental" and "control" when those are the same.
    endpoint, time_unit
        Labels of the endpoint and of the time axis (default "Survival" in months; the
        example is recurrence-free survival in months).
    title
        The page's title; by default made from the endpoint and the arms.

    Raises
    ------
    InputError
        For some files given but not all, both arms under one name, a time unit other than
        months for the example, or a file that cannot be read or cleaned.
    """
    files = dict(zip(FILE_PARAMETERS, (curve_experimental, at_risk_experimental,
                                       curve_control, at_risk_control), strict=True))
    given = {k: str(v).strip() for k, v in files.items() if v is not None and str(v).strip()}
    if not given:
        return _example(scale, experimental_name, control_name, endpoint, time_unit, title)
    missing = [k for k in FILE_PARAMETERS if k not in given]
    if missing:
        raise InputError(f"{' and '.join(missing)} not given", column=missing[0],
                         advice="give all four files (a digitised curve and its numbers at "
                                "risk for each arm), or none for the bundled example")
    names = _names(experimental_name, control_name, given["curve_experimental"],
                   given["curve_control"])
    curves, tables, shown = {}, {}, {}
    for name, arm in zip(names, ("experimental", "control"), strict=True):
        curve_file, at_risk_file = given[f"curve_{arm}"], given[f"at_risk_{arm}"]
        curves[name] = read_curve(curve_file, scale=scale)  # type: ignore[arg-type]
        tables[name] = read_at_risk(at_risk_file)
        shown[name] = (_file_name(curve_file), _file_name(at_risk_file))
    endpoint = endpoint.strip() or DEFAULT_ENDPOINT
    unit = time_unit.strip() or DEFAULT_TIME_UNIT
    title = title.strip() or (f"{endpoint}: {names[0]} vs {names[1]}, patient data rebuilt "
                              "from the digitised curves")
    return CurveInputs(curves, tables, None, unit, endpoint, title, shown)


def _names(experimental: str, control: str, curve_experimental: str,
           curve_control: str) -> tuple[str, str]:
    given = (experimental.strip(), control.strip())
    if given[0] and given[0] == given[1]:
        raise InputError(f"both arms are named {given[0]!r}", column="control_name",
                         advice="give the arms different names")
    from_files = (label_of(curve_experimental), label_of(curve_control))
    if from_files[0] == from_files[1] or not all(from_files):
        from_files = ("experimental", "control")
    names = (given[0] or from_files[0], given[1] or from_files[1])
    if names[0] == names[1]:
        raise InputError(f"both arms are named {names[0]!r}",
                         column="control_name" if given[0] else "experimental_name",
                         advice="give the arms different names")
    return names


def _example(scale: str, experimental_name: str, control_name: str, endpoint: str,
             time_unit: str, title: str) -> CurveInputs:
    from .validation import at_risk_table, example_trial, km_steps, regular_times

    unit = time_unit.strip() or EXAMPLE_TIME_UNIT
    if unit != EXAMPLE_TIME_UNIT:
        raise InputError(f"the bundled example is in {EXAMPLE_TIME_UNIT}, not {unit}",
                         column="time_unit", advice="leave time_unit empty for the example, "
                                                    "or give your own files")
    trial = example_trial("gbsg2")
    truth = {arm: ipd.assign(time=ipd.time / DAYS_PER_MONTH) for arm, ipd in trial.arms.items()}
    default = tuple(truth)
    names = (experimental_name.strip() or default[0], control_name.strip() or default[1])
    if names[0] == names[1]:
        raise InputError(f"both arms are named {names[0]!r}", column="control_name",
                         advice="give the arms different names")
    truth = dict(zip(names, truth.values(), strict=True))
    times = regular_times(list(truth.values()), EXAMPLE_AT_RISK_TIMES)
    curves = {arm: clean_curve(km_steps(ipd), scale="proportion", source=f"{arm} (example)")
              for arm, ipd in truth.items()}
    tables = {arm: clean_at_risk(at_risk_table(ipd, times), source=f"{arm} (example)")
              for arm, ipd in truth.items()}
    endpoint = endpoint.strip() or EXAMPLE_ENDPOINT
    title = title.strip() or ("Rebuilding patient data from a digitised Kaplan-Meier figure: "
                              "the bundled example")
    return CurveInputs(curves, tables, truth, unit, endpoint, title)


# --------------------------------------------------------------------------- landmarks


def follow_up_ends(ipd: Mapping[str, pd.DataFrame]) -> dict[str, float]:
    """Each arm's last observed time: landmarks after it cannot be estimated."""
    return {arm: float(d["time"].max()) for arm, d in ipd.items()}


def default_landmarks(end: float, time_unit: str = DEFAULT_TIME_UNIT,
                      most: int = MAX_DEFAULT_LANDMARKS) -> tuple[float, ...]:
    """Up to ``most`` evenly spaced landmark times before ``end`` (the shorter follow-up).

    The step is the smallest one that reads naturally in the unit (6 or 12 months, 26 or 52
    weeks, 90 or 365 days, 1 or 2 years; else 1, 2 or 5 times a power of ten) that gives at
    most ``most`` landmarks before ``end``.
    """
    end = positive_time(end, "follow-up")
    unit = time_unit.strip().lower()
    natural = next((steps for key, steps in _LANDMARK_STEPS.items() if unit.startswith(key)),
                   ())
    power = math.floor(math.log10(end))
    generic = tuple(m * 10.0**p for p in range(power - 2, power + 1) for m in (1, 2, 5))
    for steps in (natural, generic):
        for step in steps:
            n = math.ceil(end / step) - 1  # multiples of step strictly before end
            if 1 <= n <= most:
                return tuple(float(step * k) for k in range(1, n + 1))
    return (end / 2,)


def landmark_times(landmarks: str | Sequence[float], ipd: Mapping[str, pd.DataFrame],
                   time_unit: str = DEFAULT_TIME_UNIT) -> tuple[float, ...]:
    """The landmarks given (comma-separated text or numbers), or defaults within follow-up.

    Raises
    ------
    InputError
        For a landmark that is not a number or not a time above 0.
    """
    if isinstance(landmarks, str):
        parts = [p.strip() for p in landmarks.split(",") if p.strip()]
        values = []
        for part in parts:
            try:
                values.append(float(part))
            except ValueError:
                raise InputError(f"landmark {part!r} is not a number", column="landmarks",
                                 advice="comma-separated times, for example 6, 12, 24") from None
    else:
        values = list(landmarks)
    if not values:
        return default_landmarks(min(follow_up_ends(ipd).values()), time_unit)
    return tuple(dict.fromkeys(positive_time(v, "landmarks") for v in values))


def not_estimable(end: float, time_unit: str) -> str:
    """What a landmark beyond an arm's follow-up shows."""
    return f"not estimable: follow-up ends at {number(end, 1)} {time_unit}"


# --------------------------------------------------------------------------- blocks


def curve_figure(inputs: CurveInputs, results: Mapping[str, Reconstruction]):
    """Digitised points and the Kaplan-Meier curves of the rebuilt patient data, with the
    endpoint and time unit on the axes and, underneath, the numbers at risk of the rebuilt
    data beside the printed ones."""
    return plots.km_plot({arm: r.ipd for arm, r in results.items()},
                         digitised={arm: c.to_frame() for arm, c in inputs.curves.items()},
                         published_at_risk={arm: t.to_frame()
                                            for arm, t in inputs.tables.items()},
                         title="Digitised points and reconstructed Kaplan-Meier curves "
                               "(derived)", time_unit=inputs.time_unit,
                         endpoint=inputs.endpoint)


def _decimals(values: Sequence[float] | np.ndarray, most: int = 2) -> int:
    """The fewest decimals (up to ``most``) that show every value exactly."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    for d in range(most + 1):
        if np.allclose(np.round(v, d), v, rtol=0, atol=1e-9):
            return d
    return most


def at_risk_sections(results: Mapping[str, Reconstruction],
                     time_unit: str = DEFAULT_TIME_UNIT) -> list:
    """Per arm: the method, what cleaning repaired, and the printed against the rebuilt
    numbers at risk per interval (a Markdown block and a Table each)."""
    from IPython.display import Markdown

    out: list = []
    unit = time_unit
    for arm, r in results.items():
        notes = "".join(f"\n- {md_text(note)}" for note in r.fixes)
        out.append(Markdown(
            f"**{md_text(arm)}** ({md_text(r.method)} method"
            + (", exact steps" if r.exact_steps else "") + "): largest |digitised − "
            f"reconstructed| survival {number(r.max_abs_error, 4)}" + notes))
        # Printed times as printed; the last interval ends at the last follow-up time.
        d = max(_decimals(r.intervals.start), _decimals(r.intervals.end, 1))
        out.append(Table(r.intervals, {
            "start": Column(f"from ({unit})", "number", d),
            "end": Column(f"to ({unit})", "number", d),
            "published_at_risk": Column("at risk, printed", "count"),
            "estimated_at_risk": Column("at risk, reconstructed (derived)", "count"),
            "events": Column("events (derived)", "count"),
            "censored": Column("censored (derived)", "count"),
        }, name=f"at risk {arm}"))
    return out


def reanalysis(ipd: Mapping[str, pd.DataFrame], landmarks: Sequence[float]) -> Comparison:
    """The two-arm re-analysis of the rebuilt patient data (experimental first)."""
    return compare_arms(*ipd.values(), names=tuple(ipd), landmarks=tuple(landmarks))


def _survival(s: float, lower: float, upper: float) -> str:
    return f"{percent(100 * s)} ({percent(100 * lower)} to {percent(100 * upper)})"


def reanalysis_tables(comparison: Comparison, ipd: Mapping[str, pd.DataFrame],
                      time_unit: str = DEFAULT_TIME_UNIT) -> list:
    """Arms (medians, RMST), landmark survival and the between-arm effects, as Tables; and
    any note on what could not be estimated (Markdown)."""
    from IPython.display import Markdown

    unit, tau = time_unit, comparison.tau
    ends = follow_up_ends(ipd)
    arms = comparison.arms.assign(
        median_text=[estimate(r["median"], r.median_lower, r.median_upper, 1)
                     for _, r in comparison.arms.iterrows()],
        rmst_text=[estimate(r.rmst, r.rmst - _Z95 * r.rmst_se, r.rmst + _Z95 * r.rmst_se, 1)
                   for _, r in comparison.arms.iterrows()],
        end=[ends[a] for a in comparison.arms.arm])
    tau_text = number(tau, _decimals([tau], 1))
    arm_table = Table(arms, {
        "arm": Column("arm"), "n": Column("patients", "count"),
        "events": Column("events", "count"),
        "median_text": Column(f"median, {unit} (95% CI)"),
        "rmst_text": Column(f"RMST up to {tau_text} {unit} (95% CI)"),
        "end": Column(f"follow-up ends at ({unit})", "number", 1),
    }, caption="Per arm (derived)", name="arms")
    marks = comparison.landmarks.copy()
    marks["shown"] = [
        _survival(r.survival, r.lower, r.upper) if r.estimable
        else not_estimable(ends[r.arm], unit) for _, r in marks.iterrows()]
    d = _decimals(marks.time)
    marks["when"] = [f"{number(t, d)} {unit}" for t in marks.time]
    landmark_table = Table(marks, {
        "when": Column("time"), "arm": Column("arm"),
        "shown": Column("survival (95% CI)"),
    }, caption="Landmark survival, Kaplan-Meier (derived)", name="landmarks")
    experimental, control = comparison.arms.arm
    e = comparison.effects.set_index("measure")
    hr, lr, diff = e.loc["hazard ratio"], e.loc["log-rank"], e.loc["RMST difference"]
    effects = pd.DataFrame([
        {"measure": f"hazard ratio, {experimental} vs {control} (Cox, Efron ties)",
         "shown": estimate(hr.estimate, hr.lower, hr.upper, 2), "p": hr.p},
        {"measure": "log-rank test (chi-square, 1 df)",
         "shown": number(lr.estimate, 2, missing=NOT_ESTIMABLE), "p": lr.p},
        {"measure": f"RMST difference up to {tau_text} {unit}, {experimental} minus {control}",
         "shown": estimate(diff.estimate, diff.lower, diff.upper, 2, unit=unit), "p": diff.p},
    ])
    effect_table = Table(effects, {
        "measure": Column("measure"), "shown": Column("estimate (95% CI)"),
        "p": Column("p (two-sided)", "p"),
    }, caption="Between the arms (derived)", name="effects")
    out: list = [arm_table, landmark_table, effect_table]
    others = [n for n in comparison.notes if not n.startswith("survival at ")]
    if others:
        out.append(Markdown("**Not estimable.**\n" + "".join(f"\n- {md_text(n)}"
                                                             for n in others)))
    return out


def reconstructed_vs_true(reconstructed: Mapping[str, pd.DataFrame],
                          truth: Mapping[str, pd.DataFrame],
                          landmarks: Sequence[float] = (),
                          time_unit: str = DEFAULT_TIME_UNIT) -> Table:
    """The re-analysis of reconstructed and true patient data side by side (both derived).

    Hazard ratio, RMST difference (up to the reconstruction's horizon), and per arm the
    events, the median and the survival at each landmark (default: within follow-up). The
    arms are paired in order (experimental first).
    """
    if not landmarks:
        landmarks = default_landmarks(min(follow_up_ends(reconstructed).values()), time_unit)
    rec = compare_arms(*reconstructed.values(), names=tuple(reconstructed),
                       landmarks=tuple(landmarks))
    tru = compare_arms(*truth.values(), names=tuple(reconstructed), landmarks=tuple(landmarks),
                       tau=rec.tau)
    tau = number(rec.tau, _decimals([rec.tau], 1))
    rows = [("hazard ratio", rec.value("hazard ratio"), tru.value("hazard ratio"), 3),
            (f"RMST difference up to {tau} {time_unit}", rec.value("RMST difference"),
             tru.value("RMST difference"), 2)]
    for (_, r), (_, t) in zip(rec.arms.iterrows(), tru.arms.iterrows(), strict=True):
        rows.append((f"events, {r.arm}", r.events, t.events, 0))
        rows.append((f"median ({time_unit}), {r.arm}", r["median"], t["median"], 1))
    d = _decimals(list(landmarks))
    for (_, r), (_, t) in zip(rec.landmarks.iterrows(), tru.landmarks.iterrows(), strict=True):
        rows.append((f"survival at {number(r.time, d)} {time_unit}, {r.arm}", r.survival,
                     t.survival, 3))
    data = pd.DataFrame(rows, columns=["quantity", "reconstructed", "true", "decimals"])
    data["difference"] = data.reconstructed - data.true

    def shown(x: float, decimals: int, signed: bool = False) -> str:
        if signed:  # no difference between a median not reached and another
            return number(x, decimals, signed=True) if np.isfinite(x) else ""
        return number(x, decimals, missing=NOT_ESTIMABLE)  # inf is "NR"

    data["reconstructed_text"] = [shown(x, k) for x, k in zip(data.reconstructed,
                                                               data.decimals, strict=True)]
    data["true_text"] = [shown(x, k) for x, k in zip(data.true, data.decimals, strict=True)]
    data["difference_text"] = [shown(x, k, signed=True) for x, k in zip(
        data.difference, data.decimals, strict=True)]
    return Table(data, {
        "quantity": Column("quantity"),
        "reconstructed_text": Column("reconstructed (derived)"),
        "true_text": Column("true (derived from the example's patient data)"),
        "difference_text": Column("difference"),
    }, caption="Reconstructed vs true", name="reconstructed vs true")


def truth_section(inputs: CurveInputs, ipd: Mapping[str, pd.DataFrame],
                  landmarks: Sequence[float]) -> list:
    """For the example: a heading and the reconstructed-vs-true table; nothing for own files
    (they come without a truth)."""
    from IPython.display import Markdown

    if inputs.truth is None:
        return []
    return [Markdown("## Reconstructed vs true (the example's truth is known)\n\n"
                     "The same re-analysis of the example's real patient data, beside that of "
                     "the reconstruction."),
            reconstructed_vs_true(ipd, inputs.truth, landmarks, inputs.time_unit)]


def key_figures(comparison: Comparison, ipd: Mapping[str, pd.DataFrame],
                extrapolation: object | None = None) -> str:
    """Plain text that the regression tests compare: the HR and events per arm, and the
    AIC-best model of each arm when extrapolated."""
    text = (f"reconstructed HR {number(comparison.value('hazard ratio'), 3, missing='nan')}, "
            "events " + ", ".join(f"{a} {int(d['event'].sum())}" for a, d in ipd.items()))
    if extrapolation is not None:
        text += "\nAIC-best model: " + ", ".join(
            f"{arm} {m}" for arm, m in extrapolation.preferred("aic").items())
    return text


def summary(inputs: CurveInputs, results: Mapping[str, Reconstruction],
            comparison: Comparison) -> str:
    """Markdown: the page's findings in a few sentences, before its first section."""
    experimental, control = (md_text(n) for n in inputs.names)
    unit = md_text(inputs.time_unit)
    arms = comparison.arms.set_index("arm")
    e = comparison.effects.set_index("measure")
    hr = e.loc["hazard ratio"]
    per_arm = "; ".join(
        f"{md_text(a)}: {count(r.n)} patients, {count(r.events)} events, median "
        f"{md_text(estimate(r['median'], r.median_lower, r.median_upper, 1))}"
        for a, r in arms.iterrows())
    missed = {arm: int((r.intervals.published_at_risk != r.intervals.estimated_at_risk).sum())
              for arm, r in results.items()}
    met = ("every printed number at risk is met exactly" if not any(missed.values()) else
           "the rebuilt numbers at risk differ from the printed ones at " + ", ".join(
               f"{n} time(s) for {md_text(a)}" for a, n in missed.items() if n))
    ci = interval(hr.lower, hr.upper, 2)
    text = (f"**Summary (derived).** Patient data rebuilt from the digitised curves and the "
            f"printed numbers at risk ({md_text(inputs.endpoint)}; times in {unit}): {met}. "
            f"Hazard ratio {experimental} vs {control} "
            f"{md_text(number(hr.estimate, 2, missing=NOT_ESTIMABLE))}"
            + (f" (95% CI {md_text(ci)})" if ci else "") + ", log-rank p "
            f"{md_text(p_value(e.loc['log-rank', 'p']))}. Per arm, medians in {unit} with 95% "
            f"CI: {per_arm}.")
    if inputs.truth is not None:
        true = compare_arms(*inputs.truth.values(), names=inputs.names, landmarks=())
        text += (f" The example's true patient data give a hazard ratio of "
                 f"{md_text(number(true.value('hazard ratio'), 2))}.")
    return text


#: The extrapolation horizon when none is given, in years.
DEFAULT_HORIZON_YEARS = 10


def extrapolation_sections(inputs: CurveInputs, ipd: Mapping[str, pd.DataFrame],
                           horizon: str | float = "") -> tuple[list, object | None]:
    """The extrapolation section of the rebuilt arms, and the result (None when skipped).

    ``horizon``: in the curves' time unit; "" for 10 years (needs a unit of days, weeks,
    months or years), "none" for no extrapolation.
    """
    from IPython.display import Markdown

    text = str(horizon).strip().lower()
    if text == "none":
        return [Markdown("_Extrapolation not asked for (horizon = none)._")], None
    unit = inputs.time_unit
    if unit not in YEAR:
        return [Markdown(f"_Not extrapolated: the time unit {md_text(unit)!s} is not one of "
                         f"{', '.join(YEAR)}, so the 1, 2, 5 and 10-year landmarks cannot be "
                         "placed; give the time unit (papermill -p time_unit months)._")], None
    try:
        end = float(text) if text else DEFAULT_HORIZON_YEARS * YEAR[unit]
    except ValueError:
        raise InputError(f"horizon {horizon!r} is not a number", column="horizon",
                         advice=f"give a time in {unit}, \"\" for 10 years or none") from None
    frame = pd.concat([d.assign(arm=name) for name, d in ipd.items()], ignore_index=True)
    result = extrapolate(frame, horizon=end, time_unit=unit)
    sections = extrapolation_section(result, f"{inputs.endpoint}, patient data rebuilt from "
                                     "the curves")
    if inputs.truth is not None:
        truth = pd.concat([d.assign(arm=name) for name, d in
                           zip(inputs.names, inputs.truth.values(), strict=True)],
                          ignore_index=True)
        sections += [Markdown("**Does the reconstruction change the extrapolation?** The "
                              "same models fitted to the example's true patient data "
                              "(derived):"),
                     extrapolation_vs_true(result, extrapolate(truth, horizon=end,
                                                               time_unit=unit))]
    return sections, result


def extrapolation_vs_true(rebuilt, true) -> Table:
    """Restricted means and AIC ranks of each model from rebuilt and from true patient data
    (both derived): what the reconstruction changes in the extrapolation."""
    keys = ["arm", "model"]
    both = rebuilt.table[keys + ["label", "rmst", "aic_rank"]].merge(
        true.table[keys + ["rmst", "aic_rank"]], on=keys, suffixes=("", "_true"))
    both["difference"] = both.rmst - both.rmst_true
    for col in ("aic_rank", "aic_rank_true"):
        both[col] = both[col].astype("float")
    unit = rebuilt.time_unit
    return Table(both, {
        "arm": Column("Arm"), "label": Column("Model"),
        "rmst": Column(f"RMST to {rebuilt.horizon:g} {unit}, rebuilt data", "estimate", 2),
        "rmst_true": Column("true data", "estimate", 2),
        "difference": Column("difference", "signed", 2),
        "aic_rank": Column("AIC rank, rebuilt", "count"),
        "aic_rank_true": Column("AIC rank, true", "count")},
        caption="Extrapolation from the rebuilt and from the true patient data (derived)",
        name="extrapolation vs true")


def download_tables(inputs: CurveInputs, results: Mapping[str, Reconstruction],
                    comparison: Comparison, extrapolation: object | None = None
                    ) -> dict[str, pd.DataFrame]:
    """The page's tables as numbers, for CSV and Excel downloads: the rebuilt patient data,
    the at-risk intervals, the re-analysis, the extrapolation and, for the example, the
    truth beside it."""
    arms = list(results)
    tables = {
        "pseudo_patients": pd.concat([r.ipd.assign(arm=a)[["arm", "time", "event"]]
                                      for a, r in results.items()], ignore_index=True),
        "at_risk": pd.concat([r.intervals.assign(arm=a) for a, r in results.items()],
                             ignore_index=True)[["arm", *results[arms[0]].intervals.columns]],
        "arms": comparison.arms,
        "landmarks": comparison.landmarks,
        "effects": comparison.effects,
    }
    if extrapolation is not None:
        tables["extrapolation"] = extrapolation.table
        tables["extrapolation_landmarks"] = extrapolation.landmarks
    if inputs.truth is not None:
        table = reconstructed_vs_true({a: r.ipd for a, r in results.items()}, inputs.truth,
                                      tuple(comparison.landmarks.time.unique()),
                                      inputs.time_unit)
        tables["reconstructed_vs_true"] = table.data[["quantity", "reconstructed", "true",
                                                      "difference"]]
    return tables
