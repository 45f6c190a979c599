"""AIM / ISO/IEC 15424 symbology identifiers: `]` + code character + modifier.

Sources: handbook reference/hardware.md §1.4 (table of identifiers), biip's
`biip.symbology` (ISO/IEC 15424:2008 table 1 code characters, GS1 General
Specifications figure 5.1.2-2 for the GS1 identifiers), zxing-cpp's Data Matrix
decoder (ECI adds 3 to the Data Matrix modifier, ISO 16022:2006 Annex N) and QR
decoder (ECI adds 1 to the QR modifier). We parse the prefix ourselves rather than
through biip: biip does not know `]J` (DotCode) and raises IndexError on a lone `]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

FLAG = "]"


class Family(StrEnum):
    CODE_39 = "Code 39"
    TELEPEN = "Telepen"
    CODE_128 = "Code 128"
    CODE_ONE = "Code One"
    EAN_UPC = "EAN/UPC"
    CODABAR = "Codabar"
    CODE_93 = "Code 93"
    CODE_11 = "Code 11"
    ITF = "Interleaved 2 of 5"
    DOTCODE = "DotCode"
    CODE_16K = "Code 16K"
    PDF417 = "PDF417"
    MSI = "MSI"
    ANKER = "Anker"
    CODABLOCK = "Codablock"
    PLESSEY = "Plessey"
    QR_CODE = "QR Code"
    STRAIGHT_2_OF_5_2BAR = "Straight 2 of 5 (2-bar start/stop)"
    STRAIGHT_2_OF_5_3BAR = "Straight 2 of 5 (3-bar start/stop)"
    CODE_49 = "Code 49"
    MAXICODE = "MaxiCode"
    OTHER = "other barcode"
    SYSTEM_EXPANSION = "system expansion"
    NON_BARCODE = "non-barcode"
    CHANNEL_CODE = "Channel Code"
    DATA_MATRIX = "Data Matrix"
    GS1_DATABAR = "GS1 DataBar / Composite"
    OCR = "OCR"
    POSICODE = "PosiCode"
    SUPERCODE = "SuperCode"
    AZTEC = "Aztec"
    UNKNOWN = "unknown"


_FAMILIES: dict[str, Family] = {
    "A": Family.CODE_39,
    "B": Family.TELEPEN,
    "C": Family.CODE_128,
    "D": Family.CODE_ONE,
    "E": Family.EAN_UPC,
    "F": Family.CODABAR,
    "G": Family.CODE_93,
    "H": Family.CODE_11,
    "I": Family.ITF,
    "J": Family.DOTCODE,
    "K": Family.CODE_16K,
    "L": Family.PDF417,
    "M": Family.MSI,
    "N": Family.ANKER,
    "O": Family.CODABLOCK,
    "P": Family.PLESSEY,
    "Q": Family.QR_CODE,
    "R": Family.STRAIGHT_2_OF_5_2BAR,
    "S": Family.STRAIGHT_2_OF_5_3BAR,
    "T": Family.CODE_49,
    "U": Family.MAXICODE,
    "X": Family.OTHER,
    "Y": Family.SYSTEM_EXPANSION,
    "Z": Family.NON_BARCODE,
    "c": Family.CHANNEL_CODE,
    "d": Family.DATA_MATRIX,
    "e": Family.GS1_DATABAR,
    "o": Family.OCR,
    "p": Family.POSICODE,
    "s": Family.SUPERCODE,
    "z": Family.AZTEC,
}

# Code character + modifier whose data is GS1 element strings (FNC1 in first position).
# d5 and Q4 are d2 / Q3 with an ECI (zxing-cpp offsets); e1/e2 are GS1 Composite packets.
_GS1_DATA: frozenset[str] = frozenset({"C1", "e0", "e1", "e2", "d2", "d5", "Q3", "Q4", "J1"})

# Identifiers whose data is a bare GTIN (or UPC): EAN-13/UPC, EAN-13 with add-on, EAN-8,
# and ITF with its check digit verified (ITF-14 is sent as `]I1`).
_GTIN_DATA: frozenset[str] = frozenset({"E0", "E3", "E4", "I1"})

_NAMES: dict[str, str] = {
    "C1": "GS1-128",
    "E0": "EAN-13/UPC",
    "E1": "EAN 2-digit add-on",
    "E2": "EAN 5-digit add-on",
    "E3": "EAN-13/UPC with add-on",
    "E4": "EAN-8",
    "I1": "ITF-14",
    "e0": "GS1 DataBar",
    "e1": "GS1 Composite",
    "e2": "GS1 Composite",
    "d2": "GS1 DataMatrix",
    "d5": "GS1 DataMatrix",
    "Q3": "GS1 QR Code",
    "Q4": "GS1 QR Code",
    "J1": "GS1 DotCode",
}


@dataclass(frozen=True)
class Symbology:
    code: str
    modifier: str
    family: Family

    @property
    def identifier(self) -> str:
        return f"{FLAG}{self.code}{self.modifier}"

    @property
    def gs1(self) -> bool:
        return f"{self.code}{self.modifier}" in _GS1_DATA

    @property
    def gtin_only(self) -> bool:
        return f"{self.code}{self.modifier}" in _GTIN_DATA

    @property
    def known(self) -> bool:
        return self.family is not Family.UNKNOWN

    @property
    def name(self) -> str:
        return _NAMES.get(f"{self.code}{self.modifier}", self.family.value)

    def __str__(self) -> str:
        return self.identifier


def _modifier_length(code: str, rest: str) -> int | None:
    # `]Y` (system expansion) carries a digit n followed by n more modifier characters.
    if code == "Y":
        if not rest or rest[0] not in "0123456789":
            return None
        return int(rest[0]) + 1
    return 1


def _is_modifier_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def split_prefix(text: str) -> tuple[Symbology | None, str] | None:
    """Split a leading AIM identifier off scanned text.

    Returns (None, text) when there is no `]` flag, (symbology, data) when there is a
    well-formed identifier, and None when the text starts with `]` but the identifier
    is cut short or malformed (a broken read: the caller reports it).
    """
    if not text.startswith(FLAG):
        return None, text
    if len(text) < 3:
        return None
    code = text[1]
    if not (code.isascii() and code.isalpha()):
        return None
    length = _modifier_length(code, text[2:])
    if length is None or len(text) < 2 + length:
        return None
    modifier = text[2 : 2 + length]
    if not all(_is_modifier_char(char) for char in modifier):
        return None
    return Symbology(code=code, modifier=modifier, family=family_of(code)), text[2 + length :]


def family_of(code: str) -> Family:
    return _FAMILIES.get(code, Family.UNKNOWN)


def parse_symbology(identifier: str) -> Symbology | None:
    """The Symbology for an identifier like `]C1`; None when it is not well formed.

    A well-formed identifier with an unassigned code character gives a Symbology with
    `family == Family.UNKNOWN` (Datalogic keeps such reads as generic data too).
    """
    split = split_prefix(identifier)
    if split is None:
        return None
    symbology, rest = split
    if symbology is None or rest:
        return None
    return symbology
