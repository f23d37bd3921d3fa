"""Kaplan-Meier figures read exactly from an SVG file's drawing and its text.

An SVG figure is read as a vector PDF page is (:mod:`.vector`): this module turns the file
into the same parts a PDF page gives, in points (1/72 inch) with ``top`` measured from the top
of the drawing, and hands them to the same reader:

* **strokes**: every ``path``, ``line``, ``polyline``, ``polygon`` and ``rect``, one per
  subpath, in page coordinates after every ``transform`` and ``use`` (Bézier and arc segments
  by their end points: a Kaplan-Meier curve is straight lines), with the stroke and fill colour
  they inherit (presentation attributes and ``style``);
* **characters**: the text of ``text`` and ``tspan`` elements, each character's box
  estimated from the font size and the average advance of the font's characters (0.556 em
  for a digit in Helvetica and Arial, 0.636 em in DejaVu Sans and Verdana); or the glyph
  outlines that matplotlib writes when it draws text as paths (its glyphs are named after
  their Unicode code point, ``DejaVuSans-30`` for ``0``), each with the exact box of its
  outline.

Text drawn as unnamed outlines (the SVG device of R's cairo writes ``glyph0-1``) cannot be read
without OCR and is refused, saying how to export the figure instead. Embedded images are not
read (give the image itself).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from . import Digitised

#: Points per unit of length.
_UNITS = {"pt": 1.0, "px": 0.75, "": 0.75, "in": 72.0, "cm": 72 / 2.54, "mm": 72 / 25.4,
          "pc": 12.0}
#: Average advance of a character, in ems, by kind: digit, lower case, upper case, space.
_ADVANCE = {"dejavu": (0.636, 0.56, 0.68, 0.318), "helvetica": (0.556, 0.5, 0.64, 0.278)}
#: A glyph's ascent and descent about its baseline, in ems (the box pdfplumber gives a char).
_ASCENT, _DESCENT = 0.75, 0.21
#: Characters of one word are at most this many font sizes apart (glyph outlines).
_WORD_GAP = 0.3

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKENS = re.compile(rf"[MmLlHhVvCcSsQqTtAaZz]|{_NUMBER}")
_TRANSFORM = re.compile(r"(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)")
_GLYPH = re.compile(r"^(?!glyph)[A-Za-z][\w.]*-([0-9a-fA-F]{1,6})$")
_NAMED = {"black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0), "red": (1.0, 0.0, 0.0),
          "green": (0.0, 128 / 255, 0.0), "blue": (0.0, 0.0, 1.0), "grey": (0.5, 0.5, 0.5),
          "gray": (0.5, 0.5, 0.5), "orange": (1.0, 165 / 255, 0.0)}
#: Arguments each path command takes.
_ARITY = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "s": 4, "q": 4, "t": 2, "a": 7, "z": 0}
_INHERITED = ("stroke", "fill", "font-size", "font-family", "text-anchor", "display",
              "visibility")


@dataclass
class Page:
    """An SVG drawing as the parts a pdfplumber page gives (see the module doc)."""

    width: float
    height: float
    lines: list[dict[str, Any]] = field(default_factory=list)
    curves: list[dict[str, Any]] = field(default_factory=list)
    chars: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    words: list[dict[str, Any]] = field(default_factory=list)
    outlined: int = 0  # glyphs drawn as outlines that do not say which character they are
    css: dict[str, dict[str, str]] = field(default_factory=dict)  # per element name

    def extract_words(self, extra_attrs: list[str] | None = None) -> list[dict[str, Any]]:
        return self.words


def read_svg(path: Path) -> Digitised:
    """Read the figure in the SVG file at ``path`` (see the module doc)."""
    from .vector import _read_page

    page = parse(path)
    if not page.words and page.outlined:
        raise InputError("its text is drawn as outlines that do not say which characters "
                         "they are, so its labels and numbers cannot be read", file=path,
                         advice="export the figure with text as text (R: svglite; "
                         "matplotlib: rcParams['svg.fonttype'] = 'none'), or as a PDF or PNG")
    return _read_page(page, path, None)


def parse(path: Path) -> Page:
    """The strokes, characters and words of the SVG file at ``path``, in points from the
    top left of the drawing.

    Raises
    ------
    InputError
        For a file that is not well-formed XML or whose root is not ``svg``.
    """
    try:
        # Comments kept: matplotlib writes each outlined text's string in one beside it.
        parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
        root = ET.parse(path, parser=parser).getroot()
    except (ET.ParseError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as SVG ({type(exc).__name__})", file=path,
                         advice="give the SVG file as exported, or the figure as a PDF or "
                         "PNG") from None
    if _local(root.tag) != "svg":
        raise InputError(f"is XML but not an SVG drawing (its root is <{_local(root.tag)}>)",
                         file=path, advice="give an SVG, PDF, PNG or JPEG figure")
    ids = {el.get("id"): el for el in root.iter() if el.get("id")}
    base, width, height = _viewport(root)
    page = Page(width, height)
    page.css = _stylesheet(" ".join(el.text or "" for el in root.iter()
                                    if isinstance(el.tag, str) and _local(el.tag) == "style"))
    _walk(root, base, {}, ids, page, group=0, depth=0)
    page.words = _words(page.chars)
    return page


# --------------------------------------------------------------------------------------------
# Geometry


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _length(text: str | None, default: float) -> float:
    """A length attribute in points (``504pt``, ``720px``, ``10in``; unitless is pixels)."""
    if not text:
        return default
    m = re.fullmatch(rf"\s*({_NUMBER})\s*([a-z%]*)\s*", text)
    if not m or m.group(2) == "%":
        return default
    return float(m.group(1)) * _UNITS.get(m.group(2), 0.75)


def _viewport(root: ET.Element) -> tuple[np.ndarray, float, float]:
    """The matrix from the root's user units to points, and the drawing's size in points."""
    box = [float(v) for v in re.findall(_NUMBER, root.get("viewBox") or "")]
    if len(box) == 4 and box[2] > 0 and box[3] > 0:
        width = _length(root.get("width"), box[2] * 0.75)
        height = _length(root.get("height"), box[3] * 0.75)
        sx, sy = width / box[2], height / box[3]
        return np.array([[sx, 0, -box[0] * sx], [0, sy, -box[1] * sy], [0, 0, 1]]), width, height
    width, height = _length(root.get("width"), 0.0), _length(root.get("height"), 0.0)
    return np.diag([0.75, 0.75, 1.0]), width, height


def _transform(text: str | None) -> np.ndarray:
    """The matrix of an SVG ``transform`` attribute (the list applied right to left)."""
    m = np.eye(3)
    for name, args in _TRANSFORM.findall(text or ""):
        v = [float(x) for x in re.findall(_NUMBER, args)]
        if name == "matrix" and len(v) == 6:
            t = np.array([[v[0], v[2], v[4]], [v[1], v[3], v[5]], [0, 0, 1]])
        elif name == "translate" and v:
            t = np.array([[1, 0, v[0]], [0, 1, v[1] if len(v) > 1 else 0.0], [0, 0, 1]])
        elif name == "scale" and v:
            t = np.diag([v[0], v[1] if len(v) > 1 else v[0], 1.0])
        elif name == "rotate" and v:
            a = math.radians(v[0])
            t = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0],
                          [0, 0, 1]])
            if len(v) == 3:
                t = (np.array([[1, 0, v[1]], [0, 1, v[2]], [0, 0, 1]]) @ t
                     @ np.array([[1, 0, -v[1]], [0, 1, -v[2]], [0, 0, 1]]))
        elif name in ("skewX", "skewY") and v:
            k = math.tan(math.radians(v[0]))
            t = np.array([[1, k, 0], [0, 1, 0], [0, 0, 1]]) if name == "skewX" else \
                np.array([[1, 0, 0], [k, 1, 0], [0, 0, 1]])
        else:
            continue
        m = m @ t
    return m


def _subpaths(d: str) -> list[list[tuple[float, float]]]:
    """The points of each subpath of a path's ``d`` (curve and arc segments by their end
    points), in the path's own coordinates."""
    tokens = _TOKENS.findall(d or "")
    out: list[list[tuple[float, float]]] = []
    x = y = 0.0
    start = (0.0, 0.0)
    current: list[tuple[float, float]] = []
    command, k = "", 0
    while k < len(tokens):
        if tokens[k].isalpha():
            command = tokens[k]
            k += 1
            if command in "Zz":
                if current:
                    current.append(start)
                    x, y = start
                continue
        if not command or command in "Zz":
            break
        n = _ARITY[command.lower()]
        args = tokens[k:k + n]
        if len(args) < n:
            break
        v = [float(a) for a in args]
        k += n
        rel = command.islower()
        c = command.lower()
        if c == "m":
            x, y = (x + v[0], y + v[1]) if rel else (v[0], v[1])
            if len(current) > 1:
                out.append(current)
            current, start = [(x, y)], (x, y)
            command = "l" if rel else "L"  # further pairs are lines
            continue
        if c == "h":
            x = x + v[0] if rel else v[0]
        elif c == "v":
            y = y + v[0] if rel else v[0]
        else:
            x, y = (x + v[-2], y + v[-1]) if rel else (v[-2], v[-1])
        if not current:
            current = [start]
        current.append((x, y))
    if len(current) > 1:
        out.append(current)
    return out


