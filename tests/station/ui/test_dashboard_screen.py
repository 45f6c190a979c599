"""The supervisors' dashboard on the bench window, against the in-memory dashboard gateway:
figures shown, live changes arriving from another thread, exceptions resolved from the screen,
offline, and getting to and from the screen."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QCoreApplication, Qt

from station.sync.dashboard_client import FakeDashboardClient
from station.sync.fake_gateway import FakeGateway
from station.ui.background import Background
from station.ui.sounds import SilentSounds
from station.ui.view_models.bench import BenchViewModel, Screen
from station.ui.view_models.dashboard import DashboardViewModel, prepare
from station.ui.view_models.status import StatusViewModel
from station.ui.widgets.theme import LIGHT_COLOURS
from station.work.pack import PackSession
from station.work.pick import PickSession
from tests.station.ui.conftest import BADGE, TOLERANCE, WAIT_MS, scan
from tests.station.ui.dashboard_figures import NOW, fake_dashboard, queue

SUPERVISOR = "BADGE-SUE"
PACKER = "BADGE-PAT"
BADGES = {
    BADGE: (1, "Demo Picker", ("picker", "packer")),
    PACKER: (2, "Pat", ("packer",)),
    SUPERVISOR: (5, "Sue", ("supervisor",)),
}


def build(qtbot, task, journal, clock, client: FakeDashboardClient):
    from station.ui.main_window import MainWindow

    status = StatusViewModel()
    vm = DashboardViewModel(client=client, background=Background(), clock=lambda: NOW)
    bench = BenchViewModel(
        gateway=FakeGateway(tasks=[task], badges=BADGES),
        background=Background(),
        journal_append=journal,
        make_pick=lambda t, op: PickSession(t, clock=clock, operator_badge=op.badge),
        make_pack=lambda t, op: PackSession(t, clock=clock, scale_tolerance=TOLERANCE),
        status=status,
        dashboard=vm,
    )
    window = MainWindow(bench=bench, status=status, sounds=SilentSounds())
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    return window, bench, vm


def settled(vm: DashboardViewModel, client: FakeDashboardClient, fetches: int):
    return lambda: len(client.fetches) >= fetches and not vm.busy


@pytest.fixture
def client() -> FakeDashboardClient:
    return fake_dashboard()


@pytest.fixture
def shown(qtbot, task, journal, clock, client):
    window, bench, vm = build(qtbot, task, journal, clock, client)
    bench.handle_scan(scan(SUPERVISOR))
    qtbot.waitUntil(lambda: bench.screen is Screen.DASHBOARD, timeout=WAIT_MS)
    qtbot.waitUntil(settled(vm, client, 7), timeout=WAIT_MS)
    return window, bench, vm


def test_a_supervisor_signs_in_and_sees_the_figures(shown, client) -> None:
    window, _, vm = shown
    screen = window.dashboard_screen
    assert window.stack.currentWidget() is screen and vm.active
    assert sorted(client.fetches) == sorted(
        ["backlog", "at_risk", "unallocated", "exceptions", "spend", "custody", "benches"]
    )
    tiles = {k: (t.value.text(), t.detail.text(), t.light) for k, t in screen.tiles.items()}
    assert tiles["backlog"] == ("8", "most released (5), 2 on hold", "warn")
    assert tiles["at_risk"] == ("2", "1 overdue, 1 due within 4 h", "bad")
    assert tiles["unallocated"] == ("9", "units on 2 orders", "warn")
    assert tiles["exceptions"][0] == "2" and tiles["exceptions"][2] == "warn"
    assert tiles["custody"] == (
        "1",
        "3 carton(s) wait for a carrier scan, oldest 26 h 00 min",
        "bad",
    )
    # Today: DHL 4.50 + UPS 7.25 in EUR, and 3.00 USD, never added together.
    assert tiles["spend"][:2] == ("EUR 11.75\nUSD 3.00", "today; 3 days: EUR 21.75 + USD 3.00")
    assert tiles["benches"] == ("2/3 online", "1 with scanner/printer trouble", "bad")
    assert screen.tiles["custody"].styleSheet().count(LIGHT_COLOURS["bad"]) == 1

    backlog = screen.backlog_chart.values()
    # The stages that hold orders; empty stages are left off the chart.
    assert backlog == {"on hold": 2, "released": 5, "picking": 1}
    assert screen.spend_chart.categories() == ["Mon 23", "Tue 24", "Wed 25"]
    assert screen.spend_chart.values() == {"DHL": (10.0, 0.0, 4.5), "UPS": (0.0, 0.0, 7.25)}
    assert "EUR" in screen.spend_chart.chart().title()
    assert screen.rate_chart.values() == {"bench-1": 42.0, "bench-2": 7.5, "bench-3": 0.0}

    table = screen.benches
    assert [table.item(r, 0).text() for r in range(3)] == ["bench-1", "bench-2", "bench-3"]
    assert table.item(1, 3).text() == "Printer: out of labels"
    assert table.item(1, 3).background().color().name() == LIGHT_COLOURS["bad"]
    assert table.item(2, 1).text() == "offline"
    assert screen.at_risk.item(0).text() == "PL0000007  picking  OVERDUE by 30 min"
    assert screen.unallocated.item(0).text() == "SKU-C  9 units on 2 orders, 4 free, 5 short"
    assert screen.queue.count() == 2 and screen.selected_exception() == 1
    assert list(screen.action_buttons) == ["retry", "backorder", "allow_split", "cancel"]
    assert screen.status.text() == "Not live: reconnecting (figures may be old)"


def test_a_live_change_from_the_stream_thread_updates_only_its_group(shown, client, qtbot) -> None:
    window, _, vm = shown
    screen = window.dashboard_screen
    connected = threading.Thread(target=vm.on_live_connected, args=(True,))
    connected.start()
    connected.join()
    qtbot.waitUntil(settled(vm, client, 14), timeout=WAIT_MS)  # (re)connected: all read again
    assert screen.status.text() == "Live"
    client.set(
        "exceptions",
        queue(
            (1, "stock_conflict", "not enough free stock", ("retry", "cancel")),
            (2, "missing_phone", "the carrier needs a phone number", ("set_phone", "cancel")),
            (3, "unmapped_sku", "listing ZZ-9 is not mapped", ("map_sku", "cancel")),
        ),
    )
    before = len(client.fetches)
    pushed = threading.Thread(target=vm.on_live_change, args=(["exceptions"],))
    pushed.start()
    pushed.join()
    qtbot.waitUntil(lambda: screen.queue.count() == 3, timeout=WAIT_MS)
    assert client.fetches[before:] == ["exceptions"]
    assert screen.tiles["exceptions"].value.text() == "3"
    assert "ZZ-9" in screen.queue.item(2).text()
    lost = threading.Thread(target=vm.on_live_connected, args=(False,))
    lost.start()
    lost.join()
    qtbot.waitUntil(lambda: screen.status.text().startswith("Not live"), timeout=WAIT_MS)


def test_resolving_from_the_queue_sends_the_action_and_refreshes(shown, client, qtbot) -> None:
    window, _, vm = shown
    screen = window.dashboard_screen
    asked: list[tuple[str, tuple[str, ...]]] = []
    answers: list[dict[str, str] | None] = [None, {"phone": "  "}, {"phone": "+31 6 1234 5678"}]

    def ask(title: str, fields) -> dict[str, str] | None:  # type: ignore[no-untyped-def]
        asked.append((title, tuple(fields)))
        return answers.pop(0)

    screen.ask = ask
    with qtbot.waitSignal(vm.notice, timeout=WAIT_MS) as done:
        qtbot.mouseClick(screen.action_buttons["retry"], Qt.MouseButton.LeftButton)
    assert client.resolved == [(1, "retry", {})]
    assert done.args[0] == "Retry allocation done for exception 1: the order is now accepted"
    qtbot.waitUntil(lambda: screen.queue.count() == 1, timeout=WAIT_MS)
    assert screen.note.text() == done.args[0]
    assert screen.selected_exception() == 2 and "set_phone" in screen.action_buttons

    qtbot.mouseClick(screen.action_buttons["set_phone"], Qt.MouseButton.LeftButton)
    assert client.resolved == [(1, "retry", {})]  # backed out of the form: nothing sent
    with qtbot.waitSignal(vm.failed, timeout=WAIT_MS) as refused:
        qtbot.mouseClick(screen.action_buttons["set_phone"], Qt.MouseButton.LeftButton)
    assert refused.args[0] == "Give the phone number" and len(client.resolved) == 1
    with qtbot.waitSignal(vm.notice, timeout=WAIT_MS):
        qtbot.mouseClick(screen.action_buttons["set_phone"], Qt.MouseButton.LeftButton)
    assert client.resolved[1] == (2, "set_phone", {"phone": "+31 6 1234 5678"})
    assert asked == [("Set phone", ("phone",))] * 3
    qtbot.waitUntil(lambda: screen.queue.item(0).text() == "The queue is empty", timeout=WAIT_MS)
    assert screen.action_buttons == {}


def test_a_refused_or_unreachable_resolution_says_so_and_sends_nothing_twice(
    shown, client, qtbot
) -> None:
    window, _, vm = shown
    with qtbot.waitSignal(vm.failed, timeout=WAIT_MS) as refused:
        vm.resolve(exception_id=1, action="dismiss")  # not an action for a stock conflict
    assert refused.args[0].startswith("Not done: a stock_conflict exception is resolved by one of")
    client.online = False
    with qtbot.waitSignal(vm.failed, timeout=WAIT_MS) as offline:
        vm.resolve(exception_id=1, action="retry")
    assert offline.args[0].startswith("Server not reachable")
    assert client.resolved == []
    screen = window.dashboard_screen
    vm.refresh()
    qtbot.waitUntil(
        lambda: screen.status.text().startswith("Server not reachable"), timeout=WAIT_MS
    )
    assert screen.status.text() == "Server not reachable: figures from 09:00"
    assert screen.tiles["backlog"].value.text() == "8"  # the last figures stay on screen
    client.online = True
    vm.refresh()
    qtbot.waitUntil(lambda: screen.status.text().startswith("Not live"), timeout=WAIT_MS)


def test_getting_to_and_from_the_dashboard(qtbot, task, journal, clock, client) -> None:
    _, bench, vm = build(qtbot, task, journal, clock, client)
    verdicts: list[tuple[str, str]] = []
    bench.verdict.connect(lambda kind, words: verdicts.append((kind, words)))
    with qtbot.waitSignal(bench.tasks.tasks_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(BADGE))  # a packer starts on the orders
    assert bench.screen is Screen.TASKS and client.fetches == []
    bench.open_dashboard()
    assert bench.screen is Screen.TASKS
    assert verdicts[-1] == (
        "rejected",
        "The dashboard is for supervisors: sign in with a supervisor badge",
    )
    bench.handle_scan(scan(SUPERVISOR))  # the supervisor takes over: the figures
    qtbot.waitUntil(lambda: bench.screen is Screen.DASHBOARD, timeout=WAIT_MS)
    qtbot.waitUntil(settled(vm, client, 7), timeout=WAIT_MS)
    bench.handle_scan(scan("PL0001001"))  # scans are not work on the dashboard
    assert bench.screen is Screen.DASHBOARD and verdicts[-1][0] == "rejected"
    bench.escape()
    assert bench.screen is Screen.TASKS and not vm.active
    fetched = len(client.fetches)
    late = threading.Thread(target=vm.on_live_change, args=(["backlog"],))
    late.start()
    late.join()
    QCoreApplication.processEvents()  # the queued change is delivered: closed screen, no read
    assert len(client.fetches) == fetched and not vm.busy
    bench.open_dashboard()  # F10
    assert bench.screen is Screen.DASHBOARD and vm.active
    qtbot.waitUntil(settled(vm, client, fetched + 7), timeout=WAIT_MS)
    with qtbot.waitSignal(bench.tasks.tasks_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(PACKER))  # a packer badges in at the dashboard: their orders
    assert bench.screen is Screen.TASKS and not vm.active


@pytest.mark.parametrize(
    ("action", "data", "out"),
    [
        ("map_sku", {"sku_id": " 42 "}, {"sku_id": 42}),
        (
            "capture",
            {"reference": "R1", "amount": "12,50", "currency": "EUR"},
            {"reference": "R1", "amount": "12.50", "currency": "EUR"},
        ),
        ("cancel", {"reason": " customer called "}, {"reason": "customer called"}),
        ("cancel", {"reason": ""}, {}),
        ("retry", {}, {}),
    ],
)
def test_action_fields_are_checked_and_typed(action, data, out) -> None:
    assert prepare(action, data) == out


@pytest.mark.parametrize(
    ("action", "data", "words"),
    [
        ("map_sku", {"sku_id": "SKU-9"}, "The SKU id is a number"),
        ("map_sku", {}, "Give the SKU id"),
        ("capture", {"reference": "R", "amount": "lots", "currency": "EUR"}, "The amount"),
        ("capture", {"reference": "R", "amount": "NaN", "currency": "EUR"}, "The amount"),
        ("capture", {"reference": "R", "amount": "-1", "currency": "EUR"}, "The amount"),
        (
            "set_address",
            {"name": "A", "line1": "B", "postcode": "1", "country": "NL"},
            "Give the city",
        ),
    ],
)
def test_bad_action_fields_are_refused_in_words(action, data, words) -> None:
    with pytest.raises(ValueError, match=words):
        prepare(action, data)
