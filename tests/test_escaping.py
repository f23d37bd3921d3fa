"""Text from a trial file reaches the pages as text: planted markup never runs in a browser.

Every free-text field of a trial file (names, labels, citations, notes, arm names, source
keys, cohort labels) is shown on the pages through Markdown, tables and figures. A field
carrying HTML, a script or a ``javascript:`` link must be shown literally, not executed.
"""

from __future__ import annotations

import html
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import FIXTURE_TRIALS
from matplotlib.cbook import is_math_text
from trialrecon import pages, plots, registry
from trialrecon.report import Page, run_page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: Markup planted in every free-text field: an event handler, a script, a script link, and
#: Markdown and mathtext that must show as typed.
PAYLOAD = ("<img src=x onerror=console.log(document.domain+42)> "
           "<img src=\"x\" onerror=\"console.log('XSS-'+1)\"> "
           "<script>console.log('XSS-2')</script> "
           "[x](javascript:console.log('XSS-3')) *em* _u_ `c` $\\frac{1}$ & &amp;")

#: Fields whose value is a format the registry validates (ids, printed figures, dates,
#: choices): planting would make the file invalid, not the page unsafe.
STRUCTURAL = {"trial", "nct", "version", "cohort", "endpoint", "source", "allocation", "method",
              "time_unit", "data_cutoff", "median", "percent", "printed", "p_value",
              "percent_range"}

PLANTED_ID = "planted"
COHORT = "all"


def _plant(raw: dict[str, Any]) -> dict[str, Any]:
    """The trial with the payload appended to every free-text value and name.

    Arm names and source keys are names as well as keys; they are renamed consistently
    wherever they are referred to. A cohort is added so that its label is planted too.
    """
    raw = dict(raw, trial=PLANTED_ID)
    raw["design"] = dict(raw["design"], cohorts={COHORT: "All patients"})
    arms = {a: f"{a} {PAYLOAD}" for a in raw["arms"]}
    sources = {k: f"{k} {PAYLOAD}" for k in raw["sources"]}

    def walk(node: Any, key: str | None) -> Any:
        if isinstance(node, dict):
            rename = arms if key == "arms" else sources if key == "sources" else {}
            return {rename.get(k, k): walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [arms[x] for x in node] if key == "arms" else [walk(x, key) for x in node]
        if isinstance(node, str):
            if key == "source":
                return sources[node]
            return node if key in STRUCTURAL else f"{node} {PAYLOAD}"
        return node

    return walk(raw, None)


@pytest.fixture
def planted_trials(tmp_path: Path) -> Path:
    """A registry folder holding one trial whose every text field carries the payload."""
    folder = tmp_path / "trials"
    folder.mkdir()
    raw = yaml.safe_load((FIXTURE_TRIALS / "clarinet.yaml").read_text(encoding="utf-8"))
    (folder / f"{PLANTED_ID}.yaml").write_text(yaml.safe_dump(_plant(raw), sort_keys=False),
                                               encoding="utf-8")
    return folder


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_planted_trial_is_valid_and_planted_everywhere(planted_trials):
    trial = registry.load_trial(planted_trials / f"{PLANTED_ID}.yaml", match_file_name=True)
    texts = [trial.name, trial.company, trial.drug, trial.comparator, trial.indication,
             trial.context, trial.design.phase, trial.design.blinding, trial.design.enrolment,
             *trial.design.cohorts.values(), *trial.arms, *trial.sources, *trial.sources.values()]
    texts += [t for a in trial.analyses for t in (a.label, a.population, a.assessment, a.notes)
              if t is not None]
    assert all(PAYLOAD in t for t in texts)
    assert any(a.hazard_ratio is not None for a in trial.analyses)  # a figure gets drawn


@pytest.mark.parametrize("text", [PAYLOAD, "# heading", "1. list", "- item", "> quote",
                                  "a\\*b\\", "x_y_z", "<!-- c -->", "&lt;", "&#42;", "a  b",
                                  "see https://example.org and www.example.org", "| a | b |"])
def test_md_text_renders_literally(text):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    rendered = markdown2html_mistune(f"**label**: {pages.md_text(text)}")
    inner = re.fullmatch(r"<p><strong>label</strong>: (.*)</p>\s*", rendered, re.DOTALL)
    assert inner is not None, rendered
    assert "<" not in inner.group(1), rendered  # no element of any kind from the text
    assert html.unescape(inner.group(1)) == _squash(text)


def test_figure_text_is_literal():
    formula = "A $\\frac{1}$ B"  # not a formula mathtext can parse
    rows = [{"group": "a", "label": formula, "hr": 0.5, "lower": 0.3, "upper": 0.7,
             "level": 95.0}]
    fig = plots.forest_plot(pd.DataFrame(rows), title=formula)
    fig.canvas.draw()  # mathtext is parsed at drawing: an unbalanced formula would raise here
    texts = [t.get_text() for t in fig.axes[0].get_yticklabels()] + [fig.axes[0].get_title()]
    plots.close(fig)
    assert len(texts) == 2 and not any(is_math_text(t) for t in texts)


_INSPECT = """() => {
  const found = {scripts: [], handlers: [], script_urls: []};
  for (const s of document.querySelectorAll('script')) {
    if (s.textContent.includes('XSS')) found.scripts.push(s.outerHTML.slice(0, 200));
  }
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const value = a.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (a.name.toLowerCase().startsWith('on') && (value.includes('xss')
          || value.includes('console'))) found.handlers.push(el.outerHTML.slice(0, 200));
      if (value.startsWith('javascript:')) found.script_urls.push(el.outerHTML.slice(0, 200));
    }
  }
  return found;
}"""


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install Debian's chromium package "
                    "(apt-get install chromium) to run the browser test of escaping")
