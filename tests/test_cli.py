import json
import os
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from trialrecon import paths, registry
from trialrecon.cli import main


def test_check_json(capsys):
    assert main(["check", "cabinet/pnet/pfs/nejm-2025", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    se = next(r for r in rows if r["check"] == "SE of log HR")
    assert se["derived"] == "0.3196"


def test_check_trial_table(capsys):
    assert main(["check", "clarinet"]) == 0
    out = capsys.readouterr().out
    assert "clarinet/pfs/nejm-2014" in out and "verdict" in out


def test_unknown_trial_is_one_line_error(capsys):
    assert main(["check", "cabinett"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("trialrecon: error:") and "\n" not in err


# --------------------------------------------------------------------------- a user's trial file

OS_ANALYSIS = """\
  - version: paper-2021
    label: Paper 2021, overall survival
    endpoint: OS
    source: paper
    arms:
      drugx: {n: 100, median: "20.0 (15.0-26.0)"}
      placebo: {n: 50, median: "14.0 (10.0-19.0)"}
    hazard_ratio: {printed: "0.70 (0.47-1.04)", level: 95}
"""


@pytest.fixture
def user_file(trial_dir: Path) -> Path:
    """The demo trial under another name than its id, outside the registry."""
    path = trial_dir / "my-own-results.yaml"
    (trial_dir / "demo.yaml").rename(path)
    return path


@pytest.fixture
def two_analyses(user_file: Path) -> Path:
    user_file.write_text(user_file.read_text() + OS_ANALYSIS)
    return user_file


@pytest.fixture
def fake_fit(monkeypatch) -> list:
    """Replace simulate.fit_summary by a quick stub (no fitting); record calls."""
    calls = []

    def fit_summary(analysis, *, seed=0):
        calls.append(analysis)
        a = registry.get(analysis)  # an id or an Analysis, as the real one accepts
        names = a.arm_names
        return SimpleNamespace(
            analysis_id=a.id,
            ipd=pd.DataFrame({"time": [1.0, 2.5, 3.0], "event": [1, 0, 1],
                              "arm": [names[0], names[0], names[1]]}),
            describe=lambda: "stub model",
            table=pd.DataFrame({"quantity": ["N"], "arm": [names[0]], "reported": ["100"],
                                "reconstructed": [100.0], "difference": [0.0],
                                "tolerance": [0.0], "within": [True],
                                "calibrated": [True]}),
            misses=(), warnings=())

    module = types.ModuleType("trialrecon.simulate")
    module.fit_summary = fit_summary
    monkeypatch.setitem(sys.modules, "trialrecon.simulate", module)
    return calls


def test_check_user_file_with_any_name(user_file, capsys):
    before = set(registry.trials())
    assert main(["check", str(user_file), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["analysis_id"] for r in rows} == {"demo/pfs/paper-2020"}
    assert set(registry.trials()) == before


def test_check_mixes_files_and_registry_ids(two_analyses, capsys):
    assert main(["check", str(two_analyses), "cabinet/pnet/pfs/nejm-2025", "clarinet",
                 "--format", "json"]) == 0
    ids = {r["analysis_id"] for r in json.loads(capsys.readouterr().out)}
    assert {"demo/pfs/paper-2020", "demo/os/paper-2021", "cabinet/pnet/pfs/nejm-2025",
            "clarinet/pfs/nejm-2014"} <= ids


@pytest.mark.parametrize("pick", ["demo/os/paper-2021", "paper-2021"])
def test_check_analysis_picks_one_by_id_or_version(two_analyses, pick, capsys):
    assert main(["check", str(two_analyses), "--analysis", pick, "--format", "json"]) == 0
    assert {r["analysis_id"] for r in json.loads(capsys.readouterr().out)} == {
        "demo/os/paper-2021"}


def test_check_template_exits_0(capsys):
    assert main(["check", str(paths.ROOT / "docs" / "trial-template.yaml")]) == 0
    assert "example/itt/pfs/paper-2024" in capsys.readouterr().out


def test_simulate_several_analyses_needs_analysis(two_analyses, tmp_path, fake_fit, capsys):
    out = tmp_path / "ipd.csv"
    assert main(["simulate", str(two_analyses), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("trialrecon: error:") and "\n" not in err
    assert str(two_analyses) in err
    assert "demo/pfs/paper-2020" in err and "demo/os/paper-2021" in err
    assert not out.exists() and fake_fit == []


def test_simulate_user_file_with_analysis_writes_csv(two_analyses, tmp_path, fake_fit, capsys):
    out = tmp_path / "ipd.csv"
    assert main(["simulate", str(two_analyses), "--analysis", "demo/os/paper-2021",
                 "-o", str(out)]) == 0
    assert [a.id for a in fake_fit] == ["demo/os/paper-2021"]
    assert fake_fit[0].citation == "Someone. J Test 2020;1:1-2."
    ipd = pd.read_csv(out)
    assert list(ipd.columns) == ["time", "event", "arm"] and len(ipd) == 3
    assert "demo/os/paper-2021: 3 pseudo patients" in capsys.readouterr().out


def test_simulate_single_analysis_file_needs_no_choice(user_file, tmp_path, fake_fit):
    assert main(["simulate", str(user_file), "-o", str(tmp_path / "ipd.csv")]) == 0
    assert [a.id for a in fake_fit] == ["demo/pfs/paper-2020"]


def test_simulate_registry_id_as_before(tmp_path, fake_fit):
    assert main(["simulate", "cabinet/pnet/pfs/nejm-2025", "-o", str(tmp_path / "x.csv")]) == 0
    assert fake_fit == ["cabinet/pnet/pfs/nejm-2025"]


@pytest.mark.parametrize("command", ["check", "simulate"])
def test_missing_file_names_it(command, tmp_path, capsys):
    missing = tmp_path / "no-such-trial.yaml"
    argv = [command, str(missing)] + (["-o", str(tmp_path / "x.csv")] if command == "simulate"
                                      else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert str(missing) in err and "no such file" in err and "\n" not in err


def test_unknown_analysis_in_file_lists_ids(two_analyses, tmp_path, capsys):
    assert main(["simulate", str(two_analyses), "--analysis", "nejm-2025",
                 "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "'nejm-2025'" in err and "demo/pfs/paper-2020, demo/os/paper-2021" in err


def test_analysis_option_needs_a_file(tmp_path, capsys):
    assert main(["simulate", "cabinet/pnet/pfs/nejm-2025", "--analysis", "x",
                 "-o", str(tmp_path / "x.csv")]) == 2
    assert main(["check", "cabinet", "--analysis", "nejm-2025"]) == 2
    assert capsys.readouterr().err.count("trialrecon: error: --analysis") == 2


def test_simulate_template_end_to_end(tmp_path, capsys):
    out = tmp_path / "ipd.csv"
    template = paths.ROOT / "docs" / "trial-template.yaml"
    assert main(["simulate", str(template), "--analysis", "example/itt/pfs/paper-2024",
                 "-o", str(out)]) == 0
    ipd = pd.read_csv(out)
    assert ipd.arm.value_counts().to_dict() == {"drugx": 200, "placebo": 100}
    assert "example/itt/pfs/paper-2024: 300 pseudo patients" in capsys.readouterr().out


def test_simulate_seed_moves_the_band_and_not_the_patients(tmp_path):
    def run(*seed):
        out, band = tmp_path / f"ipd{'-'.join(seed)}.csv", tmp_path / f"band{'-'.join(seed)}.csv"
        assert main(["simulate", "cabinet/pnet/pfs/nejm-2025", "-o", str(out),
                     "--band", str(band), *seed]) == 0
        return pd.read_csv(out), pd.read_csv(band)

    ipd, band = run()
    same_ipd, same_band = run("--seed", "0")
    other_ipd, other_band = run("--seed", "5")
    pd.testing.assert_frame_equal(band, same_band)  # 0 is the default
    # The pseudo patients (and the band's estimate, their Kaplan-Meier curve) stay ...
    pd.testing.assert_frame_equal(ipd, other_ipd)
    pd.testing.assert_series_equal(band.estimate, other_band.estimate)
    # ... the draws behind the band move.
    assert (band.lower - other_band.lower).abs().max() > 1e-3
    assert (band.upper - other_band.upper).abs().max() > 1e-3


def test_simulate_seed_without_band_is_refused(tmp_path, fake_fit, capsys):
    out = tmp_path / "ipd.csv"
    assert main(["simulate", "cabinet/pnet/pfs/nejm-2025", "--seed", "3", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("trialrecon: error: --seed") and "--band" in err and "\n" not in err
    assert not out.exists() and fake_fit == []


def test_report_has_no_all_option(monkeypatch, capsys):
    # Every page is the default; --all said nothing more and is gone. (Nothing is built
    # either way: the builder is a stub.)
    from trialrecon import report

    built = []
    monkeypatch.setattr(report, "build_report", lambda **kw: built.append(kw) or 0)
    with pytest.raises(SystemExit) as exc:
        main(["report", "--all"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --all" in capsys.readouterr().err
    assert main(["report", "--jobs", "3"]) == 0
    assert built == [{"trials": None, "jobs": 3}]


def test_compare_reads_the_arm_column_of_one_file(tmp_path, capsys):
    both = pd.DataFrame({"time": [1.0, 4.0, 6.0, 10.0, 2.0, 5.0, 12.0, 20.0],
                         "event": [1, 0, 1, 0, 1, 1, 0, 0],
                         "arm": ["new"] * 4 + ["old"] * 4})
    path = tmp_path / "both.csv"
    both.to_csv(path, index=False)
    assert main(["compare", str(path), "--landmarks", "5", "15", "--format", "json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    arms = {r["arm"]: r for r in rows if r["table"] == "arms"}
    assert (arms["new"]["n"], arms["old"]["n"]) == (4, 4)  # not pooled into one arm of 8
    assert "WARNING: survival at 15 not estimable for new" in captured.err


def test_compare_refuses_a_file_of_two_arms_beside_another(tmp_path, capsys):
    both = pd.DataFrame({"time": [1.0, 2.0], "event": [1, 0], "arm": ["x", "y"]})
    one = pd.DataFrame({"time": [1.0, 2.0], "event": [1, 0]})
    both.to_csv(tmp_path / "both.csv", index=False)
    one.to_csv(tmp_path / "one.csv", index=False)
    assert main(["compare", str(tmp_path / "both.csv"), str(tmp_path / "one.csv")]) == 2
    err = capsys.readouterr().err
    assert "both.csv" in err and "2 arms" in err and len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- reconstruct


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_reconstruct_default_method_meets_the_table_and_guyot_is_kept(tmp_path, capsys):
    # 10 patients; the curve falls to 0.6 by 4 months; 7 still at risk at 2 months.
    curve = _write(tmp_path / "a_curve.csv", "time,survival\n0,1\n1,0.9\n2,0.8\n3,0.7\n4,0.6\n")
    risk = _write(tmp_path / "a_at_risk.csv", "time,n_at_risk\n0,10\n2,7\n")
    out = tmp_path / "ipd.csv"
    assert main(["reconstruct", curve, "--at-risk", risk, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(method integer, read as feet)" in text  # one event per 0.1 drop: feet
    ipd = pd.read_csv(out)
    assert len(ipd) == 10 and int((ipd.time >= 2).sum()) == 7
    assert main(["reconstruct", curve, "--at-risk", risk, "-o", str(out),
                 "--method", "guyot"]) == 0
    assert "(method guyot)" in capsys.readouterr().out


def test_reconstruct_reads_censoring_marks(tmp_path, capsys):
    curve = _write(tmp_path / "c.csv", "time,survival\n0,1\n10,1\n")
    risk = _write(tmp_path / "r.csv", "time,n_at_risk\n0,10\n5,6\n")
    marks = _write(tmp_path / "m.csv", "time\n4\n1\n3\n2\n")
    out = tmp_path / "ipd.csv"
    assert main(["reconstruct", curve, "--at-risk", risk, "--censor-marks", marks,
                 "-o", str(out)]) == 0
    ipd = pd.read_csv(out)
    assert sorted(ipd.time[ipd.time < 5]) == [1, 2, 3, 4]
    bad = _write(tmp_path / "bad.csv", "when\n1\n")
    assert main(["reconstruct", curve, "--at-risk", risk, "--censor-marks", bad,
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.csv" in err and "'time'" in err and "\n" not in err


def test_reconstruct_follows_an_unclicked_tail_as_far_as_the_other_arm(tmp_path, capsys):
    # Arm a ends in a drop at 4 (its tail's end not clicked) with 6 still at risk; the other
    # arm is followed to 9, so a's patients still at risk are followed to 9, not censored at 4.
    curve = _write(tmp_path / "a.csv", "time,survival\n0,1\n1,0.9\n2,0.8\n3,0.7\n4,0.6\n")
    risk = _write(tmp_path / "a_risk.csv", "time,n_at_risk\n0,10\n2,8\n")
    other = _write(tmp_path / "b.csv", "time,survival\n0,1\n5,0.9\n9,0.9\n")
    other_risk = _write(tmp_path / "b_risk.csv", "time,n_at_risk\n0,10\n2,10\n")
    out = tmp_path / "ipd.csv"
    assert main(["reconstruct", curve, "--at-risk", risk, "--other-arm", other, other_risk,
                 "-o", str(out)]) == 0
    assert "follow-up assumed to go on to 9" in capsys.readouterr().err
    ipd = pd.read_csv(out)
    assert len(ipd) == 10 and ipd.time.max() == pytest.approx(9.0)
    assert main(["reconstruct", curve, "--at-risk", risk, "--other-arm", curve, other_risk,
                 "-o", str(out)]) == 2
    _one_line_error(capsys, "a.csv", "two arms")
    assert main(["reconstruct", curve, "--n-patients", "10", "--other-arm", other, other_risk,
                 "-o", str(out)]) == 2
    _one_line_error(capsys, "--at-risk")


def test_reconstruct_takes_a_stated_convention(tmp_path, capsys):
    # Tops of each drop: one death of 10 at 1, 2, 3 and 4; stated, the deaths fall at the
    # clicks; read as feet they would fall one click late.
    curve = _write(tmp_path / "c.csv", "time,survival\n0,1\n1,1\n2,0.9\n3,0.8\n4,0.7\n6,0.6\n")
    risk = _write(tmp_path / "r.csv", "time,n_at_risk\n0,10\n")
    out = tmp_path / "ipd.csv"
    assert main(["reconstruct", curve, "--at-risk", risk, "--convention", "tops",
                 "-o", str(out)]) == 0
    assert "read as tops" in capsys.readouterr().out
    ipd = pd.read_csv(out)
    assert sorted(ipd.time[ipd.event == 1]) == pytest.approx([1.0, 2.0, 3.0, 4.0])


# --------------------------------------------------------------------------- hardening


@pytest.fixture
def arm_files(tmp_path):
    curve = _write(tmp_path / "c.csv", "time,survival\n0,1\n1,0.9\n2,0.8\n3,0.7\n4,0.6\n")
    risk = _write(tmp_path / "r.csv", "time,n_at_risk\n0,10\n2,7\n")
    return curve, risk


def _one_line_error(capsys, *needles):
    # Notes on the reconstruction may come first; the error is one line.
    err = [x for x in capsys.readouterr().err.strip().splitlines() if not x.startswith("note:")]
    assert len(err) == 1 and err[0].startswith("trialrecon: error:"), err
    for needle in needles:
        assert needle in err[0]
    return err[0]


def test_an_output_equal_to_an_input_is_refused(arm_files, capsys):
    curve, risk = arm_files
    before = Path(curve).read_text()
    assert main(["reconstruct", curve, "--at-risk", risk, "-o", curve]) == 2
    _one_line_error(capsys, "c.csv", "also an input")
    assert Path(curve).read_text() == before


def test_only_regular_files_are_replaced(arm_files, tmp_path, capsys):
    # A named pipe stands in for a device such as /dev/full (which the old code, run as root,
    # replaced by a regular file): a test must never put a real device at risk.
    curve, risk = arm_files
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    assert main(["reconstruct", curve, "--at-risk", risk, "-o", str(pipe)]) == 2
    _one_line_error(capsys, "pipe", "not a regular file")
    assert pipe.is_fifo()
    assert main(["reconstruct", curve, "--at-risk", risk, "-o", str(tmp_path)]) == 2
    _one_line_error(capsys, "not a regular file")


def test_write_errors_are_one_line_and_leave_no_temporary_file(arm_files, tmp_path, capsys):
    curve, risk = arm_files
    missing = tmp_path / "no" / "such" / "folder" / "ipd.csv"
    assert main(["reconstruct", curve, "--at-risk", risk, "-o", str(missing)]) == 2
    _one_line_error(capsys, str(missing), "cannot be written")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere: a file in the way instead
            (locked / "ipd.csv").mkdir()
        assert main(["reconstruct", curve, "--at-risk", risk, "-o",
                     str(locked / "ipd.csv")]) == 2
        capsys.readouterr()
        assert [p.name for p in locked.iterdir() if p.name.endswith(".tmp")] == []
    finally:
        locked.chmod(0o700)


def test_dash_writes_to_standard_output(arm_files, tmp_path, capsys, monkeypatch):
    curve, risk = arm_files
    monkeypatch.chdir(tmp_path)
    assert main(["reconstruct", curve, "--at-risk", risk, "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "time,event" and len(out.splitlines()) == 11
    assert not (tmp_path / "-").exists()


def test_patient_counts_beyond_any_trial_are_refused_up_front(arm_files, tmp_path, capsys):
    curve, _ = arm_files
    huge = _write(tmp_path / "huge.csv", "time,n_at_risk\n0,4100000000\n2,10\n")
    assert main(["reconstruct", curve, "--at-risk", huge, "-o", str(tmp_path / "o.csv")]) == 2
    _one_line_error(capsys, "huge.csv", "row 2", "10,000,000")
    assert main(["reconstruct", curve, "--n-patients", "2000000000",
                 "-o", str(tmp_path / "o.csv")]) == 2
    _one_line_error(capsys, "n_patients", "10,000,000")


@pytest.mark.parametrize("option", [["--tau", "-5"], ["--tau", "nan"], ["--landmarks", "inf"],
                                    ["--landmarks", "12", "-3"]])
def test_compare_refuses_horizons_that_are_no_times(tmp_path, capsys, option):
    a = _write(tmp_path / "a.csv", "time,event\n1,1\n2,0\n3,1\n")
    b = _write(tmp_path / "b.csv", "time,event\n1,0\n2,1\n4,1\n")
    assert main(["compare", a, b, *option]) == 2
    _one_line_error(capsys, "finite time above 0")


def test_compare_says_when_the_hazard_ratio_cannot_be_estimated(tmp_path, capsys):
    a = _write(tmp_path / "a.csv", "time,event\n1,0\n2,0\n3,0\n")
    b = _write(tmp_path / "b.csv", "time,event\n1,1\n2,1\n4,1\n")
    assert main(["compare", a, b]) == 0
    captured = capsys.readouterr()
    assert "WARNING: hazard ratio not estimable: no events in a" in captured.err
    row = next(line for line in captured.out.splitlines() if line.strip().startswith("hazard"))
    assert "not estimable" in row


def test_total_events_out_of_reach_is_said_on_the_command_line(arm_files, tmp_path, capsys):
    curve, risk = arm_files
    assert main(["reconstruct", curve, "--at-risk", risk, "--total-events", "0",
                 "-o", str(tmp_path / "o.csv")]) == 0
    assert "note: total events 0 could not be honoured" in capsys.readouterr().err


# --------------------------------------------------------------------------- listing, ids, output


def test_trials_lists_each_trial_with_its_analysis_ids(capsys):
    assert main(["trials"]) == 0
    lines = capsys.readouterr().out.splitlines()
    cabinet = registry.get_trial("cabinet")
    head = lines.index(f"cabinet  {cabinet.name}")
    ids = registry.analysis_ids("cabinet")
    assert lines[head + 1:head + 1 + len(ids)] == [f"  {i}" for i in ids]
    assert main(["trials", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["trial"] for r in rows] == list(registry.trials())
    assert rows[0] == {"trial": rows[0]["trial"], "name": registry.get_trial(rows[0]["trial"]).name,
                       "analyses": registry.analysis_ids(rows[0]["trial"])}


def test_ids_are_read_in_any_case_and_printed_in_lower_case(tmp_path, fake_fit, capsys):
    assert main(["check", "cabinet", "--format", "json"]) == 0
    lower = json.loads(capsys.readouterr().out)
    assert main(["check", "CABINET", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == lower
    assert main(["check", "Cabinet/PNET/PFS/NEJM-2025", "--format", "json"]) == 0
    assert {r["analysis_id"] for r in json.loads(capsys.readouterr().out)} == {
        "cabinet/pnet/pfs/nejm-2025"}
    assert registry.get("CLARINET/PFS/NEJM-2014").id == "clarinet/pfs/nejm-2014"
    assert main(["simulate", "CLARINET/PFS/NEJM-2014", "-o", str(tmp_path / "x.csv")]) == 0
    assert fake_fit == ["clarinet/pfs/nejm-2014"]
    assert "clarinet/pfs/nejm-2014: 3 pseudo patients" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["check", "nosuchtrial"], ["simulate", "nosuchtrial"],
                                  ["check", "zzz/qqq"]])
def test_unknown_ids_point_to_a_command_not_a_python_call(argv, tmp_path, fake_fit, capsys):
    if argv[0] == "simulate":
        argv = [*argv, "-o", str(tmp_path / "x.csv")]
    assert main(argv) == 2
    err = _one_line_error(capsys, "'" + argv[1] + "'", "list them with: trialrecon trials")
    assert "registry." not in err and "()" not in err
    if argv[0] == "check":
        assert f"unknown trial or analysis id '{argv[1]}'" in err
    assert fake_fit == []


@pytest.mark.parametrize("columns", [100, 60])
def test_check_table_fits_the_terminal_and_cuts_nothing(columns, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["check", "cabinet", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert main(["check", "cabinet"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= columns
    assert "…" not in out and "..." not in out
    printed = out.split()
    for row in rows:
        for key in ("analysis_id", "check", "reported", "derived", "verdict", "reason"):
            for word in row[key].split():  # every word of every cell, whole
                assert word in printed, (key, word)


def test_check_verdict_keeps_only_those_rows(capsys):
    assert main(["check", "cabinet", "--verdict", "inconsistent", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["verdict"] for r in rows} == {"inconsistent"}
    assert main(["check", "cabinet", "--verdict", "not-testable,questionable",
                 "--verdict", "inconsistent", "--format", "json"]) == 0
    verdicts = {r["verdict"] for r in json.loads(capsys.readouterr().out)}
    assert verdicts <= {"not testable", "questionable", "inconsistent"}
    assert "not testable" in verdicts and "inconsistent" in verdicts
    assert main(["check", "cabinet", "--verdict", "inconsistent"]) == 0
    table = capsys.readouterr().out
    assert "inconsistent" in table and " consistent" not in table
    assert main(["check", "cabinet", "--verdict", "fine"]) == 2
    _one_line_error(capsys, "'fine'", "consistent, questionable, inconsistent, not testable")


def test_json_output_is_clean(capsys):
    from trialrecon.cli import _emit

    assert main(["check", "cabinet/epnet/pfs/nejm-2025", "--format", "json"]) == 0
    raw = capsys.readouterr().out
    assert "cabinet/epnet/pfs/nejm-2025" in raw and "\\/" not in raw
    frame = pd.DataFrame({"id": ["a/b", "é"], "x": [float("nan"), float("inf")], "n": [1, 2]})
    _emit(frame, "json")
    raw = capsys.readouterr().out
    assert "é" in raw and "\\/" not in raw and "NaN" not in raw and "Infinity" not in raw
    assert json.loads(raw) == [{"id": "a/b", "x": None, "n": 1}, {"id": "é", "x": None, "n": 2}]


# --------------------------------------------------------------------------- extrapolate


@pytest.fixture
def ipd_file(tmp_path):
    rng = np.random.default_rng(7)
    frames = []
    for arm, rate in (("drug", 0.05), ("placebo", 0.1)):
        t = rng.exponential(1 / rate, 150)
        c = rng.uniform(0, 30, 150)
        frames.append(pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                                    "arm": arm}))
    path = tmp_path / "ipd.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def test_extrapolate_writes_the_table_and_matches_the_exponential_closed_form(
        ipd_file, tmp_path, capsys):
    out = tmp_path / "table.csv"
    assert main(["extrapolate", str(ipd_file), "--horizon", "60", "--models",
                 "exponential,weibull", "-o", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "restricted mean to 60 months" in shown and "AIC prefers" in shown
    table = pd.read_csv(out)
    assert list(table.model) == ["exponential", "weibull"] * 2
    ipd = pd.read_csv(ipd_file)
    for arm, rows in ipd.groupby("arm"):
        rate = rows.event.sum() / rows.time.sum()  # the exponential MLE
        row = table[(table.arm == arm) & (table.model == "exponential")].iloc[0]
        assert row.rmst == pytest.approx((1 - np.exp(-rate * 60)) / rate, rel=1e-6)
        assert row.survival_12 == pytest.approx(np.exp(-rate * 12), rel=1e-6)


def test_extrapolate_bad_inputs_are_one_line_errors(ipd_file, tmp_path, capsys):
    assert main(["extrapolate", str(ipd_file), "--horizon", "60", "--models", "weibul"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'weibul'" in err and "weibull" in err and "Traceback" not in err
    bad = tmp_path / "bad.csv"
    text = ipd_file.read_text().splitlines()
    text[3] = text[3].rsplit(",", 2)[0] + ",2,drug"
    bad.write_text("\n".join(text) + "\n")
    assert main(["extrapolate", str(bad), "--horizon", "60"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "row 4" in err and "event" in err
    assert main(["extrapolate", str(ipd_file), "--horizon", "-1"]) == 2
    assert "horizon must be a positive number" in capsys.readouterr().err


# --------------------------------------------------------------------------- hardening, round two

TEMPLATE = paths.ROOT / "docs" / "trial-template.yaml"
PFS = "example/itt/pfs/paper-2024"


def _template(tmp_path: Path, name: str = "t.yaml", **swaps: str) -> Path:
    """The documented template with some printed text swapped (``old=new`` pairs)."""
    text = TEMPLATE.read_text(encoding="utf-8")
    for old, new in swaps.values():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("trialrecon: error:") and "\n" not in err, err
    assert "Traceback" not in err
    return err


def test_a_null_trial_returns(tmp_path, capsys, hang_guard):
    # A warning raised while the command ran once made the command line loop for ever.
    trial = _template(
        tmp_path, e1=("events: 136", "events: 150"), e2=("events: 88", "events: 75"),
        m1=('"10.8 (9.0-12.9)"', '"8.0 (6.6-9.6)"'), m2=('"5.6 (4.2-7.0)"', '"8.1 (6.2-10.1)"'),
        r1=('"46.3 (39.2-53.1)"', '"36.0 (29.0-43.0)"'),
        r2=('"22.5 (14.8-31.2)"', '"36.5 (27.0-46.0)"'),
        hr=('"0.52 (0.39-0.70)"', '"1.00 (0.75-1.33)"'), p=('printed: "<0.001"', 'printed: "1.00"'))
    with hang_guard(120):
        assert main(["simulate", str(trial), "--analysis", PFS, "-o", str(tmp_path / "o.csv")]) == 0
    err = capsys.readouterr().err
    # Nothing but warnings meant for the user: no numerical warning of the library's.
    assert "RuntimeWarning" not in err
    assert len(pd.read_csv(tmp_path / "o.csv")) == 300


def _small_inputs(tmp_path: Path) -> dict[str, list[str]]:
    rng = np.random.default_rng(0)
    t = rng.exponential(10.0, 60)
    ipd = pd.DataFrame({"time": t.round(3), "event": (t < 15).astype(int),
                        "arm": ["a"] * 30 + ["b"] * 30})
    ipd.to_csv(tmp_path / "ipd.csv", index=False)
    (tmp_path / "curve.csv").write_text("time,survival\n0,1\n1,0.9\n2,0.8\n3,0.7\n")
    return {
        "trials": ["trials"],
        "check": ["check", "clarinet"],
        "reconstruct": ["reconstruct", str(tmp_path / "curve.csv"), "--n-patients", "10",
                        "-o", str(tmp_path / "r.csv")],
        "compare": ["compare", str(tmp_path / "ipd.csv")],
        "simulate": ["simulate", str(TEMPLATE), "--analysis", PFS, "-o",
                     str(tmp_path / "s.csv")],
        "extrapolate": ["extrapolate", str(tmp_path / "ipd.csv"), "--horizon", "60",
                        "--models", "exponential"],
        "report": ["report", "--trial", "no-such-trial"],
    }


@pytest.mark.parametrize("command", ["trials", "check", "reconstruct", "compare", "simulate",
                                     "extrapolate", "report"])
def test_warnings_are_shown_once_each_and_never_change_the_exit(tmp_path, capsys, monkeypatch,
                                                                 hang_guard, command):
    import warnings

    from trialrecon import cli

    argv = _small_inputs(tmp_path)[command]
    with hang_guard(120):
        expected = main(argv)
    capsys.readouterr()
    original = cli.COMMANDS[command]

    def warned(args):
        for _ in range(3):
            warnings.warn("said three times", UserWarning, stacklevel=1)
        warnings.warn("a numerical warning", RuntimeWarning, stacklevel=1)
        return original(args)

    monkeypatch.setitem(cli.COMMANDS, command, warned)
    with hang_guard(120):
        assert main(argv) == expected
    err = capsys.readouterr().err
    assert err.count("trialrecon: warning: said three times") == 1
    assert err.count("trialrecon: warning: RuntimeWarning: a numerical warning") == 1


@pytest.mark.parametrize(("swap", "field"), [
    (('printed: "<0.001"', 'printed: "1e-99999"'), "p_value.printed"),
    (("events: 136", "events: 0"), "hazard_ratio"),
    (("n: 200 ", "n: yes "), "arms.drugx.n"),
])
def test_bad_prints_are_one_line_errors_naming_file_and_field(tmp_path, capsys, swap, field):
    trial = _template(tmp_path, swap=swap)
    if swap[1] == "events: 0":  # an HR with no event in either arm
        trial = _template(tmp_path, a=swap, b=("events: 88", "events: 0"),
                          c=("events_total: 224", "events_total: 0"))
    assert main(["simulate", str(trial), "--analysis", PFS,
                 "-o", str(tmp_path / "o.csv")]) == 2
    err = _error_line(capsys)
    assert "t.yaml" in err and f"field '{field}'" in err
    assert not (tmp_path / "o.csv").exists()


def test_p_printed_as_zero_is_below_half_its_last_digit(tmp_path, capsys):
    trial = _template(tmp_path, p=('printed: "<0.001"', 'printed: "0.000"'))
    assert main(["check", str(trial), "--analysis", PFS, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # 0.52 (0.39-0.70) implies p of about 1e-5: within "0.000" (below 0.0005), not 4e294 off.
    p_rows = [r for r in rows if "p" in r["check"].lower() and r["verdict"] == "inconsistent"]
    assert not p_rows, p_rows


def test_extrapolate_bad_models_zero_times_and_seed(tmp_path, capsys):
    (tmp_path / "z.csv").write_text("time,event\n0,1\n0,1\n0,0\n")
    (tmp_path / "ok.csv").write_text("time,event\n1,1\n2,1\n3,0\n4,1\n")
    assert main(["extrapolate", str(tmp_path / "ok.csv"), "--horizon", "10",
                 "--models", ","]) == 2
    assert "--models" in _error_line(capsys)
    assert main(["extrapolate", str(tmp_path / "z.csv"), "--horizon", "10"]) == 2
    err = _error_line(capsys)
    assert "z.csv" in err and "column 'time'" in err
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", str(TEMPLATE), "--analysis", PFS, "-o", str(tmp_path / "o.csv"),
              "--band", str(tmp_path / "b.csv"), "--seed", "-1"])
    assert exit_.value.code == 2
    assert "--seed" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("argv", [["check", "clarinet"],
                                  ["extrapolate", "{ipd}", "--horizon", "10", "--models",
                                   "exponential"],
                                  ["reconstruct", "{curve}", "--n-patients", "10", "-o", "-"]])
def test_a_full_output_is_one_line_not_a_traceback(tmp_path, argv):
    import subprocess

    ipd, curve = tmp_path / "ipd.csv", tmp_path / "curve.csv"
    ipd.write_text("time,event\n1,1\n2,1\n3,0\n4,1\n")
    curve.write_text("time,survival\n0,1\n1,0.9\n2,0.8\n")
    argv = [a.format(ipd=ipd, curve=curve) for a in argv]
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "trialrecon.cli", *argv], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=600,
                              env={**os.environ, "TRIALRECON_TRIALS": str(paths.TRIALS)})
    assert done.returncode == 1
    lines = [x for x in done.stderr.splitlines() if not x.startswith("note:")]
    assert lines == ["trialrecon: error: standard output: cannot be written (No space left "
                     "on device)"], done.stderr


def test_band_and_output_naming_one_file_is_refused_before_any_write(tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", str(TEMPLATE), "--analysis", PFS, "-o", "o1.csv",
                 "--band", "./o1.csv"]) == 2
    assert "same output" in _error_line(capsys)
    assert not (tmp_path / "o1.csv").exists()


def test_terminal_never_receives_control_sequences_from_data(tmp_path, capsys, monkeypatch):
    # YAML's own escapes: the file is plain text, the name it holds is not.
    name = "EVIL\\x1b]0;owned\\x07\\x1b[2J trial \\u202eREVERSED"
    text = TEMPLATE.read_text(encoding="utf-8").replace(
        "name: EXAMPLE-1 (a made-up phase 3 trial)", f'name: "{name}"')
    folder = tmp_path / "trials"
    folder.mkdir()
    (folder / "example.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(paths, "TRIALS", folder)
    assert main(["trials"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b]0;owned\\x07" in out and "\\u202e" in out


def test_a_huge_cell_is_quoted_briefly(tmp_path, capsys):
    (tmp_path / "c.csv").write_text("time,survival\n0,1\n1," + "x" * 5_000_000 + "\n")
    assert main(["reconstruct", str(tmp_path / "c.csv"), "--n-patients", "5",
                 "-o", str(tmp_path / "o.csv")]) == 2
    err = _error_line(capsys)
    assert len(err) < 1200 and "c.csv" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_a_device_is_refused_before_it_is_read(tmp_path, capsys, hang_guard):
    with hang_guard(60):
        assert main(["reconstruct", "/dev/zero", "--n-patients", "5",
                     "-o", str(tmp_path / "o.csv")]) == 2
    assert "not a regular file" in _error_line(capsys)


def test_errors_about_an_arm_or_marks_name_their_file(tmp_path, capsys):
    (tmp_path / "z1.csv").write_text("time,event\n0,1\n0,0\n")
    (tmp_path / "z2.csv").write_text("time,event\n1,1\n2,0\n")
    assert main(["compare", str(tmp_path / "z1.csv"), str(tmp_path / "z2.csv")]) == 2
    assert "z1.csv" in _error_line(capsys)
    (tmp_path / "c.csv").write_text("time,survival\n0,1\n1,0.9\n2,0.8\n3,0.7\n")
    (tmp_path / "marks.csv").write_text("time\n50\n")
    assert main(["reconstruct", str(tmp_path / "c.csv"), "--n-patients", "10",
                 "--censor-marks", str(tmp_path / "marks.csv"),
                 "-o", str(tmp_path / "o.csv")]) == 2
    assert "marks.csv" in _error_line(capsys)


def test_an_at_risk_table_the_curve_cannot_meet_gets_a_note(tmp_path, capsys):
    # Nobody leaves the risk set before time 3, yet the curve halves by then.
    (tmp_path / "c.csv").write_text("time,survival\n0,1\n1,0.8\n2,0.6\n3,0.5\n4,0.5\n")
    (tmp_path / "r.csv").write_text("time,n_at_risk\n0,10\n3,10\n")
    assert main(["reconstruct", str(tmp_path / "c.csv"), "--at-risk", str(tmp_path / "r.csv"),
                 "-o", str(tmp_path / "o.csv")]) == 0
    notes = [x for x in capsys.readouterr().err.splitlines() if x.startswith("note:")]
    assert any("from the digitised one" in x for x in notes), notes


def test_times_no_follow_up_can_reach_are_refused(tmp_path, capsys):
    pd.DataFrame({"time": [1e301, 2e301, 3e301, 4e301], "event": [1, 0, 1, 1],
                  "arm": ["a", "a", "b", "b"]}).to_csv(tmp_path / "big.csv", index=False)
    assert main(["compare", str(tmp_path / "big.csv")]) == 2
    err = _error_line(capsys)
    assert "big.csv" in err and "row 2" in err and "column 'time'" in err


def test_a_landmark_printed_as_zero_percent_is_rebuilt(tmp_path, capsys):
    # Found by the fuzz test: tuning a 0% rate took log(0).
    trial = _template(tmp_path, r=('percent: "21.3 (15.2-28.1)"', 'percent: "0.0"'))
    assert main(["simulate", str(trial), "--analysis", PFS,
                 "-o", str(tmp_path / "o.csv")]) == 0
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(("horizon", "models", "unit"), [
    ("1", "weibull,gompertz", "days"),      # a Gompertz's cumulative hazard overflows
    ("0.001", "gamma,loglogistic", "years"),  # a CI of survival beyond floating point
])
def test_extrapolation_far_beyond_the_data_warns_the_user_of_nothing_numerical(
        tmp_path, capsys, horizon, models, unit):
    # Found by the fuzz test: times of 1e-6 to 1e4 of the horizon's unit.
    rng = np.random.default_rng(3)
    scale = 1e-6 if unit == "days" else 1e4
    pd.DataFrame({"time": rng.uniform(0, 50, 40) * scale, "event": rng.integers(0, 2, 40),
                  "arm": ["a", "b"] * 20}).to_csv(tmp_path / "ipd.csv", index=False)
    code = main(["extrapolate", str(tmp_path / "ipd.csv"), "--horizon", horizon,
                 "--models", models, "--time-unit", unit])
    err = capsys.readouterr().err
    assert code == 0 and "RuntimeWarning" not in err and "Traceback" not in err, err


def test_a_horizon_beyond_a_century_is_refused(tmp_path, capsys):
    pd.DataFrame({"time": [1.0, 2.0, 3.0, 4.0], "event": [1, 1, 0, 1]}).to_csv(
        tmp_path / "ipd.csv", index=False)
    assert main(["extrapolate", str(tmp_path / "ipd.csv"), "--horizon", "1e300"]) == 2
    assert "more than 100 years" in _error_line(capsys)


def test_a_landmark_printed_as_not_reached_constrains_nothing(tmp_path, capsys):
    # Found by the fuzz test: a rate printed "NR" was divided by 100.
    trial = _template(tmp_path, r=('percent: "21.3 (15.2-28.1)"', 'percent: "NR"'))
    assert main(["simulate", str(trial), "--analysis", PFS,
                 "-o", str(tmp_path / "o.csv")]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_extrapolate_writes_a_model_workbook(tmp_path, capsys):
    from openpyxl import load_workbook

    rng = np.random.default_rng(4)
    frames = []
    for arm, scale in (("control", 8.0), ("drug", 12.0)):
        t = scale * rng.weibull(1.1, 120)
        c = rng.uniform(3, 30, 120)
        frames.append(pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                                    "arm": arm}))
    ipd = tmp_path / "ipd.csv"
    pd.concat(frames).to_csv(ipd, index=False)
    out = tmp_path / "model.xlsx"
    assert main(["extrapolate", str(ipd), "--horizon", "120", "--models", "weibull",
                 "--xlsx", str(out), "--cycle", "0.5", "--age", "70"]) == 0
    book = load_workbook(out)
    rows = list(book["Survival control"].iter_rows(values_only=True))
    assert len(rows) == 1 + 241 and rows[2][1] == 0.5
    assert "Joint models" in book.sheetnames
    cover = {r[0]: r[1] for r in book["Cover"].iter_rows(values_only=True)}
    assert "age 70 years, 50% men" in cover["General-population mortality"]
