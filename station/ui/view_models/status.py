"""The always-visible bench status: scanner, printer, server, queued events, current order.

Fed only by Signals (the bridge's), so it runs on the GUI thread and never asks a device.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from PySide6.QtCore import QObject, Signal, Slot

from station.devices.print_queue import QueueEvent
from station.devices.printer import PrinterState
from station.devices.scanner import ScannerState, ScannerStatus
from station.ui.signals import emit
from station.ui.words import printer_words, scanner_words, server_words


class Light(StrEnum):
    OK = "ok"  # green
    WARN = "warn"  # amber: working around it (reconnecting, offline with a queue)
    BAD = "bad"  # red: the operator must act
    UNKNOWN = "unknown"  # grey: not heard from yet


@dataclass(frozen=True, kw_only=True)
class Indicator:
    light: Light
    words: str


@dataclass(frozen=True, kw_only=True)
class StatusSnapshot:
    scanner: Indicator
    printer: Indicator
    server: Indicator
    queued: int
    rejected: int  # events the server refused: a supervisor must look
    order: str  # "" when no order is open
    operator: str


class SyncStateLike(Protocol):
    """Shape of station.sync.pusher.SyncState."""

    @property
    def online(self) -> bool: ...

    @property
    def queued(self) -> int: ...

    @property
    def rejected(self) -> int: ...


_INITIAL = StatusSnapshot(
    scanner=Indicator(light=Light.UNKNOWN, words="Scanner: waiting"),
    printer=Indicator(light=Light.UNKNOWN, words="Printer: not checked yet"),
    server=Indicator(light=Light.UNKNOWN, words="Server: connecting"),
    queued=0,
    rejected=0,
    order="",
    operator="",
)


class StatusViewModel(QObject):
    changed = Signal(object)  # StatusSnapshot

    def __init__(self, *, has_printer: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._snapshot = _INITIAL
        if not has_printer:
            self._snapshot = replace(
                _INITIAL, printer=Indicator(light=Light.UNKNOWN, words="No printer at this bench")
            )

    @property
    def snapshot(self) -> StatusSnapshot:
        return self._snapshot

    @Slot(object)
    def on_scanner_status(self, status: ScannerStatus) -> None:
        light = {
            ScannerState.CONNECTED: Light.OK,
            ScannerState.RECONNECTING: Light.WARN,
            ScannerState.DISCONNECTED: Light.BAD,
        }[status.state]
        self._set(scanner=Indicator(light=light, words=scanner_words(status)))

    @Slot(object)
    def on_print_event(self, event: QueueEvent) -> None:
        light = Light.OK if event.printer_state is PrinterState.READY else Light.BAD
        self._set(printer=Indicator(light=light, words=printer_words(event)))

    @Slot(object)
    def on_sync_state(self, state: SyncStateLike) -> None:
        # Offline is amber, not red: the bench keeps verifying and queues (architecture.md).
        light = Light.OK if state.online else Light.WARN
        self._set(
            server=Indicator(
                light=light, words=server_words(online=state.online, queued=state.queued)
            ),
            queued=state.queued,
            rejected=state.rejected,
        )

    @Slot(str)
    def set_order(self, number: str) -> None:
        self._set(order=number)

    @Slot(str)
    def set_operator(self, name: str) -> None:
        self._set(operator=name)

    def _set(self, **changes: object) -> None:
        updated = replace(self._snapshot, **changes)  # type: ignore[arg-type]
        if updated != self._snapshot:
            self._snapshot = updated
            emit(self.changed, updated)
