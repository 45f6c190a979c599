"""GS1 element strings and Digital Link URIs -> Gtin / Sscc / Gs1Message / Unknown.

biip does the AI table, patterns, dates and check digits. We walk the element strings
ourselves (biip's own loop is the same few lines) so that a failure names the field
that failed, in words a picker can read, instead of biip's regex dump.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from biip import ParseConfig, ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString

from shared.barcodes.aim import Symbology
from shared.barcodes.values import Gs1Message, Gtin, Interpretation, Sscc, Unknown

GS = "\x1d"

# A message that opens with a complete GTIN (01/02) or SSCC (00) is GS1 even when no
# symbology identifier says so (keyboard-wedge scanners often have AIM ids off).
_KEY_AT_START = re.compile(r"(?:00[0-9]{18}|0[12][0-9]{14})")

_DATE_FIELDS: dict[str, str] = {
    "11": "production date",
    "12": "due date",
    "13": "packaging date",
    "15": "best-before date",
    "16": "sell-by date",
    "17": "expiry date",
}

_FIELD_NAMES: dict[str, str] = {
    "00": "SSCC",
    "01": "GTIN",
    "02": "content GTIN",
    "10": "lot",
    "21": "serial",
    "30": "count",
    "37": "count",
    **_DATE_FIELDS,
}

# Separator GS only (biip's default). Scanners that substitute another character on a
# keyboard wedge must be mapped back to GS by the device layer, per firmware profile.
_CONFIG = ParseConfig(separator_chars=(GS,), gs1_element_strings_verify_date=True)


def starts_with_gs1_key(text: str) -> bool:
    return _KEY_AT_START.match(text) is not None


def _field(ai: str) -> str:
    name = _FIELD_NAMES.get(ai)
    return f"{name} ({ai})" if name else f"field ({ai})"


def _show(text: str) -> str:
    return text[:8].replace(GS, "<GS>")


def _element_problem(ai: GS1ApplicationIdentifier, rest: str) -> str:
    if ai.ai in _DATE_FIELDS:
        digits = rest[len(ai.ai) : len(ai.ai) + 6]
        if len(digits) == 6 and digits.isdigit():
            return f"{_field(ai.ai)} {digits} is not a real date"
        return f"{_field(ai.ai)} is incomplete"
    return f"{_field(ai.ai)} has the wrong length or characters"


def _split(text: str) -> list[GS1ElementString] | str:
    # Leading GS: some scanners send the first FNC1 as GS instead of as `]C1`.
    rest = text.lstrip(GS)
    if not rest:
        return "no GS1 data in barcode"
    elements: list[GS1ElementString] = []
    while rest:
        try:
            ai = GS1ApplicationIdentifier.extract(rest)
        except ParseError:
            return f"not a GS1 field code at '{_show(rest)}'"
        try:
            element = GS1ElementString.extract(rest, config=_CONFIG)
        except ParseError:
            return _element_problem(ai, rest)
        elements.append(element)
        rest = rest[len(element) :].lstrip(GS)
    return elements


def _inner_problem(element: GS1ElementString) -> str | None:
    if not element.value:
        # biip 5.2.0's table lets AI 30 (N..8) match zero digits; GS1 needs at least one.
        return f"{_field(element.ai.ai)} is empty"
    # biip records (not raises) a bad check digit inside 00/01/02/41x; a misread digit
    # must never become a match, so any of these rejects the whole scan.
    if element.gtin_error is not None or element.sscc_error is not None:
        return f"check digit wrong in {_field(element.ai.ai)} {element.value}"
    if element.gln_error is not None:
        return f"check digit wrong in location number ({element.ai.ai}) {element.value}"
    return None


def _to_value(
    elements: Sequence[GS1ElementString], *, raw: str, symbology: Symbology | None
) -> Interpretation:
    values: dict[str, GS1ElementString] = {}
    for element in elements:
        problem = _inner_problem(element)
        if problem is not None:
            return Unknown(raw, problem)
        earlier = values.get(element.ai.ai)
        if earlier is not None and earlier.value != element.value:
            return Unknown(raw, f"barcode has two different values for {_field(element.ai.ai)}")
        values[element.ai.ai] = element
    if "01" in values and "02" in values:
        return Unknown(raw, "barcode has both a GTIN (01) and a content GTIN (02)")

    def gtin14(ai: str) -> str | None:
        element = values.get(ai)
        return element.gtin.as_gtin_14() if element is not None and element.gtin else None

    def text(ai: str) -> str | None:
        element = values.get(ai)
        return element.value if element is not None else None

    if set(values) == {"01"}:
        found = gtin14("01")
        if found is not None:
            return Gtin(found, symbology)
    if set(values) == {"00"}:
        return Sscc(values["00"].value)
    count = text("37") or text("30")
    return Gs1Message(
        raw=raw,
        gtin=gtin14("01"),
        lot=text("10"),
        serial=text("21"),
        expiry=values["17"].date if "17" in values else None,
        best_before=values["15"].date if "15" in values else None,
        count=int(count) if count is not None else None,
        sscc=text("00"),
        content_gtin=gtin14("02"),
    )


def read_element_strings(text: str, *, raw: str, symbology: Symbology | None) -> Interpretation:
    try:
        split = _split(text)
    except Exception:
        # biip is third-party code fed with untrusted scanner bytes; the scan path must
        # answer with a verdict, never crash the bench.
        return Unknown(raw, "unreadable GS1 barcode")
    if isinstance(split, str):
        return Unknown(raw, split)
    return _to_value(split, raw=raw, symbology=symbology)


def read_digital_link(text: str, *, raw: str, symbology: Symbology | None) -> Interpretation | None:
    """A GS1 Digital Link URI as a GS1 value; None when the URL is not a Digital Link."""
    try:
        uri = GS1DigitalLinkURI.parse(text, config=_CONFIG)
    except ParseError:
        # A URL with a GS1 key in its path that then fails is a misread Digital Link;
        # any other URL is just a URL (for instance a maker's web page on the box).
        if re.search(r"/0[012]/", text):
            return Unknown(raw, "unreadable GS1 Digital Link")
        return None
    except Exception:
        return None
    return _to_value(uri.element_strings, raw=raw, symbology=symbology)
