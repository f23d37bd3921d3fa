"""The report runner: papermill runs the notebooks in parallel, nbconvert renders HTML.

Every page is written atomically (a temporary file renamed into place). A failed notebook
leaves the previous HTML of its page untouched, keeps the failed executed notebook for
inspection (its presence marks the page stale in the index), is named with its cell in the
summary, and makes the run exit non-zero. The HTML is self-contained: images are embedded
and nothing is loaded from the internet.

A run holds a lock on its output folder, so a second run waits for the first instead of
clobbering its files. Ctrl-C or SIGTERM cancels the queued pages, kills the running kernels,
removes the run's temporary files and keeps the previous pages (exit status 130 or 143).
"""

from __future__ import annotations

import errno
import fcntl
import html
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from tqdm import tqdm
from traitlets.config import Config

from . import paths, registry
from .downloads import WORKBOOK
from .errors import InputError
from .formatting import printable
from .pages import report_pages

TITLES = {"portfolio": "Portfolio overview: every reported hazard ratio and verdict",
          "validation": "Method validation: both reconstructions against known truth",
          "curve_reconstruction": "Curve reconstruction example"}
_REMOTE = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>|"
                     r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*/?>|"
                     r"<script type=\"module\">(?:(?!</script>).)*?https?://(?:(?!</script>).)*?"
                     r"</script>", re.IGNORECASE | re.DOTALL)
#: The lock file that serialises runs writing into the same output folder.
LOCK_NAME = ".trialrecon-report.lock"
#: Shown in the index next to a page whose latest build failed.
STALE_NOTE = "(stale: the last build of this page failed; showing the previous one)"
NOT_BUILT_NOTE = "(not built: the last build of this page failed)"
#: How long an interrupted run waits for its running pages to wind down after their
#: kernels were killed, before it returns anyway.
STOP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Page:
    notebook: str
    parameters: dict[str, str]

    @property
    def from_file(self) -> bool:
        """A page of a user's trial file rather than of a registry trial."""
        return self.notebook == "trial_report" and paths.is_trial_file(self.parameters["trial"])

    @property
    def name(self) -> str:
        """``trial-<id>[-<cohort>]``; a trial file's page is ``file-<id>[-<cohort>]``, so that
        a copy of a registry trial never overwrites the registry's page."""
        if self.notebook != "trial_report":
            return self.notebook
        cohort = self.parameters.get("cohort")
        if self.from_file:
            stem = "file-" + registry.load_trial(self.parameters["trial"]).trial
        else:
            stem = "trial-" + self.parameters["trial"]
        return stem + (f"-{cohort}" if cohort else "")

    @property
    def title(self) -> str:
        if self.notebook != "trial_report":
            return TITLES[self.notebook]
        trial = registry.find_trial(self.parameters["trial"])
        cohort = self.parameters.get("cohort")
        own = " (your trial file)" if self.from_file else ""
        return trial.name + (f", {trial.design.cohorts[cohort]}" if cohort else "") + own


def _token() -> str:
    """A name part no other run (process or thread) uses: the process id and a random token."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _write_error(path: Path, exc: OSError) -> InputError:
    """The one-line error for a file or folder that cannot be written, naming it."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = "the folder is read-only: make it writable or build the report elsewhere"
    elif exc.errno == errno.ENOENT:
        advice = "its folder does not exist: create it first"
    elif exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOTEMPTY):
        advice = "a folder or file of that name is in the way: move it"
    else:
        advice = "check the folder and the free disk space"
    return InputError(f"cannot write: {exc.strerror or exc}", file=path, advice=advice)


