"""Fuzz test of the command line's CSV readers: whatever a file holds, ``trialrecon`` exits 0
with a valid result or 2 with one line on standard error, and never raises.

The suite runs a modest number of examples; ``make fuzz`` runs 2,000 per test. A warning not
meant for the user fails the test (see ``test_fuzz_cli``).
"""

import os

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_cli import LIBRARY_WARNING
from trialrecon.cli import main

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))

CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.integers(-10**12, 10**12).map(str),
    st.sampled_from(["", " ", "NA", "nan", "True", "false", "1e400", "-0", "0x1F", "1,5",
                     "2020-01-01", "3 days", "\u00a0", "\"", "'", "#", "\t"]),
    st.text(max_size=6),
)


@st.composite
def csv_text(draw, columns):
    """A CSV-like text: a header that is right, wrong or missing, and rows of odd cells."""
    header = draw(st.sampled_from([",".join(columns), ",".join(reversed(columns)),
                                   columns[0], "a,b", ""]))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(columns) + 1),
                         max_size=12))
    text = "\n".join([header] + [",".join(r) for r in rows])
    return draw(st.one_of(st.just(text), st.text(max_size=80),
                          st.binary(max_size=60).map(lambda b: b.decode("latin-1"))))


@st.composite
def near_valid_curve(draw):
    """A plausible curve and table, each perturbed in one place."""
    k = draw(st.integers(2, 15))
    times = sorted(draw(st.lists(st.floats(0, 50), min_size=k, max_size=k)))
    levels = sorted(draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)), reverse=True)
    curve = "time,survival\n" + "\n".join(f"{t},{s}" for t, s in zip(times, levels,
                                                                        strict=True))
    n = draw(st.integers(0, 500))
    rows = draw(st.integers(1, 5))
    step = max(times[-1], 1.0) / rows
    at_risk = "time,n_at_risk\n" + "\n".join(
        f"{i * step:g},{max(n - i * draw(st.integers(0, 50)), 0)}" for i in range(rows))
    return curve, at_risk


def _run(argv, capsys):
    code = main(argv)  # an exception fails the test: that is the point
    captured = capsys.readouterr()
    assert code in (0, 2), code
    if code == 2:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("trialrecon: error:"), captured.err
    assert not LIBRARY_WARNING.search(captured.err), captured.err
    return code


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(st.tuples(csv_text(("time", "survival")), csv_text(("time", "n_at_risk"))),
                 near_valid_curve()),
       st.sampled_from(["integer", "guyot"]))
def test_reconstruct_never_raises(tmp_path, capsys, files, method):
    curve, at_risk = files
    (tmp_path / "c.csv").write_text(curve, encoding="utf-8", errors="surrogateescape")
    (tmp_path / "r.csv").write_text(at_risk, encoding="utf-8", errors="surrogateescape")
    out = tmp_path / "ipd.csv"
    out.unlink(missing_ok=True)
    code = _run(["reconstruct", str(tmp_path / "c.csv"), "--at-risk", str(tmp_path / "r.csv"),
                 "--method", method, "-o", str(out)], capsys)
    if code == 0:  # a valid arm: as many patients as the table starts with, events 0/1
        ipd = pd.read_csv(out)
        table = pd.read_csv(tmp_path / "r.csv")
        assert len(ipd) == int(table["n_at_risk"].iloc[0])
        assert set(ipd["event"]) <= {0, 1} and (ipd["time"] >= 0).all()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(csv_text(("time", "event")), csv_text(("time", "event", "arm")),
       csv_text(("time",)))
def test_compare_and_marks_never_raise(tmp_path, capsys, one, two, marks):
    (tmp_path / "a.csv").write_text(one, encoding="utf-8", errors="surrogateescape")
    (tmp_path / "b.csv").write_text(two, encoding="utf-8", errors="surrogateescape")
    (tmp_path / "m.csv").write_text(marks, encoding="utf-8", errors="surrogateescape")
    _run(["compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], capsys)
    _run(["compare", str(tmp_path / "b.csv")], capsys)
    (tmp_path / "c.csv").write_text("time,survival\n0,1\n5,0.5\n")
    _run(["reconstruct", str(tmp_path / "c.csv"), "--n-patients", "20", "--censor-marks",
          str(tmp_path / "m.csv"), "-o", str(tmp_path / "ipd.csv")], capsys)
