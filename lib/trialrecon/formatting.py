"""How numbers are shown: the one place where results become text.

Results elsewhere hold numbers (floats, ints, booleans, NaN for "not computed", ``inf`` for
"not reached"). They become text here, when shown: on a page (:class:`Table`), in the
command line's tables, in a figure's caption. Conventions, as in clinical reporting:

- a median or time that is not reached (``inf``) is "NR";
- a figure that cannot be estimated (NaN) is "not estimable" where an estimate was expected,
  and empty where the cell simply does not apply;
- p-values keep two significant digits, and below 0.0001 are written in powers of ten;
- intervals are written "0.62 (0.47 to 0.82)", with "to" so that negative bounds read clearly;
- ``-0.0`` is shown as ``0.0``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NOT_REACHED = "NR"
NOT_ESTIMABLE = "not estimable"


#: What a terminal would act on rather than show: C0 and C1 control characters but newline
#: and tab (ESC starts colour, cursor and title sequences), and the invisible or reordering
#: format characters (U+202E turns the rest of a line around).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f"
                          "\u202a-\u202e\u2060-\u2069\ufeff]")


def printable(text: str) -> str:
    r"""``text`` safe for a terminal: each control or reordering character written as its
    code, everything else as it is.

    >>> printable("ok\x1b[2J\u202e")
    'ok\\x1b[2J\\u202e'
    """
    def code(match: re.Match[str]) -> str:
        c = ord(match.group())
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"

    return _UNPRINTABLE.sub(code, text)


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float | np.floating) and math.isnan(x))


def number(x: float | None, decimals: int = 2, *, signed: bool = False,
           missing: str = "") -> str:
    """``x`` with ``decimals`` decimals; ``inf`` is "NR", NaN or None is ``missing``.

    >>> number(-0.0001, 2), number(float("inf")), number(1.5, 1, signed=True)
    ('0.00', 'NR', '+1.5')
    """
    if _missing(x):
        return missing
    x = float(x)
    if math.isinf(x):
        return NOT_REACHED if x > 0 else "-inf"
    x = round(x, decimals) + 0.0  # round(-1e-9, 2) is -0.0: shown as 0.00
    return f"{x:+.{decimals}f}" if signed else f"{x:.{decimals}f}"


NOT_FINITE = "not finite"


def finite(x: float | None, decimals: int = 2, *, missing: str = "") -> str:
    """A quantity that may not exist, as an unrestricted mean: ``inf`` is "not finite"
    (not "NR", which says a median was not reached).

    >>> finite(float("inf")), finite(31.04, 1), finite(float("nan"))
    ('not finite', '31.0', '')
    """
    if not _missing(x) and math.isinf(float(x)) and float(x) > 0:
        return NOT_FINITE
    return number(x, decimals, missing=missing)


def count(x: float | None, *, missing: str = "") -> str:
    """A whole number of patients or events ("3", never "3.0")."""
    if _missing(x):
        return missing
    return f"{int(round(float(x))):d}"


def p_value(p: float | None, *, missing: str = "") -> str:
    """A p-value with two significant digits; below 0.0001 in powers of ten.

    The exponent is written in superscript digits (``10⁻⁷``), which read as a power in a
    table, a heading and a CSV cell alike.

    >>> p_value(0.0342), p_value(0.00012), p_value(3.1e-7), p_value(0.0)
    ('0.034', '0.00012', '3.1 × 10⁻⁷', '<1 × 10⁻³⁰⁰')
    """
    if _missing(p):
        return missing
    p = float(p)
    if p <= 0.0:
        return "<1 × 10" + _superscript(-300)
    if p >= 1e-4:
        r = min(float(f"{p:.2g}"), 1.0)  # two significant digits: 0.034, 0.00012, 0.50
        return f"{r:.{max(1, 1 - math.floor(math.log10(r)))}f}"
    mantissa, exponent = f"{p:.1e}".split("e")
    return f"{mantissa} × 10{_superscript(int(exponent))}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _superscript(n: int) -> str:
    return str(n).translate(_SUPERSCRIPT)


def percent(x: float | None, decimals: int = 1, *, missing: str = "") -> str:
    """A percentage (``x`` in percent, not a proportion): "65.1%"."""
    text = number(x, decimals, missing=missing)
    return text + "%" if text not in ("", missing, NOT_REACHED) else text


def interval(lower: float | None, upper: float | None, decimals: int = 2, *,
             formatter: Callable[[float], str] | None = None) -> str:
    """"0.47 to 0.82"; empty when either bound is missing."""
    if _missing(lower) or _missing(upper):
        return ""
    show = formatter or (lambda v: number(v, decimals))
    return f"{show(lower)} to {show(upper)}"


def estimate(value: float | None, lower: float | None = None, upper: float | None = None,
             decimals: int = 2, *, missing: str = NOT_ESTIMABLE, unit: str = "") -> str:
    """"0.62 (0.47 to 0.82)"; the unit, when given, follows the estimate.

    >>> estimate(0.6213, 0.47, 0.8249), estimate(float("inf"), 8.1, float("nan"), 1)
    ('0.62 (0.47 to 0.82)', 'NR (8.1 to NR)')
    """
    if _missing(value):
        return missing
    text = number(value, decimals)
    if unit and text != NOT_REACHED:
        text += f" {unit}"
    if not (_missing(lower) and _missing(upper)):
        lo = number(lower, decimals, missing="?")
        hi = number(upper, decimals, missing=NOT_REACHED)
        text += f" ({lo} to {hi})"
    return text


def time(x: float | None, unit: str = "months", decimals: int = 1) -> str:
    """A time or median with its unit: "13.8 months", "NR" when not reached."""
    return estimate(x, decimals=decimals, unit=unit)


def figure(value: float | None, kind: str) -> str:
    """A figure by its kind: ``count``, ``p``, ``ratio`` (2 decimals), ``time`` (1 decimal,
    "NR" when not reached), ``percent`` (1 decimal, no sign), ``exact`` (up to 6 significant
    digits, to set beside a reference's own digits), anything else 2 decimals."""
    if kind == "exact" and not _missing(value) and math.isfinite(float(value)):
        return f"{float(value):.6g}"
    if kind == "count":
        return count(value)
    if kind == "p":
        return p_value(value)
    return number(value, 1 if kind in ("time", "percent") else 2)


# --------------------------------------------------------------------------- tables

class _Row:
    """Named access to the fields a composite column reads (for :func:`derived`)."""

    def __init__(self, values: Mapping[str, object]) -> None:
        self.__dict__.update(values)


#: How a column's values are shown. Each takes the value (for a composite column, the tuple
#: of its fields' values) and the column's decimals and unit.
_KINDS: dict[str, Callable[[object, int, str], str]] = {
    "text": lambda x, d, u: "" if _missing(x) else str(x),
    "count": lambda x, d, u: count(x),  # type: ignore[arg-type]
    "number": lambda x, d, u: number(x, d),  # type: ignore[arg-type]
    "estimate": lambda x, d, u: number(x, d, missing=NOT_ESTIMABLE),  # type: ignore[arg-type]
    "signed": lambda x, d, u: number(x, d, signed=True),  # type: ignore[arg-type]
    "finite": lambda x, d, u: finite(x, d),  # type: ignore[arg-type]
    "p": lambda x, d, u: p_value(x),  # type: ignore[arg-type]
    "percent": lambda x, d, u: percent(x, d),  # type: ignore[arg-type]
    "yesno": lambda x, d, u: "" if _missing(x) else ("yes" if bool(x) else "no"),
    # composite: fields (value, lower, upper), (low, high), or those of a check
    "interval": lambda x, d, u: estimate(*x, decimals=d, unit=u),  # type: ignore[misc]
    "range": lambda x, d, u: interval(*x, decimals=d) + (f" {u}" if u and not any(
        map(_missing, x)) else ""),  # type: ignore[misc]
    "derived": lambda x, d, u: derived(_Row(dict(zip(DERIVED_FIELDS, x, strict=True)))),
    # composite: (value, the kind of figure it is), for a column of mixed figures
    "figure": lambda x, d, u: figure(*x),  # type: ignore[misc]
}
#: The fields of a check that :func:`derived` reads.
DERIVED_FIELDS = ("kind", "value", "low", "high", "range", "n", "verdict")


@dataclass(frozen=True)
class Column:
    """How one column of a :class:`Table` is labelled and shown.

    ``kind`` is one of ``text``, ``count``, ``number``, ``estimate`` (NaN is "not
    estimable"), ``signed``, ``finite`` (inf is "not finite"), ``p``, ``percent`` (values
    in percent) and ``yesno``; or, for a column shown from several data columns named in
    ``fields``: ``interval`` (value, lower, upper: "0.62 (0.47 to 0.82)"), ``range`` (low,
    high) and ``derived`` (the fields of a consistency check, :data:`DERIVED_FIELDS`).
    ``unit`` follows the figure.
    """

    label: str
    kind: str = "text"
    decimals: int = 2
    fields: tuple[str, ...] = ()
    unit: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}; one of {', '.join(_KINDS)}")

    def show(self, value: object) -> str:
        return _KINDS[self.kind](value, self.decimals, self.unit)


