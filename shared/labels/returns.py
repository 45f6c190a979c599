"""The returns desk's own cards: one condition card per condition, one decision card per triage
decision, one label per quarantine bin, and a label per returned unit (its license plate, so
triage finds exactly that unit among look-alikes).

Each is a Code 128 barcode with its text printed under it, so a clerk in gloves scans the card
and anyone can read what it says. The card texts are defined here and read back by the station
(`condition_from_card`, `decision_from_card`, `unit_from_label`), so what is printed and what is
recognised cannot drift apart.
"""

from __future__ import annotations

import re

from shared.contract.returns import CONDITIONS, Condition, Decision
from shared.labels.zpl_text import field as _field

CONDITION_PREFIX = "COND-"
DECISION_PREFIX = "TRIAGE-"
# A returned unit's label: the server's unit id, zero-padded like RMA numbers.
UNIT_LABEL = re.compile(r"RTN-([0-9]{7,12})")
# The floor's bin-card prefix (station/work/scan.py BIN_PREFIX reads it; a test checks both).
BIN_PREFIX = "BIN-"

CONDITION_WORDS: dict[Condition, str] = {
    "sellable": "SELLABLE",
    "opened": "OPENED",
    "damaged": "DAMAGED",
    "wrong_item": "WRONG ITEM",
    "missing_parts": "MISSING PARTS",
}


def condition_card_text(condition: Condition) -> str:
    return CONDITION_PREFIX + condition.upper().replace("_", "-")


_BY_CARD: dict[str, Condition] = {condition_card_text(c): c for c in CONDITIONS}


def condition_from_card(text: str) -> Condition | None:
    """The condition a scanned card names, or None when the text is not a condition card."""
    return _BY_CARD.get(text.strip())


# In the order the cards are printed (a test checks it is every Decision of the contract).
DECISIONS: tuple[Decision, ...] = ("restock", "damaged", "scrap", "vendor")
DECISION_WORDS: dict[Decision, str] = {
    "restock": "RESTOCK",
    "damaged": "DAMAGED BIN",
    "scrap": "SCRAP",
    "vendor": "RETURN TO VENDOR",
}
_DECISION_HINTS: dict[Decision, str] = {
    "restock": "Triage: back to stock, then scan the shelf bin",
    "damaged": "Triage: into the damaged area",
    "scrap": "Triage: written off",
    "vendor": "Triage: back to the supplier",
}


def decision_card_text(decision: Decision) -> str:
    return DECISION_PREFIX + decision.upper()


_BY_DECISION_CARD: dict[str, Decision] = {decision_card_text(d): d for d in DECISIONS}


def decision_from_card(text: str) -> Decision | None:
    """The decision a scanned card names, or None when the text is not a decision card."""
    return _BY_DECISION_CARD.get(text.strip())


def unit_label_text(unit_id: int) -> str:
    return f"RTN-{unit_id:07d}"


def unit_from_label(text: str) -> int | None:
    """The returned unit a scanned unit label names, or None when it is not one."""
    found = UNIT_LABEL.fullmatch(text.strip())
    return int(found.group(1)) if found else None


def bin_label_text(code: str) -> str:
    return BIN_PREFIX + code


def _card(*, title: str, subtitle: str, barcode: str) -> bytes:
    """A 4x3 inch card at 203 dpi (812 x 609 dots): big words on top, the barcode below with its
    text (the ^BC interpretation line), wide enough to read from across a desk."""
    rows = [
        "^XA",
        "^CI28",
        "^PW812",
        "^LL609",
        f"^FO40,40^A0N,90,90^FH^FD{_field(title)}^FS",
        f"^FO40,150^A0N,36,36^FH^FD{_field(subtitle)}^FS",
        f"^FO60,260^BY3^BCN,200,Y,N,N^FH^FD{_field(barcode)}^FS",
        "^XZ",
    ]
    return "\n".join(rows).encode("utf-8")


def condition_card(condition: Condition) -> bytes:
    return _card(
        title=CONDITION_WORDS[condition],
        subtitle="Returns: condition card",
        barcode=condition_card_text(condition),
    )


def condition_cards() -> list[bytes]:
    return [condition_card(c) for c in CONDITIONS]


def quarantine_bin_label(*, code: str) -> bytes:
    if not code.strip():
        raise ValueError("a bin label needs the bin's code")
    return _card(title=code, subtitle="QUARANTINE - never for sale", barcode=bin_label_text(code))


def decision_card(decision: Decision) -> bytes:
    return _card(
        title=DECISION_WORDS[decision],
        subtitle=_DECISION_HINTS[decision],
        barcode=decision_card_text(decision),
    )


def decision_cards() -> list[bytes]:
    return [decision_card(d) for d in DECISIONS]


def return_unit_label(*, unit_id: int, sku: str | None, condition: Condition, rma: str) -> bytes:
    """Stuck on the unit when it goes into quarantine: what it is, in what state, from which
    RMA; triage scans it to pick exactly this unit."""
    if unit_id < 1:
        raise ValueError("a unit label needs the unit's id")
    return _card(
        title=sku or "NOT IN CATALOG",
        subtitle=f"{rma}  {CONDITION_WORDS[condition]}  - quarantine",
        barcode=unit_label_text(unit_id),
    )