def _discard(path: Path) -> None:
    """Remove a temporary file if it is there; cleaning up must not mask the real error."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as exc:
        raise _write_error(target, exc) from exc


def _write_temporary(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path`` and return it (renamed into place
    by the caller).

    Raises
    ------
    InputError
        If the file cannot be written (read-only or missing folder, a full disk); the
        temporary file is removed first.
    """
    tmp = path.with_name(f".{path.name}.{_token()}.tmp")
    try:
        # "x": never write through a file another run created under the same name.
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
    except BaseException as exc:  # an interrupt half-way must not leave the file either
        _discard(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from exc
        raise
    return tmp


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place.

    Raises
    ------
    InputError
        If the file cannot be written (read-only or missing folder, a folder in the way);
        the temporary file is removed first.
    """
    tmp = _write_temporary(path, text)
    try:
        _move(tmp, path)
    finally:
        _discard(tmp)


def _check_writable(folder: Path) -> None:
    """Fail before the first notebook runs rather than after all of them have."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(folder, exc) from exc
    probe = folder / f".write-check.{_token()}.tmp"
    try:
        probe.touch(exist_ok=False)
    except OSError as exc:
        raise _write_error(folder, exc) from exc
    _discard(probe)


def _sweep(out_dir: Path, token: str = "") -> None:
    """Remove temporary files: a run's own (``token``), or, under the lock, all of them.

    Without a token this removes what killed runs (SIGKILL, power loss) left behind; it is
    only called while holding the folder's lock, so no live run owns such a file.
    """
    middle = f".{token}." if token else "."
    for folder in (out_dir, out_dir / "executed"):
        for pattern in (f".*{middle}tmp", f".*{middle}running.ipynb"):
            for path in folder.glob(pattern):
                if path.is_file():
                    _discard(path)
    for pattern in (f".*{middle}running", f".*{middle}old"):  # download folders
        for path in (out_dir / DOWNLOADS).glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold the output folder's lock; say once on stderr if another run holds it."""
    path = out_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"trialrecon: another report run is writing {out_dir}; waiting for it to "
                  "finish", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        # Closing the descriptor releases the lock. The lock file stays: unlinking it would
        # let a waiting run lock a file that a third run can no longer see.
        os.close(fd)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run unwinds exactly as on Ctrl-C."""


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    # Signal handlers can only be set from the main thread; a run started from another
    # thread (tests, embedding) keeps the process's own handling.
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


#: Environment variables that set the number of BLAS threads.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class _Kernels:
    """The kernels a run started, so that an interrupted run can kill them.

    Papermill runs in worker threads, and a thread cannot be interrupted; killing its kernel
    makes nbclient give up on the cell (kernel died) and the thread return within a second.
    """

    def __init__(self, reuse: bool = False) -> None:
        self._lock = threading.Lock()
        self._managers: list[Any] = []
        self._class: type | None = None
        self._local = threading.local()
        self.reuse = reuse

    def manager_class(self) -> type:
        """A kernel manager class that registers each instance here (for papermill)."""
        if self._class is None:
            from jupyter_client import AsyncKernelManager

            kernels = self

            class TrackedKernelManager(AsyncKernelManager):
                def __init__(self, *args: Any, **kwargs: Any) -> None:
                    super().__init__(*args, **kwargs)
                    kernels.add(self)

                async def _async_launch_kernel(self, kernel_cmd: list[str],
                                               **kw: Any) -> None:
                    # A kernel inherits the run's stdout and stderr, and writes its own log
                    # there ("running over TCP without encryption", "KeyboardInterrupt caught
                    # in kernel" on shutdown, debugger notes): one such line per page would
                    # bury the progress bar. What a cell prints reaches the notebook over
                    # the kernel's iopub channel, not these descriptors, so nothing of the
                    # page is lost; a kernel that dies shows as a failed page.
                    kw.setdefault("stdout", subprocess.DEVNULL)
                    kw.setdefault("stderr", subprocess.DEVNULL)
                    await super()._async_launch_kernel(kernel_cmd, **kw)

            self._class = TrackedKernelManager
        return self._class

    def add(self, manager: Any) -> None:
        with self._lock:
            self._managers.append(manager)

    def for_thread(self, cwd: Path) -> Any:
        """This worker thread's kernel, started on first use and kept for its next pages.

        A kernel's start and the imports of its first page cost two to three seconds of
        CPU; the report's pages share one kernel per worker, and each page starts from an
        empty namespace (:meth:`reset`). A kernel that died is replaced.
        """
        manager = getattr(self._local, "manager", None)
        if manager is not None and self._alive(manager):
            self.reset(manager)
            return manager
        from jupyter_core.utils import run_sync

        manager = self.manager_class()(kernel_name="python3")
        # One BLAS thread per kernel: the pages run one per core already, and their small
        # matrices gain nothing from threads (measured: lifelines' fits ran slower with two).
        env = {**os.environ, **dict.fromkeys(BLAS_THREADS, "1")}
        run_sync(manager.start_kernel)(cwd=str(cwd), env=env)
        self._local.manager = manager
        return manager

    @staticmethod
    def _alive(manager: Any) -> bool:
        process = getattr(getattr(manager, "provisioner", None), "process", None)
        return process is not None and process.poll() is None

    @staticmethod
    def reset(manager: Any) -> None:
        """Empty the kernel's namespace and close its figures, as a fresh kernel has them."""
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient()
        client.load_connection_info(manager.get_connection_info())
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            client.execute_interactive(
                "get_ipython().run_line_magic('reset', '-f')\n"
                "import sys as _sys\n"
                "if 'matplotlib.pyplot' in _sys.modules:\n"
                "    _sys.modules['matplotlib.pyplot'].close('all')\n"
                "del _sys", store_history=False, timeout=60, output_hook=lambda msg: None)
        finally:
            client.stop_channels()

    def shutdown_all(self) -> None:
        """Stop every kernel that is still running (at the end of a build)."""
        from jupyter_core.utils import run_sync

        with self._lock:
            managers = list(self._managers)
        for manager in managers:
            if self._alive(manager):
                try:
                    run_sync(manager.shutdown_kernel)(now=True)
                except Exception:  # noqa: BLE001 - a kernel that will not stop is killed
                    self.kill_all()

    def kill_all(self) -> None:
        """Kill every registered kernel that is still running, with its process group."""
        with self._lock:
            managers = list(self._managers)
        for manager in managers:
            provisioner = getattr(manager, "provisioner", None)
            process = getattr(provisioner, "process", None)
            # poll() first: a kernel that has exited may have had its pid reused.
            if process is None or process.poll() is not None:
                continue
            pgid = getattr(provisioner, "pgid", None)
            try:
                # jupyter_client starts each kernel in its own session; the group also holds
                # whatever the kernel spawned. Never signal our own group.
                if pgid and pgid != os.getpgrp():
                    os.killpg(pgid, signal.SIGKILL)
                else:
                    process.kill()
            except (ProcessLookupError, PermissionError):
                pass


@contextmanager
def _quiet_once_cancelled(cancel: threading.Event) -> Iterator[None]:
    """Drop papermill's log lines once a run is stopping.

    nbclient logs "Kernel died" for every kernel the stop kills; the run says in one line
    that it was interrupted instead.
    """
    logger = logging.getLogger("papermill")

    def keep(record: logging.LogRecord) -> bool:
        return not cancel.is_set()

    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


@dataclass
class _Run:
    """What the pages of one build share: temporary-name token, cancel flag, kernels."""

    token: str = field(default_factory=_token)
    cancel: threading.Event = field(default_factory=threading.Event)
    kernels: _Kernels = field(default_factory=_Kernels)


def to_html(notebook: nbformat.NotebookNode,
            hidden_tags: frozenset[str] = frozenset({"remove_cell"})) -> str:
    """Render an executed notebook without code and without remote scripts or styles.

    Cells tagged with one of ``hidden_tags`` are left out of the page: the key figures that
    the regression tests compare (``# NBVAL_CHECK_OUTPUT``) and their heading.
    """
    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(hidden_tags)
    exporter = HTMLExporter(config=config, template_name="lab", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    body, _ = exporter.from_notebook_node(notebook)
    # The lab template writes no alternative text; nbconvert then marks every image "No
    # description": put each figure's own (plots.show_alt_text), in the order shown.
    alts = iter([out.get("metadata", {}).get("image/png", {}).get("alt")
                 for cell in notebook.cells
                 if not set(cell.get("metadata", {}).get("tags", [])) & hidden_tags
                 for out in cell.get("outputs", []) if "image/png" in out.get("data", {})])
    body = re.sub(r'alt="No description has been provided for this image"',
                  lambda m: f'alt="{html.escape(next(alts, None) or "A figure", quote=True)}"',
                  body)
    # The lab template links require.js and MathJax from a CDN and imports mermaid from one;
    # the pages use none of them, and must render offline.
    return _REMOTE.sub("", body)


#: Where each page's downloads go, under the report folder: ``downloads/<page>/``.
DOWNLOADS = "downloads"
_NAV_STYLE = ("font-family: system-ui, sans-serif; font-size: 0.9rem; padding: 0.6rem 1rem; "
              "border-bottom: 1px solid #ddd; background: #f7f7f7; line-height: 1.6")


def _contents(text: str) -> list[tuple[str, str]]:
    """The page's sections: ``(anchor, heading)`` of each ``h2`` nbconvert rendered."""
    out = []
    for anchor, inner in re.findall(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', text, flags=re.DOTALL):
        shown = re.sub(r"<a class=\"anchor-link\".*?</a>|<[^>]+>", "", inner, flags=re.DOTALL)
        out.append((anchor, " ".join(html.unescape(shown).split())))
    return out


def _navigation(page: Page, out_dir: Path, files: list[Path],
                sections: list[tuple[str, str]] = ()) -> str:
    """The bar on top of every page: back to the index, the page's contents, its downloads
    (the workbook first, the CSV files folded away) and the executed notebook."""
    links = ['<a href="index.html">&larr; Report index</a>']
    if sections:
        links.append("<strong>Contents:</strong> " + " &middot; ".join(
            f'<a href="#{html.escape(anchor, quote=True)}">{html.escape(title)}</a>'
            for anchor, title in sections))
    def link(f: Path, label: str | None = None) -> str:
        return (f'<a href="{html.escape(os.path.relpath(f, out_dir))}" download>'
                f"{html.escape(label or f.name)}</a>")

    books = [f for f in files if f.suffix == ".xlsx"]
    tables = [f for f in files if f.suffix != ".xlsx"]
    parts = [link(f, "every table in one Excel workbook") for f in books]
    parts.append(f'<a href="executed/{html.escape(page.name)}.ipynb" download>the executed '
                 "notebook (.ipynb, for JupyterLab)</a>")
    if tables:  # last: opened, the list of files runs on below the other links
        parts.append(f"<details style=\"display:inline\"><summary style=\"display:inline;"
                     f"cursor:pointer\">{len(tables)} CSV files</summary> "
                     + " &middot; ".join(link(f) for f in tables) + "</details>")
    rows = [" | ".join(links), "<strong>Downloads:</strong> " + " &middot; ".join(parts)]
    return (f'<nav class="trialrecon-nav" style="{_NAV_STYLE}">'
            + "<br>".join(rows) + "</nav>")


def decorate(text: str, page: Page, out_dir: Path, files: list[Path]) -> str:
    """Give a rendered page its browser title and the navigation bar.

    The title is the page's own heading (its first ``h1``: the trial and cohort a trial page
    shows, read from the registry its kernel saw), else the page's title in the index.
    """
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", text, flags=re.DOTALL)
    # nbconvert appends a "¶" anchor link to each heading: drop tags and that sign.
    shown = (html.unescape(re.sub(r"<a class=\"anchor-link\".*?</a>|<[^>]+>", "",
                                  heading.group(1), flags=re.DOTALL)).strip()
             if heading else "")
    title = html.escape(f"{' '.join(shown.split()) or page.title} · trialrecon")
    text, n = re.subn(r"<title>.*?</title>", f"<title>{title}</title>", text, count=1,
                      flags=re.DOTALL)
    if not n:
        text = text.replace("</head>", f"<title>{title}</title></head>", 1)
    bar = _navigation(page, out_dir, files, _contents(text))
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + bar, text, count=1)


def _download_files(folder: Path) -> list[Path]:
    """The files a page wrote, CSV in name order and the workbook last."""
    if not folder.is_dir():
        return []
    found = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
    return sorted(found, key=lambda f: f.suffix == ".xlsx")


def _execute(page: Page, output: Path, kernels: _Kernels, downloads: Path | None = None
             ) -> None:
    """Run the page's notebook with papermill into ``output`` (kernels tracked for killing);
    the notebook writes its downloads into ``downloads``."""
    import papermill as pm

    parameters = dict(page.parameters)
    if downloads is not None:
        parameters["downloads"] = str(downloads)
    shared = {"km": kernels.for_thread(paths.NOTEBOOKS)} if kernels.reuse else {}
    pm.execute_notebook(str(paths.NOTEBOOKS / f"{page.notebook}.ipynb"), str(output),
                        parameters=parameters, kernel_name="python3",
                        progress_bar=False, cwd=str(paths.NOTEBOOKS),
                        kernel_manager_class=kernels.manager_class(), **shared)


def _source_cell(executed: Path, index: int) -> int:
    """The 1-based number, in the page's own notebook, of executed cell ``index``: papermill
    inserts a cell for the parameters it was given, which the notebook does not have."""
    try:
        cells = nbformat.read(executed, as_version=4).cells[:index]
    except (OSError, ValueError):
        return index + 1
    injected = sum("injected-parameters" in c.get("metadata", {}).get("tags", [])
                   for c in cells)
    return index + 1 - injected


def _record_failure(page: Page, executed: Path, tmp: Path, exc: Exception) -> str:
    """Keep the failed notebook as ``<page>.failed.ipynb`` and describe the failure.

    The file's presence is the record that the page's latest build failed (the index marks
    the page stale); when no notebook was written (kernel did not start) a stub stands in.
    """
    from papermill import PapermillExecutionError

    where = f"{page.notebook}.ipynb {page.parameters or ''}"
    if isinstance(exc, PapermillExecutionError):
        detail = f"cell {_source_cell(tmp, exc.cell_index)} raised {exc.ename}: {exc.evalue}"
    else:  # kernel died, notebook missing: still a page-level failure
        detail = f"{type(exc).__name__}: {exc}"
    failed = executed / f"{page.name}.failed.ipynb"
    if tmp.exists():
        _move(tmp, failed)
        return f"{where}: {detail} (executed notebook kept: {failed})"
    stub = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        f"The build of this page failed before its notebook ran: {detail}")])
    _atomic_write(failed, nbformat.writes(stub))
    return f"{where}: {detail} (failure recorded: {failed})"


