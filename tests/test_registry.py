import math
import re
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import numpy as np
import pytest
import trialrecon
import yaml
from conftest import SHIPPED_TRIALS
from pydantic import BaseModel
from trialrecon import InputError, paths, printed, registry
from trialrecon.registry import analysis_from_print, load_trial


def test_shipped_registry_has_every_seed_trial():
    assert {"cabinet", "clarinet", "meteor", "checkmate9er", "cabosun", "celestial",
            "cosmic311", "somatuline-acromegaly", "increlex"} <= set(registry.trials())


def test_shipped_registry_cabinet_has_every_pfs_version_in_both_cohorts():
    ids = set(registry.analysis_ids("cabinet"))
    for cohort in ("pnet", "epnet"):
        for version in ("esmo-2023-abstract", "esmo-2023-presentation", "esmo-2024-abstract",
                        "nejm-2025", "fda-label-2025"):
            assert f"cabinet/{cohort}/pfs/{version}" in ids
    endpoints = {a.endpoint for a in registry.analyses("cabinet")}
    assert {"PFS", "OS", "ORR", "AE_G3PLUS"} <= endpoints


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


def test_reported_table_labels_use_the_analysis_time_unit():
    a = analysis_from_print(
        endpoint="PFS", time_unit="weeks", follow_up=30,
        arms={"drug": {"n": 40, "median": "20", "landmarks": [{"time": 12, "percent": "80"}]},
              "placebo": {"n": 40, "median": "10", "landmarks": [{"time": 12, "percent": "60"}]}})
    quantities = set(registry.reported_table([a]).quantity)
    assert {"12-week rate (%)", "median (weeks)", "median follow-up (weeks)"} <= quantities
    assert not any("month" in q for q in quantities)
    months = registry.reported_table([registry.get("clarinet/pfs/nejm-2014")])
    assert "24-month rate (%)" in set(months.quantity)


@pytest.mark.parametrize(
    ("old", "new", "field", "key"),
    [('median: "4.0"', 'median: "4.0", landmarks: [{time_months: 12, percent: "40"}]',
      "arms.placebo.landmarks.0.time_months", "time"),
     ("    source: paper\n", "    source: paper\n    follow_up_months: 13.8\n",
      "follow_up_months", "follow_up")],
)
def test_old_month_keys_are_refused_naming_the_new_key(trial_dir, capsys, old, new, field, key):
    path = _edit(trial_dir, old, new)
    with pytest.raises(InputError) as info:
        load_trial(path)
    err = info.value
    assert err.file == str(path) and err.row == "analysis demo/pfs/paper-2020"
    assert err.column == field
    old_key = field.rsplit(".", 1)[-1]
    assert f"{old_key!r} was renamed {key!r}" in err.message and "time_unit" in err.message
    assert f"'{key}'" in _cli_error(path, capsys)


