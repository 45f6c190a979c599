"""Label printer behind a CUPS raw queue, printed through the `zebra` package (PyPI 0.2.1).

What `zebra` really does (read in .venv/.../zebra/__init__.py, 0.2.1): `Zebra(queue).output(b)`
pipes the bytes to `lpr -P<queue> -oraw` and IGNORES lpr's exit status (errors only reach our
stderr). So this adapter asks `lpstat` first: an unknown queue, a scheduler that is down, a
disabled (paused) queue or one rejecting jobs is reported before anything is handed to lpr.

A CUPS queue is one-way: it cannot report paper out or head open, only its own state. Once lpr
has the job, CUPS spools it and retries on its own, so faults seen after that are
`delivered=True` (the queue must not send the job again).
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

import zebra

from station.devices.printer import PrinterOffline, PrinterStatus, raise_for_status

# zebra 0.2.1 ships no type hints; typed as Any once here instead of at each call.
_Zebra: Any = zebra.Zebra
# Parsing relies on CUPS's English messages.
_LPSTAT_ENV = {**os.environ, "LANG": "C", "LC_ALL": "C"}


def parse_lpstat(*, queue: str, output: str) -> PrinterStatus:
    """Reads `lpstat -p QUEUE -a QUEUE` output (CUPS 2.4 format)."""
    lines = output.splitlines()
    printer_line = next((ln for ln in lines if ln.startswith(f"printer {queue} ")), None)
    if printer_line is None:
        raise PrinterOffline(f"CUPS has no queue {queue!r}: {output.strip() or 'no output'}")
    reasons = [ln.strip() for ln in lines if ln.startswith("\t") and ln.strip()]
    detail = "; ".join(reasons)
    if " disabled since " in printer_line:
        return PrinterStatus(paused=True, detail=f"CUPS queue {queue} is disabled: {detail}")
    if any(ln.startswith(f"{queue} not accepting requests") for ln in lines):
        return PrinterStatus(paused=True, detail=f"CUPS queue {queue} rejects jobs: {detail}")
    return PrinterStatus(detail=printer_line)


class CupsPrinter:
    def __init__(self, *, queue: str, timeout: float = 10.0) -> None:
        self._queue = queue
        self._timeout = timeout

    @property
    def queue(self) -> str:
        return self._queue

    def status(self) -> PrinterStatus:
        try:
            done = subprocess.run(
                ["lpstat", "-p", self._queue, "-a", self._queue],
                capture_output=True,
                text=True,
                env=_LPSTAT_ENV,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PrinterOffline(f"cannot ask CUPS about {self._queue!r}: {exc}") from exc
        if done.returncode != 0:
            raise PrinterOffline(
                f"CUPS cannot report queue {self._queue!r}: "
                f"{(done.stderr or done.stdout).strip() or f'lpstat exit {done.returncode}'}"
            )
        return parse_lpstat(queue=self._queue, output=done.stdout)

    def send(self, zpl: bytes) -> None:
        raise_for_status(self.status())
        try:
            _Zebra(self._queue).output(zpl)
        except OSError as exc:  # lpr missing: the job never reached CUPS
            raise PrinterOffline(f"cannot run lpr for {self._queue!r}: {exc}") from exc
        try:
            after = self.status()
        except PrinterOffline as exc:
            exc.delivered = True
            raise
        raise_for_status(after, delivered=True)
