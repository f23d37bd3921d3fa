import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from statsmodels.duration.hazard_regression import PHReg
from trialrecon import InputError, corpus, paths, registry

warnings.simplefilter("ignore")

CORPUS = paths.ROOT.parent / "shared" / "corpus" / "kmdata"
needs_corpus = pytest.mark.skipif(not (CORPUS / "index.csv").is_file(),
                                  reason=f"kmdata corpus not found at {CORPUS}")


def frame(arm: str, times, events) -> pd.DataFrame:
    return pd.DataFrame({"time": np.asarray(times, float), "event": np.asarray(events, int),
                         "arm": arm})


def hand_km(times, events) -> list[tuple[float, float]]:
    """Product-limit estimate by hand: (event time, survival just after it)."""
    pairs = sorted(zip(times, events, strict=True))
    s, out = 1.0, []
    for t in sorted({t for t, e in pairs if e}):
        at_risk = sum(1 for u, _ in pairs if u >= t)
        deaths = sum(1 for u, e in pairs if u == t and e)
        s *= 1 - deaths / at_risk
        out.append((t, s))
    return out


def hand_median(times, events) -> float:
    return next((t for t, s in hand_km(times, events) if s <= 0.5), math.inf)


def efron_cox(exp_: pd.DataFrame, ctl: pd.DataFrame) -> tuple[float, float, float, float]:
    """HR, 95% CI and Wald p by statsmodels (Efron ties): independent of lifelines."""
    both = pd.concat([exp_.assign(x=1.0), ctl.assign(x=0.0)])
    res = PHReg(both.time.to_numpy(), both[["x"]].to_numpy(), status=both.event.to_numpy(),
                ties="efron").fit()
    b, se = float(res.params[0]), float(res.bse[0])
    return (math.exp(b), math.exp(b - 1.959964 * se), math.exp(b + 1.959964 * se),
            float(res.pvalues[0]))


# Ten patients, all progressing at months 1..10: KM falls by 0.1 a month, median 5.0.
# Ten controls at months 2, 4, ..., 20: median 10.0.
FAST = frame("drug_x", range(1, 11), [1] * 10)
SLOW = frame("best care", range(2, 21, 2), [1] * 10)
# Medians not reached: 1 event of 10 (survival 90%) and 2 of 10 (80% at month 6).
FEW_X = frame("drug_x", range(1, 11), [1] + [0] * 9)
FEW_Y = frame("control", [2, 3, 4, 5, 7, 8, 9, 11, 13, 14], [1, 1] + [0] * 8)


def test_medians_hr_and_p_as_printed_by_hand():
    ipd = pd.concat([FAST, SLOW])
    record = corpus.print_summary(ipd, arms=("drug_x", "best care"), outcome="OS",
                                  dataset="Demo_1A", median_ci=False)
    a = record["analyses"][0]
    assert record["trial"] == "demo-1a" and record["arms"] == ["drug-x", "best-care"]
    assert a["endpoint"] == "OS"
    assert a["arms"]["drug-x"] == {"n": 10, "median": "5.0"}
    assert a["arms"]["best-care"] == {"n": 10, "median": "10.0"}
    assert "events" not in a["arms"]["drug-x"] and "events_total" not in a
    hr, lo, hi, p = efron_cox(FAST, SLOW)
    assert a["hazard_ratio"] == {"printed": f"{hr:.2f} ({lo:.2f}-{hi:.2f})", "level": 95,
                                 "stratified": False}
    assert a["p_value"] == corpus.format_p(p)
    # Every patient had an event: nobody is censored, the reverse KM never falls.
    assert "follow_up" not in a and "follow-up" in a["notes"]


def test_median_ci_brackets_the_median():
    record = corpus.print_summary(pd.concat([FAST, SLOW]), arms=("drug_x", "best care"),
                                  outcome="PFS")
    text = record["analyses"][0]["arms"]["drug-x"]["median"]
    match = re.fullmatch(r"5\.0 \((\d+\.\d)-(\d+\.\d|NR)\)", text)
    assert match, text
    assert float(match[1]) <= 5.0


