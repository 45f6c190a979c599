"""In-process fan-out of live events to the stations' server-sent event streams.

Services publish after their transaction committed (never inside it: a rolled-back change must not
be announced). `publish` is called from worker threads (FastAPI runs sync routes in a threadpool),
while every subscriber is an async stream on the event loop, so delivery hops onto the loop with
`call_soon_threadsafe`. A subscriber that falls behind is cut off rather than buffered without
bound; its station reconnects and re-reads its tasks, which is the same recovery as after an
outage.

Several server processes sharing one PostgreSQL each have their own LiveEvents; a relay (attached
by the composition root, `server/db/notify.py`) carries every publish to the other processes, whose
relay hands it to `deliver`. The publishing process delivers its own messages directly, so each
process delivers each message exactly once. On SQLite (one process by design) there is no relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
ORDER_CHANGED = "order-changed"


@dataclass(frozen=True, slots=True)
class LiveMessage:
    id: int
    event: str
    data: dict[str, Any]


class Relay(Protocol):
    """Carries a published message to the other server processes; must not block or raise."""

    def send(self, *, event: str, data: dict[str, Any]) -> None: ...


class Subscription:
    def __init__(self, *, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[LiveMessage | None] = asyncio.Queue(maxsize=size)

    def offer(self, message: LiveMessage) -> None:
        # Runs on the subscriber's loop. None tells the stream to end (cut off, or shutdown).
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("live stream subscriber fell behind; closing it so it reconnects")
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class LiveEvents:
    def __init__(self, *, heartbeat_s: float = HEARTBEAT_S, queue_size: int = 1000) -> None:
        self.heartbeat_s = heartbeat_s
        self.queue_size = queue_size
        self._lock = threading.Lock()
        self._subs: set[Subscription] = set()
        self._seq = 0
        self._closed = False
        # Called with every delivered message on the publishing thread, or the relay's thread
        # for another process's message (the dashboard feed only records a nudge there): they
        # must not block or raise into a use case.
        self._listeners: list[Callable[[LiveMessage], None]] = []
        self._relay: Relay | None = None

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)

    def attach_relay(self, relay: Relay | None) -> None:
        with self._lock:
            self._relay = relay

    def publish(self, *, event: str, data: dict[str, Any]) -> None:
        """Announce to this process's subscribers and, through the relay, to the other processes."""
        self.deliver(event=event, data=data)
        with self._lock:
            relay = self._relay
        if relay is not None:
            try:
                relay.send(event=event, data=data)
            except Exception:  # the use case has committed: a lost announcement must not undo it
                log.exception("live event could not be relayed to the other server processes")

    def deliver(self, *, event: str, data: dict[str, Any]) -> None:
        """This process's subscribers and listeners only (the relay calls this for messages
        published by another process)."""
        with self._lock:
            self._seq += 1
            message = LiveMessage(self._seq, event, data)
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.offer, message)
            except RuntimeError:  # its loop has closed: the server is shutting down
                self.unsubscribe(sub)
        for listener in list(self._listeners):
            try:
                listener(message)
            except Exception:
                log.exception("live event listener failed")

    def add_listener(self, listener: Callable[[LiveMessage], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def publish_order_changed(self, *, order_id: int, state: str, change: str) -> None:
        self.publish(
            event=ORDER_CHANGED, data={"order_id": order_id, "state": state, "change": change}
        )

    def subscribe(self) -> Subscription:
        """Call on the event loop that will read the subscription."""
        sub = Subscription(loop=asyncio.get_running_loop(), size=self.queue_size)
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def open(self) -> None:
        with self._lock:
            self._closed = False

    def cut_off_all(self) -> None:
        """End every open stream but accept new ones: each station reconnects and re-reads its
        tasks. The relay calls this after it missed messages (its connection was lost)."""
        with self._lock:
            subs, self._subs = list(self._subs), set()
        for sub in subs:
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                sub.loop.call_soon_threadsafe(sub.queue.put_nowait, None)

    def close_all(self) -> None:
        """End every stream and refuse new ones: call when the process starts shutting down,
        since an open stream never finishes and would hold up a graceful shutdown."""
        with self._lock:
            self._closed = True
        self.cut_off_all()

    async def frames(self) -> AsyncIterator[str]:
        """The text/event-stream body for one subscriber, with heartbeat comments.

        Subscribes when the body starts, so a client that vanished before that leaves nothing
        behind; everything published after the `connected` comment reaches this stream.
        """
        with self._lock:
            closed = self._closed
        if closed:
            return  # shutting down: an empty stream, the station retries after its back-off
        sub = self.subscribe()
        try:
            # Sent at once so the client sees the stream open (and proxies flush headers).
            yield "retry: 3000\n: connected\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(sub.queue.get(), timeout=self.heartbeat_s)
                except TimeoutError:
                    # A comment line: ignored by SSE parsers, keeps NATs/proxies from idling
                    # the connection out and lets the client notice a dead link by its absence.
                    yield ": heartbeat\n\n"
                    continue
                if message is None:
                    return
                yield format_sse(message)
        finally:
            self.unsubscribe(sub)


def format_sse(message: LiveMessage) -> str:
    data = json.dumps(message.data, separators=(",", ":"), sort_keys=True)
    return f"id: {message.id}\nevent: {message.event}\ndata: {data}\n\n"
