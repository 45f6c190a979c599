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
from station.devices.card_sheets import parse_carriers, write_card_sheets
from station.devices.cups_printer import CupsPrinter
from station.devices.document_printer import CupsDocumentPrinter, DocumentPrinter
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
from station.sync.approvals_client import HttpApprovalsClient
from station.sync.bench_labels import BenchLabels
from station.sync.client import HttpGateway, enrol
from station.sync.dashboard_client import HttpDashboardClient, dashboard_stream
from station.sync.dispatch_client import HttpDispatchClient, PickupMemory
from station.sync.heartbeat import Heartbeat, health_report
from station.sync.journal import Journal
from station.sync.label_events import label_to_wire
from station.sync.live import LiveStream
from station.sync.outbound import to_wire
from station.sync.pusher import Pusher
from station.sync.returns_client import HttpReturnsClient
from station.sync.returns_outbox import ReturnsOutbox
from station.sync.shipping_client import HttpShippingClient, ShippingGateway
from station.ui.background import Background
from station.ui.bridge import DeviceBridge
from station.ui.main_window import MainWindow
from station.ui.sounds import QtSounds
from station.ui.view_models.bench import BenchViewModel
from station.ui.view_models.dashboard import DashboardViewModel
from station.ui.view_models.dispatch import DispatchViewModel
from station.ui.view_models.labelling import LabelViewModel
from station.ui.view_models.login import Operator
from station.ui.view_models.pack import PackViewModel
from station.ui.view_models.returns import ReturnsDeskViewModel
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


