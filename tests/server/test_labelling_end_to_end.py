"""A bench from the last unit to a labelled order, end to end: the real server (both databases)
buying from the Shippo fake on loopback, the real serial scanner code on a pseudo-terminal, the
printer emulator on loopback, the Qt view-models offscreen. Two boxes are packed; the server buys
two labels; the bench prints them; each printed label is rendered and decoded with zxing and the
decoded text is what the packer scans; the server ends with the order labelled. The packing slip
goes through a real CUPS raw queue to a second emulator and reads back (text and barcode)."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pypdfium2
import pytest
import zxingcpp
from PIL import Image
from pytestqt.qtbot import QtBot

from server.bootstrap import Services
from server.demo import CATALOG, PACKER_BADGE, seed
from station.app import build
from station.settings import StationSettings
from station.sync.client import enrol
from station.ui.view_models.bench import Screen
from station.ui.view_models.labelling import LabelPhase, LabelViewModel
from tests.fakes.printer_emulator import PrinterEmulator, render_png
from tests.fakes.shippo_server import FakeShippo
from tests.server.conftest import Clock
from tests.server.shipping_services import closing, running_shippo, services_with, shippo_account
from tests.server.test_bench_end_to_end import _number_of
from tests.station.devices.test_cups_printer import QUEUE, cupsd  # noqa: F401

SLIP_QUEUE = f"{QUEUE}_slips"

GTIN = {code: gtin for code, _n, _g, _d, _v, gtin, _c, _t in CATALOG}


@pytest.fixture
def shippo() -> Iterator[FakeShippo]:
    yield from running_shippo()


@pytest.fixture
def slip_printer(cupsd: None) -> Iterator[PrinterEmulator]:  # noqa: F811
    with PrinterEmulator() as emulator:
        subprocess.run(["lpadmin", "-p", SLIP_QUEUE, "-E", "-v",
                        f"socket://127.0.0.1:{emulator.port}", "-m", "raw"],
                       check=True, capture_output=True)  # fmt: skip
        try:
            yield emulator
        finally:
            subprocess.run(["lpadmin", "-x", SLIP_QUEUE], check=False, capture_output=True)


@pytest.fixture
def svc(db_url: str, clock: Clock, tmp_path: Path, shippo: FakeShippo) -> Iterator[Services]:
    yield from closing(services_with([shippo_account(shippo)], db_url=db_url, clock=clock,
                                     tmp_path=tmp_path, rate_deadline_s=10))  # fmt: skip


def test_pack_two_boxes_print_both_labels_scan_them_back_order_labelled(
    svc: Services,
    live_server: str,
    tmp_path: Path,
    qtbot: QtBot,
    shippo: FakeShippo,
    slip_printer: PrinterEmulator,
) -> None:
    info = seed(svc)
    order = svc.orders.get_by_number(number=_number_of(svc, "1001"))  # MUG-BLUE x2, SOCK-M x1
    token = enrol(base_url=live_server, code=info["enrolment_code"]).token
    with PrinterEmulator(host="127.0.0.1", port=0, out_dir=tmp_path / "labels") as printer:
        settings = StationSettings(server_url=live_server, data_dir=tmp_path / "station",
                                   printer=f"tcp://127.0.0.1:{printer.port}")  # fmt: skip
        station = build(settings, token=token, virtual_scanner=True, with_window=True,
                        shipping_labels=True,
                        document_printer=f"cups://{SLIP_QUEUE}?raw")  # fmt: skip
        assert station.virtual is not None and station.window is not None
        connected: list[object] = []
        station.bridge.scanner_status.connect(
            lambda st: connected.append(st) if st.state.value == "connected" else None
        )
        verdicts: list[tuple[str, str]] = []
        station.bench.verdict.connect(lambda kind, words: verdicts.append((kind, words)))
        station.start()
        qtbot.waitUntil(lambda: bool(connected), timeout=15_000)
        try:
            bench, scan = station.bench, station.virtual.write
            _pick_and_pack_in_two_boxes(bench, scan, order.number, qtbot)
            vm = bench.work
            assert isinstance(vm, LabelViewModel)
            qtbot.waitUntil(lambda: vm.phase is LabelPhase.SCANNING, timeout=60_000)
            # Two carton labels (one per closed box), then the two carrier labels.
            labels = printer.wait_for_labels(4, timeout=30)
            packages = svc.labels.packages(order_id=order.id)
            assert [p["package_no"] for p in packages] == [1, 2]
            printed = [_decode(label) for label in labels[2:]]
            assert printed == [[p["tracking_number"]] for p in packages]  # each scans back
            assert svc.orders.get(order_id=order.id).state == "packed"
            [slip] = slip_printer.wait_for_jobs(1, timeout=60)
            text, barcodes = _read_pdf(slip)
            assert order.number in barcodes
            assert all(p["tracking_number"] in text for p in packages)

            scan(f"{order.number}-1")  # the carton label: not the shipping label
            qtbot.waitUntil(
                lambda: "the carton label, not the shipping" in verdicts[-1][1], timeout=10_000
            )
            assert verdicts[-1][0] == "rejected" and bench.screen is Screen.PACK
            scan(printed[1][0])  # package 2's carton first
            qtbot.waitUntil(lambda: verdicts[-1] == ("accepted", "Package 2 labelled: scan the "
                                                     "label of package 1 of 2"),
                            timeout=10_000)  # fmt: skip
            scan(printed[0][0])
            qtbot.waitUntil(lambda: bench.screen is Screen.DONE, timeout=15_000)
            qtbot.waitUntil(lambda: svc.orders.get(order_id=order.id).state == "labelled",
                            timeout=30_000)  # fmt: skip
        finally:
            station.stop()
    after = svc.orders.get(order_id=order.id)
    scans = after.transitions[-1]["evidence"]["label_scan"]
    assert [s["tracking_number"] for s in scans] == [printed[1][0], printed[0][0]]
    assert after.transitions[-1]["station_id"] is not None
    assert {p["state"] for p in svc.labels.packages(order_id=order.id)} == {"labelled"}
    assert len(shippo.transactions) == 2  # bought once: one label per box
    assert svc.ledger.reconcile().clean


def _pick_and_pack_in_two_boxes(bench, scan, number: str, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    scan(PACKER_BADGE)
    qtbot.waitUntil(lambda: bench.screen is Screen.TASKS, timeout=15_000)
    scan(number)
    qtbot.waitUntil(lambda: bench.screen is Screen.PICK, timeout=15_000)
    for code in ("MUG-BLUE", "MUG-BLUE", "SOCK-M"):
        scan(GTIN[code])
    qtbot.waitUntil(lambda: bench.screen is Screen.PACK, timeout=15_000)
    for text in (number, GTIN["MUG-BLUE"], GTIN["MUG-BLUE"], "BOX-M"):
        scan(text)
        qtbot.wait(150)  # each scan is its own verdict, as at a real bench
    bench.enter()  # box 1 closed (no scale on this bench)
    for text in (GTIN["SOCK-M"], "BOX-S"):
        scan(text)
        qtbot.wait(150)
    bench.enter()  # box 2 closed: packed, the label step starts
    qtbot.waitUntil(lambda: type(bench.work).__name__ == "LabelViewModel", timeout=15_000)


def _read_pdf(pdf: bytes) -> tuple[str, list[str]]:
    """Every page's text and the barcodes read off a 200 dpi rendering."""
    text, codes = "", []
    for page in pypdfium2.PdfDocument(pdf):
        text += page.get_textpage().get_text_range()
        codes += [b.text for b in zxingcpp.read_barcodes(page.render(scale=200 / 72).to_pil())]
    return text, codes


def _decode(label: bytes) -> list[str]:
    image = Image.open(io.BytesIO(render_png(label)))
    return [d.text for d in zxingcpp.read_barcodes(image)]