@dataclass(frozen=True)
class Table:
    """A table of numbers and how to show them.

    ``data`` keeps the values (numbers stay numbers: downloads and tests read them);
    ``columns`` maps the data's column names, in the order shown, to their :class:`Column`.
    Shown as an HTML table with labels for headers, no index column and every row and cell
    in full; a table longer than ``fold`` rows is folded (one click opens it), never cut.
    """

    data: pd.DataFrame
    columns: Mapping[str, Column]
    caption: str = ""
    fold: int = 40
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        needed = [f for key, c in self.columns.items() for f in (c.fields or (key,))]
        missing = [c for c in dict.fromkeys(needed) if c not in self.data.columns]
        if missing:
            raise KeyError(f"table {self.name or self.caption!r} has no column(s) {missing}")

    def __len__(self) -> int:
        return len(self.data)

    @property
    def empty(self) -> bool:
        return self.data.empty

    def text(self) -> pd.DataFrame:
        """The shown table: labelled columns of text, a plain 0..n-1 index that is not shown."""
        def values(key: str, col: Column) -> list:
            if col.fields:
                return list(zip(*(self.data[f] for f in col.fields), strict=True))
            return list(self.data[key])

        return pd.DataFrame({col.label: [col.show(v) for v in values(key, col)]
                             for key, col in self.columns.items()}, index=range(len(self.data)))

    def tidy(self) -> pd.DataFrame:
        """The numbers, every data column, for CSV and Excel downloads.

        A column shown as itself takes its label; the rest keep their names, so that an
        interval's bounds and a check's range are there as numbers.
        """
        labels = {k: c.label for k, c in self.columns.items() if not c.fields}
        return self.data.rename(columns=labels).reset_index(drop=True)

    def _repr_html_(self) -> str:
        numeric = {c.label for c in self.columns.values() if c.kind != "text"}
        shown = self.text()

        def cell(tag: str, column: str, text: str) -> str:
            # Inline: JupyterLab's and nbconvert's styles right-align every cell.
            align = (' class="num" style="text-align: right"' if column in numeric
                     else ' style="text-align: left"')
            return f"<{tag}{align}>{html.escape(text)}</{tag}>"

        head = "".join(cell("th", c, c) for c in shown.columns)
        body = "".join("<tr>" + "".join(cell("td", c, v) for c, v in zip(
            shown.columns, row, strict=True)) + "</tr>" for row in shown.itertuples(index=False))
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        table = (f'<table class="trialrecon">{caption}<thead><tr>{head}</tr></thead>'
                 f"<tbody>{body}</tbody></table>")
        if len(shown) > self.fold:
            return (f'<details class="trialrecon-fold"><summary>Show the table '
                    f"({len(shown)} rows)</summary>{table}</details>")
        return table

    def __repr__(self) -> str:
        return self.text().to_string(index=False)


