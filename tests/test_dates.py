"""Printed dates and the longest follow-up a trial's calendar allows (trialrecon.dates)."""

from datetime import date

import pytest
from trialrecon.dates import PrintedDate, follow_up_bound, parse_date, span


def test_parse_date_keeps_the_printed_precision():
    assert parse_date("2017-09") == PrintedDate(2017, 9)
    assert parse_date("2020-03-30") == PrintedDate(2020, 3, 30)
    assert parse_date(date(2020, 3, 30)) == PrintedDate(2020, 3, 30)  # YAML's reading
    assert str(parse_date("2017-09")) == "2017-09"
    assert str(parse_date("2020-03-30")) == "2020-03-30"


@pytest.mark.parametrize("text", ["2017", "09-2017", "2017-13", "2017-02-30", "Sept 2017", ""])
def test_parse_date_refuses_what_is_no_date(text):
    with pytest.raises(ValueError, match="YYYY-MM|does not exist|not 1-12"):
        parse_date(text)


def test_a_month_means_any_of_its_days():
    september = parse_date("2017-09")
    assert (september.earliest, september.latest) == (date(2017, 9, 1), date(2017, 9, 30))
    leap = parse_date("2020-02")
    assert leap.latest == date(2020, 2, 29)
    day = parse_date("2020-03-30")
    assert day.earliest == day.latest == date(2020, 3, 30)


def test_span_by_hand():
    # 1 Sep 2017 to 30 Mar 2020, both days counted: 365 + 365 (to 1 Sep 2019) + 182 (to
    # 1 Mar 2020, February 2020 has 29 days) + 29 (to 30 Mar) + 1 = 942 days;
    # 942 / (365.25 / 12) = 30.9487 months.
    assert span(parse_date("2017-09"), parse_date("2020-03-30")) == pytest.approx(942 / 30.4375)
    assert span(parse_date("2017-09"), parse_date("2020-03-30"), "weeks") == pytest.approx(
        942 / 7)
    # Month precision is read widest: all of March 2020 counts.
    assert span(parse_date("2017-09"), parse_date("2020-03")) == pytest.approx(943 / 30.4375)


def test_bound_is_the_tighter_of_calendar_and_printed_maximum():
    start, end, cutoff = parse_date("2017-09"), parse_date("2019-05"), parse_date("2020-03-30")
    calendar = follow_up_bound(enrolment_start=start, enrolment_end=end, data_cutoff=cutoff,
                               follow_up_max=None, follow_up=18.1)
    assert calendar.longest == pytest.approx(942 / 30.4375)
    assert "data cut-off (2020-03-30) minus the first randomisation (2017-09)" in calendar.reason
    # Enrolment from 1 Sep 2017 to 31 May 2019: 638 days.
    assert calendar.accrual_time == pytest.approx(638 / 30.4375)
    printed = follow_up_bound(enrolment_start=start, enrolment_end=end, data_cutoff=cutoff,
                              follow_up_max=28.0, follow_up=18.1)
    assert printed.longest == 28.0 and printed.reason == "the longest follow-up printed"
    assert printed.cutoff_time == pytest.approx(942 / 30.4375)
    assert follow_up_bound(enrolment_start=None, enrolment_end=None, data_cutoff=None,
                           follow_up_max=None) is None


def test_accrual_counts_only_where_the_cut_off_came_after_it():
    start, end = parse_date("2018-10"), parse_date("2023-06")
    # An interim analysis: no cut-off printed and a median follow-up (12.6) shorter than the
    # enrolment period (57 months): enrolment may have gone on after the cut-off.
    interim = follow_up_bound(enrolment_start=start, enrolment_end=end, data_cutoff=None,
                              follow_up_max=None, follow_up=12.6)
    assert interim is None
    # A median follow-up longer than the enrolment period: the cut-off came after it.
    late = follow_up_bound(enrolment_start=start, enrolment_end=end, data_cutoff=None,
                           follow_up_max=None, follow_up=60.0)
    assert late.longest == float("inf") and late.accrual_time == pytest.approx(
        (date(2023, 6, 30) - date(2018, 10, 1)).days / 30.4375 + 1 / 30.4375)
    # A cut-off before the last randomisation: accrual counts up to the cut-off only.
    cut = follow_up_bound(enrolment_start=start, enrolment_end=end,
                          data_cutoff=parse_date("2021-01-31"), follow_up_max=None)
    assert cut.accrual_time == pytest.approx(cut.cutoff_time)