def test_analysis_from_print_refuses_the_old_follow_up_keyword():
    with pytest.raises(InputError, match="'follow_up_months' was renamed 'follow_up'"):
        analysis_from_print(arms={"a": {"n": 10, "median": "5"}, "b": {"n": 10, "median": "4"}},
                            follow_up_months=12)


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
        ("endpoint: PFS", "endpoint: PSF", "endpoint", "Input should be"),
        ("hazard_ratio:", "hazard_raito:", "hazard_raito", "unknown field"),
        ("    label: Paper 2020\n", "", "label", "Field required"),
        ('median: "4.0"', 'median: "4.0", landmarks: [{time: 12, percent: "104.0"}]',
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


def test_extrapolate_names_analyses_of_the_trial(trial_dir):
    path = trial_dir / "demo.yaml"
    ids = [a.id for a in load_trial(path).analyses]
    path.write_text(path.read_text() + f"extrapolate: [{ids[0]}]\n")
    assert load_trial(path).extrapolate == (ids[0],)
    path.write_text(path.read_text().replace(f"extrapolate: [{ids[0]}]", "extrapolate: [demo/x]"))
    with pytest.raises(InputError, match="'demo/x' is not an analysis id of this trial"):
        load_trial(path)


@pytest.mark.parametrize("baseline, message", [
    ("{median_age: 63, male_share: 77, source: nejm}", "less than or equal to 1"),
    ("{median_age: 0, male_share: 0.5, source: nejm}", "greater than 0"),
    ("{median_age: 63, male_share: 0.5, source: lancet}", "'lancet' is not in 'sources'"),
    ("{median_age: 63, source: nejm}", "male_share"),
])
def test_baseline_is_an_age_a_share_of_men_and_a_source(trial_dir, baseline, message):
    path = trial_dir / "demo.yaml"
    source = next(iter(load_trial(path).sources))
    text = path.read_text()
    path.write_text(text + "baseline: {median_age: 63.5, male_share: 0.77, source: "
                    f"{source}}}\n")
    got = load_trial(path).baseline
    assert (got.median_age, got.male_share, got.source) == (63.5, 0.77, source)
    assert load_trial(DOCS / "trial-template.yaml").baseline.male_share == 0.62
    path.write_text(text + "baseline: " + baseline.replace("nejm", source) + "\n")
    with pytest.raises(InputError, match=message):
        load_trial(path)


# --------------------------------------------------------------------------- a user's file


def test_user_file_loads_under_any_name_and_stays_out_of_the_registry(trial_dir):
    before = (set(registry.trials()), registry.analysis_ids())
    path = trial_dir / "my results (v2).yml"
    (trial_dir / "demo.yaml").rename(path)  # trial id 'demo', another file name
    t = load_trial(path)
    assert t.trial == "demo" and [a.id for a in t.analyses] == ["demo/pfs/paper-2020"]
    assert t.analyses[0].citation.startswith("Someone.")
    assert (set(registry.trials()), registry.analysis_ids()) == before


def test_registry_directory_keeps_the_file_name_rule(trial_dir):
    (trial_dir / "demo.yaml").rename(trial_dir / "other.yaml")
    with pytest.raises(InputError, match="does not match the file name") as info:
        registry.trials(trial_dir)
    assert info.value.column == "trial"
    with pytest.raises(InputError, match="does not match the file name"):
        load_trial(trial_dir / "other.yaml", match_file_name=True)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(InputError, match="no such file") as info:
        load_trial(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml")


# --------------------------------------------------------------------------- printed figures

PNET = {"cabozantinib": {"n": 64, "median": "13.8 (9.2-18.5)"},
        "placebo": {"n": 31, "median": "4.4 (3.0-5.9)"}}


def test_analysis_from_print_keeps_figures_as_printed():
    before = set(registry.trials())
    a = analysis_from_print(arms=PNET, hazard_ratio="0.23 (0.12-0.42)", p_value="<0.001",
                            follow_up=13.8)
    assert a.id == "user/pfs/printed" and a.trial.trial == "user"
    assert a.citation == "printed figures entered by the user"
    assert a.arm_names == ("cabozantinib", "placebo")
    assert a.hazard_ratio.printed.text == "0.23 (0.12-0.42)" and a.hazard_ratio.level == 95
    assert a.arms["cabozantinib"].median.text == "13.8 (9.2-18.5)"
    assert a.arms["placebo"].median.text == "4.4 (3.0-5.9)"
    assert a.p_value.printed == "<0.001" and a.p_value.sided == 2
    assert a.trial.design.allocation == "64:31"
    assert set(registry.trials()) == before
    assert trialrecon.analysis_from_print is analysis_from_print


def test_analysis_from_print_takes_every_field_of_a_trial_file():
    a = analysis_from_print(
        endpoint="OS", arms={"drugx": {"n": 100, "events": 40, "landmarks": [
            {"time": 12, "percent": "80.0 (71.0-86.5)"}]}, "placebo": {"n": 50}},
        hazard_ratio={"printed": "0.70 (0.45-1.09)", "level": 90, "stratified": True},
        p_value={"printed": "0.06", "sided": 1}, events_total=65, trial="mytrial",
        cohort="itt", version="v1", allocation="2:1", citation="Doe J. J Test 2024;1:1.")
    assert a.id == "mytrial/itt/os/v1" and a.citation == "Doe J. J Test 2024;1:1."
    assert a.hazard_ratio.level == 90 and a.p_value.sided == 1 and a.events_total == 65
    assert a.arms["drugx"].landmarks[0].percent.text == "80.0 (71.0-86.5)"
    assert a.trial.design.allocation == "2:1"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"arms": {"cabozantinib": {"n": 134, "median": "8.4 (9.0-12.7)"}, "placebo": {"n": 9}}},
         "arms.cabozantinib.median", "lower bound above the estimate"),
        ({"hazard_ratio": "0.23"}, "hazard_ratio.printed", "needs a value and both CI bounds"),
        ({"endpoint": "PSF"}, "endpoint", "Input should be"),
        ({"arms": {"cabozantinib": {"n": 64, "medain": "13.8"}}}, "arms.cabozantinib.medain",
         "unknown field"),
        ({"trial": "My Trial"}, "trial", "should match pattern"),
        ({"folow_up_months": 13.8}, "folow_up_months", "unknown field"),
        ({"arms": {}}, "arms", "arms must map"),
    ],
)
def test_analysis_from_print_names_the_bad_field(change, field, message):
    kwargs = {"arms": PNET, "hazard_ratio": "0.23 (0.12-0.42)"} | change
    with pytest.raises(InputError) as info:
        analysis_from_print(**kwargs)
    assert info.value.column == field
    assert message in info.value.message


