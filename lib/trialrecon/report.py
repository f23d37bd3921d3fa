"""The report runner: papermill runs the notebooks in parallel, nbconvert renders HTML.

Every page is written atomically (a temporary file renamed into place). A failed notebook
leaves the previous HTML of its page untouched, keeps the failed executed notebook for
inspection, is named with its cell in the summary, and makes the run exit non-zero.
The HTML is self-contained: images are embedded and nothing is loaded from the internet.
"""

from __future__ import annotations

import html
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from tqdm import tqdm

from . import paths, registry
from .errors import InputError
from .pages import report_pages

TITLES = {"portfolio": "Portfolio overview: every reported hazard ratio and verdict",
          "validation": "Method validation: both reconstructions against known truth",
          "curve_reconstruction": "Curve reconstruction example"}
_REMOTE = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>|"
                     r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*/?>|"
                     r"<script type=\"module\">(?:(?!</script>).)*?https?://(?:(?!</script>).)*?"
                     r"</script>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Page:
    notebook: str
    parameters: dict[str, str]

    @property
    def name(self) -> str:
        if self.notebook != "trial_report":
            return self.notebook
        cohort = self.parameters.get("cohort")
        return "trial-" + self.parameters["trial"] + (f"-{cohort}" if cohort else "")

    @property
    def title(self) -> str:
        if self.notebook != "trial_report":
            return TITLES[self.notebook]
        trial = registry.get_trial(self.parameters["trial"])
        cohort = self.parameters.get("cohort")
        return trial.name + (f", {trial.design.cohorts[cohort]}" if cohort else "")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def to_html(notebook: nbformat.NotebookNode) -> str:
    """Render an executed notebook without code and without remote scripts or styles."""
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(notebook)
    # The lab template links require.js and MathJax from a CDN and imports mermaid from one;
    # the pages use none of them, and must render offline.
    return _REMOTE.sub("", body)


def run_page(page: Page, out_dir: Path) -> str | None:
    """Execute one page and render it; return an error message, or None on success."""
    import papermill as pm

    executed = out_dir / "executed"
    executed.mkdir(parents=True, exist_ok=True)
    tmp = executed / f".{page.name}.running.ipynb"
    try:
        pm.execute_notebook(str(paths.NOTEBOOKS / f"{page.notebook}.ipynb"), str(tmp),
                            parameters=page.parameters, kernel_name="python3",
                            progress_bar=False, cwd=str(paths.NOTEBOOKS))
    except pm.PapermillExecutionError as exc:
        failed = executed / f"{page.name}.failed.ipynb"
        os.replace(tmp, failed)
        return (f"{page.notebook}.ipynb {page.parameters or ''}: cell {exc.cell_index + 1} "
                f"raised {exc.ename}: {exc.evalue} (executed notebook kept: {failed})")
    except Exception as exc:  # kernel died, notebook missing: still a page-level failure
        return f"{page.notebook}.ipynb {page.parameters or ''}: {type(exc).__name__}: {exc}"
    nb = nbformat.read(tmp, as_version=4)
    _atomic_write(out_dir / f"{page.name}.html", to_html(nb))
    os.replace(tmp, executed / f"{page.name}.ipynb")
    stale = executed / f"{page.name}.failed.ipynb"
    if stale.exists():
        stale.unlink()
    return None


def write_index(pages: list[Page], out_dir: Path) -> None:
    """The index page linking every page that exists (self-contained HTML)."""
    trials = [p for p in pages if p.notebook == "trial_report"]
    others = [p for p in pages if p.notebook != "trial_report"]
    def block(ps: list[Page]) -> str:
        return "\n".join(f'<li><a href="{p.name}.html">{html.escape(p.title)}</a></li>'
                         for p in ps if (out_dir / f"{p.name}.html").exists())

    text = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>trialrecon report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
       line-height: 1.5; color: #222; padding: 0 1rem; }}
h1 {{ font-size: 1.6rem; }} h2 {{ font-size: 1.2rem; margin-top: 2rem; }}
a {{ color: #1b6ca8; }} .note {{ color: #555; font-size: 0.9rem; }}
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
<p class="note">Built {time.strftime('%Y-%m-%d')} by <code>make report</code>; each page links
its executed notebook under <code>executed/</code>.</p>
</body></html>
"""
    _atomic_write(out_dir / "index.html", text)


def select_pages(trials: list[str] | None) -> list[Page]:
    pages = [Page(nb, params) for nb, params in report_pages()]
    if not trials:
        return pages
    valid = sorted(registry.trials())
    unknown = [t for t in trials if t not in valid]
    if unknown:
        raise InputError(f"unknown trial(s) {unknown}", column="--trial",
                         advice=f"valid trials: {', '.join(valid)}")
    return [p for p in pages if p.parameters.get("trial") in trials]


def build_report(trials: list[str] | None = None, all_pages: bool = False,
                 jobs: int | None = None, out_dir: Path | None = None) -> int:
    """Run the selected pages (all by default) in parallel; return the exit status."""
    out = Path(out_dir or paths.REPORTS)
    out.mkdir(parents=True, exist_ok=True)
    chosen = select_pages(None if all_pages else trials)
    jobs = jobs or os.cpu_count() or 1
    errors: list[str] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool, \
            tqdm(total=len(chosen), unit="notebook", file=sys.stderr) as bar:
        futures = {pool.submit(run_page, p, out): p for p in chosen}
        for future in as_completed(futures):
            page = futures[future]
            message = future.result()
            bar.set_postfix_str(f"{page.name} {'failed' if message else 'done'}")
            bar.update()
            if message:
                errors.append(message)
    write_index([Page(nb, params) for nb, params in report_pages()], out)
    seconds = time.perf_counter() - started
    print(f"{len(chosen) - len(errors)}/{len(chosen)} pages built in {seconds:.0f} s -> "
          f"{out / 'index.html'}")
    for message in errors:
        print(f"failed: {message}", file=sys.stderr)
    return 1 if errors else 0