def run_page(page: Page, out_dir: Path, run: _Run | None = None) -> str | None:
    """Execute one page and render it; return an error message, or None on success.

    Parameters
    ----------
    page
        The page to build.
    out_dir
        The report folder: the HTML goes there, executed notebooks into ``executed/``.
    run
        The build this page belongs to (its temporary-name token, cancel flag and kernel
        registry); a page built on its own gets a fresh one.

    Returns
    -------
    str or None
        The failure (notebook, cell, error), or None when the page was built, or when the
        build was cancelled (nothing of the page is then written).

    Raises
    ------
    InputError
        If the output folder cannot be written.
    """
    run = run or _Run()
    if run.cancel.is_set():
        return None
    executed = out_dir / "executed"
    _check_writable(executed)
    tmp = executed / f".{page.name}.{run.token}.running.ipynb"
    # Downloads are written beside, then moved into place with the page: a failed build
    # keeps the previous page and the previous downloads together.
    downloads = out_dir / DOWNLOADS / page.name
    fresh = out_dir / DOWNLOADS / f".{page.name}.{run.token}.running"
    try:
        try:
            _check_writable(out_dir / DOWNLOADS)
            _execute(page, tmp, run.kernels, fresh)
            text = to_html(nbformat.read(tmp, as_version=4))
        except Exception as exc:
            if run.cancel.is_set():  # its kernel was killed on purpose: not a failure
                return None
            return _record_failure(page, executed, tmp, exc)
        except BaseException:
            # An interrupt inside this thread: stop the pages queued behind it too.
            run.cancel.set()
            raise
        if run.cancel.is_set():
            return None
        files = ([downloads / f.name for f in _download_files(fresh)] if fresh.is_dir()
                 else _download_files(downloads))
        # Everything that needs room is written first; then only renames, which a full disk
        # does not stop, put the page and its downloads in place together.
        target = out_dir / f"{page.name}.html"
        page_tmp = _write_temporary(target, decorate(text, page, out_dir, files))
        try:
            if fresh.is_dir():
                old = out_dir / DOWNLOADS / f".{page.name}.{run.token}.old"
                if downloads.exists():
                    _move(downloads, old)
                try:
                    _move(fresh, downloads)
                except InputError:
                    if old.exists():
                        _move(old, downloads)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            _move(page_tmp, target)
        finally:
            _discard(page_tmp)
        _move(tmp, executed / f"{page.name}.ipynb")
        stale = executed / f"{page.name}.failed.ipynb"
        try:
            stale.unlink(missing_ok=True)
        except OSError as exc:
            raise _write_error(stale, exc) from exc
        return None
    finally:
        _discard(tmp)
        shutil.rmtree(fresh, ignore_errors=True)