def test_analysis_from_print_is_checked_like_a_registry_analysis():
    from trialrecon import summary

    a = analysis_from_print(arms=PNET, hazard_ratio="0.23 (0.12-0.42)", p_value="<0.001")
    mine = summary.check_table([a]).drop(columns="analysis_id")
    theirs = summary.check_table([registry.get("cabinet/pnet/pfs/nejm-2025")])
    theirs = theirs.drop(columns="analysis_id")
    first = ["SE of log HR", "HR at centre of CI", "p-value from HR and CI"]
    columns = ["value", "low", "high"]
    assert np.allclose(mine.set_index("check").loc[first, columns].to_numpy(float),
                       theirs.set_index("check").loc[first, columns].to_numpy(float),
                       equal_nan=True)


def test_analysis_from_print_rebuilds_patients():
    from trialrecon.simulate import fit_summary

    a = analysis_from_print(arms=PNET, hazard_ratio="0.23 (0.12-0.42)", p_value="<0.001",
                            follow_up=13.8)
    fit = fit_summary(a)
    assert fit.analysis_id == "user/pfs/printed"
    assert fit.ipd.arm.value_counts().to_dict() == {"cabozantinib": 64, "placebo": 31}


# --------------------------------------------------------------------------- documentation

DOCS = paths.ROOT / "docs"
BINARY_OR_CONTINUOUS = ("analyses[].arms.<arm>.percent", "analyses[].arms.<arm>.values")


def _unwrap(annotation: Any) -> Any:
    """The type inside ``Annotated[...]`` and ``X | None``."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def _is_model(x: Any) -> bool:
    return isinstance(x, type) and issubclass(x, BaseModel)


def _model_fields(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every field of the trial models as a path: ``analyses[].arms.<arm>.median``."""
    for name, field in model.model_fields.items():
        path = prefix + name
        yield path
        inner = _unwrap(field.annotation)
        args = get_args(inner)
        if _is_model(inner):
            yield from _model_fields(inner, path + ".")
        elif get_origin(inner) is tuple and args and _is_model(args[0]):
            yield from _model_fields(args[0], path + "[].")
        elif get_origin(inner) is dict and _is_model(args[1]):
            yield from _model_fields(args[1], path + ".<arm>.")


def _yaml_fields(node: Any, prefix: str = "") -> Iterator[str]:
    """Every field a loaded YAML document fills, as the same kind of path."""
    if isinstance(node, dict):
        free = prefix.endswith("analyses[].arms.")  # keys are arm names
        for key, value in node.items():
            path = prefix + ("<arm>" if free else str(key))
            if not free:
                yield path
            if path not in ("sources", "design.cohorts"):  # mappings of free keys
                yield from _yaml_fields(value, path + ".")
    elif isinstance(node, list):
        for item in node:
            yield from _yaml_fields(item, prefix.removesuffix(".") + "[].")


def _doc_table(heading: str) -> list[list[str]]:
    """Rows of the first table under a ``## heading`` of docs/trial-yaml.md."""
    text = (DOCS / "trial-yaml.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines()
            if line.startswith("| `")]
    return [[cell.strip() for cell in row] for row in rows]


def test_template_loads_and_is_consistent():
    from trialrecon import summary

    t = load_trial(DOCS / "trial-template.yaml")
    assert [a.id for a in t.analyses] == ["example/itt/pfs/paper-2024",
                                          "example/itt/os/paper-2024"]
    verdicts = set(summary.check_table(t.analyses).verdict)
    assert verdicts <= {"consistent", "not testable"}


