"""Device, print-queue and sync callbacks -> Qt Signals delivered on the GUI thread.

Why the private hop: the drivers call back on their own threads. A Signal emitted there reaches
a plain Python callable (a lambda, a function) *directly on that thread* in PySide6, because
such a slot has no thread of its own. So every callback first crosses to the GUI thread through
a queued connection to this object's own slot (this object lives on the GUI thread), and only
there are the public Signals emitted: whatever is connected to them runs on the GUI thread.

Create the bridge on the GUI thread; hand its `on_*` methods to the devices as callbacks.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from station.devices.print_queue import QueueEvent
from station.devices.scanner import RawScan, ScannerStatus
from station.ui.signals import emit


class DeviceBridge(QObject):
    scanned = Signal(object)  # RawScan
    scanner_status = Signal(object)  # ScannerStatus
    print_event = Signal(object)  # station.devices.print_queue.QueueEvent
    sync_state = Signal(object)  # station.sync.pusher.SyncState
    weight = Signal(object)  # station.devices.scale.WeightReading (from the scale thread)
    live_connected = Signal(bool)
    order_changed = Signal(object)  # shared.contract.events.OrderChanged

    _posted = Signal(str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._posted.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)

    # -- callbacks: safe to call from any thread ------------------------------------------
    def on_scan(self, scan: RawScan) -> None:
        emit(self._posted, "scanned", scan)

    def on_scanner_status(self, status: ScannerStatus) -> None:
        emit(self._posted, "scanner_status", status)

    def on_print_event(self, event: QueueEvent) -> None:
        emit(self._posted, "print_event", event)

    def on_sync_state(self, state: Any) -> None:
        emit(self._posted, "sync_state", state)

    def on_weight(self, reading: Any) -> None:
        emit(self._posted, "weight", reading)

    def on_live_connected(self, connected: bool) -> None:
        emit(self._posted, "live_connected", connected)

    def on_order_changed(self, change: Any) -> None:
        emit(self._posted, "order_changed", change)

    # -- GUI thread -----------------------------------------------------------------------
    @Slot(str, object)
    def _dispatch(self, name: str, payload: object) -> None:
        emit(getattr(self, name), payload)
