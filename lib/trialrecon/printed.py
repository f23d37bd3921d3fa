"""Numbers as a publication printed them: value, interval and the digits they carry.

A consistency check must know the rounding of a printed figure ("0.30" is not "0.3"),
so the registry stores estimates as the printed text and parses them here.

Texts are bounded before they are parsed: a printed figure or p-value longer than
:data:`MAX_LENGTH` characters, or a number with more than :data:`MAX_DIGITS` digits before or
after the decimal point, is refused (no publication prints one, and the bound keeps every
derived figure finite). Error messages quote at most :data:`QUOTE_LENGTH` characters of the
text (:func:`quote`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Longest text read as a printed figure or p-value ("not estimable (not estimable-not
#: estimable)" has 43 characters); longer texts are refused before any regex runs.
MAX_LENGTH = 200
#: Most digits a printed number may carry before, and after, its decimal point. Within it
#: every ratio and product of two printed numbers stays a finite, non-zero float.
MAX_DIGITS = 15
#: Characters of a bad text that an error message quotes.
QUOTE_LENGTH = 60

# Texts are stripped and matched whole (fullmatch): no unanchored whitespace runs at either
# end, whose backtracking made the former patterns quadratic in the length of the text.
_NUM = r"(?:\d+(?:\.\d+)?|\.\d+)"
_NR = r"(?:NR|NE|NA|not reached|not estimable|not evaluable)"
_PRINTED = re.compile(
    rf"(?P<value>{_NUM}|{_NR})\s*"
    rf"(?:\(\s*(?P<lower>{_NUM}|{_NR})\s*(?:-|–|—|to|,)\s*(?P<upper>{_NUM}|{_NR})\s*\))?",
    re.IGNORECASE,
)
_PVALUE = re.compile(rf"(?P<op><=|<|=|≤)?\s*(?P<num>{_NUM}(?:[eE]-?\d+)?)")


def quote(text: object, limit: int = QUOTE_LENGTH) -> str:
    """``repr`` of a value for an error message, cut to ``limit`` characters of its text.

    A user's bad value may be megabytes long (or an integer too long for ``str``); a message
    names it, it does not echo it.
    """
    try:
        raw = text if isinstance(text, str) else str(text)
    except ValueError:  # int beyond sys.get_int_max_str_digits()
        return "<a number too long to print>"
    if len(raw) <= limit:
        return repr(raw)
    return repr(raw[:limit]) + f"... ({len(raw)} characters)"


def _bounded(text: object, what: str) -> str:
    """The text of a printed value, refused when too long to be one."""
    try:
        raw = text if isinstance(text, str) else str(text)
    except ValueError:
        raise ValueError(f"{quote(text)} is too long to be a printed {what}") from None
    if len(raw) > MAX_LENGTH:
        raise ValueError(f"{quote(raw)} is too long to be a printed {what} "
                         f"(at most {MAX_LENGTH} characters)")
    return raw


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def half_unit(decimals: int | None) -> float:
    """Half a unit of the last printed digit: every true value within it prints the same.

    The one definition of "within rounding": 0.005 for two decimals, 0.5 for none; 0 where
    nothing was printed (``decimals`` None).
    """
    return 0.0 if decimals is None else 0.5 * 10.0 ** (-decimals)


def printed_decimals(value: object) -> int | None:
    """Decimals of a number as written: text keeps them (``"44.0"``: 1); a float (typed in
    Python) gives those of its shortest form, which drops a trailing zero. In e-notation the
    exponent shifts them (``"1e-07"``: 7, ``"2.5e3"``: -2). None for what is no number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = value.strip() if isinstance(value, str) else repr(value)
    if isinstance(value, float) and text.endswith(".0"):
        text = text[:-2]
    match = re.fullmatch(r"[+-]?\d+(?:\.(\d+))?(?:[eE]([+-]?\d+))?", text)
    if match is None:
        return None
    return len(match.group(1) or "") - int(match.group(2) or 0)


