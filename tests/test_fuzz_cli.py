"""Fuzzing every subcommand through ``trialrecon.cli.main``: whatever a user gives, the
command exits 0 with a result or 2 with one line on standard error; it never raises, never
hangs, and shows no warning that is not meant for the user (a numerical warning of the
library's, ``trialrecon: warning: RuntimeWarning: ...``, fails the test).

The suite runs a few examples per subcommand; ``make fuzz`` runs this module, the CSV and
the YAML fuzz tests with ``FUZZ_EXAMPLES=2000`` (simulate, which takes seconds per example,
gets a fortieth of that).
"""

from __future__ import annotations

import os
import re

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trialrecon import paths, report
from trialrecon.cli import main

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
TEMPLATE = (paths.ROOT / "docs" / "trial-template.yaml").read_text(encoding="utf-8")
PFS = "example/itt/pfs/paper-2024"
#: A warning the user was not meant to see: any category but UserWarning's (which the command
#: line prints without a category).
LIBRARY_WARNING = re.compile(r"^trialrecon: warning: \w+: ", re.MULTILINE)


def fuzz(examples: int = EXAMPLES):
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def run(argv: list[str], capsys, guard) -> int:
    with guard(600):  # a hang detector: each command takes seconds at most
        code = main(argv)  # an exception fails the test: that is the point
    captured = capsys.readouterr()
    assert code in (0, 2), (code, captured.err)
    if code == 2:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("trialrecon: error:"), captured.err
    assert not LIBRARY_WARNING.search(captured.err), captured.err
    return code


# ------------------------------------------------------------------- printed figures, mutated

#: Text a printed figure might hold: plausible, rounded, odd and hostile.
FIGURES = st.one_of(
    st.floats(0, 200, allow_nan=False).map(lambda x: f"{x:.1f}"),
    st.tuples(st.floats(0.01, 5), st.floats(0.01, 5), st.floats(0.01, 5)).map(
        lambda v: f"{v[0]:.2f} ({min(v[1:]):.2f}-{max(v[1:]):.2f})"),
    st.sampled_from(["NR", "NR (12.0-NR)", "0.000", "0", "1.00", "<0.001", "1e-99999", "1e-5",
                     "0.0 (0.0-0.0)", "100.0", "-1", "1e300", "8.0 (6.6-9.6)", "yes", "",
                     "1.00 (0.75-1.33)", "0.01 (0.001-0.1)", "99.9 (99.8-100.0)"]),
)
#: Where in the template a figure goes (the text replaced, as printed there).
PLACES = ['"10.8 (9.0-12.9)"', '"5.6 (4.2-7.0)"', '"46.3 (39.2-53.1)"', '"22.5 (14.8-31.2)"',
          '"0.52 (0.39-0.70)"', '"<0.001"', "136", "88", "200", "100", "224", "18.4", "12}",
          '"21.3 (15.2-28.1)"', '"5.1 (1.8-10.9)"']


@st.composite
def trial_file(draw) -> str:
    text = TEMPLATE
    for place in draw(st.lists(st.sampled_from(PLACES), min_size=1, max_size=3, unique=True)):
        value = draw(FIGURES)
        quoted = place.startswith('"')
        text = text.replace(place, f'"{value}"' if quoted else
                            (value + "}" if place.endswith("}") else value), 1)
    return text


@fuzz()
@given(trial_file())
def test_check_never_raises(tmp_path, capsys, hang_guard, text):
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    run(["check", str(path)], capsys, hang_guard)