def _apply(m: np.ndarray, pts: list[tuple[float, float]]) -> np.ndarray:
    a = np.asarray(pts, float).reshape(-1, 2)
    return a @ m[:2, :2].T + m[:2, 2]


# --------------------------------------------------------------------------------------------
# Style


def _stylesheet(text: str) -> dict[str, dict[str, str]]:
    """The rules of a ``<style>`` sheet that name an element (``line``, ``.svglite text``,
    ``*``), per element name: what SVG writers such as svglite set the default stroke with.
    Rules on classes or ids alone are not applied."""
    out: dict[str, dict[str, str]] = {}
    text = re.sub(r"/\*.*?\*/", " ", text.replace("<![CDATA[", " ").replace("]]>", " "),
                  flags=re.S)
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", text):
        props = _declarations(body)
        for selector in selectors.split(","):
            last = selector.split()[-1] if selector.split() else ""
            if re.fullmatch(r"[A-Za-z]+|\*", last):
                out.setdefault(last, {}).update(props)
    return out


def _declarations(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(";"):
        if ":" in part:
            key, value = part.split(":", 1)
            out[key.strip()] = value.strip()
    return out


def _style(el: ET.Element, parent: dict[str, str], css: dict[str, dict[str, str]] | None = None
           ) -> dict[str, str]:
    """The style properties of ``el``: inherited ones from ``parent``, its presentation
    attributes, the style sheet's rules for its element name, then its ``style`` attribute
    (the order of precedence of SVG 1.1, lowest first)."""
    out = {k: v for k, v in parent.items() if k in _INHERITED}
    for key in ("stroke", "fill", "font-size", "font-family", "text-anchor", "display",
                "visibility", "opacity", "stroke-opacity", "fill-opacity"):
        if el.get(key) is not None:
            out[key] = str(el.get(key)).strip()
    if css:
        out.update(css.get("*", {}))
        out.update(css.get(_local(el.tag), {}))
    out.update(_declarations(el.get("style") or ""))
    if "font" in out and "font-size" not in out:  # the shorthand matplotlib writes
        m = re.search(rf"({_NUMBER})(px|pt)?", out["font"])
        if m:
            out["font-size"] = m.group(0)
    return out


def _colour(text: str | None) -> tuple[float, float, float] | None:
    """An SVG colour as RGB in [0, 1]; None for ``none`` or one not understood."""
    if not text:
        return None
    t = text.strip().lower()
    if t.startswith("#"):
        h = t[1:]
        if len(h) == 3:
            h = "".join(ch * 2 for ch in h)
        if len(h) == 6 and all(ch in "0123456789abcdef" for ch in h):
            return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]
        return None
    m = re.fullmatch(r"rgb\(([^)]*)\)", t)
    if m:
        parts = [p.strip() for p in m.group(1).split(",")]
        if len(parts) == 3:
            return tuple(float(p[:-1]) / 100 if p.endswith("%") else float(p) / 255
                         for p in parts)  # type: ignore[return-value]
    return _NAMED.get(t)


