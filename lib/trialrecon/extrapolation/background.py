"""General-population mortality: life tables, and extrapolations that never fall below them.

A model fitted to a trial's follow-up can, extrapolated over a lifetime, give a hazard below
that of people of the patients' age and sex in the general population: patients with the
disease outliving their healthy peers. NICE DSU TSD 14 (Latimer 2011) and TSD 21 (Rutherford
et al. 2020) ask that the extrapolated hazard be no less than the background hazard:
``h(t) = max(h_model(t), h_pop(age + t))``, and ``S(t) = exp(-integral_0^t h)``.

A life table here is the hazard of death per person-year at each single year of age, by sex
(constant within the year of age, and beyond the last age held at its value). One ships with
the package (:data:`SHIPPED`); others are read from a CSV with columns ``age``, ``sex``
(``male``/``female``) and either ``hazard_per_year`` or ``qx`` (the probability of dying
within the year of age, converted by ``h = -log(1 - qx)``).

A cohort of both sexes is followed as its two parts (Ederer, Axtell and Cutler 1961's
expected survival): ``S_pop(t) = p S_male(t) + (1 - p) S_female(t)`` for a share ``p`` of
men, and ``h_pop = -d log S_pop / dt``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

#: The life tables that ship with trialrecon, by name.
SHIPPED = {"us-2014": "United States 2014 (NCHS life tables, via R survival's survexp.us)"}

#: Length of one year in each time unit the data may be in.
YEAR = {"days": 365.25, "weeks": 365.25 / 7.0, "months": 12.0, "years": 1.0}


@dataclass(frozen=True)
class LifeTable:
    """Hazard of death per person-year at ages ``0, 1, ...`` (years), for men and women."""

    name: str
    source: str
    ages: np.ndarray
    male: np.ndarray
    female: np.ndarray

    def cumulative(self, sex: str, start_age: float, years: np.ndarray) -> np.ndarray:
        """Cumulative hazard from ``start_age`` over the next ``years`` (piecewise
        constant by year of age)."""
        rates = self.male if sex == "male" else self.female
        edges = np.r_[self.ages.astype(float), math.inf]
        # cumulative hazard from age 0 to each age edge
        at_edges = np.r_[0.0, np.cumsum(rates * np.diff(np.r_[self.ages, self.ages[-1] + 1]))]

        def from_zero(age: np.ndarray) -> np.ndarray:
            i = np.clip(np.searchsorted(edges, age, side="right") - 1, 0, len(rates) - 1)
            return at_edges[i] + rates[i] * (age - self.ages[i])

        return from_zero(start_age + np.asarray(years, dtype=float)) - from_zero(
            np.array(start_age, dtype=float))


def _parse(frame: pd.DataFrame, name: str, source: str, file: str) -> LifeTable:
    for col in ("age", "sex"):
        if col not in frame.columns:
            raise InputError(f"a life table needs a column '{col}'", file=file, column=col,
                             advice="columns age, sex and hazard_per_year or qx")
    if "hazard_per_year" in frame.columns:
        value_col = "hazard_per_year"
    elif "qx" in frame.columns:
        value_col = "qx"
    else:
        raise InputError("a life table needs a column 'hazard_per_year' or 'qx'", file=file,
                         column="hazard_per_year", advice="give the hazard of death per "
                         "person-year, or the probability of dying within the year of age")
    ages = pd.to_numeric(frame["age"], errors="coerce")
    values = pd.to_numeric(frame[value_col], errors="coerce")
    sexes = frame["sex"].astype(str).str.strip().str.lower()
    for i in range(len(frame)):
        row = i + 2  # the header is row 1
        if not (math.isfinite(ages.iloc[i]) and ages.iloc[i] >= 0
                and float(ages.iloc[i]).is_integer()):
            raise InputError(f"age '{frame['age'].iloc[i]}' is not a whole number of years",
                             file=file, row=row, column="age")
        if sexes.iloc[i] not in ("male", "female"):
            raise InputError(f"sex '{frame['sex'].iloc[i]}' is not male or female", file=file,
                             row=row, column="sex")
        v = values.iloc[i]
        upper = 1.0 if value_col == "qx" else math.inf
        if not (math.isfinite(v) and 0 <= v and (v < upper or (value_col == "qx" and v == 1))):
            raise InputError(f"{value_col} '{frame[value_col].iloc[i]}' is not "
                             + ("a probability" if value_col == "qx" else "a hazard >= 0"),
                             file=file, row=row, column=value_col)
    hazard = (-np.log1p(-np.minimum(values.to_numpy(float), 1 - 1e-12))
              if value_col == "qx" else values.to_numpy(float))
    out = {}
    for sex in ("male", "female"):
        mine = (sexes == sex).to_numpy()
        a = ages.to_numpy(float)[mine].astype(int)
        if not len(a):
            raise InputError(f"the life table has no rows for sex '{sex}'", file=file,
                             column="sex", advice="give both sexes")
        if len(set(a)) != len(a) or a.min() != 0 or a.max() - a.min() + 1 != len(a):
            raise InputError(f"the ages of sex '{sex}' are not each year from 0, once",
                             file=file, column="age", advice="give single years of age "
                             "0, 1, 2, ... without gaps")
        order = np.argsort(a)
        out[sex] = (a[order], hazard[mine][order])
    if not np.array_equal(out["male"][0], out["female"][0]):
        raise InputError("men and women have different ages in the life table", file=file,
                         column="age", advice="give the same ages for both sexes")
    return LifeTable(name, source, out["male"][0].astype(float), out["male"][1],
                     out["female"][1])


def life_table(name: str = "us-2014") -> LifeTable:
    """A life table that ships with trialrecon (:data:`SHIPPED`)."""
    if name not in SHIPPED:
        raise InputError(f"no life table '{name}' ships with trialrecon (there is "
                         f"{', '.join(SHIPPED)})", advice="read your own with read_life_table")
    text = resources.files("trialrecon").joinpath(f"data/lifetables/{name}.csv")
    with resources.as_file(text) as path:
        frame = pd.read_csv(path, comment="#")
    return _parse(frame, name, SHIPPED[name], f"{name}.csv")


def read_life_table(path: str | Path, source: str | None = None) -> LifeTable:
    """A life table from a CSV (columns ``age``, ``sex``, ``hazard_per_year`` or ``qx``)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, comment="#")
    except FileNotFoundError:
        raise InputError("no such file", file=path, advice="give the path of a life table "
                         "CSV") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV ({str(exc).splitlines()[0]})", file=path,
                         advice="save the life table as a comma-separated file") from None
    return _parse(frame, path.stem, source or str(path), str(path))


