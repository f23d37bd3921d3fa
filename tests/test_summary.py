import json
import math
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from trialrecon import InputError, registry, summary


def checks(analysis_id):
    return {c.check: c for c in summary.check_analysis(registry.get(analysis_id))}


def test_cabinet_pnet_hand_values():
    # Hand calculation: (ln 0.42 - ln 0.12) / (2 * 1.959964) = 1.252763 / 3.919928 = 0.31959
    c = checks("cabinet/pnet/pfs/nejm-2025")
    assert c["SE of log HR"].value == pytest.approx(0.31959, abs=5e-5)
    # d = 1 / (0.31959^2 * (2/3)(1/3)) = 44.06
    assert c["events implied by CI (Schoenfeld)"].value == pytest.approx(44.06, abs=0.05)
    # z = ln(1/0.23) / 0.31959 = 4.5985 -> two-sided p = 4.25e-6
    assert c["p-value from HR and CI"].value == pytest.approx(4.25e-6, rel=0.02)
    assert c["p-value from HR and CI"].verdict == summary.CONSISTENT


def test_cabinet_epnet_hand_values():
    c = checks("cabinet/epnet/pfs/nejm-2025")
    # (ln 0.59 - ln 0.25) / 3.919928 = 0.85866 / 3.919928 = 0.21905
    assert c["SE of log HR"].value == pytest.approx(0.21905, abs=5e-5)
    # 1 / (0.21905^2 * 2/9) = 93.8
    assert c["events implied by CI (Schoenfeld)"].value == pytest.approx(93.8, abs=0.1)


def test_versions_of_cabinet_disagree_where_sources_do():
    diffs = summary.version_differences(registry.analyses("cabinet"))
    pairs = {(r.cohort, r.quantity, r.version_a, r.version_b) for r in diffs.itertuples()}
    # ESMO 2023 abstract vs presentation: epNET HR 0.41 vs 0.45; pNET median 13.7 vs 11.4.
    assert ("epnet", "HR", "esmo-2023-abstract", "esmo-2023-presentation") in pairs
    assert ("pnet", "median cabozantinib", "esmo-2023-abstract", "esmo-2023-presentation") in pairs
    # ESMO 2024 abstract vs NEJM: upper CI 0.58 vs 0.59.
    assert ("epnet", "HR upper", "esmo-2024-abstract", "nejm-2025") in pairs
    # FDA label vs NEJM: pNET placebo median 3.3 vs 4.4 and reassigned cohorts.
    assert ("pnet", "median placebo", "nejm-2025", "fda-label-2025") in pairs
    assert ("pnet", "N cabozantinib", "nejm-2025", "fda-label-2025") in pairs
    # The pNET HR of ESMO 2024 and NEJM is the same analysis: no difference reported.
    assert ("pnet", "HR", "esmo-2024-abstract", "nejm-2025") not in pairs


def test_implied_events_differ_between_versions():
    # Local-review IA1 printed 50 events; its CI implies about 35: flagged, not consistent.
    c = checks("cabinet/pnet/pfs/esmo-2023-abstract")["events implied by CI (Schoenfeld)"]
    assert c.value == pytest.approx(34.9, abs=0.2)
    assert c.verdict == summary.QUESTIONABLE


def test_reported_events_agree_with_ci_for_meteor():
    c = checks("meteor/os/lancet-oncol-2016")
    assert c["events implied by CI (Schoenfeld)"].verdict == summary.CONSISTENT
    # sqrt(1/140 + 1/180) = 0.11269
    assert c["SE from per-arm events"].value == pytest.approx(0.11269, abs=1e-5)


def test_level_of_ci_is_used():
    # 98.89% CI: z = 2.5396; SE = (ln 0.89 - ln 0.40)/(2 z) = 0.15749; the printed P=0.001
    # agrees, which it would not if the interval were read as 95%.
    c = checks("checkmate9er/os/nejm-2021")
    assert summary.z_value(98.89) == pytest.approx(2.5396, abs=1e-4)
    assert c["SE of log HR"].value == pytest.approx(0.15749, abs=5e-5)
    assert c["p-value from HR and CI"].verdict == summary.CONSISTENT
    # Read as a 95% CI the same numbers would imply p = 0.012, far from the printed 0.001.
    assert summary.p_from_ci(0.60, 0.40, 0.89, 95.0) == pytest.approx(0.0123, abs=1e-4)


