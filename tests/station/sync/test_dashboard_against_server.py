"""The dashboard screen and the heartbeat against a real server (SQLite and PostgreSQL): figures
read over HTTP, a change on the server arriving through the dashboard stream, an exception
resolved from the screen, a bench's heartbeat shown, and beats surviving an outage."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from server.bootstrap import Services
from server.demo import ADMIN_BADGE, seed
from server.domain.actor import SYSTEM
from shared.contract.dashboard import HeartbeatIn
from station.app import build
from station.settings import StationSettings
from station.sync.client import HttpGateway, enrol
from station.sync.dashboard_client import HttpDashboardClient, dashboard_stream
from station.sync.heartbeat import Heartbeat
from station.ui.background import Background
from station.ui.view_models.bench import Screen
from station.ui.view_models.dashboard import DashboardViewModel
from station.ui.widgets.dashboard import DashboardScreen
from tests.server.http import sign_in
from tests.server.world import build_world, place
from tests.station.sync.server_support import ServerRunner, wait_for

WAIT_MS = 30_000
BADGE = "BADGE-SUP-9"


@pytest.fixture
def gateway(svc: Services, server: ServerRunner) -> Iterator[HttpGateway]:
    feed = svc.dashboard.feed
    feed.poll_s, feed.debounce_s = 0.05, 0.05  # the test waits for pushes: make them quick
    feed.live.heartbeat_s = 0.5
    creds = sign_in(svc, badge=BADGE, roles=frozenset({"supervisor"}))
    got = HttpGateway(base_url=server.url, station_token=creds.station_token)
    got.login(badge=BADGE)
    yield got
    got.close()


def test_the_screen_reads_follows_and_resolves_against_the_server(
    svc: Services, server: ServerRunner, gateway: HttpGateway, qtbot
) -> None:
    world = build_world(svc)
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=5, actor=SYSTEM)
    place(svc, "d-1", ("SKU-A", 1))  # released
    held = place(svc, "d-2", ("SKU-B", 2))  # no stock: on hold, a stock conflict
    client = HttpDashboardClient(gateway=gateway)
    stream = dashboard_stream(
        base_url=server.url,
        station_token=gateway.station_token,
        on_change=lambda groups: vm.on_live_change(groups),
        on_connected=lambda up: vm.on_live_connected(up),
    )
    vm = DashboardViewModel(client=client, background=Background(), stream=stream)
    screen = DashboardScreen(vm=vm)
    qtbot.addWidget(screen)
    beats = Heartbeat(
        send=client.heartbeat,
        report=lambda: HeartbeatIn(scanner="ok", printer="bad", printer_words="Printer: head open"),
        interval_s=0.2,
    )
    try:
        vm.activate()
        qtbot.waitUntil(lambda: screen.status.text() == "Live", timeout=WAIT_MS)
        qtbot.waitUntil(
            lambda: not vm.busy and all(t.value.text() != "..." for t in screen.tiles.values()),
            timeout=WAIT_MS,
        )
        assert screen.tiles["backlog"].value.text() == "2"
        assert screen.tiles["exceptions"].value.text() == "1"
        assert screen.backlog_chart.values()["on hold"] == 1
        assert screen.unallocated.item(0).text().startswith("SKU-B  2 units on 1 orders")

        place(svc, "d-3", ("SKU-B", 1))  # on the server, behind the screen's back
        qtbot.waitUntil(lambda: screen.queue.count() == 2, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: screen.tiles["backlog"].value.text() == "3", timeout=WAIT_MS)

        screen.ask = lambda title, fields: {"reason": "customer cancelled"}
        screen.queue.setCurrentRow(0)
        assert screen.selected_exception() is not None
        with qtbot.waitSignal(vm.notice, timeout=WAIT_MS) as done:
            qtbot.mouseClick(screen.action_buttons["cancel"], Qt.MouseButton.LeftButton)
        assert done.args[0].endswith("the order is now cancelled")
        assert svc.orders.get(order_id=held).state == "cancelled"
        qtbot.waitUntil(lambda: screen.queue.count() == 1, timeout=WAIT_MS)

        beats.start()

        def head_open() -> bool:
            table = screen.benches
            cells = [table.item(r, 3) for r in range(table.rowCount())]
            return any(c is not None and c.text() == "Printer: head open" for c in cells)

        qtbot.waitUntil(head_open, timeout=WAIT_MS)  # beat -> stream push -> benches re-read
    finally:
        beats.stop()
        stream.stop()


def test_beats_are_lost_quietly_while_the_server_is_away(
    svc: Services, server: ServerRunner, gateway: HttpGateway
) -> None:
    client = HttpDashboardClient(gateway=gateway)
    beat = Heartbeat(send=client.heartbeat, report=lambda: HeartbeatIn(queued=3))
    assert beat.beat()
    server.stop()
    assert not beat.beat()  # refused connection: logged, no exception, the bench carries on
    server.start()
    wait_for(beat.beat, what="a beat after the server came back")
    (row,) = svc.dashboard.benches().benches
    assert row.health.queued == 3 and row.health.online


def test_the_station_app_beats_and_opens_the_dashboard_for_a_supervisor(
    svc: Services, server: ServerRunner, tmp_path: Path, qtbot
) -> None:
    """The composition root: every station beats; a supervisor's badge opens the figures."""
    info = seed(svc)
    token = enrol(base_url=server.url, code=info["enrolment_code"]).token
    settings = StationSettings(
        server_url=server.url, data_dir=tmp_path / "station", heartbeat_s=0.2
    )
    station = build(settings, token=token, virtual_scanner=True, with_window=True)
    assert station.virtual is not None and station.window is not None
    connected: list[object] = []
    station.bridge.scanner_status.connect(
        lambda st: connected.append(st) if st.state.value == "connected" else None
    )
    station.start()
    try:
        qtbot.waitUntil(lambda: bool(connected), timeout=WAIT_MS)
        wait_for(
            lambda: any(b.health.online for b in svc.dashboard.benches().benches),
            what="the station's heartbeat",
        )
        bench, screen = station.bench, station.window.dashboard_screen
        said: list[tuple[str, str]] = []
        bench.verdict.connect(lambda kind, words: said.append((kind, words)))
        station.virtual.write(ADMIN_BADGE)  # admin and supervisor; no PIN
        assert screen is not None
        qtbot.waitUntil(lambda: bench.screen is Screen.DASHBOARD, timeout=WAIT_MS)
        assert said[0] == ("accepted", "Hello Ada Admin")
        backlog = svc.dashboard.backlog().total
        qtbot.waitUntil(
            lambda: screen.tiles["backlog"].value.text() == str(backlog), timeout=WAIT_MS
        )
        qtbot.waitUntil(lambda: screen.status.text() == "Live", timeout=WAIT_MS)
    finally:
        station.stop()
