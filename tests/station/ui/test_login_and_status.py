"""Login against the fake gateway (off-thread), and the status view-model fed by the bridge."""

from __future__ import annotations

import threading

from shared.contract.stations import LoginOut
from station.devices.fake_scanner import FakeScanner
from station.devices.print_queue import QueueEvent, QueueEventKind
from station.devices.printer import PrinterState
from station.sync.fake_gateway import FakeGateway
from station.sync.pusher import SyncState
from station.ui.bridge import DeviceBridge
from station.ui.view_models.login import LoginViewModel, Operator
from station.ui.view_models.status import Light, StatusViewModel
from tests.station.ui.conftest import BADGE, WAIT_MS, scan
from tests.station.work.builders import MUG


class ThreadRecordingGateway(FakeGateway):
    def __init__(self) -> None:
        super().__init__()
        self.login_threads: list[str] = []

    def login(self, *, badge: str, pin: str | None = None) -> LoginOut:
        self.login_threads.append(threading.current_thread().name)
        return super().login(badge=badge, pin=pin)


def test_badge_scan_signs_in_off_the_gui_thread(qtbot, background) -> None:
    gateway = ThreadRecordingGateway()
    vm = LoginViewModel(gateway=gateway, background=background)
    with qtbot.waitSignal(vm.signed_in, timeout=WAIT_MS) as signed_in:
        vm.handle_scan(scan(BADGE))
        assert vm.busy  # answered later, through the signal
    assert signed_in.args == [
        Operator(id=1, name="Demo Picker", badge=BADGE, roles=("picker", "packer"))
    ]
    assert gateway.login_threads and gateway.login_threads[0] != threading.main_thread().name
    assert not vm.busy


def test_unknown_badge_and_offline_server_give_words(qtbot, background) -> None:
    gateway = FakeGateway()
    vm = LoginViewModel(gateway=gateway, background=background)
    with qtbot.waitSignal(vm.failed, timeout=WAIT_MS) as failed:
        vm.handle_scan(scan("BADGE-9999"))
    assert failed.args == ["Badge not recognised: ask a supervisor"]
    gateway.online = False
    with qtbot.waitSignal(vm.failed, timeout=WAIT_MS) as failed:
        vm.handle_scan(scan(BADGE))
    assert failed.args[0].startswith("Server not reachable")


def test_a_product_barcode_is_not_sent_to_the_server(qtbot, background) -> None:
    gateway = ThreadRecordingGateway()
    vm = LoginViewModel(gateway=gateway, background=background)
    with qtbot.waitSignal(vm.failed, timeout=WAIT_MS) as failed:
        vm.handle_scan(scan(f"]E0{MUG}"))
    assert failed.args == ["That is not a badge: scan your badge"]
    assert gateway.login_threads == []


def test_status_shows_scanner_unplug_and_replug(qtbot) -> None:
    bridge, status, scanner = DeviceBridge(), StatusViewModel(), FakeScanner()
    bridge.scanner_status.connect(status.on_scanner_status)
    scanner.start(on_scan=bridge.on_scan, on_status=bridge.on_scanner_status)
    qtbot.waitUntil(lambda: status.snapshot.scanner.light is Light.OK, timeout=WAIT_MS)
    threading.Thread(target=scanner.unplug).start()
    qtbot.waitUntil(lambda: status.snapshot.scanner.light is Light.WARN, timeout=WAIT_MS)
    assert status.snapshot.scanner.words == "Scanner unplugged - reconnecting"
    scanner.replug()
    qtbot.waitUntil(lambda: status.snapshot.scanner.light is Light.OK, timeout=WAIT_MS)


def test_status_shows_offline_with_queued_count_and_printer_faults(qtbot) -> None:
    bridge, status = DeviceBridge(), StatusViewModel()
    bridge.sync_state.connect(status.on_sync_state)
    bridge.print_event.connect(status.on_print_event)
    with qtbot.waitSignal(status.changed, timeout=WAIT_MS) as changed:
        threading.Thread(target=lambda: bridge.on_sync_state(SyncState(False, 7, 0))).start()
    snapshot = changed.args[0]
    assert (snapshot.server.light, snapshot.queued) == (Light.WARN, 7)
    assert snapshot.server.words == "Offline - 7 queued"
    held = QueueEvent(kind=QueueEventKind.HELD, printer_state=PrinterState.PAPER_OUT, pending=2)
    with qtbot.waitSignal(status.changed, timeout=WAIT_MS) as changed:
        threading.Thread(target=lambda: bridge.on_print_event(held)).start()
    assert changed.args[0].printer.light is Light.BAD
    assert "out of labels" in changed.args[0].printer.words and "2 label(s) held" in (
        changed.args[0].printer.words
    )
    bridge.on_sync_state(SyncState(True, 0, 1))
    qtbot.waitUntil(lambda: status.snapshot.server.light is Light.OK, timeout=WAIT_MS)
    assert (status.snapshot.queued, status.snapshot.rejected) == (0, 1)
