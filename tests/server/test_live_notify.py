"""Live events across server processes sharing one PostgreSQL (LISTEN/NOTIFY).

Two `Services` built on the same database stand for two server processes: each has its own
LiveEvents and its own bridge, exactly as two uvicorn workers would. "Exactly once" is proven by
order, not by waiting: PostgreSQL delivers notifications in commit order, so once a later marker
has arrived every earlier notification has been handled, and a duplicate would sit before it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from server.bootstrap import Services, build_services
from server.db.engine import open_database
from server.db.notify import CHANNEL, MAX_PAYLOAD_BYTES, PgLiveBridge, start_live_bridge
from server.domain.actor import SYSTEM
from server.services.live_events import ORDER_CHANGED, LiveEvents
from server.settings import ServerSettings
from tests.server.conftest import Clock
from tests.server.http import sign_in
from tests.server.world import build_world, place
from tests.station.sync.server_support import ServerRunner, events_app, free_port, wait_for

WAIT_S = 30.0
POSTGRES = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


class Tap:
    """One live-stream subscriber, reading `LiveEvents.frames()` on its own event loop as the
    server's streaming response does; `None` in `events` means the stream ended."""

    def __init__(self, live: LiveEvents) -> None:
        self.live = live
        self.events: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._subscribed = threading.Event()
        threading.Thread(target=lambda: asyncio.run(self._read()), daemon=True).start()
        assert self._subscribed.wait(WAIT_S), "the stream never opened"

    async def _read(self) -> None:
        async for frame in self.live.frames():
            if frame.startswith("retry:"):
                self._subscribed.set()  # frames() subscribes before its first frame
                continue
            if frame.startswith(":"):
                continue  # heartbeat
            fields = dict(line.split(": ", 1) for line in frame.strip().splitlines())
            self.events.put((fields["event"], json.loads(fields["data"])))
        self.events.put(None)

    def next(self) -> tuple[str, dict[str, Any]] | None:
        return self.events.get(timeout=WAIT_S)


def changed(order_id: int, state: str = "cancelled", change: str = "cancelled") -> tuple[str, Any]:
    return ORDER_CHANGED, {"order_id": order_id, "state": state, "change": change}


def bridge(svc: Services) -> PgLiveBridge:
    assert svc.live_bridge is not None
    return svc.live_bridge


@pytest.fixture
def other(db_url: str, tmp_path: Path) -> Iterator[Services]:
    """A second server process on the same database as `svc`."""
    settings = ServerSettings(data_dir=tmp_path / "b", database_url=db_url, home_country="NL")
    services = build_services(settings, clock=Clock())
    yield services
    services.close()


@pytest.fixture
def pair(svc: Services, other: Services) -> Iterator[tuple[Services, Services]]:
    for s in (svc, other):
        assert bridge(s).wait_listening(WAIT_S), "the listener never started"
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=50, actor=SYSTEM)
    yield svc, other
    for s in (svc, other):
        s.live.close_all()  # ends the taps' streams


def cancel(svc: Services, ext: str) -> int:
    oid = place(svc, ext, ("SKU-A", 1))
    svc.orders.cancel(order_id=oid, reason="customer changed their mind", actor=SYSTEM)
    return oid


def logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records)


