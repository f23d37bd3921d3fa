"""Fuzzing the trial-file loader: any bytes give a trial or an InputError, nothing else.

The suite runs 100 examples per strategy (five strategies); for a longer run set
``FUZZ_EXAMPLES``, e.g. ``FUZZ_EXAMPLES=2000 .venv/bin/pytest -q tests/test_fuzz_yaml.py``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURE_TRIALS, MINIMAL_TRIAL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trialrecon import InputError, paths, summary
from trialrecon.registry import Trial, load_trial

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))  # per strategy
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: Real files to mutate: the minimal trial, the template and the smallest trial records (the
#: test copies of registry files).
SMALLEST = sorted(FIXTURE_TRIALS.glob("*.yaml"), key=lambda p: p.stat().st_size)
SEEDS = [MINIMAL_TRIAL, (paths.ROOT / "docs" / "trial-template.yaml").read_text("utf-8")] + [
    p.read_text("utf-8") for p in SMALLEST[:3]]

#: Fragments that reach the loader's corners: YAML syntax, anchors and merges, tags, odd
#: numbers and dates, control characters, figures no paper prints.
TOKENS = [
    ":", ": ", "- ", "  ", "\n", "\t", "{", "}", "[", "]", ",", "'", '"', "#", "? ", "|", ">",
    "&a ", "*a", "<<: *a\n", "<<: {n: 1}", "!!float ", "!!int ", "!!str ", "!!binary ",
    "!!timestamp ", "!!set ", "!!omap ", "!!python/object:os.system ", "!custom ", "%YAML 1.1\n",
    "---\n", "...\n", "0x" + "f" * 60, "1" * 5000, "2017-02-30", "2017-02-28 25:61:00", "8.20",
    ".inf", "-.nan", "1e400", "1.0e+400", "0", "-1", "1:30", "0o17", "1_000", "NR", "null",
    "yes", "~", "\x00", "\x07", "\ufeff", "\u2028", "é", "1.00 (1.00-1.00)", "<0.001",
    "analyses:\n", "arms:\n", "median: ", "hazard_ratio: ", "p_value: ", "n: ", "events: ",
    "allocation: 0:1", "[" * 200, "{a: " * 100,
]
KEYS = ["trial", "name", "company", "drug", "indication", "design", "phase", "blinding",
        "allocation", "arms", "sources", "analyses", "version", "label", "endpoint", "source",
        "median", "percent", "landmarks", "time", "n", "events", "hazard_ratio",
        "printed", "level", "p_value", "sided", "data_cutoff", "cohort", "cohorts", "<<"]


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    # Hypothesis reuses a test's fixtures across examples, so one file is rewritten each time.
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder) / "fuzz.yaml"


def _load(path: Path, data: bytes) -> None:
    """Load the bytes as a trial file: a trial (then checked) or an InputError, only."""
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unquoted figures warn; that is allowed
        try:
            trial = load_trial(path)
        except InputError as exc:
            assert "\n" not in str(exc), "the CLI prints an error in one line"
            assert len(str(exc)) < 1000, "an error names the bad value, it does not echo it"
            return
    assert isinstance(trial, Trial)
    if len(trial.analyses) <= 4:  # a loaded trial must also be checkable
        summary.check_table(trial.analyses)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real trial file with a few edits: cuts, insertions, repeated or swapped lines."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 80)))
        op = draw(st.sampled_from(["cut", "insert", "replace", "line", "swap"]))
        if op == "cut":
            text = text[:i] + text[j:]
        elif op in ("insert", "replace"):
            piece = draw(st.sampled_from(TOKENS) | st.text(max_size=6))
            text = text[:i] + piece + text[j if op == "replace" else i:]
        else:
            lines = text.splitlines(keepends=True) or [""]
            a = draw(st.integers(0, len(lines) - 1))
            b = draw(st.integers(0, len(lines) - 1))
            if op == "line":  # a line (a key) written twice
                lines.insert(b, lines[a])
            else:
                lines[a], lines[b] = lines[b], lines[a]
            text = "".join(lines)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # now and then, bytes that are not UTF-8
        k = draw(st.integers(0, len(data)))
        data = data[:k] + draw(st.binary(min_size=1, max_size=3)) + data[k:]
    return data


SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.dates()
           | st.text(max_size=12) | st.sampled_from(TOKENS))
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner,
                                       max_size=5), max_leaves=25)


@st.composite
def grafted(draw: st.DrawFn) -> bytes:
    """A real trial with one value, anywhere in it, replaced by a random structure."""
    raw = yaml.safe_load(draw(st.sampled_from(SEEDS)))
    node = raw
    for _ in range(draw(st.integers(0, 6))):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        if not isinstance(node[key], dict | list) or draw(st.integers(0, 3)) == 0:
            break
        node = node[key]
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    if keys:
        node[draw(st.sampled_from(keys))] = draw(TREES)
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False).encode("utf-8")


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes(scratch, data):
    _load(scratch, data)


@FUZZ
@given(text=st.text(max_size=400))
def test_random_text(scratch, text):
    _load(scratch, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(tree=TREES)
def test_random_yaml_structures(scratch, tree):
    _load(scratch, yaml.safe_dump(tree, allow_unicode=True).encode("utf-8"))


@FUZZ
@given(data=mutated())
def test_mutated_trial_files(scratch, data):
    _load(scratch, data)


@FUZZ
@given(data=grafted())
def test_trial_files_with_a_random_value(scratch, data):
    _load(scratch, data)


def test_seeds_load():
    # The mutations start from valid files, so that most examples reach validation.
    for text in SEEDS:
        assert yaml.safe_load(text)["trial"]
