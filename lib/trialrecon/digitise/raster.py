"""Kaplan-Meier figures read from a raster image (PNG, JPEG, or a scanned page).

Pixel coordinates: ``x`` from the left, ``top`` from the top of the image. Lengths are in
units of ``h``, the median height of the printed numbers, so that the reading does not depend
on the resolution.

* **Axes.** The time axis's labels are the highest row of at least three numbers that rise
  evenly from left to right; the survival axis's labels are a column of at least three numbers,
  right-aligned, that rise evenly upwards. Each label is placed at its tick mark where one is
  drawn beside it (a short dark line), else at its own centre. A straight line through the
  (position, value) pairs calibrates each axis; a label off that line is dropped with a warning
  when enough remain, else the figure is refused.
* **Arms.** The colours of the curves are the strong colours inside the plotting area that run
  as thin lines across much of it (light confidence bands, grid lines, text and the frame are
  not). A pixel belongs to an arm when it is the arm's colour blended with white (anti-aliasing)
  at least half way; a pixel that is also a paler blend of a darker arm and touches it is that
  arm's edge. The legend pairs each colour with the name printed at the right of a short mark of
  that colour; failing that, a name printed in the arm's colour.
* **Curves.** Each arm's curve is the path through its pixels, from survival 1 at time 0, that
  never rises (a dynamic programme over the columns, Viterbi-style): it passes censoring marks,
  gaps in dashed lines and the other arm drawn over it. Per column the curve's level is the
  centre of the line's run of pixels; a run taller than the line is a drop or a mark and is not
  used. The levels are fitted by a non-increasing step function (isotonic regression; Barlow et
  al., 1972), whose corners are the curve. A run that reaches above the line's level on both
  sides of it is a censoring mark.
* **Numbers at risk** are read as for vector figures (:func:`.vector._at_risk`), from the
  words the OCR finds (:mod:`.ocr`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.optimize import isotonic_regression

from ..errors import InputError
from . import Axis, Digitised

#: A strong pixel is at least this far from white (1 - its smallest channel, 0-1).
STRONG = 0.4
#: A pixel is an arm's colour blended with white by at least this share.
BLEND_LEAST = 0.5
#: ... and off that blend by at most this (RGB distance, 0-1; JPEG noise).
BLEND_OFF = 0.16
#: A curve's colour covers at least this share of the plotting area's columns.
COVERAGE = 0.2
#: A colour is a blend of two others when this close to the line between them (RGB, 0-1).
MIX_OFF = 0.08
#: Two names read by OCR are one when this alike (:func:`_likeness`).
ALIKE = 0.6
#: A curve is drawn on at least this share of the columns from its start to its end.
DRAWN = 0.4
#: ... and seen (not under another curve) on at least this share.
SEEN = 0.1
#: Labels off the straight line through the others by more than this share of a tick step are
#: misreadings.
LINEAR_SLACK = 0.06
#: A drawn line stretched across at least this share of the plotting area is an axis or frame.
FULL_LINE = 0.9
#: A curve's first drawn column lies within this share of the plotting area's width of its
#: start (or twice the line's width, if more).
START_SLACK = 0.025
#: A traced curve's cost for each column after its end, between that of a column under another
#: curve or in a dashed line's gap (0.5 on average) and that of blank paper (1).
END_COST = 0.75

_NUMBER = re.compile(r"^[−-]?\d+(\.\d+)?$")


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def load(path: Path) -> np.ndarray:
    """The image at ``path`` as an ``(H, W, 3)`` float array in [0, 1], on white."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise InputError("reading raster figures needs Pillow", file=path,
                         advice="install trialrecon[digitise]") from None
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                white = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(white, im)
            rgb = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"cannot be read as an image ({type(exc).__name__})", file=path,
                         advice="give a PNG or JPEG file of the figure") from None
    return rgb


def read_image(path: Path) -> Digitised:
    """Read the figure in the raster image at ``path`` (see the module doc)."""
    from .ocr import read_words

    rgb = load(path)
    words = read_words((rgb * 255).round().astype(np.uint8))
    return read_pixels(rgb, words, path)


# --------------------------------------------------------------------------------------------
# Axes


def _height(words: list[dict[str, Any]]) -> float:
    nums = [w["bottom"] - w["top"] for w in words if _NUMBER.match(w["text"])]
    if not nums:
        return 10.0
    return float(np.median(nums))


def _even_part(group: list[dict[str, Any]], along: str) -> list[dict[str, Any]]:
    """A row (``x``) or column (``y``) of numbers that rise evenly along it, as tick labels
    do; or, of four or more, all but one that OCR misread (a ``0`` read as ``6``); else
    empty."""
    ordered = sorted(group, key=(lambda w: w["x0"]) if along == "x" else (lambda w: -w["top"]))
    values = np.array([_number(w["text"]) for w in ordered])
    positions = np.array([(w["x0"] + w["x1"]) / 2 if along == "x"
                          else -(w["top"] + w["bottom"]) / 2 for w in ordered])
    if _evenly(values, positions):
        return ordered
    if len(ordered) >= 4:
        for k in range(len(ordered)):
            keep = np.arange(len(ordered)) != k
            if _evenly(values[keep], positions[keep]):
                return [w for w, kept in zip(ordered, keep, strict=True) if kept]
    return []


def _evenly(values: np.ndarray, positions: np.ndarray) -> bool:
    """Values rising with position, on a straight scale (labels as an axis prints them)."""
    if len(values) < 3 or np.any(np.diff(values) <= 0):
        return False
    slope, intercept = np.polyfit(positions, values, 1)
    step = float(np.min(np.diff(values)))
    return bool(np.max(np.abs(intercept + slope * positions - values)) <= 0.25 * step)


def _label_rows(numbers: list[dict[str, Any]], h: float, along: str
                ) -> list[list[dict[str, Any]]]:
    """Numbers grouped in rows (``along="x"``: same height) or right-aligned columns."""
    groups: list[list[dict[str, Any]]] = []
    if along == "x":
        def where(w: dict[str, Any]) -> float:
            return (w["top"] + w["bottom"]) / 2
    else:
        def where(w: dict[str, Any]) -> float:
            return float(w["x1"])
    for w in sorted(numbers, key=where):
        for g in groups:
            if abs(where(g[-1]) - where(w)) <= 0.5 * h:
                g.append(w)
                break
        else:
            groups.append([w])
    return groups


