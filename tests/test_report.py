"""The report runner: page selection, offline HTML, failure handling, and an end-to-end
check of the whole report in headless Chromium."""

import shutil
from pathlib import Path

import nbformat
import pytest
from trialrecon import InputError, report
from trialrecon.report import Page, build_report, run_page, select_pages, to_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_select_pages_by_trial_and_unknown_trial():
    pages = select_pages(["cabinet"])
    assert {p.name for p in pages} == {"trial-cabinet-pnet", "trial-cabinet-epnet"}
    with pytest.raises(InputError, match="valid trials: cabinet, cabosun"):
        select_pages(["cabinett"])


def test_html_has_no_remote_resources():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")])
    text = to_html(nb)
    assert "<h1" in text
    for marker in ('src="http', 'href="http', "import(\"http"):
        assert marker not in text


def test_failed_notebook_keeps_previous_page_and_names_cell(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("1 / 0")],
                                  metadata={"kernelspec": {"name": "python3",
                                                           "display_name": "Python 3",
                                                           "language": "python"}})
    nbformat.write(nb, notebooks / "portfolio.ipynb")
    monkeypatch.setattr(report.paths, "NOTEBOOKS", notebooks)
    out = tmp_path / "reports"
    out.mkdir()
    (out / "portfolio.html").write_text("previous page")
    message = run_page(Page("portfolio", {}), out)
    assert message is not None and "cell 2" in message and "ZeroDivisionError" in message
    assert (out / "portfolio.html").read_text() == "previous page"
    assert (out / "executed" / "portfolio.failed.ipynb").exists()
    assert not list(out.glob("executed/.*"))  # nothing half-written left behind


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install Debian's chromium package "
                    "(apt-get install chromium) to run the end-to-end report test")
def test_report_end_to_end_in_headless_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    out = tmp_path / "reports"
    assert build_report(out_dir=out) == 0
    index = out / "index.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"])
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: problems.append(f"remote request {r.url}")
                if not r.url.startswith(("file:", "data:")) else None)
        page.goto(index.as_uri())
        links = page.eval_on_selector_all("a[href$='.html']", "els => els.map(e => e.href)")
        assert len(links) == len(select_pages(None))
        for url in links:
            page.goto(url, wait_until="load")
            name = Path(url).stem
            executed = nbformat.read(out / "executed" / f"{name}.ipynb", as_version=4)
            figures = sum("image/png" in o.get("data", {}) for c in executed.cells
                          for o in c.get("outputs", []))
            shown = page.eval_on_selector_all(
                "img", "els => els.filter(e => e.complete && e.naturalWidth > 0).length")
            assert shown >= figures, f"{name}: {shown} of {figures} figures rendered"
            assert page.locator("h1").count() >= 1, f"{name}: no title"
        browser.close()
    assert not problems, problems
