"""Station events for sync tests, made the way the bench makes them (key minted first)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.contract.events import ScanRejected, StationEvent, new_event

AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def mis_scan(n: int) -> StationEvent:
    return new_event(
        kind="scan_rejected", at=AT, payload=ScanRejected(reason_code="wrong_item", barcode=str(n))
    )
