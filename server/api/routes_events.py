"""Station events in (journal replay) and live order changes out (server-sent events)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import StreamingResponse

from server.api.deps import ActorDep, StationDep
from server.services.live_events import LiveEvents
from server.services.station_events import StationEventService
from shared.contract import API_PREFIX
from shared.contract.events import EventBatch, EventResult, EventResults

router = APIRouter(tags=["stations"])


def _station_events(request: Request) -> StationEventService:
    return request.app.state.station_events  # type: ignore[no-any-return]


def _live(request: Request) -> LiveEvents:
    return request.app.state.live_events  # type: ignore[no-any-return]


EventsDep = Annotated[StationEventService, Depends(_station_events)]
LiveDep = Annotated[LiveEvents, Depends(_live)]


def install(app: FastAPI, *, events: StationEventService, live: LiveEvents) -> None:
    """Register the routes and the objects they serve (called once from create_app)."""
    app.state.station_events = events
    app.state.live_events = live
    app.include_router(router, prefix=API_PREFIX)


@router.post("/stations/events")
def post_events(body: EventBatch, who: ActorDep, events: EventsDep) -> EventResults:
    # The operator token is optional here on purpose: a journal filled before a power cut must
    # drain after the restart even if nobody has badged in yet. Each event names its operator.
    outcomes = events.apply_batch(events=body.events, actor=who)
    return EventResults(
        results=[
            EventResult(
                key=o.key,
                status=o.status,
                detail=o.detail,
                original=o.original,
            )
            for o in outcomes
        ]
    )


@router.get("/stations/stream", response_class=StreamingResponse)
async def stream(_: StationDep, live: LiveDep) -> StreamingResponse:
    return StreamingResponse(
        live.frames(),
        media_type="text/event-stream",
        # no-transform/X-Accel-Buffering: a buffering proxy would hold events back.
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )
