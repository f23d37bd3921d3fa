"""How well the OCR layer reads the printed numbers of raster Kaplan-Meier figures.

For every raster of the figure corpus (``shared/corpus/figures``) the words that
:func:`trialrecon.digitise.ocr.read_words` (or another reader, ``--reader``) finds are compared
with the truth: the text layer of the same figure's vector PDF (pdfplumber), scaled from PDF
points to the raster's pixels, and the manifest's at-risk counts.

* **x ticks**: the time axis's labels (the row of numbers equal to the manifest's
  ``risk_times``);
* **y ticks**: the survival axis's labels (a right-aligned column of numbers, decreasing down);
* **at-risk cells**: the numbers of the at-risk table (rows equal to ``risk_counts_1/2``).

A truth word counts as read when the OCR word whose box centre is nearest to the truth's
centre, within half a tick spacing across and half a text height up or down, has exactly its
text. Prints one row per figure (``--per-figure``) and totals by raster format and dpi.

Run: ``.venv/bin/python benchmarks/bench_ocr.py [--reader module:function] [--figures DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

_NUM = re.compile(r"^\d+(\.\d+)?$")
#: A trailing whole number glued to a row label in the PDF's words ("control1678").
_TAIL = re.compile(r"^(.*?[^\d.])(\d+)$")


def _pdf_numbers(pdf_path: Path) -> tuple[list[dict[str, Any]], float, float]:
    """Numeric words of the PDF's first page (points), with row labels split off numbers."""
    import pdfplumber

    with pdfplumber.open(pdf_path) as pdf:
        page = pdf.pages[0]
        words = page.extract_words(return_chars=True)
        out = []
        for w in words:
            text = w["text"].replace("−", "-")
            if _NUM.match(text):
                out.append({k: w[k] for k in ("text", "x0", "x1", "top", "bottom")})
                continue
            m = _TAIL.match(text)
            if m:  # base R prints a row's label right against its first count
                chars = w["chars"][len(m.group(1)):]
                out.append({"text": m.group(2), "x0": chars[0]["x0"], "x1": chars[-1]["x1"],
                            "top": w["top"], "bottom": w["bottom"]})
        # Glyphs of one number that the PDF places apart in its stream ("1" "00") are joined.
        joined: list[dict[str, Any]] = []
        for w in sorted(out, key=lambda w: (round(w["top"]), w["x0"])):
            last = joined[-1] if joined else None
            if last and abs(last["top"] - w["top"]) < 1 and 0 <= w["x0"] - last["x1"] < 0.5:
                last.update(text=last["text"] + w["text"], x1=w["x1"])
            else:
                joined.append(dict(w))
        return joined, float(page.width), float(page.height)


def _rows(words: list[dict[str, Any]], slack: float = 2.0) -> list[list[dict[str, Any]]]:
    rows: list[list[dict[str, Any]]] = []
    for w in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if rows and abs(rows[-1][0]["top"] - w["top"]) <= slack:
            rows[-1].append(w)
        else:
            rows.append([w])
    return [sorted(r, key=lambda w: w["x0"]) for r in rows]


def truth(fig: dict[str, str], folder: Path) -> dict[str, Any]:
    """The figure's tick labels and at-risk cells, in raster pixels."""
    words, pw, ph = _pdf_numbers(folder / fig["vector_file"])
    times = fig["risk_times"].split(";")
    counts = [fig["risk_counts_1"].split(";"), fig["risk_counts_2"].split(";")]
    rows = _rows(words)
    # The x tick labels: the first row reading exactly the break times (the table is below).
    xrow_i = next(i for i, r in enumerate(rows) if [w["text"] for w in r][-len(times):] == times)
    xrow = rows[xrow_i][-len(times):]
    spacing = float(np.median(np.diff([(w["x0"] + w["x1"]) / 2 for w in xrow])))
    cells = []
    for r in rows[xrow_i + 1:]:
        texts = [w["text"] for w in r]
        for c in counts:
            if texts[-len(c):] == c:
                cells.extend(r[-len(c):])
    # The y tick labels: numbers right-aligned left of the first x label, decreasing downward.
    left = [w for w in words if w["x1"] < xrow[0]["x0"] + 2 and w["top"] < xrow[0]["top"] - 2]
    cols: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for w in left:
        cols[round(w["x1"] / 3)].append(w)
    ycol = max(cols.values(), key=len) if cols else []
    ycol = sorted(ycol, key=lambda w: w["top"])
    assert len(ycol) >= 3 and all(float(a["text"]) > float(b["text"])
                                  for a, b in zip(ycol, ycol[1:], strict=False)), fig["figure_id"]
    return {"x": xrow, "y": ycol, "cells": cells, "spacing": spacing, "page": (pw, ph)}


def _shift(a: np.ndarray, b: np.ndarray, most: int = 40) -> int:
    """The shift ``k`` (pixels) that best lays profile ``b`` on ``a`` (``a[i + k] ~ b[i]``)."""
    best, arg = -np.inf, 0
    for k in range(-most, most + 1):
        lo, hi = max(0, -k), min(len(b), len(a) - k)
        c = float(np.dot(a[lo + k:hi + k], b[lo:hi]))
        if c > best:
            best, arg = c, k
    return arg