def test_not_reached_prints_one_landmark_for_both_arms_and_follow_up():
    ipd = pd.concat([FEW_X, FEW_Y])
    record = corpus.print_summary(ipd, arms=("drug_x", "control"), outcome="DFS",
                                  dataset="Few", landmark_decimals=1)
    arms = record["analyses"][0]["arms"]
    assert hand_median(FEW_X.time, FEW_X.event) == math.inf
    assert arms["drug-x"]["median"].startswith("NR")
    # Shorter arm ends at month 10: the largest landmark not beyond it is 6 months.
    assert arms["drug-x"]["landmarks"] == [{"time": 6, "percent": "90.0",
                                            "method": "km"}]
    assert arms["control"]["landmarks"] == [{"time": 6, "percent": "80.0",
                                             "method": "km"}]
    everyone = pd.concat([FEW_X, FEW_Y])
    follow_up = hand_median(everyone.time, 1 - everyone.event)
    assert record["analyses"][0]["follow_up"] == float(f"{follow_up:.1f}")
    # The longest time of either arm, rounded up to a tenth of a month.
    longest = float(everyone.time.max())
    assert record["analyses"][0]["follow_up_max"] == math.ceil(10 * longest - 1e-9) / 10
    assert record["analyses"][0]["follow_up_max"] >= longest
    assert "follow_up_max" not in corpus.print_summary(
        ipd, arms=("drug_x", "control"), outcome="DFS", follow_up_max=False)["analyses"][0]
    no_ci = corpus.print_summary(ipd, arms=("drug_x", "control"), outcome="DFS",
                                 median_ci=False, landmark_decimals=0)
    assert no_ci["analyses"][0]["arms"]["drug-x"]["median"] == "NR"
    assert no_ci["analyses"][0]["arms"]["control"]["landmarks"][0]["percent"] == "80"


def test_landmark_time_rule():
    assert corpus.landmark_time(10.0) == 6
    assert corpus.landmark_time(24.0) == 24
    assert corpus.landmark_time(200.0) == 120
    assert corpus.landmark_time(4.7) == 4


@pytest.mark.parametrize(("p", "printed"), [
    (0.00049, "<0.001"), (0.0342, "0.034"), (0.215, "0.21"), (0.001, "0.0010"),
    (0.5, "0.50"), (0.9996, "1.0"), (1.0, "1.0"),
])
def test_p_formatting(p, printed):
    assert corpus.format_p(p) == printed
    registry.PValue(printed=printed)  # readable by the registry


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan])
def test_p_outside_zero_one_is_refused(p):
    with pytest.raises(ValueError, match="not a probability"):
        corpus.format_p(p)


@pytest.mark.parametrize(("args", "kwargs", "printed"), [
    ((0.714, 0.583, 0.861), {"decimals": 2, "positive": True}, "0.71 (0.58-0.86)"),
    ((0.004, 0.0021, 0.0093), {"decimals": 2, "positive": True}, "0.004 (0.002-0.009)"),
    ((21.43, 18.66, math.inf), {"decimals": 1}, "21.4 (18.7-NR)"),
    ((math.inf, 30.24, math.inf), {"decimals": 1}, "NR (30.2-NR)"),
    ((8.44, 8.47, 12.7), {"decimals": 1}, "8.4 (8.4-12.7)"),       # lower clipped
    ((8.44, 7.6, 8.41), {"decimals": 1}, "8.4 (7.6-8.4)"),
    ((8.44,), {"decimals": 1}, "8.4"),
])
def test_estimate_formatting_keeps_validators_happy(args, kwargs, printed):
    assert corpus.format_estimate(*args, **kwargs) == printed


