from datetime import date

import pytest

from shared.barcodes import (
    Gs1Message,
    Gtin,
    InternalCode,
    Interpretation,
    Sscc,
    Symbology,
    Unknown,
    interpret,
    parse_symbology,
)

GS = "\x1d"
# 4006381333931 in Arabic-Indic digits: str.isdecimal() and biip's GTIN parser accept it.
ARABIC_INDIC_GTIN = "\u0664\u0660\u0660\u0666\u0663\u0668\u0661\u0663\u0663\u0663\u0669\u0663\u0661"


def sym(identifier: str) -> Symbology:
    symbology = parse_symbology(identifier)
    assert symbology is not None
    return symbology


# Real GS1 examples: GTIN 09506000134352 and SSCC 106141411234567897 are the GS1 General
# Specifications' own; 07032069804988 is biip's documented example.
TABLE: list[tuple[str, Symbology | None, Interpretation]] = [
    # Plain GTINs, every length.
    ("4006381333931", None, Gtin("04006381333931", None)),
    ("96385074", None, Gtin("00000096385074", None)),
    ("036000291452", None, Gtin("00036000291452", None)),
    ("09506000134352", None, Gtin("09506000134352", None)),
    ("]E04006381333931", None, Gtin("04006381333931", sym("]E0"))),
    ("4006381333931", sym("]E0"), Gtin("04006381333931", sym("]E0"))),
    ("]E496385074", None, Gtin("00000096385074", sym("]E4"))),
    ("]I109506000134352", None, Gtin("09506000134352", sym("]I1"))),
    # UPC-E under ]E0 (EAN-8 has its own ]E4): 01234565 expands to UPC-A 012345000065.
    ("]E001234565", None, Gtin("00012345000065", sym("]E0"))),
    # ITF with the check digit verified and stripped: the check digit is put back.
    ("]I30950600013435", None, Gtin("09506000134352", sym("]I3"))),
    # EAN-13 with a 2-digit add-on: the add-on is not part of the GTIN.
    ("]E3400638133393112", None, Gtin("04006381333931", sym("]E3"))),
    # GS1 element strings, with and without the AIM prefix.
    (
        "0109506000134352" + GS + "10ABC123",
        None,
        Gs1Message(raw="0109506000134352" + GS + "10ABC123", gtin="09506000134352", lot="ABC123"),
    ),
    (
        "]C10109506000134352" + "17271231" + "10ABC123" + GS + "21SN-0001",
        None,
        Gs1Message(
            raw="]C10109506000134352" + "17271231" + "10ABC123" + GS + "21SN-0001",
            gtin="09506000134352",
            lot="ABC123",
            serial="SN-0001",
            expiry=date(2027, 12, 31),
        ),
    ),
    (
        # Day 00 means the last day of the month (GS1 General Specifications §7.12).
        "]d2010703206980498815270200" + "10LOT7",
        None,
        Gs1Message(
            raw="]d2010703206980498815270200" + "10LOT7",
            gtin="07032069804988",
            best_before=date(2027, 2, 28),
            lot="LOT7",
        ),
    ),
    (
        "0109506000134352" + "3012",
        sym("]C1"),
        Gs1Message(raw="0109506000134352" + "3012", gtin="09506000134352", count=12),
    ),
    # A pallet label: SSCC + content GTIN (02) + count (37). Never a unit of the GTIN.
    (
        "]C100106141411234567897" + "0209506000134352" + "3724",
        None,
        Gs1Message(
            raw="]C100106141411234567897" + "0209506000134352" + "3724",
            sscc="106141411234567897",
            content_gtin="09506000134352",
            count=24,
        ),
    ),
    # A GS1 message that is only a GTIN or only an SSCC is that GTIN / SSCC.
    ("]C10109506000134352", None, Gtin("09506000134352", sym("]C1"))),
    ("0109506000134352", None, Gtin("09506000134352", None)),
    ("]C100106141411234567897", None, Sscc("106141411234567897")),
    ("00106141411234567897", None, Sscc("106141411234567897")),
    ("106141411234567897", None, Sscc("106141411234567897")),
    # Leading FNC1 sent as GS (AIM ids off), trailing GS: still GS1.
    (GS + "0109506000134352" + GS, None, Gtin("09506000134352", None)),
    (
        "]C110ABC123" + GS + "17271200",
        None,
        Gs1Message(raw="]C110ABC123" + GS + "17271200", lot="ABC123", expiry=date(2027, 12, 31)),
    ),
    # GS1 Digital Link in a plain QR code.
    (
        "]Q1https://id.gs1.org/01/09506000134352/10/ABC123?17=271231",
        None,
        Gs1Message(
            raw="]Q1https://id.gs1.org/01/09506000134352/10/ABC123?17=271231",
            gtin="09506000134352",
            lot="ABC123",
            expiry=date(2027, 12, 31),
        ),
    ),
    # Internal codes.
    ("BIN-A-01-02", None, InternalCode("BIN-A-01-02")),
    ("BADGE-0042", None, InternalCode("BADGE-0042")),
    ("BOX-M", None, InternalCode("BOX-M")),
    ("SO-100234", None, InternalCode("SO-100234")),
    ("100234", None, InternalCode("100234")),
    ("]A0BOX-M", None, InternalCode("BOX-M")),
    ("]C0BADGE-0042", None, InternalCode("BADGE-0042")),
    ("]Q1https://example.com/care", None, InternalCode("https://example.com/care")),
    ("BOX-M\r\n", None, InternalCode("BOX-M")),
    # Without a symbology, a lot-only string is ambiguous with an internal code; with
    # ]C1 it is GS1 (enable the AIM prefix on every scanner profile).
    ("10ABC123", None, InternalCode("10ABC123")),
    ("]C110ABC123", None, Gs1Message(raw="]C110ABC123", lot="ABC123")),
    # Code 128 without FNC1 is by definition not GS1.
    ("]C00109506000134352", None, InternalCode("0109506000134352")),
]