def _tick(ink: np.ndarray, label: dict[str, Any], h: float, along: str) -> float | None:
    """The position of the tick mark beside ``label``, or None where none is drawn.

    The tick is a short dark line perpendicular to its axis, just above a time label or just
    right of a survival label; its position is the ink-weighted centre (sub-pixel, as
    anti-aliasing spreads a thin tick over two pixels). Lines dark across the whole window
    are the axis line or the frame, not the tick, and are left out.
    """
    H, W = ink.shape
    dark = ink > 0.3
    if along == "x":
        centre = (label["x0"] + label["x1"]) / 2
        c0, c1 = int(max(0, centre - 0.8 * h)), int(min(W, centre + 0.8 * h + 1))
        r1 = int(label["top"])
        r0 = int(max(0, r1 - 1.5 * h))
        keep = dark[r0:r1, c0:c1].sum(axis=1) <= max(2, 0.3 * h)
        win = np.where(dark[r0:r1, c0:c1], ink[r0:r1, c0:c1], 0.0)[keep]
        if (win > 0).sum(axis=0).max(initial=0) < max(2, 0.2 * h):
            return None
        cols = win.sum(axis=0)
        return float(c0 + np.sum(cols * np.arange(len(cols))) / cols.sum() + 0.5)
    centre = (label["top"] + label["bottom"]) / 2
    r0, r1 = int(max(0, centre - 0.8 * h)), int(min(H, centre + 0.8 * h + 1))
    c0 = int(label["x1"]) + 1
    c1 = int(min(W, c0 + 1.5 * h))
    keep = dark[r0:r1, c0:c1].sum(axis=0) <= max(2, 0.3 * h)
    win = np.where(dark[r0:r1, c0:c1], ink[r0:r1, c0:c1], 0.0)[:, keep]
    if (win > 0).sum(axis=1).max(initial=0) < max(2, 0.2 * h):
        return None
    rows = win.sum(axis=1)
    return float(r0 + np.sum(rows * np.arange(len(rows))) / rows.sum() + 0.5)


def _placed(ink: np.ndarray, labels: list[dict[str, Any]], h: float, along: str
            ) -> list[tuple[float, float]]:
    """(value, position) per label: at its tick, or where no tick was found beside it, at its
    centre moved by the labels' usual offset from their ticks."""
    if along == "x":
        centres = [(w["x0"] + w["x1"]) / 2 for w in labels]
    else:
        centres = [(w["top"] + w["bottom"]) / 2 for w in labels]
    ticks = [_tick(ink, w, h, along) for w in labels]
    found = [t - c for t, c in zip(ticks, centres, strict=True) if t is not None]
    shift = float(np.median(found)) if found else 0.0
    return [(_number(w["text"]), t if t is not None else c + shift)
            for w, t, c in zip(labels, ticks, centres, strict=True)]


def _labels_at_ticks(rgb: np.ndarray, ink: np.ndarray, right: float, bottom: float, h: float
                     ) -> list[dict[str, Any]]:
    """The survival axis's labels read tick by tick, where the page OCR did not read them as
    numbers (a tick mark touching its label is read as a digit: ``100-`` as ``1005``).

    The axis is the longest dark vertical line left of ``right`` (the time axis's first
    label) and above ``bottom``; a tick is a short dark horizontal line just left of it; its
    label is read alone in the box left of the tick (:func:`.ocr.read_cell`).
    """
    from .ocr import read_cell

    image = (rgb * 255).round().astype(np.uint8)
    b = int(bottom)
    region = ink[:b, : int(right) + 1] > 0.5
    if region.size == 0:
        return []
    runs = region.sum(axis=0)
    tall = np.flatnonzero(runs >= 0.3 * b)
    if not len(tall):
        return []
    # The axis is a long vertical line with ticks on its left: the plot's box where the axis
    # is drawn on it, else a line of its own left of the box (base R's default).
    ticks, edge = [], 0
    for line in reversed(np.split(tall, np.flatnonzero(np.diff(tall) > 1) + 1)):
        left = int(line[0])  # the line's left edge
        near = region[:, max(0, left - int(0.25 * h)) : left]
        rows = np.flatnonzero(near.all(axis=1)) if near.shape[1] else np.array([], int)
        found = [g for g in (np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
                             if len(rows) else []) if len(g) <= 0.3 * h]  # not a block
        if len(found) > len(ticks):
            ticks, edge = found, left
    centres = [float(np.mean(g)) + 0.5 for g in ticks]
    # A label printed reading upwards (base R's default) spans up to half way to its
    # neighbours, and about a character's height across.
    half = min(2.5 * h, 0.45 * float(np.min(np.diff(centres)))) if len(centres) > 1 else 2 * h
    ends = []
    for g in ticks:
        # The tick's left end: the dark run leftwards from the axis line on its rows.
        t = edge
        while t > 0 and region[g, t - 1].any():
            t -= 1
        ends.append(t)
    best: list[dict[str, Any]] = []
    for turned in (False, True):  # printed across or reading upwards: the fuller reading
        labels = []
        for t, y in zip(ends, centres, strict=True):
            box = ((t - 2.5 * h, t - 0.1 * h, y - half, y + half) if turned
                   else (t - 6 * h, t - 0.15 * h, y - 0.75 * h, y + 0.75 * h))
            text = read_cell(image, max(0.0, box[0]), *box[1:], decimals=True, turned=turned)
            if text is not None:
                labels.append({"text": text, "x0": t - 6 * h, "x1": float(t) - 1,
                               "top": y - 0.5 * h, "bottom": y + 0.5 * h})
        even = _even_part(labels, "y")
        if len(even) > len(best) and _straight(even):
            best = even
    return best


def _straight(labels: list[dict[str, Any]]) -> bool:
    """Whether tick labels lie on a straight scale within :data:`LINEAR_SLACK` of a step
    (stricter than :func:`_evenly`, which lets one misread label through to be left out)."""
    values = np.array([_number(w["text"]) for w in labels])
    positions = np.array([(w["top"] + w["bottom"]) / 2 for w in labels])
    slope, intercept = np.polyfit(positions, values, 1)
    off = np.abs(intercept + slope * positions - values)
    return bool(off.max() <= LINEAR_SLACK * float(np.min(np.abs(np.diff(values)))))


def _calibrate(pairs: list[tuple[float, float]], what: str, path: Path, unit: str,
               warnings: list[str]) -> Axis:
    """A linear axis through (value, position) pairs; one misread label is dropped."""
    values = np.array([v for v, _ in pairs])
    positions = np.array([p for _, p in pairs])
    while True:
        slope, intercept = np.polyfit(positions, values, 1)
        step = float(np.min(np.abs(np.diff(np.sort(values)))))
        off = np.abs(intercept + slope * positions - values)
        if float(off.max()) <= LINEAR_SLACK * step:
            break
        if len(values) <= 3:
            raise InputError(f"the {what} axis's labels do not lie on a straight scale "
                             f"(largest miss {float(off.max()):.3g})", file=path,
                             advice="only linear axes are read; check the figure's tick "
                             "labels, or give the figure as a vector PDF")
        worst = int(off.argmax())
        warnings.append(f"the {what} axis label read as {values[worst]:g} is off the scale "
                        "of the others: left out")
        values, positions = np.delete(values, worst), np.delete(positions, worst)
    return Axis(tuple(float(v) for v in values), tuple(float(p) for p in positions), unit)