def test_one_sided_p_is_flagged():
    # ESMO 2023 OS epNET: HR 0.90 (0.56-1.46) implies two-sided p 0.67; printed 0.34 is half.
    c = checks("cabinet/epnet/os/esmo-2023-presentation")["p-value from HR and CI"]
    assert c.value == pytest.approx(0.666, abs=0.005)
    assert c.verdict == summary.INCONSISTENT and "one-sided" in c.reason


def test_weibull_shape_and_exponential_hr():
    # exponential HR = 4.4 / 13.8 = 0.3188; k = ln 0.23 / ln(4.4/13.8) = 1.2858
    assert summary.exponential_hr(13.8, 4.4) == pytest.approx(0.3188, abs=1e-4)
    assert summary.weibull_shape(0.23, 13.8, 4.4) == pytest.approx(1.2858, abs=1e-4)
    c = checks("cabinet/pnet/pfs/nejm-2025")["Weibull shape reconciling medians and HR"]
    assert c.verdict == summary.CONSISTENT


@pytest.mark.parametrize(("hr", "verdict", "why"), [
    # The CI includes 1: the point estimates give k = ln 1.20 / ln(10/12) = -1.00, which no
    # pair of Weibull curves has, and the shape is not determined either way.
    ("1.20 (0.80-1.80)", summary.UNTESTABLE, "CI includes 1"),
    # Medians going the other way from a significant HR: k < 0 over the whole CI.
    ("0.50 (0.40-0.62)", summary.INCONSISTENT, "go the other way"),
])
def test_a_shape_without_meaning_is_not_shown_as_a_number(hr, verdict, why):
    a = registry.analysis_from_print(arms={"drug": {"n": 100, "median": "10.0"},
                                           "placebo": {"n": 100, "median": "12.0"}},
                                     hazard_ratio=hr)
    c = {x.check: x for x in summary.check_analysis(a)}["Weibull shape reconciling medians "
                                                        "and HR"]
    assert c.verdict == verdict
    assert math.isnan(c.value) and why in c.reason
    from trialrecon.formatting import derived
    assert derived(c) == "none meaningful"


def test_a_shape_the_model_rejects_is_not_shown():
    a = registry.analysis_from_print(arms={"drug": {"n": 300, "median": "10.5"},
                                           "placebo": {"n": 300, "median": "10.0"}},
                                     hazard_ratio="0.30 (0.25-0.36)")
    # With the experimental median longer: k = ln HR / ln(10.0 / 10.5) = ln HR / -0.04879,
    # from ln 0.36 / -0.04879 = 20.9 to ln 0.25 / -0.04879 = 28.4: beyond any plausible
    # shape, so the PH Weibull model is rejected and its shape describes no curve.
    c = {x.check: x for x in summary.check_analysis(a)}["Weibull shape reconciling medians "
                                                        "and HR"]
    assert c.verdict == summary.INCONSISTENT
    assert math.isnan(c.value) and "20.9" in c.reason and "28.4" in c.reason


def test_landmark_under_proportional_hazards():
    # CLARINET: 33.0% ^ 0.47 = 59.4%; CI 0.30-0.73 gives 44.5-71.7%, which holds 65.1%.
    c = checks("clarinet/pfs/nejm-2014")["24-month rate under PH"]
    assert c.value == pytest.approx(100 * 0.33 ** 0.47, abs=1e-9)
    assert c.verdict == summary.CONSISTENT


def test_grim_counts():
    # 19% of 64: 12/64 = 18.75 -> 19 (half up), 13/64 = 20.3.
    assert summary.grim_counts(19, 64, 0) == [12]
    # 11.0% of 170 is impossible: 18/170 = 10.59%, 19/170 = 11.18%.
    assert summary.grim_counts(11.0, 170, 1) == []
    assert summary.grim_counts(55.7, 323, 1) == [180]


