"""The floor's printed command cards: every page rendered (pypdfium2), every barcode on it decoded
(zxing-cpp), and each decoded text fed through the parser of the station that scans it, which
must read it as exactly the card it says it is. A card the floor trusts and the code misreads is
worse than no card."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import pypdfium2
import pytest
import zxingcpp

from shared.contract.custody import PickupOut
from shared.contract.events import ShortPick
from shared.contract.returns import CONDITIONS, Decision
from shared.labels.returns import CONDITION_WORDS, DECISION_WORDS
from station.app import main
from station.devices.card_sheets import (
    FLOOR_REASONS,
    FOOTER_TEXT,
    CardGroup,
    Paper,
    floor_cards,
    parse_carriers,
    render_card_sheets,
)
from station.devices.pdf_barcode import code128, printable_problem
from station.work.boxes import DEFAULT_BOX_TYPES
from station.work.dispatch import DispatchSession
from station.work.door import ClosePickup, DoorVerdict, OpenPickup
from station.work.returns_scan import ConditionScan, DecisionScan, read_desk, read_triage
from station.work.scan import BoxTypeScan, ReasonScan, read_text

CARRIERS = ("UPS", "USPS", "DHL Express", "Royal Mail Tracked")
POINTS_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class Page:
    size_mm: tuple[int, int]
    text: str
    barcodes: list[str]


def pages(pdf: bytes, *, dpi: int = 200) -> list[Page]:
    """What a scanner and a reader get off each printed page."""
    document = pypdfium2.PdfDocument(pdf)
    out = []
    for page in document:
        width, height = page.get_size()
        text = page.get_textpage().get_text_range()
        image = page.render(scale=dpi / 72).to_pil()
        out.append(
            Page(
                size_mm=(round(width / POINTS_PER_MM), round(height / POINTS_PER_MM)),
                text=text,
                barcodes=[b.text for b in zxingcpp.read_barcodes(image)],
            )
        )
    return out


def door_reads(text: str) -> object:
    """The dispatch door's reading of a card: a fresh door, and one with a pickup open (the
    closing card means something only then)."""
    fresh = DispatchSession()
    step = fresh.scan_text(text)
    if isinstance(step, DoorVerdict) and step.kind == "needs":
        return ("armed", fresh.armed)
    if isinstance(step, OpenPickup):
        return step
    open_door = DispatchSession()
    open_door.opened(
        PickupOut(id=7, carrier="USPS", state="open", cartons=0,
                  opened_at=datetime.now(UTC), closed_at=None)
    )  # fmt: skip
    return open_door.scan_text(text)


def expected_meanings(groups: tuple[CardGroup, ...]) -> dict[str, object]:
    """What each card must read as, at the station that scans it, from the card's own words."""
    bench, dispatch, returns, reasons = groups
    assert [g.title for g in groups] == [
        "Packing bench: box types",
        "Dispatch door",
        "Returns desk",
        "Reason cards",
    ]
    want: dict[str, object] = {}
    for card in bench.cards:
        box = next(b for b in DEFAULT_BOX_TYPES.values() if b.name.upper() == card.words)
        want[card.text] = BoxTypeScan(raw=card.text, box_type=box.code)
    for card in dispatch.cards:
        carrier = next((c for c in CARRIERS if card.words == f"{c.upper()} PICKUP"), None)
        want[card.text] = {
            "CLOSE PICKUP": ClosePickup(pickup_id=7, carrier="USPS"),
            "REPRINT LABEL": ("armed", "reprint"),
            "VOID LABEL": ("armed", "void"),
        }.get(card.words, OpenPickup(carrier=carrier or "?"))
    for card in returns.cards:
        condition = next((c for c, w in CONDITION_WORDS.items() if w == card.words), None)
        if condition is not None and card.hint.startswith("Returns"):
            want[card.text] = ConditionScan(raw=card.text, condition=condition)
        else:
            decision = next(d for d, w in DECISION_WORDS.items() if w == card.words)
            want[card.text] = DecisionScan(raw=card.text, decision=decision)
    for card, reason in zip(reasons.cards, FLOOR_REASONS, strict=True):
        assert card.words == reason.words
        want[card.text] = ReasonScan(raw=card.text, code=reason.code)
    return want


def station_reads(text: str, meaning: object) -> object:
    """The decoded text through the parser of the station the expected meaning belongs to."""
    if isinstance(meaning, BoxTypeScan | ReasonScan):
        return read_text(text)
    if isinstance(meaning, ConditionScan):
        return read_desk(text)
    if isinstance(meaning, DecisionScan):
        return read_triage(text)
    return door_reads(text)


