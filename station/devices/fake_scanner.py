"""A scanner without hardware, for the demo and for tests of everything above the driver.

Callbacks run synchronously on the thread that calls inject()/unplug()/replug(); the Qt
bridge treats them exactly like the serial driver's device-thread callbacks.
"""

from __future__ import annotations

import logging
import threading
import time

from station.devices.framing import FrameAssembler, split_aim
from station.devices.profiles import Framing
from station.devices.scanner import RawScan, ScanCallback, ScannerStatus, StatusCallback

log = logging.getLogger(__name__)


class FakeScanner:
    def __init__(self, *, name: str = "fake-scanner", framing: Framing | None = None) -> None:
        self.name = name
        self._framing = framing or Framing(terminator="\r\n", aim_id=True)
        self._assembler = FrameAssembler(framing=self._framing, source=name)
        self._lock = threading.Lock()
        self._on_scan: ScanCallback | None = None
        self._on_status: StatusCallback | None = None
        self._plugged = True

    @property
    def running(self) -> bool:
        return self._on_scan is not None

    @property
    def plugged(self) -> bool:
        return self._plugged

    def start(self, *, on_scan: ScanCallback, on_status: StatusCallback) -> None:
        with self._lock:
            self._on_scan, self._on_status = on_scan, on_status
            plugged = self._plugged
        if plugged:
            on_status(ScannerStatus.connected(source=self.name))
        else:
            on_status(ScannerStatus.disconnected(reason="unplugged", source=self.name))

    def stop(self) -> None:
        with self._lock:
            on_status, self._on_scan, self._on_status = self._on_status, None, None
        if on_status is not None:
            on_status(ScannerStatus.disconnected(reason="stopped", source=self.name))

    def inject(self, text: str, *, symbology_id: str | None = None) -> bool:
        """Deliver one scan; `text` may carry its AIM id (']C1…') or pass it separately.

        Returns False (and delivers nothing) when stopped or unplugged, as real hardware would.
        """
        if symbology_id is None:
            symbology_id, text = split_aim(text, aim_id=True)
        scan = RawScan(
            text=text,
            symbology_id=symbology_id,
            received_at_ns=time.perf_counter_ns(),
            source=self.name,
        )
        return self._deliver(scan)

    def inject_bytes(self, data: bytes) -> int:
        """Run bytes through the real framing (garbage and fragments included)."""
        delivered = 0
        for item in self._assembler.feed(data, now_ns=time.perf_counter_ns()):
            if isinstance(item, RawScan):
                delivered += self._deliver(item)
            else:
                log.warning("scanner %s: discarded input: %s", self.name, item)
        return delivered

    def unplug(self, *, reason: str = "unplugged") -> None:
        rejected = self._assembler.discard(reason=f"port lost mid-barcode ({reason})")
        if rejected is not None:
            log.warning("scanner %s: discarded input: %s", self.name, rejected)
        with self._lock:
            self._plugged = False
            on_status = self._on_status
        if on_status is not None:
            on_status(ScannerStatus.disconnected(reason=reason, source=self.name))
            on_status(ScannerStatus.reconnecting(retry_in_s=0.0, source=self.name))

    def replug(self) -> None:
        with self._lock:
            self._plugged = True
            on_status = self._on_status
        if on_status is not None:
            on_status(ScannerStatus.connected(source=self.name))

    def _deliver(self, scan: RawScan) -> bool:
        with self._lock:
            on_scan = self._on_scan if self._plugged else None
        if on_scan is None:
            return False
        on_scan(scan)
        return True
