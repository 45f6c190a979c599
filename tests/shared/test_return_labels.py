"""The returns desk's cards and bin labels: valid ZPL that a renderer draws and a barcode reader
reads back as exactly the text the station recognises."""

from __future__ import annotations

import io

import pytest
import zplkit
import zxingcpp
from PIL import Image

from shared.contract.returns import CONDITIONS
from shared.labels.returns import (
    condition_card,
    condition_card_text,
    condition_cards,
    condition_from_card,
    quarantine_bin_label,
)


def decoded(label: bytes) -> list[tuple[str, str]]:
    png = zplkit.render(label).labels[0].png()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return [(x.text, x.format.name) for x in found]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_condition_card_renders_and_reads_back_as_its_condition(condition: str) -> None:
    [(text, symbology)] = decoded(condition_card(condition))  # type: ignore[arg-type]
    assert symbology == "Code128"
    assert text == condition_card_text(condition)  # type: ignore[arg-type]
    assert condition_from_card(text) == condition


def test_the_card_set_is_one_card_per_condition_with_distinct_barcodes() -> None:
    cards = condition_cards()
    assert len(cards) == len(CONDITIONS) == 5
    texts = {condition_card_text(c) for c in CONDITIONS}
    assert texts == {
        "COND-SELLABLE",
        "COND-OPENED",
        "COND-DAMAGED",
        "COND-WRONG-ITEM",
        "COND-MISSING-PARTS",
    }
    assert condition_from_card("COND-SHINY") is None
    assert condition_from_card("BIN-Q-01") is None


def test_a_quarantine_bin_label_reads_back_as_the_bin_card() -> None:
    label = quarantine_bin_label(code="Q-07")
    assert decoded(label) == [("BIN-Q-07", "Code128")]
    assert b"QUARANTINE" in label  # the human-readable warning is on the label
    with pytest.raises(ValueError):
        quarantine_bin_label(code=" ")


def test_zpl_control_characters_in_a_code_cannot_break_the_label() -> None:
    label = quarantine_bin_label(code="Q^XZ~1")
    assert label.count(b"^XZ") == 1 and b"_5E" in label
