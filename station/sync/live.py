"""Listens to the server's live stream (server-sent events) on its own thread.

Delivers `order-changed` events through a callback and reconnects with back-off. Events sent
while the bench was disconnected are not replayed by the server, so `on_connected(True)` is the
cue to re-read the task list: that covers whatever was missed.

A dead link is noticed by silence: the server sends a heartbeat comment every 15 s, so a read
that waits three times that long without a byte means the connection is gone.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from shared.contract import API_PREFIX
from shared.contract.events import OrderChanged
from station.sync.pusher import Backoff

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SseMessage:
    event: str
    data: str
    id: str | None


def parse_sse(lines: Iterable[str]) -> Iterator[SseMessage | None]:
    """SSE framing (WHATWG HTML, server-sent events): yields a message per blank-line-terminated
    block with data, and None for each comment (a heartbeat)."""
    event, last_id = "", None
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield SseMessage(event or "message", "\n".join(data), last_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            yield None
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            last_id = value
        # "retry" and unknown fields are ignored: our back-off is our own.


class LiveStream:
    def __init__(
        self,
        *,
        base_url: str,
        station_token: str,
        on_order_changed: Callable[[OrderChanged], None],
        on_connected: Callable[[bool], None] | None = None,
        read_timeout_s: float = 45.0,
        backoff: Backoff | None = None,
        path: str = "/stations/stream",
        on_message: Callable[[SseMessage], None] | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + API_PREFIX + path
        # Other streams (the dashboard's) reuse the connection handling: their events go here.
        self.on_message = on_message
        self.station_token = station_token
        self.on_order_changed = on_order_changed
        self.on_connected = on_connected
        self.read_timeout_s = read_timeout_s
        self.backoff = backoff or Backoff(initial_s=1.0, max_s=30.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self.connected = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="live-stream", daemon=True)
            self._thread.start()

    def stop(self, *, timeout_s: float = 10.0) -> None:
        self._stop.set()
        with self._lock:
            sock = self._sock
        if sock is not None:
            # close() does not wake a thread blocked in recv() on Linux; shutdown() does.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        timeout = httpx.Timeout(10.0, read=self.read_timeout_s)
        with httpx.Client(timeout=timeout) as http:
            while not self._stop.is_set():
                try:
                    self._listen(http)
                    error = "stream ended"
                except (httpx.HTTPError, OSError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                except Exception as exc:  # a bug must not end live updates for the shift
                    log.exception("live stream failed")
                    error = repr(exc)
                self._set_connected(False)
                if self._stop.is_set():
                    break
                log.info("live stream lost (%s); reconnecting", error)
                self._stop.wait(self.backoff.next_delay())

    def _listen(self, http: httpx.Client) -> None:
        headers = {"Authorization": f"Bearer {self.station_token}", "Accept": "text/event-stream"}
        with http.stream("GET", self.url, headers=headers) as resp:
            kind = resp.headers.get("content-type", "").split(";")[0].strip()
            if resp.status_code != 200 or kind != "text/event-stream":
                raise httpx.HTTPError(f"live stream answered {resp.status_code} {kind!r}")
            stream = resp.extensions.get("network_stream")
            with self._lock:
                self._sock = stream.get_extra_info("socket") if stream is not None else None
            try:
                if self._stop.is_set():
                    return
                self._set_connected(True)
                self.backoff.reset()
                for message in parse_sse(resp.iter_lines()):
                    if self._stop.is_set():
                        return
                    if message is not None and message.event == "order-changed":
                        self._deliver(message)
                    elif message is not None and self.on_message is not None:
                        self.on_message(message)
            finally:
                with self._lock:
                    self._sock = None

    def _deliver(self, message: SseMessage) -> None:
        try:
            change = OrderChanged.model_validate_json(message.data)
        except ValidationError:
            log.warning("ignoring a malformed order-changed event: %r", message.data[:200])
            return
        self.on_order_changed(change)

    def _set_connected(self, value: bool) -> None:
        if value != self.connected:
            self.connected = value
            if self.on_connected is not None:
                self.on_connected(value)