# --------------------------------------------------------------------------------------------
# The walk


def _walk(el: ET.Element, m: np.ndarray, parent: dict[str, str], ids: dict[str, ET.Element],
          page: Page, group: int, depth: int) -> None:
    if not isinstance(el.tag, str):
        return  # a comment
    tag = _local(el.tag)
    if depth > 50 or tag in ("defs", "symbol", "clipPath", "mask", "marker", "metadata",
                             "title", "desc", "style", "pattern", "linearGradient",
                             "radialGradient", "image"):
        return  # defined things are drawn where a <use> draws them
    style = _style(el, parent, page.css)
    if style.get("display") == "none" or style.get("visibility") == "hidden":
        return
    m = m @ _transform(el.get("transform"))
    if tag in ("svg", "g", "a", "switch"):
        if tag == "svg" and depth > 0:
            m = m @ np.array([[1, 0, _length(el.get("x"), 0) / 0.75],
                              [0, 1, _length(el.get("y"), 0) / 0.75], [0, 0, 1]])
        first = len(page.chars)
        for child in el:  # a group's glyphs are one text's (matplotlib's outlined text)
            _walk(child, m, style, ids, page, id(el), depth + 1)
        said = [c.text for c in el if c.tag is ET.Comment and c.text]  # type: ignore[comparison-overlap]
        if said:
            _name_glyphs(page.chars[first:], said[0].strip())
    elif tag == "use":
        ref = el.get("{http://www.w3.org/1999/xlink}href") or el.get("href") or ""
        target = ids.get(ref.lstrip("#"))
        if target is None:
            return
        x, y = (re.findall(_NUMBER, el.get(k) or "0") or ["0"] for k in ("x", "y"))
        at = m @ np.array([[1, 0, float(x[0])], [0, 1, float(y[0])], [0, 0, 1]])
        glyph = _GLYPH.match(ref.lstrip("#"))
        if _local(target.tag) == "path" and glyph:
            _glyph(target, at, style, chr(int(glyph.group(1), 16)), page, group)
        elif ref.lstrip("#").startswith("glyph"):  # cairo's unnamed glyph outlines
            page.outlined += 1
        else:
            _walk_defined(target, at, style, ids, page, group, depth + 1)
    elif tag == "text":
        _text(el, m, style, page)
    else:
        _shape(el, tag, m, style, page)


