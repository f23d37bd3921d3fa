"""The trial registry: what each trial reported, per version of the analysis, with sources.

One YAML file per trial under ``data/trials/``. Every figure is stored as printed (see
:mod:`trialrecon.printed`) and cites its primary source. Loading validates the whole file;
a malformed record raises :class:`trialrecon.InputError` naming the file, the analysis and
the field.

A user's own trial is read with the same models without joining the registry: a file
anywhere on disk (:func:`load_trial`; format in ``docs/trial-yaml.md``) or figures typed in
Python (:func:`analysis_from_print`).

Reading a file is strict where plain YAML is lenient, because every lenient reading loses
data silently:

- A key given twice in one mapping (a second ``analyses:`` block) is refused, naming the
  line and the key; plain YAML keeps the last one and drops the first.
- Text that is not UTF-8, an impossible date (``2017-02-30``, refused at its field), an
  integer too long for Python to read and figures no paper prints (a median of 0, a hazard
  ratio CI of zero width, a number with more than 15 digits) are refused the same way.
- A printed figure left unquoted (``median: 8.20``) keeps the digits as written ("8.20",
  not YAML's number 8.2) and raises an :class:`UnquotedFigureWarning` naming the file, the
  analysis and the field, advising to quote it (``median: "8.20"``).

Any file, however malformed, gives a :class:`Trial` or an :class:`InputError`; nothing else.
"""

from __future__ import annotations

import difflib
import math
import re
import warnings
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import paths
from .dates import FollowUpBound, PrintedDate, follow_up_bound, parse_date
from .errors import InputError
from .limits import MAX_PATIENTS, MAX_YEARS, input_file
from .printed import (
    Printed,
    PrintedP,
    half_unit,
    parse_p,
    parse_printed,
    printed_decimals,
    quote,
)

ENDPOINT_LABELS = {
    "PFS": "Progression-free survival",
    "OS": "Overall survival",
    "DFS": "Disease-free survival",
    "RFS": "Recurrence-free survival",
    "EFS": "Event-free survival",
    "TTP": "Time to progression",
    "TTF": "Time to treatment failure",
    "DMFS": "Distant metastasis-free survival",
    "LRR": "Time to locoregional recurrence",
    "ORR": "Objective response rate",
    # What the source counts: grade 3 and 4 only, or grade 3 and above (grade 5 included).
    "AE_G34": "Grade 3–4 adverse events",
    "AE_G3PLUS": "Grade >=3 adverse events",
    "GH_RESPONSE": "GH decrease >50%",
    "GH_CONTROL": "GH <=2.5 ng/mL",
    "IGF1_NORMAL": "Normal IGF-1",
    "BIOCHEMICAL_CONTROL": "GH <=2.5 ng/mL and normal IGF-1",
    "HEIGHT_VELOCITY": "Annualised height velocity (cm/year)",
}
TIME_TO_EVENT = ("PFS", "OS", "DFS", "RFS", "EFS", "TTP", "TTF", "DMFS", "LRR")
BINARY = ("ORR", "AE_G34", "AE_G3PLUS", "GH_RESPONSE", "GH_CONTROL", "IGF1_NORMAL",
          "BIOCHEMICAL_CONTROL")
CONTINUOUS = ("HEIGHT_VELOCITY",)
Endpoint = Literal[
    "PFS", "OS", "DFS", "RFS", "EFS", "TTP", "TTF", "DMFS", "LRR", "ORR", "AE_G34", "AE_G3PLUS",
    "GH_RESPONSE", "GH_CONTROL", "IGF1_NORMAL", "BIOCHEMICAL_CONTROL", "HEIGHT_VELOCITY",
]
#: More patients (or events) than any trial has randomised in one arm: a count above it is a
#: typo, and would make the GRIM check enumerate that many counts (the one bound of
#: :mod:`trialrecon.limits`).
MAX_COUNT = MAX_PATIENTS
#: Each analysis time unit's length of a year.
UNITS_PER_YEAR = {"months": 12.0, "weeks": 365.25 / 7.0, "years": 1.0}


class UnquotedFigureWarning(UserWarning):
    """A printed figure was written as a bare YAML number (``median: 8.20``).

    The digits as written are kept; the warning advises quoting the figure.
    """


def _printed(value: Any) -> Printed:
    return value if isinstance(value, Printed) else parse_printed(value)


def _p(value: Any) -> Any:
    return {"printed": value} if isinstance(value, str | int | float) else value


def _count(value: Any) -> Any:
    # YAML reads yes/no/on/off as booleans, which would pass for 1 and 0.
    if isinstance(value, bool):
        raise ValueError(f"a count must be a whole number, not {str(value).lower()} (YAML "
                         "reads yes, no, on and off as true or false)")
    return value


PrintedField = Annotated[Printed, BeforeValidator(_printed)]
#: A date as printed, to the day (``2020-03-30``) or to the month (``"2017-09"``).
DateField = Annotated[PrintedDate, BeforeValidator(parse_date)]
Count = Annotated[int, BeforeValidator(_count)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]


class _Record(BaseModel):
    # Unknown keys are typos until proven otherwise: refuse them.
    # No paper prints an infinite or undefined number: refuse .inf and .nan everywhere.
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True,
                              allow_inf_nan=False)


class Landmark(_Record):
    """Survival (percent) at a time point, as printed.

    ``time`` is in the analysis's ``time_unit`` (months, weeks or years), like its medians.
    """

    time: float = Field(gt=0, description="time of the rate, in the analysis's time_unit")
    percent: PrintedField
    method: Literal["km", "crude"] = "km"

    @field_validator("percent")
    @classmethod
    def _percent(cls, v: Printed) -> Printed:
        return _check_percent(v)


