"""Shared plumbing for the benchmarks: scratch databases, a world, a server process, timing."""

from __future__ import annotations

import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from server.bootstrap import Services, build_services  # noqa: E402
from server.db.migrate import upgrade  # noqa: E402
from server.domain.actor import SYSTEM  # noqa: E402
from server.services.catalog import SkuSpec  # noqa: E402
from server.settings import ServerSettings  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
CSV_HEADER = "order_id,sku,quantity,unit_price,name,address1,city,postcode,country,phone,email,paid"


@contextmanager
def scratch_pg(tag: str = "") -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards; yields the SQLAlchemy URL."""
    name = f"bench_{os.getpid()}{tag}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def scratch_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench_") as d:
        url = f"sqlite:///{Path(d) / 'bench.sqlite3'}"
        upgrade(url)
        yield url


def services_for(url: str) -> Services:
    data = Path(tempfile.mkdtemp(prefix="bench_data_"))
    return build_services(ServerSettings(data_dir=data, database_url=url, home_country="NL"))


@dataclass
class World:
    warehouse_id: int
    bin_id: int
    skus: dict[str, int]
    stock_rows: dict[str, int]


def build_world(
    svc: Services, *, sku_codes: list[str], stock: int, secret: str = "s3cret"
) -> World:
    wid = svc.catalog.create_warehouse(
        code="AMS", name="Amsterdam", country="NL", postcode="1012 AB",
        latitude=52.37, longitude=4.89, actor=SYSTEM,
    )  # fmt: skip
    bin_id = svc.catalog.create_location(warehouse_id=wid, code="A-01", actor=SYSTEM)
    skus: dict[str, int] = {}
    rows: dict[str, int] = {}
    for code in sku_codes:
        skus[code] = svc.catalog.upsert_sku(
            spec=SkuSpec(code=code, name=code, weight_g=100, length_mm=10, width_mm=10,
                         height_mm=10, unit_value=Decimal("5")),
            actor=SYSTEM,
        )  # fmt: skip
        if stock:
            rows[code] = svc.ledger.receive(
                sku_id=skus[code], location_id=bin_id, qty=stock, actor=SYSTEM
            )
    svc.orders.create_channel(
        code="shop", kind="shopify", name="Shop", webhook_secret=secret, actor=SYSTEM
    )
    return World(wid, bin_id, skus, rows)


def csv_orders(orders: list[tuple[str, list[tuple[str, int]]]]) -> str:
    out = [CSV_HEADER]
    for ext, lines in orders:
        for sku, qty in lines:
            out.append(
                f"{ext},{sku},{qty},1.00,Jan de Vries,Damrak 1,Amsterdam,1012 LG,NL,"
                f"+31 20 1234567,jan@example.com,yes"
            )
    return "\n".join(out) + "\n"


# ----- timing ---------------------------------------------------------------------------------


@dataclass
class RunResult:
    ok: int
    failed: int
    elapsed: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000

    def line(self, label: str, base: float | None = None) -> str:
        ratio = f"  ratio {self.rate / base:5.2f}" if base else ""
        return (
            f"{label:<34} {self.rate:9.1f} /s{ratio}  ok={self.ok} failed={self.failed} "
            f"in {self.elapsed:.2f}s  p50={self.pct(50):.1f}ms p99={self.pct(99):.1f}ms "
            f"mean={statistics.fmean(self.latencies) * 1000 if self.latencies else 0:.1f}ms"
        )


def run_clients(
    *,
    threads: int,
    duration: float,
    make_worker: Callable[[int], Callable[[], bool | None]],
    setup_close: Callable[[], None] | None = None,
) -> RunResult:
    """Each thread calls its worker in a loop until the deadline; the worker returns True (ok),
    False (failed) or None (no more work). Workers are built before the clock starts."""
    workers = [make_worker(i) for i in range(threads)]
    lock = threading.Lock()
    oks, fails, lats = [0], [0], []  # type: ignore[var-annotated]
    start_gate = threading.Barrier(threads + 1)
    ends: list[float] = []

    def loop(work: Callable[[], bool | None]) -> None:
        ok = fail = 0
        mine: list[float] = []
        start_gate.wait()
        deadline = time.perf_counter() + duration
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline:
                break
            try:
                r = work()
            except Exception as exc:  # a failure is counted, not fatal to the run
                r = False
                if fail < 3:
                    print(f"    worker error: {type(exc).__name__}: {str(exc)[:160]}")
            if r is None:
                break
            mine.append(time.perf_counter() - t0)
            if r:
                ok += 1
            else:
                fail += 1
        with lock:
            oks[0] += ok
            fails[0] += fail
            lats.extend(mine)
            ends.append(time.perf_counter())

    ts = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for t in ts:
        t.start()
    start_gate.wait()
    t_start = time.perf_counter()
    for t in ts:
        t.join()
    elapsed = max(ends) - t_start
    if setup_close:
        setup_close()
    return RunResult(oks[0], fails[0], elapsed, lats)


# ----- the server in its own process ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int) -> None:
    import logging

    import uvicorn

    from server.main import create_app

    logging.disable(logging.WARNING)  # refused requests would flood the figures
    services = services_for(url)
    uvicorn.run(create_app(services), host="127.0.0.1", port=port, log_level="error",
                access_log=False)  # fmt: skip


@contextmanager
def server_process(url: str) -> Iterator[str]:
    """uvicorn in a spawned process, so the client threads do not share its GIL."""
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_serve, args=(url, port), daemon=True)
    proc.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not proc.is_alive():
            proc.terminate()
            raise RuntimeError("the server process did not start")
        time.sleep(0.1)
    try:
        yield base
    finally:
        proc.terminate()
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
