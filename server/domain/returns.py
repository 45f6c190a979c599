"""Returns: what an RMA may authorise, how a received unit is matched or flagged, and what each
triage decision does to stock (domain.md Ledger and Four-eyes; floor.md Returns clerks).

A received unit always goes into quarantine first; only a recorded triage decision moves it on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from server.domain.errors import ValidationFailed
from server.domain.ledger import MovementReason
from server.domain.locations import LocationKind
from server.domain.orders import OrderState


class RmaState(StrEnum):
    OPEN = "open"  # authorised, nothing received yet
    RECEIVING = "receiving"  # some units in, or some not yet triaged
    RECEIVED = "received"  # every authorised unit is in; triage outstanding
    CLOSED = "closed"  # every authorised unit in and every received unit triaged


class Condition(StrEnum):
    SELLABLE = "sellable"
    OPENED = "opened"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    MISSING_PARTS = "missing_parts"


class Flag(StrEnum):
    NOT_ON_ORDER = "not_on_order"
    NOT_AUTHORISED = "not_authorised"
    UNKNOWN_ITEM = "unknown_item"


class UnitState(StrEnum):
    QUARANTINED = "quarantined"
    RESTOCKED = "restocked"
    DAMAGED = "damaged"
    SCRAPPED = "scrapped"
    VENDOR = "vendor"


class Decision(StrEnum):
    RESTOCK = "restock"
    DAMAGED = "damaged"
    SCRAP = "scrap"
    VENDOR = "vendor"


class RefundState(StrEnum):
    TRIGGERED = "triggered"
    AWAITING_APPROVAL = "awaiting_approval"


# Goods must have left the building before they can come back.
RETURNABLE: frozenset[OrderState] = frozenset(
    {OrderState.HANDED_OVER, OrderState.SHIPPED, OrderState.DELIVERED}
)
# Only a unit a clerk found sellable (or merely opened) may go back on a shelf.
RESTOCKABLE: frozenset[Condition] = frozenset({Condition.SELLABLE, Condition.OPENED})

_DESTINATION: dict[Decision, LocationKind] = {
    Decision.RESTOCK: LocationKind.BIN,
    Decision.DAMAGED: LocationKind.DAMAGED,
    Decision.SCRAP: LocationKind.ADJUSTMENT_LOSS,
    Decision.VENDOR: LocationKind.VENDOR,
}
_AFTER: dict[Decision, UnitState] = {
    Decision.RESTOCK: UnitState.RESTOCKED,
    Decision.DAMAGED: UnitState.DAMAGED,
    Decision.SCRAP: UnitState.SCRAPPED,
    Decision.VENDOR: UnitState.VENDOR,
}


def destination_kind(decision: Decision) -> LocationKind:
    return _DESTINATION[decision]


def state_after(decision: Decision) -> UnitState:
    return _AFTER[decision]


def movement_reason(decision: Decision) -> MovementReason:
    return MovementReason.SCRAP if decision is Decision.SCRAP else MovementReason.TRIAGE


def check_authorisation(
    *,
    order_state: OrderState,
    requested: Mapping[int, int],
    ordered: Mapping[int, int],
    authorised_before: Mapping[int, int],
) -> None:
    """An RMA authorises at most what was ordered, less what earlier RMAs already authorised.
    Keys are order line numbers."""
    if order_state not in RETURNABLE:
        raise ValidationFailed(
            f"the order is {order_state.value}: only an order that has left the warehouse "
            "can be returned"
        )
    if not requested:
        raise ValidationFailed("an RMA needs at least one line")
    for line_no, qty in sorted(requested.items()):
        if line_no not in ordered:
            raise ValidationFailed(f"the order has no line {line_no}")
        if qty <= 0:
            raise ValidationFailed(f"line {line_no}: a return needs a positive quantity")
        left = ordered[line_no] - authorised_before.get(line_no, 0)
        if qty > left:
            raise ValidationFailed(
                f"line {line_no}: {qty} unit(s) asked, only {max(left, 0)} left to authorise"
            )


@dataclass(frozen=True, slots=True)
class LineFacts:
    line_id: int
    sku_id: int
    authorised: int
    received: int


@dataclass(frozen=True, slots=True)
class UnitMatch:
    line_id: int | None
    flag: Flag | None


def match_unit(
    *, sku_id: int | None, lines: Sequence[LineFacts], order_skus: frozenset[int]
) -> UnitMatch:
    """The RMA line a received unit counts against, or why it is flagged. The first line of
    the SKU with room wins (an order may list a SKU twice)."""
    if sku_id is None:
        return UnitMatch(None, Flag.UNKNOWN_ITEM)
    for line in lines:
        if line.sku_id == sku_id and line.received < line.authorised:
            return UnitMatch(line.line_id, None)
    if sku_id in order_skus:
        return UnitMatch(None, Flag.NOT_AUTHORISED)
    return UnitMatch(None, Flag.NOT_ON_ORDER)


def is_high_value(value: Decimal | None, threshold: Decimal) -> bool:
    return value is not None and value > threshold


def refund_state(*, amount: Decimal, threshold: Decimal) -> RefundState:
    """Refunds trigger on receipt; a high-value one waits for a second person's approval of the
    refund itself (its own four-eyes request, whatever triage decides)."""
    if is_high_value(amount, threshold):
        return RefundState.AWAITING_APPROVAL
    return RefundState.TRIGGERED


def check_triage(
    *,
    decision: Decision,
    state: UnitState,
    condition: Condition,
    sku_known: bool,
    lot_missing: bool,
) -> None:
    if state is not UnitState.QUARANTINED:
        raise ValidationFailed(f"this unit was already triaged ({state.value})")
    if decision is Decision.RESTOCK:
        if condition not in RESTOCKABLE:
            raise ValidationFailed(
                f"a unit recorded as {condition.value.replace('_', ' ')} cannot go back to stock"
            )
        if lot_missing:
            raise ValidationFailed("the lot of this unit is unknown: it cannot go back to stock")
    if not sku_known and decision in (Decision.RESTOCK, Decision.DAMAGED):
        raise ValidationFailed(
            "the item is not in the catalog: it can only be scrapped or sent to the vendor"
        )


def needs_approval(*, decision: Decision, value: Decimal | None, threshold: Decimal) -> bool:
    """Four-eyes (domain.md): restocking a high-value return needs a second person."""
    return decision is Decision.RESTOCK and is_high_value(value, threshold)


def rma_state(*, authorised: int, received: int, units: int, triaged: int) -> RmaState:
    """`received` counts units matched to RMA lines; `units` every unit, flagged ones too."""
    if units == 0:
        return RmaState.OPEN
    if received < authorised:
        return RmaState.RECEIVING
    return RmaState.CLOSED if triaged >= units else RmaState.RECEIVED
