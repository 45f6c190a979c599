"""What every barcode scanner looks like to the station, whatever its cable (Qt-free)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RawScan:
    """One framed read, before any GS1/AIM interpretation.

    `text` has the AIM identifier removed (it is in `symbology_id`) and every GS1 separator
    normalised to GS (0x1D), whatever the scanner was configured to send for FNC1.
    `received_at_ns` is `time.perf_counter_ns()` taken right after the read that delivered
    the terminator (serial) or the suffix key (wedge): the latency benchmark starts there.
    """

    text: str
    symbology_id: str | None
    received_at_ns: int
    source: str = ""


class ScannerState(enum.Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True, slots=True)
class ScannerStatus:
    state: ScannerState
    reason: str = ""
    source: str = ""
    # Seconds until the next open attempt; only meaningful while RECONNECTING.
    retry_in_s: float = 0.0

    @classmethod
    def connected(cls, *, source: str = "") -> ScannerStatus:
        return cls(ScannerState.CONNECTED, source=source)

    @classmethod
    def disconnected(cls, *, reason: str, source: str = "") -> ScannerStatus:
        return cls(ScannerState.DISCONNECTED, reason=reason, source=source)

    @classmethod
    def reconnecting(cls, *, retry_in_s: float, source: str = "") -> ScannerStatus:
        return cls(ScannerState.RECONNECTING, source=source, retry_in_s=retry_in_s)


ScanCallback = Callable[[RawScan], None]
StatusCallback = Callable[[ScannerStatus], None]


class BarcodeScanner(Protocol):
    """A scanner device.

    Thread affinity: implementations may call `on_scan`/`on_status` from their own device
    thread. The station's Qt bridge re-emits them as Signals so the GUI thread never blocks.
    """

    def start(self, *, on_scan: ScanCallback, on_status: StatusCallback) -> None: ...

    def stop(self) -> None: ...
