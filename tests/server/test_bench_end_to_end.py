"""A bench, end to end: the real server (both databases), the real serial scanner code on a
pseudo-terminal, the printer emulator on loopback, the Qt view-models offscreen. A packer badges
in, claims a demo order, picks and packs it by scanning; the server ends up with the order
packed, and the printed carton label scans back to the carton's id."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import zxingcpp
from PIL import Image
from pytestqt.qtbot import QtBot

from server.bootstrap import Services
from server.demo import CATALOG, PACKER_BADGE, seed
from station.app import build
from station.settings import StationSettings
from station.sync.client import enrol
from station.ui.view_models.bench import Screen
from tests.fakes.printer_emulator import PrinterEmulator, render_png

GTIN = {code: gtin for code, _n, _g, _d, _v, gtin, _c, _t in CATALOG}


def test_pick_and_pack_a_demo_order_from_the_bench(
    svc: Services, live_server: str, tmp_path: Path, qtbot: QtBot
) -> None:
    info = seed(svc)
    order = svc.orders.get_by_number(number=_number_of(svc, "1001"))  # MUG-BLUE x2, SOCK-M x1
    assert order.state == "released"
    token = enrol(base_url=live_server, code=info["enrolment_code"]).token
    with PrinterEmulator(host="127.0.0.1", port=0, out_dir=tmp_path / "labels") as printer:
        settings = StationSettings(server_url=live_server, data_dir=tmp_path / "station",
                                   printer=f"tcp://127.0.0.1:{printer.port}")  # fmt: skip
        station = build(settings, token=token, virtual_scanner=True, with_window=True)
        assert station.virtual is not None and station.window is not None
        connected: list[object] = []
        station.bridge.scanner_status.connect(
            lambda st: connected.append(st) if st.state.value == "connected" else None
        )
        station.start()
        # Like a real scanner, nothing can be read before the bench has opened the port.
        qtbot.waitUntil(lambda: bool(connected), timeout=15_000)
        try:
            _run_the_bench(station, order.number, qtbot)
            qtbot.waitUntil(lambda: svc.orders.get(order_id=order.id).state == "packed",
                            timeout=30_000)  # fmt: skip
            [label] = printer.wait_for_labels(1, timeout=20)
        finally:
            station.stop()
    assert order.number.encode() in label
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(render_png(label))))
    assert f"{order.number}-1" in [d.text for d in decoded]
    after = svc.orders.get(order_id=order.id)
    kinds = [t["to"] for t in after.transitions]
    assert kinds[-4:] == ["picking", "picked", "packing", "packed"]
    assert after.transitions[-3]["station_id"] is not None  # the bench is on the record
    assert svc.ledger.reconcile().clean


def _run_the_bench(station, number: str, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    bench, scan = station.bench, station.virtual.write
    scan(PACKER_BADGE)
    qtbot.waitUntil(lambda: bench.screen is Screen.TASKS, timeout=15_000)
    scan(number)  # scanning the order number claims it
    qtbot.waitUntil(lambda: bench.screen is Screen.PICK, timeout=15_000)
    verdicts: list[tuple[str, str]] = []
    bench.verdict.connect(lambda kind, words: verdicts.append((kind, words)))
    scan("4000000000006")  # not on the order: refused, never counted
    qtbot.waitUntil(lambda: bool(verdicts), timeout=10_000)
    assert verdicts[-1][0] == "rejected"
    for code in ("MUG-BLUE", "MUG-BLUE", "SOCK-M"):
        scan(GTIN[code])
    qtbot.waitUntil(lambda: bench.screen is Screen.PACK, timeout=15_000)
    for text in (number, GTIN["MUG-BLUE"], GTIN["MUG-BLUE"], GTIN["SOCK-M"], "BOX-M"):
        scan(text)
        qtbot.wait(150)  # each scan is its own verdict, as at a real bench
    bench.enter()  # close the box (no scale on this bench)
    qtbot.waitUntil(lambda: bench.screen is Screen.DONE, timeout=15_000)


def _number_of(svc: Services, external_id: str) -> str:
    from sqlalchemy import select

    from server.db import tables as t

    so = t.sales_order
    return str(svc.uow.read(lambda c: c.execute(
        select(so.c.number).where(so.c.external_id == external_id)).scalar_one()))  # fmt: skip


def test_reprint_last_sends_the_same_label_again(tmp_path: Path) -> None:
    from station.app import reprint_last
    from station.devices.print_queue import JobState, PrintQueue
    from station.devices.tcp_printer import TcpPrinter

    with PrinterEmulator(host="127.0.0.1", port=0, out_dir=tmp_path / "labels") as printer:
        queue = PrintQueue(printer=TcpPrinter(host="127.0.0.1", port=printer.port),
                           store=tmp_path / "q.sqlite3", on_event=lambda e: None)  # fmt: skip
        queue.start()
        try:
            assert reprint_last(queue) is None  # nothing printed yet: nothing to repeat
            queue.submit(b"^XA^FO50,50^A0N,40,40^FDcarton 1^FS^XZ", title="one")
            printer.wait_for_labels(1)
            # The queue records "printed" only after the printer's status check that follows
            # the job, a moment after the emulator has the bytes.
            deadline = time.monotonic() + 10
            while not queue.jobs(state=JobState.PRINTED) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert reprint_last(queue) is not None
            labels = printer.wait_for_labels(2)
        finally:
            queue.stop()
    assert labels[0] == labels[1]
