"""Returns: issue an RMA, find it from a parcel, receive units into quarantine, triage them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from server.api.deps import ActorDep, PathId, ServicesDep, require
from server.domain.actor import Actor
from server.services.returns import UnitReceipt
from shared.contract.common import MAX_ID
from shared.contract.returns import (
    QuarantineBinOut,
    RefundOut,
    ReturnUnitIn,
    ReturnUnitOut,
    RmaIn,
    RmaOut,
    TriageIn,
    TriageOut,
)

router = APIRouter(prefix="/returns", tags=["returns"])
# Returns clerks and their supervisors handle returns; pickers and packers do not.
ReturnsDep = Annotated[Actor, Depends(require("returns", "supervisor"))]


def _triage_out(body: dict[str, Any]) -> TriageOut:
    return TriageOut.model_validate({k: body.get(k) for k in TriageOut.model_fields})


@router.post("/rmas", status_code=status.HTTP_201_CREATED)
def issue_rma(body: RmaIn, svc: ServicesDep, who: ReturnsDep) -> RmaOut:
    view = svc.returns.issue(
        order_number=body.order_number,
        lines=[(x.line_no, x.qty) for x in body.lines],
        reason=body.reason,
        actor=who,
        key=body.key,
    )
    return RmaOut.model_validate(view)


@router.get("/lookup")
def lookup(
    code: Annotated[str, Query(min_length=1, max_length=120)], svc: ServicesDep, _: ReturnsDep
) -> RmaOut:
    """The open RMA of a parcel, by RMA number, order number or tracking number."""
    return RmaOut.model_validate(svc.returns.lookup(code=code))


@router.get("/rmas/{rma_id}")
def get_rma(rma_id: PathId, svc: ServicesDep, _: ActorDep) -> RmaOut:
    return RmaOut.model_validate(svc.returns.get(rma_id=rma_id))


@router.get("/rmas/{rma_id}/refunds")
def rma_refunds(rma_id: PathId, svc: ServicesDep, _: ActorDep) -> list[RefundOut]:
    return [RefundOut.model_validate(x) for x in svc.returns.refunds(rma_id=rma_id)]


@router.post("/rmas/{rma_id}/units", status_code=status.HTTP_201_CREATED)
def receive_unit(
    rma_id: PathId, body: ReturnUnitIn, response: Response, svc: ServicesDep, who: ReturnsDep
) -> ReturnUnitOut:
    got = svc.returns.receive(rma_id=rma_id, receipt=UnitReceipt(**body.model_dump()), actor=who)
    if got.replayed:
        response.status_code = status.HTTP_200_OK
    return ReturnUnitOut.model_validate(got.unit)


@router.get("/units")
def list_units(
    svc: ServicesDep,
    _: ActorDep,
    state: Annotated[str | None, Query(max_length=20)] = None,
    flagged: bool | None = None,
    rma_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[ReturnUnitOut]:
    found = svc.returns.units(rma_id=rma_id, state=state, flagged=flagged)
    return [ReturnUnitOut.model_validate(x) for x in found]


@router.get("/units/{unit_id}")
def get_unit(unit_id: PathId, svc: ServicesDep, _: ActorDep) -> ReturnUnitOut:
    return ReturnUnitOut.model_validate(svc.returns.unit(unit_id=unit_id))


@router.post("/units/{unit_id}/triage")
def triage(unit_id: PathId, body: TriageIn, svc: ServicesDep, who: ReturnsDep) -> TriageOut:
    return _triage_out(
        svc.returns.triage(
            unit_id=unit_id,
            decision=body.decision,
            bin_code=body.bin,
            note=body.note,
            key=body.key,
            actor=who,
        )
    )


@router.get("/quarantine-bins")
def quarantine_bins(svc: ServicesDep, _: ActorDep) -> list[QuarantineBinOut]:
    return [QuarantineBinOut(code=c, warehouse=w) for c, w in svc.returns.quarantine_bins()]