def _entry(page: Page, out_dir: Path) -> str:
    """The index line of one page: a link if it exists, marked when its last build failed."""
    built = (out_dir / f"{page.name}.html").exists()
    failed = (out_dir / "executed" / f"{page.name}.failed.ipynb").exists()
    title = html.escape(page.title)
    if built:
        note = f' <span class="stale">{STALE_NOTE}</span>' if failed else ""
        extra = []
        if (out_dir / "executed" / f"{page.name}.ipynb").exists():
            extra.append(f'<a href="executed/{page.name}.ipynb">executed notebook</a>')
        if (out_dir / DOWNLOADS / page.name / WORKBOOK).exists():
            extra.append(f'<a href="{DOWNLOADS}/{page.name}/{WORKBOOK}" download>'
                         "tables (Excel)</a>")
        more = f' <span class="note">({" · ".join(extra)})</span>' if extra else ""
        return f'<li><a href="{page.name}.html">{title}</a>{more}{note}</li>'
    if failed:
        return f'<li>{title} <span class="stale">{NOT_BUILT_NOTE}</span></li>'
    return ""


def write_index(pages: list[Page], out_dir: Path) -> None:
    """The index page linking every page that exists (self-contained HTML).

    A page whose latest build failed (``executed/<page>.failed.ipynb`` exists) is marked
    stale, since its link shows the previous build.

    Raises
    ------
    InputError
        If ``index.html`` cannot be written.
    """
    trials = [p for p in pages if p.notebook == "trial_report"]
    others = [p for p in pages if p.notebook != "trial_report"]

    def block(ps: list[Page]) -> str:
        return "\n".join(line for p in ps if (line := _entry(p, out_dir)))

    text = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>trialrecon report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
       line-height: 1.5; color: #222; padding: 0 1rem; }}
