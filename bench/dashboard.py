"""Dashboard queries at scale on PostgreSQL: 1,000,000 orders and 10,000,000 stock movements.

Run from the repo root: .venv/bin/python bench/dashboard.py [--runs 30] [--reseed] [--drop]

The database is seeded once with INSERT ... SELECT generate_series and kept between runs under a
name that carries the seed version and the schema head, so a second run goes straight to the
timings (--reseed builds it again, --drop removes it and exits). Each figure group is timed
through DashboardService (the path the API takes: transaction, SQL, pydantic) >= --runs times
after one warm-up; then the same SQL runs on one connection inside a transaction that has dropped
migration 0008's indexes (rolled back afterwards) as the baseline. Target: p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from _support import PG_ADMIN, services_for
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from server.db import dashboard_benches as bench_q
from server.db import dashboard_queries as q
from server.db import dashboard_spend as spend_q
from server.db.migrate import alembic_config, upgrade
from server.services.dashboard import DashboardService, SettledSpend
from server.services.exceptions import ACTIONS

SEED_VERSION = 3
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ORDERS = 1_000_000
MOVEMENTS = 10_000_000
STATION_EVENTS = 2_000_000
SKUS = 5_000
STATIONS = 50
TARGET_MS = 100.0
INDEXES_0008 = (
    "ix_sales_order_open_ship_by",
    "ix_order_exception_open",
    "ix_station_event_occurred",
)

# The newest 40,000 orders are still moving; the rest were delivered (or cancelled) long ago.
OPEN_MIX = (
    ("received", 1_000),
    ("accepted", 1_000),
    ("on_hold", 3_000),
    ("backordered", 2_000),
    ("preorder", 1_000),
    ("allocated", 3_000),
    ("released", 4_000),
    ("picking", 2_000),
    ("picked", 2_000),
    ("packing", 1_500),
    ("packed", 2_000),
    ("labelled", 3_000),
    ("handed_over", 3_500),
    ("shipped", 11_000),
)
EXCEPTION_KINDS = (
    "stock_conflict",
    "unmapped_sku",
    "missing_phone",
    "invalid_address",
    "payment_not_captured",
)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or "none"


def db_name() -> str:
    return f"bench_dashboard_s{SEED_VERSION}_r{head_revision()}"


def _state_case() -> str:
    """SQL CASE giving each order id its state: the open mix over the newest ids."""
    parts, upto = [], ORDERS - sum(n for _, n in OPEN_MIX)
    cancelled_below = upto - 20_000
    for state, n in OPEN_MIX:
        upto += n
        parts.append(f"WHEN g <= {upto} THEN '{state}'")
    return (
        f"CASE WHEN g <= {cancelled_below} THEN 'delivered' "
        f"WHEN g <= {ORDERS - sum(n for _, n in OPEN_MIX)} THEN 'cancelled' "
        + " ".join(parts)
        + " END"
    )


def seed_steps(now: str) -> list[tuple[str, str]]:
    open_from = ORDERS - sum(n for _, n in OPEN_MIX)
    # The open orders arrived in the last two days; the delivered and cancelled ones over the
    # two years before that, about 1,300 a day.
    created = (
        f"CASE WHEN g > {open_from} THEN {now} - ({ORDERS} - g) * interval '4 second' "
        f"ELSE {now} - interval '2 day' - ({open_from} - g) * interval '67 second' END"
    )
    return [
        (
            "catalog, benches, channel",
            f"""
INSERT INTO warehouse (id, code, name, country, postcode, created_at)
  VALUES (1, 'AMS', 'Amsterdam', 'NL', '1012 AB', {now});
INSERT INTO location (id, warehouse_id, code, kind, sellable)
  SELECT g, 1, 'A-' || g, 'bin', true FROM generate_series(1, 200) g;
INSERT INTO location (id, warehouse_id, code, kind, sellable) VALUES
  (201, 1, 'RECEIVING', 'receiving', false), (202, 1, 'SHIPPED', 'shipped', false),
  (203, 1, 'QUARANTINE', 'quarantine', false);
INSERT INTO sku (id, code, name, weight_g, length_mm, width_mm, height_mm, track_lot,
                 track_serial, track_expiry, unit_value, currency, created_at, updated_at)
  SELECT g, 'SKU-' || g, 'Item ' || g, 100 + g % 900, 100, 100, 50, false, false, false,
         5 + g % 50, 'EUR', {now}, {now} FROM generate_series(1, {SKUS}) g;
INSERT INTO stock_level (location_id, sku_id, lot, on_hand, reserved, received_at)
  SELECT 1 + (g * 7 + b) % 200, g, '', 40 + g % 60, g % 10, {now}
  FROM generate_series(1, {SKUS}) g, generate_series(0, 1) b;
