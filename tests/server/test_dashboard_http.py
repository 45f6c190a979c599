"""The dashboard over HTTP: who may read it, bad parameters, the heartbeat, and the live stream
(pushes on changes, a vanished or stalled dashboard never holding anyone up)."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from server.services.live_events import LiveEvents
from shared.contract import API_PREFIX
from shared.contract.dashboard import (
    FIGURE_GROUPS,
    AtRiskOut,
    BacklogOut,
    BenchesOut,
    CarrierSpendOut,
    CustodyOut,
    DashboardChanged,
    ExceptionQueueOut,
    UnallocatedOut,
)
from station.sync.live import parse_sse
from tests.server.http import is_problem, sign_in
from tests.server.world import build_world, place
from tests.station.sync.server_support import wait_for

FIGURES = {
    "/dashboard/backlog": BacklogOut,
    "/dashboard/at-risk": AtRiskOut,
    "/dashboard/unallocated": UnallocatedOut,
    "/dashboard/exceptions": ExceptionQueueOut,
    "/dashboard/spend": CarrierSpendOut,
    "/dashboard/custody": CustodyOut,
    "/dashboard/benches": BenchesOut,
}


def test_figures_need_a_signed_in_supervisor(svc: Services, live_server: str) -> None:
    sup = sign_in(svc)
    packer = sign_in(svc, badge="BADGE-PACK-1", roles=frozenset({"packer"}))
    station_only = {"Authorization": f"Bearer {sup.station_token}"}
    with httpx.Client(base_url=live_server + API_PREFIX, timeout=30) as c:
        for path, model in FIGURES.items():
            ok = c.get(path, headers=sup.headers)
            assert ok.status_code == 200, (path, ok.text)
            model.model_validate(ok.json())
            assert c.get(path, headers=station_only).status_code == 401
            assert c.get(path).status_code == 401
            refused = c.get(path, headers=packer.headers)
            assert refused.status_code == 403 and is_problem(refused.headers["content-type"])


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/at-risk?limit=0",
        "/dashboard/at-risk?horizon_hours=-1",
        "/dashboard/unallocated?limit=100000",
        "/dashboard/spend?days=93",
        "/dashboard/benches?window_minutes=abc",
        "/dashboard/exceptions?limit=1e99",
        "/dashboard/at-risk?horizon_hours=nan",
        "/dashboard/at-risk?horizon_hours=inf",
    ],
)
def test_bad_parameters_are_problems(svc: Services, live_server: str, path: str) -> None:
    sup = sign_in(svc)
    with httpx.Client(base_url=live_server + API_PREFIX, timeout=30) as c:
        got = c.get(path, headers=sup.headers)
    assert got.status_code == 422 and is_problem(got.headers["content-type"])


def test_heartbeat_is_stored_and_shown_per_bench(svc: Services, live_server: str) -> None:
    sup = sign_in(svc)
    bench = {"Authorization": f"Bearer {sup.station_token}"}  # no operator needed to beat
    with httpx.Client(base_url=live_server + API_PREFIX, timeout=30) as c:
        assert c.post("/stations/heartbeat", json={"scanner": "ok"}).status_code == 401
        for garbage in (
            {"scanner": "purple"},
            {"queued": -1},
            {"surprise": 1},
            [1, 2],
            {"printer_words": "x" * 201},
            {"scanner_words": "nul \x00 byte"},
        ):
            bad = c.post("/stations/heartbeat", json=garbage, headers=bench)
            assert bad.status_code == 422 and is_problem(bad.headers["content-type"])
        raw = c.post("/stations/heartbeat", content=b"\xff\x00not json", headers=bench)
        assert raw.status_code == 422
        body = {
            "scanner": "warn",
            "scanner_words": "Scanner unplugged - reconnecting",
            "printer": "ok",
            "printer_words": "Printer ready",
            "queued": 4,
        }
        beat = c.post("/stations/heartbeat", json=body, headers=bench)
        assert beat.status_code == 200 and beat.json()["station_id"] == sup.station_id
        shown = BenchesOut.model_validate(c.get("/dashboard/benches", headers=sup.headers).json())
    (row,) = [b for b in shown.benches if b.station_id == sup.station_id]
    assert row.health.online and row.health.scanner == "warn" and row.health.queued == 4


@pytest.fixture
def quick(svc: Services) -> Services:
    feed = svc.dashboard.feed
    feed.poll_s, feed.debounce_s = 0.05, 0.05  # the tests wait for pushes: make them quick
    feed.live.heartbeat_s = 0.5  # a dropped connection is noticed on the next write
    return svc


class Listener:
    """A dashboard's stream read on a thread, its pushes collected in a queue."""

    def __init__(self, url: str, token: str) -> None:
        self.pushes: queue.Queue[list[str]] = queue.Queue()
        self.connected = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=60))
        self._thread = threading.Thread(target=self._run, args=(url, token), daemon=True)
        self._thread.start()
        assert self.connected.wait(30)

    def _run(self, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with self._client.stream(
                "GET", url + API_PREFIX + "/dashboard/stream", headers=headers
            ) as resp:
                assert resp.headers["content-type"].startswith("text/event-stream")
                for message in parse_sse(resp.iter_lines()):
                    self.connected.set()
                    if message is not None and message.event == "dashboard-changed":
                        self.pushes.put(DashboardChanged.model_validate_json(message.data).groups)
        except httpx.HTTPError:
            pass  # closed by the test

    def until(self, group: str) -> list[str]:
        while True:
            groups = self.pushes.get(timeout=30)
            if group in groups:
                return groups

    def close(self) -> None:
        self._client.close()


@pytest.fixture
def listener(quick: Services, live_server: str) -> Iterator[Listener]:
    creds = sign_in(quick, badge="BADGE-STREAM")
    got = Listener(live_server, creds.station_token)
    yield got
    quick.dashboard.feed.live.close_all()  # open streams would hold up the server's shutdown
    got.close()


def test_stream_pushes_the_groups_that_changed(
    quick: Services, live_server: str, listener: Listener
) -> None:
    svc = quick
    assert listener.pushes.get(timeout=30) == list(FIGURE_GROUPS)  # first dashboard: read all
    world = build_world(svc)
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=3, actor=SYSTEM)
    place(svc, "live-1", ("SKU-A", 1))  # allocation publishes nothing: the marks see it
    assert {"backlog", "at_risk", "unallocated"} <= set(listener.until("backlog"))
    held = place(svc, "live-2", ("SKU-B", 1))  # no stock: an exception opens
    listener.until("exceptions")
    sup = sign_in(svc, badge="BADGE-SUP-2")
    with httpx.Client(base_url=live_server + API_PREFIX, headers=sup.headers, timeout=30) as c:
        assert c.post("/stations/heartbeat", json={"printer": "bad"}).status_code == 200
        listener.until("benches")
        (ex,) = [x for x in svc.exceptions.list() if x.order_id == held]
        done = c.post(f"/exceptions/{ex.id}/resolve", json={"action": "cancel"})
        assert done.status_code == 200 and done.json()["order_state"] == "cancelled"
    assert "exceptions" in listener.until("exceptions")