h1 {{ font-size: 1.6rem; }} h2 {{ font-size: 1.2rem; margin-top: 2rem; }}
a {{ color: #1b6ca8; }} .note {{ color: #555; font-size: 0.9rem; }}
.stale {{ color: #a33; font-size: 0.9rem; }}
</style></head><body>
<h1>trialrecon: reconstructed statistics of published trials</h1>
<p>Ipsen's endocrine-oncology and rare-disease portfolio. Reported figures are data with a
citation; every figure computed here is labelled as derived.</p>
<h2>Overview and methods</h2><ul>
{block(others)}
</ul>
<h2>Trials</h2><ul>
{block(trials)}
</ul>
<p class="note">Built {time.strftime('%Y-%m-%d')} by <code>make report</code>. Each page links
back here, to its executed notebook (under <code>executed/</code>) and to its downloads: every
table as CSV and one Excel workbook (under <code>downloads/</code>).</p>
</body></html>
"""
    _atomic_write(out_dir / "index.html", text)


def select_pages(trials: list[str] | None) -> list[Page]:
    """The pages to build: every registry page, or those of the trials named, each a
    registry id (any case) or the path of a trial file (one page per cohort).

    Raises
    ------
    InputError
        For an unknown id, or a trial file that cannot be read (naming file, row, field).
    """
    pages = [Page(nb, params) for nb, params in report_pages()]
    if not trials:
        return pages
    files = [t for t in trials if paths.is_trial_file(t)]
    ids = [t for t in trials if t not in files]
    valid = sorted(registry.trials())
    # Ids in any case, as everywhere on the command line (CABINET is cabinet).
    wanted = [t.strip().lower() for t in ids]
    unknown = [t for t, w in zip(ids, wanted, strict=True) if w not in valid]
    if unknown:
        raise InputError(f"unknown trial(s) {', '.join(map(repr, unknown))}",
                         column="--trial", advice=f"valid trials: {', '.join(valid)}, or the "
                         "path of a trial file (.yaml)")
    chosen = [p for p in pages if p.parameters.get("trial") in wanted]
    for name in files:
        path = Path(name).expanduser().resolve()  # the notebook runs in notebooks/
        trial = registry.load_trial(path)
        chosen += [Page("trial_report", {"trial": str(path), "cohort": cohort or ""})
                   for cohort in trial.cohorts]
    return chosen


def _stop(pool: ThreadPoolExecutor, futures: dict[Future[Any], Page], run: _Run) -> None:
    """Cancel the queued pages, kill the running kernels and wait for their threads."""
    run.cancel.set()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + STOP_TIMEOUT
    while True:
        try:
            # Again on every round: a page may have been starting its kernel just now.
            run.kernels.kill_all()
            running = [f for f in futures if not f.done()]
            if not running or time.monotonic() > deadline:
                return
            wait(running, timeout=0.2)
        except KeyboardInterrupt:
            continue  # a second Ctrl-C: already stopping, and stopping cleanly is quicker


def _timed_page(page: Page, out_dir: Path, run: _Run) -> tuple[str | None, float]:
    """:func:`run_page` with the seconds it took (from its start, not from when it queued)."""
    started = time.perf_counter()
    message = run_page(page, out_dir, run)
    return message, time.perf_counter() - started


def _page_line(page: Page, message: str | None, seconds: float) -> str:
    """The one line a run prints when a page finishes (the failure itself comes at the end)."""
    if message:
        return f"FAILED {page.name} ({seconds:.0f} s): see the failures below"
    return f"built {page.name}.html ({seconds:.0f} s)"


#: Rough cost of the pages that rebuild no trial, in rebuilt analyses (validation runs many).
_FIXED_COST = {"validation": 8.0, "portfolio": 2.0, "curve_reconstruction": 2.0}


def _cost(page: Page) -> float:
    """How long a page takes, roughly: its rebuilt analyses (the summary fits dominate)."""
    if page.notebook != "trial_report":
        return _FIXED_COST.get(page.notebook, 1.0)
    from .simulate import reconstructable

    cohort = page.parameters.get("cohort") or None
    trial = registry.find_trial(page.parameters["trial"])
    return 1.0 + len(reconstructable([a for a in trial.analyses
                                      if a.cohort in (cohort, None)]))


def _build(chosen: list[Page], out: Path, jobs: int, run: _Run) -> int:
    # The longest pages first: the last page to start is then a short one, and the run ends
    # soon after the cores run out of work.
    chosen = sorted(chosen, key=_cost, reverse=True)
    errors: list[str] = []
    started = time.perf_counter()
    futures: dict[Future[tuple[str | None, float]], Page] = {}
    pool = ThreadPoolExecutor(max_workers=jobs)
    bar = tqdm(total=len(chosen), unit="notebook", file=sys.stderr)
    try:
        for page in chosen:
            futures[pool.submit(_timed_page, page, out, run)] = page
        for future in as_completed(futures):
            page = futures[future]
            message, seconds = future.result()
            if not run.cancel.is_set():  # a cancelled page returns None but was not built
                # tqdm.write clears the bar, prints above it and redraws it: one line per
                # page however many run at once, and the bar stays whole.
                tqdm.write(_page_line(page, message, seconds), file=sys.stderr)
            bar.update()
            if message:
                errors.append(message)
        pool.shutdown(wait=True)
        write_index([Page(nb, params) for nb, params in report_pages()]
                    + [p for p in chosen if p.from_file], out)
    except BaseException:
        # Ctrl-C, SIGTERM or an unwritable folder: the context manager of the pool would
        # wait for every queued page, so stop them here.
        _stop(pool, futures, run)
        raise
    finally:
        bar.close()
        run.kernels.shutdown_all()
    seconds = time.perf_counter() - started
    print(f"{len(chosen) - len(errors)}/{len(chosen)} pages built in {seconds:.0f} s -> "
          f"{out / 'index.html'}")
    for message in errors:
        print(f"failed: {printable(message)}", file=sys.stderr)
    return 1 if errors else 0


def build_report(trials: list[str] | None = None, jobs: int | None = None,
                 out_dir: Path | None = None) -> int:
    """Run the selected pages (all by default) in parallel; return the exit status.

    Parameters
    ----------
    trials
        Registry trial ids whose pages to build; None builds every page.
    jobs
        Notebooks run at once (default: one per core).
    out_dir
        The report folder (default: ``reports/``). A run waits for another one writing
        into the same folder.

    Returns
    -------
    int
        0 when every page was built, 1 when some failed, 130 after Ctrl-C and 143 after
        SIGTERM (queued pages cancelled, kernels killed, previous pages kept).

    Raises
    ------
    InputError
        For an unknown trial, ``jobs`` below 1, or an output folder that cannot be written.
    """
    if jobs is not None and jobs < 1:
        raise InputError(f"{jobs} parallel notebooks asked for", column="--jobs",
                         advice="give 1 or more, or leave --jobs out for one per core")
    chosen = select_pages(trials)
    out = Path(out_dir or paths.REPORTS)
    _check_writable(out)
    run = _Run(kernels=_Kernels(reuse=True))
    try:
        with _sigterm_as_interrupt(), _quiet_once_cancelled(run.cancel), _locked(out):
            try:
                _sweep(out)
                _check_writable(out / "executed")
                return _build(chosen, out, jobs or os.cpu_count() or 1, run)
            finally:
                _sweep(out, run.token)
    except KeyboardInterrupt as exc:
        how, status = (("terminated (SIGTERM)", 128 + signal.SIGTERM)
                       if isinstance(exc, _Terminated) else ("interrupted", 130))
        print(f"trialrecon: {how}: report not finished; queued pages cancelled, the previous "
              f"pages in {out} are kept", file=sys.stderr)
        return status
