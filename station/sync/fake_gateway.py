"""An in-memory server for the demo and for tests: tasks, claims, and once-only event intake.

It answers like the real one (applied / duplicate with the first outcome / rejected for a
cancelled order) and can be switched offline, so the bench's offline behaviour can be shown
without a server.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from shared.contract.events import EventResult, StationEvent
from shared.contract.orders import TaskOut
from shared.contract.stations import LoginOut
from station.sync.client import ServerRefused, ServerUnavailable

# The fake serves one bench: every order it holds on the floor is that bench's own.
_RESUMABLE = frozenset({"picking", "picked", "packing", "packed"})


class FakeGateway:
    def __init__(
        self,
        *,
        tasks: Sequence[TaskOut] = (),
        badges: dict[str, tuple[int, str, tuple[str, ...]]] | None = None,
    ) -> None:
        self.online = True
        self._lock = threading.Lock()
        self._tasks = {t.order_id: t for t in tasks}
        # badge -> (operator id, name, roles)
        self._badges = dict(badges or {"DEMO-PICKER": (1, "Demo Picker", ("picker", "packer"))})
        self.cancelled: set[int] = set()
        self.applied: list[StationEvent] = []  # in arrival order, each key once
        self._first: dict[str, EventResult] = {}
        self.operator_id: int | None = None

    def _check_online(self) -> None:
        if not self.online:
            raise ServerUnavailable("fake server is offline")

    def ping(self) -> None:
        self._check_online()

    def login(self, *, badge: str, pin: str | None = None) -> LoginOut:
        self._check_online()
        found = self._badges.get(badge)
        if found is None:
            raise ServerRefused(status=401, detail="unknown badge")
        self.operator_id = found[0]
        return LoginOut(
            token=f"fake-{found[0]}", operator_id=found[0], name=found[1], roles=list(found[2])
        )

    def logout_local(self) -> None:
        self.operator_id = None

    def supervisor_badges(self) -> list[str]:
        self._check_online()
        return sorted(
            hashlib.sha256(badge.encode()).hexdigest()
            for badge, (_, _, roles) in self._badges.items()
            if {"supervisor", "admin"} & set(roles)
        )

    def tasks(self) -> list[TaskOut]:
        self._check_online()
        with self._lock:
            # Like the server: this bench's own half-done orders first, then released ones.
            own = [t for t in self._tasks.values() if t.state in _RESUMABLE]
            return own + [t for t in self._tasks.values() if t.state == "released"]

    def claim(self, *, order_id: int) -> TaskOut:
        self._check_online()
        with self._lock:
            task = self._tasks.get(order_id)
            if task is not None and task.state in _RESUMABLE:
                return task  # the bench resumes its own work
            if task is None or task.state != "released":
                raise ServerRefused(status=409, detail=f"order {order_id} cannot be claimed")
            claimed = task.model_copy(update={"state": "picking"})
            self._tasks[order_id] = claimed
            return claimed

    def post_events(self, *, events: Sequence[StationEvent]) -> list[EventResult]:
        self._check_online()
        out = []
        with self._lock:
            for e in events:
                first = self._first.get(e.key)
                if first is not None:
                    out.append(
                        EventResult(
                            key=e.key,
                            status="duplicate",
                            detail=first.detail,
                            original="rejected" if first.status == "rejected" else "applied",
                        )
                    )
                    continue
                if e.order_id is not None and e.order_id in self.cancelled:
                    result = EventResult(
                        key=e.key, status="rejected", detail=f"order {e.order_id} was cancelled"
                    )
                else:
                    result = EventResult(key=e.key, status="applied", detail="recorded")
                    self.applied.append(e)
                self._first[e.key] = result
                out.append(result)
        return out
