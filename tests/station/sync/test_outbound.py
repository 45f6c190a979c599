"""Work events become wire events with the same key, a valid payload and the right kind."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from shared.contract import events as wire
from station.sync.outbound import to_wire
from station.work import events as work

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
HEAD = {"at": AT, "order_id": 7, "order_number": "PL0000007"}


def test_pick_completed_carries_every_scan_as_evidence() -> None:
    scan = work.ScannedUnit(barcode="04006381333931", units=6, lot="L1", serial=None, expiry=None)
    ev = work.PickCompleted(**HEAD, lines=(
        work.LineResult(line_no=1, sku="TEA", ordered=6, scanned=6, overridden=0, short=0,
                        scans=(scan,)),
    ))  # fmt: skip
    out = to_wire(ev, operator_id=3)
    assert out is not None and out.key == str(ev.key) and out.kind == "pick_completed"
    payload = wire.parse_payload(out)
    assert isinstance(payload, wire.PickCompleted)
    assert payload.lines[0].units == 6 and payload.lines[0].scans[0].lot == "L1"


def test_override_sends_the_badge_digest_not_the_badge() -> None:
    ev = work.OverrideGranted(**HEAD, stage="pick", line_no=2, sku="MUG", units=1, box_no=None,
                              supervisor_badge="BADGE-0003", operator_badge="BADGE-0002",
                              reason_code="LABEL-TORN")  # fmt: skip
    out = to_wire(ev, operator_id=3)
    assert out is not None and "BADGE-0003" not in out.model_dump_json()
    assert out.payload["supervisor_badge_sha256"] == hashlib.sha256(b"BADGE-0003").hexdigest()


def test_short_pick_and_local_only_events() -> None:
    short = work.ShortPick(**HEAD, line_no=1, sku="MUG", ordered=3, picked=1, short=2,
                           reason_code="EMPTY-BIN")  # fmt: skip
    out = to_wire(short, operator_id=None)
    assert out is not None and out.payload["missing_qty"] == 2
    assert to_wire(work.BinConfirmed(**HEAD, location="A-01-01"), operator_id=1) is None