def test_planted_markup_does_not_run_in_headless_chromium(planted_trials, tmp_path,
                                                          monkeypatch):
    from playwright.sync_api import sync_playwright

    # papermill starts the kernels with this process's environment: they read the planted
    # folder through trialrecon.paths, and the real registry stays untouched.
    monkeypatch.setenv("TRIALRECON_TRIALS", str(planted_trials))
    out = tmp_path / "reports"
    out.mkdir()
    built = [Page("trial_report", {"trial": PLANTED_ID, "cohort": COHORT}),
             Page("portfolio", {})]
    with ThreadPoolExecutor(max_workers=len(built)) as pool:
        errors = [e for e in pool.map(lambda p: run_page(p, out), built) if e]
    assert not errors, errors

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            for p in built:
                page = browser.new_page()
                console: list[str] = []
                page.on("console", lambda m, c=console: c.append(f"{m.type}: {m.text}"))
                page.on("pageerror", lambda e, c=console: c.append(f"page error: {e}"))
                page.goto((out / f"{p.name}.html").as_uri(), wait_until="load")
                # Planted markup runs while the page is parsed (scripts) or before its load
                # event (an image's onerror); a javascript: link needs a click. Let the
                # zero-delay tasks queued by then run too, and make a round trip, so that every
                # console message sent before it has reached the handlers above (no sleep).
                page.evaluate("() => new Promise(done => setTimeout(done, 0))")
                found = page.evaluate(_INSPECT)
                text = _squash(page.inner_text("body"))
                heading = _squash(page.inner_text("h1"))
                page.close()
                assert not console, f"{p.name}: console output {console}"
                assert not found["scripts"], f"{p.name}: planted scripts {found['scripts']}"
                assert not found["handlers"], f"{p.name}: event handlers {found['handlers']}"
                assert not found["script_urls"], f"{p.name}: javascript: URLs " \
                    f"{found['script_urls']}"
                # Shown, and shown as typed: the text reached the page and was not dropped.
                assert _squash(PAYLOAD) in text, f"{p.name}: payload not shown literally"
                if p.notebook == "trial_report":
                    assert _squash(f"CLARINET {PAYLOAD}") in heading, heading
        finally:
            browser.close()
