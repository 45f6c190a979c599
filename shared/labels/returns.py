"""The returns desk's own cards: one condition card per condition, one label per quarantine bin.

Each is a Code 128 barcode with its text printed under it, so a clerk in gloves scans the card
and anyone can read what it says. The card texts are defined here and read back by the station
(`condition_from_card`), so what is printed and what is recognised cannot drift apart.
"""

from __future__ import annotations

from shared.contract.returns import CONDITIONS, Condition

CONDITION_PREFIX = "COND-"
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


def bin_label_text(code: str) -> str:
    return BIN_PREFIX + code


def _field(text: str) -> str:
    # ^FH with _ as the escape: characters ZPL would read as commands are sent as hex.
    out: list[str] = []
    for ch in text:
        if ch in "^~_" or not (32 <= ord(ch) < 127):
            out.extend(f"_{b:02X}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)


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