def test_grim_verdict_in_registry():
    c = checks("cosmic311/orr/cancer-2022")
    assert c["GRIM percent (cabozantinib)"].verdict == summary.INCONSISTENT
    assert c["GRIM percent (placebo)"].verdict == summary.CONSISTENT


def test_binary_comparison_matches_hand_values():
    # CABOSUN ORR 36/79 vs 14/78: RD = 0.45570 - 0.17949 = 0.27621; RR = 2.5389
    c = summary.compare_proportions(36, 79, 14, 78)
    assert c.risk_difference == pytest.approx(0.27621, abs=1e-5)
    assert c.relative_risk == pytest.approx(2.5389, abs=1e-4)
    # RR CI by the log method: exp(ln 2.5389 +- 1.96 sqrt(1/36 - 1/79 + 1/14 - 1/78))
    se = math.sqrt(1 / 36 - 1 / 79 + 1 / 14 - 1 / 78)
    assert c.rr_lower == pytest.approx(2.5389 * math.exp(-1.959964 * se), rel=1e-3)
    assert 0 < c.fisher_p < 0.001
    assert c.rd_lower < c.risk_difference < c.rd_upper


def test_exact_ci_check_uses_any_fitting_count():
    c = checks("meteor/orr/lancet-oncol-2016")
    assert c["exact CI of percent (everolimus)"].verdict == summary.CONSISTENT


def test_shipped_registry_every_analysis_gets_checked_without_error():
    table = summary.check_table(registry.analyses())
    assert set(table.verdict) <= {summary.CONSISTENT, summary.QUESTIONABLE,
                                  summary.INCONSISTENT, summary.UNTESTABLE}
    with_hr = {a.id for a in registry.analyses() if a.hazard_ratio}
    assert with_hr <= set(table.analysis_id)


# --------------------------------------------------------------------------- degenerate figures


