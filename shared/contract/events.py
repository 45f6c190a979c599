"""Station events: what a bench reports, journaled first and replayed with idempotency keys.

The envelope (`StationEvent`) is checked when a batch arrives; each kind's payload is checked one
event at a time by the server (`parse_payload`), so one malformed event is rejected on its own
instead of refusing the batch and blocking every event queued behind it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from shared.contract.common import Id, Model

EventKind = Literal[
    "pick_completed",
    "short_pick",
    "pack_completed",
    "override",
    "scan_rejected",
    "unit_picked",
    "unit_packed",
    "package_labelled",
]
# Kinds that only leave a row for the supervisors' figures; nothing else changes on the server.
RECORDED_ONLY: frozenset[str] = frozenset({"scan_rejected", "unit_picked", "unit_packed"})
MAX_BATCH = 500

ResultStatus = Literal["applied", "duplicate", "rejected"]
FirstOutcome = Literal["applied", "rejected"]


class PickedUnit(Model):
    barcode: str = Field(min_length=1, max_length=80)
    units: int = Field(ge=1, le=100_000)
    lot: str = Field(default="", max_length=60)
    serial: str = Field(default="", max_length=80)
    expiry: str | None = Field(default=None, max_length=10)  # ISO date from GS1 AI 17


class PickedLine(Model):
    line_no: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=80)
    units: int = Field(ge=0)
    scans: list[PickedUnit] = Field(default_factory=list, max_length=10_000)


class PickCompleted(Model):
    lines: list[PickedLine] = Field(min_length=1, max_length=1000)


class ShortPick(Model):
    line_no: int = Field(ge=1)
    missing_qty: int = Field(ge=1)
    reason_code: str = Field(min_length=1, max_length=40)
    note: str = Field(default="", max_length=500)


class PackedBox(Model):
    box_type: str = Field(min_length=1, max_length=40)
    units: int = Field(ge=1)
    measured_weight_g: int | None = Field(default=None, ge=0)
    expected_weight_g: int | None = Field(default=None, ge=0)


class PackCompleted(Model):
    boxes: list[PackedBox] = Field(min_length=1, max_length=200)


class Override(Model):
    # The bench knows the badge it scanned, not the person's id; it sends the badge's SHA-256,
    # the same digest the server stores and hands out for offline checks.
    supervisor_badge_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    reason: str = Field(min_length=1, max_length=500)
    line_no: int | None = Field(default=None, ge=1)
    bypassed: str = Field(default="", max_length=80)  # what the override skipped, e.g. "scan"


class ScanRejected(Model):
    reason_code: str = Field(min_length=1, max_length=40)
    barcode: str = Field(default="", max_length=200)


class UnitScanned(Model):
    line_no: int = Field(ge=1)
    barcode: str = Field(min_length=1, max_length=80)
    units: int = Field(default=1, ge=1)
    lot: str = Field(default="", max_length=60)
    serial: str = Field(default="", max_length=80)


class PackageLabelled(Model):
    """The packer scanned a printed carrier label onto its carton: the scan is the evidence."""

    package_id: Id
    tracking_number: str = Field(min_length=1, max_length=80)
    scanned: str = Field(min_length=1, max_length=200)  # the barcode as read, for the record


PAYLOADS: dict[str, type[Model]] = {
    "pick_completed": PickCompleted,
    "short_pick": ShortPick,
    "pack_completed": PackCompleted,
    "override": Override,
    "scan_rejected": ScanRejected,
    "unit_picked": UnitScanned,
    "unit_packed": UnitScanned,
    "package_labelled": PackageLabelled,
}
# Kinds about one order: without an order id they are rejected.
NEEDS_ORDER: frozenset[str] = frozenset(
    {"pick_completed", "short_pick", "pack_completed", "override", "unit_picked", "unit_packed"}
) | {"package_labelled"}


class StationEvent(Model):
    key: str = Field(min_length=8, max_length=64)  # idempotency key, a uuid4 made at the bench
    kind: EventKind
    order_id: Id | None = None
    at: datetime
    operator_id: Id | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class EventBatch(Model):
    events: list[StationEvent] = Field(min_length=1, max_length=MAX_BATCH)


class EventResult(Model):
    key: str
    status: ResultStatus
    detail: str = ""
    # For a duplicate: what happened the first time, so a replayed rejection stays a rejection.
    original: FirstOutcome | None = None


class EventResults(Model):
    results: list[EventResult]


class OrderChanged(Model):
    """Body of the `order-changed` server-sent event."""

    order_id: int
    state: str
    change: str = ""


def new_event(
    *,
    kind: EventKind,
    at: datetime,
    payload: BaseModel,
    order_id: int | None = None,
    operator_id: int | None = None,
) -> StationEvent:
    """The bench's constructor: the idempotency key is minted here, before anything is sent."""
    return StationEvent(
        key=str(uuid.uuid4()),
        kind=kind,
        order_id=order_id,
        at=at,
        operator_id=operator_id,
        payload=payload.model_dump(mode="json"),
    )


def parse_payload(event: StationEvent) -> Model:
    """The typed payload of one event; ValueError with a readable reason if it does not fit."""
    try:
        return PAYLOADS[event.kind].model_validate(event.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "payload"
        raise ValueError(f"{event.kind} payload is not valid: {where}: {first['msg']}") from exc
