"""The bench's document printer (packing slips, PDF): a small Protocol, a CUPS implementation and
a fake. Its shape is the label printer's (`status`, `send`), so the same persistent PrintQueue
holds and retries a slip exactly like a label: a printer out of paper never loses one.

CUPS: `lp -d QUEUE` with the PDF on stdin. Unlike the `zebra` package's lpr pipe, lp's exit
status is checked: a job CUPS did not take is not "printed". A driver queue converts the PDF for
its printer; `raw=True` passes the bytes through unchanged (a PDF-capable printer behind a raw
queue, and the tests, which read the job back byte for byte from the loopback emulator).
"""

from __future__ import annotations

import os
import subprocess
from typing import Protocol

from station.devices.cups_printer import CupsPrinter
from station.devices.fake_printer import FakePrinter
from station.devices.printer import PrinterOffline, PrinterStatus, raise_for_status

_ENV = {**os.environ, "LANG": "C", "LC_ALL": "C"}


class DocumentPrinter(Protocol):
    """Blocking calls: run them on the print queue's thread, never on the GUI thread."""

    def status(self) -> PrinterStatus: ...

    def send(self, document: bytes) -> None:
        """Raises a PrinterError when the printer (or its queue) cannot take the job now."""
        ...


class CupsDocumentPrinter:
    def __init__(
        self, *, queue: str, raw: bool = False, title: str = "packline", timeout: float = 30.0
    ) -> None:
        self._queue = queue
        self._raw = raw
        self._title = title
        self._timeout = timeout
        # Same queue states as a CUPS label queue (disabled = paused, unknown = offline).
        self._lpstat = CupsPrinter(queue=queue, timeout=timeout)

    @property
    def queue(self) -> str:
        return self._queue

    def status(self) -> PrinterStatus:
        return self._lpstat.status()

    def send(self, document: bytes) -> None:
        raise_for_status(self.status())
        command = ["lp", "-d", self._queue, "-t", self._title]
        if self._raw:
            command += ["-o", "raw"]
        try:
            done = subprocess.run(command, input=document, capture_output=True, env=_ENV,
                                  timeout=self._timeout, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PrinterOffline(f"cannot run lp for {self._queue!r}: {exc}") from exc
        if done.returncode != 0:
            why = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise PrinterOffline(f"CUPS refused the document for {self._queue!r}: {why}")
        # Spooled: CUPS prints it when it can; later faults are delivered=True (no resend).
        try:
            after = self.status()
        except PrinterOffline as exc:
            exc.delivered = True
            raise
        raise_for_status(after, delivered=True)


class FakeDocumentPrinter(FakePrinter):
    """In-memory document printer for the demo and tests (the fake label printer's faults)."""

    @property
    def documents(self) -> list[bytes]:
        return self.labels
