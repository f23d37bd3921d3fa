"""Shared fixtures.

Which trial registry a test reads
---------------------------------
Unit tests read copies of trial records kept under ``tests/fixtures/trials``, never the live
registry in ``data/trials``: correcting a transcribed figure there must not break a unit test.
A test whose purpose is to check the shipped registry itself (every record loads, the report
covers the shipped trials, the committed key figures) says so in its name,
``test_shipped_registry_...``, and reads ``data/trials``. The autouse fixture
:func:`registry_folder` points :mod:`trialrecon.paths` (and ``TRIALRECON_TRIALS``, for the
notebook kernels a test starts) at one or the other, by the test's name.
"""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from trialrecon import paths

#: Copies of shipped trial records, the registry of the unit tests. Refresh a copy only when a
#: test needs a record's new shape; a corrected figure in ``data/trials`` needs no copy.
FIXTURE_TRIALS = Path(__file__).resolve().parent / "fixtures" / "trials"
#: The live registry, read only by tests named ``test_shipped_registry_...``.
SHIPPED_TRIALS = paths.DATA / "trials"
#: What the name of a test that reads the live registry contains.
SHIPPED = "shipped_registry"

MINIMAL_TRIAL = textwrap.dedent("""\
    trial: demo
    name: Demo trial
    company: Nobody
    drug: drugx
    comparator: placebo
    indication: Testing
    design: {phase: "3", allocation: "2:1", blinding: double-blind}
    arms: [drugx, placebo]
    sources: {paper: "Someone. J Test 2020;1:1-2."}
    analyses:
      - version: paper-2020
        label: Paper 2020
        endpoint: PFS
        source: paper
        arms:
          drugx: {n: 100, median: "8.0 (6.0-10.0)"}
          placebo: {n: 50, median: "4.0"}
        hazard_ratio: {printed: "0.50 (0.35-0.71)", level: 95}
        p_value: "<0.001"
    """)


def _point_registry_at(mp: pytest.MonkeyPatch, folder: Path) -> None:
    mp.setattr(paths, "TRIALS", folder)
    # papermill and nbval start kernels with this process's environment.
    mp.setenv("TRIALRECON_TRIALS", str(folder))


@pytest.fixture(scope="session", autouse=True)
def _fixture_registry_by_default() -> Iterator[None]:
    """The fixture copies for module- and session-scoped fixtures too (they are set up before
    :func:`registry_folder`); whatever ``TRIALRECON_TRIALS`` the shell exported is ignored."""
    with pytest.MonkeyPatch.context() as mp:
        _point_registry_at(mp, FIXTURE_TRIALS)
        yield


@pytest.fixture(autouse=True)
def registry_folder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The trial folder this test's registry reads: ``tests/fixtures/trials``, or
    ``data/trials`` for a test named ``test_shipped_registry_...``."""
    name = getattr(request.node, "originalname", request.node.name)
    folder = SHIPPED_TRIALS if SHIPPED in name else FIXTURE_TRIALS
    _point_registry_at(monkeypatch, folder)
    return folder


@pytest.fixture
def trial_dir(tmp_path: Path) -> Path:
    """A registry folder holding one valid trial file, ``demo.yaml``."""
    (tmp_path / "demo.yaml").write_text(MINIMAL_TRIAL)
    return tmp_path


class _Hung(BaseException):
    """Raised by :func:`hang_guard` in the code it guards; not an ``Exception``, so that no
    ``except Exception`` of the code under test swallows it."""


@pytest.fixture
def hang_guard() -> Callable[[float], AbstractContextManager[None]]:
    """``with hang_guard(seconds):`` fails the test if the block is still running after
    ``seconds``.

    A hang detector, not a timing assertion: give it a budget hundreds of times what the
    block needs on a slow machine, so that only runaway work (a regex that backtracks
    quadratically on a long text, a loop that does not end) reaches it. SIGALRM interrupts
    Python code and the regex engine alike; the block runs in the main thread.
    """

    @contextmanager
    def guard(seconds: float) -> Iterator[None]:
        def alarm(signum: int, frame: object) -> None:
            raise _Hung

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        except _Hung:
            pytest.fail(f"still running after {seconds:g} s: runaway work (the budget is far "
                        "beyond what a slow machine needs)")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return guard
