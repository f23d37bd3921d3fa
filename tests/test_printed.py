import pytest
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