def offset(pdf_path: Path, rgb: np.ndarray, scale: float) -> tuple[int, int]:
    """Where the PDF page's origin lies in the raster (pixels), for rasters not of the whole
    page (matplotlib's tight bounding box crops the PNG and the PDF each on its own)."""
    import pdfplumber

    with pdfplumber.open(pdf_path) as pdf:
        page = np.asarray(pdf.pages[0].to_image(resolution=scale * 72).original.convert("L"),
                          dtype=float)
    ink_page, ink_raster = 255 - page, 255 - rgb.mean(axis=2)
    return (_shift(ink_raster.sum(axis=0), ink_page.sum(axis=0)),
            _shift(ink_raster.sum(axis=1), ink_page.sum(axis=1)))


def score(truth_words: list[dict[str, Any]], found: list[dict[str, Any]], scale: float,
          dx: float, origin: tuple[int, int] = (0, 0)) -> tuple[int, list[str]]:
    """How many truth words (points) the OCR words (pixels) read exactly; misses described."""
    centres = np.array([((w["x0"] + w["x1"]) / 2, (w["top"] + w["bottom"]) / 2) for w in found]
                       ).reshape(-1, 2)
    hits, misses = 0, []
    for t in truth_words:
        cx = (t["x0"] + t["x1"]) / 2 * scale + origin[0]
        cy = (t["top"] + t["bottom"]) / 2 * scale + origin[1]
        dy = (t["bottom"] - t["top"]) * scale / 2
        near = [(abs(x - cx) + abs(y - cy), k) for k, (x, y) in enumerate(centres)
                if abs(x - cx) <= dx and abs(y - cy) <= dy]
        got = found[min(near)[1]]["text"] if near else None
        if got == t["text"]:
            hits += 1
        else:
            misses.append(f"{t['text']}->{got}")
    return hits, misses


def load_reader(spec: str) -> Callable[[np.ndarray], list[dict[str, Any]]]:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "read_words")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--figures", type=Path,
                    default=ROOT.parent / "shared" / "corpus" / "figures")
    ap.add_argument("--reader", default="trialrecon.digitise.ocr:read_words",
                    help="module:function taking an RGB uint8 array, giving words")
    ap.add_argument("--only", nargs="*", help="figure ids to run (default all)")
    ap.add_argument("--per-figure", action="store_true", help="print a row per figure")
    ap.add_argument("--misses", action="store_true", help="list the words misread")
    args = ap.parse_args(argv)
    from PIL import Image

    read = load_reader(args.reader)
    with open(args.figures / "manifest.csv", newline="") as fh:
        figs = [f for f in csv.DictReader(fh) if not args.only or f["figure_id"] in args.only]
    groups: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(7))
    if args.per_figure:
        print(f"{'figure':<11} {'raster':<9} {'x':>7} {'y':>7} {'cells':>7} {'s':>6}")
    for fig in figs:
        t = truth(fig, args.figures)
        with Image.open(args.figures / fig["raster_file"]) as im:
            rgb = np.asarray(im.convert("RGB"))
        scale = float(fig["raster_dpi"]) / 72  # pixels per point
        whole = (abs(rgb.shape[1] - t["page"][0] * scale) < 1.5
                 and abs(rgb.shape[0] - t["page"][1] * scale) < 1.5)
        origin = (0, 0) if whole else offset(args.figures / fig["vector_file"], rgb, scale)
        start = time.perf_counter()
        found = read(rgb)
        secs = time.perf_counter() - start
        dx = t["spacing"] * scale / 2
        (xh, xm), (yh, ym), (ch, cm) = (score(t[k], found, scale, dx, origin)
                                        for k in ("x", "y", "cells"))
        row = np.array([xh, len(t["x"]), yh, len(t["y"]), ch, len(t["cells"]), secs])
        key = f"{fig['raster_format']} {fig['raster_dpi']}"
        for k in (key, "all"):
            groups[k] += row
        groups[key + " #"] += 1
        groups["all #"] += 1
        if args.per_figure:
            print(f"{fig['figure_id']:<11} {key:<9} {xh:>3}/{len(t['x']):<3}"
                  f" {yh:>3}/{len(t['y']):<3} {ch:>3}/{len(t['cells']):<3} {secs:6.2f}")
        if args.misses and (xm or ym or cm):
            print(f"  {fig['figure_id']} misses: x {xm} y {ym} cells {cm}")
    print(f"\nreader {args.reader}")
    print(f"{'raster':<10} {'figs':>4} {'x ticks':>14} {'y ticks':>14} {'at-risk cells':>16}"
          f" {'s/fig':>6}")
    for key in sorted(k for k in groups if not k.endswith("#")):
        xh, xn, yh, yn, ch, cn, secs = groups[key]
        n = groups[key + " #"][0]
        print(f"{key:<10} {n:>4.0f} {xh:>5.0f}/{xn:<4.0f}{xh / xn:>5.1%} {yh:>5.0f}/{yn:<4.0f}"
              f"{yh / yn:>5.1%} {ch:>6.0f}/{cn:<4.0f}{ch / cn:>6.1%} {secs / n:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
