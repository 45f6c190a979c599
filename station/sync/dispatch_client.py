"""The dispatch door's link to the server: pickups, handover scans, what still waits, label
reprint and void (and the approval a void after handover waits for), custody exceptions. A
small Protocol; its implementation composes HttpGateway.call / call_bytes (one place for
transport errors and problem words); FakeDispatch beside it answers like the server, with the
server's words, for the demo and the UI tests.

Blocking calls: run them through station.ui.background, never on the GUI thread.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from shared.contract.approvals import ApprovalItemOut, payload_digest
from shared.contract.custody import (
    HandedOverPackage,
    HandoverIn,
    HandoverOut,
    PickupIn,
    PickupOut,
    VoidIn,
    WaitingPackageOut,
)
from shared.contract.orders import ExceptionOut
from shared.contract.shipping import PackageOut
from shared.tracking import tracking_matches
from station.sync.client import ServerRefused, ServerUnavailable, parse_as

log = logging.getLogger(__name__)

VoidOutcome = PackageOut | ApprovalItemOut  # voided now, or a supervisor must approve (202)


class DispatchClient(Protocol):
    def open_pickup(self, *, carrier: str) -> PickupOut: ...

    def pickup(self, *, pickup_id: int) -> PickupOut: ...

    def close_pickup(self, *, pickup_id: int) -> PickupOut: ...

    def hand_over(self, *, pickup_id: int, barcode: str) -> HandoverOut: ...

    def waiting(self) -> list[WaitingPackageOut]: ...

    def awaiting_carrier(self) -> list[WaitingPackageOut]: ...

    def label(self, *, package_id: int) -> bytes: ...

    def void(self, *, package_id: int, reason: str) -> VoidOutcome: ...

    def custody_exceptions(self) -> list[ExceptionOut]: ...

    def approval(self, *, approval_id: int) -> ApprovalItemOut: ...


class Caller(Protocol):
    """What HttpGateway offers feature clients."""

    def call(self, method: str, path: str, **kw: Any) -> Any: ...

    def call_bytes(self, method: str, path: str, **kw: Any) -> bytes: ...


class HttpDispatchClient:
    def __init__(self, *, gateway: Caller, void_timeout_s: float = 60.0) -> None:
        self._gateway = gateway
        # A void asks the carrier for a refund inside the call: longer than a usual call.
        self._void_timeout_s = void_timeout_s

    def open_pickup(self, *, carrier: str) -> PickupOut:
        # model_construct: the server validates and answers in words; a local pydantic error
        # would only hide them.
        body = PickupIn.model_construct(carrier=carrier).model_dump(mode="json")
        return parse_as(PickupOut, self._gateway.call("POST", "/pickups", json=body))

    def pickup(self, *, pickup_id: int) -> PickupOut:
        return parse_as(PickupOut, self._gateway.call("GET", f"/pickups/{pickup_id}"))

    def close_pickup(self, *, pickup_id: int) -> PickupOut:
        return parse_as(PickupOut, self._gateway.call("POST", f"/pickups/{pickup_id}/close"))

    def hand_over(self, *, pickup_id: int, barcode: str) -> HandoverOut:
        body = HandoverIn.model_construct(barcode=barcode).model_dump(mode="json")
        data = self._gateway.call("POST", f"/pickups/{pickup_id}/scans", json=body)
        return parse_as(HandoverOut, data)

    def waiting(self) -> list[WaitingPackageOut]:
        return _list_of(WaitingPackageOut, self._gateway.call("GET", "/dispatch/waiting"))

    def awaiting_carrier(self) -> list[WaitingPackageOut]:
        """Handed over, not scanned by a carrier yet (any door): what a void needs approval for."""
        data = self._gateway.call("GET", "/dispatch/awaiting-carrier")
        return _list_of(WaitingPackageOut, data)

    def label(self, *, package_id: int) -> bytes:
        return self._gateway.call_bytes("GET", f"/packages/{package_id}/label")

    def void(self, *, package_id: int, reason: str) -> VoidOutcome:
        body = VoidIn.model_construct(reason=reason).model_dump(mode="json")
        data = self._gateway.call(
            "POST", f"/packages/{package_id}/void", json=body, timeout=self._void_timeout_s
        )
        # 200 is the voided package, 202 the approval request: told apart by shape, since
        # `call` answers the body only.
        if isinstance(data, dict) and "operation" in data:
            return parse_as(ApprovalItemOut, data)
        return parse_as(PackageOut, data)

    def custody_exceptions(self) -> list[ExceptionOut]:
        data = self._gateway.call("GET", "/exceptions", params={"state": "open", "kind": "custody"})
        return _list_of(ExceptionOut, data)

    def approval(self, *, approval_id: int) -> ApprovalItemOut:
        """A void's approval request as it stands: pending, executed, refused or failed."""
        return parse_as(ApprovalItemOut, self._gateway.call("GET", f"/approvals/{approval_id}"))