def _complete(axis: Axis, ink: np.ndarray, labels: list[dict[str, Any]], h: float,
              warnings: list[str]) -> Axis:
    """The time axis with the ticks its labels imply that OCR did not read: gaps in the even
    steps, the steps down to 0, and steps to the right where a tick mark is drawn."""
    values = np.array(axis.values)
    step = float(np.min(np.diff(values)))
    if step <= 0 or not np.allclose(np.diff(values) / step, np.round(np.diff(values) / step),
                                    atol=0.02):
        return axis
    slope, intercept = np.polyfit(values, np.array(axis.positions), 1)
    top = float(np.median([w["top"] for w in labels]))
    bottom = float(np.median([w["bottom"] for w in labels]))
    want = set(np.round(np.arange(values.min(), values.max() + step / 2, step), 9))
    v = values.min() - step
    while v >= -1e-9:
        want.add(round(v, 9))
        v -= step
    v = values.max() + step
    while True:
        x = intercept + slope * v
        if x >= ink.shape[1] - 1:
            break
        found = _tick(ink, {"x0": x - 0.5, "x1": x + 0.5, "top": top, "bottom": bottom}, h,
                      "x")
        if found is None or abs(found - x) > 0.25 * abs(slope * step):
            break
        want.add(round(v, 9))
        v += step
    added = sorted(w for w in want if not np.any(np.isclose(values, w)))
    if not added:
        return axis
    warnings.append("time ticks whose labels were not read are taken from the even steps of "
                    "the others: " + ", ".join(f"{w:g}" for w in added))
    allv = np.array(sorted(set(values.tolist()) | set(added)))
    pos = [axis.positions[int(np.argmin(np.abs(values - w)))]
           if np.any(np.isclose(values, w)) else float(intercept + slope * w) for w in allv]
    return Axis(tuple(float(w) for w in allv), tuple(float(p) for p in pos), axis.unit)


def _to_value(axis: Axis, position: np.ndarray | float) -> np.ndarray:
    slope, intercept = np.polyfit(np.array(axis.positions), np.array(axis.values), 1)
    return intercept + slope * np.asarray(position, float)


def _to_position(axis: Axis, value: float) -> float:
    slope, intercept = np.polyfit(np.array(axis.values), np.array(axis.positions), 1)
    return float(intercept + slope * value)


def _axes(rgb: np.ndarray, words: list[dict[str, Any]], h: float, path: Path,
          warnings: list[str]) -> tuple[Axis, Axis, list[dict[str, Any]]]:
    numbers = [w for w in words if _NUMBER.match(w["text"])]
    ink = 1.0 - rgb.max(axis=2)
    rows = [e for g in _label_rows(numbers, h, "x") if (e := _even_part(g, "x"))]
    cols = [e for g in _label_rows(numbers, h, "y") if (e := _even_part(g, "y"))]
    if rows and not cols:
        left = min(rows, key=lambda g: g[0]["top"])
        col = _labels_at_ticks(rgb, ink, min(w["x0"] for w in left),
                               min(w["top"] for w in left), h)
        cols = [col] if col else []
    if not rows or not cols:
        what = "time" if not rows else "survival"
        raise InputError(f"no {what} axis found: no evenly rising row of three or more "
                         "printed tick labels", file=path,
                         advice="the figure's axes must carry printed tick labels; give a "
                         "sharper image (at least 100 dpi) or a vector PDF")
    x_labels = sorted(min(rows, key=lambda g: g[0]["top"]), key=lambda w: w["x0"])
    # The survival labels: the column nearest the time axis's first label, left of it.
    left = x_labels[0]["x0"]
    cols = [g for g in cols if g[0]["x1"] <= left + h] or cols
    y_labels = max(cols, key=lambda g: g[0]["x1"])
    x_pairs = _placed(ink, x_labels, h, "x")
    y_pairs = _placed(ink, y_labels, h, "y")
    time_axis = _complete(_calibrate(x_pairs, "time", path, "as printed", warnings), ink,
                          x_labels, h, warnings)
    try:
        survival_axis = _calibrate(y_pairs, "survival", path, _unit(y_pairs), warnings)
        top = max(survival_axis.values) / (100.0 if survival_axis.unit == "percent" else 1.0)
        if not 0.5 <= top <= 1.05:  # a survival axis shows at least half of [0, 1]
            raise InputError(f"the survival axis's labels reach {top:g}", file=path)
    except InputError:
        # The column the page OCR read was not the axis's (numbers elsewhere, the real
        # labels unread): the labels read tick by tick at the axis line, if that gives one.
        col = _labels_at_ticks(rgb, ink, x_labels[0]["x0"], x_labels[0]["top"], h)
        if not col:
            raise
        y_pairs = _placed(ink, col, h, "y")
        survival_axis = _calibrate(y_pairs, "survival", path, _unit(y_pairs), warnings)
    return time_axis, survival_axis, x_labels


def _unit(pairs: list[tuple[float, float]]) -> str:
    """A survival axis's labels as percent (they pass 1.5) or as a proportion."""
    return "percent" if max(v for v, _ in pairs) > 1.5 else "proportion"


# --------------------------------------------------------------------------------------------
# Colours