class Measurement(_Record):
    """A continuous outcome summarised at a time point (mean and SD as printed).

    ``time`` is in the analysis's ``time_unit``.
    """

    time: float = Field(gt=0, description="time of the summary, in the analysis's time_unit")
    mean: float
    sd: float | None = Field(default=None, ge=0)


class Arm(_Record):
    """What was reported for one arm of one analysis."""

    n: Count | None = Field(default=None, gt=0, le=MAX_COUNT)
    events: Count | None = Field(default=None, ge=0, le=MAX_COUNT)
    median: PrintedField | None = None
    landmarks: tuple[Landmark, ...] = ()
    percent: PrintedField | None = None
    percent_range: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?-\d+(\.\d+)?$")
    values: tuple[Measurement, ...] = ()

    @field_validator("percent")
    @classmethod
    def _percent(cls, v: Printed | None) -> Printed | None:
        return None if v is None else _check_percent(v)

    @field_validator("median")
    @classmethod
    def _median(cls, v: Printed | None) -> Printed | None:
        if v is not None:
            if v.value is not None and v.value <= 0:
                # Half the arm with an event at time 0 is not a result a paper reports; the
                # HR implied by the medians would divide by it.
                raise ValueError(f"median {quote(v.text)} must be positive")
            _check_interval(v)
        return v

    @model_validator(mode="after")
    def _events(self) -> Arm:
        if self.events is not None and self.n is not None and self.events > self.n:
            raise ValueError(f"events ({self.events}) exceed the number randomised ({self.n})")
        return self


class HazardRatio(_Record):
    """A hazard ratio (experimental vs control) with its CI at a stated level (percent)."""

    printed: PrintedField
    level: float = Field(default=95.0, gt=50, lt=100)
    stratified: bool | None = None

    @field_validator("printed")
    @classmethod
    def _contains(cls, v: Printed) -> Printed:
        if v.value is None or v.lower is None or v.upper is None:
            raise ValueError(f"hazard ratio {quote(v.text)} needs a value and both CI bounds")
        if v.value <= 0 or v.lower <= 0:
            raise ValueError(f"hazard ratio {quote(v.text)} must be positive")
        _check_interval(v)
        if v.lower >= v.upper:
            # A CI of zero width is no CI: its standard error is 0 and every check divides by it.
            raise ValueError(f"hazard ratio {quote(v.text)}: the CI has zero width "
                             "(lower = upper); check the bounds as printed")
        return v


class PValue(_Record):
    """A p-value as printed, with its sidedness."""

    printed: str
    sided: Literal[1, 2] = 2

    @property
    def parsed(self) -> PrintedP:
        return parse_p(self.printed, self.sided)

    @field_validator("printed", mode="before")
    @classmethod
    def _readable(cls, v: Any) -> str:
        parse_p(str(v))
        return str(v)


class Analysis(_Record):
    """One reported result: an endpoint in a population, as one source reported it."""

    version: Slug
    label: str
    endpoint: Endpoint
    cohort: Slug | None = None
    population: str | None = None
    source: str
    assessment: str | None = None
    data_cutoff: DateField | None = None
    time_unit: Literal["months", "weeks", "years"] = "months"
    follow_up: float | None = Field(
        default=None, gt=0, description="median follow-up as printed, in time_unit")
    follow_up_max: float | None = Field(
        default=None, gt=0, description="longest follow-up as printed, in time_unit")
    median_level: float = Field(
        default=95.0, gt=50, lt=100,
        description="confidence level (percent) of the printed medians' CIs")
    arms: dict[str, Arm]
    events_total: Count | None = Field(default=None, ge=0, le=2 * MAX_COUNT)
    hazard_ratio: HazardRatio | None = None
    p_value: Annotated[PValue | None, BeforeValidator(_p)] = None
    notes: str | None = None

    _trial: Trial | None = PrivateAttr(default=None)
    #: Decimals of the follow-up figures as written (a float drops a printed trailing zero).
    _decimals: dict[str, int | None] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _printed_decimals(cls, data: Any, handler: Any) -> Analysis:
        out = handler(data)
        if isinstance(data, dict):
            out._decimals = {k: printed_decimals(data[k]) for k in ("follow_up", "follow_up_max")
                             if data.get(k) is not None}
        return out

    def half_unit(self, name: str) -> float:
        """Half a unit of the last digit of ``follow_up`` or ``follow_up_max`` as written."""
        return half_unit(self._decimals.get(name))

    @field_validator("follow_up", "follow_up_max")
    @classmethod
    def _follow_up(cls, v: float | None, info: ValidationInfo) -> float | None:
        unit = info.data.get("time_unit", "months")
        if v is not None and v > MAX_YEARS * UNITS_PER_YEAR[unit]:
            raise ValueError(f"{v:g} {unit} is more than {MAX_YEARS} years; check the figure "
                             "and time_unit")
        if info.field_name == "follow_up_max" and v is not None:
            median = info.data.get("follow_up")
            if median is not None and v < median:
                raise ValueError(f"the longest follow-up ({v:g}) is shorter than the median "
                                 f"follow-up ({median:g}); check both against the source")
        return v

    @model_validator(mode="after")
    def _shape(self) -> Analysis:
        if not self.arms:
            raise ValueError("an analysis needs at least one arm")
        if self.endpoint in BINARY:
            missing = [a for a, arm in self.arms.items()
                       if arm.percent is None and arm.percent_range is None]
            if missing:
                raise ValueError(f"binary endpoint {self.endpoint} needs 'percent' for {missing}")
        if self.endpoint in TIME_TO_EVENT:
            stray = [a for a, arm in self.arms.items() if arm.percent is not None]
            if stray:
                raise ValueError(
                    f"'percent' is for binary endpoints; use 'landmarks' for {stray}"
                )
        # No trial follows anyone for a century: a larger time is a typo or a unit mix-up,
        # and would overflow the reconstruction's arithmetic.
        longest = MAX_YEARS * UNITS_PER_YEAR[self.time_unit]
        times = [
            (f"arms.{a}.{what}", t) for a, arm in self.arms.items()
            for what, t in ([("median", x) for x in (arm.median.value, arm.median.lower,
                                                      arm.median.upper)] if arm.median else [])
            + [("landmarks.time", lm.time) for lm in arm.landmarks]]
        for where, t in times:
            if t is not None and t > longest:
                raise ValueError(f"{where} {t:g} {self.time_unit} is more than {MAX_YEARS} years"
                                 f"; check the figure and time_unit")
        return self

    @property
    def follow_up_bound(self) -> FollowUpBound | None:
        """The longest follow-up this analysis' print allows (in its time unit): the data
        cut-off minus the trial's first randomisation, or the printed longest follow-up; None
        where neither is printed (see :func:`trialrecon.dates.follow_up_bound`)."""
        design = self.trial.design
        return follow_up_bound(enrolment_start=design.enrolment_start,
                               enrolment_end=design.enrolment_end,
                               data_cutoff=self.data_cutoff, follow_up_max=self.follow_up_max,
                               follow_up=self.follow_up, unit=self.time_unit)

    @property
    def trial(self) -> Trial:
        """The trial this analysis belongs to."""
        if self._trial is None:
            raise RuntimeError("analysis not attached to a trial")
        return self._trial

    @property
    def id(self) -> str:
        """Stable readable id: ``trial/[cohort/]endpoint/version``."""
        parts = [self.trial.trial, self.cohort, self.endpoint.lower(), self.version]
        return "/".join(p for p in parts if p)

    @property
    def citation(self) -> str:
        return self.trial.sources[self.source]

    @property
    def arm_names(self) -> tuple[str, ...]:
        """Arms in the trial's order: experimental first, then control."""
        return tuple(a for a in self.trial.arms if a in self.arms)


