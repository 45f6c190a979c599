"""A scanner made of a pseudo-terminal: the demo's panel writes what a real serial scanner
would send (AIM identifier, data, terminator) and the real SerialScanner reads it."""

from __future__ import annotations

import contextlib
import os
import threading
import tty

from station.devices.profiles import ScannerProfile


def aim_prefix(text: str) -> str:
    """The AIM identifier a scanner would put in front of this data (ISO/IEC 15424)."""
    if text.startswith("]"):
        return ""
    if text.isdigit():
        if len(text) == 8:
            return "]E4"  # EAN-8
        if len(text) in (12, 13):
            return "]E0"  # EAN-13 / UPC-A
        if len(text) == 14:
            return "]I1"  # ITF-14 with check digit, as printed on cases
    return "]C0"  # Code 128 without FNC1: badges, bins, box and reason cards


class VirtualScanner:
    """Owns both ends of a pty: `port` is the path the SerialScanner opens."""

    def __init__(self, *, profile: ScannerProfile) -> None:
        self._profile = profile
        self._master, slave = os.openpty()
        tty.setraw(self._master)
        self.port = os.ttyname(slave)
        self._slave = slave  # kept open so the pty survives until close()
        self._lock = threading.Lock()

    def frame(self, text: str) -> bytes:
        framing = self._profile.framing
        prefix = aim_prefix(text) if framing.aim_id else ""
        if not framing.aim_id and text.startswith("]"):
            text = text[3:]  # a scanner with AIM ids off does not send one
        return (framing.prefix + prefix + text + framing.terminator).encode("latin-1")

    def write(self, text: str) -> None:
        data = self.frame(text)
        with self._lock:  # the GUI thread writes; keep each scan's bytes together
            os.write(self._master, data)

    def close(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