@pytest.mark.parametrize(("paper", "size_mm"), [("a4", (210, 297)), ("letter", (216, 279))])
def test_every_printed_card_scans_as_what_its_station_reads(
    paper: Paper, size_mm: tuple[int, int]
) -> None:
    groups = floor_cards(carriers=CARRIERS)
    printed = pages(render_card_sheets(groups=groups, paper=paper))
    want = expected_meanings(groups)
    decoded = [text for page in printed for text in page.barcodes]
    # Every card once, nothing else: no card lost off a page, none printed twice.
    assert sum(len(g.cards) for g in groups) == len(want)  # no two cards share a text
    assert Counter(decoded) == Counter(want.keys())
    for text in decoded:
        assert station_reads(text, want[text]) == want[text], text
    # The whole set the code knows is on the sheet: every box type, carrier, condition and
    # decision.
    meanings = list(want.values())
    assert {m.box_type for m in meanings if isinstance(m, BoxTypeScan)} == set(DEFAULT_BOX_TYPES)
    assert {m.carrier for m in meanings if isinstance(m, OpenPickup)} == set(CARRIERS)
    assert {m.condition for m in meanings if isinstance(m, ConditionScan)} == set(CONDITIONS)
    assert {m.decision for m in meanings if isinstance(m, DecisionScan)} == set(get_args(Decision))
    # A card's words and its text are printed on the page its barcode is on.
    cards = {c.text: c for g in groups for c in g.cards}
    for page in printed:
        assert page.size_mm == size_mm and FOOTER_TEXT in page.text
        for text in page.barcodes:
            assert cards[text].words in page.text and text in page.text


def test_reason_codes_fit_what_the_events_carry() -> None:
    limit = ShortPick.model_fields["reason_code"].metadata
    most = next(m.max_length for m in limit if hasattr(m, "max_length"))
    assert all(len(r.code) <= most for r in FLOOR_REASONS)
    assert len({r.code for r in FLOOR_REASONS}) == len(FLOOR_REASONS)


def test_carriers_from_the_command_line() -> None:
    assert parse_carriers(None) == () and parse_carriers(" , ,") == ()
    assert parse_carriers("UPS, usps ,ups,USPS,DHL Express") == ("UPS", "usps", "DHL Express")
    for bad, words in (
        ("UPS,Close", "PICKUP:CLOSE closes a pickup"),
        ("Müller", "cannot go on a card"),
        ("UPS;USPS", "cannot go on a card"),
    ):
        with pytest.raises(ValueError, match=words):
            parse_carriers(bad)


def test_without_carriers_the_door_cards_still_print_and_the_sheet_says_how() -> None:
    groups = floor_cards(carriers=())
    dispatch = groups[1]
    assert [c.text for c in dispatch.cards] == ["PICKUP:CLOSE", "CMD:REPRINT", "CMD:VOID"]
    assert "--carriers" in dispatch.note
    printed = pages(render_card_sheets(groups=groups))
    assert any("--carriers" in p.text for p in printed)


def test_a_carrier_too_long_for_a_card_is_refused_in_words() -> None:
    name = "Carrier With A Very Long Trading Name"
    assert parse_carriers(name) == (name,)  # the door would read it ...
    with pytest.raises(ValueError, match="too long to fit on a card"):
        render_card_sheets(groups=floor_cards(carriers=(name,)))  # ... but no card holds it


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "an empty barcode"),
        ("BOX-\u00c9", "cannot carry"),  # reportlab would silently drop it
        ("BOX-\x1dM", "cannot carry"),
        ("CMD:\xf1VOID", "cannot carry"),  # reportlab would print an FNC1
    ],
)
def test_text_a_code_128_card_would_misprint_is_refused(text: str, problem: str) -> None:
    found = printable_problem(text)
    assert found is not None and problem in found
    with pytest.raises(ValueError, match=problem):
        code128(text, bar_height=10, bar_width=1)
    assert printable_problem("PICKUP:DHL Express") is None


def test_packline_station_cards_writes_the_pdf_and_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cards.pdf"
    assert main(["--cards", str(path), "--carriers", "UPS,DHL Express", "--paper", "letter"]) == 0
    assert "floor cards written to" in capsys.readouterr().out
    printed = pages(path.read_bytes())
    assert {p.size_mm for p in printed} == {(216, 279)}
    found = {t for p in printed for t in p.barcodes}
    assert {"PICKUP:UPS", "PICKUP:DHL Express", "PICKUP:CLOSE", "BOX-M"} <= found

    refused = tmp_path / "refused.pdf"
    with pytest.raises(SystemExit, match=r"cards not written: .*Müller"):
        main(["--cards", str(refused), "--carriers", "UPS,Müller"])
    assert not refused.exists()
