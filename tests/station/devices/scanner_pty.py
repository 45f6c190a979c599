"""Pseudo-terminal scanners for the serial tests: the real pyserial path, no hardware.

The driver opens a symlink standing in for /dev/serial/by-id/...; unplug closes the master
side, re-plug creates a new pty pair and points the symlink at it (as udev would).
"""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from station.devices.scanner import RawScan, ScannerState, ScannerStatus

T = TypeVar("T")
WAIT_S = 10.0  # generous: the suite must pass on a loaded 2-core machine


class PtyScanner:
    """The scanner end of a pty pair, reachable through a stable symlink."""

    def __init__(self, directory: Path) -> None:
        self.link = directory / "usb-Honeywell_Scanner_TEST-if00"
        self.master: int | None = None
        self.plug()

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        name = os.ttyname(slave)
        os.close(slave)  # the driver opens the slave by path, like a real tty
        temporary = self.link.with_suffix(".new")
        os.symlink(name, temporary)
        os.replace(temporary, self.link)
        self.master = master

    def write(self, data: bytes) -> None:
        assert self.master is not None
        os.write(self.master, data)

    def read_available(self, *, timeout_s: float = WAIT_S, until: tuple[bytes, ...] = ()) -> bytes:
        """What the driver wrote, until a suffix in `until` arrives (or the timeout)."""
        assert self.master is not None
        os.set_blocking(self.master, False)
        received = b""
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline and not (until and received.endswith(until)):
                try:
                    received += os.read(self.master, 4096)
                except OSError:
                    # EAGAIN: nothing yet; EIO: the driver has not opened the slave yet.
                    time.sleep(0.01)
        finally:
            os.set_blocking(self.master, True)
        return received

    def unplug(self) -> None:
        assert self.master is not None
        os.close(self.master)
        self.master = None

    def close(self) -> None:
        if self.master is not None:
            self.unplug()


class Recorder:
    """Collects callbacks from the device thread; tests wait on it with a timeout."""

    def __init__(self) -> None:
        self.scans: list[RawScan] = []
        self.statuses: list[ScannerStatus] = []
        self._changed = threading.Condition()

    def on_scan(self, scan: RawScan) -> None:
        with self._changed:
            self.scans.append(scan)
            self._changed.notify_all()

    def on_status(self, status: ScannerStatus) -> None:
        with self._changed:
            self.statuses.append(status)
            self._changed.notify_all()

    def wait(self, predicate: Callable[[], T], *, timeout_s: float = WAIT_S) -> T:
        with self._changed:
            result = self._changed.wait_for(predicate, timeout_s)
        assert result, "timed out waiting for the scanner"
        return result

    def states(self) -> list[ScannerState]:
        return [s.state for s in self.statuses]

    def connected_count(self) -> int:
        return self.states().count(ScannerState.CONNECTED)


def wait_until(predicate: Callable[[], T], *, timeout_s: float = WAIT_S) -> T:
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return result
