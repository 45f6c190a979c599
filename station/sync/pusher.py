"""Drains the journal to the server in order, on its own thread, and reports online/queued.

Rules: an event leaves the journal's queue only when the server answered for it (applied,
duplicate, or rejected); an outage is waited out with back-off, never by dropping anything; a
rejected event is kept visible in the journal and not retried; a batch the server refuses as a
whole (a 4xx, e.g. an event a server of another version cannot parse) is re-sent one event at a
time so only the event at fault is set aside.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from shared.contract.events import EventResult
from station.sync.client import ServerGateway, ServerRefused, ServerUnavailable
from station.sync.journal import Journal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncState:
    online: bool
    queued: int
    rejected: int
    last_error: str | None = None


@dataclass(slots=True)
class Backoff:
    initial_s: float = 0.5
    max_s: float = 30.0
    attempt: int = 0

    def next_delay(self) -> float:
        base = min(self.max_s, self.initial_s * (2**self.attempt))
        self.attempt = min(self.attempt + 1, 30)
        # Jitter: benches that lost the server together must not come back in lockstep.
        return float(base * random.uniform(0.5, 1.0))

    def reset(self) -> None:
        self.attempt = 0


class Pusher:
    def __init__(
        self,
        *,
        journal: Journal,
        gateway: ServerGateway,
        on_state: Callable[[SyncState], None] | None = None,
        batch_size: int = 200,
        idle_s: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.journal = journal
        self.gateway = gateway
        self.on_state = on_state
        self.batch_size = batch_size
        self.idle_s = idle_s
        self.backoff = backoff or Backoff()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._online: bool | None = None  # unknown until the first answer
        self._last_error: str | None = None
        self._last_state: SyncState | None = None
        self._isolate_through = 0  # send one by one up to this sequence (after a 4xx batch)

    @property
    def online(self) -> bool:
        return bool(self._online)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="journal-pusher", daemon=True)
        self._thread.start()

    def stop(self, *, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def wake(self) -> None:
        """Call after `journal.append`: sends at once when online (no effect while backing off)."""
        self._wake.set()

    def _run(self) -> None:
        self._report()
        while not self._stop.is_set():
            try:
                outcome = self.push_once()
            except Exception:  # a bug must not kill the thread: the queue would stall silently
                log.exception("journal pusher failed; retrying after back-off")
                outcome = "offline"
            if outcome == "offline":
                self._stop.wait(self.backoff.next_delay())
            elif outcome == "idle":
                self._wake.wait(self.idle_s)
                self._wake.clear()

    def push_once(self) -> str:
        """One step: 'sent' (more may follow), 'idle' (queue empty) or 'offline'."""
        limit = self.batch_size
        batch = self.journal.pending(limit=limit)
        if batch and batch[0].seq <= self._isolate_through:
            batch = batch[:1]
        if not batch:
            if self._online is not True:
                return self._probe()
            self._report()
            return "idle"
        try:
            results = self.gateway.post_events(events=[b.event for b in batch])
        except ServerUnavailable as exc:
            return self._went_offline(str(exc))
        except ServerRefused as exc:
            if exc.status in (401, 403):
                # Not ours to fix by dropping events: the station's token or session is wrong.
                return self._went_offline(f"not authorised: {exc.detail}")
            self._set_online(error=None)
            if len(batch) > 1:
                self._isolate_through = batch[-1].seq
                return "sent"
            self.journal.mark_rejected(batch[0].event.key, detail=f"refused: {exc.detail}")
            self._report()
            return "sent"
        self._apply(results)
        self._set_online(error=None)
        return "sent"

    def _apply(self, results: list[EventResult]) -> None:
        done = []
        for r in results:
            if r.status == "rejected" or (r.status == "duplicate" and r.original == "rejected"):
                self.journal.mark_rejected(r.key, detail=r.detail or "rejected by the server")
            else:
                done.append(r.key)
        self.journal.mark_sent(done)

    def _probe(self) -> str:
        try:
            self.gateway.ping()
        except ServerUnavailable as exc:
            return self._went_offline(str(exc))
        self._set_online(error=None)
        return "idle"

    def _went_offline(self, error: str) -> str:
        if self._online is not False:
            log.info("server unreachable, queueing events: %s", error)
        self._online = False
        self._last_error = error
        self._report()
        return "offline"

    def _set_online(self, *, error: str | None) -> None:
        if self._online is not True:
            log.info("server reachable again")
        self._online = True
        self._last_error = error
        self.backoff.reset()
        self._report()

    def _report(self) -> None:
        counts = self.journal.counts()
        state = SyncState(bool(self._online), counts.queued, counts.rejected, self._last_error)
        if state != self._last_state:
            self._last_state = state
            if self.on_state is not None:
                self.on_state(state)