def test_documented_fields_are_the_models_fields():
    documented = [row[0].strip("`") for row in _doc_table("Fields")]
    assert len(documented) == len(set(documented))
    assert set(documented) == set(_model_fields(registry.Trial))


def test_template_fills_every_time_to_event_field():
    raw = yaml.safe_load((DOCS / "trial-template.yaml").read_text(encoding="utf-8"))
    filled = set(_yaml_fields(raw))
    fields = set(_model_fields(registry.Trial))
    assert filled <= fields
    assert {f for f in fields if not f.startswith(BINARY_OR_CONTINUOUS)} <= filled


def test_documented_endpoints_are_the_registry_endpoints():
    kinds = {**dict.fromkeys(registry.TIME_TO_EVENT, "time-to-event"),
             **dict.fromkeys(registry.BINARY, "binary"),
             **dict.fromkeys(registry.CONTINUOUS, "continuous")}
    rows = {row[0].strip("`"): (row[1], row[2]) for row in _doc_table("Endpoints")}
    assert rows == {e: (label, kinds[e]) for e, label in registry.ENDPOINT_LABELS.items()}


# --------------------------------------------------------------------------- hostile files


def _edit(trial_dir: Path, old: str, new: str) -> Path:
    path = trial_dir / "demo.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def _cli_error(path: Path, capsys) -> str:
    """Run ``trialrecon check`` on a file; it must fail in one line with status 2."""
    from trialrecon.cli import main

    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("trialrecon: error: ") and "\n" not in err
    assert str(path) in err
    return err


def test_long_p_value_is_refused_quickly_and_briefly(trial_dir, capsys, monkeypatch,
                                                    hang_guard):
    path = _edit(trial_dir, 'p_value: "<0.001"', f'p_value: "{"1" * 20_000}x"')
    # "Quickly": the length bound refuses the text before the p-value pattern sees it (the
    # pattern is watched, not timed); the guard only catches a run that never ends.
    pattern, used = printed._PVALUE, []

    class Watched:
        def __getattr__(self, name):
            used.append(name)
            return getattr(pattern, name)

    monkeypatch.setattr(printed, "_PVALUE", Watched())
    with hang_guard(60):
        err = _cli_error(path, capsys)
    assert used == [], "the p-value pattern ran on a text beyond the length bound"
    assert "field 'p_value.printed'" in err and "too long" in err and len(err) < 400
    # The watch is live: a p-value within the bound is read by the pattern.
    _edit(trial_dir, f'p_value: "{"1" * 20_000}x"', 'p_value: "<0.001"')
    assert load_trial(path).analyses[0].p_value.parsed.bound and used


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ('median: "4.0"', 'median: "0"', "arms.placebo.median", "must be positive"),
        ('median: "4.0"', 'median: "0.0 (0.0-1.2)"', "arms.placebo.median", "must be positive"),
        ('"0.50 (0.35-0.71)"', '"1.00 (1.00-1.00)"', "hazard_ratio.printed", "zero width"),
        ('median: "4.0"', 'median: "1e400"', "arms.placebo.median", "cannot read"),
        ('median: "4.0"', f'median: "{"9" * 400}"', "arms.placebo.median", "too long"),
        ('median: "4.0"', f'median: "{"9" * 40}"', "arms.placebo.median", "more digits"),
        ('median: "4.0"', "median: 1.0e+400", "arms.placebo.median", "cannot read"),
        ("level: 95", "level: .nan", "hazard_ratio.level", "finite number"),
        ("n: 50", "n: 100000000000", "arms.placebo.n", "less than or equal"),
    ],
)
def test_degenerate_figures_are_refused_by_name(trial_dir, capsys, old, new, field, message):
    path = _edit(trial_dir, old, new)
    with pytest.raises(InputError) as info:
        load_trial(path)
    err = info.value
    assert (err.file, err.row, err.column) == (str(path), "analysis demo/pfs/paper-2020", field)
    assert message in err.message
    assert f"field '{field}'" in _cli_error(path, capsys)


@pytest.mark.parametrize(("allocation", "message"), [
    ('"0:1"', "each part must be"), ('"1:0"', "each part must be"),
    ('"1000000000000000000:1"', "each part must be"),
    ('"2;1"', "write a ratio"), ('"2:"', "write a ratio"), ('":1"', "write a ratio")])
