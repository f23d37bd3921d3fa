import numpy as np
import pandas as pd
import pytest
from trialrecon import InputError
from trialrecon.curves import (
    Curve,
    clean_at_risk,
    clean_curve,
    read_censor_marks,
    read_curve,
    smooth_flat_runs,
)


def frame(t, s):
    return pd.DataFrame({"time": t, "survival": s})


def test_noisy_digitisation_is_repaired_and_each_fix_reported():
    raw = frame([-0.05, 2.0, 1.0, 3.0, 3.0, 4.0, 5.0], [99.0, 80.0, 90.0, 70.0, 65.0, 66.0, 50.0])
    c = clean_curve(raw, scale="percent", source="arm.csv")
    assert c.time[0] == 0 and c.survival[0] == 1.0
    assert np.all(np.diff(c.time) >= 0) and np.all(np.diff(c.survival) <= 0)
    text = " | ".join(c.fixes)
    for expected in ("percent", "negative", "moved onto the nearest non-increasing curve",
                     "set to 1"):
        assert expected in text
    # The drop at time 3 was clicked at both ends: both are kept. Pool-adjacent-violators on
    # the rise (65, 66) gives their mean, 65.5 %.
    assert list(c.survival[c.time == 3.0]) == [pytest.approx(0.70), pytest.approx(0.655)]
    assert c.survival[c.time == 4.0][0] == pytest.approx(0.655)
    times, levels = c.feet()
    assert np.all(np.diff(times) > 0) and levels[times == 3.0][0] == pytest.approx(0.655)


def test_clicks_out_of_time_order_on_a_steep_drop_move_in_time_not_survival():
    # A drop from 1.0 to 0.6 at t = 5 clicked on the way down with time noise: sorted by time
    # alone the survival would rise by 0.1 (0.8 after 0.9), beyond the old 0.03 tolerance.
    raw = frame([0.0, 2.0, 5.02, 4.98, 5.01, 4.99, 8.0], [1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.6])
    c = clean_curve(raw, source="arm.csv")
    # Along the curve the clicks keep their order; their times pool (pool adjacent violators)
    # to the mean of (5.02, 4.98, 5.01, 4.99) = 5.0, moving at most 0.02.
    assert list(c.time) == [0.0, 2.0, 5.0, 5.0, 8.0]
    assert list(c.survival) == [1.0, 1.0, 0.9, 0.6, 0.6]
    moved = next(f for f in c.fixes if "moved" in f)
    assert moved.startswith("4 of 7 clicks moved") and "0.02 in time, 0.0000 in survival" in moved


def test_rise_within_ten_points_is_smoothed():
    c = clean_curve(frame([0, 1, 2, 3], [1.0, 0.6, 0.65, 0.5]))
    assert list(c.survival) == [1.0, pytest.approx(0.625), pytest.approx(0.625), 0.5]


def test_drop_at_time_zero_is_refused():
    with pytest.raises(InputError, match="drops to 0.400 at time 0") as info:
        clean_curve(frame([0.0, 0.0, 1.0], [1.0, 0.4, 0.3]), source="arm.csv")
    assert (info.value.row, info.value.column) == (3, "survival")
    with pytest.raises(InputError, match="every point is at the same time"):
        clean_curve(frame([0.0, 0.0, 0.0], [1.0, 0.95, 0.9]))


def test_first_drop_read_at_time_zero_is_moved_after_it():
    # Time noise put the foot of a first drop of 0.06 at -0.01: it goes to half of 0.4.
    c = clean_curve(frame([0.0, -0.01, 0.4, 1.0], [1.0, 0.94, 0.94, 0.9]))
    assert list(c.time) == [0.0, 0.2, 0.4, 1.0]
    assert list(c.survival) == [1.0, 0.94, 0.94, 0.9]
    assert any("moved to 0.2: a first drop read at or before time 0" in f for f in c.fixes)


def test_origin_read_with_noise_is_set_to_one():
    c = clean_curve(frame([0.0, 1.0, 2.0], [0.98, 0.9, 0.8]))
    assert c.survival[0] == 1.0 and "survival at time 0 set to 1 (was 0.98)" in c.fixes


def test_smoothing_averages_flat_runs_and_keeps_steep_drops():
    # Clicks at t = 0..5 (axis 5 long): a flat noisy run, a steep drop (0.5 within 1 month of
    # 5, slope 2.5 in axis units: kept), then flat again.
    c = Curve(np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
              np.array([1.0, 0.99, 0.98, 0.48, 0.47, 0.47]))
    s = smooth_flat_runs(c).survival
    # Point 1: neighbours 1.0 and 0.98 both on flat stretches: (0.5*1 + 0.99 + 0.5*0.98)/2.
    assert s[1] == pytest.approx(0.99)
    # Point 2: its left neighbour is flat, its right is across the drop: (0.5*0.99+0.98)/1.5.
    assert s[2] == pytest.approx((0.5 * 0.99 + 0.98) / 1.5)
    # Point 3: left across the drop, right flat: (0.48 + 0.5*0.47)/1.5; point 4 both flat.
    assert s[3] == pytest.approx((0.48 + 0.5 * 0.47) / 1.5)
    assert s[4] == pytest.approx((0.5 * 0.48 + 0.47 + 0.5 * 0.47) / 2)
    assert s[0] == 1.0 and s[5] == 0.47 and np.all(np.diff(s) <= 0)
    kept = smooth_flat_runs(c, where=np.array([True, True, False, False, True, True])).survival
    assert kept[2] == 0.98 and kept[3] == 0.48


def test_censoring_marks_are_read_sorted_and_checked(tmp_path):
    path = tmp_path / "marks.csv"
    path.write_text("time\n3.5\n1.25\n-0.01\n")
    assert list(read_censor_marks(path)) == [0.0, 1.25, 3.5]
    path.write_text("time\n3.5\n-2\n")
    with pytest.raises(InputError, match="below zero") as info:
        read_censor_marks(path)
    assert (info.value.row, info.value.column) == (3, "time")


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


@pytest.mark.parametrize("column, values", [
    ("survival", [True, True, False]),
    ("time", pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"])),
    ("time", pd.to_timedelta([0, 30, 60], unit="D")),
])
def test_booleans_dates_and_durations_are_not_numbers(column, values):
    curve = frame([0.0, 1.0, 2.0], [1.0, 0.9, 0.8])
    curve[column] = values
    with pytest.raises(InputError, match="not numbers") as info:
        clean_curve(curve, source="arm.csv")
    assert info.value.column == column


def test_scale_must_be_proportion_or_percent():
    with pytest.raises(InputError, match="'fraction' is neither"):
        clean_curve(frame([0, 1], [1.0, 0.5]), scale="fraction")


def test_a_folder_is_no_csv_file(tmp_path):
    with pytest.raises(InputError, match="not a regular file"):
        read_curve(tmp_path)