def _list_of(model: Any, data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise ServerUnavailable(f"the server's {model.__name__} answer is not a list")
    return [parse_as(model, x) for x in data]


class PickupMemory:
    """Which pickup this door has open, kept across a restart (the id lives on the server; a
    door that forgot it would open a second pickup for the same truck)."""

    def __init__(self, *, path: Path) -> None:
        self.path = path

    def load(self) -> int | None:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8")).get("pickup_id")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            log.warning("ignoring unreadable %s", self.path)
            return None
        return value if isinstance(value, int) and value > 0 else None

    def save(self, pickup_id: int | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"pickup_id": pickup_id}), encoding="utf-8")
        temporary.replace(self.path)  # never a half-written file after a power cut


# -- the fake -----------------------------------------------------------------------------------
@dataclass(kw_only=True)
class FakeParcel:
    id: int
    order_id: int
    order_number: str
    package_no: int
    tracking_number: str
    carrier: str
    service: str = "Ground"
    state: str = "labelled"
    provider: str = "easypost"
    pickup_id: int | None = None


class FakeDispatch:
    """In-memory dispatch server with the real one's rules and words. Thread-safe (called from
    the background pool); can go offline."""

    def __init__(self, *, parcels: Sequence[FakeParcel] = (), operator_id: int = 1) -> None:
        self._lock = threading.Lock()
        self.parcels = {p.id: p for p in parcels}
        self.pickups: dict[int, PickupOut] = {}
        self.exceptions: list[ExceptionOut] = []
        self.approvals: list[ApprovalItemOut] = []
        self.online = True
        self.calls: list[str] = []
        self._operator_id = operator_id
        self._ids = itertools.count(1)

    def open_pickup(self, *, carrier: str) -> PickupOut:
        with self._lock:
            self._enter(f"open {carrier}")
            if not carrier.strip():
                raise _refused(422, "say which carrier is collecting")
            pickup = PickupOut(
                id=next(self._ids),
                carrier=carrier.strip(),
                state="open",
                cartons=0,
                opened_at=_now(),
                closed_at=None,
            )
            self.pickups[pickup.id] = pickup
            return pickup

    def pickup(self, *, pickup_id: int) -> PickupOut:
        with self._lock:
            self._enter(f"pickup {pickup_id}")
            return self._pickup(pickup_id)

    def close_pickup(self, *, pickup_id: int) -> PickupOut:
        with self._lock:
            self._enter(f"close {pickup_id}")
            pickup = self._pickup(pickup_id)
            if pickup.state != "open":
                raise _refused(422, f"pickup {pickup_id} is already closed")
            self.pickups[pickup_id] = pickup.model_copy(
                update={"state": "closed", "closed_at": _now()}
            )
            return self._pickup(pickup_id)

    def hand_over(self, *, pickup_id: int, barcode: str) -> HandoverOut:
        with self._lock:
            self._enter(f"scan {barcode}")
            pickup = self._pickup(pickup_id)
            if pickup.state != "open":
                raise _refused(422, f"pickup {pickup_id} is closed: open a new one")
            p = self._by_scan(barcode)
            if p.state == "voided":
                raise _refused(
                    422,
                    f"label {p.tracking_number} was VOIDED: do not ship this "
                    "carton, take it back to the bench for a new label",
                )
            if p.carrier.casefold() != pickup.carrier.casefold():
                raise _refused(
                    422, f"this carton goes with {p.carrier}, not {pickup.carrier}: keep it back"
                )
            duplicate = p.state == "handed_over" and p.pickup_id == pickup_id
            if not duplicate:
                if p.state == "bought":
                    raise _refused(
                        422,
                        f"the label {p.tracking_number} was never scanned onto "
                        "the carton at the bench: take it back to be checked",
                    )
                if p.state != "labelled":
                    raise _refused(
                        409,
                        f"a package that is {p.state.replace('_', ' ')} cannot become handed over",
                    )
                p.state, p.pickup_id = "handed_over", pickup_id
            order = [
                x for x in self.parcels.values() if x.order_id == p.order_id and x.state != "voided"
            ]
            remaining = sum(1 for x in order if x.state in ("bought", "labelled"))
            done = all(x.state == "handed_over" for x in order)
            return HandoverOut(
                package=HandedOverPackage(
                    id=p.id,
                    package_no=p.package_no,
                    tracking_number=p.tracking_number,
                    carrier=p.carrier,
                    state=p.state,
                ),
                order_id=p.order_id,
                order_state="handed_over" if done else "labelled",
                duplicate=duplicate,
                remaining=remaining,
            )

    def waiting(self) -> list[WaitingPackageOut]:
        with self._lock:
            self._enter("waiting")
            return self._listed(("bought", "labelled"))

    def awaiting_carrier(self) -> list[WaitingPackageOut]:
        with self._lock:
            self._enter("awaiting-carrier")
            return self._listed(("handed_over",))

    def _listed(self, states: tuple[str, ...]) -> list[WaitingPackageOut]:
        return [
            WaitingPackageOut(
                id=p.id,
                order_id=p.order_id,
                order_number=p.order_number,
                package_no=p.package_no,
                tracking_number=p.tracking_number,
                carrier=p.carrier,
                service=p.service,
                state=p.state,
                created_at=_now(),
            )
            for p in sorted(self.parcels.values(), key=lambda x: x.id)
            if p.state in states
        ]

    def label(self, *, package_id: int) -> bytes:
        with self._lock:
            self._enter(f"label {package_id}")
            p = self._parcel(package_id)
            if p.state not in ("bought", "labelled", "handed_over"):
                raise _refused(422, f"package {package_id} has no label to print ({p.state})")
            return fake_label(p.tracking_number, p.carrier)

    def void(self, *, package_id: int, reason: str) -> VoidOutcome:
        with self._lock:
            self._enter(f"void {package_id}")
            p = self._parcel(package_id)
            if p.state in ("bought", "labelled"):
                p.state = "voided"
                return PackageOut(
                    id=p.id,
                    package_no=p.package_no,
                    provider=p.provider,
                    carrier=p.carrier,
                    service=p.service,
                    tracking_number=p.tracking_number,
                    state=p.state,
                )
            if p.state == "handed_over":
                payload = {"package_id": p.id, "tracking_number": p.tracking_number}
                approval = ApprovalItemOut(
                    id=next(self._ids),
                    operation="void_after_handover",
                    payload=payload,
                    payload_hash=payload_digest(payload),
                    reason=reason or "void a label after handover",
                    requested_by=self._operator_id,
                    state="pending",
                    decided_by=None,
                    decision_reason=None,
                    result=None,
                    created_at=_now(),
                )
                self.approvals.append(approval)
                return approval
            raise _refused(
                422,
                f"package {package_id} is {p.state.replace('_', ' ')}: its label cannot be voided",
            )

    def custody_exceptions(self) -> list[ExceptionOut]:
        with self._lock:
            self._enter("exceptions")
            return [x for x in self.exceptions if x.kind == "custody" and x.state == "open"]

    def approval(self, *, approval_id: int) -> ApprovalItemOut:
        with self._lock:
            self._enter(f"approval {approval_id}")
            for a in self.approvals:
                if a.id == approval_id:
                    return a
            raise _refused(404, f"approval request {approval_id} does not exist")

    def decide(
        self, *, approval_id: int, approve: bool, reason: str, by: tuple[int, str] = (2, "Sam")
    ) -> ApprovalItemOut:
        """A supervisor decides, as at the approvals screen (not part of the door's client):
        approved, the void is carried out then (executed) or cannot be (failed), as the server's
        executor does."""
        with self._lock:
            index = next((i for i, a in enumerate(self.approvals) if a.id == approval_id), None)
            if index is None:
                raise _refused(404, f"approval request {approval_id} does not exist")
            current = self.approvals[index]
            if current.state != "pending":
                raise _refused(409, f"approval request {approval_id} is already {current.state}")
            state, result = "refused", None
            if approve:
                p = self._parcel(int(current.payload["package_id"]))
                if p.state == "handed_over" and p.tracking_number == current.payload.get(
                    "tracking_number"
                ):
                    p.state = "voided"
                    state, result = "executed", {"package_id": p.id, "state": p.state}
                else:
                    detail = f"package {p.id} is {p.state} now: nothing voided"
                    state, result = "failed", {"error": "ValidationFailed", "detail": detail}
            decided = current.model_copy(
                update={
                    "state": state,
                    "decided_by": by[0],
                    "decided_by_name": by[1],
                    "decision_reason": reason,
                    "result": result,
                    "decided_at": _now(),
                }
            )
            self.approvals[index] = decided
            return decided

    def _enter(self, call: str) -> None:
        self.calls.append(call)
        if not self.online:
            raise ServerUnavailable("fake dispatch server is offline")

    def _pickup(self, pickup_id: int) -> PickupOut:
        pickup = self.pickups.get(pickup_id)
        if pickup is None:
            raise _refused(404, f"pickup {pickup_id} does not exist")
        cartons = sum(
            1 for p in self.parcels.values() if p.pickup_id == pickup_id and p.state != "voided"
        )
        return pickup.model_copy(update={"cartons": cartons})

    def _parcel(self, package_id: int) -> FakeParcel:
        p = self.parcels.get(package_id)
        if p is None:
            raise _refused(404, f"package {package_id} does not exist")
        return p

    def _by_scan(self, barcode: str) -> FakeParcel:
        # Like the server: a live label wins over a voided one with the same number.
        ranked = sorted(self.parcels.values(), key=lambda p: (p.state == "voided", -p.id))
        for p in ranked:
            if tracking_matches(scanned=barcode, tracking_number=p.tracking_number):
                return p
        raise _refused(
            404, f"{barcode.strip()[:40]!r} is not one of our labels: keep the carton back"
        )


def fake_label(tracking_number: str, carrier: str) -> bytes:
    return (
        f"^XA^FO40,40^A0N,40,40^FD{carrier}^FS^FO40,110^BY3^BCN,120,Y,N,N^FD{tracking_number}^FS^XZ"
    ).encode()


def _refused(status: int, detail: str) -> ServerRefused:
    return ServerRefused(status=status, detail=detail)


def _now() -> datetime:
    return datetime.now(UTC)