def test_yaml_round_trip_through_the_registry(tmp_path):
    record = corpus.print_summary(pd.concat([FEW_X, FEW_Y]), arms=("drug_x", "control"),
                                  outcome="OS", dataset="ROUND_trip(a)_2B", journal="JCO",
                                  year=2015, pmid=123)
    path = corpus.write_trial_yaml(record, tmp_path / "out")
    assert path.name == "round-trip-a-2b.yaml"
    trial = registry.load_trial(path)
    a = trial.analyses[0]
    printed = record["analyses"][0]
    assert a.id == "round-trip-a-2b/os/kmdata-print"
    assert a.hazard_ratio.printed.text == printed["hazard_ratio"]["printed"]
    assert a.p_value.printed == printed["p_value"]
    assert a.follow_up == printed["follow_up"]
    assert a.arm_names == ("drug-x", "control")
    for name in a.arm_names:
        assert a.arms[name].median.text == printed["arms"][name]["median"]
        assert a.arms[name].n == 10
        assert a.arms[name].landmarks[0].percent.text == \
            printed["arms"][name]["landmarks"][0]["percent"]
    assert a.citation == ("kmdata (Redd, Fell, Rahman 2022), dataset ROUND_trip(a)_2B, "
                          "reconstructed from JCO 2015, PMID 123")


def test_unknown_outcome_prints_as_pfs_with_a_note():
    record = corpus.print_summary(pd.concat([FAST, SLOW]), arms=("drug_x", "best care"),
                                  outcome="TTNT")
    a = record["analyses"][0]
    assert a["endpoint"] == "PFS" and "TTNT" in a["notes"]


def test_km_on_grid_is_a_right_continuous_step():
    ipd = frame("a", [1, 2, 2, 3], [1, 1, 0, 1])
    got = corpus.km_on_grid(ipd, [0, 1, 1.5, 2, 2.5, 3, 4])
    np.testing.assert_allclose(got, [1, 0.75, 0.75, 0.5, 0.5, 0, 0])
    rng = np.random.default_rng(1)
    ipd = frame("a", np.round(rng.exponential(10, 60), 1), rng.integers(0, 2, 60))
    grid = np.linspace(0, 40, 81)
    by_hand = hand_km(ipd.time.tolist(), ipd.event.tolist())
    expected = [next((s for t, s in reversed(by_hand) if t <= g), 1.0) for g in grid]
    np.testing.assert_allclose(corpus.km_on_grid(ipd, grid), expected)


def test_ids():
    assert corpus.trial_slug("AIO0207(a)_3C") == "aio0207-a-3c"
    assert corpus.trial_slug("ACT1_2A") == "act1-2a"
    assert corpus.arm_slugs(("5fu_bev", "no_tx")) == ("5fu-bev", "no-tx")
    assert len(set(corpus.arm_slugs(("l_t", "l-t")))) == 2
    with pytest.raises(InputError, match="trial id"):
        corpus.trial_slug("__")


def test_bad_inputs_raise_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        corpus.read_dataset(tmp_path / "missing.csv")
    (tmp_path / "cols.csv").write_text("time,status,arm\n1,1,a\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) \['event'\]"):
        corpus.read_dataset(tmp_path / "cols.csv")
    (tmp_path / "bad.csv").write_text("time,event,arm\n1,1,a\n2,2,a\n")
    with pytest.raises(InputError, match="row 3"):
        corpus.read_dataset(tmp_path / "bad.csv")
    with pytest.raises(InputError, match="not found"):
        corpus.corpus_index(tmp_path)
    (tmp_path / "index.csv").write_text("dataset,file,n,arms,outcome\nA,A.csv,2,a;b,OS\n")
    with pytest.raises(InputError, match="events"):
        corpus.corpus_index(tmp_path)
    with pytest.raises(InputError, match="no patients"):
        corpus.print_summary(FAST, arms=("drug_x", "nobody"), outcome="OS")


def test_read_dataset_types(tmp_path):
    (tmp_path / "ok.csv").write_text("time,event,arm\n1.5,1,a\n2,0,b\n")
    ipd = corpus.read_dataset(tmp_path / "ok.csv")
    assert list(ipd.columns) == ["time", "event", "arm"]
    assert ipd.time.dtype == float and ipd.event.tolist() == [1, 0]


