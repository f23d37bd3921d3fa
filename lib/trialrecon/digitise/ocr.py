"""The words printed on a raster figure, with their boxes, by optical character recognition.

Tesseract (Smith, 2007) through pytesseract, offline, with the English model that Debian's
``tesseract-ocr`` package installs; nothing is fetched at run time.

Tesseract's own page layout analysis drops what a figure's words mostly are: short numbers
standing alone (a ``0`` under the time axis, a ``1`` in the at-risk table). So the words are
found here instead: dark connected components of about a character's height are joined into
words when they stand on one line closer than half a character's height (digits of a number
touch or nearly; cells of a table lie far apart). Each word is cut out alone (other ink
masked), scaled so that its characters are :data:`CHAR_PIXELS` high, and all are stacked into
one column, one word a line, which Tesseract reads in a single call as a uniform block of text.
The box of a word is the box of its ink in the figure; its text is what Tesseract read on its
line, mended where a number was read with a letter for a digit (:func:`mend`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import InputError

#: A pixel is ink when its darkest channel is below this (coloured text, yellow included,
#: is ink; shaded confidence bands and grid lines are not).
INK = 150
#: Characters of one word are at most this many character heights apart.
GAP = 0.8
#: Gap used instead to split a word that came out too tall (a label joined to rotated text).
CLOSE = 0.35
#: Height (pixels) characters are scaled to before Tesseract reads them: small print reads
#: poorly, and 100 dpi figures print digits 8-10 pixels high.
CHAR_PIXELS = 32
#: Space between the lines of the stacked words, in character heights.
LEADING = 0.6

_CONFUSED = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1",
                           "|": "1", "i": "1", "{": "1", "}": "1", "[": "1", "]": "1",
                           "!": "1", "S": "5", "s": "5", "B": "8", ",": ".", "Z": "2"})
_NUMERIC = re.compile(r"^\d+(\.\d+)?$")
#: Read around a number (a tick mark as a dash, an edge as a bracket, a percent sign on a
#: tick label); dropped from it.
_AROUND = "-—–_~=:;'\"`()%"


def _engine() -> Any:
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
    except Exception:  # noqa: BLE001 - a missing module or program alike
        raise InputError("reading raster figures needs Tesseract and pytesseract",
                         file="the OCR engine", advice="install the digitise extra "
                         "(pip install 'trialrecon[digitise]'; Debian: apt-get install "
                         "tesseract-ocr)") from None
    return pytesseract


def mend(text: str) -> str:
    """``text`` as a number where it is one but for letters read for digits (``1OO``, ``{``
    for a lone ``1``) or marks read beside it (``0)``, ``0.75-``); otherwise unchanged."""
    core = text.strip(_AROUND + " ")
    if not core or not (any(ch.isdigit() for ch in core) or len(core) == 1):
        return text
    fixed = core.translate(_CONFUSED)
    # A word with a digit in it whose every other character is one a digit is read as
    # (``1OO``, ``l2``) is that number; a word without one is a word (``So``), but for a
    # single character (a lone ``1`` read as ``l``).
    if _NUMERIC.match(fixed) and (len(core) == 1 or any(ch.isdigit() for ch in core)):
        return fixed
    return text


def upscale(grey: np.ndarray, factor: float) -> Any:
    """``grey`` (2-D uint8) as a PIL image ``factor`` times larger (bicubic), for small print:
    Tesseract reads characters best about 30 pixels high."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(grey, dtype=np.uint8))
    if factor == 1:
        return im
    return im.resize((max(1, round(im.width * factor)), max(1, round(im.height * factor))),
                     Image.Resampling.BICUBIC)


def _span(b: np.ndarray) -> np.ndarray:
    return np.array([b[:, 0].min(), b[:, 1].max(), b[:, 2].min(), b[:, 3].max()])


