"""The packing-slip printer through a real CUPS raw queue into the loopback emulator, alone and
behind the persistent print queue (a slip is held while the queue is paused, never lost)."""

from __future__ import annotations

import io
import subprocess
import threading
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from station.app import make_document_printer
from station.devices.document_printer import CupsDocumentPrinter, FakeDocumentPrinter
from station.devices.print_queue import JobState, PrintQueue, QueueEvent, QueueEventKind
from station.devices.printer import Paused, PrinterOffline, PrinterState
from tests.fakes.printer_emulator import PrinterEmulator
from tests.station.devices.test_cups_printer import QUEUE, cupsd, raw_queue  # noqa: F401


def slip_pdf(text: str = "PL0000042 packing slip") -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return out.getvalue()


def test_a_pdf_arrives_byte_exact_through_the_cups_raw_queue(
    raw_queue: PrinterEmulator,  # noqa: F811
) -> None:
    pdf = slip_pdf()
    printer = CupsDocumentPrinter(queue=QUEUE, raw=True, title="PL0000042 slip")
    assert printer.status().ready
    printer.send(pdf)
    assert raw_queue.wait_for_jobs(1, timeout=60) == [pdf]
    assert raw_queue.labels == []  # a document, not a ZPL label


def test_a_paused_queue_holds_the_slip_in_the_print_queue_until_it_is_enabled(
    raw_queue: PrinterEmulator,  # noqa: F811
    tmp_path: Path,
) -> None:
    subprocess.run(["cupsdisable", QUEUE], check=True, capture_output=True)
    printer = CupsDocumentPrinter(queue=QUEUE, raw=True)
    with pytest.raises(Paused, match="disabled") as info:
        printer.send(slip_pdf())
    assert not info.value.delivered  # nothing went to CUPS: the print queue keeps it
    events: list[QueueEvent] = []
    held = threading.Event()

    def seen(event: QueueEvent) -> None:
        events.append(event)
        if event.kind is QueueEventKind.HELD:
            held.set()

    queue = PrintQueue(printer=printer, store=tmp_path / "docs.sqlite3", on_event=seen)
    queue.start()
    try:
        pdf = slip_pdf("PL0000043 packing slip")
        job = queue.submit(pdf, title="PL0000043 packing slip")
        assert held.wait(30)
        assert queue.job(job).state is JobState.PENDING
        assert any(e.printer_state is PrinterState.PAUSED for e in events)
        subprocess.run(["cupsenable", QUEUE], check=True, capture_output=True)
        queue.retry_now()
        assert raw_queue.wait_for_jobs(1, timeout=60) == [pdf]
    finally:
        queue.stop()
    assert queue_state(tmp_path / "docs.sqlite3", job) == "printed"


def queue_state(store: Path, job: int) -> str:
    import sqlite3

    with sqlite3.connect(store) as db:
        (state,) = db.execute("SELECT state FROM print_job WHERE id = ?", (job,)).fetchone()
    return str(state)


def test_an_unknown_queue_is_offline_and_nothing_is_sent(cupsd: None) -> None:  # noqa: F811
    with pytest.raises(PrinterOffline, match="no_such_slip_queue"):
        CupsDocumentPrinter(queue="no_such_slip_queue").send(slip_pdf())


def test_the_station_reads_its_document_printer_setting() -> None:
    driver = make_document_printer("cups://office")
    raw = make_document_printer("cups://slips?raw")
    assert isinstance(driver, CupsDocumentPrinter) and driver.queue == "office"
    assert isinstance(raw, CupsDocumentPrinter) and raw.queue == "slips"
    assert make_document_printer("") is None
    with pytest.raises(ValueError, match="use cups://queue"):
        make_document_printer("tcp://10.0.0.9:9100")


def test_the_fake_keeps_documents_and_its_faults() -> None:
    fake = FakeDocumentPrinter()
    fake.send(b"%PDF-1.4 one")
    fake.set_fault(PrinterState.PAPER_OUT)
    with pytest.raises(Exception, match="out of"):
        fake.send(b"%PDF-1.4 two")
    assert fake.documents == [b"%PDF-1.4 one"]
