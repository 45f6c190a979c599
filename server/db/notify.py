"""Live events between server processes that share one PostgreSQL: LISTEN/NOTIFY.

Every process publishes to its own subscribers directly and hands the message to this bridge,
which sends it as `pg_notify('packline_live', payload)` tagged with the process's origin id. Every
process LISTENs on a dedicated autocommit connection and delivers what other origins sent to its
own subscribers; its own messages come back too and are skipped, so each process delivers each
message exactly once. NOTIFY is transactional and the use case has committed before it publishes,
so a process that receives the message can already read the change it announces.

Two threads, each with its own connection outside the SQLAlchemy pool (the listening one never
returns to a pool; the sending one must not compete with use cases for a pooled connection):
* the sender drains a bounded queue, so `send` never waits on the database; a NOTIFY that fails
  is retried once on a fresh connection (the old one may have died with a server restart), then
  logged and dropped: the local delivery has happened regardless;
* the listener reconnects with back-off. Messages sent while it was away are lost, so after a
  reconnect it cuts off the local streams: each station reconnects and re-reads its tasks, the
  same recovery as after any outage (station/sync/live.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
import uuid
from typing import Any, Protocol

import psycopg
from psycopg import sql

from server.db.engine import Database

log = logging.getLogger(__name__)

CHANNEL = "packline_live"
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more (default build).
MAX_PAYLOAD_BYTES = 7999
CONNECT_TIMEOUT_S = 5

Conn = psycopg.Connection[tuple[Any, ...]]


class LocalDelivery(Protocol):
    """This process's fan-out (server.services.live_events.LiveEvents)."""

    def deliver(self, *, event: str, data: dict[str, Any]) -> None: ...

    def cut_off_all(self) -> None: ...


