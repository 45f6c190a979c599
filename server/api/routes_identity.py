"""Station enrolment, operators and badge sign-in."""

from __future__ import annotations

from fastapi import APIRouter, status

from server.api.deps import AdminDep, ServicesDep, StationDep
from shared.contract.common import Created
from shared.contract.stations import (
    EnrolIn,
    EnrolmentCodeIn,
    EnrolmentCodeOut,
    EnrolOut,
    LoginIn,
    LoginOut,
    OperatorIn,
    SupervisorBadgesOut,
)

router = APIRouter(tags=["stations and operators"])


@router.post("/stations/enrolment-codes", status_code=status.HTTP_201_CREATED)
def issue_enrolment_code(
    body: EnrolmentCodeIn, svc: ServicesDep, who: AdminDep
) -> EnrolmentCodeOut:
    code = svc.identity.issue_enrolment_code(
        station_name=body.station_name, kind=body.kind, actor=who
    )
    return EnrolmentCodeOut(code=code)


@router.post("/stations/enrol", status_code=status.HTTP_201_CREATED)
def enrol(body: EnrolIn, svc: ServicesDep) -> EnrolOut:
    token, st = svc.identity.enrol(code=body.code)
    return EnrolOut(station_id=st.id, name=st.name, token=token)


@router.post("/operators", status_code=status.HTTP_201_CREATED)
def create_operator(body: OperatorIn, svc: ServicesDep, who: AdminDep) -> Created:
    oid = svc.identity.create_operator(
        name=body.name, badge=body.badge, roles=set(body.roles), pin=body.pin, actor=who
    )
    return Created(id=oid)


@router.post("/operators/login")
def login(body: LoginIn, svc: ServicesDep, st: StationDep) -> LoginOut:
    got = svc.identity.login(station_id=st.id, badge=body.badge, pin=body.pin)
    return LoginOut(
        token=got.token, operator_id=got.operator_id, name=got.name, roles=list(got.roles)
    )


@router.get("/operators/supervisor-badges")
def supervisor_badges(svc: ServicesDep, _: StationDep) -> SupervisorBadgesOut:
    return SupervisorBadgesOut(sha256=svc.identity.supervisor_badge_digests())
