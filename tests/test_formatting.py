import math

import numpy as np
import pandas as pd
import pytest
from trialrecon import formatting as fmt
from trialrecon import registry, summary


@pytest.mark.parametrize(("p", "shown"), [
    (0.0342, "0.034"), (0.5, "0.50"), (0.0999, "0.10"), (0.00012, "0.00012"),
    (1.0, "1.0"), (3.14e-7, "3.1 × 10⁻⁷"), (0.0, "<1 × 10⁻³⁰⁰"), (math.nan, ""),
])
def test_p_values_keep_two_significant_digits(p, shown):
    assert fmt.p_value(p) == shown


def test_not_reached_not_estimable_and_negative_zero():
    assert fmt.number(math.inf) == "NR"
    assert fmt.estimate(math.nan) == "not estimable"
    assert fmt.number(-1e-12, 2) == "0.00" and fmt.number(-0.004, 2, signed=True) == "+0.00"
    assert fmt.estimate(math.inf, 8.1, math.nan, 1) == "NR (8.1 to NR)"
    assert fmt.count(3.0) == "3"


def test_table_shows_labels_without_index_and_keeps_numbers():
    data = pd.DataFrame({"name": ["a<b", "c"], "hr": [0.5, np.nan], "n": [10.0, 3.0]},
                        index=[7, 9])
    table = fmt.Table(data, {"name": fmt.Column("Arm"), "hr": fmt.Column("HR", "estimate"),
                             "n": fmt.Column("Patients", "count")})
    html = table._repr_html_()
    assert '<th style="text-align: left">Arm</th>' in html and "a&lt;b" in html
    assert "not estimable" in html
    assert ">7<" not in html and ">9<" not in html  # no index
    assert table.tidy()["Patients"].tolist() == [10.0, 3.0]  # numbers, not text
    long = fmt.Table(pd.concat([data] * 30), table.columns, fold=20)
    folded = long._repr_html_()
    assert folded.startswith("<details") and folded.count("<tr>") == 61  # all rows kept


def test_unknown_columns_and_kinds_are_refused():
    with pytest.raises(KeyError):
        fmt.Table(pd.DataFrame({"a": [1]}), {"b": fmt.Column("B")})
    with pytest.raises(ValueError):
        fmt.Column("B", "bold")


def test_derived_text_comes_from_the_numbers_of_each_check():
    checks = summary.check_table(registry.analyses("clarinet"))
    for r in checks.itertuples():
        text = fmt.derived(r)
        assert text and "nan" not in text and "inf" not in text
        if r.kind == "p" and np.isfinite(r.value):
            assert text.startswith(fmt.p_value(r.value))
        if r.kind == "events" and np.isfinite(r.low):
            assert f"rounding: {r.low:.0f} to " in text
