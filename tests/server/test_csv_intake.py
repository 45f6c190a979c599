"""CSV order import over HTTP: good rows commit, bad rows are parked once, re-import is a no-op."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from server.bootstrap import Services
from server.db import tables as t
from server.domain.actor import SYSTEM
from shared.contract import API_PREFIX
from tests.server.http import count_rows, is_problem, sign_in
from tests.server.world import build_world

HEADER = (
    "order_id,sku,quantity,unit_price,name,address1,address2,city,region,postcode,country,"
    "phone,email,paid"
)


def _row(ext: str, sku: str, qty: str) -> str:
    return (f"{ext},{sku},{qty},4.95,Jan de Vries,Damrak 1,,Amsterdam,,1012 LG,NL,"
            f"+31 20 1234567,{ext.lower()}@example.nl,yes")  # fmt: skip


def ten_orders() -> str:
    # The header is line 1, so order CSV-n sits on line n + 1: line 7 is CSV-6, line 9 CSV-8.
    rows = []
    for n in range(1, 11):
        sku, qty = ("SKU-A" if n % 2 else "SKU-B"), "1"
        if n == 6:
            sku = "SKU-UNKNOWN"
        if n == 8:
            qty = "two"
        rows.append(_row(f"CSV-{n}", sku, qty))
    return "\r\n".join([HEADER, *rows]) + "\r\n"


def _import(base: str, headers: dict[str, str], content: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=60) as c:
        return c.post(f"{API_PREFIX}/orders/import", params={"channel": "shop"},
                      content=content.encode(),
                      headers={**headers, "Content-Type": "text/csv"})  # fmt: skip


def test_good_rows_commit_and_bad_rows_are_parked_once(svc: Services, live_server: str) -> None:
    world = build_world(svc)
    for code in ("SKU-A", "SKU-B"):
        svc.ledger.receive(sku_id=world.skus[code], location_id=world.bins[0], qty=20,
                           actor=SYSTEM)  # fmt: skip
    creds = sign_in(svc)
    content = ten_orders()

    first = _import(live_server, creds.headers, content)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["created"] == 9  # 8 good orders + the unknown-SKU order, held
    assert report["existing"] == 0
    assert [x["line"] for x in report["failed_rows"]] == [9]
    assert count_rows(svc, "sales_order") == 9

    so = t.sales_order
    numbers = dict(svc.uow.read(lambda conn: conn.execute(
        select(so.c.external_id, so.c.number)).all()))  # fmt: skip
    assert sorted(numbers) == sorted(f"CSV-{n}" for n in range(1, 11) if n != 8)
    with httpx.Client(base_url=live_server, timeout=30, headers=creds.headers) as c:
        states = {}
        for ext, number in numbers.items():
            got = c.get(f"{API_PREFIX}/orders/by-number/{number}")
            assert got.status_code == 200, got.text
            states[ext] = got.json()["state"]
        missing = c.get(f"{API_PREFIX}/orders/by-number/PL9999999")
    assert missing.status_code == 404 and is_problem(missing.headers["content-type"])
    assert states.pop("CSV-6") == "on_hold"
    assert set(states.values()) == {"released"} and len(states) == 8

    unmapped = svc.exceptions.list(kind="unmapped_sku")
    assert len(unmapped) == 1
    assert unmapped[0].order_id is not None
    assert svc.orders.get(order_id=unmapped[0].order_id).external_id == "CSV-6"
    bad_rows = svc.exceptions.list(kind="csv_row")
    assert len(bad_rows) == 1
    assert bad_rows[0].order_id is None
    assert "line 9" in bad_rows[0].reason
    assert "'two'" in bad_rows[0].reason
    exceptions_before = count_rows(svc, "order_exception")

    again = _import(live_server, creds.headers, content)
    assert again.status_code == 200, again.text
    assert again.json()["created"] == 0
    assert again.json()["existing"] == 9
    assert [x["line"] for x in again.json()["failed_rows"]] == [9]  # reported, not re-parked
    assert count_rows(svc, "sales_order") == 9
    assert count_rows(svc, "order_exception") == exceptions_before


def test_a_csv_without_the_required_columns_is_a_422_problem(
    svc: Services, live_server: str
) -> None:
    build_world(svc)
    creds = sign_in(svc)
    r = _import(live_server, creds.headers, "id,item\n1,SKU-A\n")
    assert r.status_code == 422, r.text
    assert is_problem(r.headers["content-type"])
    assert "order_id" in r.json()["detail"]
    assert count_rows(svc, "sales_order") == 0


def test_import_needs_an_admin(svc: Services, live_server: str) -> None:
    build_world(svc)
    creds = sign_in(svc, badge="BADGE-PACK-1", roles=frozenset({"packer"}))
    r = _import(live_server, creds.headers, ten_orders())
    assert r.status_code == 403, r.text
    assert is_problem(r.headers["content-type"])
    assert count_rows(svc, "sales_order") == 0
