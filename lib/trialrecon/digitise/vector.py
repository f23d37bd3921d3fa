"""Kaplan-Meier figures read exactly from a vector PDF's drawing operations and text.

Page coordinates are PDF points, ``x`` from the left and ``top`` from the top of the page (as
pdfplumber gives them).

* **Axes.** A tick is a short black line perpendicular to its axis; its label is the number
  printed beside it (left of a survival tick, under a time tick). A straight line through the
  (position, value) pairs calibrates each axis; labels that a straight line does not fit to
  within a hundredth of a tick step are refused (a log axis, or a label misread).
* **Arms.** The legend pairs a short line in an arm's colour with the name printed at its
  right, at the same height. The curve of an arm is the longest stroked path of its colour
  that spans the time axis; where paths of one colour are several (a confidence band drawn as
  lines), the middle one.
* **Censoring marks** are ``+`` or ``|`` glyphs in an arm's colour within the plotting area.
* **Numbers at risk** are the whole numbers under the time axis's labels, in rows, each number
  within half a tick step of a tick; a row belongs to the arm whose name or colour starts it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from . import Axis, Digitised

#: Longest tick mark, PDF points (ticks are a few points long; grid lines span the plot).
TICK_LONGEST = 12.0
#: Greatest distance from a tick to its label, PDF points.
LABEL_GAP = 14.0
#: Greatest distance from a legend's key line to the arm's name, PDF points.
LEGEND_GAP = 30.0
#: Labels off the straight line through the others by more than this share of a tick step are
#: refused.
LINEAR_SLACK = 0.01
#: Two colours are one when no channel differs by more than this (0-1).
SAME_COLOUR = 0.02
#: Words on one printed row differ in height by at most this, PDF points.
ROW_SLACK = 3.0
#: A curve spans at least this share of the time axis.
CURVE_SPAN = 0.2
#: A curve starts within this of survival 1 and of the first time tick (share of the axis).
START_SLACK = 0.02
#: Rounding in the PDF's coordinates a non-increasing curve may show (share of the axis).
MONOTONE_SLACK = 1e-3
#: Calibration rounding: survival this far above 1 or below 0 (or time this share of the axis
#: below 0) is read as 1, 0 (or 0).
ROUNDING = 1e-4

#: Longest stroke (points) taken as a censoring mark drawn as a path.
MARK_LONGEST = 12.0
#: Resolutions (dpi) a scanned page is rendered at: its image's own, within these.
SCAN_DPI = (150.0, 400.0)

_NUMBER = re.compile(r"^[−-]?\d+(\.\d+)?$")
_LABEL = re.compile(r"^[−-]?\d+(\.\d+)?%?$")


def _number(text: str) -> float:
    return float(text.replace("−", "-").rstrip("%"))


def _rgb(colour: Any) -> tuple[float, float, float] | None:
    """A pdfplumber colour as RGB (grey and RGB spaces; None for other or absent ones)."""
    if colour is None:
        return None
    c = tuple(float(v) for v in (colour if isinstance(colour, (tuple, list)) else (colour,)))
    if len(c) == 1:
        return c[0], c[0], c[0]
    if len(c) == 3:
        return c[0], c[1], c[2]
    if len(c) == 4:  # CMYK
        k = c[3]
        return tuple((1 - v) * (1 - k) for v in c[:3])  # type: ignore[return-value]
    return None


def _same(a: tuple[float, float, float] | None, b: tuple[float, float, float] | None) -> bool:
    if a is None or b is None:
        return False
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= SAME_COLOUR


def _hex(c: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(255 * v):02x}" for v in c)


def _black(c: tuple[float, float, float] | None) -> bool:
    return c is not None and max(c) <= SAME_COLOUR


def _open(path: Path, page: int | None) -> Any:
    try:
        import pdfplumber
    except ImportError:  # pragma: no cover - the digitise extra is installed by make
        raise InputError("reading PDF figures needs pdfplumber", file=path,
                         advice="install trialrecon[digitise]") from None
    try:
        pdf = pdfplumber.open(path)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a file that is no PDF
        raise InputError(f"cannot be read as a PDF ({type(exc).__name__})", file=path,
                         advice="give a PDF file as the journal or the supplement prints it"
                         ) from None
    number = 1 if page is None else page
    if not 1 <= number <= len(pdf.pages):
        count = len(pdf.pages)
        pdf.close()
        raise InputError(f"has {count} page(s), not a page {number}", file=path,
                         column="page", advice="give the page that holds the figure")
    return pdf.pages[number - 1]


def _axis(pairs: list[tuple[float, float]], what: str, path: Path, unit: str) -> Axis:
    """The calibrated axis from (value, position) pairs, checked to be linear."""
    first: dict[float, float] = {}
    for value, position in sorted(pairs, key=lambda p: p[1]):
        first.setdefault(value, position)  # a label found at two ticks: the first
    pairs = sorted(((v, p) for v, p in first.items()), key=lambda p: p[1])
    if len(pairs) < 2:
        raise InputError(f"fewer than two labelled ticks found on the {what} axis", file=path,
                         advice="the figure's axes must be drawn with tick marks and printed "
                         "labels (a figure without them cannot be read exactly)")
    values = np.array([v for v, _ in pairs])
    positions = np.array([p for _, p in pairs])
    slope, intercept = np.polyfit(positions, values, 1)
    step = float(np.min(np.abs(np.diff(values)))) if len(values) > 1 else 1.0
    off = np.abs(intercept + slope * positions - values)
    if step <= 0 or float(off.max()) > LINEAR_SLACK * step:
        raise InputError(f"the {what} axis's labels do not lie on a straight scale "
                         f"(largest miss {float(off.max()):.3g})", file=path,
                         advice="only linear axes are read; check the figure's tick labels")
    return Axis(tuple(float(v) for v in values), tuple(float(p) for p in positions), unit)


def _to_value(axis: Axis, position: np.ndarray) -> np.ndarray:
    slope, intercept = np.polyfit(np.array(axis.positions), np.array(axis.values), 1)
    return intercept + slope * np.asarray(position, float)


def read_pdf(path: Path, page: int | None = None) -> Digitised:
    """Read the figure on ``page`` of the PDF at ``path`` (see the module doc)."""
    pg = _open(path, page)
    try:
        return _read_page(pg, path, page)
    finally:
        pg.pdf.close()


def _read_scan(pg: Any, path: Path, page: int | None) -> Digitised:
    """A page that is an image (a scanned or pasted figure, no text on it): rendered at the
    resolution its largest image was embedded at and read from its pixels (:mod:`.raster`),
    the axes' positions then given in PDF points like a vector page's."""
    from dataclasses import replace

    from .ocr import read_words
    from .raster import read_pixels

    image = max(pg.images, key=lambda im: (im["x1"] - im["x0"]) * (im["bottom"] - im["top"]))
    width_pt = max(float(image["x1"] - image["x0"]), 1.0)
    dpi = float(np.clip(float(image["srcsize"][0]) / width_pt * 72.0, *SCAN_DPI))
    rgb = np.asarray(pg.to_image(resolution=dpi).original.convert("RGB"), np.uint8)
    read = read_pixels(rgb / 255.0, read_words(rgb), path)
    points = 72.0 / dpi
    axes = [Axis(a.values, tuple(p * points for p in a.positions), a.unit)
            for a in (read.time_axis, read.survival_axis)]
    return replace(read, time_axis=axes[0], survival_axis=axes[1],
                   warnings=(f"page {page or 1} holds no text, only an image: read from its "
                             f"pixels at {dpi:.0f} dpi, its words by OCR",) + read.warnings)


def _read_page(pg: Any, path: Path, page: int | None) -> Digitised:
    """:func:`read_pdf` on an open page."""
    words = pg.extract_words(extra_attrs=["non_stroking_color"])
    if not words and pg.images:
        return _read_scan(pg, path, page)
    numbers = [w for w in words if _NUMBER.match(w["text"])]
    # Tick labels may print a percent sign ("25%"); numbers at risk never do.
    labels = [w for w in words if _LABEL.match(w["text"])]
    lines = [ln for ln in pg.lines if _black(_rgb(ln.get("stroking_color")))]
    # Survival ticks: short horizontal black lines, a number just left of each.
    y_pairs, x_pairs = [], []
    percent_sign = False
    for ln in lines:
        if abs(ln["top"] - ln["bottom"]) < 0.01 and 0 < ln["x1"] - ln["x0"] <= TICK_LONGEST:
            y = ln["top"]
            near = [w for w in labels
                    if abs((w["top"] + w["bottom"]) / 2 - y)
                    <= max(ROW_SLACK, 0.5 * (w["bottom"] - w["top"]))
                    and 0 <= ln["x0"] - w["x1"] <= LABEL_GAP]
            if near:
                label = max(near, key=lambda w: w["x1"])["text"]
                y_pairs.append((_number(label), y))
                percent_sign = percent_sign or label.endswith("%")
        elif abs(ln["x0"] - ln["x1"]) < 0.01 and 0 < ln["bottom"] - ln["top"] <= TICK_LONGEST:
            x = ln["x0"]
            near = [w for w in numbers if abs((w["x0"] + w["x1"]) / 2 - x) < ROW_SLACK
                    and 0 <= w["top"] - ln["bottom"] <= LABEL_GAP]
            if near:
                x_pairs.append((_number(min(near, key=lambda w: w["top"])["text"]), x))
    time_axis = _axis(x_pairs, "time", path, "as printed")
    y_values = [v for v, _ in y_pairs]
    percent = bool(y_values) and (max(y_values) > 1.5 or percent_sign)
    survival_axis = _axis(y_pairs, "survival", path, "percent" if percent else "proportion")
    scale = 100.0 if percent else 1.0
    x_lo, x_hi = min(time_axis.positions), max(time_axis.positions)
    y_lo, y_hi = min(survival_axis.positions), max(survival_axis.positions)
    warnings: list[str] = []

    # The legend: a short coloured line with a name at its right, at the same height.
    legend: list[tuple[str, tuple[float, float, float], float]] = []
    for ln in list(pg.lines) + list(pg.curves):
        colour = _rgb(ln.get("stroking_color"))
        if colour is None or min(colour) >= 1 - SAME_COLOUR:
            continue
        if abs(ln["top"] - ln["bottom"]) > 0.5 or not 5 <= ln["x1"] - ln["x0"] <= 40:
            continue
        if _crossbar(ln, pg.lines, colour):
            continue  # a censoring mark "+" drawn as two strokes, not a legend's key
        y = ln["top"]
        names = [w for w in words if not _NUMBER.match(w["text"])
                 and not set(w["text"]) <= set("+|")
                 and abs((w["top"] + w["bottom"]) / 2 - y)
                 <= max(ROW_SLACK, 0.5 * (w["bottom"] - w["top"]))
                 and 0 <= w["x0"] - ln["x1"] <= LEGEND_GAP]
        if names:
            if not any(_same(colour, c) for _, c, _ in legend):
                line = [w for w in words if abs((w["top"] + w["bottom"]) / 2 - y)
                        <= max(ROW_SLACK, 0.5 * (w["bottom"] - w["top"]))]
                legend.append((_name(min(names, key=lambda w: w["x0"]), line), colour, y))
    legend.sort(key=lambda e: e[2])

    # Stroked paths spanning the time axis, grouped by colour.
    paths: dict[tuple[float, float, float], list[np.ndarray]] = {}
    for cv in pg.curves:
        colour = _rgb(cv.get("stroking_color"))
        if colour is None or cv.get("fill") or not cv.get("stroke", True):
            continue
        pts = np.asarray(cv["pts"], float)
        if len(pts) < 4 or np.ptp(pts[:, 0]) < CURVE_SPAN * (x_hi - x_lo):
            continue
        # A Kaplan-Meier path (an estimate or a confidence limit) starts at survival 1 near
        # time 0 and never rises or goes back in time; axes and frames do not.
        t = _to_value(time_axis, pts[:, 0])
        v = _to_value(survival_axis, pts[:, 1]) / scale
        span = max(time_axis.values) - min(time_axis.values)
        starts = v[0] >= 1 - START_SLACK and t[0] <= min(time_axis.values) + START_SLACK * span
        monotone = (not np.any(np.diff(v) > MONOTONE_SLACK)
                    and not np.any(np.diff(t) < -MONOTONE_SLACK * span))
        if not (starts and monotone):
            continue
        key = next((k for k in paths if _same(k, colour)), colour)
        paths.setdefault(key, []).append(pts)
    if not legend:
        legend = [(f"arm {k + 1}", c, 0.0) for k, c in enumerate(paths)]
        if legend:
            warnings.append("no legend pairing colours with names was found: arms named by "
                            "colour order")
    curve_rows, arms, colours = [], [], {}
    for name, colour, _ in legend:
        group = next((v for k, v in paths.items() if _same(k, colour)), None)
        if group is None:
            warnings.append(f"the legend's {name!r} has no curve of its colour")
            continue
        if len(group) > 1:
            # Several paths of one colour: a band drawn as lines around the estimate.
            group = sorted(group, key=lambda p: float(np.mean(p[:, 1])))
            warnings.append(f"{len(group)} paths in the colour of {name!r}: the middle one "
                            "taken as its curve (the others as confidence limits)")
        pts = group[len(group) // 2]
        t = _to_value(time_axis, pts[:, 0])
        s = _to_value(survival_axis, pts[:, 1]) / scale
        # The calibration's rounding (a millionth of the axis) is not left above 1 or below 0.
        s = np.where(np.abs(s - np.clip(s, 0.0, 1.0)) <= ROUNDING, np.clip(s, 0.0, 1.0), s)
        t = np.where((t < 0) & (t >= -ROUNDING * (max(time_axis.values) or 1.0)), 0.0, t)
        curve_rows.append(pd.DataFrame({"arm": name, "time": t, "survival": s}))
        arms.append(name)
        colours[name] = _hex(colour)
    if len(arms) < 1:
        raise InputError("no Kaplan-Meier curve found (no coloured stroked path spans the "
                         "time axis)", file=path,
                         advice="give a vector figure whose curves are drawn as lines")
    curves = pd.concat(curve_rows, ignore_index=True)

    # Censoring marks: + or | glyphs in an arm's colour inside the plotting area.
    mark_rows = []
    for ch in pg.chars:
        if ch["text"] not in "+|" or not (x_lo - 1 <= (ch["x0"] + ch["x1"]) / 2 <= x_hi + 1):
            continue
        if not (y_lo - 5 <= (ch["top"] + ch["bottom"]) / 2 <= y_hi + 5):
            continue
        colour = _rgb(ch.get("non_stroking_color"))
        arm = next((a for a in arms if _same(_rgb_of(colours[a]), colour)), None)
        if arm is not None:
            mark_rows.append((arm, float(_to_value(time_axis, np.array([(ch["x0"] + ch["x1"])
                                                                        / 2]))[0])))
    mark_rows += _drawn_marks(pg.lines, curve_rows, arms, colours, time_axis, survival_axis,
                              scale)
    censor_marks = pd.DataFrame(mark_rows, columns=["arm", "time"]).sort_values(
        ["arm", "time"], kind="stable").reset_index(drop=True)

    at_risk = _at_risk(words, numbers, time_axis, arms, colours, y_hi, warnings)
    return Digitised(curves, at_risk, censor_marks, time_axis, survival_axis, tuple(arms),
                     colours, tuple(warnings), f"{path}, page {1 if page is None else page}")


def _name(first: dict[str, Any], line: list[dict[str, Any]]) -> str:
    """A legend entry's name: ``first`` and the words after it on its ``line``, until a gap
    wider than a word space (the next entry of a legend laid out in a row)."""
    out = [first]
    for w in sorted((w for w in line if w["x0"] > first["x0"]), key=lambda w: w["x0"]):
        if w["x0"] - out[-1]["x1"] > 0.5 * (out[-1]["bottom"] - out[-1]["top"]):
            break
        out.append(w)
    return " ".join(w["text"] for w in out)


def _crossbar(ln: dict[str, Any], lines: list[dict[str, Any]],
              colour: tuple[float, float, float]) -> bool:
    """Whether horizontal stroke ``ln`` is the bar of a ``+``: crossed at its middle by a
    vertical stroke of its colour and its length (a legend's key line with a ``+`` marker on
    it is longer than the marker's upright)."""
    middle, length = (ln["x0"] + ln["x1"]) / 2, ln["x1"] - ln["x0"]
    return any(abs(v["x0"] - v["x1"]) < 0.01 and abs(v["x0"] - middle) <= 0.5
               and v["top"] - 0.5 <= ln["top"] <= v["bottom"] + 0.5
               and abs((v["bottom"] - v["top"]) - length) <= 0.1 * length
               and _same(_rgb(v.get("stroking_color")), colour) for v in lines)


def _drawn_marks(lines: list[dict[str, Any]], curve_rows: list[pd.DataFrame], arms: list[str],
                 colours: dict[str, str], time_axis: Axis, survival_axis: Axis, scale: float
                 ) -> list[tuple[str, float]]:
    """Censoring marks drawn as short vertical strokes (a ``|`` marker, the upright of a
    ``+``) in an arm's colour, centred on the arm's curve where it is level: matplotlib and
    others draw markers as paths, not glyphs. A drop of the curve drawn as its own stroke
    runs from one level to the next, not across one level, and is not taken."""
    out = []
    for ln in lines:
        length = ln["bottom"] - ln["top"]
        if abs(ln["x1"] - ln["x0"]) > 0.01 or not 0 < length <= MARK_LONGEST:
            continue
        colour = _rgb(ln.get("stroking_color"))
        # A stroke of no arm's colour (pdfminer may lose the colour a marker was drawn
        # with) is still a mark of the one arm whose curve it is centred on.
        owners = [a for a in arms if _same(_rgb_of(colours[a]), colour)] or arms
        found = []
        for arm, frame in zip(arms, curve_rows, strict=True):
            if arm not in owners:
                continue
            t = float(_to_value(time_axis, np.array([ln["x0"]]))[0])
            times, levels = frame.time.to_numpy(), frame.survival.to_numpy()
            if not times[0] <= t <= times[-1]:
                continue
            # The curve's level just before and just after t (the path is right-continuous).
            before = levels[max(0, np.searchsorted(times, t, side="left") - 1)]
            after = levels[np.searchsorted(times, t, side="right") - 1]
            centre = float(_to_value(survival_axis, np.array([(ln["top"] + ln["bottom"]) / 2]
                                                             ))[0]) / scale
            half = abs(float(_to_value(survival_axis, np.array([ln["top"]]))[0]
                             - _to_value(survival_axis, np.array([ln["bottom"]]))[0])) / scale
            if max(abs(centre - before), abs(centre - after)) <= 0.25 * half:
                found.append((arm, t))
        if len(found) == 1:  # centred on two arms' curves (where they meet): whose is unknown
            out += found
    return out


def _rgb_of(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _at_risk(words: list[dict[str, Any]], numbers: list[dict[str, Any]], axis: Axis,
             arms: list[str], colours: dict[str, str], plot_bottom: float,
             warnings: list[str], unit: float = 1.0, label_bottom: float | None = None
             ) -> pd.DataFrame:
    """The numbers at risk: rows of whole numbers under the time axis's labels, each number
    under a tick, each row starting with an arm's name or colour.

    ``unit`` is the length of a PDF point in the words' coordinates (1 on a PDF page; pixels
    per point for a raster), ``label_bottom`` where the time axis's labels end (by default,
    a label's gap and height under ``plot_bottom``).
    """
    ticks = np.array(axis.positions)
    step = float(np.min(np.diff(np.sort(ticks)))) if len(ticks) > 1 else 1.0
    if label_bottom is None:
        label_bottom = plot_bottom + LABEL_GAP + 12  # under the tick labels
    slack = ROW_SLACK * unit
    below = [w for w in numbers if w["top"] > label_bottom and "." not in w["text"]]
    rows: dict[float, list[dict[str, Any]]] = {}
    for w in sorted(below, key=lambda w: w["top"]):
        key = next((k for k in rows if abs(k - w["top"]) < slack), w["top"])
        rows.setdefault(key, []).append(w)
    out = []
    for top, cells in sorted(rows.items()):
        cells = sorted(cells, key=lambda w: w["x0"])
        middle = float(np.mean([(w["top"] + w["bottom"]) / 2 for w in cells]))
        height = float(np.mean([w["bottom"] - w["top"] for w in cells]))
        # Numbers are centred on their tick, or aligned by an edge (lifelines: the right).
        anchors = [np.array([w["x0"] for w in cells]), np.array([w["x1"] for w in cells]),
                   np.array([(w["x0"] + w["x1"]) / 2 for w in cells])]
        centre = min(anchors, key=lambda a: float(np.median(np.min(np.abs(
            a[:, None] - ticks[None, :]), axis=1))))
        nearest = np.abs(centre[:, None] - ticks[None, :])
        which = nearest.argmin(axis=1)
        ok = nearest[np.arange(len(cells)), which] <= 0.5 * step
        if ok.sum() < 2:
            continue
        # What starts the row (a name, or a key in the arm's colour, maybe in a larger font):
        # words left of the first tick, centred within half a row's height of it.
        starts = [w for w in words
                  if abs((w["top"] + w["bottom"]) / 2 - middle) <= max(slack, 0.5 * height)
                  and (w["x0"] + w["x1"]) / 2 < ticks.min() - 0.25 * step]
        arm = _row_arm(starts, arms, colours)
        if arm is None:
            warnings.append(f"a row of numbers at risk at height {top:.0f} names no arm: "
                            "left out")
            continue
        times = np.array(axis.values)[which[ok]]
        counts = [int(_number(cells[k]["text"])) for k in np.flatnonzero(ok)]
        if any(b > a for a, b in zip(counts, counts[1:], strict=False)):
            warnings.append(f"the numbers at risk of {arm!r} rise along the row: check them "
                            "against the figure")
        out.extend((arm, float(t), n) for t, n in zip(times, counts, strict=True))
    if not out:
        warnings.append("no numbers at risk found under the time axis")
    return pd.DataFrame(out, columns=["arm", "time", "n_at_risk"])


def _row_arm(starts: list[dict[str, Any]], arms: list[str], colours: dict[str, str]
             ) -> str | None:
    """The arm a row of numbers at risk belongs to: its printed name, else its colour."""
    def key(text: str) -> str:
        return re.sub(r"[^0-9a-z]", "", text.lower())

    text = key("".join(w["text"] for w in starts))
    for arm in sorted(arms, key=len, reverse=True):
        if key(arm) and key(arm) in text:
            return arm
    for w in starts:
        colour = _rgb(w.get("non_stroking_color"))
        for arm in arms:
            if _same(_rgb_of(colours[arm]), colour):
                return arm
    return None