def test_a_vanished_dashboard_leaves_nothing_behind(
    quick: Services, live_server: str, listener: Listener
) -> None:
    svc = quick
    feed = svc.dashboard.feed
    other = sign_in(svc, badge="BADGE-GONE")
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as gone:
        gone.sendall(
            f"GET {API_PREFIX}/dashboard/stream HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {other.station_token}\r\n\r\n".encode()
        )
        assert b"200 OK" in gone.recv(4096)
        wait_for(lambda: feed.live.subscriber_count == 2, what="two dashboards")
    # The connection dropped without a goodbye.
    sup = sign_in(svc, badge="BADGE-SUP-3")
    with httpx.Client(base_url=live_server + API_PREFIX, headers=sup.headers, timeout=30) as c:
        for n in range(5):  # every write still answers, and the living dashboard still hears
            assert c.post("/stations/heartbeat", json={"queued": n}).status_code == 200
            listener.until("benches")
    wait_for(lambda: feed.live.subscriber_count == 1, what="the vanished stream to be dropped")


def test_a_stalled_dashboard_never_blocks_a_publisher() -> None:
    """The subscriber's event loop is stuck for the whole burst: publishing still returns at
    once, and once the loop runs again the stream is cut off instead of buffered."""
    live = LiveEvents(queue_size=5)

    async def stuck_subscriber() -> list[object]:
        sub = live.subscribe()
        burst = threading.Thread(
            target=lambda: [
                live.publish(event="dashboard-changed", data={"n": n}) for n in range(5000)
            ]
        )
        burst.start()
        burst.join(timeout=60)  # this loop is blocked here: nothing reaches the subscriber
        assert not burst.is_alive()
        await asyncio.sleep(0.05)  # the loop runs: the queued deliveries land
        seen = []
        while not sub.queue.empty():
            seen.append(sub.queue.get_nowait())
        return seen

    seen = asyncio.run(stuck_subscriber())
    assert None in seen  # the stream ends: the dashboard reconnects and reads afresh