_RATIO = re.compile(r"^\d+(:\d+)+$")


class Design(_Record):
    """How the trial was run.

    ``allocation`` is a ratio of randomised arms (``"2:1"``; ``"1:1:1:1"`` for four arms),
    ``"single arm"``, or, where no ratio applies or none is printed, a description in words
    (``"one randomised dose of 60, 90 or 120 mg or placebo; ratio not stated"``). Only a
    two-part ratio gives an :attr:`allocation_fraction`.
    """

    phase: str
    allocation: str = "1:1"
    blinding: str
    cohorts: dict[Slug, str] = Field(default_factory=dict)
    enrolment: str | None = None
    #: First and last randomisation as printed, and the key of the source printing them.
    enrolment_start: DateField | None = None
    enrolment_end: DateField | None = None
    calendar_source: str | None = None

    @model_validator(mode="after")
    def _enrolment(self) -> Design:
        start, end = self.enrolment_start, self.enrolment_end
        if start is not None and end is not None and end.latest < start.earliest:
            raise ValueError(f"enrolment_end {end} is before enrolment_start {start}")
        return self

    @field_validator("allocation")
    @classmethod
    def _ratio(cls, v: str) -> str:
        if _RATIO.match(v):
            parts = v.split(":")
            # Schoenfeld's formula divides by p (1 - p): no arm may have a zero share, and
            # six digits keep p away from 0 and 1 in floating point.
            if any(len(x) > 6 for x in parts) or 0 in (int(x) for x in parts):
                raise ValueError(f"allocation {quote(v)}: each part must be a whole number "
                                 "from 1 to 999999, e.g. '2:1'")
        elif v != "single arm" and not re.search(r"[A-Za-z]{3}", v):
            # Digits and punctuation that are not a ratio are a mistyped one ("2;1", "2:"),
            # not a description.
            raise ValueError(f"allocation {quote(v)}: write a ratio of whole numbers such as "
                             "'2:1', 'single arm', or the design in words")
        return v

    @property
    def allocation_fraction(self) -> float:
        """The experimental arm's share of a two-arm randomisation (2/3 for ``"2:1"``).

        1.0 for a single arm; NaN where the allocation is no two-part ratio (more arms, or a
        design in words), so that nothing treats it as one.
        """
        if self.allocation == "single arm":
            return 1.0
        if _RATIO.match(self.allocation) and self.allocation.count(":") == 1:
            exp, ctl = (int(x) for x in self.allocation.split(":"))
            return exp / (exp + ctl)
        return math.nan


class Baseline(_Record):
    """The patients at randomisation, as a source prints them: their median age (years) and
    the share of men (0-1: a printed 77% is 0.77), from the source ``source`` (a key of the
    trial's sources). With them, an extrapolation can be held to a hazard no lower than the
    general population's (:mod:`trialrecon.extrapolation.background`)."""

    median_age: float = Field(gt=0, le=110)
    male_share: float = Field(ge=0, le=1)
    source: str