INSERT INTO channel (id, code, kind, name, created_at) VALUES (1, 'shop', 'shopify', 'Shop', {now});
INSERT INTO operator (id, name, badge_hash, roles, created_at)
  VALUES (1, 'Sue', 'badge-sue', 'supervisor', {now});
INSERT INTO station (id, name, kind, token_hash, enrolled_at, active)
  SELECT g, 'bench-' || lpad(g::text, 2, '0'), 'bench', 'token-' || g, {now}, true
  FROM generate_series(1, {STATIONS}) g;
INSERT INTO station_health (station_id, scanner, scanner_words, printer, printer_words, queued,
                            rejected, last_seen_at, changed_at)
  SELECT g, CASE WHEN g % 17 = 0 THEN 'bad' ELSE 'ok' END, '', CASE WHEN g % 13 = 0 THEN 'bad'
         ELSE 'ok' END, '', g % 3, 0,
         {now} - CASE WHEN g % 10 = 0 THEN interval '1 hour' ELSE interval '5 second' END, {now}
  FROM generate_series(1, {STATIONS}) g;
""",
        ),
        (
            f"{ORDERS:,} orders",
            f"""
INSERT INTO sales_order (id, number, channel_id, external_id, state, payment_captured, ship_by,
                         warehouse_id, created_at, updated_at)
  SELECT g, 'PL' || lpad(g::text, 9, '0'), 1, 'ext-' || g, {_state_case()}, true,
         c + (20 + g % 52) * interval '1 hour', 1, c, c
  FROM (SELECT g, {created} AS c FROM generate_series(1, {ORDERS}) g) s;
""",
        ),
        (
            "order lines (1-3 per order)",
            f"""
INSERT INTO order_line (order_id, line_no, listing_sku, sku_id, qty, unit_price)
  SELECT g, n, CASE WHEN g % 997 = 0 AND n = 1 THEN 'UNMAPPED-' || g % 50 ELSE 'SKU-' || s END,
         CASE WHEN g % 997 = 0 AND n = 1 THEN NULL ELSE s END, 1 + (g + n) % 4, 9.95
  FROM generate_series(1, {ORDERS}) g, generate_series(1, 3) n,
       LATERAL (SELECT 1 + (g * 31 + n * 17) % {SKUS} AS s) k
  WHERE n <= 1 + g % 3;
""",
        ),
        (
            "exceptions (open and long resolved)",
            f"""
INSERT INTO order_exception (order_id, kind, reason, detail, state, created_at, resolved_at)
  SELECT so.id, (ARRAY{list(EXCEPTION_KINDS)})[1 + so.id % {len(EXCEPTION_KINDS)}],
         'held for a reason', '{{}}', 'open', so.created_at, NULL
  FROM sales_order so WHERE so.state = 'on_hold';
INSERT INTO order_exception (order_id, kind, reason, detail, state, created_at, resolved_at)
  SELECT g, (ARRAY{list(EXCEPTION_KINDS)})[1 + g % {len(EXCEPTION_KINDS)}], 'was held', '{{}}',
         'resolved', {now} - g * interval '10 minute', {now} - g * interval '9 minute'
  FROM generate_series(1, 60000) g;
""",
        ),
        (
            "shipments, quotes, packages",
            f"""
INSERT INTO shipment (id, order_id, state, chosen_quote_id, cost_amount, cost_currency,
                      purchased_at, created_at, updated_at)
  SELECT so.id, so.id, 'purchased', so.id, 3.50 + (so.id % 1000) / 100.0,
         CASE WHEN so.id % 10 = 0 THEN 'USD' ELSE 'EUR' END,
         LEAST(so.created_at + interval '20 hour', {now} - interval '1 minute'),
         so.created_at, so.created_at
  FROM sales_order so WHERE so.state IN ('labelled', 'handed_over', 'shipped', 'delivered');
INSERT INTO rate_quote (id, shipment_id, shop_no, provider, account, carrier, service, amount,
                        currency, rate_id, created_at)
  SELECT id, id, 1, 'easypost', 'ep', (ARRAY['DHL','UPS','PostNL','DPD'])[1 + id % 4],
         'Parcel', cost_amount, cost_currency, 'rate-' || id, created_at FROM shipment;
INSERT INTO shipment_package (shipment_id, package_no, provider, account, carrier, service,
                              tracking_number, label_id, state, handed_over_at, created_at,
                              updated_at)
  SELECT sh.id, 1, 'easypost', 'ep', 'DHL', 'Parcel', 'TRK' || sh.id, 'L' || sh.id,
         CASE so.state WHEN 'labelled' THEN 'labelled' WHEN 'handed_over' THEN 'handed_over'
              WHEN 'shipped' THEN 'in_transit' ELSE 'delivered' END,
         CASE WHEN so.state <> 'labelled' THEN sh.purchased_at + interval '1 hour' END,
         sh.purchased_at, sh.purchased_at
  FROM shipment sh JOIN sales_order so ON so.id = sh.order_id;
