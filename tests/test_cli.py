import json

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
