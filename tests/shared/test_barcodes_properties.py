"""Property tests: interpret never raises, and a misread digit never becomes a match."""

from biip import ParseError
from biip.gtin import Gtin as BiipGtin
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.barcodes import (
    Gs1Message,
    Gtin,
    InternalCode,
    Sscc,
    Symbology,
    Unknown,
    gtin_check_digit,
    interpret,
    is_valid_gtin,
    parse_symbology,
)

GS = "\x1d"
DIGITS = "0123456789"

IDENTIFIERS = ["]C0", "]C1", "]E0", "]E3", "]E4", "]I1", "]I3", "]d2", "]Q1", "]Q3", "]e0", "]A0"]
SYMBOLOGIES: list[Symbology | None] = [None, *(parse_symbology(i) for i in IDENTIFIERS)]

# Pieces that steer random input into the deep paths: AIM prefixes, AIs, GS, dates.
FRAGMENTS = [
    *IDENTIFIERS,
    "]",
    GS,
    "00",
    "01",
    "02",
    "10",
    "15",
    "17",
    "21",
    "30",
    "37",
    "3103",
    "0109506000134352",
    "00106141411234567897",
    "271231",
    "271301",
    "https://id.gs1.org/01/",
    "?17=",
    "BIN-A-",
]
fragment_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet=DIGITS + "AZaz-", max_size=20)),
    max_size=12,
).map("".join)
any_symbology = st.sampled_from(SYMBOLOGIES)


def check_result(raw: str, symbology: Symbology | None) -> None:
    result = interpret(raw, symbology=symbology)
    # Whatever comes back, every identifier in it passed its check digit.
    match result:
        case Gtin(gtin14=gtin14):
            assert is_valid_gtin(gtin14) and len(gtin14) == 14
        case Sscc(sscc=sscc):
            assert len(sscc) == 18 and gtin_check_digit(sscc[:-1]) == int(sscc[-1])
        case Gs1Message(gtin=gtin, content_gtin=content, sscc=sscc):
            for value in (gtin, content):
                assert value is None or is_valid_gtin(value)
            assert sscc is None or gtin_check_digit(sscc[:-1]) == int(sscc[-1])
        case InternalCode(text=text):
            assert text and text.isascii() and text.isprintable()
        case Unknown(raw=unknown_raw, reason=reason):
            assert unknown_raw == raw and reason
        case _:
            raise AssertionError(f"not an Interpretation: {result!r}")


@settings(max_examples=400)
@given(raw=st.text(max_size=260), symbology=any_symbology)
def test_never_raises_on_arbitrary_text(raw: str, symbology: Symbology | None) -> None:
    check_result(raw, symbology)


@settings(max_examples=400)
@given(data=st.binary(max_size=260), symbology=any_symbology)
def test_never_raises_on_arbitrary_bytes(data: bytes, symbology: Symbology | None) -> None:
    # Serial bytes at the wrong baud rate, decoded the way the device layer decodes them.
    check_result(data.decode("latin-1"), symbology)


@settings(max_examples=600)
@given(raw=fragment_text, symbology=any_symbology)
def test_never_raises_on_barcode_shaped_text(raw: str, symbology: Symbology | None) -> None:
    check_result(raw, symbology)


@st.composite
def valid_gtins(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from([8, 12, 13, 14]))
    body = draw(st.text(alphabet=DIGITS, min_size=length - 1, max_size=length - 1))
    return body + str(gtin_check_digit(body))


@st.composite
def corrupted_gtins(draw: st.DrawFn) -> tuple[str, str]:
    good = draw(valid_gtins())
    position = draw(st.integers(min_value=0, max_value=len(good) - 1))
    digit = draw(st.sampled_from([d for d in DIGITS if d != good[position]]))
    return good, good[:position] + digit + good[position + 1 :]


def gtin_forms(gtin: str) -> list[tuple[str, Symbology | None]]:
    gtin14 = gtin.zfill(14)
    ean = {8: "]E4", 12: "]E0", 13: "]E0", 14: "]I1"}[len(gtin)]
    return [
        (gtin, None),
        (ean + gtin, None),
        (gtin, parse_symbology(ean)),
        ("]C0" + gtin, None),
        ("01" + gtin14, None),
        ("]C101" + gtin14, None),
        ("]C101" + gtin14 + "10LOT1" + GS + "17271231", None),
        ("01" + gtin14 + "17271231" + "10LOT1", None),
        (GS + "01" + gtin14 + GS + "21SER", None),
        ("]d201" + gtin14 + "21SER", None),
        ("https://id.gs1.org/01/" + gtin14 + "/10/LOT1", None),
    ]


@settings(max_examples=300)
@given(pair=corrupted_gtins())
def test_one_wrong_digit_never_matches(pair: tuple[str, str]) -> None:
    good, bad = pair
    assert not is_valid_gtin(bad)
    for raw, symbology in gtin_forms(bad):
        result = interpret(raw, symbology=symbology)
        assert isinstance(result, Unknown), (raw, result)
        assert "check digit" in result.reason
    # As the content GTIN (02) of a pallet label too.
    pallet = interpret("]C102" + bad.zfill(14) + "376" + GS + "00106141411234567897")
    assert isinstance(pallet, Unknown) and "check digit" in pallet.reason
    # The same forms with the uncorrupted GTIN all find it.
    for raw, symbology in gtin_forms(good):
        result = interpret(raw, symbology=symbology)
        if isinstance(result, Gtin):
            assert result.gtin14 == good.zfill(14), raw
        else:
            assert isinstance(result, Gs1Message), (raw, result)
            assert result.gtin == good.zfill(14), raw
    pallet = interpret("]C102" + good.zfill(14) + "376" + GS + "00106141411234567897")
    assert isinstance(pallet, Gs1Message)
    assert (pallet.content_gtin, pallet.count, pallet.gtin) == (good.zfill(14), 6, None)


@settings(max_examples=300)
@given(raw=st.text(alphabet=DIGITS, min_size=8, max_size=14))
def test_our_gtin_rule_agrees_with_biip(raw: str) -> None:
    try:
        BiipGtin.parse(raw)
        biip_ok = True
    except ParseError:
        biip_ok = False
    assert is_valid_gtin(raw) == biip_ok
