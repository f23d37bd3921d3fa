"""What a paper would print from patient-level data: the print protocol of the kmdata corpus.

The summary road (:mod:`trialrecon.simulate`) rebuilds patients from printed figures alone. To
measure it, this module prints the figures of datasets whose patients are known (the kmdata
corpus of reconstructed phase III trials, kept outside the repository in
``../shared/corpus/kmdata``), as a trial record of the registry (:mod:`trialrecon.registry`)
that :func:`write_trial_yaml` writes and :func:`trialrecon.registry.load_trial` reads. Every
figure printed here is derived from the data, so all of them are true together.

Print protocol
--------------
Fixed, so that results stay comparable between runs:

* The experimental arm is the first of ``arms`` (the order of the corpus' ``index.csv``, which
  records no treatment roles), the control arm the second.
* Arm sizes ``n``, and as the design's allocation their ratio in lowest terms. No event
  counts (papers of this protocol do not print them).
* The Kaplan-Meier median of each arm (lifelines ``KaplanMeierFitter.median_survival_time_``)
  with its 95% CI (``lifelines.utils.median_survival_times`` of the fitter's
  ``confidence_interval_``), each to one decimal, ``NR`` where not reached:
  ``"8.4 (7.6-12.7)"``, ``"21.4 (18.7-NR)"``, ``"NR (30.2-NR)"``; with ``median_ci=False``
  the median alone (``"8.4"``).
* If either arm's median is NR, one landmark rate for both arms: Kaplan-Meier survival in
  percent (``landmark_decimals`` decimals, method ``km``) at the largest of
  :data:`LANDMARK_TIMES` months that is not beyond the shorter arm's last observed time (if
  none is, that last time rounded down to a whole month).
* The Cox hazard ratio, experimental vs control, unstratified (lifelines ``CoxPHFitter``,
  Efron's ties), with its 95% CI, each to two decimals: ``"0.71 (0.58-0.86)"``.
* The Wald p-value of that Cox fit: ``"<0.001"`` below 0.001, else two significant digits
  (``"0.034"``, ``"0.21"``, ``"0.0010"``, ``"1.0"``).
* Median follow-up by the reverse Kaplan-Meier method (the censoring indicator as event), to
  one decimal, as ``follow_up`` (in months, the record's default ``time_unit``); left out,
  with a note, where it is not estimable.
* The longest follow-up, ``follow_up_max``: the dataset's longest time rounded up to a tenth
  of a month, as in "median 24.8 months (range 0.1-61.2)"; left out with
  ``follow_up_max=False``.
* The endpoint is the corpus' ``outcome`` if it is one of
  :data:`trialrecon.registry.TIME_TO_EVENT`, else ``PFS`` (with a note).
* Ids: the trial slug is the dataset name lowercased, with every run of characters other than
  ``a-z`` and ``0-9`` (``_`` and brackets in kmdata's names) turned into ``-``; arm names are
  slugified the same way. One source cites kmdata and the original publication.

Rounding: numbers are formatted with Python's f-strings (round half to even on the binary
value). A printed number never contradicts its neighbours: interval bounds are clipped to the
estimate (a CI lower bound never prints above the estimate), and where a positive estimate
would print as zero (an HR of 0.004, a median of 0.03 months) all numbers of that estimate get
one more decimal until it does not.

Digitisation protocol (curve road)
----------------------------------
The curve road (:func:`trialrecon.reconstruct.reconstruct_ipd`) rebuilds
patients from a digitised Kaplan-Meier curve and the numbers at risk printed under it. To
measure it, :func:`digitise_curve` draws each arm's curve as a digitiser would read it and
:func:`at_risk_rows` prints its at-risk table:

* ``exact`` (:data:`CURVE_MODES`): every step corner exactly, as
  :func:`trialrecon.validation.km_steps` gives it ((0, 1), the foot of every step, the end of
  the flat tail): a vector figure read without error, not rounded.
* ``noisy`` / ``noisy1``: about :data:`CLICKS` clicks per arm. The drawn step path (horizontal
  runs and vertical drops) is measured in axis units (time divided by the arm's last time,
  survival as a proportion); targets are spaced evenly along its length, so that steep drops
  get their share of clicks, and each target is snapped to the nearest corner of the path (the
  top or the foot of a drop). Every click, the origin included, is then moved by independent
  normal noise of standard deviation ``jitter`` times the axis range (time range: the arm's
  last time; survival range: 1) and read to three decimals. Clicks may therefore be out of
  order, rise slightly, or fall just outside the axes, as hand digitisations do. The noise is
  ``jitter`` times one seeded draw of standard normals, so ``noisy1`` moves the same clicks in
  the same directions as ``noisy``, only further.
* Digitising conventions (:data:`CONVENTIONS`, :class:`Digitising`), each at 0.3% noise read
  to three decimals: ``path`` (the above, mode ``noisy``; with 30 clicks, ``sparse``);
  ``feet`` and ``tops``, one click at the foot or at the top of every k-th drop, k the
  smallest that keeps to about :data:`CLICKS` clicks, evenly in step index, the last drop
  included; ``corners``, both corners of every k-th drop; ``dense``, an automatic extractor's
  output: for every pixel column of a :data:`DENSE_PIXELS` plotting area the curve's level at
  the column's centre, or the top and the foot of the drops within it, rounded to a pixel
  row (thousands of points). Each may leave out the end of the flat tail (``exact-notail``,
  ``feet-notail``) or come in random order (``shuffled``).
* ``marks``: the ``noisy`` clicks, and the censoring marks (+) clicked as well: one mark at
  each censored patient's time, marks closer than :data:`MARK_WIDTH` of the time axis printed
  as one (the first of them), each read with the same time noise and decimals
  (:func:`censor_marks`).
* At-risk table: the true numbers at risk (time >= t) at 0, step, 2 step, ... up to the arm's
  last time, the step being the first of :data:`AT_RISK_STEPS` months that gives at most
  :data:`AT_RISK_MAX_ROWS` rows.
* Seeds come from :func:`stable_seed` of the dataset name and arm label, so that runs are
  reproducible across processes and Python versions.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from lifelines.utils import median_survival_times

from .analysis import cox_hr, fit_km, median_follow_up
from .errors import InputError
from .registry import TIME_TO_EVENT

#: Candidate landmark times (months) for arms whose median is not reached.
LANDMARK_TIMES: tuple[int, ...] = (6, 12, 18, 24, 36, 48, 60, 72, 84, 96, 108, 120)
#: Columns every dataset file must hold.
DATASET_COLUMNS: tuple[str, ...] = ("time", "event", "arm")
#: Columns ``index.csv`` must hold.
INDEX_COLUMNS: tuple[str, ...] = ("dataset", "file", "n", "events", "arms", "outcome")
#: Most decimals added to keep a positive estimate from printing as zero.
MAX_DECIMALS = 6
SOURCE_KEY = "kmdata"
VERSION = "kmdata-print"

#: Ways people digitise a Kaplan-Meier curve (see the module doc, "Digitising conventions").
CONVENTIONS: tuple[str, ...] = ("path", "feet", "tops", "corners", "dense")


@dataclass(frozen=True)
class Digitising:
    """One way of reading a curve: the convention, the click noise, how many clicks, whether
    the end of the flat tail is clicked, and whether the clicks come in time order.

    ``jitter`` is the standard deviation of the click noise as a share of each axis' range
    (``None``: the exact step corners, no noise); ``clicks`` the target number of clicks (the
    dense convention takes one or two points per pixel column instead).
    """

    convention: str = "path"
    jitter: float | None = 0.003
    clicks: int = 100
    tail: bool = True
    shuffled: bool = False


#: Digitisation modes of the curve road. ``exact``: every step corner, no noise; ``noisy``
#: (along the path) and the conventions at 0.3% noise; ``noisy1`` at 1%; ``marks`` is
#: ``noisy`` with the censoring marks clicked too (:func:`censor_marks`).
CURVE_MODES: dict[str, Digitising] = {
    "exact": Digitising("exact", None),
    "exact-notail": Digitising("exact", None, tail=False),
    "noisy": Digitising("path"),
    "feet": Digitising("feet"),
    "tops": Digitising("tops"),
    "corners": Digitising("corners"),
    "sparse": Digitising("path", clicks=30),
    "dense": Digitising("dense"),
    "feet-notail": Digitising("feet", tail=False),
    "shuffled": Digitising("feet", shuffled=True),
    "noisy1": Digitising("path", 0.01),
    "marks": Digitising("path"),
}
#: Modes whose digitisation includes the censoring marks.
MARK_MODES: frozenset[str] = frozenset({"marks"})
#: Width of a censoring mark as a share of the time axis: marks closer than this print as one.
MARK_WIDTH = 0.005
#: Target number of clicks per arm of a hand digitisation (origin included).
CLICKS = 100
#: Decimals to which a hand digitisation reads both axes.
CLICK_DECIMALS = 3
#: Pixels of the plotting area of the dense convention (an automatic extractor's output):
#: columns along the time axis, rows along the survival axis.
DENSE_PIXELS: tuple[int, int] = (1000, 600)
#: Candidate steps (months) of a printed at-risk table, the finest first.
AT_RISK_STEPS: tuple[int, ...] = (1, 2, 3, 6, 12, 24)
#: Most rows of a printed at-risk table (time 0 included).
AT_RISK_MAX_ROWS = 10

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


# --------------------------------------------------------------------------- reading


def _read_csv(path: Path, required: Iterable[str], what: str) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{what} not found", file=path,
                         advice="check the corpus folder (../shared/corpus/kmdata)")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} is not a readable CSV file: {exc}", file=path) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {missing}", file=path, column=missing[0],
                         advice=f"expected columns {list(required)}")
    return frame


def read_dataset(path: str | Path) -> pd.DataFrame:
    """Read one patient-level dataset of the corpus.

    Parameters
    ----------
    path
        A CSV file with columns ``time`` (months), ``event`` (1 event, 0 censored) and ``arm``.

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (float), ``event`` (int 0/1) and ``arm`` (str), in file order.

    Raises
    ------
    InputError
        If the file is missing or unreadable, lacks a column, or holds missing, negative or
        non-numeric times or events other than 0 and 1.
    """
    path = Path(path)
    frame = _read_csv(path, DATASET_COLUMNS, "dataset file")
    time = pd.to_numeric(frame["time"], errors="coerce")
    event = pd.to_numeric(frame["event"], errors="coerce")
    for column, ok in (("time", time.notna() & (time >= 0)), ("event", event.isin([0, 1]))):
        if not ok.all():
            row = int(np.flatnonzero(~ok.to_numpy())[0])
            raise InputError(f"invalid value {frame[column].iloc[row]!r}", file=path,
                             row=row + 2, column=column,
                             advice="times must be non-negative numbers, events 0 or 1")
    if frame["arm"].isna().any():
        row = int(np.flatnonzero(frame["arm"].isna().to_numpy())[0])
        raise InputError("missing arm label", file=path, row=row + 2, column="arm")
    return pd.DataFrame({"time": time.astype(float), "event": event.astype(int),
                         "arm": frame["arm"].astype(str)})


def corpus_index(directory: str | Path) -> pd.DataFrame:
    """Read the corpus' ``index.csv`` (one row per dataset).

    Parameters
    ----------
    directory
        The corpus folder, holding ``index.csv`` and the dataset files.

    Returns
    -------
    pandas.DataFrame
        The index as stored: at least ``dataset, file, n, events, arms, outcome``; ``arms`` is
        ``"experimental;control"`` (see :func:`dataset_arms`).

    Raises
    ------
    InputError
        If ``index.csv`` is missing, lacks a column, or an entry does not name two arms.
    """
    path = Path(directory) / "index.csv"
    index = _read_csv(path, INDEX_COLUMNS, "corpus index")
    for row, arms in enumerate(index["arms"].astype(str)):
        if len(arms.split(";")) != 2:
            raise InputError(f"arms {arms!r} do not name two arms", file=path, row=row + 2,
                             column="arms", advice="write them as 'experimental;control'")
    return index


def dataset_arms(entry: Mapping[str, Any]) -> tuple[str, str]:
    """The two arm labels of an index entry: ``(experimental, control)``."""
    first, second = str(entry["arms"]).split(";")
    return first, second


# --------------------------------------------------------------------------- ids


def slugify(text: str) -> str:
    """Lowercase ``text`` and turn every run of characters other than a-z, 0-9 into ``-``.

    >>> slugify("AIO0207(a)_3C")
    'aio0207-a-3c'
    """
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def trial_slug(dataset: str) -> str:
    """The registry id of a dataset's trial record (also the stem of its YAML file).

    Raises
    ------
    InputError
        If nothing of the name is left to make an id of.
    """
    slug = slugify(dataset)
    if not _SLUG.match(slug):
        raise InputError(f"cannot make a trial id of dataset name {dataset!r}", column="dataset")
    return slug


def arm_slugs(arms: tuple[str, str]) -> tuple[str, str]:
    """Registry arm names for two arm labels: slugified, distinct, never empty."""
    first, second = (slugify(a) or f"arm-{k + 1}" for k, a in enumerate(arms))
    if first == second:
        first, second = f"{first}-1", f"{second}-2"
    return first, second


# --------------------------------------------------------------------------- formatting


def _digits(values: Iterable[float], decimals: int) -> int:
    """Decimals, from ``decimals`` up, at which no positive finite value prints as zero."""
    positive = [v for v in values if math.isfinite(v) and v > 0]
    d = decimals
    while d < MAX_DECIMALS and any(float(f"{v:.{d}f}") == 0.0 for v in positive):
        d += 1
    return d


def _number(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}" if math.isfinite(x) else "NR"


def format_estimate(value: float, lower: float | None = None, upper: float | None = None, *,
                    decimals: int, positive: bool = False) -> str:
    """Print an estimate with an optional interval, as a paper would.

    Parameters
    ----------
    value, lower, upper
        The estimate and its interval bounds; infinite or NaN values print as ``NR``; no
        interval is printed when both bounds are ``None``.
    decimals
        Decimal places of all three numbers.
    positive
        If true, a positive number that would print as zero gets more decimals (all three
        numbers alike, at most :data:`MAX_DECIMALS`); otherwise only the estimate counts.

    Returns
    -------
    str
        ``"0.71 (0.58-0.86)"``, ``"21.4 (18.7-NR)"``, ``"NR"``. A printed bound never lies on the
        wrong side of the printed estimate (it is clipped to it).
    """
    checked = [value] + ([x for x in (lower, upper) if x is not None] if positive else [])
    d = _digits(checked, decimals)
    text = _number(value, d)
    if lower is None and upper is None:
        return text
    lo = math.inf if lower is None else lower
    hi = math.inf if upper is None else upper
    lo_text, hi_text = _number(lo, d), _number(hi, d)
    if text != "NR":
        if lo_text != "NR" and float(lo_text) > float(text):
            lo_text = text
        if hi_text != "NR" and float(hi_text) < float(text):
            hi_text = text
    if "NR" not in (lo_text, hi_text) and float(lo_text) > float(hi_text):
        lo_text = hi_text
    return f"{text} ({lo_text}-{hi_text})"


def format_p(p: float) -> str:
    """Print a p-value: ``"<0.001"`` below 0.001, else two significant digits.

    >>> [format_p(x) for x in (0.00049, 0.0342, 0.215, 0.9996)]
    ['<0.001', '0.034', '0.21', '1.0']

    Raises
    ------
    ValueError
        If ``p`` is not a number in [0, 1].
    """
    if not 0.0 <= p <= 1.0:  # also refuses NaN
        raise ValueError(f"p-value {p!r} is not a probability")
    return "<0.001" if p < 0.001 else f"{p:#.2g}"


# --------------------------------------------------------------------------- statistics


def km_on_grid(ipd: pd.DataFrame, grid: Iterable[float] | np.ndarray) -> np.ndarray:
    """Kaplan-Meier survival of one arm at the grid times (right-continuous step function).

    Parameters
    ----------
    ipd
        Patient data of one arm: columns ``time`` and ``event`` (1/0); other columns ignored.
    grid
        Times at which to evaluate; before the first event the survival is 1, after the last
        observed time it stays at its last value.

    Returns
    -------
    numpy.ndarray
        Survival (0-1) at each grid time; an event at exactly ``t`` counts at ``t``.
    """
    time = ipd["time"].to_numpy(float)
    event = ipd["event"].to_numpy(float) > 0
    grid = np.asarray(grid, float)
    if time.size == 0:
        raise InputError("patient data of the arm is empty")
    times, slot = np.unique(time, return_inverse=True)
    deaths = np.bincount(slot, weights=event.astype(float), minlength=times.size)
    leaving = np.bincount(slot, minlength=times.size).astype(float)
    at_risk = time.size - np.r_[0.0, np.cumsum(leaving)[:-1]]
    survival = np.cumprod(1.0 - deaths / at_risk)
    k = np.searchsorted(times, grid, side="right") - 1
    return np.where(k < 0, 1.0, survival[np.clip(k, 0, None)])


def landmark_time(last_time: float) -> float:
    """The landmark of the protocol for the shorter arm's last observed time (months)."""
    fitting = [t for t in LANDMARK_TIMES if t <= last_time]
    if fitting:
        return float(fitting[-1])
    whole = float(math.floor(last_time))
    return whole if whole > 0 else float(last_time)