def _group(box: np.ndarray, comps: list[int], gap: float, ch: float) -> list[list[int]]:
    """Components ``comps`` (rows of ``box``) joined into words: side by side on a line at
    most ``gap`` apart, or a small mark next to one (a decimal point, an underscore, the
    dot of an ``i``)."""
    h = box[:, 3] - box[:, 2]
    parent = {i: i for i in comps}

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    order = sorted(comps, key=lambda i: box[i, 0])
    for n, a in enumerate(order):
        for b in order[n + 1:]:
            if box[b, 0] - box[a, 1] > gap:
                break
            v_overlap = min(box[a, 3], box[b, 3]) - max(box[a, 2], box[b, 2])
            h_overlap = min(box[a, 1], box[b, 1]) - max(box[a, 0], box[b, 0])
            small = min(h[a], h[b]) < 0.4 * ch  # a point, a dot, an underscore, a dash
            if v_overlap >= 0.5 * min(h[a], h[b]) or (
                    (h_overlap > 0 or small) and -v_overlap < 0.3 * ch):
                parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for i in comps:
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _words_of_ink(ink: np.ndarray) -> tuple[list[tuple[np.ndarray, list[int]]], np.ndarray,
                                            float]:
    """Boxes ``(x0, x1, top, bottom)`` of word-like groups of components, each with its
    component labels; the label image; the character height (pixels)."""
    lab, _ = ndimage.label(ink, structure=np.ones((3, 3)))
    box = np.array([(s[1].start, s[1].stop, s[0].start, s[0].stop)
                    for s in ndimage.find_objects(lab)], float).reshape(-1, 4)
    w, h = box[:, 1] - box[:, 0], box[:, 3] - box[:, 2]
    # Character height: the median of glyph-shaped components (digits, capitals).
    glyph = (h >= 4) & (h <= ink.shape[0] / 15) & (w >= 0.25 * h) & (w <= 1.2 * h)
    if not glyph.any():
        return [], lab, 10.0
    ch = float(np.median(h[glyph]))
    keep = np.flatnonzero((h <= 2.5 * ch) & (w <= 4 * ch))  # curves and axes are larger
    out = []
    for members in _group(box, [int(i) for i in keep], GAP * ch, ch):
        g = _span(box[members])
        if g[3] - g[2] > 2.5 * ch:
            # a label joined to rotated text beside it (an axis title): split closer
            out += [(_span(box[m]), m) for m in _group(box, members, CLOSE * ch, ch)
                    if 0.5 * ch <= np.ptp(_span(box[m])[2:]) <= 2.5 * ch]
        elif g[3] - g[2] >= 0.5 * ch:  # not a lone dot or dash
            out.append((g, members))
    return out, lab, ch


def read_words(image: np.ndarray) -> list[dict[str, Any]]:
    """The words printed on a figure.

    Parameters
    ----------
    image
        ``(H, W, 3)`` uint8 RGB array.

    Returns
    -------
    list of dict
        One per word: ``text``; its box ``x0, x1, top, bottom`` in pixels of ``image``
        (``top`` from the top, as pdfplumber gives words); ``confidence``, Tesseract's (0-1).
        Numbers apart on a line are separate words; a name may come as one word or several.

    Raises
    ------
    InputError
        Tesseract or pytesseract is not installed.
    """
    tess = _engine()
    from PIL import Image

    dark = np.asarray(image, dtype=np.uint8).min(axis=2)
    found, lab, ch = _words_of_ink(dark < INK)
    if not found:
        return []
    scale, pad, margin = max(1.0, CHAR_PIXELS / ch), int(round(0.4 * ch)), 20
    lines, y = [], margin
    for g, members in found:
        r0, c0 = int(max(0, g[2] - pad)), int(max(0, g[0] - pad))
        r1, c1 = int(min(dark.shape[0], g[3] + pad)), int(min(dark.shape[1], g[1] + pad))
        # the word alone: ink of other components (a curve, a tick, a neighbour) is masked
        mask = ndimage.binary_dilation(np.isin(lab[r0:r1, c0:c1], np.array(members) + 1))
        crop = upscale(np.where(mask, dark[r0:r1, c0:c1], 255), scale)
        lines.append((crop, c0, r0, y, g))
        y += crop.height + int(LEADING * CHAR_PIXELS)
    sheet = Image.new("L", (max(ln[0].width for ln in lines) + 2 * margin, y + margin), 255)
    for crop, _, _, top, _ in lines:
        sheet.paste(crop, (margin, top))
    data = tess.image_to_data(sheet, config="--psm 6", output_type=tess.Output.DICT)
    starts = np.array([ln[3] for ln in lines])
    read: dict[int, list[tuple[str, float, float, float]]] = {}
    for k, raw in enumerate(data["text"]):
        text = str(raw).strip()
        if not text:
            continue
        line = int(np.searchsorted(starts, data["top"][k] + data["height"][k] / 2) - 1)
        if line >= 0:
            read.setdefault(line, []).append((text, data["left"][k], data["width"][k],
                                              max(0.0, float(data["conf"][k])) / 100))
    words = []
    for line, tokens in read.items():
        _, c0, _, _, g = lines[line]
        joined = mend("".join(t[0] for t in tokens))
        if len(tokens) > 1 and _NUMERIC.match(joined):
            # one number read as pieces ("{" "18" for 118): the grouping found one word
            tokens = [(joined, margin + (g[0] - c0) * scale, (g[1] - g[0]) * scale,
                       min(t[3] for t in tokens))]
        thin = g[1] - g[0] < 0.25 * (g[3] - g[2])  # a bar (a censoring mark), not a "1"
        for text, left, width, conf in tokens:
            x0 = c0 + (left - margin) / scale
            words.append({"text": text if thin and not text.isdigit() else mend(text),
                          "x0": float(x0), "x1": float(x0 + width / scale),
                          "top": float(g[2]), "bottom": float(g[3]), "confidence": conf})
    return words


