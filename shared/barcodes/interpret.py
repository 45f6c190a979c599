"""One scan's text -> what it means. Pure: no I/O, never raises.

Rules, in order (the why is beside each step):
1. Too long, empty, control characters other than GS, non-ASCII -> Unknown.
2. A leading AIM identifier (`]C1`...) is stripped; it wins over the `symbology`
   argument because it is what the scanner said about this very read.
3. GS1 symbologies (`]C1`, `]d2`, `]Q3`, `]e0`, `]J1`) -> GS1 element strings.
4. URLs -> GS1 Digital Link when they carry a GS1 key, else an internal code.
5. EAN/UPC symbologies -> GTIN (UPC-E expanded), nothing else.
6. Digits of GTIN length (8/12/13/14) -> GTIN, or Unknown("check digit ...");
   18 digits -> SSCC the same way. A misread digit must never become a false match,
   so such strings are never internal codes.
7. Without a symbology: GS inside, or a complete 00/01/02 key at the start -> GS1.
8. Anything else printable -> InternalCode (bins, badges, box types, order numbers).
"""

from __future__ import annotations

from biip.gtin import Gtin as BiipGtin
from biip.sscc import Sscc as BiipSscc
from biip.upc import Upc

from shared.barcodes.aim import Family, Symbology, split_prefix
from shared.barcodes.gs1 import GS, read_digital_link, read_element_strings, starts_with_gs1_key
from shared.barcodes.gtin import GTIN_LENGTHS, gtin_check_digit, gtin_problem, is_valid_gtin
from shared.barcodes.values import Gtin, InternalCode, Interpretation, Sscc, Unknown

MAX_LENGTH = 200

# Terminators the device framing may leave behind (CR, LF; Tab/Enter suffix on a wedge).
_FRAMING = " \t\r\n"
_DIGITS = frozenset("0123456789")


def _is_digits(text: str) -> bool:
    return bool(text) and all(char in _DIGITS for char in text)


def _character_problem(text: str) -> str | None:
    for char in text:
        if char == GS or " " <= char <= "~":
            continue
        if char < " " or char == "\x7f":
            return "scan contains control characters"
        return "scan contains non-ASCII characters"
    return None


def _gtin(digits: str, *, raw: str, symbology: Symbology | None) -> Interpretation:
    problem = gtin_problem(digits)
    if problem is not None:
        return Unknown(raw, problem)
    try:
        parsed = BiipGtin.parse(digits)
    except Exception:
        # Third-party parser on scanner input: any surprise is a non-match, not a crash.
        return Unknown(raw, "unreadable GTIN")
    gtin14 = parsed.as_gtin_14()
    # Belt and braces: only a GTIN that both biip and our own rule accept is a match.
    if not is_valid_gtin(gtin14):
        return Unknown(raw, "unreadable GTIN")
    return Gtin(gtin14, symbology)


def _sscc(digits: str, *, raw: str) -> Interpretation:
    try:
        BiipSscc.parse(digits)
    except Exception:
        expected = gtin_check_digit(digits[:-1])
        return Unknown(raw, f"check digit wrong: SSCC {digits} should end in {expected}")
    return Sscc(digits)


def _upc_e(digits: str, *, raw: str, symbology: Symbology) -> Interpretation:
    try:
        upc = Upc.parse(digits)
        return _gtin(upc.as_gtin_14(), raw=raw, symbology=symbology)
    except Exception:
        return Unknown(raw, f"check digit wrong: UPC-E {digits}")


# `]E3` sends the main symbol then its add-on, no separator [unconfirmed: layout assumed
# from ISO/IEC 15424 "EAN/UPC with add-on"]: data length -> main symbol length.
_E3_MAIN_LENGTH: dict[int, int] = {15: 13, 18: 13, 14: 12, 17: 12, 10: 8}


def _ean_upc(data: str, *, raw: str, symbology: Symbology) -> Interpretation:
    if symbology.modifier in ("1", "2"):
        return Unknown(raw, "only the small add-on barcode was read: scan the main barcode")
    if not _is_digits(data):
        return Unknown(raw, f"{symbology.name} barcode with non-digit data")
    if symbology.modifier == "3" and len(data) in _E3_MAIN_LENGTH:
        data = data[: _E3_MAIN_LENGTH[len(data)]]
    if symbology.modifier in ("0", "3") and len(data) == 8:
        # EAN-8 has its own identifier (`]E4`), so 8 digits under `]E0` are a UPC-E.
        return _upc_e(data, raw=raw, symbology=symbology)
    if len(data) not in GTIN_LENGTHS:
        return Unknown(raw, f"{symbology.name} barcode with {len(data)} digits")
    return _gtin(data, raw=raw, symbology=symbology)


def interpret(raw: str, *, symbology: Symbology | None = None) -> Interpretation:
    if len(raw) > MAX_LENGTH:
        return Unknown(raw, f"barcode too long ({len(raw)} characters)")
    text = raw.strip(_FRAMING)
    if not text:
        return Unknown(raw, "empty scan")
    problem = _character_problem(text)
    if problem is not None:
        return Unknown(raw, problem)
    split = split_prefix(text)
    if split is None:
        return Unknown(raw, "broken symbology prefix from the scanner")
    embedded, data = split
    if embedded is not None:
        symbology = embedded
    data = data.strip(_FRAMING)
    if not data.strip(GS):
        return Unknown(raw, "scan has no data")
    known = symbology is not None and symbology.known

    if symbology is not None and symbology.gs1:
        if data.startswith(("http://", "https://")):
            link = read_digital_link(data, raw=raw, symbology=symbology)
            return link if link is not None else Unknown(raw, "web link is not a GS1 link")
        return read_element_strings(data, raw=raw, symbology=symbology)
    if data.startswith(("http://", "https://")):
        link = read_digital_link(data, raw=raw, symbology=symbology)
        if link is not None:
            return link
    if GS in data:
        if known and symbology is not None:
            return Unknown(raw, f"separator character in a {symbology.name} barcode")
        return read_element_strings(data, raw=raw, symbology=symbology)
    if symbology is not None and symbology.family is Family.EAN_UPC:
        return _ean_upc(data, raw=raw, symbology=symbology)
    if _is_digits(data):
        if symbology is not None and symbology.identifier == "]I3" and len(data) == 13:
            # ITF "check digit verified and stripped": put the GTIN-14 check digit back
            # [inferred: the ITF check digit is the same weighted mod-10 as the GTIN one].
            data += str(gtin_check_digit(data))
        if len(data) in GTIN_LENGTHS:
            return _gtin(data, raw=raw, symbology=symbology)
        if len(data) == 18:
            return _sscc(data, raw=raw)
    if not known and starts_with_gs1_key(data):
        return read_element_strings(data, raw=raw, symbology=symbology)
    return InternalCode(data)