def _median_text(arm: pd.DataFrame, ci: bool) -> tuple[str, float]:
    kmf = fit_km(arm)
    median = float(kmf.median_survival_time_)
    if not ci:
        return format_estimate(median, decimals=1, positive=True), median
    lower, upper = median_survival_times(kmf.confidence_interval_).to_numpy(float).ravel()
    return format_estimate(median, float(lower), float(upper), decimals=1), median


def _allocation(n_experimental: int, n_control: int) -> str:
    """The ratio of the arm sizes in lowest terms (``64:32`` -> ``"2:1"``, else ``"64:31"``).

    The allocation fraction of the summary checks is then the experimental arm's share.
    """
    g = math.gcd(n_experimental, n_control)
    return f"{n_experimental // g}:{n_control // g}"


def citation(dataset: str, journal: str | None = None, year: int | str | None = None,
             pmid: int | str | None = None) -> str:
    """The source line of a corpus dataset."""
    original = " ".join(str(x) for x in (journal, year) if x is not None and str(x) != "nan")
    text = f"kmdata (Redd, Fell, Rahman 2022), dataset {dataset}"
    if original:
        text += f", reconstructed from {original}"
    if pmid is not None and str(pmid) != "nan":
        text += f", PMID {pmid}"
    return text


# --------------------------------------------------------------------------- printing