@dataclass(frozen=True)
class Printed:
    """A printed estimate with an optional interval, e.g. ``"8.4 (7.6-12.7)"``.

    Attributes
    ----------
    text
        The text as printed.
    value, lower, upper
        Parsed numbers; ``None`` where printed as not reached / not estimable (NR, NE),
        or where no interval was printed.
    decimals
        Decimal places of each printed number, in the order value, lower, upper.
    """

    text: str
    value: float | None
    lower: float | None = None
    upper: float | None = None
    decimals: tuple[int | None, int | None, int | None] = (None, None, None)

    @property
    def reached(self) -> bool:
        """False when the point estimate was printed as not reached (NR)."""
        return self.value is not None

    def half_unit(self, which: str = "value") -> float:
        """Half a unit of the last printed digit: the largest rounding error of that number."""
        index = ("value", "lower", "upper").index(which)
        return half_unit(self.decimals[index])

    def bounds(self, which: str = "value") -> tuple[float, float]:
        """The interval of true values that round to the printed number."""
        x = getattr(self, which)
        if x is None:
            return (math.nan, math.nan)
        h = self.half_unit(which)
        return (x - h, x + h)

    def __str__(self) -> str:
        return self.text


def parse_printed(text: str | float | int) -> Printed:
    """Parse ``"0.38 (0.25-0.59)"``, ``"13.8"``, ``"NR"`` or ``"21.4 (18.7-NE)"``.

    Raises
    ------
    ValueError
        If the text is not a number optionally followed by an interval in brackets.
    """
    raw = _bounded(text, "estimate")
    match = _PRINTED.fullmatch(raw.strip())
    if not match:
        raise ValueError(
            f"cannot read {quote(raw)} as a printed estimate; write it as the paper prints it, "
            "for example '0.38 (0.25-0.59)', '13.8' or 'NR'"
        )

    def number(part: str | None) -> tuple[float | None, int | None]:
        if part is None or re.fullmatch(_NR, part, re.IGNORECASE):
            return None, None
        whole, _, fraction = part.partition(".")
        if max(len(whole), len(fraction)) > MAX_DIGITS:
            raise ValueError(
                f"{quote(part)} in {quote(raw)} has more digits than a printed figure carries "
                f"(at most {MAX_DIGITS} before and after the decimal point)")
        return float(part), _decimals(part)

    value, dv = number(match["value"])
    lower, dl = number(match["lower"])
    upper, du = number(match["upper"])
    return Printed(raw.strip(), value, lower, upper, (dv, dl, du))


@dataclass(frozen=True)
class PrintedP:
    """A printed p-value: an exact value (``"0.0002"``) or a bound (``"<0.001"``).

    Attributes
    ----------
    text
        As printed.
    value
        The number printed.
    bound
        ``True`` when printed as an upper bound ("<0.001"): the p-value is below ``value``.
    sided
        1 or 2; a one-sided p-value is doubled by :meth:`two_sided`.
    """

    text: str
    value: float
    bound: bool
    sided: int = 2

    def two_sided(self) -> tuple[float, float]:
        """The range of two-sided p-values that the printed figure allows.

        An exact print covers half a unit of its last digit either way: "0.04" is 0.035 to
        0.045, "0.000" is 0 to 0.0005, "0" is 0 to 0.5, "2e-5" is 1.5e-5 to 2.5e-5.
        """
        factor = 2.0 if self.sided == 1 else 1.0
        if self.bound:
            return (0.0, min(1.0, self.value * factor))
        mantissa, _, exponent = self.text.lower().partition("e")
        digits = len(mantissa.split(".")[-1]) if "." in mantissa else 0
        half = 0.5 * 10.0 ** (int(exponent or 0) - digits)
        return (max(0.0, (self.value - half) * factor), min(1.0, (self.value + half) * factor))


def parse_p(text: str | float, sided: int = 2) -> PrintedP:
    """Parse a printed p-value such as ``"<0.001"``, ``"0.005"`` or ``"=0.0002"``.

    Raises
    ------
    ValueError
        If the text is not a p-value (longer than :data:`MAX_LENGTH` characters, unreadable,
        or outside [0, 1]); the message quotes at most :data:`QUOTE_LENGTH` characters of it.
    """
    raw = _bounded(text, "p-value").strip()
    match = _PVALUE.fullmatch(raw.replace("P", "").replace("p", "").strip())
    if not match:
        raise ValueError(f"cannot read {quote(raw)} as a p-value; "
                         "write for example '<0.001' or '0.005'")
    value = float(match["num"])
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"p-value {quote(raw)} is outside [0, 1]")
    if value == 0.0 and any(c in "123456789" for c in match["num"].lower().partition("e")[0]):
        raise ValueError(f"p-value {quote(raw)} is too small to compute with (below 1e-308); "
                         "write it as '<1e-300'")
    if sided not in (1, 2):
        raise ValueError("sided must be 1 or 2")
    op = match["op"] or "="
    return PrintedP(match["num"], value, op in ("<", "<=", "≤"), sided)