class Trial(_Record):
    """A trial: its identity, design, sources and every analysis it reported."""

    trial: Slug
    name: str
    nct: str | None = Field(default=None, pattern=r"^NCT\d{8}$")
    company: str
    drug: str
    comparator: str | None = None
    indication: str
    design: Design
    arms: tuple[str, ...]
    context: str = ""
    sources: dict[str, str]
    analyses: tuple[Analysis, ...]
    #: Analysis ids the report extrapolates (the endpoint an appraisal would model, in its
    #: most mature rebuilt version); empty for none.
    extrapolate: tuple[str, ...] = ()
    #: Median age and share of men at randomisation, with their source (none when unknown).
    baseline: Baseline | None = None

    @model_validator(mode="after")
    def _references(self) -> Trial:
        if self.baseline is not None and self.baseline.source not in self.sources:
            raise ValueError(f"baseline.source {self.baseline.source!r} is not in 'sources' "
                             f"({sorted(self.sources)})")
        for a in self.analyses:
            unknown = set(a.arms) - set(self.arms)
            if unknown:
                raise ValueError(
                    f"analysis {a.version!r}: arms {sorted(unknown)} are not among the trial's "
                    f"arms {list(self.arms)}"
                )
            if a.source not in self.sources:
                raise ValueError(
                    f"analysis {a.version!r}: source {a.source!r} is not in 'sources' "
                    f"({sorted(self.sources)})"
                )
            if a.cohort is not None and a.cohort not in self.design.cohorts:
                raise ValueError(
                    f"analysis {a.version!r}: cohort {a.cohort!r} is not in design.cohorts "
                    f"({sorted(self.design.cohorts)})"
                )
        calendar = (self.design.enrolment_start, self.design.enrolment_end)
        if any(calendar) and self.design.calendar_source not in self.sources:
            raise ValueError(f"design.calendar_source {self.design.calendar_source!r} must name "
                             f"the source printing the enrolment dates ({sorted(self.sources)})")
        for a in self.analyses:
            a._trial = self
            _check_calendar(a)
        ids = [a.id for a in self.analyses]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate analysis ids {dupes}: give each a distinct 'version'")
        unknown = [i for i in self.extrapolate if i not in ids]
        if unknown:
            raise ValueError(f"extrapolate: {unknown[0]!r} is not an analysis id of this trial "
                             f"(ids: {', '.join(ids)})")
        return self

    @property
    def cohorts(self) -> tuple[str | None, ...]:
        """Cohorts of the trial, or ``(None,)`` for a trial without cohorts."""
        return tuple(self.design.cohorts) or (None,)


def _check_calendar(a: Analysis) -> None:
    """The printed times of an analysis fit within its trial's calendar."""
    start = a.trial.design.enrolment_start
    if a.data_cutoff is not None and start is not None and a.data_cutoff.latest < start.earliest:
        raise ValueError(f"analysis {a.version!r}: data_cutoff {a.data_cutoff} is before "
                         f"design.enrolment_start {start}")
    bound = a.follow_up_bound
    if bound is None or not math.isfinite(bound.longest):
        return
    unit = a.time_unit
    times = [("follow_up (median follow-up)", a.follow_up)] + [
        (f"arms.{name}.{what}", t) for name, arm in a.arms.items()
        for what, t in ([("median", x) for x in (arm.median.value, arm.median.lower,
                                                  arm.median.upper)] if arm.median else [])
        + [("landmarks.time", lm.time) for lm in arm.landmarks]]
    for where, t in times:
        # A Kaplan-Meier figure at a time nobody reached was not estimated from these data.
        if t is not None and t > bound.longest * (1.0 + 1e-9):
            raise ValueError(f"analysis {a.version!r}: {where} {t:g} {unit} is beyond the "
                             f"longest follow-up the print allows, {bound.longest:.1f} {unit} "
                             f"({bound.reason}); check the dates, follow_up_max and the figure")


def _check_interval(v: Printed) -> None:
    if v.value is not None and v.lower is not None and v.lower > v.value:
        raise ValueError(f"{quote(v.text)}: lower bound above the estimate")
    if v.value is not None and v.upper is not None and v.upper < v.value:
        raise ValueError(f"{quote(v.text)}: upper bound below the estimate (CI must contain it)")
    if v.lower is not None and v.upper is not None and v.lower > v.upper:
        raise ValueError(f"{quote(v.text)}: lower bound above upper bound")


def _check_percent(v: Printed) -> Printed:
    for x in (v.value, v.lower, v.upper):
        if x is not None and not 0.0 <= x <= 100.0:
            raise ValueError(f"percentage {quote(v.text)} is outside 0-100")
    _check_interval(v)
    return v


# --------------------------------------------------------------------------- loading

#: Keys of the old format, refused by name: they said months where the unit is the
#: analysis's ``time_unit``.
RENAMED_FIELDS = {"time_months": "time", "follow_up_months": "follow_up"}


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
#: Where a trial file holds printed figures, as key paths (``*``: any key, ``[]``: any item).
_PRINTED_PATHS = (
    ("analyses", "[]", "arms", "*", "median"),
    ("analyses", "[]", "arms", "*", "percent"),
    ("analyses", "[]", "arms", "*", "landmarks", "[]", "percent"),
    ("analyses", "[]", "hazard_ratio", "printed"),
    ("analyses", "[]", "p_value"),
    ("analyses", "[]", "p_value", "printed"),
    ("analyses", "[]", "follow_up"),
    ("analyses", "[]", "follow_up_max"),
)