INSERT INTO order_exception (order_id, kind, reason, detail, state, dedup_key, created_at)
  SELECT pk.shipment_id, 'custody', 'no carrier scan 26 h after handover',
         json_build_object('package_id', pk.id, 'tracking_number', pk.tracking_number),
         'open', 'custody:' || pk.id, {now}
  FROM shipment_package pk WHERE pk.state = 'handed_over' AND pk.id % 12 = 0;
""",
        ),
        (
            f"{STATION_EVENTS:,} station events",
            f"""
INSERT INTO station_event (station_id, key, kind, order_id, status, detail, payload,
                           request_hash, occurred_at, created_at)
  SELECT 1 + g % {STATIONS}, 'k' || g,
         CASE WHEN g % 20 = 0 THEN 'scan_rejected' WHEN g % 20 = 1 THEN 'override'
              WHEN g % 20 < 11 THEN 'unit_picked' ELSE 'unit_packed' END,
         {ORDERS} - g % 40000, 'applied', 'recorded',
         json_build_object('line_no', 1, 'barcode', 'X', 'units', 1 + g % 3), 'h',
         {now} - ({STATION_EVENTS} - g) * interval '1300 millisecond',
         {now} - ({STATION_EVENTS} - g) * interval '1300 millisecond'
  FROM generate_series(1, {STATION_EVENTS}) g;
""",
        ),
        (
            f"{MOVEMENTS:,} stock movements",
            f"""
INSERT INTO movement (sku_id, lot, from_location_id, to_location_id, qty, reason, order_id,
                      idempotency_key, created_at)
  SELECT 1 + g % {SKUS}, '', CASE WHEN g % 3 = 0 THEN 201 ELSE 1 + g % 200 END,
         CASE WHEN g % 3 = 0 THEN 1 + g % 200 ELSE 202 END, 1 + g % 5,
         CASE WHEN g % 3 = 0 THEN 'receive' ELSE 'ship' END,
         CASE WHEN g % 3 = 0 THEN NULL ELSE 1 + g % {ORDERS} END, 'mv-' || g,
         {now} - ({MOVEMENTS} - g) * interval '6 second'
  FROM generate_series(1, {MOVEMENTS}) g;