def make_document_printer(spec: str) -> DocumentPrinter | None:
    """`cups://QUEUE` (CUPS converts the PDF for its printer) or `cups://QUEUE?raw` (the bytes
    as they are: a PDF-capable printer behind a raw queue)."""
    if spec.startswith("cups://"):
        queue, _, option = spec[len("cups://") :].partition("?")
        return CupsDocumentPrinter(queue=queue, raw=option == "raw")
    if spec:
        raise ValueError(f"document printer {spec!r}: use cups://queue")
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
    document_queue: PrintQueue | None = None  # packing slips
    # Threads that only report (the heartbeat, the dashboard's stream): stopped with the rest.
    reporters: list[Any] = field(default_factory=list)
    supervisors: SupervisorDigests = field(default_factory=lambda: SupervisorDigests(()))
    _started: list[Any] = field(default_factory=list)

    def start(self) -> None:
        if self.scanner is not None:
            self.scanner.start(on_scan=self.bridge.on_scan,
                               on_status=self.bridge.on_scanner_status)  # fmt: skip
            self._started.append(self.scanner)
        parts = (self.print_queue, self.document_queue, self.scale, self.pusher, self.live)
        for part in (*parts, *self.reporters):
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
    document_printer: str = "",
    shipping: ShippingGateway | None = None,
    shipping_labels: bool = False,
) -> Station:
    """`shipping_labels`: after packing, buy, print and scan back the carrier label (needs a
    label printer). The bench command turns it on; off, a bench ends at "packed" (cartons
    labelled elsewhere, tests of packing alone)."""
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
    slips = make_document_printer(document_printer)
    document_queue = (
        # A slip is held and retried like a label; its printer is not the one the status bar
        # shows, so its faults go to the log.
        PrintQueue(printer=slips, store=data / "document-queue.sqlite3",
                   on_event=lambda e: log.info("packing slip printer: %s", e))
        if slips is not None
        else None
    )  # fmt: skip
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
        who = operator.id if operator else None
        wire = to_wire(event, operator_id=who) or label_to_wire(event, operator_id=who)
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

    labels = BenchLabels(
        shipping=shipping or HttpShippingClient(gateway=gateway),
        print_label=(lambda zpl, title: print_queue.submit(zpl, title=title))
        if print_queue is not None else None,
        print_document=(lambda pdf, title: document_queue.submit(pdf, title=title))
        if document_queue is not None else None,
        journal=journal, wake_pusher=pusher.wake,
    )  # fmt: skip

    def make_labelling(task: TaskOut, pack_key: str | None) -> LabelViewModel:
        oid, number = task.order_id, task.number
        return LabelViewModel(
            order_id=oid, order_number=number,
            fetch=lambda queued: labels.fetch(order_id=oid, order_number=number,
                                              pack_key=pack_key, queued=queued),
            fetch_slip=lambda: labels.print_slip(order_id=oid, order_number=number),
            background=background, clock=clock, journal_append=journal_append,
            reprint=print_queue.reprint if print_queue is not None else None,
        )  # fmt: skip

    dashboard, reporters = make_dashboard(settings, token=token, gateway=gateway, status=status,
                                          clock=clock)  # fmt: skip
    bench = BenchViewModel(gateway=gateway, background=background, journal_append=journal_append,
                           make_pick=make_pick, make_pack=make_pack, status=status,
                           make_labelling=make_labelling
                           if shipping_labels and print_queue is not None else None,
                           approvals=HttpApprovalsClient(gateway=gateway),
                           dispatch=make_dispatch(settings, gateway=gateway, background=background,
                                                  print_queue=print_queue),
                           returns=make_returns_desk(settings, gateway=gateway,
                                                     background=background,
                                                     print_queue=print_queue),
                           dashboard=dashboard)  # fmt: skip
    station = Station(
        bench=bench, status=status, bridge=bridge, journal=journal, pusher=pusher, live=live,
        gateway=gateway, print_queue=print_queue, scanner=scanner, virtual=virtual, scale=scale,
        supervisors=supervisors, document_queue=document_queue, reporters=reporters,
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


def make_dashboard(
    settings: StationSettings,
    *,
    token: str,
    gateway: HttpGateway,
    status: StatusViewModel,
    clock: Callable[[], datetime],
) -> tuple[DashboardViewModel, list[Any]]:
    """The supervisors' dashboard (its own worker, so figures never queue behind a sign-in; its
    stream starts when the screen first opens) and the heartbeat every station sends."""
    client = HttpDashboardClient(gateway=gateway)
    stream = dashboard_stream(
        base_url=settings.server_url,
        station_token=token,
        on_change=lambda groups: dashboard.on_live_change(groups),
        on_connected=lambda connected: dashboard.on_live_connected(connected),
    )
    dashboard = DashboardViewModel(client=client, background=Background(), clock=clock,
                                   stream=stream)  # fmt: skip
    # The beat reads the status bar's snapshot from its own thread: the snapshot is an
    # immutable value replaced whole on the GUI thread, so a read sees one or the other.
    heartbeat = Heartbeat(send=client.heartbeat, report=lambda: health_report(status.snapshot),
                          interval_s=settings.heartbeat_s)  # fmt: skip
    return dashboard, [heartbeat, stream]


def make_dispatch(
    settings: StationSettings,
    *,
    gateway: HttpGateway,
    background: Background,
    print_queue: PrintQueue | None,
) -> DispatchViewModel | None:
    """The dispatch door's screen when this station is one (mode "dispatch"): reprints go to the
    label print queue; the open pickup's id is kept in the data dir across a restart."""
    if settings.mode != "dispatch":
        return None
    memory = PickupMemory(path=settings.data_dir / "dispatch-pickup.json")
    return DispatchViewModel(
        client=HttpDispatchClient(gateway=gateway),
        background=background,
        print_label=(lambda zpl, title: print_queue.submit(zpl, title=title))
        if print_queue is not None
        else None,
        remember_pickup=memory.save,
        resume_pickup_id=memory.load(),
    )


def make_returns_desk(
    settings: StationSettings,
    *,
    gateway: HttpGateway,
    background: Background,
    print_queue: PrintQueue | None,
) -> ReturnsDeskViewModel | None:
    """The returns desk's screen when this station is one (mode "returns"): condition cards and
    quarantine bin labels go to the label print queue; a unit's receipt is kept in the data dir
    until the server has it (sent again after a restart)."""
    if settings.mode != "returns":
        return None
    return ReturnsDeskViewModel(
        client=HttpReturnsClient(gateway=gateway),
        background=background,
        print_label=(lambda zpl, title: print_queue.submit(zpl, title=title))
        if print_queue is not None
        else None,
        outbox=ReturnsOutbox(path=settings.data_dir / "returns-outbox.sqlite3"),
    )


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


def _cards(args: argparse.Namespace) -> int:
    try:
        carriers = parse_carriers(args.carriers)
        count = write_card_sheets(path=args.cards, carriers=carriers, paper=args.paper)
    except ValueError as exc:
        raise SystemExit(f"cards not written: {exc}") from None
    print(f"{count} floor cards written to {args.cards}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packline-station")
    parser.add_argument("--server", help="server URL, e.g. http://10.0.0.5:8400")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--enrol", metavar="CODE", help="one-time enrolment code")
    parser.add_argument("--printer", help="tcp://host:9100 or cups://queue")
    parser.add_argument(
        "--document-printer", help="packing slips: cups://queue (or cups://queue?raw)"
    )
    parser.add_argument(
        "--no-shipping-labels",
        action="store_true",
        help="end at packed: this bench does not buy and scan carrier labels",
    )
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
        "--cards",
        metavar="PDF",
        type=Path,
        help="write printable sheets of the floor's command cards (box types, dispatch door, "
        "returns, reasons) to this PDF and exit",
    )
    parser.add_argument(
        "--carriers", metavar="LIST", help="with --cards: carriers shipped with, e.g. UPS,USPS,DHL"
    )
    parser.add_argument("--paper", choices=["a4", "letter"], default="a4", help="with --cards")
    parser.add_argument(
        "--configure-scanner",
        action="store_true",
        help="send the profile's configuration commands to the serial scanner "
        "(stored permanently) and exit",
    )
    parser.add_argument(
        "--mode",
        choices=["bench", "returns", "dispatch"],
        help="what this station is (default: PACKLINE_STATION_MODE, else bench)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.cards:
        return _cards(args)
    if args.setup_sheet or args.configure_scanner:
        return _tools(args)
    overrides = {
        k: v
        for k, v in {
            "server_url": args.server, "data_dir": args.data_dir, "printer": args.printer,
            "scanner_port": args.scanner_port, "scanner_profile": args.scanner_profile,
            "document_printer": args.document_printer,
        }.items()
        if v is not None
    }  # fmt: skip
    if args.mode:
        overrides["mode"] = args.mode
    settings = StationSettings(**overrides)
    token = _token(settings, args.enrol)
    barcodes: list[DemoBarcode] = []
    if args.demo_barcodes:
        items = json.loads(args.demo_barcodes.read_text(encoding="utf-8"))
        barcodes = [DemoBarcode(label=x["label"], text=x["text"]) for x in items]
    app = QApplication(sys.argv[:1])
    station = build(settings, token=token, virtual_scanner=args.virtual_scanner,
                    demo_barcodes=barcodes, document_printer=settings.document_printer,
                    shipping_labels=not args.no_shipping_labels)  # fmt: skip
    app.aboutToQuit.connect(station.stop)
    station.start()
    assert station.window is not None
    station.window.resize(1280, 800)
    station.window.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