def _blend(rgb: np.ndarray, colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the share ``a`` of ``colour`` in a blend with white, and the distance off
    that blend."""
    ink = 1.0 - np.asarray(rgb, np.float32)
    c = (1.0 - np.asarray(colour, np.float32)).astype(np.float32)
    cc = float(c @ c)
    along = ink @ c
    a = along / cc
    # |ink - a c|^2 = |ink|^2 - (ink . c)^2 / |c|^2, without the difference's array.
    off2 = np.einsum("...k,...k->...", ink, ink) - along * a
    return a, np.sqrt(np.maximum(off2, 0.0))


def _curve_colours(rgb: np.ndarray, box: tuple[int, int, int, int], h: float
                   ) -> list[np.ndarray]:
    """The colours drawn as thin lines across much of the plotting area, strongest first."""
    r0, r1, c0, c1 = box
    area = rgb[r0:r1, c0:c1]
    strong = (1.0 - area.min(axis=2)) >= STRONG
    if not strong.any():
        return []
    q = np.round(area[strong] * 15).astype(int)
    codes = q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2]
    found: list[np.ndarray] = []
    uniq, counts = np.unique(codes, return_counts=True)
    width = c1 - c0
    order = np.argsort(-counts)[:40]
    # A line across COVERAGE of the columns has at least a pixel a column in its own colour.
    for code in uniq[order][counts[order] >= 0.5 * COVERAGE * width]:
        centre = np.array([code // 256, (code // 16) % 16, code % 16]) / 15.0
        if any(np.abs(centre - f).max() < 0.2 for f in found):
            continue
        a, off = _blend(area, centre)
        mine = (a > 0.85) & (a < 1.2) & (off < BLEND_OFF)
        cols = mine.any(axis=0)
        if cols.sum() < COVERAGE * width:
            continue
        # A line is thin: few of its pixels in most columns. A filled band is not.
        per_col = mine.sum(axis=0)[cols]
        if float(np.median(per_col)) > 1.2 * h:
            continue
        colour = np.median(area[mine], axis=0)
        found.append(colour)
    # Drop a colour that is the anti-aliased edge of a stronger one: a paler blend of it whose
    # pixels mostly touch it.
    keep: list[np.ndarray] = []
    for colour in sorted(found, key=lambda c: -float(1 - c.min())):
        edge = False
        for k in keep:
            a, off = _blend(colour[None, None, :], k)
            if 0.2 < float(a[0, 0]) < 0.95 and float(off[0, 0]) < BLEND_OFF:
                mine = _member(area, colour)
                near = ndimage.binary_dilation(_member(area, k, core=True), iterations=1)
                if mine.sum() and (mine & near).sum() > 0.6 * mine.sum():
                    edge = True
        if not edge:
            keep.append(colour)
    return keep


def _filled(mask: np.ndarray, h: float) -> np.ndarray:
    """The filled regions of ``mask`` (a confidence band, a legend's box): pixels in a square
    taller and wider than a censoring mark (a run of dense marks is no band), grown by a pixel
    to take their anti-aliased rims."""
    k = max(3, int(np.ceil(1.5 * h))) | 1  # odd: the filters' windows are centred
    # An opening by a k x k square as a minimum then a maximum filter: separable, so its cost
    # does not grow with k (a 300 dpi figure's square is 50 pixels wide).
    inside = ndimage.minimum_filter(mask.astype(np.uint8), size=k, mode="constant", cval=0)
    opened = ndimage.maximum_filter(inside, size=k, mode="constant", cval=0).astype(bool)
    return ndimage.binary_dilation(opened, iterations=1)


def _member(area: np.ndarray, colour: np.ndarray, core: bool = False) -> np.ndarray:
    a, off = _blend(area, colour)
    least = 0.85 if core else BLEND_LEAST
    return (a >= least) & (a < 1.25) & (off < BLEND_OFF)


def _weights(area: np.ndarray, colours: list[np.ndarray]) -> list[np.ndarray]:
    """Per arm, which pixels are its line: the nearest pure colour among the arms', edges of
    a darker arm's line left out."""
    fits = []
    for colour in colours:
        a, off = _blend(area, colour)
        ok = (a >= BLEND_LEAST) & (a < 1.25) & (off < BLEND_OFF)
        fits.append(np.where(ok, np.abs(1.0 - a), np.inf))
    fits_arr = np.stack(fits)
    best = fits_arr.argmin(axis=0)
    out = []
    for k, colour in enumerate(colours):
        mine = (best == k) & np.isfinite(fits_arr[k])
        for j, other in enumerate(colours):
            if j == k:
                continue
            a, off = _blend(colour[None, None, :], other)
            if 0.2 < float(a[0, 0]) < 0.95 and float(off[0, 0]) < BLEND_OFF:
                # A paler blend of another arm's colour (grey beside black): its own paler
                # tints are as much the other's (a band of the black arm, the rim of its
                # line), so only its pure pixels are its own.
                mine &= _member(area, colour, core=True)
                mine &= ~ndimage.binary_dilation(_member(area, other, core=True), iterations=1)
        out.append(mine)
    return out


# --------------------------------------------------------------------------------------------
# Curves


def _trace(mask: np.ndarray, under: np.ndarray, start_row: float, eps: float = 1e-3
           ) -> tuple[np.ndarray, int]:
    """The never-rising path (row non-decreasing with the column) through ``mask`` with the
    fewest columns off it, starting near ``start_row``; ties go to the path that moves least.
    Returns the path's row per column and its last column.

    ``under`` are the other curves' pixels: a curve drawn under another follows it (at half
    the cost of blank paper), as it is hidden there only because it runs at the same level,
    where some of its own pixels lie further on at that level or lower. The path may end
    before the last column, each column after its end costing :data:`END_COST`: more than a
    hidden or a dashed stretch (half a column each), so those are followed, but less than
    blank paper, so a curve that ends (where its arm's follow-up ends) is not carried on along
    another arm's line.
    """
    H, W = mask.shape
    rows = np.arange(H, dtype=float)
    # A curve hidden under another comes out again at that level or below it: no pixel of its
    # own later and lower, it is not hidden there but ended.
    lowest = np.where(mask.any(axis=0), H - 1 - np.argmax(mask[::-1], axis=0), -1)
    below_later = np.r_[np.maximum.accumulate(lowest[::-1])[::-1][1:], -1]
    hidden = under & (rows[:, None] <= below_later[None, :] + 2)
    cost = np.where(mask, 0.0, np.where(hidden, 0.5, 1.0))
    big = 1e9
    D = np.full((W, H), big)
    back = np.zeros((W, H), dtype=np.int32)
    ended = np.full(W, big)  # the best path that ended before this column
    ended_here = np.zeros(W, dtype=bool)  # ... by ending just before it
    ended_row = np.zeros(W, dtype=np.int64)
    D[0] = cost[:, 0] + np.where(np.abs(rows - start_row) <= 3, 0.0, big)
    for c in range(1, W):
        prev = D[c - 1] + eps * rows
        # best predecessor at or above each row (smaller row index = higher survival)
        best = np.minimum.accumulate(prev)
        idx = np.arange(H)
        is_new = prev <= best
        arg = np.maximum.accumulate(np.where(is_new, idx, 0))
        D[c] = cost[:, c] + best - eps * rows
        back[c] = arg
        r = int(D[c - 1].argmin())
        ended_here[c] = D[c - 1, r] < ended[c - 1]
        ended[c] = min(D[c - 1, r], ended[c - 1]) + END_COST
        ended_row[c] = r
    stop = W - 1
    path = np.empty(W, dtype=np.int64)
    if ended[-1] < D[-1].min():
        c = W - 1
        while not ended_here[c]:
            c -= 1
        stop = c - 1
        path[stop:] = ended_row[c]
    else:
        path[-1] = int(D[-1].argmin())
    for c in range(stop, 0, -1):
        path[c - 1] = back[c, path[c]]
    return path, stop


#: What a column's run of pixels at the path is.
OFF, LINE, DROP, MARK, HIDDEN = range(5)


def _levels(mask: np.ndarray, under: np.ndarray, path: np.ndarray, width: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column, the run of the curve's pixels at the path: its centre row, its top row and
    what it is (:data:`LINE` a stretch of the line, :data:`DROP` a vertical drop,
    :data:`MARK` a censoring mark, :data:`HIDDEN` another curve drawn over this one,
    :data:`OFF` nothing drawn), and for a drop the middle row of its run.

    A run taller than the line that reaches above the line's last level by more than the
    line is thick is a mark (a drop never rises): marks are drawn centred on the line, so its
    centre is the line's level there.
    """
    H, W = mask.shape
    level = np.full(W, np.nan)
    top = np.full(W, np.nan)
    kind = np.full(W, OFF, dtype=np.int8)
    middle = np.full(W, np.nan)
    last = np.nan
    for c in range(W):
        r = int(path[c])
        col = mask[:, c]
        hidden = False
        if not col[r]:
            near = np.flatnonzero(col[max(0, r - 1):r + 2])
            if not len(near):
                if not under[r, c]:
                    continue
                col, hidden = under[:, c], True
                near = np.array([r - max(0, r - 1)])
            r = max(0, r - 1) + int(near[0])
        lo = r
        while lo > 0 and col[lo - 1]:
            lo -= 1
        hi = r
        while hi < H - 1 and col[hi + 1]:
            hi += 1
        # Another curve drawn over this one may be the thicker line (a grey one thickened by
        # its anti-aliased rim), by up to half as much again.
        if hi - lo + 1 <= 1.6 * width * (1.5 if hidden else 1.0):
            level[c], top[c] = (lo + hi) / 2, lo
            kind[c] = HIDDEN if hidden else LINE
            if not hidden:
                last = level[c]
        elif hidden:
            continue
        elif not np.isnan(last) and lo < last - width:
            level[c], top[c], kind[c] = (lo + hi) / 2, lo, MARK
        else:
            top[c], kind[c] = lo, DROP
            middle[c] = (lo + hi) / 2
    return level, top, kind, middle


def _line_width(mask: np.ndarray) -> float:
    """The typical vertical thickness of a line in ``mask`` (its most common run length)."""
    d = np.diff(mask.astype(np.int8), axis=0)
    starts = np.argwhere(d == 1)
    ends = np.argwhere(d == -1)
    if not len(starts) or not len(ends):
        return 1.0
    lengths = []
    for c in np.unique(starts[:, 1])[:: max(1, len(np.unique(starts[:, 1])) // 300)]:
        s = starts[starts[:, 1] == c, 0]
        e = ends[ends[:, 1] == c, 0]
        for a in s:
            after = e[e > a]
            if len(after):
                lengths.append(after[0] - a)
    if not lengths:
        return 1.0
    vals, counts = np.unique(lengths, return_counts=True)
    return float(max(1, vals[counts.argmax()]))


def _mixed(mix: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether colour ``mix`` is a blend of colours ``a`` and ``b`` (``a`` seen through a
    translucent ``b``, or the reverse), each a fifth of it at least."""
    ab = b - a
    share = float((mix - a) @ ab / max(float(ab @ ab), 1e-12))
    off = float(np.linalg.norm(mix - a - share * ab))
    return 0.2 <= share <= 0.8 and off <= MIX_OFF


def _continued(drawn: list[dict[str, Any]], masks: list[np.ndarray], colours: list[np.ndarray],
               trace: Any, warnings: list[str]) -> list[dict[str, Any]]:
    """Curves whose colour changes along their length joined: where another arm's band is
    drawn over a line, the line shows in a blend of the two colours, read as a curve of its
    own that runs with the line and on past where the line's own colour ends. Such a curve
    (within two pixels of another over the other's length, longer, and in a blend of the
    other's colour and a third) is the other's continuation: the other is traced again
    through both colours."""
    out = list(drawn)
    for e in sorted(drawn, key=lambda d: -(d["cols"][1] - d["cols"][0])):
        for d in out:
            if d is e or not any(x is e for x in out) or e["cols"][1] <= d["cols"][1] + 2:
                continue
            (dc, dr), (ec, er) = d["rows"], e["rows"]
            grid = np.arange(max(dc[0], ec[0]), d["cols"][1])
            if len(grid) < 10:
                continue
            at_d = dr[np.clip(np.searchsorted(dc, grid, side="right") - 1, 0, None)]
            at_e = er[np.clip(np.searchsorted(ec, grid, side="right") - 1, 0, None)]
            if float(np.median(np.abs(at_d - at_e))) > 2.0:
                continue
            if not any(_mixed(e["colour"], d["colour"], o) for o in colours
                       if o is not d["colour"] and o is not e["colour"]):
                continue  # two arms whose curves run together, not one seen through a band
            k, j = d["key"], e["key"]
            joined = trace(k, masks[k] | masks[j],
                           [i for i in range(len(masks)) if i not in (k, j)])
            if joined is None or joined["cols"][1] <= d["cols"][1]:
                continue
            if d["name"] is None and e["name"] is not None:  # the legend's key was in e's
                joined["name"], joined["key"] = e["name"], e["key"]
            warnings.append(f"the line coloured {_hex(e['colour'])} is taken as the "
                            f"continuation of the curve coloured {_hex(d['colour'])} (its "
                            "colour seen through a band drawn over it)")
            out = [joined if x is d else x for x in out if x is not e]
            break
    return out


def _path_width(mask: np.ndarray, path: np.ndarray) -> float | None:
    """The line's thickness along its traced ``path``: the median height of the runs of
    ``mask`` the path passes through (drops and marks are a few columns each; the line is
    most of them, however dense its marks), or None where it passes through none."""
    cols = np.flatnonzero(mask[path, np.arange(mask.shape[1])])
    if not len(cols):
        return None
    heights = []
    for c in cols:
        col, r = mask[:, c], int(path[c])
        above = col[:r][::-1]
        below = col[r + 1:]
        up = int(np.argmin(above)) if not above.all() else len(above)
        down = int(np.argmin(below)) if not below.all() else len(below)
        heights.append(up + down + 1)
    return float(max(1.0, np.median(heights)))


def _arm_curve(mask: np.ndarray, under: np.ndarray, start_row: float, width: float
               ) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """An arm's curve in plotting-area pixels: its corners (columns, rows) and the columns of
    its censoring marks."""
    path, stop = _trace(mask, under, start_row)
    width = _path_width(mask[:, : stop + 1], path[: stop + 1]) or width
    level, top, kind, middle = _levels(mask, under, path, width)
    kind[stop + 1:] = OFF
    # A run of drop columns wider than a vertical line is drawn is a steep descent (many
    # events, one or two a column): the middle of each column's run is the curve there, as a
    # sloping line's stroke spreads evenly about it.
    dropped = np.flatnonzero(kind == DROP)
    for run in np.split(dropped, np.flatnonzero(np.diff(dropped) > 1) + 1) if len(dropped) else []:
        if len(run) > 2 * width + 2:
            level[run] = middle[run]
    seen = np.flatnonzero((kind != OFF) & (kind != HIDDEN))
    on = np.flatnonzero(kind != OFF)
    # A curve starts drawn at survival 1 (or under the other curves there, whose marks may
    # hide its first columns) and is drawn along most of its length (a dashed line about half
    # of it), much of it seen; text, ticks and a legend in the curve's colour are not.
    if (not len(seen) or on[0] > max(2 * width + 2, START_SLACK * mask.shape[1])
            or len(on) < DRAWN * (seen[-1] + 1) or len(seen) < SEEN * (seen[-1] + 1)):
        return np.array([]), np.array([]), []
    end = int(seen[-1])
    kind, level, top = kind[: end + 1], level[: end + 1], top[: end + 1]
    # Marks: runs of adjacent mark columns, each one mark at its middle.
    marked = np.flatnonzero(kind == MARK)
    groups = np.split(marked, np.flatnonzero(np.diff(marked) > 1) + 1) if len(marked) else []
    marks = [float(np.mean(g)) for g in groups]
    if groups and groups[-1][-1] >= end - 1:
        # A curve's last mark ends it: its middle is the last time, not its right edge.
        end = int(round(marks[-1]))
    cols = np.flatnonzero(~np.isnan(level[: end + 1]))
    if not len(cols):
        return np.array([]), np.array([]), []
    # A hidden stretch or a mark says less of the level than the line seen plainly.
    weight = np.select([kind[cols] == LINE, kind[cols] == MARK], [1.0, 0.5], 0.2)
    fit = isotonic_regression(level[cols], weights=weight, increasing=True).x
    keep = np.r_[True, np.abs(np.diff(fit)) > 1e-9]
    corner_cols = cols[keep].astype(float)
    corner_rows = fit[keep]
    # A drop lies between the last column at the old level and the first at the new one: at
    # its vertical line where that is drawn (the middle of its columns), else (a gap of a
    # dashed line) half way.
    for i in np.flatnonzero(keep)[1:]:
        a, b = int(cols[i - 1]), int(cols[i])
        between = np.arange(a + 1, b)
        drawn = between[kind[between] == DROP]
        j = int(np.searchsorted(corner_cols, b))
        corner_cols[j] = float(np.mean(drawn)) if len(drawn) else (a + b) / 2
    # The curve goes on at its last level to its end.
    corner_cols = np.r_[corner_cols, float(end)]
    corner_rows = np.r_[corner_rows, corner_rows[-1]]
    return corner_cols, corner_rows, marks


def read_pixels(rgb: np.ndarray, words: list[dict[str, Any]], path: Path) -> Digitised:
    """Read a figure from its pixels and the words printed on it (see the module doc)."""

    warnings: list[str] = []
    h = _height(words)
    time_axis, survival_axis, x_labels = _axes(rgb, words, h, path, warnings)
    scale = 100.0 if survival_axis.unit == "percent" else 1.0
    H, W = rgb.shape[:2]
    x0 = _to_position(time_axis, min(0.0, min(time_axis.values)))
    x_end = max(time_axis.positions)
    y_one = _to_position(survival_axis, scale)
    y_zero = _to_position(survival_axis, 0.0)
    r0 = int(max(0, np.floor(y_one - 0.8 * h)))
    r1 = int(min(H, np.ceil(y_zero + 0.3 * h)))
    c0 = int(max(0, np.floor(x0)))
    c1 = int(min(W, np.ceil(x_end + 0.3 * h)))
    box = (r0, r1, c0, c1)
    area = rgb[r0:r1, c0:c1]
    colours = _curve_colours(rgb, box, h)
    if not colours:
        raise InputError("no Kaplan-Meier curve found: no coloured or dark line runs across "
                         "the plotting area", file=path,
                         advice="check that the image is the figure itself, at 100 dpi or more")
    masks = [m & ~_filled(m, h) for m in _weights(area, colours)]
    # Axis lines and the frame: straight lines across nearly the whole area.
    for m in masks:
        full_rows = m.sum(axis=1) >= FULL_LINE * m.shape[1]
        full_cols = m.sum(axis=0) >= FULL_LINE * m.shape[0]
        m[ndimage.binary_dilation(full_rows, iterations=1), :] = False
        m[:, ndimage.binary_dilation(full_cols, iterations=1)] = False
    legend = _legend(rgb, words, colours, h, box)
    def trace(k: int, mask: np.ndarray, others: list[int]) -> dict[str, Any] | None:
        under = np.logical_or.reduce([masks[j] for j in others] + [np.zeros_like(mask)])
        cc, rr, marks = _arm_curve(mask, under, y_one - r0 - 0.5, _line_width(mask))
        if len(cc) < 2 or cc[-1] - cc[0] < COVERAGE * (c1 - c0):
            return None
        # Pixel k covers [k, k + 1) in the axes' coordinates (those of the words' boxes).
        t = _to_value(time_axis, cc + c0 + 0.5)
        s = _to_value(survival_axis, rr + r0 + 0.5) / scale
        t[0] = 0.0 if t[0] < 0 else float(t[0])
        s = np.clip(s, 0.0, 1.0)
        s[0] = 1.0 if s[0] > 0.98 else s[0]
        return {"key": k, "name": legend.get(k), "colour": colours[k], "time": t,
                "survival": s, "cols": (float(cc[0]), float(cc[-1])), "rows": (cc, rr),
                "marks": [float(_to_value(time_axis, m + c0 + 0.5)) for m in marks]}

    drawn = [d for k in range(len(colours))
             if (d := trace(k, masks[k], [j for j in range(len(colours)) if j != k]))]
    drawn = _continued(drawn, masks, colours, trace, warnings)
    order = list(legend)
    drawn.sort(key=lambda d: order.index(d["key"]) if d["key"] in order else len(order))
    if not drawn:
        raise InputError("no Kaplan-Meier curve found: no line starts at survival 1 and runs "
                         "across the plotting area", file=path,
                         advice="check that the image is the figure itself")
    inks = {f"colour {k}": _hex(d["colour"]) for k, d in enumerate(drawn)}
    words = [_inked(rgb, w, [d["colour"] for d in drawn], inks) for w in words]
    rows = _table(rgb, words, time_axis, max(w["bottom"] for w in x_labels), h)
    # A table names as many arms as it has rows: curves beyond them with no legend entry are
    # something else drawn in a line colour (text, a frame).
    if rows and len(drawn) > len(rows):
        # First those with no legend entry, then those whose entry is like no row's label
        # (the legend's title beside a key-like mark; an edge colour of another curve).
        labels = [r["label"] for r in rows if any(ch.isalnum() for ch in r["label"])]

        def span(d: dict[str, Any]) -> float:
            return float(d["time"][-1] - d["time"][0])

        spare = sorted((d for d in drawn if d["name"] is None), key=span) + sorted(
            (d for d in drawn if d["name"] is not None
             and not any(_alike(d["name"], label) for label in labels)),
            key=lambda d: (max((_likeness(d["name"], x) for x in labels), default=0.0),
                           span(d)))
        gone = spare[: len(drawn) - len(rows)]
        for d in gone:
            what = "with no legend entry" if d["name"] is None else \
                f"named {d['name']!r} in the legend but in no row of the table"
            warnings.append(f"a line coloured {_hex(d['colour'])} {what}, beyond the table's "
                            "rows, is not read as a curve")
        drawn = [d for d in drawn if not any(d is g for g in gone)]
    owner = _row_owners(rows, drawn, warnings)
    curve_rows, mark_rows, arms, colour_of, risk_rows = [], [], [], {}, []
    for k, d in enumerate(drawn):
        name = d["name"]
        row = next((r for r, j in owner.items() if j == k), None)
        label = rows[row]["label"].strip() if row is not None else ""
        if name is None and any(ch.isalnum() for ch in label):
            name = label
            warnings.append(f"the curve coloured {_hex(d['colour'])} is named {name!r} from "
                            "its row of numbers at risk (no legend entry found)")
        elif (name is not None and any(ch.isalnum() for ch in label)
              and not _alike(name, label)):
            # The legend's word is not like the curve's row label (OCR read a key's mark, or
            # part of another entry, as the name): the row, read at a known place, names it.
            warnings.append(f"the curve coloured {_hex(d['colour'])} is named {label!r} from "
                            f"its row of numbers at risk (the legend read {name!r})")
            name = label
        if name is None or name in arms:
            name = f"arm {k + 1}"
            warnings.append(f"no legend entry found for the curve coloured "
                            f"{_hex(d['colour'])}: named {name!r}")
        curve_rows.append(pd.DataFrame({"arm": name, "time": d["time"],
                                        "survival": d["survival"]}))
        mark_rows.extend((name, m) for m in d["marks"])
        arms.append(name)
        colour_of[name] = _hex(d["colour"])
        if row is not None:
            cells = sorted(rows[row]["cells"].items())
            risk_rows.extend((name, t, n) for t, n in cells)
            counts = [n for _, n in cells]
            if any(b > a for a, b in zip(counts, counts[1:], strict=False)):
                warnings.append(f"the numbers at risk read for {name!r} rise along the row: "
                                "check them against the figure")
    curves = pd.concat(curve_rows, ignore_index=True)
    censor_marks = pd.DataFrame(mark_rows, columns=["arm", "time"])
    at_risk = pd.DataFrame(risk_rows, columns=["arm", "time", "n_at_risk"])
    if at_risk.empty:
        warnings.append("no numbers at risk found under the time axis")
    pixel = abs(np.polyfit(survival_axis.positions, survival_axis.values, 1)[0]) / scale
    warnings.append("read from pixels: each curve is as exact as the image's resolution "
                    f"(one pixel is {pixel:.4f} in survival); names and numbers as OCR read "
                    "them: check them on overlay.png")
    return Digitised(curves, at_risk, censor_marks, time_axis, survival_axis, tuple(arms),
                     colour_of, tuple(warnings), str(path))


def _table(rgb: np.ndarray, words: list[dict[str, Any]], axis: Axis, below: float, h: float
           ) -> list[dict[str, Any]]:
    """The rows of a table of numbers at risk under the time axis's labels (below ``below``).

    A row is words on one line with at least two whole numbers under ticks. Numbers sit at a
    fixed offset from their tick (centred, or aligned by an edge), learnt from those the page
    OCR read; a tick with no number is read again alone (:func:`.ocr.read_cell`), and a row
    with no label at its left has its label read alone (:func:`.ocr.read_line`).

    Returns one dict per row: ``middle`` (its height on the image), ``cells`` (tick value to
    count), ``label`` (the words left of the first tick) and ``ink`` (their colour, or None).
    """
    from .ocr import read_cell, read_line

    image = (rgb * 255).round().astype(np.uint8)
    ticks = np.array(axis.positions)
    values = np.array(axis.values)
    step = float(np.min(np.diff(np.sort(ticks)))) if len(ticks) > 1 else 10 * h
    under = [w for w in words if (w["top"] + w["bottom"]) / 2 > below]
    lines: list[list[dict[str, Any]]] = []
    for w in sorted(under, key=lambda w: (w["top"] + w["bottom"]) / 2):
        mid = (w["top"] + w["bottom"]) / 2
        for line in lines:
            if abs(np.mean([(v["top"] + v["bottom"]) / 2 for v in line]) - mid) <= 0.5 * h:
                line.append(w)
                break
        else:
            lines.append([w])
    found = []
    for line in lines:
        cells = [w for w in line if w["text"].isdigit()
                 and np.min(np.abs((w["x0"] + w["x1"]) / 2 - ticks)) <= 0.5 * step]
        if len(cells) >= 2:
            found.append((line, cells))
    if not found:
        return []
    # Where numbers sit from their ticks: by their centres, left or right edges.
    every = [w for _, cells in found for w in cells]
    anchors = {"centre": lambda w: (w["x0"] + w["x1"]) / 2, "left": lambda w: w["x0"],
               "right": lambda w: w["x1"]}
    def spread(f: Any) -> float:
        return float(np.median([np.min(np.abs(f(w) - ticks)) for w in every]))
    anchor = anchors[min(anchors, key=lambda k: spread(anchors[k]))]
    shift = float(np.median([anchor(w) - ticks[np.argmin(np.abs(anchor(w) - ticks))]
                             for w in every]))
    half = min(0.45 * step, 0.5 * max(w["x1"] - w["x0"] for w in every) + 0.2 * h)
    centre_off = float(np.median([(w["x0"] + w["x1"]) / 2 - anchor(w) for w in every]))
    rows = []
    for line, cells in found:
        top = float(np.median([w["top"] for w in cells]))
        bottom = float(np.median([w["bottom"] for w in cells]))
        got: dict[float, int] = {}
        for w in cells:
            k = int(np.argmin(np.abs(anchor(w) - shift - ticks)))
            if abs(anchor(w) - shift - ticks[k]) <= 0.35 * step:
                got.setdefault(float(values[k]), int(w["text"]))
        counts = [got[t] for t in sorted(got)]
        if len(counts) >= 3 and all(b > a for a, b in zip(counts, counts[1:], strict=False)):
            continue  # a row that rises throughout is tick labels (a table panel's axis)
        for k, tick in enumerate(ticks):
            if float(values[k]) in got:
                continue
            mid = tick + shift + centre_off
            text = read_cell(image, mid - half, mid + half, top - 0.25 * h, bottom + 0.25 * h)
            if text is None:
                continue
            # A cell read alone must keep the row from rising (else it is a misreading).
            before = [n for t, n in got.items() if t < values[k]]
            after = [n for t, n in got.items() if t > values[k]]
            widest = max(len(w["text"]) for w in cells)
            if ((not before or int(text) <= min(before))
                    and (not after or int(text) >= max(after)) and len(text) <= widest + 1):
                got[float(values[k])] = int(text)
        # A count that rises along the row is a misreading (a "0" read as "6"): the cells
        # either side of each rise are read again alone, and kept where that mends it.
        for _ in range(len(got)):
            order = sorted(got)
            rise = next((i for i in range(1, len(order)) if got[order[i]] > got[order[i - 1]]),
                        None)
            if rise is None:
                break
            mended = False
            for t in (order[rise], order[rise - 1]):
                mid = float(ticks[int(np.argmin(np.abs(values - t)))]) + shift + centre_off
                text = read_cell(image, mid - half, mid + half, top - 0.25 * h,
                                 bottom + 0.25 * h)
                if text is None:
                    continue
                trial = {**got, t: int(text)}
                counts = [trial[u] for u in order]
                if all(b <= a for a, b in zip(counts, counts[1:], strict=False)):
                    got, mended = trial, True
                    break
            if not mended:
                break
        first = float(ticks.min() + shift + centre_off - half)
        label = [w for w in line if (w["x0"] + w["x1"]) / 2 < first]
        text = " ".join(w["text"] for w in sorted(label, key=lambda w: w["x0"]))
        if not text.strip():
            text = read_line(image, max(0.0, first - 12 * h), first, top - 0.25 * h,
                             bottom + 0.25 * h)
        ink = None
        if label:
            inks = [w.get("non_stroking_color") for w in label if w.get("non_stroking_color")]
            ink = inks[0] if inks else None
        rows.append({"middle": (top + bottom) / 2, "cells": dict(sorted(got.items())),
                     "label": text, "ink": ink})
    return rows


def _likeness(a: str, b: str) -> float:
    """How alike two names are as OCR reads them (case, spaces and marks ignored; 0-1, the
    ratio of :class:`difflib.SequenceMatcher`)."""
    from difflib import SequenceMatcher

    def key(text: str) -> str:
        return re.sub(r"[^0-9a-z]", "", text.lower())

    return SequenceMatcher(None, key(a), key(b)).ratio() if key(a) and key(b) else 0.0


def _alike(a: str, b: str) -> bool:
    return _likeness(a, b) >= ALIKE


def _row_owners(rows: list[dict[str, Any]], drawn: list[dict[str, Any]],
                warnings: list[str]) -> dict[int, int]:
    """Which curve each table row belongs to: by its label against the legend's names (as
    OCR reads them, alike rather than equal), else by the label's colour, else, where the
    rows and curves left are as many, in order (a table lists the arms as the legend does)."""
    owner: dict[int, int] = {}
    for i, row in enumerate(rows):
        scores = [(_likeness(row["label"], d["name"]) if d["name"] else 0.0, k)
                  for k, d in enumerate(drawn) if k not in owner.values()]
        if scores and max(scores)[0] >= ALIKE:
            owner[i] = max(scores)[1]
            continue
        if row["ink"] is not None:
            for k, d in enumerate(drawn):
                a, off = _blend(np.array(row["ink"])[None, None, :], d["colour"])
                if k not in owner.values() and 0.8 < float(a[0, 0]) < 1.2 \
                        and float(off[0, 0]) < BLEND_OFF:
                    owner[i] = k
                    break
    left_rows = [i for i in range(len(rows)) if i not in owner]
    left_arms = [k for k in range(len(drawn)) if k not in owner.values()]
    if left_rows and len(left_rows) == len(left_arms):
        warnings.append("rows of numbers at risk matched to arms in the legend's order (their "
                        "labels were not read): check them")
        owner.update(zip(left_rows, left_arms, strict=True))
    elif left_rows:
        warnings.append(f"{len(left_rows)} row(s) of numbers at risk name no arm: left out")
    return owner


def _inked(rgb: np.ndarray, word: dict[str, Any], colours: list[np.ndarray],
           colour_of: dict[str, str]) -> dict[str, Any]:
    """``word`` with its ink's colour (``non_stroking_color``, as a PDF word has it): the
    colour of the arm it is printed in, where it is one, so that a table's row labelled by
    colour is matched to its arm."""
    patch = rgb[int(word["top"]):int(word["bottom"]) + 1, int(word["x0"]):int(word["x1"]) + 1]
    ink = patch[(1 - patch.min(axis=2)) > STRONG] if patch.size else np.empty((0, 3))
    if len(ink) < 3:
        return word
    seen = np.median(ink, axis=0)
    for hex_colour in colour_of.values():
        arm = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        a, off = _blend(seen[None, None, :], arm)
        if 0.8 < float(a[0, 0]) < 1.2 and float(off[0, 0]) < BLEND_OFF:
            return {**word, "non_stroking_color": tuple(float(v) for v in arm)}
    return {**word, "non_stroking_color": tuple(float(v) for v in seen)}


def _hex(c: np.ndarray) -> str:
    return "#" + "".join(f"{int(round(255 * float(v))):02x}" for v in np.clip(c, 0, 1))


def _legend(rgb: np.ndarray, words: list[dict[str, Any]], colours: list[np.ndarray], h: float,
            box: tuple[int, int, int, int]) -> dict[int, str]:
    """Per curve colour, the name printed at the right of a short mark of that colour (a
    legend key), else a name printed in that colour; in the legend's order (top to bottom,
    left to right)."""
    names: dict[int, str] = {}
    places: dict[int, tuple[float, float]] = {}
    # A name is mostly letters or digits: a key read by OCR as "a}=" or "+" is not one.
    text = [w for w in words if not _NUMBER.match(w["text"])
            and sum(ch.isalnum() for ch in w["text"]) >= max(1, len(w["text"]) / 2)]
    r0, r1, c0, c1 = box
    for k, colour in enumerate(colours):
        found = None
        # The key in the colour itself; else, outside the plotting area (where pieces of
        # curves read as letters are not), a paler blend of it: a key drawn over its band's
        # tint.
        for core in (True, False):
            labels, _ = ndimage.label(_member(rgb, colour, core=core))
            found = _keyed(labels, text, h, None if core else box, places, k)
            if found is not None:
                break
        if found is None:
            # A name printed in the arm's colour (a table's row label, say).
            for w in text:
                patch = rgb[int(w["top"]):int(w["bottom"]) + 1, int(w["x0"]):int(w["x1"]) + 1]
                ink = patch[(1 - patch.min(axis=2)) > STRONG]
                if len(ink) < 3:
                    continue
                a, off = _blend(np.median(ink, axis=0)[None, None, :], colour)
                if 0.8 < float(a[0, 0]) < 1.2 and float(off[0, 0]) < BLEND_OFF:
                    found = _name(w, text, h)
                    break
        if found is not None and found not in names.values():
            names[k] = found
            places.setdefault(k, (np.inf, np.inf))
    return {k: names[k] for k in sorted(names, key=lambda k: places[k])}


def _keyed(labels: np.ndarray, text: list[dict[str, Any]], h: float,
           outside: tuple[int, int, int, int] | None, places: dict[int, tuple[float, float]],
           k: int) -> str | None:
    """The name printed at the right of a legend key among the components ``labels`` (a key
    is a short mark, about a character high), with its place in ``places[k]``; only keys
    outside the box ``outside`` when it is given."""
    for sl in ndimage.find_objects(labels):
        if sl is None:
            continue
        height = sl[0].stop - sl[0].start
        width = sl[1].stop - sl[1].start
        if not (0.8 * h <= width <= 8 * h and height <= 2 * h):
            continue
        if outside is not None and (outside[0] <= sl[0].start < outside[1]
                                    and outside[2] <= sl[1].start < outside[3]):
            continue
        mid = (sl[0].start + sl[0].stop) / 2
        right = sl[1].stop
        near = [w for w in text if 0 <= w["x0"] - right <= 1.5 * h
                and abs((w["top"] + w["bottom"]) / 2 - mid) <= 0.7 * h]
        if near:
            # A key's own mark read as a letter ("L" for a "+") stands before the name.
            worded = [w for w in near if sum(ch.isalnum() for ch in w["text"]) >= 2]
            first = min(worded or near, key=lambda w: w["x0"])
            places[k] = (round(first["top"] / h), first["x0"])
            return _name(first, text, h)
    return None


def _name(first: dict[str, Any], words: list[dict[str, Any]], h: float) -> str:
    """``first`` and the words after it on its line, until a gap wider than a word space."""
    mid = (first["top"] + first["bottom"]) / 2
    line = sorted((w for w in words if w["x0"] > first["x0"]
                   and abs((w["top"] + w["bottom"]) / 2 - mid) <= 0.5 * h),
                  key=lambda w: w["x0"])
    out = [first]
    for w in line:
        if w["x0"] - out[-1]["x1"] > 0.8 * h:
            break
        out.append(w)
    return " ".join(w["text"] for w in out)
