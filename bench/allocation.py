"""Allocation throughput on PostgreSQL: raw SQL baseline vs the service layer vs HTTP.

Run from the repo root: .venv/bin/python bench/allocation.py [--duration 5] [--clients 32]
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psycopg
from _support import (
    RunResult,
    World,
    build_world,
    csv_orders,
    run_clients,
    scratch_pg,
    server_process,
    services_for,
)
from sqlalchemy import select

from server.bootstrap import Services
from server.db import tables as t
from server.domain.actor import SYSTEM

STOCK = 10_000_000
DONE = ("released", "allocated")


def baseline(
    dsn: str, *, stock_ids: list[int], line_id: int, clients: int, duration: float
) -> RunResult:
    conns: list[psycopg.Connection] = []

    def make(_: int):  # type: ignore[no-untyped-def]
        conn = psycopg.connect(dsn)
        conns.append(conn)
        rnd = random.Random()

        def work() -> bool:
            sid = stock_ids[0] if len(stock_ids) == 1 else rnd.choice(stock_ids)
            cur = conn.execute(
                "UPDATE stock_level SET reserved = reserved + 1 "
                "WHERE id = %s AND on_hand - reserved >= 1",
                (sid,),
            )
            if cur.rowcount != 1:
                conn.rollback()
                return False
            conn.execute(
                "INSERT INTO reservation (order_line_id, stock_level_id, qty, state, created_at) "
                "VALUES (%s, %s, 1, 'active', now())",
                (line_id, sid),
            )
            conn.commit()
            return True

        return work

    def close() -> None:
        for c in conns:
            c.close()

    return run_clients(threads=clients, duration=duration, make_worker=make, setup_close=close)


def create_orders(svc: Services, prefix: str, skus: list[str], n: int) -> list[int]:
    """Paid one-unit orders through the intake service (CSV door = intake.ingest_in in batches)."""
    rnd = random.Random(7)
    orders = [(f"{prefix}-{i}", [(rnd.choice(skus), 1)]) for i in range(n)]
    report = svc.csv_intake.import_orders(
        channel_code="shop", content=csv_orders(orders), actor=SYSTEM
    )
    states = collections.Counter(r.state for r in report.results)
    if states.get("accepted", 0) != n:
        raise RuntimeError(f"order setup: expected {n} accepted orders, got {dict(states)}")
    return [r.order_id for r in report.results]


def service(svc: Services, order_ids: list[int], *, clients: int, duration: float) -> RunResult:
    queue = collections.deque(order_ids)
    lock = threading.Lock()

    def make(_: int):  # type: ignore[no-untyped-def]
        def work() -> bool | None:
            with lock:
                if not queue:
                    return None
                oid = queue.popleft()
            out = svc.allocation.allocate(order_id=oid, actor=SYSTEM)
            return out.state.value in DONE

        return work

    r = run_clients(threads=clients, duration=duration, make_worker=make)
    if not queue:
        print("    NOTE: ran out of pre-created orders before the deadline")
    return r


def http(
    base: str, headers: dict[str, str], order_ids: list[int], *, clients: int, duration: float
) -> RunResult:
    queue = collections.deque(order_ids)
    lock = threading.Lock()
    sessions: list[httpx.Client] = []

    def make(_: int):  # type: ignore[no-untyped-def]
        c = httpx.Client(base_url=base, headers=headers, timeout=60)
        sessions.append(c)

        def work() -> bool | None:
            with lock:
                if not queue:
                    return None
                oid = queue.popleft()
            resp = c.post(f"/api/v1/orders/{oid}/allocate")
            return resp.status_code == 200 and resp.json().get("state") in DONE

        return work

    def close() -> None:
        for c in sessions:
            c.close()

    r = run_clients(threads=clients, duration=duration, make_worker=make, setup_close=close)
    if not queue:
        print("    NOTE: ran out of pre-created orders before the deadline")
    return r


def operator_headers(svc: Services) -> dict[str, str]:
    svc.identity.create_operator(
        name="Bench Supervisor", badge="BENCH-SUP-1", roles={"supervisor"}, actor=SYSTEM
    )
    code = svc.identity.issue_enrolment_code(station_name="bench", kind="pack", actor=SYSTEM)
    token, station = svc.identity.enrol(code=code)
    login = svc.identity.login(station_id=station.id, badge="BENCH-SUP-1", pin=None)
    return {"Authorization": f"Bearer {token}", "X-Operator-Token": login.token}


def reconcile(svc: Services) -> str:
    # A sanity figure: reserved units must equal the sum of active reservations.
    sl, r = t.stock_level, t.reservation
    with svc.db.reader.connect() as conn:
        reserved = conn.execute(select(sl.c.reserved)).scalars().all()
        active = conn.execute(select(r.c.qty).where(r.c.state == "active")).scalars().all()
    return f"reserved={sum(reserved)} active reservation units={sum(active)}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--orders", type=int, default=2000, help="pre-created orders per run")
    args = ap.parse_args()
    n_clients, dur = args.clients, args.duration
    print(f"allocation bench: PostgreSQL, {n_clients} clients, {dur:.0f} s per run")
    with scratch_pg() as url:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        svc = services_for(url)
        codes = ["HOT"] + [f"S{i:04d}" for i in range(1000)]
        world: World = build_world(svc, sku_codes=codes, stock=STOCK)
        headers = operator_headers(svc)
        # One throw-away order supplies the order line the raw baseline reservations point at.
        line_order = create_orders(svc, "line", ["HOT"], 1)[0]
        with svc.db.reader.connect() as conn:
            line_id = conn.execute(
                select(t.order_line.c.id).where(t.order_line.c.order_id == line_order)
            ).scalar_one()
        scenarios = {"1 hot SKU": ["HOT"], "1,000 SKUs": codes[1:]}
        prepared = {}
        for i, (name, skus) in enumerate(scenarios.items()):
            prepared[name] = (
                create_orders(svc, f"svc{i}", skus, args.orders),
                create_orders(svc, f"http{i}", skus, args.orders),
            )
        results: list[str] = []
        with server_process(url) as base:
            for name, skus in scenarios.items():
                svc_ids, http_ids = prepared[name]
                stock_ids = [world.stock_rows[s] for s in skus]
                b = baseline(dsn, stock_ids=stock_ids, line_id=line_id, clients=n_clients,
                             duration=dur)  # fmt: skip
                s = service(svc, svc_ids, clients=n_clients, duration=dur)
                h = http(base, headers, http_ids, clients=n_clients, duration=dur)
                results += [
                    f"[{name}]",
                    b.line("  baseline raw psycopg"),
                    s.line("  service allocate()", b.rate) + "  (target >= 0.50)",
                    h.line("  HTTP POST /allocate (uvicorn proc)", b.rate) + "  (target >= 0.25)",
                ]
                print("\n".join(results[-4:]), flush=True)
        print("check:", reconcile(svc))
        svc.close()


if __name__ == "__main__":
    main()
