"""CupsPrinter through a real CUPS raw queue into the loopback emulator.

Needs Debian `cups cups-bsd cups-client` (packaging/system-packages.sh). The fixture starts
cupsd when it is not running; if it cannot, the tests FAIL (never skip): a bench whose CUPS
path is untested is not a tested bench."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from station.devices.cups_printer import CupsPrinter, parse_lpstat
from station.devices.printer import Paused, PrinterOffline
from tests.fakes.printer_emulator import PrinterEmulator

# One queue per test process, so parallel runs on one machine never share a CUPS queue.
QUEUE = f"packline_test_{os.getpid()}"
ZPL = b"^XA^PW812^LL400^FO40,40^A0N,40,40^FDvia CUPS \xc4^FS^FO40,120^BCN,80^FDCUPS-1^FS^XZ\r\n"


def _scheduler_running() -> bool:
    done = subprocess.run(
        ["lpstat", "-r"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LANG": "C"},
    )
    return done.stdout.strip() == "scheduler is running"


@pytest.fixture(scope="module")
def cupsd() -> None:
    for tool in ("cupsd", "lpadmin", "lpstat", "lpr", "cupsenable", "cupsdisable"):
        if shutil.which(tool, path="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin") is None:
            pytest.fail(f"{tool} not found: apt-get install -y cups cups-bsd cups-client")
    if _scheduler_running():
        return
    started = subprocess.run(["/usr/sbin/cupsd"], capture_output=True, text=True, check=False)
    deadline = time.monotonic() + 20
    while not _scheduler_running():
        if time.monotonic() > deadline:
            pytest.fail(
                f"cupsd could not be started (exit {started.returncode}): "
                f"{started.stderr.strip() or started.stdout.strip()}"
            )
        time.sleep(0.2)


@pytest.fixture
def raw_queue(cupsd: None) -> Iterator[PrinterEmulator]:
    with PrinterEmulator() as emulator:
        subprocess.run(
            [
                "lpadmin",
                "-p",
                QUEUE,
                "-E",
                "-v",
                f"socket://127.0.0.1:{emulator.port}",
                "-m",
                "raw",
            ],
            check=True,
            capture_output=True,  # CUPS 2.4 warns that raw queues are deprecated; they still work
        )
        try:
            yield emulator
        finally:
            subprocess.run(["lpadmin", "-x", QUEUE], check=False, capture_output=True)


def test_zpl_arrives_byte_exact_through_the_cups_raw_queue(raw_queue: PrinterEmulator) -> None:
    printer = CupsPrinter(queue=QUEUE)
    assert printer.status().ready
    printer.send(ZPL)
    assert raw_queue.wait_for_jobs(1, timeout=60) == [ZPL]
    assert raw_queue.labels == [ZPL.rstrip(b"\r\n")]


def test_disabled_queue_is_paused_and_nothing_is_spooled(raw_queue: PrinterEmulator) -> None:
    subprocess.run(["cupsdisable", QUEUE], check=True, capture_output=True)
    printer = CupsPrinter(queue=QUEUE)
    assert printer.status().paused
    with pytest.raises(Paused, match="disabled") as info:
        printer.send(ZPL)
    assert not info.value.delivered
    jobs = subprocess.run(["lpstat", "-o", QUEUE], capture_output=True, text=True, check=False)
    assert jobs.stdout.strip() == ""


def test_unknown_queue_is_offline(cupsd: None) -> None:
    with pytest.raises(PrinterOffline, match="no_such_queue"):
        CupsPrinter(queue="no_such_queue").status()


def test_lpstat_parsing_of_cups_2_4_output() -> None:
    enabled = (
        "printer zq is idle.  enabled since Wed Nov 25 11:01:15 2026\n"
        "zq accepting requests since Wed Nov 25 11:01:15 2026\n"
    )
    assert parse_lpstat(queue="zq", output=enabled).ready
    disabled = "printer zq disabled since Wed Nov 25 11:01:11 2026 -\n\tPaused\n"
    status = parse_lpstat(queue="zq", output=disabled)
    assert status.paused and status.detail == "CUPS queue zq is disabled: Paused"
    rejecting = (
        "printer zq is idle.  enabled since Wed Nov 25 11:01:15 2026\n\tRejecting Jobs\n"
        "zq not accepting requests since Wed Nov 25 11:01:15 2026 -\n\tRejecting Jobs\n"
    )
    assert parse_lpstat(queue="zq", output=rejecting).paused
    with pytest.raises(PrinterOffline, match="no queue 'zq'"):
        parse_lpstat(queue="zq", output="printer zq2 is idle.\n")
