import pytest

from shared.barcodes import Family, Symbology, parse_symbology, split_prefix

# (identifier, family, gs1 data, name) from handbook reference/hardware.md §1.4.
KNOWN = [
    ("]C0", Family.CODE_128, False, "Code 128"),
    ("]C1", Family.CODE_128, True, "GS1-128"),
    ("]C2", Family.CODE_128, False, "Code 128"),
    ("]E0", Family.EAN_UPC, False, "EAN-13/UPC"),
    ("]E3", Family.EAN_UPC, False, "EAN-13/UPC with add-on"),
    ("]E4", Family.EAN_UPC, False, "EAN-8"),
    ("]I1", Family.ITF, False, "ITF-14"),
    ("]I0", Family.ITF, False, "Interleaved 2 of 5"),
    ("]A0", Family.CODE_39, False, "Code 39"),
    ("]A4", Family.CODE_39, False, "Code 39"),
    ("]d1", Family.DATA_MATRIX, False, "Data Matrix"),
    ("]d2", Family.DATA_MATRIX, True, "GS1 DataMatrix"),
    ("]d5", Family.DATA_MATRIX, True, "GS1 DataMatrix"),
    ("]Q1", Family.QR_CODE, False, "QR Code"),
    ("]Q3", Family.QR_CODE, True, "GS1 QR Code"),
    ("]e0", Family.GS1_DATABAR, True, "GS1 DataBar"),
    ("]J1", Family.DOTCODE, True, "GS1 DotCode"),
    ("]L2", Family.PDF417, False, "PDF417"),
    ("]z0", Family.AZTEC, False, "Aztec"),
]


@pytest.mark.parametrize(("identifier", "family", "gs1", "name"), KNOWN)
def test_known_identifiers(identifier: str, family: Family, gs1: bool, name: str) -> None:
    symbology = parse_symbology(identifier)
    assert symbology is not None
    assert symbology.family is family
    assert symbology.modifier == identifier[2]
    assert symbology.gs1 is gs1
    assert symbology.known
    assert symbology.name == name
    assert symbology.identifier == identifier
    assert str(symbology) == identifier


@pytest.mark.parametrize("identifier", ["]E0", "]E3", "]E4", "]I1"])
def test_gtin_carrying_identifiers(identifier: str) -> None:
    symbology = parse_symbology(identifier)
    assert symbology is not None and symbology.gtin_only and not symbology.gs1


@pytest.mark.parametrize("identifier", ["]W1", "]V0", "]q9", "]g1"])
def test_unassigned_code_character_is_a_clear_unknown(identifier: str) -> None:
    symbology = parse_symbology(identifier)
    assert symbology == Symbology(code=identifier[1], modifier=identifier[2], family=Family.UNKNOWN)
    assert not symbology.known
    assert not symbology.gs1
    assert symbology.name == "unknown"


MALFORMED = ["", "]", "]C", "C1", "]1C", "]C\x1d", "]C1X", "]\u00e90", "]Y", "]Y2a"]


@pytest.mark.parametrize("identifier", MALFORMED)
def test_malformed_identifiers_give_none(identifier: str) -> None:
    assert parse_symbology(identifier) is None


def test_system_expansion_has_a_counted_modifier() -> None:
    # `]Y` + digit n + n further modifier characters (ISO/IEC 15424; as biip reads it).
    assert split_prefix("]Y1aDATA") == (
        Symbology(code="Y", modifier="1a", family=Family.SYSTEM_EXPANSION),
        "DATA",
    )


def test_split_prefix() -> None:
    c1 = parse_symbology("]C1")
    assert split_prefix("]C10109506000134352") == (c1, "0109506000134352")
    assert split_prefix("0109506000134352") == (None, "0109506000134352")
    assert split_prefix("]C1") == (c1, "")
    assert split_prefix("]") is None
    assert split_prefix("]-1abc") is None
