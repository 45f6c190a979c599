"""Composition root of the bench station: settings -> devices, sync, sessions -> view-models ->
window. The only module that picks concrete adapters (real scanner or virtual, TCP or CUPS).

Threads: each device runs its own thread (scanner, print queue, scale), the pusher and the live
stream theirs; all of them report through the DeviceBridge, whose Signals land on the GUI thread.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication

from shared.contract.orders import TaskOut
from shared.labels.carton import CartonLine, carton_label
from station import credentials
from station.devices.cups_printer import CupsPrinter
from station.devices.honeywell_config import Store, configure_on_connect
from station.devices.honeywell_config import apply as apply_menu_commands
from station.devices.print_queue import JobState, PrintQueue
from station.devices.printer import LabelPrinter
from station.devices.profiles import DEFAULT_PROFILE_DIR, ScannerProfile, load_profile
from station.devices.scale import WeightReading
from station.devices.scale_poller import ScalePoller
from station.devices.scanner import BarcodeScanner
from station.devices.serial_scale import ScaleDialect, SerialScale
from station.devices.serial_scanner import SerialScanner
from station.devices.setup_sheet import write_setup_sheet
from station.devices.tcp_printer import TcpPrinter
from station.devices.usb_detect import find_port
from station.devices.virtual_scanner import VirtualScanner
from station.devices.wedge_filter import WedgeScanner
from station.settings import StationSettings
from station.sync.client import HttpGateway, enrol
from station.sync.journal import Journal
from station.sync.live import LiveStream
from station.sync.outbound import to_wire
from station.sync.pusher import Pusher
from station.ui.background import Background
from station.ui.bridge import DeviceBridge
from station.ui.main_window import MainWindow
from station.ui.sounds import QtSounds
from station.ui.view_models.bench import BenchViewModel
from station.ui.view_models.login import Operator
from station.ui.view_models.pack import PackViewModel
from station.ui.view_models.status import StatusViewModel
from station.ui.widgets.virtual_scanner import DemoBarcode
from station.work import events as work
from station.work.boxes import ScaleTolerance
from station.work.pack import PackSession
from station.work.pick import PickSession
from station.work.supervisor import SupervisorDigests

log = logging.getLogger("packline.station")


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_printer(spec: str) -> LabelPrinter | None:
    if spec.startswith("tcp://"):
        host, _, port = spec[len("tcp://") :].partition(":")
        return TcpPrinter(host=host, port=int(port or 9100))
    if spec.startswith("cups://"):
        return CupsPrinter(queue=spec[len("cups://") :])
    if spec:
        raise ValueError(f"printer {spec!r}: use tcp://host:port or cups://queue")
    return None


@dataclass
class Station:
    """Everything the bench runs, so it can be started and stopped as one."""

    bench: BenchViewModel
    status: StatusViewModel
    bridge: DeviceBridge
    journal: Journal
    pusher: Pusher
    live: LiveStream
    gateway: HttpGateway
    print_queue: PrintQueue | None
    scanner: BarcodeScanner | None
    virtual: VirtualScanner | None
    scale: ScalePoller | None
    window: MainWindow | None = None
    supervisors: SupervisorDigests = field(default_factory=lambda: SupervisorDigests(()))
    _started: list[Any] = field(default_factory=list)

    def start(self) -> None:
        if self.scanner is not None:
            self.scanner.start(on_scan=self.bridge.on_scan,
                               on_status=self.bridge.on_scanner_status)  # fmt: skip
            self._started.append(self.scanner)
        for part in (self.print_queue, self.scale, self.pusher, self.live):
            if part is not None:
                part.start()
                self._started.append(part)

    def stop(self) -> None:
        for part in reversed(self._started):
            try:
                part.stop()
            except Exception:  # one part failing to stop must not keep the others running
                log.exception("stopping %s", type(part).__name__)
        self._started.clear()
        if self.virtual is not None:
            self.virtual.close()
        self.gateway.close()
        self.journal.close()


def build(
    settings: StationSettings,
    *,
    token: str,
    virtual_scanner: bool = False,
    demo_barcodes: Sequence[DemoBarcode] = (),
    with_window: bool = True,
    clock: Callable[[], datetime] = utc_now,
) -> Station:
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    bridge = DeviceBridge()
    journal = Journal(path=data / "journal.sqlite3")
    gateway = HttpGateway(base_url=settings.server_url, station_token=token)
    printer = make_printer(settings.printer)
    status = StatusViewModel(has_printer=printer is not None)
    print_queue = (
        # Polled when idle so the status bar shows paper-out or a closed head before a job
        # fails on it, not after.
        PrintQueue(
            printer=printer,
            store=data / "print-queue.sqlite3",
            on_event=bridge.on_print_event,
            idle_poll=20.0,
        )
        if printer is not None
        else None
    )
    pusher = Pusher(journal=journal, gateway=gateway, on_state=bridge.on_sync_state)
    live = LiveStream(base_url=settings.server_url, station_token=token,
                      on_order_changed=bridge.on_order_changed,
                      on_connected=bridge.on_live_connected)  # fmt: skip
    profile = load_profile(DEFAULT_PROFILE_DIR / f"{settings.scanner_profile}.toml")
    virtual = VirtualScanner(profile=profile) if virtual_scanner else None
    scanner = _scanner(settings, profile, virtual)
    scale = None
    if settings.scale_port:
        scale = ScalePoller(
            scale=SerialScale(port=settings.scale_port,
                              dialect=ScaleDialect(settings.scale_dialect.lower())),
            on_weight=bridge.on_weight,
        )  # fmt: skip
    tolerance = ScaleTolerance(
        percent=settings.scale_tolerance_percent, min_g=settings.scale_tolerance_min_g
    )
    supervisors = SupervisorDigests(())
    background = Background()

    def journal_append(event: work.Event) -> None:
        operator = bench.operator  # bound below; called only once the bench runs
        wire = to_wire(event, operator_id=operator.id if operator else None)
        if wire is not None:
            journal.append(wire)  # fsync'd before anything is sent
            pusher.wake()
        if isinstance(event, work.BoxClosed) and print_queue is not None:
            print_queue.submit(
                carton_label(order_number=event.order_number, box_no=event.box_no,
                             box_type=event.box_type,
                             lines=[CartonLine(c.sku, c.units) for c in event.contents],
                             weight_g=event.measured_g),
                title=f"{event.order_number} box {event.box_no}",
            )  # fmt: skip

    def make_pick(task: TaskOut, operator: Operator) -> PickSession:
        return PickSession(task, clock=clock, supervisors=station.supervisors,
                           operator_badge=operator.badge)  # fmt: skip

    def make_pack(task: TaskOut, operator: Operator) -> PackSession:
        return PackSession(task, clock=clock, scale_tolerance=tolerance,
                           supervisors=supervisors, operator_badge=operator.badge,
                           require_weight=scale is not None)  # fmt: skip

    bench = BenchViewModel(gateway=gateway, background=background, journal_append=journal_append,
                           make_pick=make_pick, make_pack=make_pack, status=status)  # fmt: skip
    station = Station(
        bench=bench, status=status, bridge=bridge, journal=journal, pusher=pusher, live=live,
        gateway=gateway, print_queue=print_queue, scanner=scanner, virtual=virtual, scale=scale,
        supervisors=supervisors,
    )  # fmt: skip
    _wire(station, background)
    if with_window:
        sounds = QtSounds(cache_dir=data / "sounds")
        station.window = MainWindow(
            bench=station.bench, status=status, sounds=sounds, demo_barcodes=demo_barcodes,
            demo_write=virtual.write if virtual is not None else None,
        )  # fmt: skip
        if print_queue is not None:
            # F4: the last label again (torn, smudged, stuck to the wrong carton).
            reprint = QShortcut(QKeySequence("F4"), station.window)
            reprint.activated.connect(lambda: reprint_last(print_queue))
    return station


def reprint_last(queue: PrintQueue) -> int | None:
    printed = queue.jobs(state=JobState.PRINTED, limit=1)
    return queue.reprint(printed[0].id) if printed else None


def _scanner(
    settings: StationSettings, profile: ScannerProfile, virtual: VirtualScanner | None
) -> BarcodeScanner | None:
    if settings.wedge_profile:
        # A keyboard-wedge scanner: recognised by its profile's prefix/suffix in the key stream.
        wedge = load_profile(DEFAULT_PROFILE_DIR / f"{settings.wedge_profile}.toml")
        return WedgeScanner(framing=wedge.framing, name=wedge.model)
    if virtual is not None:
        return SerialScanner(profile=profile, port=virtual.port, name=profile.model)
    # A power-cycled Honeywell may have lost volatile settings: re-apply them on every connect.
    configure = configure_on_connect(profile)
    if settings.scanner_port:
        return SerialScanner(profile=profile, port=settings.scanner_port, name=profile.model,
                             configure=configure)  # fmt: skip
    if profile.usb is not None:
        # No path configured: find the scanner by the USB ids its profile names, on every
        # reconnect (the tty number may change after a replug).
        return SerialScanner(profile=profile, locate=lambda: find_port(profile=profile),
                             name=profile.model, configure=configure)  # fmt: skip
    return None


def _wire(station: Station, background: Background) -> None:
    bridge, bench, status = station.bridge, station.bench, station.status
    bridge.scanned.connect(bench.handle_scan)
    bridge.scanner_status.connect(status.on_scanner_status)
    bridge.print_event.connect(status.on_print_event)
    bridge.sync_state.connect(status.on_sync_state)
    bridge.order_changed.connect(bench.on_order_changed)

    def weight(reading: WeightReading) -> None:
        if isinstance(bench.work, PackViewModel):
            bench.work.set_weight(reading)

    bridge.weight.connect(weight)

    def refresh_supervisors(_: object = None) -> None:
        # Fetched after each sign-in, kept for offline overrides until the next one.
        def got(digests: object) -> None:
            station.supervisors.update(digests)  # type: ignore[arg-type]

        background.submit(station.gateway.supervisor_badges, on_result=got,
                          on_error=lambda exc: log.info("supervisor list: %s", exc))  # fmt: skip

    bench.operator_changed.connect(lambda op: refresh_supervisors() if op else None)


def _token(settings: StationSettings, code: str | None) -> str:
    path = settings.data_dir / "station.json"
    found = credentials.load(path)
    if found is not None:
        return found.token
    if not code:
        raise SystemExit(
            "this station is not enrolled: ask an admin for an enrolment code and run "
            "packline-station --enrol CODE"
        )
    got = enrol(base_url=settings.server_url, code=code)
    credentials.save(path, credentials.StationCredentials(got.station_id, got.name, got.token))
    return got.token


def _tools(args: argparse.Namespace) -> int:
    settings = StationSettings(
        **{
            k: v
            for k, v in {
                "scanner_port": args.scanner_port,
                "scanner_profile": args.scanner_profile,
            }.items()
            if v
        }
    )
    profile = load_profile(DEFAULT_PROFILE_DIR / f"{settings.scanner_profile}.toml")
    if args.setup_sheet:
        write_setup_sheet(profile=profile, path=args.setup_sheet)
        print(f"setup sheet for {profile.vendor} {profile.model} written to {args.setup_sheet}")
    if args.configure_scanner:
        import serial

        if profile.serial is None or profile.config is None:
            raise SystemExit(f"{profile.id} cannot be configured over serial")
        port = settings.scanner_port or find_port(profile=profile)
        if not port:
            raise SystemExit("no scanner found: give --scanner-port")
        s = profile.serial
        with serial.Serial(port, s.baudrate, bytesize=s.bytesize, parity=s.parity,
                           stopbits=s.stopbits, timeout=0.2) as link:  # fmt: skip
            commands = [*profile.config.setup, *profile.config.apply]
            results = apply_menu_commands(link, commands=commands, store=Store.NON_VOLATILE)
        print(f"{len(results)} command(s) acknowledged by the scanner on {port}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packline-station")
    parser.add_argument("--server", help="server URL, e.g. http://10.0.0.5:8400")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--enrol", metavar="CODE", help="one-time enrolment code")
    parser.add_argument("--printer", help="tcp://host:9100 or cups://queue")
    parser.add_argument("--scanner-port", help="serial path, e.g. /dev/serial/by-id/...")
    parser.add_argument("--scanner-profile", help="firmware profile id")
    parser.add_argument("--virtual-scanner", action="store_true", help="demo: scan from a panel")
    parser.add_argument("--demo-barcodes", type=Path, help="demo: JSON list of {label, text}")
    parser.add_argument(
        "--setup-sheet",
        metavar="PDF",
        type=Path,
        help="write the scanner profile's setup sheet (settings and programming "
        "barcodes) to this PDF and exit",
    )
    parser.add_argument(
        "--configure-scanner",
        action="store_true",
        help="send the profile's configuration commands to the serial scanner "
        "(stored permanently) and exit",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.setup_sheet or args.configure_scanner:
        return _tools(args)
    overrides = {
        k: v
        for k, v in {
            "server_url": args.server, "data_dir": args.data_dir, "printer": args.printer,
            "scanner_port": args.scanner_port, "scanner_profile": args.scanner_profile,
        }.items()
        if v is not None
    }  # fmt: skip
    settings = StationSettings(**overrides)
    token = _token(settings, args.enrol)
    barcodes: list[DemoBarcode] = []
    if args.demo_barcodes:
        items = json.loads(args.demo_barcodes.read_text(encoding="utf-8"))
        barcodes = [DemoBarcode(label=x["label"], text=x["text"]) for x in items]
    app = QApplication(sys.argv[:1])
    station = build(settings, token=token, virtual_scanner=args.virtual_scanner,
                    demo_barcodes=barcodes)  # fmt: skip
    app.aboutToQuit.connect(station.stop)
    station.start()
    assert station.window is not None
    station.window.resize(1280, 800)
    station.window.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