class _YamlProblem(yaml.MarkedYAMLError):
    """A YAML document that parses but would be read wrongly; carries its own advice."""

    def __init__(self, problem: str, mark: yaml.Mark, *, key: str | None = None,
                 advice: str | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.key = key
        self.advice = advice


class TrialLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses what plain YAML silently gets wrong in a trial file.

    A key repeated in one mapping raises instead of replacing the first value; a scalar that
    its tag cannot read (an integer too long for Python, ``!!float trial``) raises with its
    line instead of a bare ``ValueError``; an impossible date (``2017-02-30``) stays text, so
    that the field it fills refuses it by name.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError,
                OverflowError):
            # PyYAML's scalar constructors trust the text to fit its tag; an explicit tag on
            # any text (!!float trial, !!bool maybe) makes them fail with a bare exception.
            what = quote(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            raise _YamlProblem(f"cannot read {what} as {node.tag.rsplit(':', 1)[-1]}",
                               node.start_mark, advice="check the value and its tag") from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # Merge keys ("<<") may override on purpose; keys written twice may not.
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node)  # cached: the base class reuses it
                try:
                    hash(key)
                except TypeError:
                    raise _YamlProblem("a key that is not plain text (a tag made it a "
                                       f"{type(key).__name__})", key_node.start_mark,
                                       advice="write keys as plain names, without a tag"
                                       ) from None
                if key in seen:
                    raise _YamlProblem(
                        f"duplicate key {quote(key)} (first on line {seen[key]})",
                        key_node.start_mark, key=_text(key),
                        advice="a key may appear once in a mapping; YAML would keep only the "
                        "last one: merge the two")
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise _YamlProblem(f"cannot read the number {quote(node.value)}", node.start_mark,
                               advice="a whole number of at most 4300 digits") from None

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, AttributeError):  # AttributeError: !!timestamp on other text
            return self.construct_scalar(node)


TrialLoader.add_constructor(_INT, TrialLoader.construct_yaml_int)
TrialLoader.add_constructor("tag:yaml.org,2002:timestamp", TrialLoader.construct_yaml_timestamp)


def _figure_nodes(node: Any, path: tuple[str, ...], loc: tuple[Any, ...] = (),
                  seen: set[tuple[int, int]] | None = None,
                  ) -> list[tuple[tuple[Any, ...], yaml.ScalarNode]]:
    """Scalar nodes found at ``path`` under ``node``, with their location (keys, indices).

    Mappings merged in by ``<<`` are followed. Each node is visited once per remaining path,
    so that aliases cannot make the walk exponential.
    """
    seen = set() if seen is None else seen
    if (id(node), len(path)) in seen:
        return []
    seen.add((id(node), len(path)))
    if not path:
        return [(loc, node)] if isinstance(node, yaml.ScalarNode) else []
    step, rest = path[0], path[1:]
    found = []
    if step == "[]" and isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _figure_nodes(item, rest, (*loc, i), seen)
    elif step != "[]" and isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.tag == _MERGE:
                for sub in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                    found += _figure_nodes(sub, path, loc, seen)
            elif isinstance(key, yaml.ScalarNode) and key.tag == _STR and (
                    step == "*" or key.value == step):
                found += _figure_nodes(value, rest, (*loc, key.value), seen)
    return found


def _quote_figures(loader: TrialLoader, root: Any) -> list[tuple[tuple[Any, ...], str, str, int]]:
    """Read every unquoted printed figure as the text written; list those YAML would change.

    YAML reads ``median: 8.20`` as the number 8.2, losing the digit that says how the figure
    was rounded. The node is retagged as a string before construction, so the figure keeps
    its digits; the result lists ``(location, text, YAML's reading, line)`` of each figure
    whose text a number would have changed, for a warning.
    """
    changed = []
    for path in _PRINTED_PATHS:
        for loc, node in _figure_nodes(root, path):
            if node.tag not in (_INT, _FLOAT):
                continue
            # Not construct_object: it would cache the number for the document.
            read = loader.construct_yaml_int if node.tag == _INT else loader.construct_yaml_float
            try:
                as_number = str(read(node))
            except (ValueError, IndexError, yaml.YAMLError):  # junk under an explicit tag
                as_number = "(unreadable)"
            node.tag = _STR
            if as_number != node.value:
                changed.append((loc, node.value, as_number, node.start_mark.line + 1))
    return changed


def _read_yaml(path: Path) -> tuple[Any, list[tuple[tuple[Any, ...], str, str, int]]]:
    """The document of a trial file, and its unquoted figures (see :func:`_quote_figures`).

    Raises
    ------
    InputError
        For anything that is not one YAML document in UTF-8 text, naming the line.
    """
    input_file(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read",
            file=path, row=data.count(b"\n", 0, exc.start) + 1,
            advice="save the file as UTF-8 text") from None
    loader = None
    try:
        loader = TrialLoader(text)  # checks for unprintable characters at once
        root = loader.get_single_node()
        changed = [] if root is None else _quote_figures(loader, root)
        return (None if root is None else loader.construct_document(root)), changed
    except _YamlProblem as exc:
        raise InputError(exc.problem, file=path, row=exc.problem_mark.line + 1,
                         column=exc.key, advice=exc.advice) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "unreadable").split())
        raise InputError(
            f"not valid YAML: {problem[:120]}",
            file=path, row=None if mark is None else mark.line + 1,
            advice="check indentation and quoting near that line",
        ) from None
    except yaml.reader.ReaderError as exc:
        raise InputError(
            "not valid YAML: character "
            + (f"#x{exc.character:04x}" if isinstance(exc.character, int) else "(unreadable)")
            + " is not allowed in YAML text",
            file=path, row=text.count("\n", 0, max(exc.position, 0)) + 1,
            advice="remove control characters from the file") from None
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise InputError(f"not valid YAML: {problem[:120]}", file=path) from None
    except RecursionError:
        raise InputError("not valid YAML for a trial: structures nested too deeply", file=path,
                         advice="a trial file nests a few levels; check the brackets") from None
    finally:
        if loader is not None:
            loader.dispose()