class PgLiveBridge:
    def __init__(
        self,
        *,
        connect_kwargs: dict[str, Any],
        local: LocalDelivery,
        channel: str = CHANNEL,
        queue_size: int = 10_000,
        poll_s: float = 0.5,
        ping_s: float = 30.0,
        backoff_s: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.connect_kwargs = connect_kwargs
        self.local = local
        self.channel = channel
        self.poll_s = poll_s
        self.ping_s = ping_s
        self.backoff_s = backoff_s
        # One per bridge rather than os.getpid(): two bridges in one process (tests, or an
        # embedded second app) are two "processes" as far as delivery goes.
        self.origin = uuid.uuid4().hex
        self._outbox: queue.Queue[str] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._threads: list[threading.Thread] = []
        # The listening connection's server process, while LISTEN is active (logs, tests).
        self.listener_pid: int | None = None
        self._count_lock = threading.Lock()
        self.refused = 0  # messages too large for NOTIFY
        self.dropped = 0  # messages whose NOTIFY failed or did not fit the queue

    # --- the Relay side: called by LiveEvents.publish on a use case's thread ------------------
    def send(self, *, event: str, data: dict[str, Any]) -> None:
        payload = json.dumps({"o": self.origin, "e": event, "d": data}, separators=(",", ":"))
        size = len(payload.encode("utf-8"))
        if size > MAX_PAYLOAD_BYTES:
            with self._count_lock:
                self.refused += 1
            log.error(
                "live event %r is %d bytes, over the %d-byte NOTIFY limit: other server "
                "processes will not see it (keep live payloads to ids and states)",
                event, size, MAX_PAYLOAD_BYTES,
            )  # fmt: skip
            return
        try:
            self._outbox.put_nowait(payload)
        except queue.Full:
            with self._count_lock:
                self.dropped += 1
            log.error("live event %r dropped: the NOTIFY backlog is full (database away?)", event)

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._listen_loop, name="live-listen", daemon=True),
            threading.Thread(target=self._send_loop, name="live-notify", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stops listening; the sender first sends what was queued before this call, then a
        wake-up notification (no event: every listener ignores it) so the listener does not sit
        out its poll interval before it notices."""
        self._stop.set()
        if self._threads:
            wake = json.dumps({"o": self.origin, "e": "", "d": {}}, separators=(",", ":"))
            with contextlib.suppress(queue.Full):
                self._outbox.put_nowait(wake)
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout_s)

    def wait_listening(self, timeout_s: float) -> bool:
        return self._listening.wait(timeout_s)

    def _connect(self) -> Conn:
        kwargs: dict[str, Any] = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "packline-live",
        }
        kwargs.update(self.connect_kwargs)
        return psycopg.connect(autocommit=True, **kwargs)

    # --- the sender thread --------------------------------------------------------------------
    def _send_loop(self) -> None:
        conn: Conn | None = None
        try:
            # Drains what was queued before stop: those changes have committed and should be
            # announced even while this process shuts down.
            while not (self._stop.is_set() and self._outbox.empty()):
                try:
                    payload = self._outbox.get(timeout=self.poll_s)
                except queue.Empty:
                    continue
                conn = self._notify(conn, payload)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def _notify(self, conn: Conn | None, payload: str) -> Conn | None:
        for attempt in (1, 2):
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                conn.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))
                return conn
            except psycopg.Error as exc:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
                if attempt == 2:
                    with self._count_lock:
                        self.dropped += 1
                    log.error(
                        "live event not sent to the other server processes "
                        "(delivered here only): %s", exc
                    )  # fmt: skip
        return None

    # --- the listener thread ------------------------------------------------------------------
    def _listen_loop(self) -> None:
        delay, ceiling = self.backoff_s
        missed = False  # whether messages may have gone by unheard since the first attempt
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    if missed:
                        log.warning("live events: listening again; cutting off open streams so "
                                    "stations re-read what they missed")  # fmt: skip
                        self.local.cut_off_all()
                    # Only now: a stream opened after this point misses nothing.
                    self.listener_pid = conn.info.backend_pid
                    self._listening.set()
                    delay = self.backoff_s[0]
                    self._pump(conn)
            except Exception as exc:  # whatever it was, a dead listener would go unnoticed
                if self._stop.is_set():
                    break
                log.warning("live events: PostgreSQL listener connection lost or refused (%s); "
                            "retrying in %.1f s", exc, delay)  # fmt: skip
            finally:
                self._listening.clear()
                self.listener_pid = None
            missed = True
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, ceiling)

    def _pump(self, conn: Conn) -> None:
        last_heard = time.monotonic()
        while not self._stop.is_set():
            # One at a time: after each the stop flag is looked at again (a wake-up on stop).
            for notify in conn.notifies(timeout=self.poll_s, stop_after=1):
                last_heard = time.monotonic()
                self._handle(notify.payload)
            if time.monotonic() - last_heard >= self.ping_s:
                # A link that died silently (no RST) would otherwise wait here forever.
                conn.execute("SELECT 1")
                last_heard = time.monotonic()

    def _handle(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            origin, event, data = message["o"], message["e"], message["d"]
            if not (isinstance(origin, str) and isinstance(event, str) and isinstance(data, dict)):
                raise TypeError("unexpected field types")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a malformed live event notification (%s): %r", exc, payload[:200])
            return
        if origin == self.origin or not event:
            return  # published here and delivered here already, or a stopping bridge's wake-up
        try:
            self.local.deliver(event=event, data=data)
        except Exception:
            log.exception("live event from another server process could not be delivered")


def start_live_bridge(db: Database, *, local: LocalDelivery) -> PgLiveBridge | None:
    """A running bridge on PostgreSQL; None on SQLite, which is one server process by design."""
    if db.is_sqlite:
        return None
    engine = db.writer
    _args, kwargs = engine.dialect.create_connect_args(engine.url)
    kwargs.pop("context", None)  # SQLAlchemy's type adapters: the bridge passes plain strings
    bridge = PgLiveBridge(connect_kwargs=dict(kwargs), local=local)
    bridge.start()
    return bridge
