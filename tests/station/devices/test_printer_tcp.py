"""TcpPrinter against the loopback emulator: real sockets, real `~HS` bytes."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from station.devices.printer import HeadOpen, PaperOut, Paused, PrinterOffline, PrinterState
from station.devices.tcp_printer import TcpPrinter
from tests.fakes.printer_emulator import PrinterEmulator, render_png

LABEL = b"^XA^PW812^LL400^FO40,40^A0N,40,40^FDPackline test^FS^XZ"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[PrinterEmulator]:
    with PrinterEmulator(out_dir=tmp_path / "labels") as emu:
        yield emu


def printer_for(emu: PrinterEmulator, *, timeout: float = 5.0) -> TcpPrinter:
    return TcpPrinter(host="127.0.0.1", port=emu.port, timeout=timeout)


def test_status_of_a_healthy_printer(emulator: PrinterEmulator) -> None:
    status = printer_for(emulator).status()
    assert status.ready
    assert status.label_length_dots == 1218
    assert emulator.status_queries == 1


@pytest.mark.parametrize(
    ("fault", "state"),
    [
        ({"paper_out": True}, PrinterState.PAPER_OUT),
        ({"head_open": True}, PrinterState.HEAD_OPEN),
        ({"paused": True}, PrinterState.PAUSED),
    ],
)
def test_status_reports_each_fault(
    emulator: PrinterEmulator, fault: dict[str, bool], state: PrinterState
) -> None:
    emulator.set_fault(**fault)
    assert printer_for(emulator).status().state is state


def test_send_checks_status_before_and_after_and_delivers_byte_exact(
    emulator: PrinterEmulator,
) -> None:
    printer_for(emulator).send(LABEL)
    assert emulator.wait_for_labels(1) == [LABEL]
    assert emulator.status_queries == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [({"paper_out": True}, PaperOut), ({"head_open": True}, HeadOpen), ({"paused": True}, Paused)],
)
def test_send_refuses_while_faulted_and_sends_nothing(
    emulator: PrinterEmulator, fault: dict[str, bool], error: type[Exception]
) -> None:
    emulator.set_fault(**fault)
    with pytest.raises(error) as info:
        printer_for(emulator).send(LABEL)
    assert not getattr(info.value, "delivered", True)
    assert emulator.labels == []


def test_silent_printer_is_offline(emulator: PrinterEmulator) -> None:
    emulator.set_fault(silent=True)
    with pytest.raises(PrinterOffline, match="did not answer ~HS"):
        printer_for(emulator, timeout=0.5).send(LABEL)
    assert emulator.labels == []


def test_firmware_that_mutes_status_on_head_open_reads_as_offline(
    emulator: PrinterEmulator,
) -> None:
    emulator.mute_status_on_error = True
    emulator.set_fault(head_open=True)
    with pytest.raises(PrinterOffline):
        printer_for(emulator, timeout=0.5).status()


def test_refused_connection_is_offline_and_recovers_on_the_same_port(
    emulator: PrinterEmulator,
) -> None:
    port = emulator.port
    emulator.refuse_connections(True)
    with pytest.raises(PrinterOffline, match="cannot connect"):
        printer_for(emulator).status()
    emulator.refuse_connections(False)
    assert emulator.port == port
    assert printer_for(emulator).status().ready


def test_nothing_listening_is_offline() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PrinterOffline):
        TcpPrinter(host="127.0.0.1", port=port, timeout=1.0).status()


def test_emulator_splits_labels_across_packets_and_jobs(emulator: PrinterEmulator) -> None:
    second = b"^xa^FO10,10^FDlower case commands^FS^xz"
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
        for piece in (LABEL[:2], LABEL[2:17], LABEL[17:-1], LABEL[-1:] + b"\r\n" + second):
            sock.sendall(piece)
    assert emulator.wait_for_labels(2) == [LABEL, second]
    assert emulator.wait_for_jobs(1) == [LABEL + b"\r\n" + second]


def test_rendered_label_decodes_back_to_its_code128_text(emulator: PrinterEmulator) -> None:
    text = "PKL-000042"
    label = b"^XA^PW812^LL400^FO60,60^BY3^BCN,150,Y,N,N^FD" + text.encode() + b"^FS^XZ"
    printer_for(emulator).send(label)
    (received,) = emulator.wait_for_labels(1)
    image = Image.open(io.BytesIO(render_png(received)))
    codes = zxingcpp.read_barcodes(image)
    assert [(c.text, c.format) for c in codes] == [(text, zxingcpp.BarcodeFormat.Code128)]
    assert codes[0].symbology_identifier == "]C0"


def test_emulator_writes_zpl_and_png_for_a_person(
    emulator: PrinterEmulator, tmp_path: Path
) -> None:
    printer_for(emulator).send(LABEL)
    emulator.wait_for_labels(1)
    folder = tmp_path / "labels"
    assert (folder / "label-0001.zpl").read_bytes() == LABEL
    png = (folder / "label-0001.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(png)).size == (812, 400)
