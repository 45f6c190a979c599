"""Serial / USB-CDC scanner driver: pyserial on one dedicated thread per device.

Why a thread: pyserial reads block, and the GUI thread must never wait on I/O (style.md).
The callbacks run on this thread; the station's Qt bridge re-emits them as Signals.
"""

from __future__ import annotations

import logging
import termios
import threading
import time
from collections.abc import Callable

import serial

from station.devices.framing import FrameAssembler, RejectedFrame
from station.devices.profiles import ScannerProfile
from station.devices.scanner import RawScan, ScanCallback, ScannerStatus, StatusCallback
from station.devices.usb_detect import find_port

log = logging.getLogger(__name__)

# Every way pyserial 3.5 on Linux reports an unplugged or stolen port (hardware.md §1.7):
# read() -> SerialException ("device reports readiness to read but returned no data" /
# "read failed: [Errno 5]"), in_waiting -> raw OSError, flush/reset -> termios.error, which
# is not an OSError subclass.
PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)

Configure = Callable[[serial.Serial], None]


class SerialScanner:
    def __init__(
        self,
        *,
        profile: ScannerProfile,
        port: str | None = None,
        locate: Callable[[], str | None] | None = None,
        name: str = "",
        configure: Configure | None = None,
        read_timeout_s: float = 0.05,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 5.0,
    ) -> None:
        if profile.serial is None:
            raise ValueError(f"profile {profile.id} has no [serial] settings")
        if port is None and locate is None and profile.usb is None:
            raise ValueError(f"profile {profile.id} has no USB ids: give a port path")
        self._profile = profile
        self._port_path = port
        self._locate = locate
        self.name = name or profile.id
        self._configure = configure
        self._read_timeout_s = read_timeout_s
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._stop = threading.Event()
        self._assembler: FrameAssembler | None = None
        self._thread: threading.Thread | None = None
        self._on_scan: ScanCallback = _ignore
        self._on_status: StatusCallback = _ignore

    def start(self, *, on_scan: ScanCallback, on_status: StatusCallback) -> None:
        if self._thread is not None:
            raise RuntimeError(f"scanner {self.name} already started")
        self._on_scan, self._on_status = on_scan, on_status
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"scanner-{self.name}", daemon=True)
        self._thread.start()

    @property
    def held_bytes(self) -> int:
        """Bytes read but not yet framed (diagnostics; read from any thread)."""
        assembler = self._assembler
        return assembler.held_bytes if assembler is not None else 0

    def stop(self, *, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    # -- device thread ------------------------------------------------------------------

    def _run(self) -> None:
        delay = self._backoff_initial_s
        last_reason = ""
        while not self._stop.is_set():
            path = self._resolve_path()
            if path is None:
                reason = "no scanner matching the profile's USB ids is plugged in"
            else:
                try:
                    port = self._open(path)
                except PORT_ERRORS as exc:
                    reason = f"cannot open {path}: {exc}"
                else:
                    delay = self._backoff_initial_s
                    last_reason = ""
                    self._status(ScannerStatus.connected(source=self.name))
                    reason = self._read_until_failure(port, path=path) or ""
                    _close_quietly(port)
                    if not reason:  # stopped on request
                        break
            # One "disconnected" per distinct cause, then one "reconnecting" per attempt, so
            # the bench shows why without flooding the status line during back-off.
            if reason != last_reason:
                log.warning("scanner %s disconnected: %s", self.name, reason)
                self._status(ScannerStatus.disconnected(reason=reason, source=self.name))
                last_reason = reason
            self._status(ScannerStatus.reconnecting(retry_in_s=delay, source=self.name))
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self._backoff_max_s)
        self._status(ScannerStatus.disconnected(reason="stopped", source=self.name))

    def _resolve_path(self) -> str | None:
        # Reopen by the configured path (ideally /dev/serial/by-id/…, stable across
        # re-plugs) or look the device up again: a re-plug may get a new ttyACM number.
        if self._port_path is not None:
            return self._port_path
        if self._locate is not None:
            return self._locate()
        return find_port(profile=self._profile)

    def _open(self, path: str) -> serial.Serial:
        settings = self._profile.serial
        assert settings is not None  # checked in __init__
        port = serial.Serial(
            port=path,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=settings.parity,
            stopbits=settings.stopbits,
            rtscts=settings.rtscts,
            xonxoff=settings.xonxoff,
            timeout=self._read_timeout_s,
            write_timeout=2.0,
            # A second opener (ModemManager, another app) would steal bytes mid-barcode.
            exclusive=True,
        )
        try:
            # Noise from power-up / hot-plug must not become the start of the first frame.
            port.reset_input_buffer()
            if self._configure is not None:
                self._configure(port)
        except BaseException:
            _close_quietly(port)
            raise
        return port

    def _read_until_failure(self, port: serial.Serial, *, path: str) -> str | None:
        assembler = FrameAssembler(framing=self._profile.framing, source=self.name)
        self._assembler = assembler
        try:
            while not self._stop.is_set():
                # read(1) returns as soon as one byte arrives (select), so a scan is never
                # delayed by the timeout; the timeout only paces stop/idle checks.
                first = port.read(1)
                if not first:
                    self._reject(assembler.expire(now_ns=time.perf_counter_ns()))
                    continue
                waiting = port.in_waiting
                data = first + port.read(waiting) if waiting else first
                # Taken after the read that delivered the terminator: the latency origin.
                now_ns = time.perf_counter_ns()
                for item in assembler.feed(data, now_ns=now_ns):
                    if isinstance(item, RawScan):
                        self._deliver(item)
                    else:
                        self._reject(item)
        except PORT_ERRORS as exc:
            reason = f"{path}: {exc}" if str(exc) else f"{path}: {type(exc).__name__}"
            self._reject(assembler.discard(reason=f"port lost mid-barcode ({reason})"))
            return reason
        self._reject(assembler.discard(reason="scanner stopped mid-barcode"))
        return None

    def _deliver(self, scan: RawScan) -> None:
        try:
            self._on_scan(scan)
        except Exception:
            # A failing consumer must not kill the device thread: the next scan still counts.
            log.exception("scanner %s: on_scan callback failed", self.name)

    def _status(self, status: ScannerStatus) -> None:
        try:
            self._on_status(status)
        except Exception:
            log.exception("scanner %s: on_status callback failed", self.name)

    def _reject(self, rejected: RejectedFrame | None) -> None:
        if rejected is not None:
            log.warning("scanner %s: discarded input: %s", self.name, rejected)


def _close_quietly(port: serial.Serial) -> None:
    try:
        port.close()
    except PORT_ERRORS:
        # Closing an unplugged port can fail again; the fd is gone either way.
        log.debug("closing %s failed", port.port, exc_info=True)


def _ignore(_: object) -> None:
    return None
