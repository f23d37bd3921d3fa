import numpy as np
import pandas as pd
import pytest
from trialrecon import InputError
from trialrecon.curves import clean_at_risk, clean_curve, read_curve


def frame(t, s):
    return pd.DataFrame({"time": t, "survival": s})


def test_noisy_digitisation_is_repaired_and_each_fix_reported():
    raw = frame([-0.05, 2.0, 1.0, 3.0, 3.0, 4.0, 5.0], [99.0, 80.0, 90.0, 70.0, 65.0, 66.0, 50.0])
    c = clean_curve(raw, scale="percent", source="arm.csv")
    assert c.time[0] == 0 and c.survival[0] == 1.0
    assert np.all(np.diff(c.time) > 0)
    assert np.all(np.diff(c.survival) <= 0)
    text = " | ".join(c.fixes)
    for expected in ("percent", "sorted", "negative", "merged", "isotonic", "set to 1"):
        assert expected in text
    # Pool-adjacent-violators on (65, 66) gives their mean, 65.5 %.
    assert c.survival[c.time == 4.0][0] == pytest.approx(0.655)


def test_negative_time_beyond_noise_is_refused():
    with pytest.raises(InputError, match="far below zero") as info:
        clean_curve(frame([-1.0, 2.0, 5.0], [1.0, 0.8, 0.6]), source="arm.csv")
    assert (info.value.row, info.value.column) == (2, "time")


def test_origin_added_when_missing():
    c = clean_curve(frame([1.0, 2.0], [0.9, 0.8]))
    assert list(c.time) == [0.0, 1.0, 2.0] and c.survival[0] == 1.0
    assert "origin (0, 1) added" in c.fixes


def test_percent_is_never_guessed():
    with pytest.raises(InputError, match="--scale percent") as info:
        clean_curve(frame([0, 1, 2], [100, 90, 80]), source="arm.csv")
    assert info.value.row == 2 and info.value.column == "survival"


def test_real_rise_is_refused_with_row():
    with pytest.raises(InputError, match="non-increasing") as info:
        clean_curve(frame([0, 1, 2, 3], [1.0, 0.6, 0.9, 0.5]), source="arm.csv")
    assert info.value.file == "arm.csv" and info.value.row in (3, 4)


def test_non_numeric_cell_names_row_and_column():
    with pytest.raises(InputError, match="not a number") as info:
        clean_curve(frame([0, "x", 2], [1, 0.9, 0.8]), source="arm.csv")
    assert (info.value.row, info.value.column) == (3, "time")


def test_at_risk_table_must_not_increase():
    with pytest.raises(InputError, match="increases from 100 to 120") as info:
        clean_at_risk(pd.DataFrame({"time": [0, 3, 6], "n_at_risk": [150, 100, 120]}),
                      source="risk.csv")
    assert (info.value.row, info.value.column) == (4, "n_at_risk")


def test_at_risk_table_must_start_at_zero():
    with pytest.raises(InputError, match="not 0"):
        clean_at_risk(pd.DataFrame({"time": [3, 6], "n_at_risk": [100, 80]}))


def test_missing_file_and_missing_column(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_curve(tmp_path / "nope.csv")
    path = tmp_path / "bad.csv"
    path.write_text("t,s\n0,1\n")
    with pytest.raises(InputError, match="header line 'time,survival'"):
        read_curve(path)
