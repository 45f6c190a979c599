"""What a scan means at the bench: every card prefix, GS1 items, and the ambiguous cases."""

from __future__ import annotations

from datetime import date

import pytest

from station.devices.scanner import RawScan
from station.work.scan import (
    BadgeScan,
    BinScan,
    BoxTypeScan,
    ItemScan,
    OrderScan,
    ReasonScan,
    ScanContext,
    StationScan,
    ToteScan,
    TrackingScan,
    UnknownScan,
    normalise_alias,
    read,
    read_text,
)

CASES: list[tuple[str, str | None, StationScan]] = [
    ("BADGE-0003", None, BadgeScan(raw="BADGE-0003", badge="BADGE-0003")),
    ("BIN-A-01-02", None, BinScan(raw="BIN-A-01-02", location="A-01-02")),
    ("A-01-02", None, BinScan(raw="A-01-02", location="A-01-02")),
    ("TOTE-0042", None, ToteScan(raw="TOTE-0042", tote="TOTE-0042")),
    ("BOX-M", "]C0", BoxTypeScan(raw="BOX-M", box_type="BOX-M")),
    ("PL0001001", None, OrderScan(raw="PL0001001", number="PL0001001")),
    ("REASON-NOT-FOUND", None, ReasonScan(raw="REASON-NOT-FOUND", code="NOT-FOUND")),
    (
        "1Z999AA10123456784",
        None,
        TrackingScan(raw="1Z999AA10123456784", tracking="1Z999AA10123456784"),
    ),
    ("RR123456785NL", None, TrackingScan(raw="RR123456785NL", tracking="RR123456785NL")),
    (
        "4006381333931",
        "]E0",
        ItemScan(raw="4006381333931", code="04006381333931", gtin="04006381333931"),
    ),
    (
        "]C10105012345678900172612311 0L2611".replace(" ", ""),
        None,
        ItemScan(
            raw="]C101050123456789001726123110L2611",
            code="05012345678900",
            gtin="05012345678900",
            lot="L2611",
            expiry=date(2026, 12, 31),
        ),
    ),
]


@pytest.mark.parametrize(("text", "symbology", "expected"), CASES)
def test_bench_conventions(text: str, symbology: str | None, expected: StationScan) -> None:
    assert read_text(text, symbology_id=symbology) == expected


UNKNOWN: list[tuple[str, str]] = [
    ("4006381333932", "check digit"),  # one digit misread: never a false match
    ("376104250021234569", "SSCC"),  # a pallet/parcel label is not a product
    ("]C1020501234567890037 6".replace(" ", ""), "pallet"),  # AI 02 + 37: content of a pallet
    ("BADGE-", "badge"),
    ("BIN-", "bin"),
    ("BOX-m x", "box"),
    ("SOMETHING-ELSE", "not known"),
    ("\x00\x01garbage", "control"),
    ("", "empty"),
]


@pytest.mark.parametrize(("text", "words"), UNKNOWN)
def test_unknown_scans_say_why(text: str, words: str) -> None:
    scan = read_text(text)
    assert isinstance(scan, UnknownScan)
    assert words.lower() in scan.reason.lower()


def test_exact_matches_from_the_work_win_over_prefixes() -> None:
    context = ScanContext(
        aliases=frozenset({"BOX-1"}),
        locations=frozenset({"DOCK7"}),
        tracking_numbers=frozenset({"376104250021234569", "0012345678"}),
    )
    assert isinstance(read_text("BOX-1", context=context), ItemScan)
    assert read_text("DOCK7", context=context) == BinScan(raw="DOCK7", location="DOCK7")
    assert isinstance(read_text("376104250021234569", context=context), TrackingScan)
    assert isinstance(read_text("0012345678", context=context), TrackingScan)


def test_reads_a_device_scan_with_its_symbology() -> None:
    raw = RawScan(text="0105012345678900\x1d10L1", symbology_id="]C1", received_at_ns=0)
    scan = read(raw)
    assert isinstance(scan, ItemScan)
    assert (scan.gtin, scan.lot) == ("05012345678900", "L1")


@pytest.mark.parametrize(
    ("value", "key"),
    [("4006381333931", "04006381333931"), ("15012345678907", "15012345678907"), ("MUG-1", "MUG-1")],
)
def test_catalog_aliases_normalise_like_scans(value: str, key: str) -> None:
    assert normalise_alias(value) == key
