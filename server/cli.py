"""`packline`: the admin and demo command line (runs in the server's process space)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from sqlalchemy import func, select

from server.bootstrap import build_services
from server.db import tables as t
from server.db.migrate import upgrade
from server.domain.actor import SYSTEM
from server.settings import ServerSettings


def _services(settings: ServerSettings):  # type: ignore[no-untyped-def]
    upgrade(settings.resolved_database_url())
    return build_services(settings)


def cmd_demo(args: argparse.Namespace) -> int:
    import uvicorn

    from server.demo import (
        ADMIN_BADGE,
        PACKER_BADGE,
        SUPERVISOR_BADGE,
        demo_barcodes,
        open_order_numbers,
        seed,
    )
    from server.demo_launch import start_carrier_fakes, start_children, stop_children
    from server.main import create_app

    settings = ServerSettings()
    if not settings.home_country:
        settings = settings.model_copy(update={"home_country": "NL"})
    fakes: list[Any] = []
    if not settings.carrier_accounts:
        fakes, accounts = start_carrier_fakes()
        settings = settings.model_copy(update={"carrier_accounts": accounts,
                                               "shipping_currency": "USD"})  # fmt: skip
    svc = _services(settings)
    empty = svc.uow.read(lambda c: c.execute(select(func.count()).select_from(t.sku)).scalar())
    print(f"packline demo — database: {settings.resolved_database_url()}")
    code = None
    if not empty:
        info = seed(svc)
        code = info["enrolment_code"]
        print("Seeded demo data: warehouse AMS, 4 SKUs with stock, 3 released Shopify orders.")
        print(f"  station enrolment code : {code}")
        print(
            f"  badges                 : packer {PACKER_BADGE}, supervisor {SUPERVISOR_BADGE}"
            f" (PIN 2468), admin {ADMIN_BADGE}"
        )
    else:
        print("Existing demo data kept (delete the data directory to start over).")
    url = f"http://{args.host}:{args.port}"
    print(f"  server                 : {url}  (API docs at /docs, health at /healthz)")
    children = fakes + ([] if args.no_station else start_children(
        data_dir=settings.data_dir, server_url=url, enrolment_code=code,
        barcodes=demo_barcodes(open_order_numbers(svc)),
    ))  # fmt: skip
    logging.basicConfig(level=logging.INFO)
    # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default action
    # that kills this process before the children are stopped. Exiting normally runs `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(create_app(svc), host=args.host, port=args.port,
                    timeout_graceful_shutdown=5)  # fmt: skip
    finally:
        stop_children(children)
    return 0


def cmd_custody(_: argparse.Namespace) -> int:
    """One pass of the custody loop (for cron when the server's own loop is switched off)."""
    svc = _services(ServerSettings())
    polled, opened = svc.custody.run_once(svc.rate_shopper.carriers)
    print(f"tracking: {polled.recorded} new events, {polled.duplicates} already known, "
          f"{polled.unknown} for unknown numbers")  # fmt: skip
    print(f"custody exceptions opened: {len(opened)}")
    return 0


def cmd_reconcile(_: argparse.Namespace) -> int:
    svc = _services(ServerSettings())
    report = svc.ledger.reconcile()
    print(f"checked {report.rows_checked} stock rows against {report.movements} movements")
    for d in report.drifts:
        print(
            f"DRIFT stock row {d.stock_level_id}: {d.field} is {d.counter}, "
            f"the ledger says {d.expected}"
        )
    print("clean: counters equal the ledger" if report.clean else "drift found")
    return 0 if report.clean else 1


def cmd_operator(args: argparse.Namespace) -> int:
    svc = _services(ServerSettings())
    oid = svc.identity.create_operator(
        name=args.name,
        badge=args.badge,
        roles=set(args.roles.split(",")),
        pin=args.pin,
        actor=SYSTEM,
    )
    print(f"operator {oid} created")
    return 0


def cmd_enrolment(args: argparse.Namespace) -> int:
    svc = _services(ServerSettings())
    print(svc.identity.issue_enrolment_code(station_name=args.name, kind=args.kind, actor=SYSTEM))
    return 0


def cmd_postcodes(args: argparse.Namespace) -> int:
    svc = _services(ServerSettings())
    with open(args.file, encoding="utf-8") as fh:
        n = svc.catalog.import_postcodes(content=fh.read())
    print(f"{n} postcode centroids loaded")
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    settings = ServerSettings()
    upgrade(settings.resolved_database_url())
    print(f"migrated {settings.resolved_database_url()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packline")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="serve the demo on the embedded SQLite database")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8400)
    demo.add_argument("--no-station", action="store_true", help="serve only; no emulator/station")
    demo.set_defaults(func=cmd_demo)
    sub.add_parser("custody", help="poll quiet tracking and open custody exceptions once"
                   ).set_defaults(func=cmd_custody)  # fmt: skip
    sub.add_parser("reconcile", help="prove counters equal the ledger").set_defaults(
        func=cmd_reconcile
    )
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )
    pc = sub.add_parser("import-postcodes", help="load postcode centroids (GeoNames dump or CSV)")
    pc.add_argument("file")
    pc.set_defaults(func=cmd_postcodes)
    op = sub.add_parser("create-operator", help="add an operator with a badge")
    op.add_argument("--name", required=True)
    op.add_argument("--badge", required=True)
    op.add_argument("--roles", required=True, help="comma-separated, e.g. packer,picker")
    op.add_argument("--pin")
    op.set_defaults(func=cmd_operator)
    en = sub.add_parser("enrolment-code", help="issue a one-time station enrolment code")
    en.add_argument("--name", required=True)
    en.add_argument("--kind", default="bench")
    en.set_defaults(func=cmd_enrolment)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
