"""What the bench tells the server: work-session events in the wire contract's terms.

The session's own idempotency key is kept, so the journal, the server and the session all name
an event the same way. Events the server has no use for (a bin confirmed, a box type chosen)
return None and stay local.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

from shared.contract import events as wire
from station.work import events as work


def _unit(scan: work.ScannedUnit) -> wire.PickedUnit:
    return wire.PickedUnit(
        barcode=scan.barcode, units=scan.units, lot=scan.lot or "", serial=scan.serial or "",
        expiry=scan.expiry.isoformat() if scan.expiry else None,
    )  # fmt: skip


def _payload(event: work.Event) -> tuple[wire.EventKind, BaseModel] | None:
    match event:
        case work.PickCompleted(lines=lines):
            return "pick_completed", wire.PickCompleted(lines=[
                wire.PickedLine(line_no=x.line_no, sku=x.sku, units=x.scanned + x.overridden,
                                scans=[_unit(s) for s in x.scans])
                for x in lines
            ])  # fmt: skip
        case work.ShortPick(line_no=line_no, short=short, reason_code=code, sku=sku):
            return "short_pick", wire.ShortPick(
                line_no=line_no, missing_qty=short, reason_code=code, note=f"short on {sku}"
            )
        case work.PackCompleted(boxes=boxes):
            return "pack_completed", wire.PackCompleted(boxes=[
                wire.PackedBox(box_type=b.box_type, units=b.units, measured_weight_g=b.measured_g,
                               expected_weight_g=b.expected_g)
                for b in boxes
            ])  # fmt: skip
        case work.OverrideGranted():
            return "override", wire.Override(
                supervisor_badge_sha256=hashlib.sha256(event.supervisor_badge.encode()).hexdigest(),
                reason=event.reason_code, line_no=event.line_no,
                bypassed="weight" if event.line_no is None else f"scan of {event.units} unit(s)",
            )  # fmt: skip
        case work.PickRejected(reason=reason, raw=raw) | work.PackRejected(reason=reason, raw=raw):
            return "scan_rejected", wire.ScanRejected(reason_code=str(reason)[:40],
                                                      barcode=raw[:200])  # fmt: skip
        case work.UnitPicked() | work.UnitPacked():
            kind: wire.EventKind = "unit_picked" if isinstance(event, work.UnitPicked) else (
                "unit_packed"
            )  # fmt: skip
            return kind, wire.UnitScanned(
                line_no=event.line_no, barcode=event.barcode[:80], units=event.units,
                lot=event.lot or "", serial=event.serial or "",
            )  # fmt: skip
    return None


def to_wire(event: work.Event, *, operator_id: int | None) -> wire.StationEvent | None:
    found = _payload(event)
    if found is None:
        return None
    kind, payload = found
    return wire.StationEvent(
        key=str(event.key), kind=kind, order_id=event.order_id, at=event.at,
        operator_id=operator_id, payload=payload.model_dump(mode="json"),
    )  # fmt: skip
