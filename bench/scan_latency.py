"""Scan latency: last byte written to a pseudo-terminal -> the pick view-model's verdict Signal.

The whole station path runs: the real SerialScanner (pyserial, its device thread, framing from
a firmware profile) on a pty, the Qt bridge's queued hop to the GUI thread, the PickSession on a
500-line order, the verdict Signal. Offscreen QApplication; no widgets attached.

Run from the repo root: .venv/bin/python bench/scan_latency.py [--scans 1000] [--lines 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tty
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from shared.barcodes.gtin import gtin_check_digit
from shared.contract.orders import TaskBarcodeOut, TaskLineOut, TaskOut, TaskPickOut
from station.devices.profiles import DEFAULT_PROFILE_DIR, load_profile
from station.devices.scanner import ScannerState
from station.devices.serial_scanner import SerialScanner
from station.ui.bridge import DeviceBridge
from station.ui.view_models.pick import PickViewModel
from station.work.pick import PickSession

PROFILE = "scanner-honeywell-xenon-1950g-usb_cdc.toml"
TARGET_P99_MS = 15.0


def gtin13(n: int) -> str:
    body = f"200{n:09d}"  # GS1 prefix 20-29: restricted circulation, never a real product
    return body + str(gtin_check_digit(body))


def build_task(*, lines: int, qty: int) -> TaskOut:
    return TaskOut(
        order_id=1,
        number="PL0000001",
        state="picking",
        ship_by=None,
        lines=[
            TaskLineOut(
                line_no=i + 1,
                sku=f"SKU-{i:04d}",
                name=f"Item {i}",
                qty=qty,
                weight_g=100,
                track_lot=False,
                track_serial=False,
                track_expiry=False,
                barcodes=[TaskBarcodeOut(value=gtin13(i), units=1, valid_to=None)],
                picks=[
                    TaskPickOut(
                        location=f"A-{i // 100:02d}-{i % 100:02d}", lot="", expiry=None, qty=qty
                    )
                ],
            )
            for i in range(lines)
        ],
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=500)
    args = parser.parse_args()
    qty = -(-args.scans // args.lines)  # enough units that every scan is a good one
    task = build_task(lines=args.lines, qty=qty)

    app = QApplication([])
    profile = load_profile(DEFAULT_PROFILE_DIR / PROFILE)
    terminator = profile.framing.terminator.encode("latin-1")
    master, slave = os.openpty()
    tty.setraw(master)
    port = os.ttyname(slave)
    os.close(slave)

    bridge = DeviceBridge()
    clock = lambda: datetime.now(UTC)  # noqa: E731
    journaled: list[object] = []
    vm = PickViewModel(session=PickSession(task, clock=clock), journal_append=journaled.append)
    bridge.scanned.connect(vm.handle_scan)

    loop = QEventLoop()
    arrived: list[tuple[int, str]] = []

    def on_verdict(kind: str, _words: str) -> None:
        arrived.append((time.perf_counter_ns(), kind))
        loop.quit()

    vm.verdict.connect(on_verdict)
    connected: list[bool] = []

    def on_status(status: object) -> None:
        if getattr(status, "state", None) is ScannerState.CONNECTED:
            connected.append(True)
            loop.quit()

    bridge.scanner_status.connect(on_status)
    driver = SerialScanner(profile=profile, port=port)
    driver.start(on_scan=bridge.on_scan, on_status=bridge.on_scanner_status)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(loop.quit)
    guard.start(10_000)
    loop.exec()
    if not connected:
        print("scanner did not connect", file=sys.stderr)
        return 1

    latencies_ms: list[float] = []
    kinds: dict[str, int] = {}
    try:
        for n in range(args.scans):
            frame = b"]E0" + gtin13(n % args.lines).encode() + terminator
            arrived.clear()
            os.write(master, frame)
            written_ns = time.perf_counter_ns()  # the write of the last byte has returned
            guard.start(5_000)
            if not arrived:
                loop.exec()
            if not arrived:
                print(f"scan {n}: no verdict within 5 s", file=sys.stderr)
                return 1
            done_ns, kind = arrived[0]
            kinds[kind] = kinds.get(kind, 0) + 1
            latencies_ms.append((done_ns - written_ns) / 1e6)
    finally:
        driver.stop()
        os.close(master)
    guard.stop()

    p50, p99 = percentile(latencies_ms, 0.50), percentile(latencies_ms, 0.99)
    print(f"scan latency, pty last byte -> PickViewModel.verdict ({PROFILE}, {args.lines} lines)")
    print(f"  scans {len(latencies_ms)}  verdicts {kinds}  events journaled {len(journaled)}")
    print(
        f"  p50 {p50:.3f} ms   p99 {p99:.3f} ms   max {max(latencies_ms):.3f} ms"
        f"   mean {statistics.fmean(latencies_ms):.3f} ms   (target p99 <= {TARGET_P99_MS} ms)"
    )
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
