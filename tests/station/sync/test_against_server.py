"""The sync layer against a real server (SQLite and PostgreSQL): kill -9, outage, live stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.bootstrap import Services
from server.db.station_event_tables import station_event as se
from server.domain.actor import SYSTEM
from shared.contract.events import EventResult, OrderChanged, StationEvent
from station.sync.client import HttpGateway, ServerRefused
from station.sync.journal import Journal
from station.sync.live import LiveStream
from station.sync.pusher import Backoff, Pusher, SyncState
from tests.server.http import Credentials
from tests.server.world import build_world, place
from tests.station.sync.events_factory import mis_scan
from tests.station.sync.server_support import ServerRunner, wait_for

ROOT = Path(__file__).resolve().parents[3]


class RecordingGateway(HttpGateway):
    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.results: list[EventResult] = []

    def post_events(self, *, events: Sequence[StationEvent]) -> list[EventResult]:
        out = super().post_events(events=events)
        self.results.extend(out)
        return out


def server_keys(svc: Services) -> list[str]:
    return list(
        svc.uow.read(lambda c: c.execute(select(se.c.key).order_by(se.c.id)).scalars().all())
    )


def test_kill_9_mid_push_then_restart_lands_every_event_once(
    svc: Services, server: ServerRunner, creds: Credentials, tmp_path: Path
) -> None:
    journal_path = tmp_path / "bench" / "journal.sqlite3"
    n, batch, hold = 100, 20, 3
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.station.sync.push_child", "--journal", str(journal_path),
         "--url", server.url, f"--token={creds.station_token}", "--events", str(n),
         "--batch", str(batch), "--hold-after", str(hold)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert child.stdout is not None
    seen = []
    for line in child.stdout:
        seen.append(line.strip())
        if line.strip() == "HELD":
            break
    assert seen[-1] == "HELD", seen
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    # The server applied 3 batches; the journal only knows about 2 of them.
    assert len(server_keys(svc)) == hold * batch
    journal = Journal(path=journal_path)
    assert journal.counts().queued == n - (hold - 1) * batch

    gw = RecordingGateway(base_url=server.url, station_token=creds.station_token)
    pusher = Pusher(journal=journal, gateway=gw, batch_size=batch, idle_s=0.05)
    pusher.start()
    wait_for(lambda: journal.counts().queued == 0, what="journal drained")
    pusher.stop()
    gw.close()
    keys = server_keys(svc)
    journal_keys = [e.event.key for e in _all(journal_path)]
    assert keys == journal_keys  # every event, once, in the bench's order
    assert len(set(keys)) == n
    statuses = [r.status for r in gw.results]
    assert statuses.count("duplicate") == batch  # the batch the kill interrupted
    assert statuses.count("applied") == n - hold * batch
    count = svc.uow.read(lambda c: c.execute(select(func.count()).select_from(se)).scalar_one())
    assert count == n


def _all(path: Path) -> list:  # type: ignore[type-arg]
    import sqlite3

    from station.sync.journal import JournaledEvent

    rows = sqlite3.connect(path).execute("SELECT seq, body FROM outgoing_event ORDER BY seq")
    return [JournaledEvent(s, StationEvent.model_validate_json(b)) for s, b in rows]


def test_outage_queues_events_and_replays_them_in_order(
    svc: Services, server: ServerRunner, creds: Credentials, tmp_path: Path
) -> None:
    journal = Journal(path=tmp_path / "journal.sqlite3")
    states: list[SyncState] = []
    gw = HttpGateway(base_url=server.url, station_token=creds.station_token, timeout_s=5)
    pusher = Pusher(journal=journal, gateway=gw, on_state=states.append, batch_size=7,
                    idle_s=0.05, backoff=Backoff(initial_s=0.05, max_s=0.2))  # fmt: skip
    pusher.start()
    first = [mis_scan(i) for i in range(5)]
    for e in first:
        journal.append(e)
        pusher.wake()
    wait_for(lambda: journal.counts().queued == 0, what="first events sent")
    server.stop()
    later = [mis_scan(100 + i) for i in range(20)]
    for e in later:
        journal.append(e)
        pusher.wake()
    wait_for(lambda: states and not states[-1].online and states[-1].queued == 20, what="offline")
    assert len(server_keys(svc)) == 5
    server.start()  # the same port: the link comes back
    wait_for(lambda: journal.counts().queued == 0, what="replay")
    wait_for(lambda: states[-1].online and states[-1].queued == 0, what="online again")
    pusher.stop()
    gw.close()
    assert server_keys(svc) == [e.key for e in first + later]


def test_live_stream_reports_a_cancel_and_reconnects(
    svc: Services, server: ServerRunner, creds: Credentials
) -> None:
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=5, actor=SYSTEM)
    oid = place(svc, "live-1", ("SKU-A", 1))
    got: list[OrderChanged] = []
    connected: list[bool] = []
    arrived = threading.Event()

    def on_change(c: OrderChanged) -> None:
        got.append(c)
        arrived.set()

    live = LiveStream(base_url=server.url, station_token=creds.station_token,
                      on_order_changed=on_change, on_connected=connected.append,
                      backoff=Backoff(initial_s=0.05, max_s=0.2))  # fmt: skip
    live.start()
    wait_for(lambda: connected == [True], what="stream connected")
    wait_for(lambda: server.app.state.live_events.subscriber_count == 1, what="subscribed")
    server.app.state.live_events.publish_order_changed(
        order_id=oid, state="cancelled", change="cancelled"
    )
    assert arrived.wait(20)
    assert got == [OrderChanged(order_id=oid, state="cancelled", change="cancelled")]
    server.stop()
    wait_for(lambda: connected[-1] is False, what="disconnect noticed")
    assert connected[:2] == [True, False]
    server.start()
    wait_for(lambda: connected[-1] is True, what="reconnected")
    got.clear()
    arrived.clear()
    wait_for(lambda: server.app.state.live_events.subscriber_count == 1, what="subscribed")
    server.app.state.live_events.publish_order_changed(order_id=oid, state="x", change="edited")
    assert arrived.wait(20) and got[0].change == "edited"
    live.stop()
    assert connected[-1] is False


def test_gateway_login_tasks_and_claim(
    svc: Services, server: ServerRunner, creds: Credentials
) -> None:
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=5, actor=SYSTEM)
    oid = place(svc, "gw-1", ("SKU-A", 2))
    gw = HttpGateway(base_url=server.url, station_token=creds.station_token)
    gw.ping()
    with pytest.raises(ServerRefused) as err:
        gw.tasks()  # nobody badged in yet
    assert err.value.status == 401
    who = gw.login(badge="BADGE-ADMIN-1")
    assert "picker" in who.roles
    assert [t.order_id for t in gw.tasks()] == [oid]
    task = gw.claim(order_id=oid)
    assert task.state == "picking" and task.lines[0].sku == "SKU-A"
    # The same bench claiming again (e.g. after a restart) resumes its own order.
    assert gw.claim(order_id=oid).state == "picking"
    assert [t.order_id for t in gw.tasks()] == [oid]
    gw.close()
