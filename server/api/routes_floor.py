"""Channel webhooks, the exception queue, station tasks, approvals and allocation rules."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from server.api.deps import ActorDep, AdminDep, FloorDep, PathId, ServicesDep, SupervisorDep
from server.api.routes_orders import allocate_if_accepted, intake_out
from server.channels import shopify
from server.domain.actor import Actor
from server.domain.errors import NotFound
from server.domain.intake import request_hash
from server.services.approvals import ApprovalView, Submitted
from server.services.intake import IdempotencyClaim
from server.services.rules import RuleSpec
from server.services.tasks import Task
from shared.contract.approvals import ApprovalItemOut, ChangeOut, FourEyesPolicyOut
from shared.contract.orders import (
    AllocationRuleIn,
    ExceptionOut,
    IntakeOut,
    ResolveIn,
    ResolveOut,
    TaskOut,
)
from shared.contract.stations import ApprovalRequestIn, DecisionIn

router = APIRouter()
SHOPIFY_ACTOR = Actor(name="shopify")


@router.post("/channels/{code}/shopify/webhooks", tags=["channels"])
async def shopify_webhook(
    code: str,
    request: Request,
    response: Response,
    svc: ServicesDep,
    x_shopify_hmac_sha256: Annotated[str | None, Header()] = None,
) -> IntakeOut:
    body = await request.body()  # the raw bytes: the signature covers exactly these
    # Database work is blocking; keep it off the event loop.
    return await run_in_threadpool(
        shopify_delivery, svc, code, body, dict(request.headers), x_shopify_hmac_sha256, response
    )


def shopify_delivery(
    svc: ServicesDep,
    code: str,
    body: bytes,
    headers: dict[str, str],
    signature: str | None,
    response: Response,
) -> IntakeOut:
    secret = svc.orders.channel_secret(code)
    if secret is None:
        raise NotFound(f"channel {code} has no webhook secret configured")
    shopify.verify(body=body, signature=signature, secret=secret)  # before parsing anything
    delivery = shopify.parse_delivery(body=body, headers=headers)
    if delivery.order is None:
        assert delivery.cancelled_external_id is not None
        view = svc.orders.cancel_external(
            channel_code=code,
            external_id=delivery.cancelled_external_id,
            reason="cancelled in Shopify",
            actor=SHOPIFY_ACTOR,
        )
        return IntakeOut(order_id=view.id, number=view.number, state=view.state, created=False)
    claim = IdempotencyClaim(f"shopify:{code}", delivery.event_id, request_hash(body))
    result = svc.intake.ingest(
        channel_code=code, order=delivery.order, actor=SHOPIFY_ACTOR, claim=claim
    )
    response.status_code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return intake_out(allocate_if_accepted(svc, result, SHOPIFY_ACTOR))


@router.get("/exceptions", tags=["exceptions"])
def list_exceptions(
    svc: ServicesDep, _: ActorDep, state: str = "open", kind: str | None = None
) -> list[ExceptionOut]:
    return [
        ExceptionOut(
            id=x.id,
            order_id=x.order_id,
            order_number=x.order_number,
            kind=x.kind,
            reason=x.reason,
            detail=x.detail,
            recommendation=x.recommendation,
            state=x.state,
            actions=list(x.actions),
            created_at=x.created_at,
        )
        for x in svc.exceptions.list(state=state, kind=kind)
    ]


@router.post("/exceptions/{exception_id}/resolve", tags=["exceptions"])
def resolve_exception(
    exception_id: PathId, body: ResolveIn, svc: ServicesDep, who: SupervisorDep
) -> ResolveOut:
    got = svc.exceptions.resolve(
        exception_id=exception_id, action=body.action, data=body.data, actor=who
    )
    return ResolveOut(order_state=got.get("order_state"))


def task_out(task: Task) -> TaskOut:
    return TaskOut.model_validate(asdict(task))


@router.get("/tasks", tags=["tasks"])
def open_tasks(svc: ServicesDep, who: FloorDep) -> list[TaskOut]:
    return [task_out(x) for x in svc.tasks.open_tasks(station_id=who.station_id)]


@router.post("/tasks/{order_id}/claim", tags=["tasks"])
def claim_task(order_id: PathId, svc: ServicesDep, who: FloorDep) -> TaskOut:
    return task_out(svc.tasks.claim(order_id=order_id, actor=who))


def approval_out(v: ApprovalView) -> ApprovalItemOut:
    return ApprovalItemOut(
        id=v.id,
        operation=v.operation,
        payload=v.payload,
        payload_hash=v.payload_hash,
        reason=v.reason,
        requested_by=v.requested_by,
        state=v.state,
        decided_by=v.decided_by,
        decision_reason=v.decision_reason,
        result=v.result,
        created_at=v.created_at,
        words=v.words,
        requested_by_name=v.requested_by_name,
        decided_by_name=v.decided_by_name,
        decided_at=v.decided_at,
    )


def change_out(got: Submitted, response: Response, *, applied_status: int) -> ChangeOut:
    """202 while a second person is needed; `applied_status` when the matrix needed nobody."""
    if got.approval is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        return ChangeOut(applied=False, approval=approval_out(got.approval))
    response.status_code = applied_status
    return ChangeOut(applied=True, result=got.result)


@router.get("/approvals", tags=["approvals"])
def pending_approvals(
    svc: ServicesDep,
    _: SupervisorDep,
    state: Annotated[str, Query(max_length=20)] = "pending",
    operation: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ApprovalItemOut]:
    """Pending requests (oldest first), or the approvals log: `state=all` or one state."""
    views = svc.approvals.log(
        state=None if state == "all" else state, operation=operation, limit=limit
    )
    return [approval_out(v) for v in views]


@router.get("/approvals/matrix", tags=["approvals"])
def four_eyes_matrix(svc: ServicesDep, _: ActorDep) -> list[FourEyesPolicyOut]:
    """Which operations need a second person, who may approve, and what they read."""
    return [
        FourEyesPolicyOut(
            operation=p.operation,
            need=p.need.value,
            field=p.field,
            threshold=None if p.threshold is None else str(p.threshold),
            approver_roles=sorted(p.approver_roles),
            words=p.words,
            waived=p.waived,
            configurable=p.configurable,
            available=svc.approvals.available(p.operation),
        )
        for p in svc.approvals.matrix
    ]


@router.post("/approvals", tags=["approvals"], status_code=status.HTTP_201_CREATED)
def request_approval(body: ApprovalRequestIn, svc: ServicesDep, who: FloorDep) -> ApprovalItemOut:
    return approval_out(
        svc.approvals.request(
            operation=body.operation, payload=body.payload, reason=body.reason, actor=who
        )
    )


@router.get("/approvals/{approval_id}", tags=["approvals"])
def get_approval(approval_id: PathId, svc: ServicesDep, _: ActorDep) -> ApprovalItemOut:
    return approval_out(svc.approvals.get(approval_id=approval_id))


@router.post("/approvals/{approval_id}/decision", tags=["approvals"])
def decide(
    approval_id: PathId, body: DecisionIn, svc: ServicesDep, who: ActorDep
) -> ApprovalItemOut:
    # The approver proves presence by scanning their own badge at the station.
    approver = svc.identity.badge_actor(station_id=who.station_id, badge=body.badge, pin=body.pin)
    return approval_out(
        svc.approvals.decide(
            approval_id=approval_id,
            approve=body.approve,
            reason=body.reason,
            seen_payload_hash=body.payload_hash,
            approver=approver,
        )
    )


@router.post("/allocation-rules", tags=["rules"], status_code=status.HTTP_202_ACCEPTED,
             responses={201: {"model": ChangeOut}})  # fmt: skip
def create_rule(
    body: AllocationRuleIn,
    svc: ServicesDep,
    who: AdminDep,
    response: Response,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> ChangeOut:
    """A request for a new rule (four-eyes `routing_rule_change`): 202 with the approval; the
    rule is written when a second person approves it (201 at once if the matrix waives it)."""
    got = svc.rules.request_create(
        spec=RuleSpec(**body.model_dump()),
        reason=reason.strip() or f"new allocation rule {body.name!r}",
        actor=who,
    )
    return change_out(got, response, applied_status=status.HTTP_201_CREATED)
