"""The order state machine and the evidence each transition needs (domain.md, Orders and evidence).

A transition is legal only along the edges below and only with its evidence present; the caller
stores the evidence with the transition row, so "why is this order released?" always has an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from server.domain.errors import InvalidTransition, MissingEvidence, OrderLocked


class OrderState(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    ON_HOLD = "on_hold"
    ALLOCATED = "allocated"
    BACKORDERED = "backordered"
    PREORDER = "preorder"
    RELEASED = "released"
    PICKING = "picking"
    PICKED = "picked"
    PACKING = "packing"
    PACKED = "packed"
    LABELLED = "labelled"
    HANDED_OVER = "handed_over"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


S = OrderState

# Before picking starts an order may be edited or cancelled freely (its reservations are released);
# from picking on, goods are in someone's hands and changes need a return or an approval.
EDITABLE: frozenset[OrderState] = frozenset(
    {S.RECEIVED, S.ACCEPTED, S.ON_HOLD, S.ALLOCATED, S.BACKORDERED, S.PREORDER, S.RELEASED}
)
# States that hold active reservations.
RESERVING: frozenset[OrderState] = frozenset(
    {S.ALLOCATED, S.RELEASED, S.PICKING, S.PICKED, S.PACKING, S.PACKED, S.LABELLED, S.HANDED_OVER}
)
TERMINAL: frozenset[OrderState] = frozenset({S.DELIVERED, S.CANCELLED})

_EDGES: dict[OrderState, frozenset[OrderState]] = {
    S.RECEIVED: frozenset({S.ACCEPTED, S.ON_HOLD, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.ALLOCATED, S.BACKORDERED, S.PREORDER, S.ON_HOLD, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.ACCEPTED, S.ON_HOLD, S.CANCELLED}),
    S.BACKORDERED: frozenset({S.ALLOCATED, S.ACCEPTED, S.ON_HOLD, S.CANCELLED}),
    S.PREORDER: frozenset({S.ALLOCATED, S.ACCEPTED, S.ON_HOLD, S.CANCELLED}),
    S.ALLOCATED: frozenset({S.RELEASED, S.ACCEPTED, S.ON_HOLD, S.CANCELLED}),
    S.RELEASED: frozenset({S.PICKING, S.ACCEPTED, S.ON_HOLD, S.CANCELLED}),
    S.PICKING: frozenset({S.PICKED}),
    S.PICKED: frozenset({S.PACKING}),
    S.PACKING: frozenset({S.PACKED}),
    S.PACKED: frozenset({S.LABELLED}),
    # Back to packed only when every label was voided (the carton needs a new one).
    S.LABELLED: frozenset({S.HANDED_OVER, S.SHIPPED, S.PACKED}),
    S.HANDED_OVER: frozenset({S.SHIPPED, S.PACKED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Evidence keys each target state needs; every one must be present and non-empty.
REQUIRED_EVIDENCE: dict[OrderState, tuple[str, ...]] = {
    S.ACCEPTED: ("validation",),
    S.ON_HOLD: ("exceptions",),
    S.ALLOCATED: ("reservations",),
    S.BACKORDERED: ("shortage",),
    S.PREORDER: ("release_date",),
    # Paid is not ready to pick: release needs both the allocation and the capture.
    S.RELEASED: ("reservations", "payment_capture"),
    S.PICKING: ("claim",),
    S.PICKED: ("pick",),
    S.PACKING: ("pack_start",),
    S.PACKED: ("pack",),
    S.LABELLED: ("label_scan",),
    S.HANDED_OVER: ("handover_scan",),
    S.SHIPPED: ("custody_event",),
    S.DELIVERED: ("delivery_event",),
    S.CANCELLED: ("cancellation",),
}


def allowed_targets(state: OrderState) -> frozenset[OrderState]:
    return _EDGES[state]


def check_transition(
    *, current: OrderState, target: OrderState, evidence: Mapping[str, object]
) -> None:
    if target not in _EDGES[current]:
        raise InvalidTransition(
            f"an order that is {current.value} cannot become {target.value}",
            current=current.value,
            target=target.value,
        )
    missing = [key for key in REQUIRED_EVIDENCE[target] if not evidence.get(key)]
    if missing:
        raise MissingEvidence(
            f"becoming {target.value} needs evidence: {', '.join(missing)}",
            missing=missing,
            target=target.value,
        )


def ensure_editable(*, state: OrderState, action: str) -> None:
    if state not in EDITABLE:
        raise OrderLocked(
            f"cannot {action}: the order is {state.value}; after picking starts it needs a "
            "return, an interception or a supervisor's approval",
            state=state.value,
        )
