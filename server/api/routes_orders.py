"""Orders: manual entry, view, edit, cancel, payment capture, floor transitions, CSV import."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Response, status

from server.api.deps import ActorDep, AdminDep, FloorDep, PathId, ServicesDep, SupervisorDep
from server.domain.actor import Actor
from server.domain.address import Address
from server.domain.errors import DuplicateEntry, Forbidden
from server.domain.intake import IncomingLine, IncomingOrder, request_hash
from server.domain.orders import OrderState
from server.services.intake import IdempotencyClaim, IntakeResult
from server.services.orders import OrderView
from shared.contract.common import AddressIn
from shared.contract.orders import (
    CancelIn,
    CaptureIn,
    CsvImportOut,
    IntakeOut,
    LineOut,
    ManualOrderIn,
    OrderEditIn,
    OrderOut,
    TransitionIn,
)

router = APIRouter(prefix="/orders", tags=["orders"])
MANUAL_CHANNEL = "manual"


def order_out(v: OrderView) -> OrderOut:
    a = v.address
    return OrderOut(
        id=v.id,
        number=v.number,
        channel=v.channel,
        external_id=v.external_id,
        state=v.state,
        payment_captured=v.payment_captured,
        address=AddressIn(
            name=a.name,
            line1=a.line1,
            line2=a.line2,
            city=a.city,
            region=a.region,
            postcode=a.postcode,
            country=a.country,
            phone=a.phone,
        ),
        email=v.email,
        lines=[
            LineOut(
                line_no=x.line_no,
                listing_sku=x.listing_sku,
                sku_id=x.sku_id,
                qty=x.qty,
                unit_price=x.unit_price,
                reserved=x.reserved,
            )
            for x in v.lines
        ],
        open_exceptions=list(v.open_exceptions),
        transitions=list(v.transitions),
    )


def intake_out(r: IntakeResult) -> IntakeOut:
    return IntakeOut(order_id=r.order_id, number=r.number, state=r.state, created=r.created)


def allocate_if_accepted(svc: ServicesDep, result: IntakeResult, who: Actor) -> IntakeResult:
    """Intake and allocation are two use cases (two transactions); run the second at once."""
    if result.created and result.state == OrderState.ACCEPTED.value:
        outcome = svc.allocation.allocate(order_id=result.order_id, actor=who)
        return IntakeResult(result.order_id, result.number, outcome.state.value, True)
    return result


def lines_in(lines: list, /) -> tuple[IncomingLine, ...]:  # type: ignore[type-arg]
    return tuple(IncomingLine(x.sku, x.qty, x.unit_price, x.title) for x in lines)


def address_in(a: AddressIn) -> Address:
    return Address(a.name, a.line1, a.line2, a.city, a.region, a.postcode, a.country, a.phone)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_manual_order(
    body: ManualOrderIn,
    response: Response,
    svc: ServicesDep,
    who: FloorDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> IntakeOut:
    if body.kind == "replacement" and not who.has("supervisor"):
        raise Forbidden("a replacement order (no payment) needs a supervisor")
    with contextlib.suppress(DuplicateEntry):
        svc.orders.create_channel(
            code=MANUAL_CHANNEL, kind="manual", name="Manual entry", actor=who
        )
    order = IncomingOrder(
        external_id=body.external_id or f"{body.kind}-{uuid.uuid4()}",
        lines=lines_in(body.lines),
        address=address_in(body.address),
        email=body.email,
        payment_captured=body.kind == "replacement",
        payment_reference=f"replacement-by-{who.operator_id}" if body.kind == "replacement" else "",
        ship_by=body.ship_by,
        kind=body.kind,
    )
    claim = None
    if idempotency_key:
        claim = IdempotencyClaim(
            f"orders:{who.station_id}", idempotency_key, request_hash(body.model_dump(mode="json"))
        )
    result = svc.intake.ingest(channel_code=MANUAL_CHANNEL, order=order, actor=who, claim=claim)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return intake_out(allocate_if_accepted(svc, result, who))


@router.post("/import")
def import_csv(
    channel: str,
    svc: ServicesDep,
    who: AdminDep,
    content: Annotated[str, Body(media_type="text/csv")],
) -> CsvImportOut:
    report = svc.csv_intake.import_orders(channel_code=channel, content=content, actor=who)
    for r in report.results:
        allocate_if_accepted(svc, r, who)
    return CsvImportOut(
        created=report.created,
        existing=report.existing,
        failed_rows=[{"line": n, "reason": why} for n, why in report.failed_rows],
    )


@router.get("/{order_id}")
def get_order(order_id: PathId, svc: ServicesDep, _: ActorDep) -> OrderOut:
    return order_out(svc.orders.get(order_id=order_id))


@router.get("/by-number/{number}")
def get_order_by_number(number: str, svc: ServicesDep, _: ActorDep) -> OrderOut:
    return order_out(svc.orders.get_by_number(number=number))


@router.patch("/{order_id}")
def edit_order(
    order_id: PathId, body: OrderEditIn, svc: ServicesDep, who: SupervisorDep
) -> OrderOut:
    view = svc.orders.edit(
        order_id=order_id,
        actor=who,
        address=address_in(body.address) if body.address else None,
        lines=lines_in(body.lines) if body.lines else None,
    )
    if view.state == OrderState.ACCEPTED.value:
        svc.allocation.allocate(order_id=order_id, actor=who)
        view = svc.orders.get(order_id=order_id)
    return order_out(view)


@router.post("/{order_id}/cancel")
def cancel_order(
    order_id: PathId, body: CancelIn, svc: ServicesDep, who: SupervisorDep
) -> OrderOut:
    return order_out(svc.orders.cancel(order_id=order_id, reason=body.reason, actor=who))


@router.post("/{order_id}/captures")
def record_capture(
    order_id: PathId, body: CaptureIn, svc: ServicesDep, who: SupervisorDep
) -> OrderOut:
    return order_out(
        svc.orders.record_capture(
            order_id=order_id,
            reference=body.reference,
            amount=body.amount,
            currency=body.currency,
            source="manual",
            actor=who,
        )
    )


@router.post("/{order_id}/allocate")
def allocate(order_id: PathId, svc: ServicesDep, who: SupervisorDep) -> OrderOut:
    svc.allocation.allocate(order_id=order_id, actor=who)
    return order_out(svc.orders.get(order_id=order_id))


@router.post("/{order_id}/transitions")
def transition(order_id: PathId, body: TransitionIn, svc: ServicesDep, who: FloorDep) -> OrderOut:
    return order_out(
        svc.orders.transition(
            order_id=order_id, target=OrderState(body.target), evidence=body.evidence, actor=who
        )
    )
