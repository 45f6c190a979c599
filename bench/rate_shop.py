"""Rate shopping against the three provider fakes on loopback, and ZPL label build + print.

Figures: (1) overhead = quote wall time minus the slowest provider that answered within the
deadline, with injected latencies 50 / 120 / 400 ms (target p50 <= 10 ms); (2) wall time when one
provider hangs (target: the deadline + <= 20 ms); (3) per-label time to build a carton label and
print it to the printer emulator over TCP 9100 (with the ~HS checks before and after).

    .venv/bin/python bench/rate_shop.py [--shops 40] [--deadline 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.carriers.zpl_image import image_to_zpl  # noqa: E402
from server.services.rate_shop import RateShopper  # noqa: E402
from shared.labels.carton import CartonLine, carton_label  # noqa: E402
from station.devices.tcp_printer import TcpPrinter  # noqa: E402
from tests.fakes.label_images import pdf_label, png_label  # noqa: E402
from tests.fakes.printer_emulator import PrinterEmulator  # noqa: E402
from tests.server.carriers.providers import REQUEST, three_providers  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shops", type=int, default=40)
    parser.add_argument("--deadline", type=float, default=1.0)
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--image-labels", type=int, default=40)
    args = parser.parse_args()
    with three_providers() as p:
        p.easypost.latency_s, p.shipstation.behaviour.latency_s, p.shippo.latency_s = (
            0.05,
            0.12,
            0.4,
        )
        shopper = RateShopper(carriers=p.carriers, deadline_s=args.deadline)
        shopper.shop(REQUEST)  # warm-up: connections, imports
        overhead, walls = [], []
        for _ in range(args.shops):
            r = shopper.shop(REQUEST)
            assert not r.failures, r.failures
            walls.append(r.wall_s)
            overhead.append(r.wall_s - max(r.answered_in_s.values()))
        print(f"rate shop, latencies 50/120/400 ms, {args.shops} shops, deadline {args.deadline} s")
        print(
            f"  wall       p50 {statistics.median(walls) * 1000:7.1f} ms   "
            f"p99 {pct(walls, 99) * 1000:7.1f} ms"
        )
        print(
            f"  overhead   p50 {statistics.median(overhead) * 1000:7.2f} ms   "
            f"p99 {pct(overhead, 99) * 1000:7.2f} ms   (target p50 <= 10 ms)"
        )
        p.shippo.hang = True
        hung = []
        for _ in range(max(5, args.shops // 4)):
            r = shopper.shop(REQUEST)
            assert any(f.provider == "shippo" for f in r.failures)
            hung.append(r.wall_s - args.deadline)
        p.shippo.release.set()
        shopper.close()
        print(
            f"  one provider hanging: wall - deadline  p50 {statistics.median(hung) * 1000:6.1f} ms"
            f"   max {max(hung) * 1000:6.1f} ms   (target <= 20 ms)"
        )
    with PrinterEmulator(host="127.0.0.1", port=0) as printer:  # no PNG rendering: time the print
        tcp = TcpPrinter(host="127.0.0.1", port=printer.port)
        lines = [CartonLine("MUG-BLUE", 2), CartonLine("SOCK-M", 1)]
        build, send = [], []
        for n in range(args.labels):
            t0 = time.perf_counter()
            zpl = carton_label(
                order_number=f"PL{n:07d}", box_no=1, box_type="BOX-M", lines=lines, weight_g=1320
            )
            t1 = time.perf_counter()
            tcp.send(zpl)
            t2 = time.perf_counter()
            build.append(t1 - t0)
            send.append(t2 - t1)
        printer.wait_for_labels(args.labels, timeout=30)
        print(
            f"ZPL carton label, {args.labels} labels: build p50 "
            f"{statistics.median(build) * 1e6:.0f} us; print to emulator (~HS before and "
            f"after) p50 {statistics.median(send) * 1000:.2f} ms, p99 {pct(send, 99) * 1000:.2f} ms"
        )
        # A provider that returns only an image: the PNG/PDF becomes ZPL before it is stored,
        # then prints like any other label.
        for fmt, make in (("PNG", lambda n: png_label(n, dpi=203, module_px=2)),
                          ("PDF", lambda n: pdf_label(n))):  # fmt: skip
            convert, send = [], []
            for n in range(args.image_labels):
                image = make(f"1Z999AA1{n:010d}")
                t0 = time.perf_counter()
                zpl = image_to_zpl(image, fmt)
                t1 = time.perf_counter()
                tcp.send(zpl)
                send.append(time.perf_counter() - t1)
                convert.append(t1 - t0)
            print(
                f"{fmt}-only carrier label (4x6 in, 203 dpi), {args.image_labels} labels: convert "
                f"to ZPL p50 {statistics.median(convert) * 1000:.1f} ms, p99 "
                f"{pct(convert, 99) * 1000:.1f} ms; print p50 "
                f"{statistics.median(send) * 1000:.2f} ms"
            )


if __name__ == "__main__":
    main()
