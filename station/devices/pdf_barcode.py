"""Code 128 on a reportlab PDF canvas: the one way the station's printed sheets (scanner setup,
floor command cards) draw a barcode.

reportlab's Code128 silently drops characters outside ASCII (and reads \\xf1-\\xf4 as FNC
codes), so a sheet could print a barcode that scans as something other than the words beside
it. Text is checked here first and refused in words instead.
"""

from __future__ import annotations

from reportlab.graphics.barcode.code128 import Code128
from reportlab.pdfgen.canvas import Canvas


def printable_problem(value: str) -> str | None:
    """Why `value` cannot be printed as a Code 128 of exactly that text, or None."""
    if not value:
        return "an empty barcode"
    bad = sorted({c for c in value if not " " <= c <= "~"})
    if bad:
        return f"{value!r} has characters a Code 128 card cannot carry: {''.join(bad)!r}"
    return None


def code128(
    value: str, *, bar_height: float, bar_width: float, quiet: float | None = None
) -> Code128:
    """The symbol, with its quiet zones (included in `.width`): `quiet` each side, else
    reportlab's default (the larger of 1/4 inch and 10 modules). Raises ValueError on text that
    would not scan back as itself."""
    problem = printable_problem(value)
    if problem is not None:
        raise ValueError(problem)
    zones = {} if quiet is None else {"lquiet": quiet, "rquiet": quiet}
    return Code128(value, barHeight=bar_height, barWidth=bar_width, humanReadable=False, **zones)


def code128_width(value: str, *, bar_width: float, quiet: float | None = None) -> float:
    """Width the symbol needs at this module width, quiet zones included."""
    return float(code128(value, bar_height=1.0, bar_width=bar_width, quiet=quiet).width)


def draw_code128(
    canvas: Canvas,
    value: str,
    *,
    x: float,
    top: float,
    bar_height: float,
    bar_width: float,
    quiet: float | None = None,
) -> float:
    """Draw with its top-left corner (left quiet zone included) at (x, top); returns its height."""
    symbol = code128(value, bar_height=bar_height, bar_width=bar_width, quiet=quiet)
    symbol.drawOn(canvas, x, top - symbol.height)
    return float(symbol.height)