def print_summary(ipd: pd.DataFrame, *, arms: tuple[str, str], outcome: str,
                  dataset: str = "synthetic", journal: str | None = None,
                  year: int | str | None = None, pmid: int | str | None = None,
                  median_ci: bool = True, landmark_decimals: int = 1,
                  follow_up_max: bool = True) -> dict[str, Any]:
    """What a paper prints from two arms' patient data, as a trial record (see module doc).

    Parameters
    ----------
    ipd
        Columns ``time`` (months), ``event`` (1/0) and ``arm`` (labels as in ``arms``).
    arms
        ``(experimental, control)`` arm labels of ``ipd``.
    outcome
        The endpoint's name, e.g. ``"OS"``; anything not in
        :data:`~trialrecon.registry.TIME_TO_EVENT` is printed as ``PFS``, with a note.
    dataset, journal, year, pmid
        Name of the dataset (it gives the trial id) and the publication, for the source line.
    median_ci
        Print the 95% CI of the medians.
    landmark_decimals
        Decimals of the landmark rate (percent), printed where a median is not reached.
    follow_up_max
        Print the longest follow-up.

    Returns
    -------
    dict
        A trial record of the registry schema (plain Python types, figures as printed
        strings) with one analysis; :func:`write_trial_yaml` writes it.

    Raises
    ------
    InputError
        If a column is missing or an arm has no patients.
    """
    missing = [c for c in DATASET_COLUMNS if c not in ipd.columns]
    if missing:
        raise InputError(f"patient data lacks column(s) {missing}", column=missing[0])
    if len(arms) != 2 or arms[0] == arms[1]:
        raise InputError(f"need two distinct arms, got {arms!r}", column="arms")
    parts = [ipd.loc[ipd["arm"] == a, ["time", "event"]] for a in arms]
    for label, part in zip(arms, parts, strict=True):
        if part.empty:
            raise InputError(f"arm {label!r} has no patients", column="arm",
                             advice=f"arms in the data: {sorted(map(str, ipd['arm'].unique()))}")
    names = arm_slugs(arms)
    notes = []
    endpoint = outcome if outcome in TIME_TO_EVENT else "PFS"
    if endpoint != outcome:
        notes.append(f"outcome {outcome!r} is not a time-to-event endpoint of the registry; "
                     "printed as PFS")

    printed = [_median_text(part, median_ci) for part in parts]
    records: dict[str, dict[str, Any]] = {
        name: {"n": int(len(part)), "median": text}
        for name, part, (text, _) in zip(names, parts, printed, strict=True)}
    if any(not math.isfinite(median) for _, median in printed):
        last = min(float(part["time"].max()) for part in parts)
        t = landmark_time(last)
        for name, part in zip(names, parts, strict=True):
            rate = 100.0 * float(km_on_grid(part, [t])[0])
            records[name]["landmarks"] = [{"time": int(t) if t.is_integer() else t,
                                           "percent": f"{rate:.{landmark_decimals}f}",
                                           "method": "km"}]

    cox = cox_hr(parts[0], parts[1])
    analysis: dict[str, Any] = {
        "version": VERSION,
        "label": "kmdata print protocol",
        "endpoint": endpoint,
        "source": SOURCE_KEY,
        "assessment": "derived from patient-level data by trialrecon.corpus.print_summary",
    }
    follow_up = median_follow_up(pd.concat(parts))
    if math.isfinite(follow_up) and follow_up > 0:
        analysis["follow_up"] = float(format_estimate(follow_up, decimals=1,
                                                             positive=True))
    else:
        notes.append("median follow-up (reverse Kaplan-Meier) not estimable; not printed")
    longest = max(float(part["time"].max()) for part in parts)
    if follow_up_max and longest > 0:
        analysis["follow_up_max"] = math.ceil(round(10.0 * longest, 6)) / 10.0
    analysis["arms"] = records
    analysis["hazard_ratio"] = {
        "printed": format_estimate(cox.hr, cox.lower, cox.upper, decimals=2, positive=True),
        "level": 95, "stratified": False}
    analysis["p_value"] = format_p(cox.p)
    if notes:
        analysis["notes"] = "; ".join(notes) + "."

    return {
        "trial": trial_slug(dataset),
        "name": f"{dataset} (kmdata)",
        "company": "not recorded (kmdata corpus)",
        "drug": names[0],
        "comparator": names[1],
        "indication": "not recorded (kmdata corpus)",
        "design": {"phase": "3",
                   "allocation": _allocation(records[names[0]]["n"], records[names[1]]["n"]),
                   "blinding": "not recorded"},
        "arms": list(names),
        "context": (f"Figures printed by the kmdata print protocol of trialrecon.corpus from "
                    f"the patient-level data of dataset {dataset} (arms {arms[0]!r} as "
                    f"experimental, {arms[1]!r} as control); allocation is the ratio of the arm "
                    "sizes."),
        "sources": {SOURCE_KEY: citation(dataset, journal, year, pmid)},
        "analyses": [analysis],
    }


