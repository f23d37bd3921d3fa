"""Sizes beyond any trial: inputs larger than these are refused before any work is done.

The largest randomised trials enrol tens of thousands of patients per arm (cardiovascular
mega-trials about 100,000 in all); a figure is digitised with at most tens of thousands of
clicks. Ten million patients per arm and a million clicks are far beyond both, and within
them every command's time and memory grow about linearly with the input
(``benchmarks/bench_limits.py`` measures the largest accepted inputs).
"""

from __future__ import annotations

import math
import os
import stat
from numbers import Integral, Real
from os import PathLike

from .errors import InputError

#: Most patients in one arm (a number at risk, ``n_patients``, rows of patient data).
MAX_PATIENTS = 10_000_000
#: Most clicks of one digitised curve, and most censoring marks.
MAX_CLICKS = 1_000_000
#: Longest time a trial's figures or a model's horizon may reach, in years.
MAX_YEARS = 100
#: Longest time in patient data, in any unit (a million years in days is 3.7e8).
MAX_TIME = 1e9
#: Largest input file read (a CSV of MAX_PATIENTS patients takes about 300 MB).
MAX_INPUT_BYTES = 1 << 30


def input_file(path: str | PathLike[str]) -> None:
    """Refuse, before reading it, an input that is not a regular file or is larger than
    :data:`MAX_INPUT_BYTES` (``/dev/zero`` would be read until memory runs out).

    A name that does not exist passes: the reader says so in its own words.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", file=path) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError("is not a regular file (a folder, a device or a pipe)", file=path,
                         advice="give the path of a file on disk")
    if info.st_size > MAX_INPUT_BYTES:
        raise InputError(f"is {info.st_size:,} bytes, more than {MAX_INPUT_BYTES:,}",
                         file=path, advice="no trial's data come near this size; check the "
                         "file")


def whole_count(value: object, name: str, *, low: int = 0, high: int = MAX_PATIENTS,
                file: str | PathLike[str] | None = None) -> int:
    """``value`` as an ``int`` if it is a whole number in ``[low, high]``, else an InputError.

    Booleans, fractions (2.7), NaN and infinities are refused rather than rounded: a count
    that was typed wrongly must not silently become another count.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InputError(f"{name} must be a whole number, not {value!r}", file=file,
                         column=name)
    if not math.isfinite(float(value)) or float(value) != math.floor(float(value)):
        raise InputError(f"{name} must be a whole number, not {value!r}", file=file,
                         column=name)
    count = int(value) if isinstance(value, Integral) else int(float(value))
    if not low <= count <= high:
        raise InputError(f"{name} = {count:,} is outside {low:,} to {high:,}", file=file,
                         column=name,
                         advice=f"no trial has more than {MAX_PATIENTS:,} patients per arm"
                         if count > high else None)
    return count


def positive_time(value: object, name: str) -> float:
    """``value`` as a finite positive ``float`` (a landmark or an RMST horizon), else an
    InputError."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value <= 0:
        raise InputError(f"{name} must be a finite time above 0, not {value!r}", column=name)
    return float(value)
