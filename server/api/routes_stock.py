"""Receipts, moves, cycle counts and the reconciliation proof."""

from __future__ import annotations

from fastapi import APIRouter, status

from server.api.deps import FloorDep, ServicesDep, SupervisorDep
from shared.contract.stock import (
    CountIn,
    CountOut,
    DriftOut,
    MoveIn,
    ReceiveIn,
    ReconcileOut,
    StockRowOut,
)

router = APIRouter(prefix="/stock", tags=["stock"])


@router.post("/receipts", status_code=status.HTTP_201_CREATED)
def receive(body: ReceiveIn, svc: ServicesDep, who: FloorDep) -> StockRowOut:
    sid = svc.ledger.receive(actor=who, **body.model_dump())
    for order_id in svc.allocation.waiting_for(sku_id=body.sku_id):
        svc.allocation.allocate(order_id=order_id, actor=who)
    return StockRowOut(stock_level_id=sid)


@router.post("/moves", status_code=status.HTTP_201_CREATED)
def move(body: MoveIn, svc: ServicesDep, who: FloorDep) -> StockRowOut:
    return StockRowOut(stock_level_id=svc.ledger.move(actor=who, **body.model_dump()))


@router.post("/counts")
def count(body: CountIn, svc: ServicesDep, who: FloorDep) -> CountOut:
    got = svc.counts.count(
        stock_level_id=body.stock_level_id, counted=body.counted, actor=who, reason=body.reason
    )
    if got.approval is not None:
        return CountOut(applied=False, approval_id=got.approval.id)
    assert got.applied is not None
    return CountOut(
        applied=True,
        before=got.applied.before,
        after=got.applied.after,
        orders_on_hold=list(got.applied.orders_on_hold),
    )


@router.get("/reconcile")
def reconcile(svc: ServicesDep, _: SupervisorDep) -> ReconcileOut:
    report = svc.ledger.reconcile()
    return ReconcileOut(
        clean=report.clean,
        rows_checked=report.rows_checked,
        movements=report.movements,
        drifts=[
            DriftOut(
                stock_level_id=d.stock_level_id,
                field=d.field,
                counter=d.counter,
                expected=d.expected,
            )
            for d in report.drifts
        ],
    )