# --------------------------------------------------------------------------- derived figures

def _bound(kind: str, x: float) -> str:
    if math.isinf(x):
        return "no bound" if x > 0 else "no bound below"
    return {"se": lambda v: number(v, 4), "log": lambda v: number(v, 3, signed=True),
            "p": p_value, "events": count, "count": count, "percent": lambda v: percent(v, 1),
            "points": lambda v: number(v, 1, signed=True), "shape": lambda v: number(v, 2),
            }.get(kind, lambda v: number(v, 2))(x)


def derived(check: object) -> str:
    """A consistency check's derived figure as text, from its numbers.

    ``check`` has the fields of :class:`trialrecon.summary.Check` (a Check, or a row of
    :func:`trialrecon.summary.check_table`): ``kind``, ``value``, ``low``, ``high``,
    ``range`` and ``n``.

    >>> from trialrecon.summary import Check
    >>> derived(Check("x", "p", "0.01", 0.0123, "consistent", "", kind="p", low=0.008,
    ...               high=0.019, range="rounding"))
    '0.012 (rounding: 0.0080 to 0.019)'
    """
    kind, value = check.kind, check.value  # type: ignore[attr-defined]
    low, high = check.low, check.high  # type: ignore[attr-defined]
    label, n = check.range, check.n  # type: ignore[attr-defined]
    of = "" if _missing(n) else f" of {count(n)}"
    if kind == "exact-ci":
        return f"{percent(low, 1)} to {percent(high, 1)} for {count(value)}{of}"
    if _missing(value):
        # A percentage no count can round to has a verdict; an unprinted one has none.
        testable = getattr(check, "verdict", "") != "not testable"
        if kind == "shape":
            return "none meaningful"
        return "no count fits" if kind == "count" and testable else "not computable"
    if kind == "count":
        counts = count(low) if low == high else f"{count(low)} to {count(high)}"
        return counts + of
    main = "not defined" if math.isinf(value) else _bound(kind, value)
    if kind == "shape":
        main = f"k = {main}"
    elif kind == "points":
        main += " points"
    if _missing(low) or _missing(high):
        return main
    return f"{main} ({label + ': ' if label else ''}{_bound(kind, low)} to {_bound(kind, high)})"