def _box(image: np.ndarray, x0: float, x1: float, top: float, bottom: float,
         turned: bool = False) -> Any | None:
    """The box of ``image`` alone on a white margin as wide as it is high, its characters
    scaled to :data:`CHAR_PIXELS` high (Tesseract misses a single small character on a page);
    ``turned``: text that reads upwards (base R's survival labels), turned to read across."""
    H, W = image.shape[:2]
    r0, r1 = int(max(0, np.floor(top))), int(min(H, np.ceil(bottom)))
    c0, c1 = int(max(0, np.floor(x0))), int(min(W, np.ceil(x1)))
    if r1 - r0 < 3 or c1 - c0 < 3:
        return None
    crop = np.asarray(image[r0:r1, c0:c1], dtype=np.uint8).min(axis=2).copy()
    # Rules through the box (a table's frame, an axis line a cell touches) are not text.
    dark = crop < INK
    crop[:, dark.mean(axis=0) >= 0.9] = 255
    crop[dark.mean(axis=1) >= 0.9, :] = 255
    if turned:
        crop = np.rot90(crop, k=-1)
        # The box around an upward label is wider than the characters are high: cut to
        # the ink so that the characters, not the box, are scaled to CHAR_PIXELS.
        rows = np.flatnonzero((crop < INK).any(axis=1))
        if not len(rows):
            return None
        crop = crop[max(0, rows[0] - 1): rows[-1] + 2]
    m = crop.shape[0]
    pad = np.full((3 * m, crop.shape[1] + 2 * m), 255, np.uint8)
    pad[m:2 * m, m:m + crop.shape[1]] = crop
    return upscale(pad, max(1.0, CHAR_PIXELS / m))


def read_cell(image: np.ndarray, x0: float, x1: float, top: float, bottom: float,
              decimals: bool = False, turned: bool = False) -> str | None:
    """The number printed in one box of ``image`` (a table's cell, a tick's label), or None:
    a whole number, or with ``decimals`` one that may have a decimal point; ``turned`` for
    one printed reading upwards."""
    tess = _engine()
    box = _box(image, x0, x1, top, bottom, turned)
    if box is None:
        return None
    allowed = "0123456789" + ("." if decimals else "")
    text = tess.image_to_string(box, config=f"--psm 7 -c tessedit_char_whitelist={allowed}")
    text = text.strip()
    return text if _NUMERIC.match(text) else None


def read_line(image: np.ndarray, x0: float, x1: float, top: float, bottom: float) -> str:
    """The text printed on one line in a box of ``image`` (a table's row label), or ''."""
    tess = _engine()
    box = _box(image, x0, x1, top, bottom)
    if box is None:
        return ""
    return " ".join(tess.image_to_string(box, config="--psm 7").split())