def _text(x: Any, limit: int = 40) -> str:
    """A key or value of the user's file as text for a message, however long or odd."""
    try:
        text = x if isinstance(x, str) else str(x)
    except ValueError:  # an int beyond sys.get_int_max_str_digits()
        return "<a long number>"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _where(raw: dict[str, Any], loc: tuple[Any, ...]) -> tuple[str | None, str]:
    """Turn a pydantic error location into (analysis label, field path)."""
    if len(loc) >= 2 and loc[0] == "analyses" and isinstance(loc[1], int):
        entries = raw.get("analyses")
        entries = entries if isinstance(entries, list | tuple) else []
        entry = entries[loc[1]] if 0 <= loc[1] < len(entries) else {}
        entry = entry if isinstance(entry, dict) else {}
        parts = [raw.get("trial"), entry.get("cohort"),
                 _text(entry.get("endpoint", "?")).lower(),
                 entry.get("version", f"#{loc[1] + 1}")]
        label = "analysis " + "/".join(_text(p) for p in parts if p)
        return label, ".".join(_text(p) for p in loc[2:]) or "(record)"
    return None, ".".join(_text(p) for p in loc) or "(record)"


def _invalid(exc: ValidationError, raw: dict[str, Any], *, file: Path | None = None,
             what: str = "this file") -> InputError:
    """Translate a pydantic error into an :class:`InputError` naming the record and field.

    The first problem is reported (record as ``analysis trial/[cohort/]endpoint/version``,
    field as a dotted path such as ``arms.placebo.median``); the advice counts the others.
    """
    errors = exc.errors()
    # A key of the old format is no typo: report it first, naming its new name.
    renamed = [e for e in errors if e["type"] == "extra_forbidden" and e["loc"]
               and e["loc"][-1] in RENAMED_FIELDS]
    first = (renamed or errors)[0]
    record, field = _where(raw, tuple(first["loc"]))
    message = first["msg"].removeprefix("Value error, ")
    if renamed:
        message = _renamed_message(str(first["loc"][-1]))
    elif first["type"] == "extra_forbidden":
        message = "unknown field (a typo?)"
    return InputError(message, file=file, row=record, column=field,
                      advice=f"{len(errors)} problem(s) in {what}; fix and reload"
                      if len(errors) > 1 else None)


def _renamed_message(old: str) -> str:
    return (f"{old!r} was renamed {RENAMED_FIELDS[old]!r}; it is in the analysis's "
            "time_unit (months, weeks or years), not always months")


def load_trial(path: str | Path, *, match_file_name: bool = False) -> Trial:
    """Load and validate one trial file, from the registry or anywhere on disk.

    Parameters
    ----------
    path
        A YAML file in the format of ``data/trials/*.yaml`` (documented, with a template, in
        ``docs/trial-yaml.md`` and ``docs/trial-template.yaml``).
    match_file_name
        Require the trial id to equal the file name without its suffix, as the registry
        does for its own directory (:func:`trials` loads with ``True``, so that a trial is
        found by its file). A user's file may be named anything: the default.

    Raises
    ------
    InputError
        If the file is missing, not UTF-8 or not valid YAML, holds a key twice in one
        mapping, any record is malformed or (with ``match_file_name``) the trial id is not
        the file name. Nothing else is raised, whatever the file holds.

    Warns
    -----
    UnquotedFigureWarning
        For each printed figure written as a bare number whose digits YAML would change
        (``median: 8.20``); the digits as written are kept.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file" if not path.exists() else "not a file", file=path,
                         advice="give the path of a trial .yaml file")
    raw, unquoted = _read_yaml(path)
    if not isinstance(raw, dict):
        raise InputError("a trial file must hold a mapping", file=path)
    try:
        trial = Trial.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(exc, raw, file=path) from None
    except RecursionError:
        raise InputError("a structure in the file refers to itself (YAML anchors and aliases)",
                         file=path, advice="write each record out in full") from None
    for loc, text, as_number, line in unquoted:
        record, field = _where(raw, loc)
        key = _text(loc[-1])
        warnings.warn(str(InputError(
            f"unquoted figure {text} on line {line} would read as the number {as_number}; "
            f"kept as written, {text!r}", file=path, row=record, column=field,
            advice=f'quote printed figures: {key}: "{text}"')),
            UnquotedFigureWarning, stacklevel=2)
    if match_file_name and trial.trial != path.stem:
        raise InputError(f"trial id {trial.trial!r} does not match the file name",
                         file=path, column="trial", advice=f"rename the file or use {path.stem!r}")
    return trial


@cache
def _load_all(directory: Path) -> dict[str, Trial]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise InputError("no trial files found", file=directory,
                         advice="the registry lives in data/trials/*.yaml")
    return {t.trial: t for t in (load_trial(f, match_file_name=True) for f in files)}


def trials(directory: str | Path | None = None) -> dict[str, Trial]:
    """All trials of the registry, by id."""
    return _load_all(Path(directory or paths.TRIALS).resolve())


#: What an unknown id is told to do: the command that lists the valid ones (most of those who
#: mistype an id typed it on the command line).
LIST_IDS = "list them with: trialrecon trials"


def _canonical(registry_id: str) -> str:
    """The registry's spelling of an id: ids are lower case, so ``CABINET`` is ``cabinet``."""
    return registry_id.strip().lower()