@dataclass(frozen=True)
class Population:
    """The general population the patients are compared with: a life table, their age at
    the start (years) and the share of men (0-1); ``time_unit`` is the data's."""

    table: LifeTable
    age: float
    male_share: float
    time_unit: str = "months"

    def __post_init__(self):
        if not 0 <= self.age <= 110:
            raise InputError(f"age {self.age} is not between 0 and 110 years", column="age")
        if not 0 <= self.male_share <= 1:
            raise InputError(f"share of men {self.male_share} is not between 0 and 1",
                             column="male_share")
        if self.time_unit not in YEAR:
            raise InputError(f"time unit '{self.time_unit}' is not one of "
                             f"{', '.join(YEAR)}", column="time_unit")

    def survival(self, times) -> np.ndarray:
        """Expected survival of people of this age and sex mix over ``times``."""
        years = np.asarray(times, dtype=float) / YEAR[self.time_unit]
        p = self.male_share
        return (p * np.exp(-self.table.cumulative("male", self.age, years))
                + (1 - p) * np.exp(-self.table.cumulative("female", self.age, years)))

    def cumulative_hazard(self, times) -> np.ndarray:
        return -np.log(self.survival(times))


def capped(survival: np.ndarray, times: np.ndarray, population: Population) -> np.ndarray:
    """Survival with its hazard held at no less than the population's: on the grid
    ``times`` (ascending, starting at 0), each interval's cumulative hazard is the larger of
    the model's (from ``survival``) and the population's, so the curve falls at least as
    fast as the population's from any time on. A finer grid is a better approximation of
    ``max(h_model, h_pop)`` within an interval."""
    t = np.asarray(times, dtype=float)
    s = np.asarray(survival, dtype=float)
    if t[0] != 0:
        raise ValueError("the grid must start at time 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        model = np.diff(-np.log(np.clip(s, 0.0, 1.0)))
    model[np.isnan(model)] = np.inf  # past a survival of 0 (inf - inf): no one is left
    pop = np.diff(population.cumulative_hazard(t))
    return np.exp(-np.r_[0.0, np.cumsum(np.maximum(model, pop))])