def print_dataset(entry: Mapping[str, Any], directory: str | Path, *, median_ci: bool = True,
                  landmark_decimals: int = 1, follow_up_max: bool = True) -> dict[str, Any]:
    """Read the dataset of one ``index.csv`` entry and print it (see :func:`print_summary`)."""
    ipd = read_dataset(Path(directory) / str(entry["file"]))
    return print_summary(ipd, arms=dataset_arms(entry), outcome=str(entry["outcome"]),
                         dataset=str(entry["dataset"]), journal=entry.get("journal"),
                         year=entry.get("year"), pmid=entry.get("pmid"), median_ci=median_ci,
                         landmark_decimals=landmark_decimals, follow_up_max=follow_up_max)


def write_trial_yaml(record: Mapping[str, Any], directory: str | Path) -> Path:
    """Write a trial record as ``<directory>/<trial>.yaml`` and return the path.

    Raises
    ------
    InputError
        If the record's ``trial`` id is not a valid slug (the file stem must equal it).
    """
    slug = str(record.get("trial", ""))
    if not _SLUG.match(slug):
        raise InputError(f"trial id {slug!r} is not a valid id", column="trial",
                         advice="lowercase letters, digits and '-' (see trial_slug)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{slug}.yaml"
    path.write_text(yaml.safe_dump(dict(record), sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path


# --------------------------------------------------------------------------- digitising


def stable_seed(*parts: object) -> int:
    """A seed from the text of ``parts`` (CRC-32), the same in every process and session.

    >>> stable_seed("ACT1_2A", "amrubicin")
    3662207206
    """
    return zlib.crc32("|".join(str(p) for p in parts).encode("utf-8"))


def at_risk_step(last_time: float, max_rows: int = AT_RISK_MAX_ROWS) -> float:
    """Step (months) of the printed at-risk table of an arm followed up to ``last_time``.

    The first of :data:`AT_RISK_STEPS` at which the table ``0, step, 2 step, ...`` up to
    ``last_time`` has at most ``max_rows`` rows; beyond 24 months (follow-up past
    ``24 (max_rows - 1)`` months) the smallest multiple of 24 months that does.

    >>> at_risk_step(8.5), at_risk_step(9.0), at_risk_step(30.0), at_risk_step(400.0)
    (1.0, 1.0, 6.0, 48.0)
    """
    if not last_time >= 0:  # also refuses NaN
        raise InputError(f"last time {last_time!r} is not a non-negative number",
                         column="time")
    for step in AT_RISK_STEPS:
        if math.floor(last_time / step) + 1 <= max_rows:
            return float(step)
    top = AT_RISK_STEPS[-1]
    return float(top * math.ceil(last_time / (top * (max_rows - 1))))


def at_risk_rows(ipd: pd.DataFrame, step: float | None = None) -> pd.DataFrame:
    """The true numbers at risk of one arm at round times, as printed under a figure.

    Parameters
    ----------
    ipd
        Patient data of one arm: ``time`` (months) and ``event``.
    step
        Months between rows; by default :func:`at_risk_step` of the arm's last time.

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (months: 0, step, 2 step, ... up to the arm's last time) and
        ``n_at_risk`` (patients with ``time >= t``; :func:`trialrecon.validation.at_risk_table`),
        the format :func:`trialrecon.reconstruct.reconstruct_ipd` reads.
    """
    from .validation import at_risk_table

    last = float(ipd["time"].max())
    step = at_risk_step(last) if step is None else float(step)
    times = step * np.arange(math.floor(last / step) + 1)
    return at_risk_table(ipd, times)


def step_path(ipd: pd.DataFrame) -> pd.DataFrame:
    """The vertices of an arm's Kaplan-Meier curve as drawn: a path of runs and drops.

    Parameters
    ----------
    ipd
        Patient data of one arm: ``time`` (months) and ``event``.

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (months) and ``survival`` (0-1): (0, 1), then for every event time the
        top of the drop (at the previous level) and its foot (the Kaplan-Meier level after it),
        then the end of the flat tail at the last observed time when follow-up goes on after the
        last event. Built from the exact corners of :func:`trialrecon.validation.km_steps`.
    """
    from .validation import km_steps

    corners = km_steps(ipd)
    t, s = corners["time"].to_numpy(float), corners["survival"].to_numpy(float)
    # Between consecutive corners: the top of the drop at the new time, then its foot.
    times = np.r_[t[0], np.repeat(t[1:], 2)]
    levels = np.r_[s[0], np.column_stack((s[:-1], s[1:])).ravel()]
    keep = np.r_[True, (np.diff(times) != 0) | (np.diff(levels) != 0)]  # zero-length legs
    return pd.DataFrame({"time": times[keep], "survival": levels[keep]})


def _drops(ipd: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Event times, the level before and after each drop, the last time and the final level
    of an arm's Kaplan-Meier curve."""
    from .validation import km_steps

    corners = km_steps(ipd)
    t, s = corners["time"].to_numpy(float), corners["survival"].to_numpy(float)
    drop = np.flatnonzero(np.diff(s) < 0) + 1
    return t[drop], s[drop - 1], s[drop], float(t[-1]), float(s[-1])


def _every_kth(count: int, keep: int) -> np.ndarray:
    """Indices of ``keep`` of ``count`` items evenly spaced in index, the last included."""
    if count <= keep:
        return np.arange(count)
    return np.unique(np.round(np.linspace(count - 1, 0, keep)).astype(int))


def _corner_clicks(ipd: pd.DataFrame, convention: str, clicks: int, tail: bool
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free clicks of the ``feet``, ``tops`` and ``corners`` conventions: the origin, a
    corner of every k-th drop (k as small as ``clicks`` allows, evenly in step index), and the
    end of the flat tail when clicked."""
    times, before, after, last, final = _drops(ipd)
    per_drop = 2 if convention == "corners" else 1
    pick = _every_kth(len(times), max((clicks - 2) // per_drop, 1))
    t, b, a = times[pick], before[pick], after[pick]
    if convention == "feet":
        ct, cs = t, a
    elif convention == "tops":
        ct, cs = t, b
    else:
        ct, cs = np.repeat(t, 2), np.column_stack((b, a)).ravel()
    ct, cs = np.r_[0.0, ct], np.r_[1.0, cs]
    if tail and (not times.size or last > times[-1]):
        ct, cs = np.r_[ct, last], np.r_[cs, final]
    return ct, cs


def _dense_points(ipd: pd.DataFrame, tail: bool) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free output of an automatic extractor: per pixel column of the plotting area
    (:data:`DENSE_PIXELS`) the curve's level at the column's centre, or the top and the foot
    of the drops within it, each at the column's centre and rounded to a pixel row."""
    times, before, after, last, final = _drops(ipd)
    end = last if tail or not times.size else float(times[-1])
    columns, rows = DENSE_PIXELS
    width = end / columns if end > 0 else 1.0
    left = np.arange(columns) * width
    centre = left + 0.5 * width
    levels_t, levels_s = np.r_[0.0, times], np.r_[1.0, after]

    def level(x: np.ndarray) -> np.ndarray:
        return levels_s[np.searchsorted(levels_t, x, side="right") - 1]

    top = level(left - 1e-12 * max(end, 1.0))
    top[0] = 1.0
    foot = level(left + width)
    if tail or not times.size:
        foot[-1] = final
    two = foot < top
    t = np.repeat(centre, np.where(two, 2, 1))
    s = np.column_stack((top, foot)).ravel()[np.column_stack((np.ones(columns, bool),
                                                              two)).ravel()]
    s = np.round(s * rows) / rows
    return np.r_[0.0, t], np.r_[1.0, s]


def digitise_curve(ipd: pd.DataFrame, *, jitter: float | None = None, clicks: int = CLICKS,
                   seed: int = 0, decimals: int | None = CLICK_DECIMALS,
                   convention: str = "path", tail: bool = True, shuffled: bool = False
                   ) -> pd.DataFrame:
    """An arm's Kaplan-Meier curve as a digitiser reads it (see the module doc).

    Parameters
    ----------
    ipd
        Patient data of one arm: ``time`` (months) and ``event`` (1/0).
    jitter
        ``None`` for the exact step corners (:func:`trialrecon.validation.km_steps`, not
        rounded; ``convention`` is then ignored). Otherwise the standard deviation of the
        click noise as a share of each axis' range: ``jitter`` times the arm's last time
        (months) in time, ``jitter`` in survival (0.003 is about a pixel and a half on a
        500-pixel axis).
    clicks
        Target number of clicks (origin included). ``path``: spread evenly along the length of
        the drawn step path in axis units and snapped to its nearest corner; ``feet``,
        ``tops``, ``corners``: a corner of every k-th drop; a path with fewer corners is
        clicked at all of them. Not used by ``dense``.
    seed
        Seed of the noise (:func:`stable_seed` of dataset and arm in the corpus protocol).
    decimals
        Decimals to which the clicks are read on both axes (``None``: not rounded).
    convention
        One of :data:`CONVENTIONS` (module doc).
    tail
        Whether the end of the flat tail (the last follow-up) is clicked.
    shuffled
        Return the clicks in a random order (seeded) instead of along the curve.

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (months) and ``survival`` (proportion), in clicking order (the order
        along the path unless ``shuffled``; noise may put neighbours out of time order or make
        the curve rise).
    """
    if jitter is None:
        exact = digitise_exact(ipd)
        if not tail and len(exact) > 2 and exact.survival.iloc[-1] == exact.survival.iloc[-2]:
            exact = exact.iloc[:-1].reset_index(drop=True)
        return exact
    if not jitter >= 0:
        raise InputError(f"jitter {jitter!r} is not a non-negative number", column="jitter")
    if clicks < 2:
        raise InputError(f"{clicks} click(s): a curve needs at least two", column="clicks")
    if convention not in CONVENTIONS:
        raise InputError(f"unknown digitising convention {convention!r}", column="convention",
                         advice=f"one of {', '.join(CONVENTIONS)}")
    span = float(ipd["time"].max()) or 1.0
    if convention == "path":
        path = step_path(ipd)
        t, s = path["time"].to_numpy(float), path["survival"].to_numpy(float)
        if not tail and len(t) > 2 and s[-1] == s[-2] and t[-1] > t[-2]:
            t, s = t[:-1], s[:-1]
        if len(t) > clicks:
            legs = np.abs(np.diff(t)) / span + np.abs(np.diff(s))
            along = np.r_[0.0, np.cumsum(legs)]
            targets = np.linspace(0.0, along[-1], clicks)
            # Nearest vertex along the path: the one of the two around each target that is
            # closer.
            right = np.clip(np.searchsorted(along, targets, side="left"), 1, len(t) - 1)
            nearer_left = targets - along[right - 1] <= along[right] - targets
            pick = np.unique(np.where(nearer_left, right - 1, right))
            t, s = t[pick], s[pick]
    elif convention == "dense":
        t, s = _dense_points(ipd, tail)
    else:
        t, s = _corner_clicks(ipd, convention, clicks, tail)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((len(t), 2))
    t = t + jitter * span * noise[:, 0]
    s = s + jitter * noise[:, 1]
    if decimals is not None:
        t, s = np.round(t, decimals), np.round(s, decimals)
    if shuffled:
        order = rng.permutation(len(t))
        t, s = t[order], s[order]
    return pd.DataFrame({"time": t, "survival": s})


def digitise_exact(ipd: pd.DataFrame) -> pd.DataFrame:
    """The exact step corners of an arm (:func:`trialrecon.validation.km_steps`): columns
    ``time`` (months) and ``survival`` (0-1), from (0, 1) to the last observed time."""
    from .validation import km_steps

    return km_steps(ipd)


def digitise_arm(ipd: pd.DataFrame, mode: str, *, seed: int = 0) -> pd.DataFrame:
    """:func:`digitise_curve` in one of the :data:`CURVE_MODES`.

    Raises
    ------
    InputError
        For an unknown mode.
    """
    if mode not in CURVE_MODES:
        raise InputError(f"unknown digitisation mode {mode!r}", column="mode",
                         advice=f"one of {', '.join(CURVE_MODES)}")
    how = CURVE_MODES[mode]
    return digitise_curve(ipd, jitter=how.jitter, clicks=how.clicks, seed=seed,
                          convention=how.convention if how.jitter is not None else "path",
                          tail=how.tail, shuffled=how.shuffled)


def censor_marks(ipd: pd.DataFrame, *, jitter: float = 0.0, seed: int = 0,
                 width: float = MARK_WIDTH, decimals: int | None = CLICK_DECIMALS
                 ) -> np.ndarray:
    """The censoring marks (+) of an arm's curve as a digitiser clicks them (module doc).

    Parameters
    ----------
    ipd
        Patient data of one arm: ``time`` (months) and ``event``.
    jitter
        Standard deviation of the time noise as a share of the arm's last time.
    seed
        Seed of the noise.
    width
        Marks closer than this share of the time axis print as one.
    decimals
        Decimals to which the clicks are read (``None``: not rounded).

    Returns
    -------
    numpy.ndarray
        Times of the visible marks, sorted.
    """
    times = np.sort(ipd.loc[ipd["event"] == 0, "time"].to_numpy(float))
    span = float(ipd["time"].max()) or 1.0
    keep, last = [], -math.inf
    for x in times:
        if x - last >= width * span:
            keep.append(x)
            last = x
    marks = np.asarray(keep)
    marks = marks + jitter * span * np.random.default_rng(seed).standard_normal(len(marks))
    if decimals is not None:
        marks = np.round(marks, decimals)
    return np.sort(marks)