def get_trial(trial_id: str) -> Trial:
    """One trial by id, in any case (``CABINET`` is ``cabinet``).

    Raises
    ------
    InputError
        For an unknown id, naming the valid ones.
    """
    everything = trials()
    key = _canonical(trial_id)
    if key not in everything:
        raise InputError(f"unknown trial {trial_id!r}", column="trial",
                         advice=f"valid trials: {', '.join(sorted(everything))}")
    return everything[key]


def find_trial(ref: str | Path) -> Trial:
    """A trial by registry id (any case) or by the path of its file (``docs/trial-yaml.md``),
    read with the same validation either way.

    Raises
    ------
    InputError
        For an unknown id (naming the valid ones) or a file that cannot be read as a trial.
    """
    return load_trial(ref) if paths.is_trial_file(ref) else get_trial(str(ref))


def analyses(trial_id: str | None = None) -> list[Analysis]:
    """Every analysis, or those of one trial (id in any case), in registry order."""
    chosen = [get_trial(trial_id)] if trial_id else trials().values()
    return [a for t in chosen for a in t.analyses]


def analysis_ids(trial_id: str | None = None) -> list[str]:
    """Every analysis id, e.g. ``cabinet/pnet/pfs/nejm-2025`` (always lower case)."""
    return [a.id for a in analyses(trial_id)]


def get(analysis_id: str | Analysis) -> Analysis:
    """One analysis by id, in any case, with its trial attached (``.trial``).

    Raises
    ------
    InputError
        For an unknown id, suggesting the nearest valid ids, or else the command that lists
        them.
    """
    if isinstance(analysis_id, Analysis):
        return analysis_id
    by_id = {a.id: a for a in analyses()}
    key = _canonical(analysis_id)
    if key in by_id:
        return by_id[key]
    near = difflib.get_close_matches(key, by_id, n=3, cutoff=0.5)
    prefix = [i for i in by_id if i.startswith(key.split("/")[0] + "/")][:5]
    suggest = near or prefix
    raise InputError(
        f"unknown analysis id {analysis_id!r}",
        advice=f"did you mean {', '.join(suggest)}; or {LIST_IDS}" if suggest else LIST_IDS,
    )


# --------------------------------------------------------------------------- a user's figures

#: Keywords of :func:`analysis_from_print` beyond its named ones, by the record they fill.
_FROM_PRINT_FIELDS = {
    "trial": ("name", "nct", "company", "drug", "comparator", "indication", "context", "design"),
    "design": ("phase", "allocation", "blinding", "cohorts", "enrolment", "enrolment_start",
               "enrolment_end", "calendar_source"),
    "analysis": ("version", "cohort", "population", "assessment", "data_cutoff", "time_unit",
                 "follow_up_max", "median_level", "notes"),
}


def _allocation(arms: dict[str, Any]) -> str:
    """The ratio of two printed arm sizes (``64:31``, ``100:50`` -> ``2:1``), else ``1:1``."""
    sizes = [arm.get("n") if isinstance(arm, dict) else getattr(arm, "n", None)
             for arm in arms.values()]
    if len(sizes) != 2 or not all(isinstance(x, int) and x > 0 for x in sizes):
        return "1:1"
    g = math.gcd(*sizes)
    return f"{sizes[0] // g}:{sizes[1] // g}"


