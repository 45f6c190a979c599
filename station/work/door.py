"""What the dispatch door works with: cartons and pickups as the door knows them, the requests it
makes of the server, how those fail, and the verdict of one scan (kept apart from the session in
station.work.dispatch so the view-model and the tests can name them without the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from shared.contract.custody import WaitingPackageOut

Kind = Literal["accepted", "rejected", "needs"]  # the values of station.ui's VerdictKind
Command = Literal["reprint", "void"]


class DoorReason(StrEnum):
    """Why a scan at the door was refused (stable codes, for tests and dashboards)."""

    NO_PICKUP = "no_pickup"
    PICKUP_BUSY = "pickup_busy"  # another carrier's pickup is open, or one is being opened
    PICKUP_CLOSED = "pickup_closed"
    WRONG_CARRIER = "wrong_carrier"
    VOIDED = "voided"
    NOT_LABELLED = "not_labelled"  # the bench never scanned the label onto the carton
    NOT_OURS = "not_ours"
    DUPLICATE = "duplicate"  # already on this pickup: counted once
    NOT_A_LABEL = "not_a_label"  # a badge, bin, box or order card where a label belongs
    UNREADABLE = "unreadable"
    NOT_WAITING = "not_waiting"  # a command's carton is not one this door knows
    AMBIGUOUS = "ambiguous"  # an order number with several cartons
    NEEDS_REASON = "needs_reason"
    AWAITING_APPROVAL = "awaiting_approval"
    NO_PRINTER = "no_printer"
    OFFLINE = "offline"
    REFUSED = "refused"


@dataclass(frozen=True, kw_only=True)
class DoorVerdict:
    kind: Kind
    words: str
    reason: DoorReason | None = None
    counted: bool = False  # a carton went onto the pickup with this answer


@dataclass(frozen=True, kw_only=True)
class Carton:
    """One package with a live label, as the door knows it."""

    package_id: int
    order_id: int
    order_number: str
    package_no: int
    tracking_number: str
    carrier: str
    state: str  # bought (never label-scanned at the bench) | labelled | handed_over

    @property
    def name(self) -> str:
        return f"{self.order_number} box {self.package_no}"


@dataclass(frozen=True, kw_only=True)
class Pickup:
    id: int
    carrier: str
    cartons: int


@dataclass(frozen=True, kw_only=True)
class CustodyException:
    id: int
    order_number: str
    reason: str
    recommendation: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class PendingVoid:
    carton: Carton
    approval_id: int


# -- what the door asks of the server ---------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class OpenPickup:
    carrier: str


@dataclass(frozen=True, kw_only=True)
class ClosePickup:
    pickup_id: int
    carrier: str


@dataclass(frozen=True, kw_only=True)
class HandOver:
    pickup_id: int
    barcode: str


@dataclass(frozen=True, kw_only=True)
class Reprint:
    carton: Carton


@dataclass(frozen=True, kw_only=True)
class Void:
    carton: Carton
    reason: str


Request = OpenPickup | ClosePickup | HandOver | Reprint | Void


# -- how a request failed (the sync layer's two kinds, without importing it) ------------------
@dataclass(frozen=True, kw_only=True)
class Unreachable:
    detail: str


@dataclass(frozen=True, kw_only=True)
class Refused:
    status: int
    detail: str  # the server's words: shown as they are


Failure = Unreachable | Refused


def refusal_reason(failure: Refused) -> DoorReason:
    """The server's refusal as a stable code. Its words are what the loader reads; this is for
    the door's own state (a closed pickup) and for counting, so a miss only costs a code."""
    text = failure.detail.casefold()
    if failure.status == 404 and "not one of our labels" in text:
        return DoorReason.NOT_OURS
    if "voided" in text:
        return DoorReason.VOIDED
    if "never scanned" in text:
        return DoorReason.NOT_LABELLED
    if "goes with" in text:
        return DoorReason.WRONG_CARRIER
    if "pickup" in text and "closed" in text:
        return DoorReason.PICKUP_CLOSED
    return DoorReason.REFUSED


def carton_of(row: WaitingPackageOut) -> Carton:
    return Carton(
        package_id=row.id,
        order_id=row.order_id,
        order_number=row.order_number,
        package_no=row.package_no,
        tracking_number=row.tracking_number,
        carrier=row.carrier,
        state=row.state,
    )
