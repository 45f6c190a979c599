"""Keyboard-wedge scanners: catch the scan's keystrokes before any widget sees them.

Installed on QApplication, the filter sees every key event first, whatever has focus, so a
scan lands in the current task even when the operator last touched a search box. A scan is
recognised by the prefix and suffix keys its profile configures (e.g. STX = Ctrl+B and
Enter), never by keystroke timing (timing is unreliable across layouts and scanner delays,
and patented: hardware.md §2.2). GS1 separators survive: Qt line edits drop Ctrl+] (GS) as
unacceptable input (hardware.md §1.5), but here it is mapped back to 0x1D before any widget.

Thread affinity: GUI thread only (it is a QObject event filter).
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from station.devices.framing import check_characters, normalise_separator, split_aim
from station.devices.profiles import Framing
from station.devices.scanner import RawScan, ScanCallback, ScannerStatus, StatusCallback

log = logging.getLogger(__name__)

_K = Qt.Key
# Control-character emulation: the scanner presses Ctrl+<key> for ASCII 0x01-0x1F.
_CTRL_KEYS = {
    _K.Key_BracketLeft.value: "\x1b",
    _K.Key_Backslash.value: "\x1c",
    _K.Key_BracketRight.value: "\x1d",  # GS, the GS1 separator
    _K.Key_AsciiCircum.value: "\x1e",
    _K.Key_Underscore.value: "\x1f",
}
_KEY_TEXT = {
    _K.Key_Return.value: "\r",
    _K.Key_Enter.value: "\r",
    _K.Key_Tab.value: "\t",
}


def key_text(event: QKeyEvent) -> str:
    """The character a scanner meant by this keystroke ('' for a bare modifier)."""
    key = int(event.key())
    if key in _KEY_TEXT:
        return _KEY_TEXT[key]
    if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
        if _K.Key_A.value <= key <= _K.Key_Z.value:
            return chr(key - _K.Key_A.value + 1)
        if key in _CTRL_KEYS:
            return _CTRL_KEYS[key]
    return str(event.text())


class WedgeScanFilter(QObject):
    scanned = Signal(object)  # RawScan
    rejected = Signal(str)  # reason, for the bench's mis-scan counter

    def __init__(
        self,
        *,
        framing: Framing,
        source: str = "wedge",
        abandon_after_ms: int = 3000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if len(framing.prefix) != 1 or len(framing.terminator) != 1:
            raise ValueError("a wedge profile needs a one-character prefix and suffix")
        self._framing = framing
        self._source = source
        # Recovery only, not detection: a lost suffix must not swallow the keyboard forever.
        self._abandon_after_ns = abandon_after_ms * 1_000_000
        self._buffer: list[str] | None = None
        self._started_ns = 0

    @property
    def capturing(self) -> bool:
        return self._buffer is not None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (
            QEvent.Type.KeyPress,
            QEvent.Type.KeyRelease,
            QEvent.Type.ShortcutOverride,
        ):
            return False
        assert isinstance(event, QKeyEvent)
        text = key_text(event)
        if kind is QEvent.Type.KeyRelease:
            return self.capturing
        if kind is QEvent.Type.ShortcutOverride:
            # Accepting the override stops app shortcuts (Ctrl+B, a default button on Enter)
            # from firing on a scanner keystroke; the KeyPress then comes to this filter.
            if self.capturing or text == self._framing.prefix:
                event.accept()
                return True
            return False
        return self._key_press(text)

    def _key_press(self, text: str) -> bool:
        now = time.perf_counter_ns()
        if self._buffer is not None and now - self._started_ns > self._abandon_after_ns:
            self._reject("scan abandoned: no suffix key arrived", "".join(self._buffer))
        if self._buffer is None:
            if text != self._framing.prefix:
                return False  # ordinary typing goes to the focused widget untouched
            self._buffer, self._started_ns = [], now
            return True
        if not text:
            return True  # bare Shift/Ctrl press inside a scan
        if text == self._framing.terminator:
            self._finish(now)
            return True
        self._buffer.append(text)
        if sum(map(len, self._buffer)) > self._framing.max_length:
            self._reject("over-long scan without suffix key", "".join(self._buffer))
        return True

    def _finish(self, now_ns: int) -> None:
        assert self._buffer is not None
        raw, self._buffer = "".join(self._buffer), None
        text = normalise_separator(raw, framing=self._framing)
        problem = check_characters(text, framing=self._framing)
        symbology_id, data = split_aim(text, aim_id=self._framing.aim_id)
        if problem is None and self._framing.aim_id and symbology_id is None:
            problem = "expected an AIM symbology identifier ']cm' at scan start"
        if problem is None and not data:
            problem = "empty barcode"
        if problem is not None:
            self._reject(problem, raw)
            return
        scan = RawScan(
            text=data, symbology_id=symbology_id, received_at_ns=now_ns, source=self._source
        )
        self.scanned.emit(scan)

    def _reject(self, reason: str, raw: str) -> None:
        self._buffer = None
        log.warning("wedge %s: discarded input: %s (raw %r)", self._source, reason, raw[:48])
        self.rejected.emit(reason)


class WedgeScanner:
    """The BarcodeScanner Protocol over a WedgeScanFilter.

    A HID keyboard cannot be told apart from other keyboards at this level, so there is no
    unplug detection: status is `connected` from start() to stop().
    """

    def __init__(self, *, framing: Framing, name: str = "wedge") -> None:
        self.name = name
        self.filter = WedgeScanFilter(framing=framing, source=name)
        self._on_status: StatusCallback | None = None
        self._on_scan: ScanCallback | None = None

    def start(self, *, on_scan: ScanCallback, on_status: StatusCallback) -> None:
        app = QApplication.instance()
        if app is None:
            raise RuntimeError("WedgeScanner needs a running QApplication")
        self._on_scan, self._on_status = on_scan, on_status
        self.filter.scanned.connect(self._forward)
        app.installEventFilter(self.filter)
        on_status(ScannerStatus.connected(source=self.name))

    def stop(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.filter)
        if self._on_scan is not None:
            self.filter.scanned.disconnect(self._forward)
        on_status, self._on_status, self._on_scan = self._on_status, None, None
        if on_status is not None:
            on_status(ScannerStatus.disconnected(reason="stopped", source=self.name))

    def _forward(self, scan: RawScan) -> None:
        if self._on_scan is not None:
            self._on_scan(scan)
