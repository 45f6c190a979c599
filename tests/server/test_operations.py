"""Operating the server: the reconcile command, health with a dead database, postcode loading,
proximity allocation across two warehouses."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import text, update

from server.bootstrap import Services, build_services
from server.db import tables as t
from server.domain.actor import SYSTEM
from server.main import create_app
from server.services.catalog import SkuSpec
from server.services.rules import RuleSpec
from server.settings import ServerSettings
from tests.server.world import build_world, place


def _reconcile(db_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PACKLINE_DATABASE_URL": db_url, "PACKLINE_DATA_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "server.cli", "reconcile"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def test_reconcile_command_proves_clean_books_and_reports_drift(
    svc: Services, db_url: str, tmp_path: Path
) -> None:
    w = build_world(svc)
    sid = svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=7, actor=SYSTEM)
    place(svc, "r-1", ("SKU-A", 2))
    clean = _reconcile(db_url, tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "clean" in clean.stdout
    # Someone edits a counter behind the ledger's back: the command must notice.
    sl = t.stock_level
    svc.uow.write(lambda c: c.execute(update(sl).where(sl.c.id == sid).values(on_hand=9)))
    drift = _reconcile(db_url, tmp_path)
    assert drift.returncode == 1
    assert f"DRIFT stock row {sid}: on_hand is 9, the ledger says 7" in drift.stdout


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    # A port nothing listens on: the server must answer 503 problem+json, not crash.
    settings = ServerSettings(data_dir=tmp_path,
                              database_url="postgresql://postgres@127.0.0.1:1/none")  # fmt: skip
    services = build_services(settings)
    with TestClient(create_app(services)) as client:
        r = client.get("/healthz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("database-unreachable")


def test_healthz_ok(svc: Services, live_server: str) -> None:
    body = httpx.get(f"{live_server}/healthz", timeout=10).json()
    assert body["database"] == "reachable"
    assert svc.uow.read(lambda c: c.execute(text("SELECT 1")).scalar()) == 1


def test_proximity_allocates_from_the_nearest_warehouse(svc: Services) -> None:
    w = build_world(svc)  # AMS at 52.37, 4.89
    far = svc.catalog.create_warehouse(code="MUC", name="Munich", country="DE", postcode="80331",
                                       latitude=48.14, longitude=11.58, actor=SYSTEM)  # fmt: skip
    far_bin = svc.catalog.create_location(warehouse_id=far, code="M-01", actor=SYSTEM)
    sku = svc.catalog.upsert_sku(spec=SkuSpec(code="SKU-A", name="A", weight_g=1, length_mm=1,
                                              width_mm=1, height_mm=1,
                                              unit_value=Decimal("1")), actor=SYSTEM)  # fmt: skip
    near_row = svc.ledger.receive(sku_id=sku, location_id=w.bins[0], qty=5, actor=SYSTEM)
    svc.ledger.receive(sku_id=sku, location_id=far_bin, qty=5, actor=SYSTEM)
    loaded = svc.catalog.import_postcodes(
        content="NL\t1012 LG\tAmsterdam\tNH\t\t\t\t\t\t52.3731\t4.8922\t6\n"
    )
    assert loaded == 1
    svc.rules.create(spec=RuleSpec(name="near", strategy="proximity", channel_code="shop"),
                     actor=SYSTEM)  # fmt: skip
    oid = place(svc, "near-1", ("SKU-A", 2))  # ships to 1012 LG Amsterdam
    view = svc.orders.get(order_id=oid)
    assert view.state == "released"
    evidence = view.transitions[-2]["evidence"]
    assert evidence["strategy"] == "proximity" and evidence["warehouses"] == [w.warehouse_id]
    assert near_row


def test_the_demo_command_seeds_and_serves(tmp_path: Path) -> None:
    """The README's first command, as a process: seeds, prints how to use it, serves."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PACKLINE_DATA_DIR": str(tmp_path), "PACKLINE_DATABASE_URL": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "demo", "--no-station", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health is not None and health["dialect"] == "sqlite", "the demo did not serve"
        tasks_seeded = (tmp_path / "packline.sqlite3").exists()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert tasks_seeded
    assert "admin BADGE-0001" in out and "station enrolment code" in out
    # Shipping works out of the box: the demo starts local provider fakes and points at them.
    assert "easypost fake" in out and "shippo fake" in out
