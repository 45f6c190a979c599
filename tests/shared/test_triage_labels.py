"""Triage's printed cards and unit labels: valid ZPL that a renderer draws and a barcode reader
reads back as exactly the text the station recognises, one card per decision of the contract."""

from __future__ import annotations

import io
from typing import get_args

import pytest
import zplkit
import zxingcpp
from PIL import Image

from shared.contract.returns import Decision
from shared.labels.returns import (
    DECISIONS,
    condition_from_card,
    decision_card,
    decision_card_text,
    decision_cards,
    decision_from_card,
    return_unit_label,
    unit_from_label,
    unit_label_text,
)


def decoded(label: bytes) -> list[tuple[str, str]]:
    png = zplkit.render(label).labels[0].png()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return [(x.text, x.format.name) for x in found]


def test_the_cards_are_every_decision_of_the_contract() -> None:
    assert set(DECISIONS) == set(get_args(Decision)) and len(DECISIONS) == 4
    assert len(decision_cards()) == 4


@pytest.mark.parametrize("decision", DECISIONS)
def test_every_decision_card_renders_and_reads_back_as_its_decision(decision: Decision) -> None:
    [(text, symbology)] = decoded(decision_card(decision))
    assert symbology == "Code128"
    assert text == decision_card_text(decision)
    assert decision_from_card(text) == decision
    assert condition_from_card(text) is None  # never mistaken for a condition card


def test_decision_cards_do_not_read_other_texts() -> None:
    assert decision_card_text("vendor") == "TRIAGE-VENDOR"
    for other in ("TRIAGE-KEEP", "COND-DAMAGED", "triage-scrap", "", "RESTOCK"):
        assert decision_from_card(other) is None, other
    assert decision_from_card("  TRIAGE-SCRAP \r\n") == "scrap"


def test_a_unit_label_reads_back_as_its_unit() -> None:
    label = return_unit_label(unit_id=42, sku="MUG", condition="opened", rma="RMA0000007")
    assert decoded(label) == [("RTN-0000042", "Code128")]
    assert unit_from_label("RTN-0000042") == 42
    assert b"RMA0000007" in label and b"OPENED" in label
    assert unit_label_text(123456789) == "RTN-123456789"
    for other in ("RTN-42", "RTN-00000x2", "RMA0000042", "RTN-0000042-1"):
        assert unit_from_label(other) is None, other
    with pytest.raises(ValueError):
        return_unit_label(unit_id=0, sku=None, condition="damaged", rma="RMA0000001")
    unknown = return_unit_label(unit_id=7, sku=None, condition="damaged", rma="RMA0000001")
    assert b"NOT IN CATALOG" in unknown