@needs_corpus
@pytest.mark.parametrize("name", ["ACT1_2A", "ACTSCC_2A"])
def test_real_datasets_print_the_lifelines_cox_hr(name, tmp_path):
    index = corpus.corpus_index(CORPUS)
    entry = index.set_index("dataset").loc[name].to_dict() | {"dataset": name}
    record = corpus.print_dataset(entry, CORPUS)
    ipd = corpus.read_dataset(CORPUS / entry["file"])
    experimental, _ = corpus.dataset_arms(entry)
    data = ipd.assign(x=(ipd.arm == experimental).astype(float))[["time", "event", "x"]]
    row = CoxPHFitter().fit(data, "time", "event").summary.loc["x"]
    expected = (f"{row['exp(coef)']:.2f} ({row['exp(coef) lower 95%']:.2f}-"
                f"{row['exp(coef) upper 95%']:.2f})")
    assert record["analyses"][0]["hazard_ratio"]["printed"] == expected
    trial = registry.load_trial(corpus.write_trial_yaml(record, tmp_path))
    assert trial.analyses[0].hazard_ratio.printed.text == expected
    assert sum(arm.n for arm in trial.analyses[0].arms.values()) == entry["n"]


# --------------------------------------------------------------------------- curve road


def hand_km_at(times, events, t: float, *, before: bool = False) -> float:
    """Kaplan-Meier survival at ``t`` by hand (just before ``t`` with ``before``)."""
    steps = hand_km(times, events)
    return next((s for u, s in reversed(steps) if (u < t if before else u <= t)), 1.0)


# Twelve patients with tied events, censorings between and after them, follow-up to month 15.
TIED = frame("a", [1, 2, 2, 3, 4, 4, 4, 6, 7, 9, 12, 15], [1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0])


