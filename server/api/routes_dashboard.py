"""The supervisors' dashboard: one GET per figure group, the live stream, the station heartbeat.

Figures need a signed-in supervisor. The stream needs only the station: it carries the names of
groups to read again, never figures, and it outlives any one operator's session. Resolving an
exception from the dashboard is the existing POST /exceptions/{id}/resolve.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from server.api.deps import ServicesDep, StationDep, SupervisorDep
from shared.contract.dashboard import (
    AtRiskOut,
    BacklogOut,
    BenchesOut,
    CarrierSpendOut,
    CustodyOut,
    ExceptionQueueOut,
    HeartbeatIn,
    HeartbeatOut,
    UnallocatedOut,
)

router = APIRouter(tags=["dashboard"])
Rows = Annotated[int, Query(ge=1, le=200, description="how many rows of the list to return")]


@router.get("/dashboard/backlog")
def backlog(svc: ServicesDep, _: SupervisorDep) -> BacklogOut:
    return svc.dashboard.backlog()


@router.get("/dashboard/at-risk")
def at_risk(
    svc: ServicesDep,
    _: SupervisorDep,
    horizon_hours: Annotated[float | None, Query(ge=0, le=24 * 14)] = None,
    limit: Rows = 20,
) -> AtRiskOut:
    return svc.dashboard.at_risk(horizon_hours=horizon_hours, limit=limit)


@router.get("/dashboard/unallocated")
def unallocated(svc: ServicesDep, _: SupervisorDep, limit: Rows = 20) -> UnallocatedOut:
    return svc.dashboard.unallocated(limit=limit)


@router.get("/dashboard/exceptions")
def exceptions(svc: ServicesDep, _: SupervisorDep, limit: Rows = 20) -> ExceptionQueueOut:
    return svc.dashboard.exceptions(limit=limit)


@router.get("/dashboard/custody")
def custody(svc: ServicesDep, _: SupervisorDep, limit: Rows = 20) -> CustodyOut:
    return svc.dashboard.custody(limit=limit)


@router.get("/dashboard/spend")
def spend(
    svc: ServicesDep, _: SupervisorDep, days: Annotated[int, Query(ge=1, le=92)] = 7
) -> CarrierSpendOut:
    return svc.dashboard.spend(days=days)


@router.get("/dashboard/benches")
def benches(
    svc: ServicesDep,
    _: SupervisorDep,
    window_minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 60,
) -> BenchesOut:
    return svc.dashboard.benches(window_minutes=window_minutes)


# Not in the OpenAPI document: an event stream never completes, so schema-driven clients and
# fuzzers (tests/server/test_openapi_fuzz.py) would hang on it; its tests read it directly.
@router.get("/dashboard/stream", response_class=StreamingResponse, include_in_schema=False)
async def stream(_: StationDep, svc: ServicesDep) -> StreamingResponse:
    return StreamingResponse(
        svc.dashboard.feed.frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )


@router.post("/stations/heartbeat", tags=["stations"])
def heartbeat(body: HeartbeatIn, station: StationDep, svc: ServicesDep) -> HeartbeatOut:
    return svc.dashboard.heartbeat(station_id=station.id, report=body)
