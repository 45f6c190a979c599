"""The labelling step's facts in the wire contract's terms (station.sync.outbound's companion for
station.work.labelling): a matched label is `package_labelled`, a refused scan `scan_rejected`
(the supervisors' mis-scan figures count it like any other)."""

from __future__ import annotations

from pydantic import BaseModel

from shared.contract import events as wire
from station.work import events as work
from station.work.labelling import LabelScanRejected, PackageLabelled


def label_to_wire(event: work.Event, *, operator_id: int | None) -> wire.StationEvent | None:
    if isinstance(event, PackageLabelled):
        kind: wire.EventKind = "package_labelled"
        payload: BaseModel = wire.PackageLabelled(
            package_id=event.package_id,
            tracking_number=event.tracking_number,
            scanned=event.scanned[:200],
        )
    elif isinstance(event, LabelScanRejected):
        kind = "scan_rejected"
        payload = wire.ScanRejected(reason_code=str(event.reason)[:40], barcode=event.raw[:200])
    else:
        return None
    return wire.StationEvent(
        key=str(event.key), kind=kind, order_id=event.order_id, at=event.at,
        operator_id=operator_id, payload=payload.model_dump(mode="json"),
    )  # fmt: skip