def _checked(trial_dir, capsys, *edits):
    """Edit the demo trial file, run ``trialrecon check`` on it (exit 0) and return its checks."""
    from trialrecon.cli import main

    path = trial_dir / "demo.yaml"
    text = path.read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text)
    assert main(["check", str(path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    trial = registry.load_trial(path)
    _portfolio_blocks(trial.analyses)
    return {r["check"]: r for r in rows}


def _portfolio_blocks(items):
    """What the portfolio page computes from these analyses."""
    from trialrecon import pages

    if any(a.hazard_ratio for a in items):
        # pages.hazard_ratios raises KeyError on analyses without any HR (pages.py, to fix).
        pages.hazard_ratios(items)
    summary.version_differences(items)
    pages.verdict_counts(items)


def test_ci_that_rounding_lets_close_is_checked(trial_dir, capsys):
    # "1.0 (1.0-1.1)": the true bounds may both be 1.05, a CI of zero width: the implied
    # events are unbounded above and the implied p reaches 0.
    c = _checked(trial_dir, capsys, ('"0.50 (0.35-0.71)"', '"1.0 (1.0-1.1)"'),
                 ('p_value: "<0.001"', 'events_total: 5000\n    p_value: "0.04"'))
    events = c["events implied by CI (Schoenfeld)"]
    # JSON has no infinity: an unbounded range is written as null, and said in words.
    assert events["high"] is None and events["derived"].endswith("to no bound)")
    assert events["verdict"] == summary.CONSISTENT
    assert c["p-value from HR and CI"]["low"] == 0.0


def test_mixed_decimals_whose_rounding_crosses_are_bounded(trial_dir, capsys):
    # "1.0" may be 1.05 and "1.01" may be 1.005: bounds that cross give no negative SE.
    c = _checked(trial_dir, capsys, ('"0.50 (0.35-0.71)"', '"1.01 (1.0-1.01)"'))
    check = c["p-value from HR and CI"]
    assert 0 <= check["low"] <= check["value"] <= check["high"] <= 1


def test_p_value_beyond_float_range_is_compared(trial_dir, capsys):
    # z = ln(100) / 0.05 = 92: the implied p underflows to 0 at every corner.
    c = _checked(trial_dir, capsys, ('"0.50 (0.35-0.71)"', '"0.010 (0.009-0.011)"'),
                 ('p_value: "<0.001"', 'p_value: "0.04"'))
    check = c["p-value from HR and CI"]
    assert check["verdict"] == summary.INCONSISTENT and "factor" in check["reason"]


def test_rate_not_estimable_is_not_testable(trial_dir, capsys):
    c = _checked(trial_dir, capsys,
                 ('median: "8.0 (6.0-10.0)"}',
                  'median: "8.0 (6.0-10.0)", landmarks: [{time: 12, percent: "NE"}]}'),
                 ('median: "4.0"}', 'median: "4.0", landmarks: [{time: 12, '
                  'percent: "20.0"}]}'))
    check = c["12-month rate under PH"]
    assert check["verdict"] == summary.UNTESTABLE and "not estimable" in check["reason"]


def test_percent_not_estimable_is_not_testable(trial_dir, capsys):
    c = _checked(trial_dir, capsys, ("endpoint: PFS", "endpoint: ORR"),
                 ('median: "8.0 (6.0-10.0)"', 'percent: "NE"'), ('median: "4.0"', 'percent: "10"'))
    assert c["GRIM percent (drugx)"]["verdict"] == summary.UNTESTABLE
    assert c["GRIM percent (placebo)"]["verdict"] == summary.CONSISTENT


def test_single_arm_design_has_no_schoenfeld_events(trial_dir, capsys):
    c = _checked(trial_dir, capsys, ('allocation: "2:1"', "allocation: single arm"))
    check = c["events implied by CI (Schoenfeld)"]
    assert check["verdict"] == summary.UNTESTABLE and "single arm" in check["reason"]


def test_grim_counts_for_a_large_arm_match_enumeration():
    import numpy as np

    for percent, n, decimals in [(19, 64, 0), (11.0, 170, 1), (55.7, 323, 1), (0, 7, 0),
                                 (100, 9, 0), (33.3, 1_000_003, 1), (50.00, 99_991, 2)]:
        k = np.arange(n + 1)
        half = 0.5 * 10.0 ** (-decimals) + 1e-9
        assert summary.grim_counts(percent, n, decimals) == [
            int(x) for x in k[np.abs(100.0 * k / n - percent) <= half]]


def test_exact_ci_search_of_a_large_arm_matches_enumeration():
    # Above _ENUMERATED_COUNTS candidates the first fitting count is found by bisection.
    for n, percent, shift in [(10_000, 37, 0.0), (10_000, 37, 0.3), (8_000, 81, -0.2)]:
        ks = summary.grim_counts(percent, n, 0)
        assert len(ks) > summary._ENUMERATED_COUNTS
        low, high = summary._exact_ci(ks[len(ks) // 3], n)
        lower, upper, tol = round(low + shift, 1), round(high, 1), 0.05 + 1e-9
        cis = {k: summary._exact_ci(k, n) for k in ks}
        expected = next((k for k, (lo, hi) in cis.items()
                         if abs(lo - lower) <= tol and abs(hi - upper) <= tol), None)
        assert summary._exact_ci_count(ks, n, lower, upper, tol) == expected


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)), deadline=None,
          database=None)
@given(seed=st.integers(0, 2**32 - 1), endpoint=st.sampled_from(["PFS", "OS", "ORR"]),
       n=st.sampled_from([2, 5, 30, 64, 400, 3000]), ratio=st.sampled_from([1, 2]),
       shape=st.floats(0.6, 2.5), median=st.floats(1.0, 40.0), hr=st.floats(0.2, 3.0),
       horizon=st.floats(0.5, 4.0),
       extras=st.sets(st.sampled_from(["events", "total", "landmark", "p", "follow_up"])))
# HR 1.00 (0.50-1.97) with p 0.992: the rounding box of the HR holds 1, where the Wald p is 1.
@example(seed=428193183, endpoint="OS", n=30, ratio=1, shape=2.0905951446735505,
         median=18.99091177416188, hr=1.5192675190772085, horizon=2.224188005775211,
         extras={"p"})
def test_any_validated_figures_are_checked_without_error(seed, endpoint, n, ratio, shape,
                                                         median, hr, horizon, extras):
    # Figures printed, as a paper prints them, from patients simulated here (Weibull arms
    # under proportional hazards with uniform censoring, or binomial responders): valid by
    # construction, so none may be refused and no check may raise; the checks that are exact
    # for such figures (a Wald CI is centred on its HR, its p is the Wald p, a percentage of
    # N has a count, a Clopper-Pearson CI is one) must find them consistent.
    import warnings

    import numpy as np
    import pandas as pd
    from hypothesis import event
    from lifelines.utils import median_survival_times
    from scipy import stats
    from trialrecon import analysis

    rng = np.random.default_rng(seed)
    sizes = {"drugx": ratio * n, "placebo": n}

    def printed(*xs, decimals=1):
        # NR where not reached; more digits where rounding would print 0 (as papers do).
        finite = [x for x in xs if math.isfinite(x) and x > 0]
        while any(round(x, decimals) == 0 for x in finite):
            decimals += 1
        text = ["NR" if not math.isfinite(x) else f"{x:.{decimals}f}" for x in xs]
        return text[0] if len(xs) == 1 else f"{text[0]} ({text[1]}-{text[2]})"

    arms, exact, kw = {}, [], {}
    if endpoint == "ORR":
        counts = {}
        for name, size in sizes.items():
            k = int(rng.binomial(size, min(median / 40.0 * (hr if name == "drugx" else 1), 1)))
            ci = stats.binomtest(k, size).proportion_ci(0.95, method="exact")
            counts[name] = (k, size)
            arms[name] = {"n": size, "percent": f"{100 * k / size:.1f} "
                          f"({100 * ci.low:.1f}-{100 * ci.high:.1f})"}
            exact += [f"GRIM percent ({name})", f"exact CI of percent ({name})"]
        if "p" in extras:
            table = [[k, size - k] for k, size in counts.values()]
            p = float(stats.fisher_exact(table).pvalue)
            kw["p_value"] = "<0.001" if p < 0.001 else f"{p:.3f}"
    else:
        scale = median / math.log(2) ** (1 / shape)
        frames = {}
        for name, size in sizes.items():
            s = scale * (hr ** (-1 / shape) if name == "drugx" else 1.0)
            t = np.maximum(s * rng.weibull(shape, size), 0.01)
            c = rng.uniform(0.0, horizon * median, size)
            frames[name] = pd.DataFrame({"time": np.minimum(t, c),
                                         "event": (t <= c).astype(int)})
        for name, ipd in frames.items():
            kmf = analysis.fit_km(ipd)
            lo, hi = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
            arm = {"n": sizes[name], "median": printed(kmf.median_survival_time_, lo, hi)}
            if "events" in extras:
                arm["events"] = int(ipd.event.sum())
            if "landmark" in extras and (ipd.time >= 12).any():
                rate = 100 * float(kmf.survival_function_at_times(12.0).iloc[0])
                arm["landmarks"] = [{"time": 12, "percent": f"{rate:.1f}", "method": "km"}]
            arms[name] = arm
        both = pd.concat(frames.values(), ignore_index=True)
        if "total" in extras:
            kw["events_total"] = int(both.event.sum())
        follow_up = analysis.median_follow_up(both)
        if "follow_up" in extras and math.isfinite(follow_up):
            kw["follow_up"] = float(printed(follow_up))
        if all(f.event.sum() > 0 for f in frames.values()):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cox = analysis.cox_hr(frames["drugx"], frames["placebo"])
            if all(math.isfinite(x) and 1e-6 < x < 1e6 for x in (cox.lower, cox.upper)):
                decimals = 2
                while round(cox.lower, decimals) <= 0 or round(cox.lower, decimals) >= round(
                        cox.upper, decimals):
                    decimals += 1
                kw["hazard_ratio"] = (f"{cox.hr:.{decimals}f} ({cox.lower:.{decimals}f}-"
                                      f"{cox.upper:.{decimals}f})")
                exact.append("HR at centre of CI")
                if "p" in extras:
                    kw["p_value"] = "<0.001" if cox.p < 0.001 else f"{cox.p:.3f}"
                    exact.append("p-value from HR and CI")
    try:
        a = registry.analysis_from_print(endpoint=endpoint, arms=arms,
                                         allocation=f"{ratio}:1", **kw)
    except InputError as exc:
        pytest.fail(f"figures printed from patient data were refused: {exc}")
    checked = {c.check: c for c in summary.check_analysis(a)}
    assert {c.verdict for c in checked.values()} <= {
        summary.CONSISTENT, summary.QUESTIONABLE, summary.INCONSISTENT, summary.UNTESTABLE}
    for name in exact:
        assert checked[name].verdict == summary.CONSISTENT, (name, arms, kw, checked[name])
    summary.check_table([a])
    _portfolio_blocks([a])
    event(f"{endpoint}, HR printed: {'hazard_ratio' in kw}")
    event(f"a median not reached: {any('NR' in x.get('median', '') for x in arms.values())}")
    event(f"exact checks found consistent: {len(exact)}")


TWO_UNDER_ONE_KEY = """\
trial: keys
name: Keys
company: Nobody
drug: drugx
comparator: placebo
indication: Testing
design: {phase: "3", blinding: open}
arms: [drugx, placebo]
sources: {paper: "Someone. J Test 2020;1:1-2.", update: "Someone. J Test 2022;3:1-2."}
analyses:
  - {version: paper-2020, label: Paper 2020 PFS, endpoint: PFS, source: paper,
     arms: {drugx: {n: 100, median: "8.0"}, placebo: {n: 100, median: "4.0"}},
     hazard_ratio: {printed: "0.50 (0.35-0.71)"}}
  - {version: paper-2020, label: Paper 2020 interim OS, endpoint: OS, source: paper,
     arms: {drugx: {n: 100, median: "20.0"}, placebo: {n: 100, median: "15.0"}},
     hazard_ratio: {printed: "0.70 (0.50-0.98)"}}
  - {version: update-2022, label: Update 2022 final OS, endpoint: OS, source: update,
     arms: {drugx: {n: 100, median: "22.0"}, placebo: {n: 100, median: "15.0"}},
     hazard_ratio: {printed: "0.72 (0.52-0.99)"}}
  - {version: update-2022, label: Update 2022 PFS, endpoint: PFS, source: update,
     arms: {drugx: {n: 100, median: "8.0"}, placebo: {n: 100, median: "4.0"}},
     hazard_ratio: {printed: "0.50 (0.35-0.71)"}}
  - {version: update-2022, label: Update 2022 ORR, endpoint: ORR, source: update,
     population: responders evaluable, arms: {drugx: {n: 90, percent: "40"}}}
  - {version: paper-2020, label: Paper 2020 ORR, endpoint: ORR, source: paper,
     arms: {drugx: {n: 100, percent: "30"}}}
"""


def test_versions_are_labelled_by_their_own_analysis(tmp_path):
    # Two analyses under each version key: the OS figures that differ must carry the OS
    # analyses' labels, not those of the PFS analysis filed first under the same key.
    path = tmp_path / "keys.yaml"
    path.write_text(TWO_UNDER_ONE_KEY)
    trial = registry.load_trial(path)
    d = summary.version_differences(trial.analyses)
    assert set(d.endpoint) == {"OS"}  # PFS printed the same; ORR in two populations
    assert set(d.quantity) == {"median drugx", "HR", "HR lower", "HR upper"}
    assert set(d.label_a) == {"Paper 2020 interim OS"}
    assert set(d.label_b) == {"Update 2022 final OS"}
    assert set(d.analysis_a) == {"keys/os/paper-2020"}
    assert set(d.analysis_b) == {"keys/os/update-2022"}
