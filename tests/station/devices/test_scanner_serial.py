"""The real pyserial driver against pseudo-terminals: framing, garbage, unplug, re-plug."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from station.devices.profiles import Framing, Interface, ScannerProfile, SerialSettings
from station.devices.scanner import ScannerState
from station.devices.serial_scanner import SerialScanner
from tests.station.devices.scanner_pty import PtyScanner, Recorder, wait_until

PROFILE = ScannerProfile(
    id="scanner-test-cdc",
    vendor="Test",
    model="pty",
    interface=Interface.USB_CDC,
    serial=SerialSettings(baudrate=115200),
    framing=Framing(terminator="\r\n", aim_id=True, idle_timeout_ms=60_000),
    sources=("test",),
)


@pytest.fixture
def pty_scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    scanner = PtyScanner(tmp_path)
    yield scanner
    scanner.close()


def start(pty: PtyScanner, profile: ScannerProfile = PROFILE) -> tuple[SerialScanner, Recorder]:
    recorder = Recorder()
    driver = SerialScanner(
        profile=profile, port=str(pty.link), backoff_initial_s=0.05, backoff_max_s=0.2
    )
    driver.start(on_scan=recorder.on_scan, on_status=recorder.on_status)
    recorder.wait(lambda: recorder.connected_count() == 1)
    return driver, recorder


@pytest.fixture
def running(pty_scanner: PtyScanner) -> Iterator[tuple[PtyScanner, SerialScanner, Recorder]]:
    driver, recorder = start(pty_scanner)
    yield pty_scanner, driver, recorder
    driver.stop()


def discarded(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "discarded input" in r.getMessage()]


def test_gs1_scan_with_aim_id_arrives_whole_with_terminator_timestamp(running) -> None:
    pty, _, recorder = running
    before = time.perf_counter_ns()
    pty.write(b"]C10109506000134352\x1d10ABC123\r\n")
    (scan,) = recorder.wait(lambda: recorder.scans)
    assert scan.text == "0109506000134352\x1d10ABC123"
    assert scan.symbology_id == "]C1"
    assert scan.source == "scanner-test-cdc"
    assert before <= scan.received_at_ns <= time.perf_counter_ns()


def test_cr_terminated_profile_without_aim_id(pty_scanner: PtyScanner) -> None:
    profile = replace(PROFILE, framing=Framing(terminator="\r", aim_id=False))
    driver, recorder = start(pty_scanner, profile)
    try:
        pty_scanner.write(b"TOTE-0042\rBIN-A-07\r")
        recorder.wait(lambda: len(recorder.scans) == 2)
        assert [(s.text, s.symbology_id) for s in recorder.scans] == [
            ("TOTE-0042", None),
            ("BIN-A-07", None),
        ]
    finally:
        driver.stop()


def test_barcode_split_across_several_writes_is_delivered_once(running) -> None:
    pty, _, recorder = running
    for chunk in (b"]E0", b"59012", b"3412345", b"7\r", b"\n"):
        pty.write(chunk)
    recorder.wait(lambda: recorder.scans)
    pty.write(b"]E04006381333931\r\n")
    recorder.wait(lambda: len(recorder.scans) == 2)
    assert [s.text for s in recorder.scans] == ["5901234123457", "4006381333931"]


def test_garbage_is_rejected_with_a_logged_reason_and_scanning_continues(running, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="station.devices")
    pty, _, recorder = running
    pty.write(b"\xff\xfe\x80junk\r\n")  # wrong-baud noise
    pty.write(b"]E0\x07BELL\r\n")  # control byte inside a frame
    pty.write(b"]E04006381333931\r\n")
    (scan,) = recorder.wait(lambda: recorder.scans)
    assert scan.text == "4006381333931"
    reasons = wait_until(lambda: discarded(caplog) if len(discarded(caplog)) == 2 else None)
    assert "invalid ascii byte 0xff" in reasons[0]
    assert "non-printable character '\\x07'" in reasons[1]


def test_quiet_line_mid_barcode_discards_the_fragment(pty_scanner, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="station.devices")
    profile = replace(PROFILE, framing=replace(PROFILE.framing, idle_timeout_ms=100))
    driver, recorder = start(pty_scanner, profile)
    try:
        pty_scanner.write(b"]E0590123")
        (reason,) = wait_until(lambda: discarded(caplog))
        assert "quiet mid-barcode" in reason and "]E0590123" in reason
        pty_scanner.write(b"]E04006381333931\r\n")
        (scan,) = recorder.wait(lambda: recorder.scans)
        assert scan.text == "4006381333931"  # not glued to the fragment
    finally:
        driver.stop()


def test_unplug_mid_barcode_then_replug_reconnects_by_itself(running, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="station.devices")
    pty, driver, recorder = running
    pty.write(b"]E0590123")  # half a barcode, then the cable is pulled
    wait_until(lambda: driver.held_bytes == 9)  # the driver holds the fragment now
    pty.unplug()
    recorder.wait(lambda: ScannerState.RECONNECTING in recorder.states())
    pty.plug()  # a new tty behind the same by-id link
    recorder.wait(lambda: recorder.connected_count() == 2)
    pty.write(b"]E04006381333931\r\n")
    (scan,) = recorder.wait(lambda: recorder.scans)
    assert scan.text == "4006381333931"

    states = recorder.states()
    first_down = states.index(ScannerState.DISCONNECTED)
    assert states[0] is ScannerState.CONNECTED
    assert states[first_down + 1] is ScannerState.RECONNECTING
    assert states[-1] is ScannerState.CONNECTED
    assert str(pty.link) in recorder.statuses[first_down].reason
    (fragment,) = [m for m in discarded(caplog) if "port lost mid-barcode" in m]
    assert "]E0590123" in fragment

    driver.stop()
    assert recorder.statuses[-1].state is ScannerState.DISCONNECTED
    assert recorder.statuses[-1].reason == "stopped"


def test_missing_port_reports_disconnected_and_keeps_retrying(tmp_path: Path) -> None:
    recorder = Recorder()
    driver = SerialScanner(
        profile=PROFILE, port=str(tmp_path / "nothing"), backoff_initial_s=0.02, backoff_max_s=0.05
    )
    driver.start(on_scan=recorder.on_scan, on_status=recorder.on_status)
    try:
        recorder.wait(lambda: recorder.states().count(ScannerState.RECONNECTING) >= 3)
        states = recorder.states()
        assert states[0] is ScannerState.DISCONNECTED
        assert "cannot open" in recorder.statuses[0].reason
        # one "disconnected" per distinct cause, not one per retry
        assert states.count(ScannerState.DISCONNECTED) == 1
    finally:
        driver.stop()


def test_failing_consumer_does_not_kill_the_device_thread(running) -> None:
    pty, driver, recorder = running
    calls: list[str] = []

    def flaky(scan) -> None:
        calls.append(scan.text)
        if len(calls) == 1:
            raise RuntimeError("consumer bug")
        recorder.on_scan(scan)

    driver._on_scan = flaky  # the callback the station bridge would have passed
    pty.write(b"]E01111111111116\r\n]E04006381333931\r\n")
    (scan,) = recorder.wait(lambda: recorder.scans)
    assert calls == ["1111111111116", "4006381333931"] and scan.text == "4006381333931"