""",
        ),
    ]


def seed(dsn: str) -> None:
    now = f"timestamptz '{NOW.isoformat()}'"
    with psycopg.connect(dsn, autocommit=False) as conn:
        # Bulk load: skip per-row foreign-key triggers (every reference is generated valid).
        conn.execute("SET session_replication_role = replica")
        for label, sql in seed_steps(now):
            t0 = time.perf_counter()
            conn.execute(sql)  # type: ignore[arg-type]
            conn.commit()
            print(f"  seeded {label:<36} {time.perf_counter() - t0:7.1f} s", flush=True)
        for table in (
            "warehouse",
            "location",
            "sku",
            "station",
            "operator",
            "channel",
            "sales_order",
            "shipment",
            "rate_quote",
        ):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # type: ignore[arg-type]
                f"(SELECT max(id) FROM {table}))"
            )
        conn.execute("CREATE TABLE bench_seed (version int NOT NULL)")
        conn.execute("INSERT INTO bench_seed VALUES (%s)", (SEED_VERSION,))
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze {time.perf_counter() - t0:29.1f} s", flush=True)


def ensure_database(*, reseed: bool) -> str:
    name = db_name()
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        for (old,) in admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'bench_dashboard_%'"
        ).fetchall():
            if old != name:  # an older seed or schema: its disk is better used by this one
                admin.execute(f'DROP DATABASE "{old}" WITH (FORCE)')  # type: ignore[arg-type]
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not reseed:
            with psycopg.connect(dsn) as conn:
                ok = conn.execute(
                    "SELECT to_regclass('bench_seed') IS NOT NULL AND "
                    "EXISTS (SELECT 1 FROM bench_seed WHERE version = %s)",
                    (SEED_VERSION,),
                ).fetchone()
            if ok and ok[0]:
                print(f"database {name}: already seeded, reusing it (--reseed builds it again)")
                return dsn
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    print(f"database {name}: migrating and seeding (once; kept for the next run)", flush=True)
    upgrade(dsn)
    seed(dsn)
    return dsn


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up: plans cached, pages in memory, as on a dashboard that has been open
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def line(name: str, xs: list[float]) -> str:
    mark = "ok" if pct(xs, 95) <= TARGET_MS else "SLOW"
    return (
        f"  {name:<26} {len(xs):>4} {statistics.median(xs):9.1f} {pct(xs, 95):9.1f} "
        f"{max(xs):9.1f}  {mark}"
    )


HEADER = f"  {'query':<26} {'runs':>4} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}"


def cold_spend(d: DashboardService, *, days: int) -> object:
    """Spend with no past day kept: once per server process, and again after any void."""
    d.settled_spend = SettledSpend()
    return d.spend(days=days)


def raw_queries() -> dict[str, Callable[[Connection], object]]:
    four, hour = timedelta(hours=4), timedelta(hours=1)
    day = NOW.date()
    return {
        "backlog": lambda c: q.backlog(c, now=NOW),
        "at_risk (4 h)": lambda c: q.at_risk(c, now=NOW, horizon=four, limit=20),
        "unallocated": lambda c: q.unallocated(c, now=NOW, limit=20),
        "exceptions": lambda c: q.exception_queue(c, now=NOW, limit=20, actions=ACTIONS),
        "custody": lambda c: q.custody(c, now=NOW, limit=20),
        "spend (7 days)": lambda c: spend_q.carrier_spend(
            c, first_day=day - timedelta(days=6), last_day=day
        ),
        "spend (30 days)": lambda c: spend_q.carrier_spend(
            c, first_day=day - timedelta(days=29), last_day=day
        ),
        "benches (60 min)": lambda c: bench_q.benches(
            c,
            now=NOW,
            window=hour,
            idle_after=timedelta(minutes=5),
            online_within=timedelta(seconds=45),
        ),
        "benches (8 h)": lambda c: bench_q.benches(
            c,
            now=NOW,
            window=8 * hour,
            idle_after=timedelta(minutes=5),
            online_within=timedelta(seconds=45),
        ),
        "change marks (stream)": q.change_marks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--baseline-runs", type=int, default=30)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the kept database and exit")
    args = parser.parse_args()
    if args.drop:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name()}" WITH (FORCE)')  # type: ignore[arg-type]
        print(f"dropped {db_name()}")
        return 0
    free = (
        shutil.disk_usage(
            "/var/lib/postgresql" if Path("/var/lib/postgresql").exists() else "/"
        ).free
        / 1e9
    )
    print(f"free disk for PostgreSQL: {free:.0f} GB (the seeded database takes about 5 GB)")
    if free < 12:
        print("not enough free disk to seed safely; free some space first")
        return 1
    dsn = ensure_database(reseed=args.reseed)
    svc = services_for(dsn.replace("postgresql://", "postgresql+psycopg://"))
    svc.dashboard.clock = lambda: NOW  # the seed's "now"
    with svc.uow.reading() as conn:
        sizes = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in (
                "sales_order",
                "order_line",
                "movement",
                "station_event",
                "order_exception",
                "shipment_package",
            )
        }
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    d = svc.dashboard
    service_calls: dict[str, Callable[[], object]] = {
        "backlog": d.backlog,
        "at_risk (4 h)": d.at_risk,
        "unallocated": d.unallocated,
        "exceptions": d.exceptions,
        "custody": d.custody,
        "spend (7 days)": lambda: d.spend(days=7),
        "spend (30 days)": lambda: d.spend(days=30),
        "spend (30 days, cold)": lambda: cold_spend(d, days=30),
        "benches (60 min)": lambda: d.benches(window_minutes=60),
        "benches (8 h)": lambda: d.benches(window_minutes=480),
        "change marks (stream)": lambda: svc.uow.read(q.change_marks),
    }
    print(f"\nwith migration 0008 (through DashboardService), target p95 <= {TARGET_MS:.0f} ms")
    print(HEADER)
    slow = 0
    for name, fn in service_calls.items():
        xs = timed(fn, args.runs)
        slow += pct(xs, 95) > TARGET_MS
        print(line(name, xs), flush=True)
    print(
        "\nbaseline: the same SQL without 0008's indexes (dropped in a rolled-back transaction);"
        " spend read whole, nothing kept"
    )
    print(HEADER)
    with svc.db.writer.connect() as conn, conn.begin() as tx:
        q.tune(conn)  # as the service does: the baseline differs by the indexes alone
        for index in INDEXES_0008:
            conn.execute(text(f"DROP INDEX {index}"))
        for name, query in raw_queries().items():
            print(
                line(name, timed(lambda query=query: query(conn), args.baseline_runs)), flush=True
            )
        tx.rollback()
    svc.close()
    print(
        f"\n{len(service_calls) - slow} of {len(service_calls)} queries within "
        f"{TARGET_MS:.0f} ms at p95"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
