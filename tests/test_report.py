"""The report runner: page selection, offline HTML, failure handling, interruption, locking,
write errors, and an end-to-end check of the whole report in headless Chromium.

Apart from the three tests that run kernels, notebook execution is faked (see ``fake``): the
runner's own behaviour is what is tested here, in seconds.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd
import papermill
import pytest
from trialrecon import InputError, cli, registry, report
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


def test_pages_of_one_worker_share_a_kernel_and_start_from_an_empty_namespace(tmp_path,
                                                                            monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    spec = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                           "language": "python"}}
    cells = {
        "portfolio": ["import os, sys\nleft_behind = 1\nprint(os.getpid())",
                      "import numpy\nprint(os.environ.get('OPENBLAS_NUM_THREADS'))"],
        "validation": ["import os\nprint(os.getpid())",
                       "assert 'left_behind' not in globals(), 'namespace not reset'"],
    }
    for name, code in cells.items():
        nbformat.write(nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(c) for c in code], metadata=spec),
            notebooks / f"{name}.ipynb")
    monkeypatch.setattr(report.paths, "NOTEBOOKS", notebooks)
    out = tmp_path / "reports"
    out.mkdir()
    run = report._Run(kernels=report._Kernels(reuse=True))
    try:
        assert run_page(Page("portfolio", {}), out, run) is None
        assert run_page(Page("validation", {}), out, run) is None
    finally:
        run.kernels.shutdown_all()

    def printed(name, cell):
        nb = nbformat.read(out / "executed" / f"{name}.ipynb", as_version=4)
        own = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        return own[cell].outputs[0]["text"].strip()

    assert printed("portfolio", 0) == printed("validation", 0)  # one kernel process
    assert printed("portfolio", 1) == "1"  # one BLAS thread per kernel
    assert not report._Kernels._alive(run.kernels._managers[0])  # stopped at the end


#: Run in the browser on every page: what a reader must be able to rely on.
_PAGE_FACTS = """() => {
  // textContent, not innerText: a long table folded in <details> is not rendered, but its
  // cells are on the page and must be whole.
  const text = el => (el.textContent || "").trim();
  const tables = [...document.querySelectorAll("table")];
  const summary = [...document.querySelectorAll("strong, b")].find(
      e => text(e).startsWith("Summary"));
  const firstSection = document.querySelector("h2, table, img");
  return {
    title: document.title,
    index: document.querySelectorAll("a[href='index.html']").length,
    downloads: [...document.querySelectorAll("a[download]")].map(a => a.href),
    summaryFirst: !!summary && (!firstSection || !!(summary.compareDocumentPosition(
        firstSection) & Node.DOCUMENT_POSITION_FOLLOWING)),
    cut: tables.filter(t => /…|rows ×|\\.\\.\\.$/m.test(text(t))).length,
    rowHeaders: document.querySelectorAll("tbody th").length,
    emptyHeaders: [...document.querySelectorAll("thead th")].filter(th => !text(th)).length,
    tables: tables.length,
    sections: document.querySelectorAll("h2").length,
    contents: document.querySelectorAll("nav.trialrecon-nav a[href^='#']").length,
    noAlt: [...document.querySelectorAll("img")].filter(
        e => !e.alt || e.alt.startsWith("No description")).length,
    survival: /Patient data rebuilt|Survival beyond follow-up/.test(document.body.textContent),
  };
}"""


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install Debian's chromium package "
                    "(apt-get install chromium) to run the end-to-end report test")
def test_shipped_registry_report_end_to_end_in_headless_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    out = tmp_path / "reports"
    assert build_report(out_dir=out) == 0
    index = out / "index.html"
    trial_of = {p.name: p.parameters.get("trial") for p in select_pages(None)}
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
            facts = page.evaluate(_PAGE_FACTS)
            heading = " ".join(page.locator("h1").first.inner_text().replace("¶", "").split())
            assert facts["title"] == f"{heading} · trialrecon", name
            if trial_of.get(name):
                assert registry.get_trial(trial_of[name]).name in facts["title"], name
            assert facts["index"] >= 1, f"{name}: no link back to the index"
            assert facts["summaryFirst"], f"{name}: no summary before the first section"
            assert facts["cut"] == 0, f"{name}: a table is cut"
            assert facts["rowHeaders"] == 0 and facts["emptyHeaders"] == 0, \
                f"{name}: a table shows its index column"
            assert facts["downloads"], f"{name}: nothing to download"
            # A table of contents with every section; every figure described in words.
            assert facts["contents"] == facts["sections"] > 0, f"{name}: contents"
            assert facts["noAlt"] == 0, f"{name}: an image without alternative text"
            if trial_of.get(name):
                survival = any(a.endpoint in registry.TIME_TO_EVENT
                               for a in registry.get_trial(trial_of[name]).analyses)
                assert facts["survival"] == survival, f"{name}: survival sections"
            for href in facts["downloads"]:
                target = Path(href.removeprefix("file://"))
                assert target.is_file() and target.stat().st_size > 0, (name, href)
            notebook = page.eval_on_selector_all(
                "a[href$='.ipynb']", "els => els.map(e => e.href)")
            assert notebook and all(Path(h.removeprefix("file://")).is_file()
                                    for h in notebook), f"{name}: executed notebook missing"
        browser.close()
    assert not problems, problems


class FakeExecution:
    """Stands in for ``papermill.execute_notebook``: writes a one-cell notebook to the output
    path (as papermill's autosave does), then runs the page's ``behaviour``, if any."""

    def __init__(self) -> None:
        self.behaviour: dict = {}
        self.ran: list[str] = []
        self.outputs: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, input_path, output_path, **kwargs) -> None:
        output = Path(output_path)
        name = output.name[1:].split(".")[0]  # ".<page>.<token>.running.ipynb"
        with self._lock:
            self.ran.append(name)
            self.outputs.append(output.name)
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(name)]),
                       output)
        if name in self.behaviour:
            self.behaviour[name](output, kwargs)


@pytest.fixture
def fake(monkeypatch):
    execution = FakeExecution()
    monkeypatch.setattr(papermill, "execute_notebook", execution)
    monkeypatch.setattr(report, "to_html", lambda nb: f"new {nb.cells[0].source}")
    return execution


def _previous_report(out: Path, names: list[str]) -> None:
    (out / "executed").mkdir(parents=True)
    for name in names:
        (out / f"{name}.html").write_text(f"previous {name}")
    (out / "index.html").write_text("previous index")


def _intact(out: Path, names: list[str]) -> bool:
    return ((out / "index.html").read_text() == "previous index"
            and all((out / f"{n}.html").read_text() == f"previous {n}" for n in names))


def _leftovers(out: Path) -> list[str]:
    """Hidden files other than the lock: the temporary files of a run."""
    return sorted(str(p.relative_to(out)) for p in out.rglob(".*")
                  if p.name != ".trialrecon-report.lock")


def test_ctrl_c_cancels_queued_pages_kills_kernels_keeps_old_pages(tmp_path, fake, monkeypatch,
                                                                  capsys):
    out = tmp_path / "reports"
    monkeypatch.setattr(report.paths, "REPORTS", out)
    names = [p.name for p in select_pages(["cabinet", "cabosun"])]
    _previous_report(out, names)
    # A stand-in kernel: its own session, as jupyter_client starts kernels.
    kernel = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"],
                              start_new_session=True)  # runs until killed
    registered = threading.Event()

    def running_page(output, kwargs):
        manager = kwargs["kernel_manager_class"]()
        manager.provisioner = SimpleNamespace(process=kernel, pgid=os.getpgid(kernel.pid))
        registered.set()
        kernel.wait(timeout=60)
        raise RuntimeError("Kernel died")  # what nbclient raises once its kernel is gone

    def ctrl_c(output, kwargs):
        assert registered.wait(timeout=60)
        raise KeyboardInterrupt

    fake.behaviour = {names[0]: running_page, names[1]: ctrl_c}
    try:
        status = cli.main(["report", "--trial", "cabinet", "--trial", "cabosun",
                           "--jobs", "2"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped the report runner")
    finally:
        killed = kernel.poll() is not None
        kernel.kill()
        kernel.wait()
    assert status == 130
    assert killed, "the running page's kernel was left running"
    assert names[2] not in fake.ran  # queued behind the interrupt: cancelled
    assert _intact(out, names)
    assert _leftovers(out) == []
    assert not list(out.glob("executed/*.failed.ipynb"))  # an interrupt is not a failure
    err = capsys.readouterr().err
    assert err.count("interrupted") == 1 and "Traceback" not in err


def _record_runs(monkeypatch) -> list:
    """The builds (``report._Run``) started from now on, in order."""
    runs = []

    class Recorded(report._Run):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            runs.append(self)

    monkeypatch.setattr(report, "_Run", Recorded)
    return runs


def test_sigterm_is_handled_like_ctrl_c(tmp_path, fake, capsys, monkeypatch):
    out = tmp_path / "reports"
    names = [p.name for p in select_pages(["cabinet"])]
    _previous_report(out, names)
    runs = _record_runs(monkeypatch)

    class Escaped(Exception):
        pass

    def fallback(signum, frame):  # without a handler of the runner SIGTERM ends pytest
        raise Escaped

    def sigterm(output, kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        # Still running when the main thread handles the signal: the page returns only once
        # the run is cancelled (the generous timeout only keeps a broken runner from hanging).
        assert runs[-1].cancel.wait(timeout=60), "the run was not cancelled"

    fake.behaviour = {name: sigterm for name in names}  # whichever page runs first
    previous = signal.signal(signal.SIGTERM, fallback)
    try:
        status = build_report(["cabinet"], jobs=1, out_dir=out)
        restored = signal.getsignal(signal.SIGTERM) is fallback
    except Escaped:
        pytest.fail("SIGTERM was not handled by the report runner")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert status == 128 + signal.SIGTERM
    assert restored
    assert len(fake.ran) == 1 and fake.ran[0] in names
    assert _intact(out, names)
    assert _leftovers(out) == []
    err = capsys.readouterr().err
    assert err.count("SIGTERM") == 1 and "Traceback" not in err


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(tmp_path, fake):
    out = tmp_path / "reports"
    (out / "executed").mkdir(parents=True)
    # What a run killed with SIGKILL leaves behind (no handler can run then).
    (out / "executed" / ".trial-cabinet-pnet.4242-0badcafe.running.ipynb").write_text("{")
    (out / ".index.html.4242-0badcafe.tmp").write_text("half")
    assert build_report(["cabinet"], out_dir=out) == 0
    assert _leftovers(out) == []


class _WatchedStream:
    """A text stream that sets ``seen`` once ``text`` is written to it, and passes
    everything on to ``inner``."""

    def __init__(self, inner, text: str, seen: threading.Event) -> None:
        self._inner, self._text, self._seen = inner, text, seen

    def write(self, s: str) -> int:
        written = self._inner.write(s)
        if self._text in s:
            self._seen.set()
        return written

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_two_runs_at_once_both_succeed_one_after_the_other(tmp_path, fake, capsys,
                                                           monkeypatch):
    out = tmp_path / "reports"
    names = [p.name for p in select_pages(["cabinet"])]
    first_started = threading.Event()
    second_waits = threading.Event()
    # The second run says on stderr that it waits for the lock, just before it blocks on it.
    monkeypatch.setattr(sys, "stderr", _WatchedStream(sys.stderr, "waiting for it",
                                                      second_waits))
    active = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def slow(output, kwargs):
        with lock:
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
        first_started.set()
        # The first run's pages hold the lock until the second run has found it held: the
        # runs overlap for certain. (The timeout only keeps a broken lock from hanging.)
        second_waits.wait(timeout=60)
        with lock:
            active["now"] -= 1

    fake.behaviour = dict.fromkeys(names, slow)
    results: dict[str, object] = {}

    def build(key):
        try:
            results[key] = build_report(["cabinet"], jobs=2, out_dir=out)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[key] = exc

    first = threading.Thread(target=build, args=("first",))
    second = threading.Thread(target=build, args=("second",))
    first.start()
    assert first_started.wait(timeout=60)
    second.start()
    first.join(timeout=120)
    second.join(timeout=120)
    assert not first.is_alive() and not second.is_alive()
    assert second_waits.is_set()
    assert results == {"first": 0, "second": 0}
    assert active["peak"] <= 2  # never both runs' pages at once: the second waited
    assert len(fake.outputs) == 4 and len(set(fake.outputs)) == 4  # unique temporary names
    assert all(f".{os.getpid()}-" in name for name in fake.outputs)
    assert capsys.readouterr().err.count("waiting") == 1
    assert _leftovers(out) == []
    assert all((out / f"{n}.html").read_text() == f"new {n}" for n in names)


@pytest.mark.parametrize("case", ["folder as target", "missing parent"])
def test_write_error_names_the_path_and_leaves_no_temporary_file(tmp_path, case):
    target = tmp_path / "index.html"
    if case == "folder as target":
        (target / "inside").mkdir(parents=True)
    else:
        target = tmp_path / "missing" / "index.html"
    with pytest.raises(InputError, match=re.escape(str(target))):
        report._atomic_write(target, "text")
    assert list(tmp_path.rglob(".*")) == []


def test_unwritable_index_is_an_input_error_without_temporary_file(tmp_path, fake):
    out = tmp_path / "reports"
    (out / "index.html").mkdir(parents=True)
    with pytest.raises(InputError, match=re.escape(str(out / "index.html"))):
        build_report(["cabinet"], out_dir=out)
    assert _leftovers(out) == []


@pytest.mark.parametrize("blocked", ["reports", "reports/executed"])
def test_file_in_place_of_the_output_folder_is_a_one_line_error(tmp_path, fake, monkeypatch,
                                                                capsys, blocked):
    monkeypatch.setattr(report.paths, "REPORTS", tmp_path / "reports")
    (tmp_path / blocked).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocked).write_text("a file")
    assert cli.main(["report", "--trial", "cabinet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("trialrecon: error: ") and str(tmp_path / blocked) in err
    assert "Traceback" not in err
    assert fake.ran == []  # refused before any notebook ran


@contextmanager
def _read_only(folder: Path):
    """Make ``folder`` read-only: its mode for a user; for root, who ignores modes, the
    immutable flag (skipped where chattr is missing or not permitted)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)],
                                        capture_output=True).returncode != 0:
        pytest.skip("root ignores folder modes and chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_read_only_report_folder_is_an_input_error(tmp_path, fake):
    out = tmp_path / "reports"
    names = [p.name for p in select_pages(["cabinet"])]
    _previous_report(out, names)
    with _read_only(out), pytest.raises(InputError, match=f"{re.escape(str(out))}.*read-only"):
        build_report(["cabinet"], out_dir=out)
    assert fake.ran == []  # refused before any notebook ran
    assert _intact(out, names)
    assert _leftovers(out) == []


def _index_line(out: Path, name: str) -> str:
    lines = [line for line in (out / "index.html").read_text().splitlines()
             if f'href="{name}.html"' in line]
    assert len(lines) == 1, f"{name} is not linked once from the index"
    return lines[0]


def test_index_marks_a_failed_page_stale_until_it_builds_again(tmp_path, fake):
    out = tmp_path / "reports"
    names = [p.name for p in select_pages(["cabinet"])]
    assert build_report(["cabinet"], out_dir=out) == 0
    assert all("stale" not in _index_line(out, n) for n in names)

    def cell_error(output, kwargs):
        raise papermill.PapermillExecutionError(1, 2, "1 / 0", "ZeroDivisionError",
                                                "division by zero", [])

    def no_kernel(output, kwargs):
        output.unlink()  # died before papermill wrote anything
        raise RuntimeError("Kernel died before replying to kernel_info")

    fake.behaviour = {names[0]: cell_error, names[1]: no_kernel}
    assert build_report(["cabinet"], out_dir=out) == 1
    for name in names:
        assert (out / f"{name}.html").read_text() == f"new {name}"  # the previous build
        assert "stale: the last build of this page failed" in _index_line(out, name)

    fake.behaviour = {}
    assert build_report(["cabinet"], out_dir=out) == 0
    assert all("stale" not in _index_line(out, n) for n in names)
    assert not list(out.glob("executed/*.failed.ipynb"))


@pytest.mark.parametrize("jobs", [0, -1])
def test_jobs_below_one_is_an_input_error_with_advice(tmp_path, fake, monkeypatch, capsys,
                                                      jobs):
    with pytest.raises(InputError, match=r"--jobs.*\(give 1 or more"):
        build_report(["cabinet"], jobs=jobs, out_dir=tmp_path)
    monkeypatch.setattr(report.paths, "REPORTS", tmp_path)
    assert cli.main(["report", "--jobs", str(jobs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("trialrecon: error: ") and err.count("\n") == 1
    assert fake.ran == []


def test_report_prints_one_line_per_page_and_nothing_from_the_kernel(tmp_path, capfd):
    # A real kernel (about 15 s): its log lines reach the run's stderr file descriptor, which
    # capfd captures, unless the runner keeps them out.
    assert build_report(["clarinet"], jobs=1, out_dir=tmp_path) == 0
    err = capfd.readouterr().err
    # tqdm redraws its bar with carriage returns: split those too, to see each line as shown.
    lines = [line for line in re.split(r"[\r\n]", err) if line.strip()]
    assert not [line for line in lines if "IPKernelApp" in line], err
    named = [line for line in lines if "trial-clarinet" in line]
    assert len(named) == 1 and re.fullmatch(r"built trial-clarinet\.html \(\d+ s\)", named[0])


def test_failed_page_gets_one_failed_line_and_its_error_at_the_end(tmp_path, fake, capsys):
    def cell_error(output, kwargs):
        raise papermill.PapermillExecutionError(1, 2, "1 / 0", "ZeroDivisionError",
                                                "division by zero", [])

    fake.behaviour = {"trial-cabinet-pnet": cell_error}
    assert build_report(["cabinet"], jobs=2, out_dir=tmp_path) == 1
    lines = [line for line in re.split(r"[\r\n]", capsys.readouterr().err) if line.strip()]
    assert [line.split(" (")[0] for line in lines if line.startswith(("built", "FAILED"))
            ] in (["FAILED trial-cabinet-pnet", "built trial-cabinet-epnet.html"],
                  ["built trial-cabinet-epnet.html", "FAILED trial-cabinet-pnet"])
    assert [line for line in lines if line.startswith("failed: ")] == [
        next(line for line in lines if "ZeroDivisionError" in line)]


def test_pages_get_their_title_and_a_bar_back_to_the_index(tmp_path):
    from trialrecon.report import Page, decorate

    page = Page("trial_report", {"trial": "cabinet", "cohort": "pnet"})
    files = [tmp_path / "downloads" / page.name / "checks.csv",
             tmp_path / "downloads" / page.name / "tables.xlsx"]
    text = decorate("<html><head><title>Notebook</title></head><body class='x'><p>hi</p>"
                    "</body></html>", page, tmp_path, files)
    assert "<title>Notebook</title>" not in text
    assert f"<title>{page.title} · trialrecon</title>" in text and "CABINET" in page.title
    # The page's own heading, when it has one, without nbconvert's anchor sign
    own = decorate('<html><head><title>Notebook</title></head><body><h1 id="a">CABINET &amp; '
                   'co<a class="anchor-link" href="#a">¶</a></h1></body></html>', page,
                   tmp_path, [])
    assert "<title>CABINET &amp; co · trialrecon</title>" in own
    body = text.split("<body class='x'>", 1)[1]
    assert body.startswith('<nav class="trialrecon-nav"')  # before anything the page shows
    assert 'href="index.html"' in body and f'href="executed/{page.name}.ipynb"' in body
    assert f'href="downloads/{page.name}/checks.csv"' in body
    assert f'href="downloads/{page.name}/tables.xlsx"' in body
    # The workbook first, the CSV files folded away; a contents line lists every section.
    assert body.index("tables.xlsx") < body.index("checks.csv") and "1 CSV files" in body
    sections = decorate('<html><body><h2 id="What-was-reported">What was reported<a '
                        'class="anchor-link" href="#What-was-reported">¶</a></h2>'
                        '<h2 id="B">Binary &amp; more</h2></body></html>', page, tmp_path, [])
    assert ('<a href="#What-was-reported">What was reported</a> &middot; '
            '<a href="#B">Binary &amp; more</a>') in sections


def test_longest_pages_are_started_first(tmp_path, fake):
    # Two cores finish soonest when the last page to start is a short one.
    out = tmp_path / "reports"
    assert build_report(jobs=1, out_dir=out) == 0
    costs = [report._cost(Page(*p)) for p in
             [(nb, params) for nb, params in report.report_pages()]]
    order = {Page(nb, params).name: report._cost(Page(nb, params))
             for nb, params in report.report_pages()}
    ran = [order[name] for name in fake.ran]
    assert ran == sorted(costs, reverse=True)
    assert order["trial-cabinet-epnet"] > order["trial-increlex"]


def test_a_trial_file_is_selected_by_its_path(tmp_path):
    from conftest import MINIMAL_TRIAL

    path = tmp_path / "my-trial.yaml"
    path.write_text(MINIMAL_TRIAL)
    (page,) = select_pages([str(path), ])
    assert page.parameters == {"trial": str(path.resolve()), "cohort": ""}
    # Its own name, so that a copy of a registry trial never overwrites the registry's page.
    assert page.name == "file-demo" and page.from_file
    assert page.title == "Demo trial (your trial file)"
    # Ids and files mix; a file that is no trial is refused naming the file.
    assert {p.name for p in select_pages(["clarinet", str(path)])} == {
        "trial-clarinet", "file-demo"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("trial: [")
    with pytest.raises(InputError) as err:
        select_pages([str(bad)])
    assert err.value.file == str(bad)


def test_a_trial_file_gets_a_page_with_its_warnings_shown(tmp_path):
    # One kernel: the page of a trial file outside the registry, and the registry's own
    # warning about an unquoted figure shown on it (no notebook silences warnings).
    from conftest import MINIMAL_TRIAL

    path = tmp_path / "my-trial.yaml"
    path.write_text(MINIMAL_TRIAL.replace('placebo: {n: 50, median: "4.0"}',
                                          "placebo: {n: 50, median: 4.50}"))
    out = tmp_path / "reports"
    assert build_report(trials=[str(path)], out_dir=out) == 0
    import html as html_module

    html = html_module.unescape((out / "file-demo.html").read_text())
    assert "Demo trial" in html and "What was reported" in html
    assert "UnquotedFigureWarning" in html and 'median: "4.50"' in html
    assert 'href="file-demo.html"' in (out / "index.html").read_text()


def test_notebooks_silence_no_warning_and_type_their_parameters():
    from trialrecon import paths

    for source in sorted(paths.NOTEBOOKS.glob("*.py")):
        assert "filterwarnings" not in source.read_text(), source.name
        params = papermill.inspect_notebook(str(source.with_suffix(".ipynb")))
        assert params and all(p["inferred_type_name"] in ("str", "int", "float")
                              for p in params.values()), (source.name, params)


def test_trial_ids_are_read_in_any_case():
    assert [p.name for p in select_pages(["CABINET"])] == [
        p.name for p in select_pages(["cabinet"])]


def test_a_full_disk_keeps_the_previous_page_and_its_downloads_together(tmp_path, fake,
                                                                        monkeypatch):
    from trialrecon.downloads import write_downloads

    out = tmp_path / "reports"
    page = select_pages(["clarinet"])[0]
    _previous_report(out, [page.name])
    write_downloads(out / "downloads" / page.name, {"old": pd.DataFrame({"n": [1]})})

    def new_downloads(output, kwargs):
        write_downloads(kwargs["parameters"]["downloads"], {"new": pd.DataFrame({"n": [2]})})

    fake.behaviour = {page.name: new_downloads}

    def full(path, text):  # what writing the page meets on a full disk
        raise report._write_error(path, OSError(28, "No space left on device"))

    monkeypatch.setattr(report, "_write_temporary", full)
    with pytest.raises(InputError, match="No space left"):
        build_report(["clarinet"], jobs=1, out_dir=out)
    assert (out / f"{page.name}.html").read_text() == f"previous {page.name}"
    kept = sorted(p.name for p in (out / "downloads" / page.name).iterdir())
    assert kept == ["old.csv", "tables.xlsx"]
