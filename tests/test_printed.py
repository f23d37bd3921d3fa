import pytest
from trialrecon import printed
from trialrecon.printed import parse_p, parse_printed


def test_parses_value_interval_and_digits():
    p = parse_printed("0.30 (0.25-0.59)")
    assert (p.value, p.lower, p.upper) == (0.30, 0.25, 0.59)
    assert p.decimals == (2, 2, 2)
    # "0.30" carries two decimals, so true values from 0.295 to 0.305 print as it.
    assert p.bounds() == pytest.approx((0.295, 0.305))


def test_not_reached_and_open_bounds():
    assert not parse_printed("NR").reached
    p = parse_printed("21.4 (18.7-NE)")
    assert p.value == 21.4 and p.upper is None
    assert parse_printed("13.8 (9.2–18.5)").upper == 18.5  # en dash as printed in journals


@pytest.mark.parametrize("bad", ["about 0.4", "0.38 [0.25-0.59]", ""])
def test_unreadable_text_is_refused(bad):
    with pytest.raises(ValueError, match="cannot read"):
        parse_printed(bad)


def test_p_value_bound_and_rounding_range():
    bound = parse_p("<0.001")
    assert bound.bound and bound.two_sided() == (0.0, 0.001)
    exact = parse_p("0.005")
    assert exact.two_sided() == pytest.approx((0.0045, 0.0055))
    # A one-sided p of 0.012 is a two-sided p of 0.024 (+- the doubled rounding).
    assert parse_p("0.012", sided=1).two_sided() == pytest.approx((0.023, 0.025))


# --------------------------------------------------------------------------- hostile text

LONG = "1" * 20_000 + "x"


class _Tripwire:
    """Stands in for a compiled pattern (or the re module): any use of it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"a pattern was used ({name}) on a text beyond MAX_LENGTH")


@pytest.fixture
def patterns_forbidden(monkeypatch):
    """Every regex of trialrecon.printed replaced by a tripwire."""
    for name in ("_PRINTED", "_PVALUE", "re"):
        monkeypatch.setattr(printed, name, _Tripwire())


@pytest.mark.parametrize("parse", [parse_p, parse_printed])
def test_long_text_is_refused_at_once_and_quoted_briefly(patterns_forbidden, parse):
    # "At once": the length bound refuses the text before any regex sees it, so no pattern,
    # however it scales, can spend time on it.
    with pytest.raises(ValueError, match="too long") as info:
        parse(LONG)
    # The message names the value; it does not echo twenty thousand characters.
    assert len(str(info.value)) < 200 and "20001 characters" in str(info.value)
    # The tripwires are live: a text within the bound does reach the patterns.
    with pytest.raises(AssertionError, match="a pattern was used"):
        parse("1" * printed.MAX_LENGTH)


#: Long enough that a pattern quadratic in the length of the text (the former ones took
#: seconds on 20 000 characters) runs for hours, while the linear ones take a fraction of a
#: second even on a slow machine.
HUGE = 1_000_000


@pytest.mark.parametrize("parse", [parse_p, parse_printed])
@pytest.mark.parametrize("text", ["1" * HUGE + "x", " " * HUGE + "1 x", "1" + " " * HUGE + "x",
                                  "<" + " " * HUGE + "1x", "1 (1" + " " * HUGE + "-"])
def test_patterns_are_linear_even_without_the_length_bound(monkeypatch, hang_guard, parse,
                                                           text):
    # With the bound lifted, the regexes alone must still fail. The guard is a hang
    # detector, not a timing: its 20 s are over a hundred times what the linear patterns
    # need here, and a small fraction of what a quadratic one would.
    monkeypatch.setattr(printed, "MAX_LENGTH", 10**9, raising=False)
    with hang_guard(20), pytest.raises(ValueError, match="cannot read") as info:
        parse(text)
    assert len(str(info.value)) < 250


def test_quote_cuts_long_values():
    assert printed.quote("0.71") == "'0.71'"
    cut = printed.quote("9" * 5000)
    assert cut.startswith("'" + "9" * printed.QUOTE_LENGTH + "'") and "5000 characters" in cut
    assert "too long" in printed.quote(10**5000)  # beyond int -> str conversion


@pytest.mark.parametrize("bad", ["9" * 16, "0." + "0" * 15 + "1", "1.0 (0.5-" + "2" * 20 + ")"])
def test_numbers_no_paper_prints_are_refused(bad):
    with pytest.raises(ValueError, match="more digits than a printed figure carries"):
        parse_printed(bad)
    assert parse_printed("9" * 15).value == float("9" * 15)


@pytest.mark.parametrize(("text", "value", "bound"),
                         [(" p = 0.05 ", 0.05, False), ("<.001", 0.001, True),
                          ("≤ 0.05", 0.05, True), ("P<0.0001", 0.0001, True),
                          ("1e-5", 1e-5, False), ("=0.0002", 0.0002, False)])
def test_p_value_forms_still_read(text, value, bound):
    p = parse_p(text)
    assert (p.value, p.bound) == (value, bound)


@pytest.mark.parametrize("bad", ["0.05.", "5.", "", "< <0.1", "1e400", "0x10"])
def test_p_value_garbage_is_refused(bad):
    with pytest.raises(ValueError):
        parse_p(bad)


@pytest.mark.parametrize(("text", "low", "high"), [
    ("0.000", 0.0, 0.0005),   # printed as zero: below half its last digit, not exactly 0
    ("0", 0.0, 0.5),
    ("2e-5", 1.5e-5, 2.5e-5),  # one significant digit in powers of ten
    ("1.2E-3", 0.00115, 0.00125),
])
def test_exact_prints_cover_half_a_unit_of_their_last_digit(text, low, high):
    assert parse_p(text).two_sided() == pytest.approx((low, high))


def test_a_p_value_too_small_for_floating_point_is_refused():
    with pytest.raises(ValueError, match="too small") as info:
        parse_p("1e-99999")
    assert "<1e-300" in str(info.value)
    assert parse_p("0e-5").two_sided()[0] == 0.0  # a printed zero is no underflow


@pytest.mark.parametrize(("value", "decimals", "half"), [
    ("44.0", 1, 0.05),      # text keeps a trailing zero
    ("18.10", 2, 0.005),
    (44.0, 0, 0.5),         # a float cannot: its shortest form is 44
    (18.1, 1, 0.05),
    (12, 0, 0.5),
    ("1e-07", 7, 5e-8),     # e-notation shifts the last digit
    ("2.5e3", -2, 50.0),
    (True, None, 0.0),      # no number: nothing printed, no tolerance
    ("NR", None, 0.0),
])
def test_printed_decimals_and_their_half_unit(value, decimals, half):
    assert printed.printed_decimals(value) == decimals
    assert printed.half_unit(decimals) == pytest.approx(half)
