"""How a digitised curve was read (trialrecon.reconstruct.reading): hand-built cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from trialrecon import corpus
from trialrecon.curves import AtRisk, Curve, clean_at_risk, clean_curve
from trialrecon.errors import InputError
from trialrecon.reconstruct import reading, reconstruct, reconstruct_arms


def small_arm(n: int = 40, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t, c = rng.exponential(12.0, n), rng.uniform(10.0, 40.0, n)
    return pd.DataFrame({"time": np.round(np.minimum(t, c), 2), "event": (t <= c).astype(int)})


@pytest.mark.parametrize(("convention", "jitter", "kind"),
                         [("feet", 0.003, "feet"), ("path", 0.003, "path"),
                          ("tops", 0.0, "tops")])
def test_a_small_arm_read_each_way_is_told(convention, jitter, kind):
    # 40 patients: every step is several times the 0.3% click noise, so the flat runs of a
    # path reading show. Tops differ from feet only in the first gap (flat from the origin),
    # which noise hides: told here without noise (the benchmark shows how often with it).
    arm = small_arm().assign(time=lambda f: f.time + 1.0)  # no event next to the origin
    clicks = corpus.digitise_curve(arm, jitter=jitter, seed=2, convention=convention)
    how = reading.detect(clean_curve(clicks), clean_at_risk(corpus.at_risk_rows(arm)))
    assert how.kind == kind
    assert how.informative >= reading.MIN_INFORMATIVE


def test_feet_are_completed_with_the_top_of_each_drop():
    # 10 at risk, no censoring: each foot is one event's step (0.1) below the one before, so
    # each drop is one event at the clicked foot, the curve flat before it.
    curve = Curve(np.array([0.0, 2.0, 5.0]), np.array([1.0, 0.9, 0.8]))
    table = AtRisk(np.array([0.0]), np.array([10]))
    path = reading.complete(curve, table, "feet")
    assert path.time.tolist() == [0.0, 2.0, 2.0, 5.0, 5.0]
    assert path.survival.tolist() == pytest.approx([1.0, 1.0, 0.9, 0.9, 0.8])
    tops = reading.complete(Curve(np.array([0.0, 2.0, 5.0]), np.array([1.0, 1.0, 0.9])),
                            table, "tops")
    # The top at 2 is followed by the foot of its drop; the gap from the origin is flat.
    assert tops.time.tolist() == [0.0, 2.0, 2.0, 5.0]
    assert tops.survival.tolist() == pytest.approx([1.0, 1.0, 0.9, 0.9])


def test_an_unclicked_tail_goes_on_as_the_table_or_the_other_arm_allows():
    curve = Curve(np.array([0.0, 3.0, 7.0]), np.array([1.0, 0.8, 0.6]))
    table = AtRisk(np.array([0.0, 4.0]), np.array([10, 6]))
    # No row at 8 (the table's next): the end is taken halfway from the last drop to it.
    assert reading.tail_end(curve, table)[0] == pytest.approx(7.5)
    assert reading.tail_end(curve, table, hint=10.0)[0] == pytest.approx(10.0)
    assert reading.tail_end(curve, table, hint=7.0) is None  # every arm ends at 7
    # An other arm that ends earlier says nothing about this one: the table decides.
    assert reading.tail_end(curve, table, hint=6.0)[0] == pytest.approx(7.5)
    flat = Curve(np.array([0.0, 3.0, 7.0, 9.0]), np.array([1.0, 0.8, 0.6, 0.6]))
    assert reading.tail_end(flat, table) is None
    ended = AtRisk(np.array([0.0, 4.0, 8.0]), np.array([10, 6, 0]))
    assert reading.tail_end(curve, ended) is None  # the table says when follow-up ended


def test_patients_followed_past_an_unclicked_tail_and_it_is_said():
    arm = small_arm(200, seed=8)
    arm.loc[arm.time.idxmax(), "event"] = 0  # the curve ends on a flat tail, not at 0
    other = small_arm(200, seed=9).assign(time=lambda f: f.time * 1.5)  # followed longer
    curves = {"a": corpus.digitise_curve(arm, tail=False), "b": corpus.digitise_curve(other)}
    rows_a = corpus.at_risk_rows(arm)
    last_drop = float(curves["a"].time.max())
    start = max(last_drop, float(rows_a.time.iloc[-1]))
    # The other arm's table at the same times, printed no further than this arm's: its
    # longer follow-up says how long this arm's patients were followed.
    rows_b = corpus.at_risk_rows(other, step=float(rows_a.time.iloc[1]))
    out = reconstruct_arms(curves, {"a": rows_a, "b": rows_b[rows_b.time <= rows_a.time.max()]})
    assert out["a"].tail_assumed == pytest.approx(other.time.max())
    # Followed past the last drop (censored on the way at the last interval's rate), never
    # beyond the assumed end.
    assert last_drop < out["a"].ipd.time.max() <= out["a"].tail_assumed
    assert any("follow-up assumed" in f for f in out["a"].fixes)
    assert out["b"].tail_assumed is None
    # The other arm's table printing a row where this arm's prints none: nobody of this arm
    # was at risk there, so follow-up ends halfway to it.
    capped = reconstruct_arms(curves, {"a": rows_a, "b": rows_b})["a"]
    cap = float(rows_b.time[rows_b.time > rows_a.time.max()].min())
    assert capped.tail_assumed == pytest.approx(0.5 * (start + cap))
    # Alone, the arm is followed to halfway between its last drop and the table's next row.
    alone = reconstruct(curves["a"], rows_a)
    rows = rows_a.time.to_numpy()
    assert alone.tail_assumed == pytest.approx(0.5 * (start + 2 * rows[-1] - rows[-2]))


def test_conventions_click_the_corners_they_name():
    arm = small_arm(60, seed=3)
    from trialrecon.validation import km_steps

    steps = km_steps(arm)
    drops = steps.time.to_numpy()[1:][np.diff(steps.survival.to_numpy()) < 0]
    before = steps.survival.to_numpy()[:-1][np.diff(steps.survival.to_numpy()) < 0]
    after = steps.survival.to_numpy()[1:][np.diff(steps.survival.to_numpy()) < 0]
    feet = corpus.digitise_curve(arm, jitter=0.0, decimals=None, convention="feet")
    tops = corpus.digitise_curve(arm, jitter=0.0, decimals=None, convention="tops")
    inner = slice(1, -1)  # the origin and the end of the tail
    assert np.isin(feet.time.to_numpy()[inner], drops).all()
    assert feet.survival.to_numpy()[inner] == pytest.approx(
        after[np.searchsorted(drops, feet.time.to_numpy()[inner])])
    assert tops.survival.to_numpy()[inner] == pytest.approx(
        before[np.searchsorted(drops, tops.time.to_numpy()[inner])])
    notail = corpus.digitise_curve(arm, jitter=0.0, decimals=None, convention="feet",
                                   tail=False)
    assert notail.time.max() == drops[-1] < arm.time.max()
    shuffled = corpus.digitise_curve(arm, jitter=0.003, seed=4, convention="feet",
                                     shuffled=True)
    ordered = corpus.digitise_curve(arm, jitter=0.003, seed=4, convention="feet")
    pd.testing.assert_frame_equal(shuffled.sort_values(["time", "survival"]).reset_index(
        drop=True), ordered.sort_values(["time", "survival"]).reset_index(drop=True))
    dense = corpus.digitise_curve(arm, jitter=0.0, decimals=None, convention="dense")
    assert len(dense) > corpus.DENSE_PIXELS[0]  # every column, two points where a drop is


def _ten_deaths(convention: str) -> tuple[Curve, AtRisk]:
    # 20 patients, one death a month from month 1 to 10, the last 10 censored at 12: every
    # step (1/20 of the level before it) far above click noise.
    times = np.arange(1.0, 11.0)
    before, after = 1.0 - (times - 1) / 20, 1.0 - times / 20
    level = before if convention == "tops" else after
    curve = Curve(np.r_[0.0, times, 12.0], np.r_[1.0, level, after[-1]])
    return curve, AtRisk(np.array([0.0, 6.0, 12.0]), np.array([20, 15, 10]))


@pytest.mark.parametrize("convention", ["feet", "tops"])
def test_feet_and_tops_are_told_by_the_ends(convention):
    # Feet end on the flat tail (a top is always followed by its drop) and their first gap
    # falls by one death; tops start flat from the origin.
    curve, table = _ten_deaths(convention)
    how = reading.detect(curve, table)
    assert (how.kind, how.evidence) == (convention, 2)
    rebuilt = reconstruct(curve, table).ipd
    deaths = np.sort(rebuilt.time[rebuilt.event == 1].to_numpy())
    assert deaths.tolist() == pytest.approx(np.arange(1.0, 11.0).tolist())


def test_a_stated_convention_overrides_the_clicks():
    curve, table = _ten_deaths("tops")
    as_feet = reconstruct(curve, table, convention="feet")
    deaths = np.sort(as_feet.ipd.time[as_feet.ipd.event == 1].to_numpy())
    # Read at the feet, each drop falls a month late (the first at the second click).
    assert deaths[0] == pytest.approx(2.0)
    assert any("as stated" in f for f in as_feet.fixes)
    with pytest.raises(InputError, match="convention"):
        reconstruct(curve, table, convention="corners")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="Guyot"):
        reconstruct(curve, table, method="guyot", convention="feet")


def _said(kind: str, evidence: int) -> reading.Reading:
    return reading.Reading(kind, 5, 0.0, evidence=evidence)  # type: ignore[arg-type]


def test_the_arms_of_a_figure_share_the_reading_told_most_firmly():
    assert reading.shared([_said("tops", 1), _said("feet", 0)]) == "tops"
    assert reading.shared([_said("tops", 1), _said("path", 0)]) == "tops"
    assert reading.shared([_said("feet", 2), _said("tops", 1)]) == "feet"
    assert reading.shared([_said("feet", 2), _said("tops", 2)]) is None  # told apart firmly
    assert reading.shared([_said("feet", 2), _said("path", 2)]) is None  # path told firmly
    assert reading.shared([_said("path", 0), _said("path", 2)]) is None  # nothing to share


def test_a_figure_s_arms_share_the_reading_one_of_them_tells():
    # Arm a's first gap is flat over a step of 1/20: tops, firmly. Arm b has 1,000 patients:
    # its steps are below click noise and tell nothing, so it is read as arm a was.
    a_curve, a_table = _ten_deaths("tops")
    times = np.arange(1.0, 21.0)
    b_curve = Curve(np.r_[0.0, times, 24.0], np.r_[1.0, 1.0 - (times - 1) * 0.002, 0.96])
    b_table = AtRisk(np.array([0.0, 12.0]), np.array([1000, 970]))
    out = reconstruct_arms({"a": a_curve, "b": b_curve}, {"a": a_table, "b": b_table})
    assert reading.detect(b_curve, b_table).evidence == 0
    assert out["a"].reading == out["b"].reading == "tops"
    assert any("other arms" in f for f in out["b"].fixes)
    stated = reconstruct_arms({"a": a_curve, "b": b_curve}, {"a": a_table, "b": b_table},
                              convention="feet")
    assert stated["a"].reading == stated["b"].reading == "feet"