def test_allocation_that_is_no_ratio_of_shares_is_refused(trial_dir, capsys, allocation,
                                                          message):
    path = _edit(trial_dir, 'allocation: "2:1"', f"allocation: {allocation}")
    with pytest.raises(InputError, match=message) as info:
        load_trial(path)
    assert info.value.column == "design.allocation"
    _cli_error(path, capsys)


@pytest.mark.parametrize(("allocation", "fraction"), [
    ('"2:1"', 2 / 3), ("single arm", 1.0), ('"1:1:1:1"', None),
    ("\"one randomised dose of 60, 90 or 120 mg or placebo; ratio not stated\"", None)])
def test_only_a_two_part_ratio_has_an_allocation_fraction(trial_dir, allocation, fraction):
    design = load_trial(_edit(trial_dir, 'allocation: "2:1"', f"allocation: {allocation}")).design
    if fraction is None:
        assert math.isnan(design.allocation_fraction)
    else:
        assert design.allocation_fraction == pytest.approx(fraction)


def test_somatuline_acromegaly_is_no_two_arm_ratio():
    from trialrecon import summary

    t = registry.get_trial("somatuline-acromegaly")
    assert "60, 90 or 120 mg" in t.design.allocation
    assert math.isnan(t.design.allocation_fraction)
    summary.check_table(t.analyses)  # runs; no Schoenfeld fraction is made up


def test_shipped_registry_adverse_event_endpoints_say_which_grades():
    assert registry.ENDPOINT_LABELS["AE_G34"] == "Grade 3–4 adverse events"
    assert registry.ENDPOINT_LABELS["AE_G3PLUS"] == "Grade >=3 adverse events"
    grades = {a.trial.trial: a.endpoint for a in registry.analyses()
              if a.endpoint.startswith("AE_")}
    assert grades == {"cabinet": "AE_G3PLUS", "checkmate9er": "AE_G3PLUS", "cabosun": "AE_G34",
                      "celestial": "AE_G34", "cosmic311": "AE_G34"}


def test_second_analyses_block_is_refused(trial_dir, capsys):
    path = trial_dir / "demo.yaml"
    text = path.read_text()
    path.write_text(text + "analyses:\n  - version: other\n")
    with pytest.raises(InputError, match="duplicate key 'analyses'") as info:
        load_trial(path)
    err = info.value
    line = text.count("\n") + 1
    assert err.row == line and err.column == "analyses"
    assert f"first on line {text.splitlines().index('analyses:') + 1}" in err.message
    _cli_error(path, capsys)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("    drugx: {n: 100,", "    drugx: {n: 100, n: 120,", "n"),
        ("    placebo: {n: 50", "    drugx: {n: 1}\n    placebo: {n: 50", "drugx"),
        ("  - version: paper-2020\n", "  - version: paper-2020\n    version: paper-2021\n",
         "version"),
        ("design: {phase:", "design: {blinding: open, phase:", "blinding"),
    ],
)
def test_duplicate_keys_at_any_level_name_line_and_key(trial_dir, old, new, key):
    path = _edit(trial_dir, old, new)
    with pytest.raises(InputError, match=f"duplicate key '{key}'") as info:
        load_trial(path)
    lines = path.read_text().splitlines()
    second = [i for i, text in enumerate(lines, 1)
              for _ in re.findall(rf"\b{key}:", text)][1]
    assert (info.value.file, info.value.row, info.value.column) == (str(path), second, key)


def test_a_tagged_key_that_is_no_name_is_refused_in_one_line(trial_dir, capsys):
    # Found by the fuzz tests: "!!set trial: demo" makes the first key a set, which no
    # mapping can hold.
    path = trial_dir / "demo.yaml"
    path.write_text("!!set " + path.read_text())
    with pytest.raises(InputError, match="key that is not plain text") as info:
        load_trial(path)
    assert info.value.row == 1
    _cli_error(path, capsys)


def test_merge_keys_may_still_override(trial_dir):
    path = trial_dir / "demo.yaml"
    text = path.read_text().replace("    arms:\n      drugx: {n: 100,",
                                    "    arms:\n      drugx: {<<: {n: 1}, n: 100,")
    path.write_text(text)
    assert load_trial(path).analyses[0].arms["drugx"].n == 100


