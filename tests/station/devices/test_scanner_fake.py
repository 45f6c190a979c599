from __future__ import annotations

import logging

from station.devices.fake_scanner import FakeScanner
from station.devices.scanner import BarcodeScanner, ScannerState
from tests.station.devices.scanner_pty import Recorder


def started() -> tuple[FakeScanner, Recorder]:
    fake, recorder = FakeScanner(name="demo"), Recorder()
    scanner: BarcodeScanner = fake  # the fake satisfies the same Protocol as the driver
    scanner.start(on_scan=recorder.on_scan, on_status=recorder.on_status)
    return fake, recorder


def test_inject_splits_aim_id_and_unplug_blocks_scans() -> None:
    fake, recorder = started()
    assert fake.inject("]C1\x1d0109506000134352")
    fake.unplug()
    assert not fake.inject("]E04006381333931")
    fake.replug()
    assert fake.inject("TOTE-7", symbology_id="]C0")
    fake.stop()
    assert [(s.symbology_id, s.text, s.source) for s in recorder.scans] == [
        ("]C1", "\x1d0109506000134352", "demo"),
        ("]C0", "TOTE-7", "demo"),
    ]
    assert recorder.states() == [
        ScannerState.CONNECTED,
        ScannerState.DISCONNECTED,
        ScannerState.RECONNECTING,
        ScannerState.CONNECTED,
        ScannerState.DISCONNECTED,
    ]
    assert not fake.inject("]E04006381333931")  # stopped


def test_inject_bytes_uses_real_framing_and_unplug_drops_fragment(caplog) -> None:
    caplog.set_level(logging.WARNING)
    fake, recorder = started()
    assert fake.inject_bytes(b"\xffnoise\r\n]E04006381333931\r\n]E0590") == 1
    fake.unplug()
    fake.replug()
    assert fake.inject_bytes(b"1234123457\r\n") == 0  # no half barcode glued on
    assert [s.text for s in recorder.scans] == ["4006381333931"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "invalid ascii byte 0xff" in messages and "port lost mid-barcode" in messages
