"""The words printed on a raster figure, with their boxes, by optical character recognition.

Tesseract (Smith, 2007) through pytesseract, offline, with the models Debian's
``tesseract-ocr`` package installs; nothing is fetched at run time. A figure's words are few and
sparse (tick labels, a legend, a table of numbers), so the page is read in Tesseract's sparse
text mode, after scaling small images up to about the size of a 300 dpi figure, where it reads
small digits best. Tokens that are numbers but for a letter-digit confusion (``1OO``, ``l2``)
are mended; single cells the sparse pass missed are read again one by one
(:func:`read_cell`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import InputError

#: Images narrower than this (pixels) are scaled up to it before they are read.
READ_WIDTH = 2400
#: Largest scale-up.
MOST_SCALE = 3.0

_CONFUSED = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1",
                           "|": "1", "i": "1", "S": "5", "s": "5", "B": "8", ",": ".",
                           "Z": "2", "z": "2"})
_NUMERIC = re.compile(r"^[−-]?\d+(\.\d+)?$")
_DASHES = "-—–_~=:;'\"`"


def _engine() -> Any:
    try:
        import pytesseract
    except ImportError:  # pragma: no cover - the digitise extra is installed by make
        raise InputError("reading raster figures needs pytesseract", file="the OCR engine",
                         advice="install trialrecon[digitise]") from None
    try:
        pytesseract.get_tesseract_version()
    except Exception:  # noqa: BLE001 - any failure to start it is a missing Tesseract
        raise InputError("reading raster figures needs the Tesseract program",
                         file="the OCR engine",
                         advice="install it (Debian: apt-get install tesseract-ocr; conda: "
                         "tesseract)") from None
    return pytesseract


def _grey(image: np.ndarray, scale: float) -> Any:
    from PIL import Image

    im = Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("L")
    if scale > 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)),
                       Image.Resampling.LANCZOS)
    return im


def mend(text: str) -> str:
    """``text`` as a number where it is one but for letters read for digits (``1OO``) or a
    tick mark read as a dash at its end (``0.0-``); otherwise unchanged."""
    core = text.strip(_DASHES + " ")
    if not core or not any(ch.isdigit() for ch in core):
        return text
    fixed = core.translate(_CONFUSED)
    if _NUMERIC.match(fixed) and sum(ch.isdigit() for ch in core) >= len(core) / 2:
        return fixed
    return text


def read_words(image: np.ndarray) -> list[dict[str, Any]]:
    """The words printed on ``image`` (``(H, W, 3)`` uint8 RGB).

    Returns
    -------
    list of dict
        One per word: ``text``, its box ``x0, x1, top, bottom`` in pixels of ``image`` (``top``
        from the top) and Tesseract's ``confidence`` (0-1). Numbers apart on a line are
        separate words.
    """
    tess = _engine()
    width = image.shape[1]
    scale = min(MOST_SCALE, max(1.0, READ_WIDTH / max(width, 1)))
    data = tess.image_to_data(_grey(image, scale), config="--psm 11",
                              output_type=tess.Output.DICT)
    words = []
    for k, raw in enumerate(data["text"]):
        text = mend(str(raw).strip())
        if not text or set(text) <= set(_DASHES):
            continue
        x0, top = data["left"][k] / scale, data["top"][k] / scale
        words.append({"text": text, "x0": x0, "x1": x0 + data["width"][k] / scale,
                      "top": top, "bottom": top + data["height"][k] / scale,
                      "confidence": max(0.0, float(data["conf"][k])) / 100})
    return words


def _box(image: np.ndarray, x0: float, x1: float, top: float, bottom: float,
         height: float = 40.0) -> Any | None:
    """The box of ``image`` on a white margin as wide as it is high, scaled so that its text
    is about ``height`` pixels high (Tesseract misses single small characters on a page)."""
    H, W = image.shape[:2]
    r0, r1 = int(max(0, np.floor(top))), int(min(H, np.ceil(bottom)))
    c0, c1 = int(max(0, np.floor(x0))), int(min(W, np.ceil(x1)))
    if r1 - r0 < 3 or c1 - c0 < 3:
        return None
    m = r1 - r0
    pad = np.full((3 * m, c1 - c0 + 2 * m, 3), 255, np.uint8)
    pad[m:2 * m, m:m + c1 - c0] = np.asarray(image[r0:r1, c0:c1], dtype=np.uint8)
    return _grey(pad, max(1.0, height / m))


def read_cell(image: np.ndarray, x0: float, x1: float, top: float, bottom: float,
              decimals: bool = False) -> str | None:
    """The number printed in one box of ``image`` (a table's cell, a tick's label), or None:
    a whole number, or with ``decimals`` one that may have a decimal point."""
    tess = _engine()
    box = _box(image, x0, x1, top, bottom)
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
