"""The dispatch door (pickups, handover scans, what still waits), carrier tracking webhooks,
the custody loop by hand, per-shipment cost and carrier spend."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from server.api.deps import AdminDep, FloorDep, PathId, ServicesDep, SupervisorDep
from server.services.custody import verify_webhook
from shared.contract.custody import (
    CustodyRunOut,
    HandedOverPackage,
    HandoverIn,
    HandoverOut,
    PickupIn,
    PickupOut,
    ShipmentCostOut,
    SpendRowOut,
    TrackingOutcomeOut,
    WaitingPackageOut,
)

router = APIRouter(tags=["custody"])


def _pickup_out(row: dict[str, object]) -> PickupOut:
    return PickupOut.model_validate({k: row[k] for k in PickupOut.model_fields})


Provider = Literal["easypost", "shippo", "shipstation"]


@router.post("/carriers/{provider}/webhooks")
async def tracking_webhook(provider: Provider, request: Request,
                           svc: ServicesDep) -> TrackingOutcomeOut:  # fmt: skip
    """A provider's tracking webhook. Carriers do not sign in: the signature is the proof
    (401 and nothing stored when it does not verify); a replayed event lands once."""
    body = await request.body()  # the raw bytes: the signature covers exactly these
    headers = dict(request.headers)
    token = request.query_params.get("token", "")

    def work() -> TrackingOutcomeOut:
        events = verify_webhook(svc.rate_shopper.carriers, provider=provider, body=body,
                                headers=headers, query_token=token)  # fmt: skip
        out = svc.custody.record(events, source="webhook")
        return TrackingOutcomeOut(recorded=out.recorded, duplicates=out.duplicates,
                                  unknown=out.unknown)  # fmt: skip

    return await run_in_threadpool(work)


@router.post("/pickups", status_code=201)
def open_pickup(body: PickupIn, svc: ServicesDep, who: FloorDep) -> PickupOut:
    return _pickup_out(svc.custody.open_pickup(carrier=body.carrier, actor=who))


@router.get("/pickups/{pickup_id}")
def get_pickup(pickup_id: PathId, svc: ServicesDep, _: FloorDep) -> PickupOut:
    return _pickup_out(svc.custody.pickup(pickup_id=pickup_id))


@router.post("/pickups/{pickup_id}/close")
def close_pickup(pickup_id: PathId, svc: ServicesDep, who: FloorDep) -> PickupOut:
    return _pickup_out(svc.custody.close_pickup(pickup_id=pickup_id, actor=who))


@router.post("/pickups/{pickup_id}/scans")
def handover_scan(pickup_id: PathId, body: HandoverIn, svc: ServicesDep,
                  who: FloorDep) -> HandoverOut:  # fmt: skip
    r = svc.custody.handover(pickup_id=pickup_id, scanned=body.barcode, actor=who)
    return HandoverOut(package=HandedOverPackage.model_validate(
        {k: r.package[k] for k in HandedOverPackage.model_fields}), order_id=r.order_id,
        order_state=r.order_state, duplicate=r.duplicate, remaining=r.remaining)  # fmt: skip


@router.get("/dispatch/waiting")
def waiting(svc: ServicesDep, _: FloorDep) -> list[WaitingPackageOut]:
    """Cartons with a live label not handed over yet (never label-scanned ones included)."""
    return [_waiting_out(r) for r in svc.custody.waiting()]


@router.get("/dispatch/awaiting-carrier")
def awaiting_carrier(svc: ServicesDep, _: FloorDep) -> list[WaitingPackageOut]:
    """Cartons handed over that no carrier has scanned yet."""
    return [_waiting_out(r) for r in svc.custody.waiting(handed_over=True)]


def _waiting_out(row: dict[str, object]) -> WaitingPackageOut:
    return WaitingPackageOut.model_validate({k: row[k] for k in WaitingPackageOut.model_fields})


@router.post("/custody/run")
def run_custody(svc: ServicesDep, _: AdminDep) -> CustodyRunOut:
    """One pass of the custody loop now (poll stale tracking, open cut-off exceptions)."""
    polled, opened = svc.custody.run_once(svc.rate_shopper.carriers)
    return CustodyRunOut(polled=TrackingOutcomeOut(recorded=polled.recorded,
                                                   duplicates=polled.duplicates,
                                                   unknown=polled.unknown),
                         exceptions_opened=opened)  # fmt: skip


@router.get("/orders/{order_id}/shipment")
def shipment_cost(order_id: PathId, svc: ServicesDep, _: FloorDep) -> ShipmentCostOut:
    return ShipmentCostOut.model_validate(svc.spend.shipment(order_id=order_id))


@router.get("/shipping/spend")
def carrier_spend(
    svc: ServicesDep,
    _: SupervisorDep,
    since: Annotated[AwareDatetime, Query()],
    until: Annotated[AwareDatetime, Query()],
) -> list[SpendRowOut]:
    return [
        SpendRowOut.model_validate(r) for r in svc.spend.carrier_spend(since=since, until=until)
    ]