@pytest.mark.parametrize(("raw", "symbology", "expected"), TABLE)
def test_interpret_table(raw: str, symbology: Symbology | None, expected: Interpretation) -> None:
    assert interpret(raw, symbology=symbology) == expected


REJECTED: list[tuple[str, Symbology | None, str]] = [
    ("4006381333932", None, "check digit wrong: GTIN-13 4006381333932 should end in 1"),
    ("96385075", None, "check digit wrong: GTIN-8 96385075 should end in 4"),
    ("036000291453", None, "check digit wrong: GTIN-12 036000291453 should end in 2"),
    ("09506000134353", None, "check digit wrong: GTIN-14 09506000134353 should end in 2"),
    # Digits of GTIN length are never internal codes, whatever the symbology.
    ("]C012345678", None, "check digit wrong: GTIN-8 12345678 should end in 0"),
    ("]E04006381333932", None, "check digit wrong: GTIN-13 4006381333932 should end in 1"),
    ("106141411234567890", None, "check digit wrong: SSCC 106141411234567890 should end in 7"),
    ("0109506000134353" + GS + "10ABC123", None, "check digit wrong in GTIN (01) 09506000134353"),
    ("]C10109506000134353", None, "check digit wrong in GTIN (01) 09506000134353"),
    ("]C100106141411234567890", None, "check digit wrong in SSCC (00) 106141411234567890"),
    ("0209506000134353" + "3724", sym("]C1"), "check digit wrong in content GTIN (02)"),
    ("]Q1https://id.gs1.org/01/09506000134353", None, "check digit wrong in GTIN (01)"),
    ("]C10109506000134352" + "17271301", None, "expiry date (17) 271301 is not a real date"),
    ("0109506000134352" + "17270230" + "10A", None, "expiry date (17) 270230 is not a real date"),
    ("]C10109506000134352" + "15271341", None, "best-before date (15) 271341 is not a real date"),
    ("]C10109506000134352" + "1727", None, "expiry date (17) is incomplete"),
    ("]C10109506000134352" + "XYZ", None, "not a GS1 field code at 'XYZ'"),
    ("]C1BOX-M", None, "not a GS1 field code at 'BOX-M'"),
    ("]C10109506000134352" + "30", None, "count (30) is empty"),
    ("]C1011234", None, "GTIN (01) has the wrong length or characters"),
    ("]C110" + "A" * 21, None, "not a GS1 field code at 'A'"),
    ("0109506000134352" + "10ABC" + GS + "10XYZ", None, "two different values for lot (10)"),
    ("0109506000134352" + "0209506000134352", sym("]C1"), "both a GTIN (01) and a content"),
    ("]A0ABC" + GS + "DEF", None, "separator character in a Code 39 barcode"),
    ("ABC" + GS + "DEF", None, "not a GS1 field code at 'ABC<GS>DEF'"),
    ("]E1 12", None, "only the small add-on barcode was read"),
    ("]E0ABCDEFGHIJKLM", None, "EAN-13/UPC barcode with non-digit data"),
    ("]E4123456", None, "EAN-8 barcode with 6 digits"),
    ("", None, "empty scan"),
    ("   \r\n", None, "empty scan"),
    ("]C1", None, "scan has no data"),
    ("]C1" + GS, None, "scan has no data"),
    ("]", None, "broken symbology prefix"),
    ("]C", None, "broken symbology prefix"),
    ("BOX\x00M", None, "scan contains control characters"),
    ("\x1b[A", None, "scan contains control characters"),
    ("BIN\x7f", None, "scan contains control characters"),
    ("BOX-\u00c9", None, "scan contains non-ASCII characters"),
    (ARABIC_INDIC_GTIN, None, "scan contains non-ASCII characters"),
    ("\ufffd\ufffd", None, "scan contains non-ASCII characters"),
    ("A" * 201, None, "barcode too long (201 characters)"),
]


@pytest.mark.parametrize(("raw", "symbology", "reason"), REJECTED)
def test_rejected_with_a_reason(raw: str, symbology: Symbology | None, reason: str) -> None:
    result = interpret(raw, symbology=symbology)
    assert isinstance(result, Unknown)
    assert result.raw == raw
    assert reason in result.reason


def test_longest_allowed_scan_is_read() -> None:
    assert interpret("A" * 200) == InternalCode("A" * 200)


def test_embedded_prefix_wins_over_the_argument() -> None:
    # The prefix is what the scanner said about this very read.
    assert interpret("]E04006381333931", symbology=sym("]C0")) == Gtin("04006381333931", sym("]E0"))


def test_gs1_symbology_argument_without_prefix() -> None:
    assert interpret("10ABC123", symbology=sym("]C1")) == Gs1Message(raw="10ABC123", lot="ABC123")


def test_reasons_are_short_plain_english() -> None:
    for raw, symbology, _ in REJECTED:
        result = interpret(raw, symbology=symbology)
        assert isinstance(result, Unknown)
        assert result.reason.isascii() and result.reason.isprintable()
        assert len(result.reason) <= 100
