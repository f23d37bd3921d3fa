from pathlib import Path

import pytest
from trialrecon import InputError, registry
from trialrecon.registry import load_trial


def test_every_seed_trial_is_present():
    assert {"cabinet", "clarinet", "meteor", "checkmate9er", "cabosun", "celestial",
            "cosmic311", "somatuline-acromegaly", "increlex"} <= set(registry.trials())


def test_cabinet_has_all_four_pfs_versions_in_both_cohorts():
    ids = set(registry.analysis_ids("cabinet"))
    for cohort in ("pnet", "epnet"):
        for version in ("esmo-2023-abstract", "esmo-2023-presentation", "esmo-2024-abstract",
                        "nejm-2025", "fda-label-2025"):
            assert f"cabinet/{cohort}/pfs/{version}" in ids
    endpoints = {a.endpoint for a in registry.analyses("cabinet")}
    assert {"PFS", "OS", "ORR", "AE_G3"} <= endpoints


def test_get_returns_analysis_with_trial_and_citation():
    a = registry.get("cabinet/pnet/pfs/nejm-2025")
    assert a.trial.nct == "NCT03375320"
    assert a.arms["cabozantinib"].n == 64 and a.arms["placebo"].n == 31
    assert a.hazard_ratio.printed.text == "0.23 (0.12-0.42)"
    assert a.p_value.printed == "<0.001"  # a bound, kept as printed
    assert "N Engl J Med 2025;392" in a.citation


def test_ids_are_unique_and_stable():
    ids = registry.analysis_ids()
    assert len(ids) == len(set(ids))
    assert "clarinet/pfs/nejm-2014" in ids


def test_unknown_id_suggests_nearest():
    with pytest.raises(InputError, match="did you mean cabinet/pnet/pfs/nejm-2025"):
        registry.get("cabinet/pnet/pfs/nejm2025")


def test_reported_table_keeps_printed_text():
    t = registry.reported_table([registry.get("clarinet/pfs/nejm-2014")])
    rates = t[t.quantity == "24-month rate (%)"].set_index("arm").reported
    assert rates["lanreotide"] == "65.1 (54.0-74.1)" and rates["placebo"] == "33.0 (23.0-43.3)"
    assert t.loc[t.quantity.str.startswith("median"), "reported"].tolist() == ["NR",
                                                                                "18.0 (12.1-24.0)"]


def test_valid_file_loads(trial_dir: Path):
    t = load_trial(trial_dir / "demo.yaml")
    assert [a.id for a in t.analyses] == ["demo/pfs/paper-2020"]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ('printed: "0.50 (0.35-0.71)"', 'printed: "0.50 (0.55-0.71)"', "hazard_ratio.printed",
         "lower bound above the estimate"),
        ('printed: "0.50 (0.35-0.71)"', 'printed: "0.80 (0.35-0.71)"', "hazard_ratio.printed",
         "CI must contain it"),
        ("endpoint: PFS", "endpoint: TTP", "endpoint", "Input should be"),
        ("hazard_ratio:", "hazard_raito:", "hazard_raito", "unknown field"),
        ("    label: Paper 2020\n", "", "label", "Field required"),
        ('median: "4.0"', 'median: "4.0", landmarks: [{time_months: 12, percent: "104.0"}]',
         "arms.placebo.landmarks.0.percent", "outside 0-100"),
    ],
)
def test_malformed_record_names_file_analysis_and_field(trial_dir, old, new, field, message):
    path = trial_dir / "demo.yaml"
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(InputError) as info:
        load_trial(path)
    err = info.value
    assert err.file == str(path)
    # The record is named as written, even when the error is in the endpoint itself.
    assert err.row.startswith("analysis demo/") and err.row.endswith("/paper-2020")
    assert err.column == field
    assert message in err.message


def test_broken_yaml_names_line(trial_dir):
    path = trial_dir / "demo.yaml"
    path.write_text(path.read_text().replace("arms: [drugx, placebo]", "arms: [drugx, placebo"))
    with pytest.raises(InputError, match="not valid YAML") as info:
        load_trial(path)
    assert isinstance(info.value.row, int)


def test_arm_not_in_trial_is_refused(trial_dir):
    path = trial_dir / "demo.yaml"
    path.write_text(path.read_text().replace("placebo: {n: 50", "plaecbo: {n: 50"))
    with pytest.raises(InputError, match="not among the trial's arms"):
        load_trial(path)
