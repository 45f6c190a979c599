"""In-memory label printer for the demo and the pure tests (production code, not a mock).

Thread-safe: the print queue calls it from its own thread while the demo or a test flips
faults from another."""

from __future__ import annotations

import threading
from collections.abc import Callable

from station.devices.printer import (
    PrinterOffline,
    PrinterState,
    PrinterStatus,
    raise_for_status,
)

_FAULT_STATUS: dict[PrinterState, PrinterStatus] = {
    PrinterState.PAPER_OUT: PrinterStatus(paper_out=True),
    PrinterState.HEAD_OPEN: PrinterStatus(head_open=True),
    PrinterState.PAUSED: PrinterStatus(paused=True),
    PrinterState.RIBBON_OUT: PrinterStatus(ribbon_out=True),
    PrinterState.BUFFER_FULL: PrinterStatus(buffer_full=True),
    PrinterState.FAULT: PrinterStatus(over_temperature=True),
}


class FakePrinter:
    def __init__(self, *, on_label: Callable[[bytes], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._fault = PrinterState.READY
        self._labels: list[bytes] = []
        self._on_label = on_label
        self.status_queries = 0

    def set_fault(self, state: PrinterState) -> None:
        """PrinterState.READY clears the fault; OFFLINE makes every call raise PrinterOffline."""
        with self._lock:
            self._fault = state

    @property
    def labels(self) -> list[bytes]:
        with self._lock:
            return list(self._labels)

    def status(self) -> PrinterStatus:
        with self._lock:
            self.status_queries += 1
            fault = self._fault
        if fault is PrinterState.OFFLINE:
            raise PrinterOffline("fake printer is switched off")
        return _FAULT_STATUS.get(fault, PrinterStatus())

    def send(self, zpl: bytes) -> None:
        raise_for_status(self.status())
        with self._lock:
            self._labels.append(zpl)
        if self._on_label is not None:
            self._on_label(zpl)