def test_impossible_date_is_refused_at_its_field(trial_dir, capsys):
    path = _edit(trial_dir, "    p_value:", "    data_cutoff: 2017-02-30\n    p_value:")
    with pytest.raises(InputError) as info:
        load_trial(path)
    assert info.value.column == "data_cutoff" and info.value.row.startswith("analysis demo/")
    assert "date" in info.value.message
    _cli_error(path, capsys)
    # A valid date still reads as one.
    path.write_text(path.read_text().replace("2017-02-30", "2017-02-28"))
    assert str(load_trial(path).analyses[0].data_cutoff) == "2017-02-28"


@pytest.mark.parametrize(("encode", "message", "line"), [
    (lambda text: text.replace("Testing", "Tésting").encode("latin-1"),
     "not UTF-8 text: byte 0xe9", 6),
    (lambda text: text.encode("utf-16"), "not UTF-8 text: byte 0xff", 1),
    (lambda text: text.replace("Testing", "Testing\x00").encode(),
     "character #x0000 is not allowed", 6),
])
def test_unreadable_text_names_file_and_line(trial_dir, capsys, encode, message, line):
    path = trial_dir / "demo.yaml"
    path.write_bytes(encode(path.read_text()))
    with pytest.raises(InputError, match=message) as info:
        load_trial(path)
    assert info.value.row == line and info.value.file == str(path)
    _cli_error(path, capsys)


@pytest.mark.parametrize("number", ["1" * 5000, "0x" + "f" * 5000])
def test_integer_too_long_for_python_names_file_and_line(trial_dir, capsys, number):
    path = _edit(trial_dir, "n: 100,", f"n: {number},")
    with pytest.raises(InputError) as info:
        load_trial(path)
    err = info.value
    assert err.file == str(path) and len(str(err)) < 400
    # Decimal digits beyond Python's limit fail in YAML (line known); hex ones read and fail
    # the field's bound.
    assert err.row == 16 or err.column == "arms.drugx.n"
    _cli_error(path, capsys)


def test_unquoted_figure_keeps_its_digits_and_warns(trial_dir):
    path = _edit(trial_dir, 'median: "4.0"', "median: 4.20")
    with pytest.warns(registry.UnquotedFigureWarning) as caught:
        t = load_trial(path)
    median = t.analyses[0].arms["placebo"].median
    assert median.text == "4.20" and median.decimals[0] == 2  # not YAML's 4.2
    message = str(caught[0].message)
    assert str(path) in message and "field 'arms.placebo.median'" in message
    assert "analysis demo/pfs/paper-2020" in message
    assert 'quote printed figures: median: "4.20"' in message


@pytest.mark.parametrize(("old", "new", "text"), [
    ('p_value: "<0.001"', "p_value: 0.0010", "0.0010"),
    ('p_value: "<0.001"', "p_value: {printed: 0.0010, sided: 1}", "0.0010"),
    ('median: "4.0"', "median: 4.0, landmarks: [{time: 12, percent: 40.10}]", "40.10"),
])
def test_every_printed_field_keeps_unquoted_digits(trial_dir, old, new, text):
    path = _edit(trial_dir, old, new)
    with pytest.warns(registry.UnquotedFigureWarning, match=f'"{text}"'):
        load_trial(path)