def admin(pg_url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql"), autocommit=True)


@POSTGRES
def test_an_order_change_reaches_every_process_exactly_once(
    pair: tuple[Services, Services],
) -> None:
    a, b = pair
    tap_a, tap_b = Tap(a.live), Tap(b.live)
    heard_b: list[tuple[str, dict[str, Any]]] = []  # the dashboard feed's hook, on process B
    b.live.add_listener(lambda m: heard_b.append((m.event, m.data)))

    first = cancel(a, "n-1")
    assert tap_b.next() == changed(first)  # A's cancel on B's stream
    second = cancel(b, "n-2")  # after `first`'s NOTIFY was delivered: it queues behind it
    assert tap_a.next() == changed(first)
    assert tap_a.next() == changed(second)  # not `first` again: A skipped its own notification
    third = cancel(a, "n-3")
    assert tap_b.next() == changed(second)  # delivered once, directly, not again from PostgreSQL
    assert tap_b.next() == changed(third)
    assert tap_a.next() == changed(third)
    assert heard_b == [changed(first), changed(second), changed(third)]
    assert tap_a.events.empty() and tap_b.events.empty()


@POSTGRES
def test_two_real_servers_a_cancel_on_one_reaches_a_bench_streaming_from_the_other(
    pair: tuple[Services, Services],
) -> None:
    a, b = pair
    creds = sign_in(a)  # the same database: B honours A's station and operator tokens
    server_a, server_b = ServerRunner(events_app(a)), ServerRunner(events_app(b, heartbeat_s=0.3))
    server_a.start()
    server_b.start()
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        url = f"{server_b.url}/api/v1/stations/stream"
        with httpx.stream(
            "GET", url, headers=creds.headers, timeout=httpx.Timeout(10, read=20)
        ) as r:
            lines.put(f"status {r.status_code}")
            for line in r.iter_lines():
                lines.put(line)

    def next_event() -> tuple[str, Any]:
        while not (line := lines.get(timeout=WAIT_S)).startswith("event:"):
            pass
        data = lines.get(timeout=WAIT_S)
        return line[len("event: ") :], json.loads(data[len("data: ") :])

    try:
        threading.Thread(target=read, daemon=True).start()
        assert lines.get(timeout=WAIT_S) == "status 200"
        while lines.get(timeout=WAIT_S) != ": connected":
            pass
        oids = [place(a, f"http-{n}", ("SKU-A", 1)) for n in (1, 2)]
        for oid in oids:
            r = httpx.post(f"{server_a.url}/api/v1/orders/{oid}/cancel",
                           json={"reason": "fraud check failed"}, headers=creds.headers,
                           timeout=30)  # fmt: skip
            assert r.status_code == 200, r.text
        assert next_event() == changed(oids[0])
        assert next_event() == changed(oids[1])  # the second cancel, not the first twice
    finally:
        server_a.stop()
        server_b.stop()


@POSTGRES
def test_the_listener_survives_its_connection_being_killed(
    pair: tuple[Services, Services], pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = pair
    old_pid = bridge(b).listener_pid
    tap_before = Tap(b.live)
    with admin(pg_url) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (old_pid,))
    # Anything sent while B was deaf is lost: B ends its streams so the benches re-read.
    assert tap_before.next() is None
    wait_for(lambda: bridge(b).listener_pid not in (None, old_pid), what="listening again")
    assert logged(caplog, "listening again")
    tap_after = Tap(b.live)
    oid = cancel(a, "kill-1")
    assert tap_after.next() == changed(oid)
    marker = cancel(a, "kill-2")
    assert tap_after.next() == changed(marker)


@POSTGRES
def test_a_killed_sending_connection_is_replaced_and_the_event_still_arrives(
    pair: tuple[Services, Services], pg_url: str
) -> None:
    a, b = pair
    tap_b = Tap(b.live)
    warm = cancel(a, "send-0")  # A's sending connection now exists
    assert tap_b.next() == changed(warm)
    listeners = (bridge(a).listener_pid, bridge(b).listener_pid)
    with admin(pg_url) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'packline-live' AND datname = current_database()"
            " AND NOT pid = ANY(%s)",
            (list(listeners),),
        ).fetchall()
    assert len(killed) >= 1  # A's sender (B's too, if it had sent anything)
    oid = cancel(a, "send-1")
    assert tap_b.next() == changed(oid)
    assert bridge(a).dropped == 0


@POSTGRES
def test_an_oversized_event_is_refused_loudly_and_still_delivered_locally(
    pair: tuple[Services, Services], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = pair
    tap_a, tap_b = Tap(a.live), Tap(b.live)
    big = {"note": "x" * (MAX_PAYLOAD_BYTES + 1)}
    with caplog.at_level(logging.ERROR, logger="server.db.notify"):
        a.live.publish(event="bulky", data=big)
    assert tap_a.next() == ("bulky", big)
    assert bridge(a).refused == 1
    assert logged(caplog, "NOTIFY limit")
    marker = cancel(a, "big-1")
    assert tap_b.next() == changed(marker)  # the bulky one never reached B
    assert tap_a.next() == changed(marker)


@POSTGRES
def test_garbage_on_the_channel_is_ignored_and_listening_goes_on(
    pair: tuple[Services, Services], pg_url: str
) -> None:
    a, b = pair
    tap_b = Tap(b.live)
    pid = bridge(b).listener_pid
    with admin(pg_url) as conn:
        for junk in ("not json", "[1, 2]", '{"o": "x", "e": 5, "d": {}}', '{"o": "x"}', "\x01"):
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, junk))
    marker = cancel(a, "junk-1")
    assert tap_b.next() == changed(marker)
    assert bridge(b).listener_pid == pid


def test_a_notify_to_an_unreachable_database_is_logged_and_delivery_here_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = open_database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere")
    live = LiveEvents()
    relay = start_live_bridge(dead, local=live)
    assert relay is not None
    live.attach_relay(relay)
    try:
        tap = Tap(live)
        with caplog.at_level(logging.WARNING, logger="server.db.notify"):
            live.publish_order_changed(order_id=7, state="cancelled", change="cancelled")
            assert tap.next() == changed(7)
            wait_for(lambda: relay.dropped == 1, what="the failed NOTIFY")
            wait_for(lambda: logged(caplog, "delivered here only"), what="the NOTIFY error")
            wait_for(lambda: logged(caplog, "lost or refused"), what="the listener warning")
        assert not relay.wait_listening(0)
    finally:
        relay.stop()
        dead.dispose()
        live.close_all()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_stays_one_process_with_direct_delivery(svc: Services) -> None:
    assert svc.live_bridge is None
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=5, actor=SYSTEM)
    tap = Tap(svc.live)
    first, second = cancel(svc, "lite-1"), cancel(svc, "lite-2")
    assert tap.next() == changed(first)
    assert tap.next() == changed(second)
    svc.live.close_all()
    assert tap.next() is None
