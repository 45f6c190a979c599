"""Wedge scans through QApplication's event filter, offscreen (QT_QPA_PLATFORM)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from station.devices.profiles import Framing, load_profiles
from station.devices.scanner import RawScan, ScannerState
from station.devices.wedge_filter import WedgeScanFilter, WedgeScanner
from tests.station.devices.scanner_pty import Recorder

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier
NONE = Qt.KeyboardModifier.NoModifier
WEDGE = load_profiles()["scanner-generic-keyboard-wedge"].framing


def keys_for(text: str) -> list[tuple[int, Qt.KeyboardModifier, str]]:
    out = []
    for char in text:
        if char == "\x02":
            out.append((K.Key_B.value, CTRL, "\x02"))
        elif char == "\x1d":
            out.append((K.Key_BracketRight.value, CTRL, "\x1d"))
        elif char == "\r":
            out.append((K.Key_Return.value, NONE, "\r"))
        else:
            key = ord(char.upper()) if char.isalnum() else 0
            if char == "]":
                key = K.Key_BracketRight.value
            out.append((key, NONE, char))
    return out


def post_keys(widget: QLineEdit, text: str) -> None:
    for key, modifiers, char in keys_for(text):
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QCoreApplication.postEvent(widget, QKeyEvent(kind, key, modifiers, char))


@pytest.fixture
def focused(qtbot) -> QLineEdit:
    line_edit = QLineEdit()
    qtbot.addWidget(line_edit)
    line_edit.show()
    line_edit.setFocus()
    return line_edit


@pytest.fixture
def wedge(qapp: QApplication):
    scan_filter = WedgeScanFilter(framing=WEDGE, source="wedge")
    qapp.installEventFilter(scan_filter)
    yield scan_filter
    qapp.removeEventFilter(scan_filter)


def test_scan_is_swallowed_and_delivered_with_gs1_separator(qtbot, focused, wedge) -> None:
    with qtbot.waitSignal(wedge.scanned, timeout=5000) as signal:
        post_keys(focused, "\x02]C10109506000134352\x1d10ABC123\r")
    scan = signal.args[0]
    assert isinstance(scan, RawScan)
    assert (scan.symbology_id, scan.text) == ("]C1", "0109506000134352\x1d10ABC123")
    assert focused.text() == ""


def test_ordinary_typing_still_reaches_the_widget(qtbot, focused, wedge) -> None:
    seen: list[object] = []
    wedge.scanned.connect(seen.append)
    post_keys(focused, "abc")
    qtbot.waitUntil(lambda: focused.text() == "abc", timeout=5000)
    with qtbot.waitSignal(wedge.scanned, timeout=5000):
        post_keys(focused, "\x02]E04006381333931\r")
    post_keys(focused, "d")
    qtbot.waitUntil(lambda: focused.text() == "abcd", timeout=5000)
    assert [s.text for s in seen] == ["4006381333931"]  # type: ignore[attr-defined]


def test_substitute_separator_and_bad_scan_rejection(qtbot, focused, qapp) -> None:
    framing = Framing(terminator="\r", prefix="\x02", aim_id=True, gs1_separator="|")
    scan_filter = WedgeScanFilter(framing=framing)
    qapp.installEventFilter(scan_filter)
    try:
        with qtbot.waitSignal(scan_filter.rejected, timeout=5000) as rejected:
            post_keys(focused, "\x025901234123457\r")  # AIM id missing
        assert "AIM" in rejected.args[0]
        with qtbot.waitSignal(scan_filter.scanned, timeout=5000) as signal:
            post_keys(focused, "\x02]d20104012345012345|10LOT7\r")
        assert signal.args[0].text == "0104012345012345\x1d10LOT7"
        assert focused.text() == ""
    finally:
        qapp.removeEventFilter(scan_filter)


def test_wedge_scanner_protocol_adapter(qtbot, focused) -> None:
    recorder = Recorder()
    scanner = WedgeScanner(framing=WEDGE, name="bench-1-wedge")
    scanner.start(on_scan=recorder.on_scan, on_status=recorder.on_status)
    try:
        post_keys(focused, "\x02]E04006381333931\r")
        qtbot.waitUntil(lambda: bool(recorder.scans), timeout=5000)
    finally:
        scanner.stop()
    assert recorder.scans[0].source == "bench-1-wedge"
    assert recorder.states() == [ScannerState.CONNECTED, ScannerState.DISCONNECTED]
    post_keys(focused, "\x02]E0")  # after stop the filter is gone: keys reach the widget
    qtbot.waitUntil(lambda: focused.text() == "]E0", timeout=5000)
