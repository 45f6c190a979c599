"""The packing slip that goes into the carton: who it is from and for, the order number as text
and as a Code 128 (so a returns clerk can scan it off the slip), every line with its SKU, title
and quantity, and the boxes with their tracking numbers once the labels are bought.

A4 or Letter; a long order flows onto more pages with the column heads repeated and the order
number on every page. Text is set in DejaVu Sans when the system has it, else the Vera font
reportlab ships, both embedded: customer names and product titles are not all Latin-1, which
the PDF base fonts cannot show.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

Paper = Literal["A4", "Letter"]
PAPERS: dict[str, tuple[float, float]] = {"A4": A4, "Letter": LETTER}
# Countries whose offices feed US Letter; everyone else prints A4.
_LETTER_COUNTRIES = frozenset(
    {"US", "CA", "MX", "PH", "PR", "CL", "CO", "VE", "GT", "CR", "PA", "DO", "SV"}
)


@dataclass(frozen=True, slots=True)
class SlipLine:
    sku: str
    title: str
    qty: int


@dataclass(frozen=True, slots=True)
class SlipPackage:
    box_no: int
    carrier: str
    service: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class PackingSlip:
    order_number: str
    ship_from: tuple[str, ...]  # address lines, name first
    ship_to: tuple[str, ...]
    lines: tuple[SlipLine, ...]
    ordered_at: datetime | None = None
    channel: str = ""
    customer_reference: str = ""  # the channel's own order id: what the customer knows
    boxes: int | None = None  # cartons packed, when the bench has reported them
    packages: tuple[SlipPackage, ...] = ()  # bought labels (voided ones left out)


def paper_for(country: str) -> Paper:
    return "Letter" if country.strip().upper() in _LETTER_COUNTRIES else "A4"


# Table layouts: text blocks flush left and top-aligned; the lines ruled under the heads.
_FLUSH: list[tuple[Any, ...]] = [
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
]
_RULED: list[tuple[Any, ...]] = [
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
    ("LINEBELOW", (0, 1), (-1, -2), 0.25, colors.lightgrey),
    ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
]
_font_lock = threading.Lock()
_fonts: tuple[str, str] | None = None


def _font_names() -> tuple[str, str]:
    """(regular, bold) font names, registered once per process (reportlab's registry is global)."""
    global _fonts
    with _font_lock:
        if _fonts is None:
            for family, regular, bold in (("DejaVuSans", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
                                          ("Vera", "Vera.ttf", "VeraBd.ttf")):  # fmt: skip
                try:
                    pdfmetrics.registerFont(TTFont(f"Slip-{family}", regular))
                    pdfmetrics.registerFont(TTFont(f"Slip-{family}-Bold", bold))
                except (TTFError, OSError):
                    continue
                _fonts = (f"Slip-{family}", f"Slip-{family}-Bold")
                break
            else:  # no TrueType font at all: Latin-1 only, but still a slip
                _fonts = ("Helvetica", "Helvetica-Bold")
        return _fonts


def _barcode(payload: str) -> Code128 | None:
    """0.4 mm bars read at arm's length; a long number gets thinner bars (not under 0.25 mm)
    to stay within 85 mm. Code 128 carries ASCII only: anything else is printed as text only."""
    if not payload or not payload.isascii() or not payload.isprintable():
        return None
    bars = Code128(payload, barWidth=0.4 * mm, barHeight=14 * mm, quiet=True, humanReadable=False)
    if bars.width > 85 * mm:
        thinner = max(0.25 * mm, 0.4 * mm * 85 * mm / bars.width)
        bars = Code128(payload, barWidth=thinner, barHeight=14 * mm, quiet=True,
                       humanReadable=False)  # fmt: skip
    return bars


def render(slip: PackingSlip, *, paper: Paper = "A4") -> bytes:
    regular, bold = _font_names()
    body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.grey)
    head = ParagraphStyle("head", parent=body, fontName=bold)
    title = ParagraphStyle("title", parent=body, fontName=bold, fontSize=18, leading=22)
    size = PAPERS[paper]
    width = size[0] - 30 * mm

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    def address(heading: str, lines: Sequence[str]) -> list[Paragraph]:
        return [para(heading, small), *(para(x, head if i == 0 else body)
                                         for i, x in enumerate(lines) if x)]  # fmt: skip

    facts = [f"Order {slip.order_number}"]
    if slip.customer_reference:
        facts.append(f"Your reference: {slip.customer_reference}")
    if slip.channel:
        facts.append(f"Ordered via {slip.channel}")
    if slip.ordered_at is not None:
        facts.append(f"Ordered on {slip.ordered_at:%Y-%m-%d}")
    bars = _barcode(slip.order_number)
    bars_width = bars.width if bars is not None else 0
    top = Table(
        [[[para("Packing slip", title), *(para(x) for x in facts)], bars or ""]],
        colWidths=[width - bars_width - 4 * mm, bars_width + 4 * mm],
        style=TableStyle([*_FLUSH, ("ALIGN", (1, 0), (1, 0), "RIGHT")]),
    )
    addresses = Table(
        [[address("From", slip.ship_from), address("Ship to", slip.ship_to)]],
        colWidths=[width / 2, width / 2],
        style=TableStyle(_FLUSH),
    )
    rows: list[list[Any]] = [[para("SKU", head), para("Item", head), para("Qty", head)]]
    rows += [[para(x.sku), para(x.title), para(str(x.qty))] for x in slip.lines]
    rows.append(["", para("Units", head), para(str(sum(x.qty for x in slip.lines)), head)])
    lines = Table(
        rows, colWidths=[45 * mm, width - 65 * mm, 20 * mm], repeatRows=1,
        style=TableStyle(_RULED),
    )  # fmt: skip
    story: list[Any] = [top, Spacer(1, 6 * mm), addresses, Spacer(1, 8 * mm), lines]
    boxes = len(slip.packages) or slip.boxes
    if boxes:
        story += [Spacer(1, 8 * mm), para(f"Boxes: {boxes}", head)]
    for package in slip.packages:
        service = " ".join(x for x in (package.carrier, package.service) if x)
        story.append(para(f"Box {package.box_no}: {service} — tracking {package.tracking_number}"))

    def stamp(canvas: Any, doc: Any) -> None:
        # The order number and page on every page: a loose second page still finds its carton.
        canvas.saveState()
        canvas.setFont(regular, 8)
        canvas.drawRightString(size[0] - 15 * mm, 10 * mm,
                               f"{slip.order_number} · page {doc.page}")  # fmt: skip
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=size, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
        bottomMargin=18 * mm, title=f"Packing slip {slip.order_number}", author="packline",
    )  # fmt: skip
    doc.build(story, onFirstPage=stamp, onLaterPages=stamp)
    return out.getvalue()
