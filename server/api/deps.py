"""Typed dependencies: the services, the calling station, and the acting operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request

from server.bootstrap import Services
from server.domain.actor import Actor
from server.domain.errors import Forbidden, Unauthenticated
from server.services.identity import StationIdentity

# Path ids: bounded so an id beyond 64 bits is a 422 problem, never a database error.
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("send the station token as 'Authorization: Bearer <token>'")
    return authorization[7:].strip()


def station(
    svc: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> StationIdentity:
    return svc.identity.station_for_token(_bearer(authorization))


StationDep = Annotated[StationIdentity, Depends(station)]


def actor(
    svc: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
    x_operator_token: Annotated[str | None, Header()] = None,
) -> Actor:
    return svc.identity.authenticate(
        station_token=_bearer(authorization), operator_token=x_operator_token
    )


ActorDep = Annotated[Actor, Depends(actor)]


def require(*roles: str):  # type: ignore[no-untyped-def]
    def check(who: ActorDep) -> Actor:
        if who.operator_id is None:
            raise Unauthenticated("sign in with a badge first (X-Operator-Token)")
        if not who.has(*roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
        return who

    return check


AdminDep = Annotated[Actor, Depends(require("admin"))]
SupervisorDep = Annotated[Actor, Depends(require("supervisor"))]
FloorDep = Annotated[
    Actor, Depends(require("picker", "packer", "returns", "dispatch", "supervisor"))
]