def big_arm(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t, c = rng.exponential(10.0, n), rng.uniform(5.0, 30.0, n)
    return frame("b", np.round(np.minimum(t, c), 2), (t <= c).astype(int))


def test_exact_mode_reproduces_the_km_step_levels():
    curve = corpus.digitise_arm(TIED, "exact")
    steps = hand_km(TIED.time, TIED.event)
    expected = [(0.0, 1.0)] + steps + [(15.0, steps[-1][1])]  # the flat tail to the last time
    assert len(curve) == len(expected)
    for (t, s), (u, v) in zip(expected, zip(curve.time, curve.survival, strict=True),
                              strict=True):
        assert u == t
        assert v == pytest.approx(s, rel=1e-12)
    # By hand: 11/12 after month 1, 11/12 * 9/11 = 0.75 after the two deaths at month 2.
    assert curve.survival.iloc[2] == pytest.approx(0.75, rel=1e-12)


def test_step_path_has_the_top_and_foot_of_every_drop():
    path = corpus.step_path(TIED)
    km = hand_km(TIED.time, TIED.event)
    assert len(path) == 1 + 2 * len(km) + 1  # origin, two corners per drop, end of the tail
    for t, s in zip(path.time, path.survival, strict=True):
        # Every vertex lies on the drawn curve: between the levels just before and at t.
        assert hand_km_at(TIED.time, TIED.event, t) - 1e-12 <= s
        assert s <= hand_km_at(TIED.time, TIED.event, t, before=True) + 1e-12
    assert (np.diff(path.time) >= 0).all() and (np.diff(path.survival) <= 0).all()


def test_noise_free_clicks_are_corners_spread_over_the_whole_curve():
    arm = big_arm()
    clicks = corpus.digitise_curve(arm, jitter=0.0, clicks=100, decimals=None)
    event_times = set(arm.time[arm.event == 1])
    assert 80 <= len(clicks) <= 100  # targets on the same corner count once
    assert clicks.iloc[0].tolist() == [0.0, 1.0]
    assert clicks.time.iloc[-1] == arm.time.max()
    tops = 0
    for t, s in zip(clicks.time, clicks.survival, strict=True):
        after = hand_km_at(arm.time, arm.event, t)
        before = hand_km_at(arm.time, arm.event, t, before=True)
        assert t in event_times or t in (0.0, arm.time.max())
        assert s == pytest.approx(after, rel=1e-12) or s == pytest.approx(before, rel=1e-12)
        tops += s != pytest.approx(after, rel=1e-12)
    assert tops > 10  # clicks on the drops, not only at their feet
    # Evenly along the path: no stretch of a tenth of the time axis without a click.
    assert np.diff(clicks.time).max() <= 0.1 * arm.time.max()


def test_jittered_clicks_stay_within_the_jitter_bound_of_the_true_curve():
    arm = big_arm()
    jitter, span = 0.01, float(arm.time.max())
    clicks = corpus.digitise_curve(arm, jitter=jitter, seed=7)
    bound_t, bound_s = 5 * jitter * span + 5e-4, 5 * jitter + 5e-4  # 5 sd and the rounding
    for t, s in zip(clicks.time, clicks.survival, strict=True):
        assert np.round(t, 3) == t and np.round(s, 3) == s
        low = hand_km_at(arm.time, arm.event, t + bound_t) - bound_s
        high = hand_km_at(arm.time, arm.event, t - bound_t, before=True) + bound_s
        assert low <= s <= high
    # Noise it is: some clicks are out of time order or rise.
    assert (np.diff(clicks.time) < 0).any() and (np.diff(clicks.survival) > 0).any()


def test_noise_is_seeded_and_scales_with_the_jitter():
    arm = big_arm()
    exact = corpus.digitise_curve(arm, jitter=0.0, decimals=None)
    small = corpus.digitise_curve(arm, jitter=0.003, seed=11, decimals=None)
    large = corpus.digitise_curve(arm, jitter=0.01, seed=11, decimals=None)
    pd.testing.assert_frame_equal(small, corpus.digitise_curve(arm, jitter=0.003, seed=11,
                                                               decimals=None))
    assert not small.equals(corpus.digitise_curve(arm, jitter=0.003, seed=12, decimals=None))
    np.testing.assert_allclose((large - exact) / 0.01, (small - exact) / 0.003, atol=1e-9)
    moved = (small.survival - exact.survival) / 0.003
    assert 0.7 < moved.std() < 1.3  # standard deviation 0.3% of the survival axis
    assert corpus.stable_seed("ACT1_2A", "amrubicin") == 3662207206
    assert {"exact", "noisy", "noisy1", "marks"} <= set(corpus.CURVE_MODES)
    with pytest.raises(InputError, match="unknown digitisation mode"):
        corpus.digitise_arm(arm, "blurred")


@pytest.mark.parametrize(("last", "step"), [(0.4, 1), (9.0, 1), (9.5, 1), (10.0, 2),
                                            (26.9, 3), (53.9, 6), (107.9, 12), (216.5, 24),
                                            (240.0, 48)])
def test_at_risk_step_is_the_finest_with_at_most_ten_rows(last, step):
    assert corpus.at_risk_step(last) == step
    assert math.floor(last / step) + 1 <= 10


def test_at_risk_rows_are_the_true_non_increasing_counts():
    for arm in (TIED, big_arm()):
        table = corpus.at_risk_rows(arm)
        last = float(arm.time.max())
        step = corpus.at_risk_step(last)
        assert list(table.columns) == ["time", "n_at_risk"]
        assert 1 <= len(table) <= 10
        assert table.time.tolist() == [step * k for k in range(len(table))]
        assert table.time.iloc[-1] <= last < table.time.iloc[-1] + step
        assert (np.diff(table.n_at_risk) <= 0).all()
        assert table.n_at_risk.tolist() == [int((arm.time >= t).sum()) for t in table.time]
    # TIED by hand: follow-up to 15 months, so rows every 2 months from 0 to 14.
    table = corpus.at_risk_rows(TIED)
    assert table.time.tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    assert table.n_at_risk.tolist() == [12, 11, 8, 5, 3, 2, 2, 1]


def test_censor_marks_merge_within_a_mark_width_and_are_seeded():
    # Last time 10, so marks closer than 0.05 print as one (the first of them).
    arm = pd.DataFrame({"time": [1.0, 1.02, 1.2, 5.0, 9.99, 10.0],
                        "event": [0, 0, 0, 1, 0, 0]})
    assert list(corpus.censor_marks(arm)) == [1.0, 1.2, 9.99]
    noisy = corpus.censor_marks(arm, jitter=0.003, seed=4)
    assert np.array_equal(noisy, corpus.censor_marks(arm, jitter=0.003, seed=4))
    assert np.all(np.abs(noisy - np.array([1.0, 1.2, 9.99])) < 0.15)  # 5 sd of 0.03
    assert corpus.MARK_MODES <= set(corpus.CURVE_MODES)
