"""Tells open dashboards which figure groups to read again, without ever holding up a use case.

Two sources of "something changed":
* nudges: use cases (the heartbeat) and every message published on the stations' LiveEvents
  (order cancels, edits, custody moves) call `nudge`, which only records the groups and wakes
  the watcher thread: it takes no lock a subscriber could hold and does no I/O;
* marks: while at least one dashboard is connected, the watcher reads a few index-only marks
  (newest transition, exception, purchase, station event, health change, movement) every
  `poll_s`. This catches the writers that publish nothing (allocation, station events, intake,
  receipts) and writes made by other server processes sharing the PostgreSQL database.

A burst of changes becomes one push: after each push the watcher waits `debounce_s`, collecting
what changes meanwhile. Figures that move with the clock alone (at risk, idle, online) are
pushed every `tick_s`. Delivery is LiveEvents' (bounded queue per subscriber, cut off when it
falls behind), so a slow or vanished dashboard costs nothing but its own stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from server.db import dashboard_queries as q
from server.services.live_events import LiveEvents
from server.services.unit_of_work import UnitOfWork
from shared.contract.dashboard import DASHBOARD_CHANGED, FIGURE_GROUPS

log = logging.getLogger(__name__)

# Which figure groups each change mark feeds.
MARK_GROUPS: dict[str, tuple[str, ...]] = {
    "orders": ("backlog", "at_risk", "unallocated", "custody"),
    "exceptions": ("exceptions", "custody", "unallocated"),
    "spend": ("spend",),
    "events": ("benches",),
    "health": ("benches",),
    "stock": ("unallocated",),
}
CLOCK_GROUPS: tuple[str, ...] = ("at_risk", "benches", "custody")
ORDER_GROUPS: tuple[str, ...] = ("backlog", "at_risk", "unallocated", "exceptions", "custody")


class DashboardFeed:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        live: LiveEvents | None = None,
        poll_s: float = 1.0,
        debounce_s: float = 1.0,
        tick_s: float = 15.0,
        marks: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.uow = uow
        # The dashboards' own channel: the benches' stream never carries these pushes.
        self.live = live or LiveEvents()
        self.poll_s = poll_s
        self.debounce_s = debounce_s
        self.tick_s = tick_s
        self._marks = marks or (lambda: self.uow.read(q.change_marks))
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pushes = 0  # how many dashboard-changed messages went out (for tests and logs)

    def listen_to(self, station_live: LiveEvents) -> None:
        """Every order change announced to the benches may move the dashboard's figures."""
        station_live.add_listener(lambda _message: self.nudge(ORDER_GROUPS))

    def nudge(self, groups: Iterable[str] = FIGURE_GROUPS) -> None:
        """Safe from any thread, inside or after a use case: records and wakes, nothing else."""
        with self._lock:
            self._pending.update(groups)
        self._wake.set()

    def ensure_running(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="dashboard-feed", daemon=True)
            self._thread.start()

    def stop(self, *, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
        self.live.close_all()

    async def frames(self) -> AsyncIterator[str]:
        """One dashboard's text/event-stream body; starts the watcher on first use."""
        self.ensure_running()
        self._wake.set()  # a first subscriber gets its baseline read at once
        async for frame in self.live.frames():
            yield frame

    # --- the watcher thread ---------------------------------------------------------------------
    def _run(self) -> None:
        marks: dict[str, Any] | None = None
        last_tick = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                groups, self._pending = self._pending, set()
            if self.live.subscriber_count == 0:
                marks = None  # nobody to tell: read nothing until someone connects
                continue
            try:
                now_marks = self._marks()
            except Exception:  # the database away for a moment must not end live updates
                log.exception("dashboard change marks could not be read")
                self._stop.wait(self.poll_s)
                continue
            if marks is None:
                groups.update(FIGURE_GROUPS)  # a first dashboard: whatever it read may be old
            else:
                for name, groups_of_mark in MARK_GROUPS.items():
                    if now_marks.get(name) != marks.get(name):
                        groups.update(groups_of_mark)
            marks = now_marks
            if time.monotonic() - last_tick >= self.tick_s:
                groups.update(CLOCK_GROUPS)
                last_tick = time.monotonic()
            if groups:
                self._push(groups)
                self._stop.wait(self.debounce_s)

    def _push(self, groups: set[str]) -> None:
        ordered = [g for g in FIGURE_GROUPS if g in groups]
        self.pushes += 1
        self.live.publish(event=DASHBOARD_CHANGED, data={"groups": ordered})
