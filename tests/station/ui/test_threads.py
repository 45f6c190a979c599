"""Device callbacks and gateway calls cross to the GUI thread only through Signals."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QThread

from station.devices.fake_scanner import FakeScanner
from station.devices.profiles import Framing, Interface, ScannerProfile, SerialSettings
from station.devices.scanner import RawScan, ScannerState
from station.devices.serial_scanner import SerialScanner
from station.ui.background import Background
from station.ui.bridge import DeviceBridge
from station.ui.view_models.pick import PickViewModel
from station.work.pick import PickSession
from tests.station.devices.scanner_pty import PtyScanner
from tests.station.ui.conftest import WAIT_MS
from tests.station.work.builders import MUG


def gui_thread() -> QThread:
    app = QCoreApplication.instance()
    assert app is not None
    return app.thread()


def test_scan_from_a_device_thread_reaches_a_plain_slot_on_the_gui_thread(qtbot) -> None:
    bridge = DeviceBridge()
    scanner = FakeScanner()
    seen: list[tuple[str, bool]] = []
    # A lambda on purpose: PySide6 would call it on the emitting thread without the hop.
    bridge.scanned.connect(lambda s: seen.append((s.text, QThread.currentThread() is gui_thread())))
    scanner.start(on_scan=bridge.on_scan, on_status=bridge.on_scanner_status)
    device = threading.Thread(target=lambda: scanner.inject("]E04006381333931"))
    with qtbot.waitSignal(bridge.scanned, timeout=WAIT_MS):
        device.start()
        device.join()
    assert seen == [("4006381333931", True)]


def test_unplug_from_a_device_thread_arrives_as_status_on_the_gui_thread(qtbot) -> None:
    bridge = DeviceBridge()
    scanner = FakeScanner()
    states: list[tuple[ScannerState, bool]] = []
    bridge.scanner_status.connect(
        lambda s: states.append((s.state, QThread.currentThread() is gui_thread()))
    )
    scanner.start(on_scan=bridge.on_scan, on_status=bridge.on_scanner_status)
    with qtbot.waitSignals([bridge.scanner_status] * 2, timeout=WAIT_MS):
        threading.Thread(target=scanner.unplug).start()
    qtbot.waitUntil(lambda: len(states) == 3, timeout=WAIT_MS)
    assert states == [
        (ScannerState.CONNECTED, True),
        (ScannerState.DISCONNECTED, True),
        (ScannerState.RECONNECTING, True),
    ]
    assert scanner.inject("]E04006381333931") is False  # unplugged: nothing is delivered


def test_real_serial_scanner_on_a_pty_drives_a_pick_verdict(qtbot, tmp_path: Path, task, clock):
    pty = PtyScanner(tmp_path)
    profile = ScannerProfile(
        id="scanner-test-cdc",
        vendor="Test",
        model="pty",
        interface=Interface.USB_CDC,
        serial=SerialSettings(baudrate=115200),
        framing=Framing(terminator="\r\n", aim_id=True),
        sources=("test",),
    )
    driver = SerialScanner(profile=profile, port=str(pty.link), backoff_initial_s=0.05)
    bridge = DeviceBridge()
    vm = PickViewModel(session=PickSession(task, clock=clock), journal_append=lambda e: None)
    bridge.scanned.connect(vm.handle_scan)
    connected = qtbot.waitSignal(bridge.scanner_status, timeout=WAIT_MS)
    driver.start(on_scan=bridge.on_scan, on_status=bridge.on_scanner_status)
    try:
        connected.wait()
        with qtbot.waitSignal(vm.verdict, timeout=WAIT_MS) as verdict:
            pty.write(f"]E0{MUG}\r\n".encode())
        assert verdict.args[0] == "accepted"
        # Garbage bytes never become a verdict; the next good read still counts.
        with qtbot.waitSignal(vm.verdict, timeout=WAIT_MS) as verdict:
            pty.write(b"\x00\xff\xfe\r\n")
            pty.write(f"]E0{MUG}\r\n".encode())
        assert verdict.args[0] == "accepted"
        assert vm.progress().done == 2
    finally:
        statuses: list[str] = []
        bridge.scanner_status.connect(lambda s: statuses.append(s.reason))
        driver.stop()
        pty.close()
    # Let the driver's last status cross over before the bridge goes away.
    qtbot.waitUntil(lambda: "stopped" in statuses, timeout=WAIT_MS)


def test_background_runs_off_the_gui_thread_and_answers_on_it(qtbot, background) -> None:
    ran_on: list[bool] = []
    answered_on: list[bool] = []

    def work() -> int:
        ran_on.append(QThread.currentThread() is gui_thread())
        return 42

    got: list[int] = []
    with qtbot.waitSignal(background.busy_changed, timeout=WAIT_MS) as idle:
        background.submit(
            work,
            on_result=lambda r: (
                got.append(r),
                answered_on.append(QThread.currentThread() is gui_thread()),
            ),
            on_error=lambda e: None,
        )
    assert idle.args == [True]
    qtbot.waitUntil(lambda: got == [42], timeout=WAIT_MS)
    assert ran_on == [False] and answered_on == [True]
    assert not background.busy


def test_background_delivers_an_exception_to_on_error(qtbot) -> None:
    runner = Background()
    errors: list[BaseException] = []

    def boom() -> RawScan:
        raise ValueError("printer on fire")

    runner.submit(boom, on_result=lambda r: None, on_error=errors.append)
    qtbot.waitUntil(lambda: len(errors) == 1, timeout=WAIT_MS)
    assert isinstance(errors[0], ValueError) and str(errors[0]) == "printer on fire"


def test_emitting_many_signals_does_not_use_up_the_reference_to_true(qtbot, task, clock) -> None:
    # PySide6 6.12.0 on Python 3.11 drops a reference to True per Python-side emit (see
    # station/ui/signals.py); a shift's worth of scans would abort the process.
    vm = PickViewModel(session=PickSession(task, clock=clock), journal_append=lambda e: None)
    before = sys.getrefcount(True)
    for _ in range(2_000):  # 3 emits each: rejected verdict, progress, instruction
        vm.handle_scan(RawScan(text="NOT-A-THING", symbology_id=None, received_at_ns=0))
    # The leak would move the count by ~6,000; other live threads move it by a few hundred.
    assert abs(sys.getrefcount(True) - before) < 1_000