def test_quoted_figures_raise_no_warning(trial_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_trial(trial_dir / "demo.yaml")
        load_trial(DOCS / "trial-template.yaml")


def test_shipped_registry_every_record_loads_without_warning(registry_folder):
    assert registry_folder == paths.DATA / "trials"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        registry._load_all.cache_clear()
        assert registry.trials()


@pytest.mark.parametrize("tagged", ["!!float trial", "!!float ''", "!!bool maybe", "!!int abc",
                                    "!!float {a: 1}"])
def test_explicit_tag_on_the_wrong_text_names_the_line(trial_dir, capsys, tagged):
    # Found by tests/test_fuzz_yaml.py: PyYAML's constructors raise bare exceptions here.
    path = _edit(trial_dir, "company: Nobody", f"company: {tagged}")
    with pytest.raises(InputError, match="cannot read|not valid YAML") as info:
        load_trial(path)
    assert info.value.row == 3
    _cli_error(path, capsys)


def test_a_count_written_yes_is_refused_not_read_as_one():
    with pytest.raises(InputError, match="whole number, not true") as info:
        analysis_from_print(arms={"a": {"n": True, "median": "5.0"},
                                  "b": {"n": 10, "median": "4.0"}})
    assert info.value.column == "arms.a.n"


@pytest.mark.parametrize(("unit", "follow_up", "ok"), [
    ("months", 1200.0, True), ("months", 1201.0, False), ("years", 101.0, False),
    ("weeks", 5200.0, True), ("months", 1e300, False)])
def test_times_beyond_a_century_are_refused(unit, follow_up, ok):
    kwargs = {"arms": {"a": {"n": 10, "median": "5.0"}, "b": {"n": 10, "median": "4.0"}},
              "follow_up": follow_up, "time_unit": unit}
    if ok:
        analysis_from_print(**kwargs)
        return
    with pytest.raises(InputError, match="more than 100 years") as info:
        analysis_from_print(**kwargs)
    assert info.value.column == "follow_up"


def test_calendar_as_printed_gives_the_longest_follow_up(trial_dir):
    # Enrolment printed to the month, the cut-off to the day: 1 Mar 2019 to 31 Jan 2021 is
    # 366 (to 1 Mar 2020, a leap year) + 306 (to 1 Jan 2021) + 30 = 702 days, 703 counting
    # both ends; 703 / (365.25 / 12) = 23.10 months.
    path = _edit(trial_dir, "blinding: double-blind}",
                 'blinding: double-blind, enrolment_start: "2019-03", enrolment_end: "2020-06",'
                 " calendar_source: paper}")
    path = _edit(trial_dir, "    p_value:", "    data_cutoff: 2021-01-31\n    p_value:")
    a = load_trial(path).analyses[0]
    assert str(a.trial.design.enrolment_start) == "2019-03"
    bound = a.follow_up_bound
    assert bound.longest == pytest.approx(703 / 30.4375)
    assert "minus the first randomisation" in bound.reason
    # A printed longest follow-up shorter than the calendar allows is the bound.
    path.write_text(path.read_text().replace("    data_cutoff: 2021-01-31\n",
                                             "    data_cutoff: 2021-01-31\n"
                                             "    follow_up: 12.0\n    follow_up_max: 20.4\n"))
    a = load_trial(path).analyses[0]
    assert a.follow_up_bound.longest == 20.4
    assert a.half_unit("follow_up") == pytest.approx(0.05)  # "12.0": the written digits
    assert a.half_unit("follow_up_max") == pytest.approx(0.05)


@pytest.mark.parametrize(("design", "analysis", "column", "words"), [
    # The last randomisation before the first.
    ('enrolment_start: "2020-06", enrolment_end: "2019-03", calendar_source: paper', "",
     "design", "before enrolment_start"),
    # Dates without the source that prints them.
    ('enrolment_start: "2019-03"', "", None, "calendar_source"),
    # A cut-off before anyone was randomised.
    ('enrolment_start: "2019-03", calendar_source: paper', "    data_cutoff: 2019-01-31\n",
     None, "before design.enrolment_start"),
    # A longest follow-up shorter than the median.
    ("calendar_source: paper", "    follow_up: 12.0\n    follow_up_max: 10.0\n",
     "follow_up_max", "shorter than the median"),
    # A median printed beyond the longest follow-up the calendar allows (8.0 months after
    # 2019-03 is past a cut-off of 31 Mar 2019).
    ('enrolment_start: "2019-03", calendar_source: paper', "    data_cutoff: 2019-03-31\n",
     None, "beyond the longest follow-up"),
])
def test_calendar_that_cannot_be_is_refused_naming_the_field(trial_dir, capsys, design,
                                                            analysis, column, words):
    path = _edit(trial_dir, "blinding: double-blind}", f"blinding: double-blind, {design}}}")
    if analysis:
        path = _edit(trial_dir, "    p_value:", f"{analysis}    p_value:")
    with pytest.raises(InputError) as info:
        load_trial(path)
    assert words in info.value.message
    if column is not None:
        assert column in info.value.column
    _cli_error(path, capsys)


def test_shipped_registry_calendars_cite_a_source_and_fit_the_median_follow_up():
    calendars = 0
    for trial in registry.trials(SHIPPED_TRIALS).values():
        if trial.design.enrolment_start is not None:
            assert trial.design.calendar_source in trial.sources, trial.trial
        for a in trial.analyses:
            bound = a.follow_up_bound
            if bound is not None and bound.longest != float("inf"):
                calendars += 1
                assert a.follow_up is None or a.follow_up <= bound.longest, a.id
    # CheckMate 9ER, METEOR, CABOSUN, COSMIC-311 and CABINET print theirs.
    assert calendars >= 10
