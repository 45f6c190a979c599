"""Raw TCP (port 9100, "JetDirect") label printer with `~HS` status before and after a job.

Blocking sockets with timeouts: called only from the print queue's thread."""

from __future__ import annotations

import socket
import time

from station.devices.printer import (
    MalformedStatus,
    PrinterError,
    PrinterOffline,
    PrinterStatus,
    raise_for_status,
)
from station.devices.zpl_status import HOST_STATUS_QUERY, host_status_complete, parse_host_status

RAW_PORT = 9100
_MAX_ANSWER = 4096


class TcpPrinter:
    def __init__(self, *, host: str, port: int = RAW_PORT, timeout: float = 3.0) -> None:
        self._host = host
        self._port = port
        self._timeout = timeout

    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    def _connect(self) -> socket.socket:
        try:
            return socket.create_connection((self._host, self._port), timeout=self._timeout)
        except OSError as exc:
            raise PrinterOffline(f"cannot connect to printer at {self.address}: {exc}") from exc

    def status(self) -> PrinterStatus:
        with self._connect() as sock:
            return self._query(sock)

    def _query(self, sock: socket.socket) -> PrinterStatus:
        # A Zebra on current firmware stays silent to ~HS while media out / head open, so a
        # missing answer is reported as offline rather than waited on forever.
        deadline = time.monotonic() + self._timeout
        answer = b""
        try:
            sock.sendall(HOST_STATUS_QUERY)
            while not host_status_complete(answer):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                sock.settimeout(remaining)
                chunk = sock.recv(1024)
                if not chunk:
                    raise PrinterOffline(
                        f"printer at {self.address} closed the connection before answering ~HS"
                    )
                answer += chunk
                if len(answer) > _MAX_ANSWER:
                    raise MalformedStatus(f"~HS answer from {self.address} is too long")
        except TimeoutError as exc:
            raise PrinterOffline(
                f"printer at {self.address} did not answer ~HS within {self._timeout:g} s"
            ) from exc
        except OSError as exc:
            raise PrinterOffline(f"printer at {self.address}: {exc}") from exc
        return parse_host_status(answer)

    def send(self, zpl: bytes) -> None:
        with self._connect() as sock:
            raise_for_status(self._query(sock))
            try:
                sock.settimeout(self._timeout)
                sock.sendall(zpl)
            except OSError as exc:
                # Bytes may be partly in the printer. Assumed, not confirmed on a device: a format
                # without its ^XZ is never printed, so sending the whole job again is right.
                raise PrinterOffline(f"printer at {self.address}: {exc}") from exc
        # The after-job check runs on a fresh connection so it sees the job processed in order.
        # The job is in the printer now: any fault seen here is reported with delivered=True so
        # the queue does not print a duplicate label when the fault is cleared.
        try:
            after = self.status()
        except PrinterError as exc:
            exc.delivered = True
            raise
        raise_for_status(after, delivered=True)
