"""Printable sheets of the floor's command cards: what a gloved hand scans instead of typing.

One PDF (A4 or Letter), one group per page run: the packing bench's box types, the dispatch
door's cards (a pickup card per carrier, close, reprint, void), the returns desk's condition
and triage decision cards, and the reason cards that short picks, overrides, approvals and
voids take. Each card is a Code 128 of its exact text, big words above it and the text below,
inside a dashed line to cut along.

Every card text comes from the module that reads it (station.work.scan's prefixes, the box
table, the door's `pickup_card`, shared.labels.returns), and the test decodes every printed
barcode and feeds it through the same parsers, so a printed card cannot drift from the code.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shared.contract.returns import CONDITIONS
from shared.labels.returns import (
    CONDITION_WORDS,
    DECISION_WORDS,
    DECISIONS,
    condition_card_text,
    decision_card_text,
)
from station.devices.pdf_barcode import code128_width, draw_code128, printable_problem
from station.work.boxes import DEFAULT_BOX_TYPES, BoxType
from station.work.dispatch import CLOSE_CARD, REPRINT_CARD, VOID_CARD, pickup_card
from station.work.scan import REASON_PREFIX

Paper = Literal["a4", "letter"]
PAGE_SIZES: dict[Paper, tuple[float, float]] = {"a4": A4, "letter": LETTER}


@dataclass(frozen=True, kw_only=True)
class Card:
    text: str  # exactly what the barcode carries
    words: str  # big, what a person reads from a metre away
    hint: str  # small: where and when it is scanned


@dataclass(frozen=True, kw_only=True)
class CardGroup:
    title: str
    note: str
    cards: tuple[Card, ...]


@dataclass(frozen=True, kw_only=True)
class ReasonCard:
    code: str  # after REASON-: what the event / approval records
    words: str
    use: str


# The floor's standard reasons. Any REASON-<CODE> card is read (the code is recorded as it is),
# so this list is what gets printed, not a limit on what a site may add.
FLOOR_REASONS: tuple[ReasonCard, ...] = (
    ReasonCard(code="NOT-FOUND", words="NOT FOUND", use="Short pick: not in the bin"),
    ReasonCard(code="EMPTY-BIN", words="BIN EMPTY", use="Short pick: the bin is empty"),
    ReasonCard(code="DAMAGED", words="DAMAGED", use="Short pick: only damaged units left"),
    ReasonCard(code="LABEL-DAMAGED", words="LABEL DAMAGED",
               use="Override or void: barcode unreadable, checked by eye"),
    ReasonCard(code="CATALOG-WEIGHT", words="CATALOG WEIGHT WRONG",
               use="Override: the scale is right, the catalog is not"),
    ReasonCard(code="CHECKED", words="CHECKED", use="Approval: I checked it myself"),
    ReasonCard(code="NOT-JUSTIFIED", words="NOT JUSTIFIED", use="Approval: refused, no good cause"),
    ReasonCard(code="ADDRESS-CHANGED", words="ADDRESS CHANGED", use="Void: the address changed"),
    ReasonCard(code="ORDER-CANCELLED", words="ORDER CANCELLED", use="Void: the order is cancelled"),
    ReasonCard(code="WRONG-SERVICE", words="WRONG SERVICE",
               use="Void: wrong carrier or service bought"),
)  # fmt: skip


def parse_carriers(text: str | None) -> tuple[str, ...]:
    """`--carriers UPS,USPS,DHL Express` -> each once (the door ignores case), in the given
    order. ValueError, in words, for a name the door would not read from its card."""
    seen: dict[str, str] = {}
    for part in (text or "").split(","):
        name = part.strip()
        if name:
            pickup_card(name)  # raises for a name that cannot be a card
            seen.setdefault(name.casefold(), name)
    return tuple(seen.values())


def floor_cards(
    *, carriers: Sequence[str], box_types: Iterable[BoxType] = DEFAULT_BOX_TYPES.values()
) -> tuple[CardGroup, ...]:
    dispatch = [
        *(
            Card(text=pickup_card(c), words=f"{c.upper()} PICKUP", hint=f"Opens the {c} pickup")
            for c in carriers
        ),
        Card(text=CLOSE_CARD, words="CLOSE PICKUP", hint="When the truck leaves"),
        Card(text=REPRINT_CARD, words="REPRINT LABEL", hint="Then scan the carton"),
        Card(text=VOID_CARD, words="VOID LABEL", hint="Then the carton, then a reason card"),
    ]
    no_carriers = "" if carriers else " No carrier cards: print again with --carriers UPS,USPS"
    return (
        CardGroup(
            title="Packing bench: box types",
            note="Scan the box type when a box is started.",
            cards=tuple(
                Card(text=b.code, words=b.name.upper(), hint=f"Box type (tare {b.tare_g} g)")
                for b in box_types
            ),
        ),
        CardGroup(
            title="Dispatch door",
            note="Scan the carrier's card when its truck arrives, then each carton." + no_carriers,
            cards=tuple(dispatch),
        ),
        CardGroup(
            title="Returns desk",
            note="Condition of each returned unit; triage decides where it goes.",
            cards=(
                *(
                    Card(
                        text=condition_card_text(c),
                        words=CONDITION_WORDS[c],
                        hint="Returns: condition of the unit",
                    )
                    for c in CONDITIONS
                ),
                *(
                    Card(
                        text=decision_card_text(d),
                        words=DECISION_WORDS[d],
                        hint="Triage: decision for the unit",
                    )
                    for d in DECISIONS
                ),
            ),
        ),
        CardGroup(
            title="Reason cards",
            note="Short picks, supervisor overrides, approvals and voids at the door.",
            cards=tuple(
                Card(text=REASON_PREFIX + r.code, words=r.words, hint=r.use) for r in FLOOR_REASONS
            ),
        ),
    )


# -- layout (points) --------------------------------------------------------------------------
_MARGIN = 12 * mm
_HEADER = 16 * mm
_FOOTER = 8 * mm
_COLUMNS = 2
_CARD_HEIGHT = 46 * mm
_PAD = 4 * mm
_BAR_HEIGHT = 16 * mm
# Module widths tried, widest first: wide bars read from further away and off a worn card;
# below 0.25 mm (about 10 mil) an office laser print stops reading reliably at arm's length.
_MODULES: tuple[float, ...] = tuple(m * mm for m in (0.5, 0.45, 0.4, 0.35, 0.3, 0.25))
# Code 128's quiet zone is 10 modules each side (ISO/IEC 15417); reportlab's 1/4 inch default
# would cost a long carrier name its card. The card's own margin adds to it.
_QUIET_MODULES = 10
FOOTER_TEXT = "Print at 100 % (no 'fit to page'). Cut along the dashed lines."


def module_width(text: str, *, room: float) -> float:
    """The widest bar module at which `text` fits `room` points, quiet zones included."""
    for module in _MODULES:
        if code128_width(text, bar_width=module, quiet=_QUIET_MODULES * module) <= room:
            return module
    raise ValueError(f"{text!r} is too long to fit on a card: use a shorter name")


def render_card_sheets(
    *, groups: Sequence[CardGroup], paper: Paper = "a4", compress: bool = True
) -> bytes:
    for group in groups:
        for card in group.cards:
            problem = printable_problem(card.text)
            if problem is not None:
                raise ValueError(problem)
    width, height = PAGE_SIZES[paper]
    card_width = (width - 2 * _MARGIN) / _COLUMNS
    rows = int((height - 2 * _MARGIN - _HEADER - _FOOTER) // _CARD_HEIGHT)
    per_page = rows * _COLUMNS
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1 if compress else 0)
    canvas.setTitle("packline floor cards")
    for group in groups:
        pages = [group.cards[i : i + per_page] for i in range(0, len(group.cards), per_page)]
        for n, page in enumerate(pages or [()], start=1):
            more = f"  ({n}/{len(pages)})" if len(pages) > 1 else ""
            canvas.setFont("Helvetica-Bold", 16)
            canvas.drawString(_MARGIN, height - _MARGIN - 6 * mm, group.title + more)
            canvas.setFont("Helvetica", 9)
            canvas.drawString(_MARGIN, height - _MARGIN - 12 * mm, group.note)
            canvas.drawString(_MARGIN, _MARGIN, FOOTER_TEXT)
            top = height - _MARGIN - _HEADER
            for i, card in enumerate(page):
                row, column = divmod(i, _COLUMNS)
                _draw_card(
                    canvas,
                    card,
                    x=_MARGIN + column * card_width,
                    top=top - row * _CARD_HEIGHT,
                    width=card_width,
                )
            canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def write_card_sheets(*, path: Path, carriers: Sequence[str], paper: Paper = "a4") -> int:
    """Writes the sheets; answers how many cards they hold."""
    groups = floor_cards(carriers=carriers)
    path.write_bytes(render_card_sheets(groups=groups, paper=paper))
    return sum(len(g.cards) for g in groups)


def _draw_card(canvas: Canvas, card: Card, *, x: float, top: float, width: float) -> None:
    canvas.saveState()
    canvas.setDash(3, 3)
    canvas.setLineWidth(0.5)
    canvas.rect(x, top - _CARD_HEIGHT, width, _CARD_HEIGHT)
    canvas.restoreState()
    room = width - 2 * _PAD
    size = _fit(canvas, card.words, font="Helvetica-Bold", size=24, room=room)
    canvas.setFont("Helvetica-Bold", size)
    canvas.drawString(x + _PAD, top - _PAD - 8 * mm, card.words)
    canvas.setFont("Helvetica", _fit(canvas, card.hint, font="Helvetica", size=9, room=room))
    canvas.drawString(x + _PAD, top - _PAD - 13 * mm, card.hint)
    module = module_width(card.text, room=room)
    quiet = _QUIET_MODULES * module
    symbol_width = code128_width(card.text, bar_width=module, quiet=quiet)
    bar_top = top - _PAD - 15.5 * mm
    drawn = draw_code128(
        canvas,
        card.text,
        x=x + (width - symbol_width) / 2,
        top=bar_top,
        bar_height=_BAR_HEIGHT,
        bar_width=module,
        quiet=quiet,
    )
    canvas.setFont("Courier", 9)
    canvas.drawCentredString(x + width / 2, bar_top - drawn - 4 * mm, card.text)


def _fit(canvas: Canvas, text: str, *, font: str, size: float, room: float) -> float:
    """The largest size up to `size` at which `text` fits `room` (never below 6 pt)."""
    while size > 6 and canvas.stringWidth(text, font, size) > room:
        size -= 1
    return size
