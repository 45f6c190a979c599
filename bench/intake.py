"""Order intake: CSV import of 10,000 orders (PostgreSQL and SQLite) and Shopify webhooks over HTTP.

Run from the repo root: .venv/bin/python bench/intake.py [--orders 10000] [--webhooks 2000]
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from _support import (
    RunResult,
    build_world,
    csv_orders,
    run_clients,
    scratch_pg,
    scratch_sqlite,
    server_process,
    services_for,
)

from server.channels.shopify import sign
from server.domain.actor import SYSTEM

SECRET = "s3cret"
SKUS = [f"S{i:04d}" for i in range(200)]


def csv_content(n: int) -> str:
    rnd = random.Random(11)
    orders = [
        (f"csv-{i}", [(s, rnd.randint(1, 3)) for s in rnd.sample(SKUS, rnd.randint(1, 3))])
        for i in range(n)
    ]
    return csv_orders(orders)


def csv_run(url: str, label: str, n: int, profile: bool) -> None:
    svc = services_for(url)
    build_world(svc, sku_codes=SKUS, stock=0, secret=SECRET)
    content = csv_content(n)
    rows = content.count("\n") - 1
    t0 = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        report = prof.runcall(
            svc.csv_intake.import_orders, channel_code="shop", content=content, actor=SYSTEM
        )
    else:
        report = svc.csv_intake.import_orders(channel_code="shop", content=content, actor=SYSTEM)
    wall = time.perf_counter() - t0
    states = dict(collections.Counter(r.state for r in report.results))
    print(
        f"CSV import {label:<10} {n} orders / {rows} rows: {wall:6.2f} s wall "
        f"({n / wall:7.1f} orders/s)  created={report.created} failed_rows="
        f"{len(report.failed_rows)} states={states}  (target <= 10 s)",
        flush=True,
    )
    if profile:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    svc.close()


def shopify_body(i: int) -> bytes:
    rnd = random.Random(i)
    items = [
        {"id": j, "sku": s, "quantity": rnd.randint(1, 2), "price": "9.95", "title": s}
        for j, s in enumerate(rnd.sample(SKUS[:50], rnd.randint(1, 3)))
    ]
    return json.dumps({
        "id": 9_000_000 + i, "email": "jan@example.com", "financial_status": "paid",
        "total_price": "29.85", "currency": "EUR", "line_items": items,
        "shipping_address": {"name": "Jan de Vries", "address1": "Damrak 1", "city": "Amsterdam",
                             "zip": "1012 LG", "country_code": "NL", "phone": "+31 20 1234567"},
    }).encode()  # fmt: skip


def webhook_run(n: int, clients: int) -> None:
    with scratch_pg("w") as url:
        svc = services_for(url)
        build_world(svc, sku_codes=SKUS[:50], stock=1_000_000, secret=SECRET)
        bodies = [shopify_body(i) for i in range(n)]
        deliveries = collections.deque(
            (body, {"X-Shopify-Hmac-Sha256": sign(body, SECRET), "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Event-Id": f"evt-{i}", "Content-Type": "application/json"})
            for i, body in enumerate(bodies)
        )  # fmt: skip
        lock = threading.Lock()
        codes: collections.Counter[int] = collections.Counter()
        states: collections.Counter[str] = collections.Counter()
        clients_made: list[httpx.Client] = []
        with server_process(url) as base:

            def make(_: int):  # type: ignore[no-untyped-def]
                c = httpx.Client(base_url=base, timeout=60)
                clients_made.append(c)

                def work() -> bool | None:
                    with lock:
                        if not deliveries:
                            return None
                        body, headers = deliveries.popleft()
                    resp = c.post("/api/v1/channels/shop/shopify/webhooks", content=body,
                                  headers=headers)  # fmt: skip
                    with lock:
                        codes[resp.status_code] += 1
                        if resp.status_code < 300:
                            states[resp.json().get("state")] += 1
                    return resp.status_code == 201

                return work

            r: RunResult = run_clients(threads=clients, duration=600, make_worker=make)
            for c in clients_made:
                c.close()
        print(r.line(f"webhooks orders/create x{n}, {clients} thr") + "  (rate = orders created/s)")
        print(f"    HTTP codes {dict(codes)}  order states {dict(states)}")
        svc.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--webhooks", type=int, default=2_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--profile", action="store_true", help="cProfile the CSV imports")
    ap.add_argument("--only", choices=["pg", "sqlite", "webhooks"], action="append")
    args = ap.parse_args()
    only = set(args.only or ["pg", "sqlite", "webhooks"])
    if "pg" in only:
        with scratch_pg() as url:
            csv_run(url, "PostgreSQL", args.orders, args.profile)
    if "sqlite" in only:
        with scratch_sqlite() as url:
            csv_run(url, "SQLite", args.orders, args.profile)
    if "webhooks" in only:
        webhook_run(args.webhooks, args.clients)


if __name__ == "__main__":
    main()
