"""The label scan at the bench, applied on the server: a package becomes `labelled` when the
scanned barcode carries its tracking number, and the order becomes `labelled` once every live
package of its shipment is. Runs inside the station-event transaction (see station_events.py),
so the scan, the package and the order change together or not at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from server.db import audit, order_records
from server.db import shipping_tables as st
from server.db.station_event_tables import station_event as se
from server.domain.actor import Actor
from server.domain.errors import InvalidTransition, ValidationFailed
from server.domain.orders import OrderState
from server.domain.packages import PackageState, check_package_transition, tracking_matches
from shared.contract.events import PackageLabelled, StationEvent

# Order states in which a package's label may be scanned. Before `packed` there is nothing to
# scan; after `labelled` a late scan of a package (say a reprint) is still recorded.
_SCANNABLE = frozenset(
    {OrderState.PACKED, OrderState.LABELLED, OrderState.HANDED_OVER, OrderState.SHIPPED}
)
# A package in one of these has had its label scanned onto the carton.
_DONE = frozenset(
    {PackageState.LABELLED, PackageState.HANDED_OVER, PackageState.IN_TRANSIT,
     PackageState.DELIVERED}
)  # fmt: skip


def apply_label_scan(
    conn: Connection,
    *,
    order_id: int,
    state: OrderState,
    payload: PackageLabelled,
    event: StationEvent,
    who: Actor,
    now: datetime,
) -> str:
    pk, sh = st.shipment_package, st.shipment
    package = conn.execute(
        select(pk.c.id, pk.c.package_no, pk.c.tracking_number, pk.c.state, pk.c.shipment_id,
               sh.c.order_id)
        .join(sh, sh.c.id == pk.c.shipment_id)
        .where(pk.c.id == payload.package_id)
        .with_for_update(of=pk)
    ).first()  # fmt: skip
    if package is None:
        raise ValidationFailed(f"package {payload.package_id} is not known to the server")
    if package.order_id != order_id:
        raise ValidationFailed(
            f"package {payload.package_id} belongs to another order: this label is not for "
            f"order {order_id}"
        )
    current = PackageState(package.state)
    if current is PackageState.VOIDED:
        raise ValidationFailed(
            f"package {package.package_no} ({package.tracking_number}) was voided: its label "
            "must not ship; take it off the carton"
        )
    if payload.tracking_number != package.tracking_number or not tracking_matches(
        scanned=payload.scanned, tracking_number=package.tracking_number
    ):
        raise ValidationFailed(
            f"the scanned label ({payload.scanned[:80]}) does not carry the tracking number "
            f"of package {package.package_no} ({package.tracking_number})"
        )
    if state not in _SCANNABLE:
        raise InvalidTransition(
            f"order {order_id} is {state.value}: its labels are scanned once it is packed",
            state=state.value,
        )
    if current in _DONE:
        # A second scan of the same carton (a bench that lost its memory, a reprint) changes
        # nothing: the first scan is the evidence.
        return f"package {package.package_no} was already labelled"
    check_package_transition(current=current, target=PackageState.LABELLED)
    conn.execute(
        update(pk)
        .where(pk.c.id == package.id, pk.c.state == current.value)
        .values(state=PackageState.LABELLED.value, labelled_at=now, updated_at=now)
    )
    audit.record(conn, at=now, station_id=who.station_id, operator_id=who.operator_id,
                 entity="package", entity_id=package.id, action="labelled",
                 detail={"scanned": payload.scanned, "event": event.key})  # fmt: skip
    live = conn.execute(
        select(pk.c.id, pk.c.state).where(
            pk.c.shipment_id == package.shipment_id, pk.c.state != PackageState.VOIDED.value
        )
    ).all()
    waiting = [r.id for r in live if PackageState(r.state) not in _DONE]
    done = f"package {package.package_no} labelled"
    if waiting or state is not OrderState.PACKED:
        return f"{done}; {len(waiting)} package(s) still to scan" if waiting else done
    order_records.transition(
        conn,
        order_id=order_id,
        target=OrderState.LABELLED,
        evidence={"label_scan": _scans(conn, order_id, {int(r.id) for r in live})},
        actor=who,
        now=now,
        current=state,
    )
    return f"{done}; order labelled"


def _scans(conn: Connection, order_id: int, live: set[int]) -> list[dict[str, Any]]:
    """Every applied label scan of the order's live packages, this one included (its row is
    already written in this transaction), one per package: the first scan is the evidence."""
    rows = conn.execute(
        select(se.c.key, se.c.payload, se.c.occurred_at, se.c.station_id, se.c.operator_id)
        .where(se.c.order_id == order_id, se.c.kind == "package_labelled",
               se.c.status == "applied")
        .order_by(se.c.id)
    ).all()  # fmt: skip
    scans: dict[int, dict[str, Any]] = {}
    for r in rows:
        p = dict(r.payload)
        package_id = int(p.get("package_id", 0))
        if package_id in live and package_id not in scans:
            scans[package_id] = {
                "package_id": package_id,
                "tracking_number": p.get("tracking_number"),
                "scanned": p.get("scanned"),
                "event": r.key,
                "at": r.occurred_at.isoformat(),
                "station_id": r.station_id,
                "operator_id": r.operator_id,
            }
    return list(scans.values())
