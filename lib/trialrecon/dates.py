"""A trial's calendar as printed, and the longest follow-up it allows.

Papers print dates to the day ("data cut-off 30 March 2020") or to the month ("patients were
enrolled from September 2017 through May 2019"). A :class:`PrintedDate` keeps the precision
printed: "2017-09" is any day of September 2017, so every interval computed from printed
dates takes the widest reading (:meth:`PrintedDate.earliest`, :meth:`PrintedDate.latest`),
and a bound derived from them can only be loose, never wrong.

Nobody in a trial is followed longer than from the first randomisation to the data cut-off;
where the longest follow-up itself is printed ("median 24.8 months, range 0.1-61.2"), that
is tighter still (:func:`follow_up_bound`).
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date, datetime

#: Days in each analysis time unit (a month is a twelfth of a Julian year, as trials count).
DAYS_PER_UNIT = {"months": 365.25 / 12.0, "weeks": 7.0, "years": 365.25}

_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class PrintedDate:
    """A date as printed: to the day, or to the month (``day`` None)."""

    year: int
    month: int
    day: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"{self}: month {self.month} is not 1-12")
        # date() refuses an impossible day (2017-02-30) with its own message.
        date(self.year, self.month, self.day or 1)

    @property
    def earliest(self) -> date:
        """The first day the printed date can mean."""
        return date(self.year, self.month, self.day or 1)

    @property
    def latest(self) -> date:
        """The last day the printed date can mean."""
        last = calendar.monthrange(self.year, self.month)[1]
        return date(self.year, self.month, self.day or last)

    def __str__(self) -> str:
        month = f"{self.year:04d}-{self.month:02d}"
        return month if self.day is None else f"{month}-{self.day:02d}"


def parse_date(value: object) -> PrintedDate:
    """A :class:`PrintedDate` from ``"YYYY-MM"``, ``"YYYY-MM-DD"`` or a date (YAML reads an
    unquoted ``2020-03-30`` as one); anything else raises ValueError saying what to write."""
    if isinstance(value, PrintedDate):
        return value
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return PrintedDate(value.year, value.month, value.day)
    match = _DATE.match(str(value).strip())
    if not match:
        raise ValueError(f"date {str(value)[:40]!r} is not YYYY-MM-DD or YYYY-MM (a month, "
                         "when the source prints no day)")
    year, month, day = match.groups()
    try:
        return PrintedDate(int(year), int(month), None if day is None else int(day))
    except ValueError as exc:
        raise ValueError(f"date {str(value)!r} does not exist ({exc})") from None


def span(start: PrintedDate, end: PrintedDate, unit: str = "months") -> float:
    """The longest time from ``start`` to ``end`` that the printed dates allow, in ``unit``
    (from the first day ``start`` can mean to the last day ``end`` can mean, inclusive)."""
    days = (end.latest - start.earliest).days + 1
    return days / DAYS_PER_UNIT[unit]


@dataclass(frozen=True)
class FollowUpBound:
    """The longest follow-up a trial's print allows at one analysis (in its time unit).

    Attributes
    ----------
    longest
        Nobody was followed longer (the tighter of the two sources below); infinite where
        only the enrolment period is printed.
    reason
        Where it comes from, in words, for the page.
    cutoff_time
        Data cut-off minus the first randomisation (the longest follow-up the calendar
        allows), when both dates are printed; None otherwise.
    accrual_time
        Last minus first randomisation, when both are printed; None otherwise.
    """

    longest: float
    reason: str
    cutoff_time: float | None = None
    accrual_time: float | None = None


def follow_up_bound(*, enrolment_start: PrintedDate | None, enrolment_end: PrintedDate | None,
                    data_cutoff: PrintedDate | None, follow_up_max: float | None,
                    follow_up: float | None = None, unit: str = "months"
                    ) -> FollowUpBound | None:
    """The longest follow-up the printed calendar allows, or None where nothing is printed.

    From the first randomisation to the data cut-off (both printed), and the printed maximum
    follow-up; the smaller when both are printed. Dates printed to the month are read
    widest (:func:`span`), so the bound errs long, never short.

    The accrual period counts up to the data cut-off. Without a printed cut-off it counts
    only where the printed median follow-up ``follow_up`` is at least as long (the cut-off
    then came after the last randomisation); an interim analysis may have been cut while
    enrolment went on.
    """
    cutoff_time = (span(enrolment_start, data_cutoff, unit)
                   if enrolment_start is not None and data_cutoff is not None else None)
    accrual_time = None
    if enrolment_start is not None and enrolment_end is not None:
        accrual_time = span(enrolment_start, enrolment_end, unit)
        if cutoff_time is not None:
            # Enrolment may go on after an interim analysis' cut-off: only up to it counts.
            accrual_time = min(accrual_time, cutoff_time)
        elif follow_up is None or follow_up < accrual_time:
            accrual_time = None
    options: list[tuple[float, str]] = []
    if follow_up_max is not None:
        options.append((follow_up_max, "the longest follow-up printed"))
    if cutoff_time is not None:
        options.append((cutoff_time, f"the data cut-off ({data_cutoff}) minus the first "
                        f"randomisation ({enrolment_start})"))
    if not options:
        if accrual_time is None:
            return None
        return FollowUpBound(math.inf, "", None, accrual_time)
    longest, reason = min(options, key=lambda o: o[0])
    return FollowUpBound(longest, reason, cutoff_time, accrual_time)