def analysis_from_print(
    *,
    endpoint: str = "PFS",
    arms: dict[str, dict[str, Any]],
    hazard_ratio: str | dict[str, Any] | None = None,
    p_value: str | dict[str, Any] | None = None,
    follow_up: float | None = None,
    events_total: int | None = None,
    trial: str = "user",
    label: str | None = None,
    citation: str = "printed figures entered by the user",
    **extra: Any,
) -> Analysis:
    """One analysis from figures as printed, without a YAML file and outside the registry.

    The figures are validated by the same models as a trial file, so a mistake raises the
    same :class:`InputError` naming the field. The result has a one-analysis trial attached
    (``a.trial``, ``a.id``, ``a.citation``) and goes wherever a registry analysis goes:
    ``summary.check_table([a])``, ``simulate.fit_summary(a)``.

    Parameters
    ----------
    endpoint
        One of :data:`ENDPOINT_LABELS` (time-to-event: :data:`TIME_TO_EVENT`).
    arms
        Arm name to its figures, **experimental first, control second**; each arm takes the
        fields of :class:`Arm`: ``n``, ``events``, ``median`` (``"13.8 (8.9-17.0)"``, ``"NR"``)
        and ``landmarks`` (``[{"time": 12, "percent": "65.1 (54.0-74.1)"}]``, ``time`` in
        ``time_unit``).
    hazard_ratio
        ``"0.23 (0.12-0.42)"`` (a 95% CI), or the fields of :class:`HazardRatio`
        (``{"printed": ..., "level": 90, "stratified": True}``).
    p_value
        ``"<0.001"`` (two-sided), or ``{"printed": "0.012", "sided": 1}``.
    follow_up, events_total
        Median follow-up (in ``time_unit``, months by default) and events in both arms, when
        printed.
    trial, label, citation
        The trial id (a lower-case slug; the analysis id is ``trial/endpoint/version``),
        a label for the analysis and where the figures come from.
    **extra
        Any other field of a trial file: of the analysis (``version`` (default
        ``"printed"``), ``cohort``, ``population``, ``assessment``, ``data_cutoff``,
        ``time_unit``, ``notes``), of the trial (``name``, ``nct``, ``company``, ``drug``,
        ``comparator``, ``indication``, ``context``) or of its design (``phase``,
        ``allocation``, ``blinding``, ``enrolment``). ``allocation`` defaults to the ratio
        of the two arms' ``n``; it sets the allocation fraction of the Schoenfeld check.

    Raises
    ------
    InputError
        If a figure is malformed or inconsistent in itself, naming the field (for example
        ``arms.placebo.median``), or for an unknown keyword.

    Examples
    --------
    >>> a = analysis_from_print(
    ...     arms={"cabozantinib": {"n": 64, "median": "13.8 (9.2-18.5)"},
    ...           "placebo": {"n": 31, "median": "4.4 (3.0-5.9)"}},
    ...     hazard_ratio="0.23 (0.12-0.42)", p_value="<0.001", follow_up=13.8)
    >>> a.id
    'user/pfs/printed'
    """
    if not isinstance(arms, dict) or not arms:
        raise InputError("arms must map each arm's name to its figures, experimental first",
                         column="arms", advice='e.g. {"drug": {"n": 64, "median": "13.8"}, '
                         '"placebo": {"n": 31, "median": "4.4"}}')
    known = {f for fields in _FROM_PRINT_FIELDS.values() for f in fields}
    unknown = sorted(set(extra) - known)
    if old := sorted(set(extra) & set(RENAMED_FIELDS)):
        raise InputError(_renamed_message(old[0]), column=old[0],
                         advice=f"use {RENAMED_FIELDS[old[0]]}=")
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r} (a typo?)", column=unknown[0],
                         advice="fields: " + ", ".join(sorted(known)))
    pick = {part: {k: extra[k] for k in fields if k in extra}
            for part, fields in _FROM_PRINT_FIELDS.items()}
    names = [str(name) for name in arms]
    entry: dict[str, Any] = {
        "version": "printed",
        "label": label or f"{ENDPOINT_LABELS.get(endpoint, endpoint)}, printed figures",
        "endpoint": endpoint, "source": "user", "arms": arms,
    }
    given = {"follow_up": follow_up, "events_total": events_total,
             "hazard_ratio": {"printed": hazard_ratio}
             if isinstance(hazard_ratio, str | int | float) else hazard_ratio,
             "p_value": p_value}
    entry |= {k: v for k, v in given.items() if v is not None} | pick["analysis"]
    design = pick["trial"].pop("design", {})
    if isinstance(design, dict):
        design = {"phase": "not stated", "blinding": "not stated",
                  "allocation": _allocation(arms)} | design | pick["design"]
        if {"enrolment_start", "enrolment_end"} & set(design):
            design.setdefault("calendar_source", "user")
        if "cohort" in entry and "cohorts" not in design:
            design["cohorts"] = {entry["cohort"]: str(entry["cohort"])}
    raw: dict[str, Any] = {
        "trial": trial, "name": trial, "company": "not stated", "drug": names[0],
        "comparator": names[1] if len(names) > 1 else None, "indication": "not stated",
        "design": design, "arms": names, "sources": {"user": citation}, "analyses": [entry],
    } | pick["trial"]
    try:
        return Trial.model_validate(raw).analyses[0]
    except ValidationError as exc:
        raise _invalid(exc, raw, what="these figures") from None


def reported_table(items: list[Analysis]) -> pd.DataFrame:
    """Every reported figure of the given analyses, one row per figure, as printed.

    Columns: ``analysis_id, version, endpoint, cohort, arm, quantity, reported, source``.
    All values are reported (copied from the source), none derived.
    """
    rows = []
    for a in items:
        unit = a.time_unit.removesuffix("s")  # "12-week rate", not "12-month", for weeks

        def add(arm: str, quantity: str, value: Any, a: Analysis = a) -> None:
            if value is not None and value != ():
                rows.append({"analysis_id": a.id, "version": a.label, "endpoint": a.endpoint,
                             "cohort": a.cohort or "", "arm": arm, "quantity": quantity,
                             "reported": str(value), "source": a.source})
        for name in a.arm_names:
            arm = a.arms[name]
            add(name, "N", arm.n)
            add(name, "events", arm.events)
            ci = "" if a.median_level == 95.0 else f", {a.median_level:g}% CI"
            add(name, f"median ({a.time_unit}{ci})", arm.median)
            for lm in arm.landmarks:
                add(name, f"{lm.time:g}-{unit} rate (%)"
                    + (" crude" if lm.method == "crude" else ""), lm.percent)
            add(name, "percent", arm.percent)
            add(name, "percent (range across cohorts)", arm.percent_range)
            for m in arm.values:
                add(name, f"{unit} {m.time:g} mean (SD)",
                    f"{m.mean:g}" + ("" if m.sd is None else f" ({m.sd:g})"))
        add("", "events (total)", a.events_total)
        if a.hazard_ratio:
            hr = a.hazard_ratio
            strat = {True: ", stratified", False: ", unstratified", None: ""}[hr.stratified]
            add("", f"HR ({hr.level:g}% CI{strat})", hr.printed)
        if a.p_value:
            add("", "p-value" + (" (one-sided)" if a.p_value.sided == 1 else ""),
                a.p_value.printed)
        add("", f"median follow-up ({a.time_unit})", a.follow_up)
        add("", f"longest follow-up ({a.time_unit})", a.follow_up_max)
        add("", "data cut-off", a.data_cutoff)
    return pd.DataFrame(rows, columns=["analysis_id", "version", "endpoint", "cohort", "arm",
                                       "quantity", "reported", "source"])