@fuzz(max(3, EXAMPLES // 40))
@given(trial_file())
def test_simulate_never_raises(tmp_path, capsys, hang_guard, text):
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "o.csv"
    out.unlink(missing_ok=True)
    if run(["simulate", str(path), "--analysis", PFS, "-o", str(out)], capsys,
           hang_guard) == 0:
        ipd = pd.read_csv(out)
        assert set(ipd.event) <= {0, 1} and (ipd.time >= 0).all()


# ------------------------------------------------------------------- patient data

@st.composite
def patients(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    scale = draw(st.sampled_from([1e-6, 1e-2, 1.0, 30.0, 1e4, 1e8]))
    times = draw(st.lists(st.floats(0, 50), min_size=n, max_size=n))
    events = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    arms = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    return pd.DataFrame({"time": np.asarray(times) * scale, "event": events, "arm": arms})


@fuzz(max(3, EXAMPLES // 4))
@given(patients(), st.sampled_from(["1e-3", "1", "60", "3e4", "1e300", "nan", "-5"]),
       st.sampled_from(["exponential", "weibull,gompertz", "lognormal,gengamma",
                        "spline-hazard-1", "gamma,loglogistic", ",", "weibull,nope"]),
       st.sampled_from(["months", "days", "years"]))
def test_extrapolate_never_raises(tmp_path, capsys, hang_guard, ipd, horizon, models, unit):
    path = tmp_path / "ipd.csv"
    ipd.to_csv(path, index=False)
    run(["extrapolate", str(path), "--horizon", horizon, "--models", models,
         "--time-unit", unit], capsys, hang_guard)


@fuzz()
@given(patients(), st.lists(st.floats(0.5, 60), max_size=3),
       st.sampled_from([None, "1", "24", "1e-9"]))
def test_compare_never_raises(tmp_path, capsys, hang_guard, ipd, landmarks, tau):
    path = tmp_path / "ipd.csv"
    ipd.to_csv(path, index=False)
    argv = ["compare", str(path)]
    if landmarks:
        argv += ["--landmarks", *map(str, landmarks)]
    if tau:
        argv += ["--tau", tau]
    run(argv, capsys, hang_guard)


# ------------------------------------------------------------------- the report's arguments

@pytest.fixture
def quick_pages(tmp_path, monkeypatch):
    """Pages that build at once (the notebooks are not run): the runner's own handling of
    its arguments is what is fuzzed."""
    def execute(input_path, output_path, **kwargs):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x")]),
                       output_path)

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    monkeypatch.setattr(report, "to_html", lambda nb: "<html><body>x</body></html>")
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    return tmp_path / "reports"


@fuzz()
@given(st.lists(st.one_of(st.sampled_from(["cabinet", "CABINET", " Clarinet ", "cabinett",
                                           "", "../cabinet", "cabinet/pnet"]),
                          st.text(max_size=12)), min_size=1, max_size=2),
       st.sampled_from([None, "1", "2", "0", "-1"]))
def test_report_arguments_never_raise(quick_pages, capsys, hang_guard, trials, jobs):
    argv = ["report"] + [x for t in trials for x in ("--trial", t)]
    if jobs is not None:
        argv += ["--jobs", jobs]
    try:
        run(argv, capsys, hang_guard)
    except SystemExit as exc:  # argparse refuses what it cannot read, with its usage line
        assert exc.code == 2
        capsys.readouterr()


def test_the_fuzz_inputs_reach_real_work(tmp_path, capsys, hang_guard):
    # The strategies above are not all refusals: the unmodified template and plain patients
    # run through (exit 0), so the fuzz reaches the commands' work, not only their checks.
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    assert run(["check", str(path)], capsys, hang_guard) == 0
    rng = np.random.default_rng(1)
    ipd = pd.DataFrame({"time": rng.exponential(12, 40), "event": 1,
                        "arm": ["a", "b"] * 20})
    ipd.to_csv(tmp_path / "ipd.csv", index=False)
    assert run(["extrapolate", str(tmp_path / "ipd.csv"), "--horizon", "60", "--models",
                "weibull"], capsys, hang_guard) == 0
    assert run(["compare", str(tmp_path / "ipd.csv")], capsys, hang_guard) == 0


def test_library_warnings_are_caught_by_these_tests(capsys, hang_guard, monkeypatch):
    # The check the fuzz relies on sees a numerical warning the command line shows.
    import warnings

    from trialrecon import cli

    def noisy(args):
        warnings.warn("overflow encountered", RuntimeWarning, stacklevel=1)
        return 0

    monkeypatch.setitem(cli.COMMANDS, "trials", noisy)
    with pytest.raises(AssertionError, match="RuntimeWarning"):
        run(["trials"], capsys, hang_guard)
