"""Loopback Zebra printer for tests and the demo: a threaded TCP server that takes ZPL jobs,
answers `~HS` with the three STX...ETX strings, simulates faults, keeps every label and can
render it to PNG (zplkit) so a person can look at it.

    python -m tests.fakes.printer_emulator --port 9100 --out DIR

then type `paper`, `head`, `pause`, `silent`, `refuse` or `ok` + Enter to flip faults.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import socketserver
import sys
import threading
import time
from pathlib import Path

import zplkit

from station.devices.printer import PrinterStatus
from station.devices.zpl_status import format_host_status


def render_png(label: bytes) -> bytes:
    """PNG of one ^XA...^XZ label (zplkit 0.3.2, offline; default profile = 203 dpi)."""
    return zplkit.render(label).labels[0].png()


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: PrinterEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)


class _Handler(socketserver.BaseRequestHandler):
    request: socket.socket
    server: _Server

    def handle(self) -> None:
        emulator = self.server.emulator
        emulator._track(self.request, add=True)
        raw = bytearray()
        buf = b""
        try:
            while True:
                try:
                    chunk = self.request.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                if emulator.silent:
                    continue  # a hung printer: takes bytes, does nothing, answers nothing
                raw += chunk
                buf = emulator._consume(buf + chunk, self.request)
        finally:
            emulator._track(self.request, add=False)
            if raw:
                emulator._job_done(bytes(raw))


class PrinterEmulator:
    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, out_dir: Path | None = None
    ) -> None:
        self._host = host
        self._requested_port = port
        self._out_dir = out_dir
        self._lock = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._clients: set[socket.socket] = set()
        self._labels: list[bytes] = []
        self._jobs: list[bytes] = []
        self._numbered = 0
        self.status_queries = 0
        self.paper_out = False
        self.head_open = False
        self.paused = False
        self.ribbon_out = False
        self.silent = False
        # Current Zebra firmware sends no ~HS answer while media out / ribbon out / head open.
        self.mute_status_on_error = False
        self.port = 0

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> PrinterEmulator:
        self._server = _Server((self._host, self.port or self._requested_port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def _close_listener(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def stop(self) -> None:
        self._close_listener()
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> PrinterEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults --------------------------------------------------------------------------------

    def set_fault(
        self,
        *,
        paper_out: bool = False,
        head_open: bool = False,
        paused: bool = False,
        ribbon_out: bool = False,
        silent: bool = False,
    ) -> None:
        """Sets every fault at once (no argument = healthy printer)."""
        self.paper_out, self.head_open, self.paused = paper_out, head_open, paused
        self.ribbon_out, self.silent = ribbon_out, silent

    def refuse_connections(self, refuse: bool) -> None:
        """True closes the listening socket (clients get ECONNREFUSED); False listens again on
        the same port."""
        if refuse:
            self._close_listener()
        elif self._server is None:
            self.start()

    def host_status(self) -> PrinterStatus:
        return PrinterStatus(
            paper_out=self.paper_out,
            paused=self.paused,
            head_open=self.head_open,
            ribbon_out=self.ribbon_out,
            label_length_dots=1218,
        )

    # -- what arrived --------------------------------------------------------------------------

    @property
    def labels(self) -> list[bytes]:
        with self._lock:
            return list(self._labels)

    @property
    def jobs(self) -> list[bytes]:
        """Raw bytes of each connection that carried data, byte-exact."""
        with self._lock:
            return list(self._jobs)

    def wait_for_labels(self, count: int, *, timeout: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._labels) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"emulator got {len(self._labels)} labels, wanted {count}")
                self._lock.wait(remaining)
            return list(self._labels)

    def wait_for_jobs(self, count: int, *, timeout: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._jobs) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"emulator got {len(self._jobs)} jobs, wanted {count}")
                self._lock.wait(remaining)
            return list(self._jobs)

    # -- handler side --------------------------------------------------------------------------

    def _track(self, client: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._clients.add if add else self._clients.discard)(client)

    def _job_done(self, raw: bytes) -> None:
        with self._lock:
            self._jobs.append(raw)
            self._lock.notify_all()

    def _answer_status(self, client: socket.socket) -> None:
        with self._lock:
            self.status_queries += 1
        status = self.host_status()
        if self.mute_status_on_error and (
            status.paper_out or status.head_open or status.ribbon_out
        ):
            return
        with contextlib.suppress(OSError):
            client.sendall(format_host_status(status))

    def _consume(self, buf: bytes, client: socket.socket) -> bytes:
        """Handles every complete `~HS` and `^XA...^XZ` in buf; returns the unfinished rest."""
        while True:
            upper = buf.upper()  # ZPL commands are case-insensitive; labels are kept verbatim
            hs, xa = upper.find(b"~HS"), upper.find(b"^XA")
            if hs >= 0 and (xa < 0 or hs < xa):
                self._answer_status(client)
                buf = buf[hs + 3 :]
                continue
            if xa < 0:
                return buf[-2:]  # may be the start of a command split across packets
            xz = upper.find(b"^XZ", xa + 3)
            if xz < 0:
                return buf[xa:]
            self._label(buf[xa : xz + 3])
            buf = buf[xz + 3 :]

    def _label(self, label: bytes) -> None:
        with self._lock:
            self._numbered += 1
            number = self._numbered
        # Files first, then publish: whoever waits for the label may open its PNG at once.
        if self._out_dir is not None:
            self._save(number, label)
        with self._lock:
            self._labels.append(label)
            self._lock.notify_all()

    def _save(self, number: int, label: bytes) -> None:
        assert self._out_dir is not None
        self._out_dir.mkdir(parents=True, exist_ok=True)
        stem = self._out_dir / f"label-{number:04d}"
        stem.with_suffix(".zpl").write_bytes(label)
        try:
            stem.with_suffix(".png").write_bytes(render_png(label))
        except ValueError as exc:  # zplkit's RenderError/OutputError: keep serving
            stem.with_suffix(".error.txt").write_text(f"{exc}\n")
        print(f"label {number}: {stem}.png ({len(label)} bytes of ZPL)", flush=True)


_COMMANDS = {
    "paper": {"paper_out": True},
    "head": {"head_open": True},
    "pause": {"paused": True},
    "ribbon": {"ribbon_out": True},
    "silent": {"silent": True},
    "ok": {},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Loopback Zebra ZPL printer (TCP 9100).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--out", type=Path, required=True, help="folder for .zpl and .png")
    args = parser.parse_args(argv)
    emulator = PrinterEmulator(host=args.host, port=args.port, out_dir=args.out).start()
    print(f"printer emulator on {args.host}:{emulator.port}, labels -> {args.out}", flush=True)
    print("commands: paper | head | pause | ribbon | silent | refuse | ok", flush=True)
    try:
        for line in sys.stdin:
            word = line.strip().lower()
            if word == "refuse":
                emulator.set_fault()
                emulator.refuse_connections(True)
            elif word in _COMMANDS:
                emulator.refuse_connections(False)
                emulator.set_fault(**_COMMANDS[word])
            elif word:
                print(f"unknown command {word!r}", flush=True)
                continue
            print(f"printer state: {word}", flush=True)
        # stdin closed (e.g. started in the background): keep serving until interrupted
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
