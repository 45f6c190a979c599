"""The supervisors' dashboard as the station sees the server: figures per group, resolving an
exception, the heartbeat, and the stream that says which groups to read again.

`HttpDashboardClient` composes the bench's HttpGateway (same token, same failure kinds:
ServerUnavailable / ServerRefused); `FakeDashboardClient` answers from memory for the demo and
the UI tests. Every call blocks: run them off the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import ValidationError

from shared.contract.common import Model
from shared.contract.dashboard import (
    DASHBOARD_CHANGED,
    AtRiskOut,
    BacklogOut,
    BenchesOut,
    CarrierSpendOut,
    CustodyOut,
    DashboardChanged,
    ExceptionQueueOut,
    FigureGroup,
    HeartbeatIn,
    UnallocatedOut,
)
from shared.contract.orders import ResolveIn, ResolveOut
from station.sync.client import HttpGateway, ServerRefused, ServerUnavailable, parse_as
from station.sync.live import LiveStream, SseMessage

log = logging.getLogger(__name__)

FIGURES: dict[FigureGroup, tuple[str, type[Model]]] = {
    "backlog": ("/dashboard/backlog", BacklogOut),
    "at_risk": ("/dashboard/at-risk", AtRiskOut),
    "unallocated": ("/dashboard/unallocated", UnallocatedOut),
    "exceptions": ("/dashboard/exceptions", ExceptionQueueOut),
    "spend": ("/dashboard/spend", CarrierSpendOut),
    "custody": ("/dashboard/custody", CustodyOut),
    "benches": ("/dashboard/benches", BenchesOut),
}


class DashboardGateway(Protocol):
    def figures(self, group: FigureGroup) -> Model: ...

    def resolve(self, *, exception_id: int, action: str, data: dict[str, Any]) -> str | None:
        """Resolve one queued exception; returns the order's state afterwards."""
        ...

    def heartbeat(self, report: HeartbeatIn) -> None: ...


class HttpDashboardClient:
    def __init__(
        self, *, gateway: HttpGateway, spend_days: int = 7, bench_window_minutes: int = 60
    ) -> None:
        self._gateway = gateway
        self._params: dict[str, dict[str, int]] = {
            "spend": {"days": spend_days},
            "benches": {"window_minutes": bench_window_minutes},
        }

    def figures(self, group: FigureGroup) -> Model:
        path, model = FIGURES[group]
        return parse_as(model, self._gateway.call("GET", path, params=self._params.get(group)))

    def resolve(self, *, exception_id: int, action: str, data: dict[str, Any]) -> str | None:
        body = ResolveIn(action=action, data=data).model_dump_json()
        got = self._gateway.call("POST", f"/exceptions/{exception_id}/resolve", content=body)
        return parse_as(ResolveOut, got).order_state

    def heartbeat(self, report: HeartbeatIn) -> None:
        self._gateway.call("POST", "/stations/heartbeat", content=report.model_dump_json())


def dashboard_stream(
    *,
    base_url: str,
    station_token: str,
    on_change: Callable[[list[FigureGroup]], None],
    on_connected: Callable[[bool], None] | None = None,
) -> LiveStream:
    """The dashboard's own server-sent event stream (GET /dashboard/stream), on its own thread.
    `on_change` gets the groups to read again; `on_connected(True)` means read everything (what
    changed while disconnected is not replayed)."""

    def message(m: SseMessage) -> None:
        if m.event != DASHBOARD_CHANGED:
            return
        try:
            on_change(list(DashboardChanged.model_validate_json(m.data).groups))
        except ValidationError:
            log.warning("ignoring a malformed dashboard-changed event: %r", m.data[:200])

    return LiveStream(
        base_url=base_url,
        station_token=station_token,
        on_order_changed=lambda _: None,  # never sent on this stream
        on_connected=on_connected,
        path="/dashboard/stream",
        on_message=message,
    )


class FakeDashboardClient:
    """Figures held in memory; `resolve` closes the row and answers like the server."""

    def __init__(self, figures: dict[FigureGroup, Model] | None = None) -> None:
        self.online = True
        self._lock = threading.Lock()
        self._figures: dict[FigureGroup, Model] = dict(figures or {})
        self.resolved: list[tuple[int, str, dict[str, Any]]] = []
        self.heartbeats: list[HeartbeatIn] = []
        self.fetches: list[FigureGroup] = []

    def set(self, group: FigureGroup, figures: Model) -> None:
        with self._lock:
            self._figures[group] = figures

    def figures(self, group: FigureGroup) -> Model:
        self._check_online()
        with self._lock:
            self.fetches.append(group)
            found = self._figures.get(group)
        if found is None:
            raise ServerRefused(status=404, detail=f"no {group} figures in the fake")
        return found

    def resolve(self, *, exception_id: int, action: str, data: dict[str, Any]) -> str | None:
        self._check_online()
        with self._lock:
            queue = self._figures.get("exceptions")
            if not isinstance(queue, ExceptionQueueOut):
                raise ServerRefused(status=404, detail=f"exception {exception_id} does not exist")
            row = next((r for r in queue.rows if r.id == exception_id), None)
            if row is None:
                raise ServerRefused(status=404, detail=f"exception {exception_id} does not exist")
            if action not in row.actions:
                raise ServerRefused(
                    status=409,
                    detail=f"a {row.kind} exception is resolved by one of: "
                    + ", ".join(row.actions),
                )
            rows = [r for r in queue.rows if r.id != exception_id]
            self._figures["exceptions"] = queue.model_copy(
                update={"rows": rows, "open": queue.open - 1}
            )
            self.resolved.append((exception_id, action, dict(data)))
        return "cancelled" if action == "cancel" else "accepted"

    def heartbeat(self, report: HeartbeatIn) -> None:
        self._check_online()
        with self._lock:
            self.heartbeats.append(report)

    def _check_online(self) -> None:
        if not self.online:
            raise ServerUnavailable("fake server is offline")