def _walk_defined(target: ET.Element, m: np.ndarray, style: dict[str, str],
                  ids: dict[str, ET.Element], page: Page, group: int, depth: int) -> None:
    """A defined element (a marker's path, a symbol) drawn where a ``use`` puts it."""
    if _local(target.tag) == "symbol":
        inner = _style(target, style, page.css)
        for child in target:
            _walk(child, m @ _transform(target.get("transform")), inner, ids, page, group,
                  depth + 1)
    else:
        _walk(target, m, style, ids, page, group, depth)


def _shape(el: ET.Element, tag: str, m: np.ndarray, style: dict[str, str], page: Page) -> None:
    """A stroke or fill, one entry per subpath, as pdfplumber gives lines and curves."""
    if any("%" in (el.get(k) or "") for k in ("x", "y", "width", "height", "x1", "x2", "y1",
                                               "y2")):
        return  # sized on the viewport (a background): not a line of the figure

    def num(key: str) -> float:
        found = re.findall(_NUMBER, el.get(key) or "")
        return float(found[0]) if found else 0.0

    if tag == "path":
        parts = _subpaths(el.get("d") or "")
    elif tag == "line":
        parts = [[(num("x1"), num("y1")), (num("x2"), num("y2"))]]
    elif tag in ("polyline", "polygon"):
        v = [float(x) for x in re.findall(_NUMBER, el.get("points") or "")]
        pts = list(zip(v[0::2], v[1::2], strict=False))
        parts = [pts + pts[:1] if tag == "polygon" else pts]
    elif tag == "rect":
        x, y, w, h = num("x"), num("y"), num("width"), num("height")
        parts = [[(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)]]
    else:
        return
    stroke, fill = _colour(style.get("stroke")), _colour(style.get("fill", "black"))
    for pts in parts:
        if len(pts) < 2:
            continue
        p = _apply(m, pts)
        entry = {"pts": [tuple(q) for q in p], "x0": float(p[:, 0].min()),
                 "x1": float(p[:, 0].max()), "top": float(p[:, 1].min()),
                 "bottom": float(p[:, 1].max()), "stroking_color": stroke,
                 "non_stroking_color": fill, "stroke": stroke is not None,
                 "fill": fill is not None and tag in ("rect", "polygon")
                 or (fill is not None and tag == "path" and _closed(pts))}
        straight = len(p) == 2 and (abs(p[0, 0] - p[1, 0]) < 1e-6 or abs(p[0, 1] - p[1, 1])
                                     < 1e-6)
        if stroke is not None and straight:
            page.lines.append(entry)
        else:
            page.curves.append(entry)


def _closed(pts: list[tuple[float, float]]) -> bool:
    return len(pts) > 2 and pts[0] == pts[-1]


def _glyph(target: ET.Element, m: np.ndarray, style: dict[str, str], text: str, page: Page,
           group: int) -> None:
    """One character drawn as its outline, boxed by the outline (a space by its origin)."""
    m = m @ _transform(target.get("transform"))
    pts = [q for part in _subpaths(target.get("d") or "") for q in part]
    p = _apply(m, pts) if pts else _apply(m, [(0.0, 0.0)])
    colour = _colour(style.get("fill", "black"))
    page.chars.append({"text": text, "x0": float(p[:, 0].min()), "x1": float(p[:, 0].max()),
                       "top": float(p[:, 1].min()), "bottom": float(p[:, 1].max()),
                       "non_stroking_color": colour, "group": group, "outline": True})


def _name_glyphs(chars: list[dict[str, Any]], text: str) -> None:
    """The characters of outlined glyphs from the string written beside them, when they are
    as many as its characters (spaces drawn or not); otherwise left as their names say."""
    glyphs = [c for c in chars if c["outline"]]
    letters = [(ch, k > 0 and text[k - 1].isspace()) for k, ch in enumerate(text)
               if not ch.isspace()]
    if len(glyphs) == len(text):
        for c, ch in zip(glyphs, text, strict=True):
            c["text"] = ch
    elif len(glyphs) == len(letters):
        for c, (ch, after_space) in zip(glyphs, letters, strict=True):
            c["text"], c["space_before"] = ch, after_space


def _text(el: ET.Element, m: np.ndarray, style: dict[str, str], page: Page) -> None:
    """The characters of a ``text`` element and its ``tspan`` children, each boxed by the
    font's average advance, or by the ``textLength`` a writer gives (svglite does), after the
    element's transform (rotated text is boxed as it stands on the page)."""
    pieces: list[tuple[str, dict[str, str], float | None, float | None, float | None]] = []

    def first(node: ET.Element, key: str) -> float | None:
        found = re.findall(_NUMBER, node.get(key) or "")
        return float(found[0]) if found else None

    def collect(node: ET.Element, inherited: dict[str, str]) -> None:
        st = _style(node, inherited, page.css)
        x, y = first(node, "x"), first(node, "y")
        if node.text:
            whole = len(node) == 0  # its textLength is this piece's alone
            pieces.append((node.text, st, x, y, first(node, "textLength") if whole else None))
            x = y = None
        for child in node:
            if isinstance(child.tag, str) and _local(child.tag) == "tspan":
                collect(child, st)
            if child.tail:
                pieces.append((child.tail, st, None, None, None))

    collect(el, {k: v for k, v in style.items() if k in _INHERITED})
    rotated = abs(m[0, 1]) > 1e-6 or abs(m[1, 0]) > 1e-6
    x = y = 0.0
    group = id(el)
    for text, st, px, py, length in pieces:
        x = px if px is not None else x
        y = py if py is not None else y
        size = _length(st.get("font-size"), 16 * 0.75) / 0.75  # user units, like x and y
        family = "dejavu" if re.search(r"dejavu|verdana|bitstream", st.get("font-family", ""),
                                       re.I) else "helvetica"
        digit, lower, upper, space = _ADVANCE[family]
        advances = np.array([size * (digit if ch.isdigit() or ch in ".,-−" else space
                                     if ch.isspace() else upper if ch.isupper() else lower)
                             for ch in text])
        if length and advances.sum() > 0:
            advances *= length / advances.sum()
        width = float(advances.sum())
        anchor = st.get("text-anchor", "start")
        left = x - (width / 2 if anchor == "middle" else width if anchor == "end" else 0.0)
        colour = _colour(st.get("fill", "black"))
        for ch, adv in zip(text, advances, strict=True):
            p = _apply(m, [(left, y - _ASCENT * size), (left + adv, y - _ASCENT * size),
                           (left, y + _DESCENT * size), (left + adv, y + _DESCENT * size)])
            page.chars.append({"text": ch, "x0": float(p[:, 0].min()),
                               "x1": float(p[:, 0].max()), "top": float(p[:, 1].min()),
                               "bottom": float(p[:, 1].max()), "non_stroking_color": colour,
                               "group": group, "outline": False, "rotated": rotated})
            left += float(adv)
        x = left


def _words(chars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Characters joined into words: those of one text, not parted by a space or a gap."""
    words: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []

    def flush() -> None:
        if current:
            words.append({"text": "".join(c["text"] for c in current),
                          "x0": min(c["x0"] for c in current),
                          "x1": max(c["x1"] for c in current),
                          "top": min(c["top"] for c in current),
                          "bottom": max(c["bottom"] for c in current),
                          "non_stroking_color": current[0]["non_stroking_color"]})
            current.clear()

    for ch in chars:
        if ch["text"].isspace():
            flush()
            continue
        if ch.get("space_before"):
            flush()
        if current:
            last = current[-1]
            size = max(max(c["bottom"] - c["top"] for c in current), 1e-6)
            apart = not ch.get("rotated") and (
                ch["x0"] - last["x1"] > _WORD_GAP * size
                or abs(ch["bottom"] - last["bottom"]) > 0.5 * size and not ch["outline"])
            if ch["group"] != last["group"] or apart:
                flush()
        current.append(ch)
    flush()
    return words
