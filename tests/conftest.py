"""Shared fixtures."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

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


@pytest.fixture
def trial_dir(tmp_path: Path) -> Path:
    """A registry folder holding one valid trial file, ``demo.yaml``."""
    (tmp_path / "demo.yaml").write_text(MINIMAL_TRIAL)
    return tmp_path
