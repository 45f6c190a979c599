"""The packing slip over HTTP (both databases): a PDF whose Code 128 scans back to the order
number and whose text holds the warehouse, the ship-to and every line; the boxes and tracking
numbers once labels are bought; A4 or Letter; clear problems for unknown orders, orders with
nothing to pack and bad requests."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pypdfium2
import pytest
import zxingcpp

from server.bootstrap import Services
from server.documents.packing_slip import paper_for
from server.domain.actor import SYSTEM
from server.domain.address import Address
from server.domain.intake import IncomingLine, IncomingOrder
from shared.contract import API_PREFIX
from tests.fakes.shippo_server import FakeShippo
from tests.server.conftest import Clock
from tests.server.http import is_problem, sign_in
from tests.server.shipping_services import closing, running_shippo, services_with, shippo_account
from tests.server.world import build_world, place

ÅSA = Address("Åsa Øberg-Łukasiewicz", "Keizersgracht 10", "2e etage", "Amsterdam", "",
              "1015 CN", "NL", "+31 6 1234 5678")  # fmt: skip


@pytest.fixture
def shippo() -> Iterator[FakeShippo]:
    yield from running_shippo()


@pytest.fixture
def svc(db_url: str, clock: Clock, tmp_path: Path, shippo: FakeShippo) -> Iterator[Services]:
    yield from closing(services_with([shippo_account(shippo)], db_url=db_url, clock=clock,
                                     tmp_path=tmp_path))  # fmt: skip


def _stocked(svc: Services, skus: tuple[str, ...] = ("SKU-A", "SKU-B")) -> None:
    world = build_world(svc, skus=skus)
    for sku_id in world.skus.values():
        svc.ledger.receive(sku_id=sku_id, location_id=world.bins[0], qty=50, actor=SYSTEM)


def _order(svc: Services, ext: str, *lines: tuple[str, int, str]) -> int:
    incoming = IncomingOrder(
        external_id=ext, address=ÅSA, payment_captured=True, payment_reference=f"pay-{ext}",
        lines=tuple(IncomingLine(sku, qty, Decimal("2.50"), title) for sku, qty, title in lines),
    )  # fmt: skip
    result = svc.intake.ingest(channel_code="shop", order=incoming, actor=SYSTEM)
    svc.allocation.allocate(order_id=result.order_id, actor=SYSTEM)
    return result.order_id


def _pages(pdf: bytes) -> list[tuple[tuple[float, float], str, list[str]]]:
    """(size in points, text, barcodes read off a 200 dpi rendering) of every page."""
    document = pypdfium2.PdfDocument(pdf)
    out = []
    for page in document:
        image = page.render(scale=200 / 72).to_pil()
        texts = [b.text for b in zxingcpp.read_barcodes(image)]
        out.append((page.get_size(), page.get_textpage().get_text_range(), texts))
    return out


def _client(svc: Services, live_server: str) -> httpx.Client:
    return httpx.Client(base_url=live_server + API_PREFIX, headers=sign_in(svc).headers,
                        timeout=30)  # fmt: skip


def test_slip_names_sender_recipient_and_lines_and_scans_to_the_order(
    svc: Services, live_server: str
) -> None:
    _stocked(svc)
    order_id = _order(svc, "#1001", ("SKU-A", 2, "Earl Grey & <Lemon> tea, 100 g"),
                      ("SKU-B", 1, ""))  # fmt: skip
    number = svc.orders.get(order_id=order_id).number
    with _client(svc, live_server) as c:
        got = c.get(f"/orders/{order_id}/packing-slip")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/pdf"
    pages = _pages(got.content)
    assert len(pages) == 1
    (width, height), text, barcodes = pages[0]
    assert (round(width), round(height)) == (595, 842)  # A4: the house default in NL
    assert barcodes == [number]  # the order number, scannable off the slip
    assert f'filename="packing-slip-{number}.pdf"' in got.headers["content-disposition"]
    assert f"Order {number}" in text
    assert "Your reference: #1001" in text
    for words in ("Amsterdam", "Kabelweg 21", "1012 AB Amsterdam", "+31 20 555 0100"):
        assert words in text  # the warehouse holding the stock
    for words in ("Åsa Øberg-Łukasiewicz", "Keizersgracht 10", "2e etage", "1015 CN Amsterdam"):
        assert words in text
    assert "SKU-A Earl Grey & <Lemon> tea, 100 g 2" in text
    assert "SKU-B SKU-B 1" in text  # no title from the channel: the catalog name stands in
    assert "Units 3" in text
    assert "tracking" not in text and "Boxes" not in text  # nothing bought or packed yet


def test_slip_lists_each_bought_box_with_its_tracking_number(
    svc: Services, live_server: str
) -> None:
    _stocked(svc)
    order_id = _order(svc, "#1002", ("SKU-A", 1, "Mug"))
    with _client(svc, live_server) as c:
        assert c.post(f"/orders/{order_id}/rates").status_code == 200
        bought = c.post(f"/orders/{order_id}/labels")
        assert bought.status_code == 200, bought.text
        tracking = bought.json()[0]["tracking_number"]
        got = c.get(f"/orders/{order_id}/packing-slip")
    text = _pages(got.content)[0][1]
    assert "Boxes: 1" in text
    assert f"tracking {tracking}" in text


def test_paper_is_a4_or_letter_on_request(svc: Services, live_server: str) -> None:
    _stocked(svc)
    order_id = _order(svc, "#1003", ("SKU-A", 1, "Mug"))
    with _client(svc, live_server) as c:
        letter = c.get(f"/orders/{order_id}/packing-slip", params={"paper": "Letter"})
        a4 = c.get(f"/orders/{order_id}/packing-slip", params={"paper": "A4"})
        bad = c.get(f"/orders/{order_id}/packing-slip", params={"paper": "A5"})
    ((size, _, barcodes),) = _pages(letter.content)
    assert (round(size[0]), round(size[1])) == (612, 792) and len(barcodes) == 1
    assert [round(x) for x in _pages(a4.content)[0][0]] == [595, 842]
    assert bad.status_code == 422 and is_problem(bad.headers["content-type"])
    assert (paper_for("US"), paper_for("ca"), paper_for("NL"), paper_for("")) == (
        "Letter", "Letter", "A4", "A4"
    )  # fmt: skip


def test_a_long_order_runs_onto_more_pages_with_the_order_number_on_each(
    svc: Services, live_server: str
) -> None:
    skus = tuple(f"SKU-{i:02d}" for i in range(1, 46))
    _stocked(svc, skus)
    order_id = _order(svc, "#1004", *((s, 1, f"Item {s}") for s in skus))
    with _client(svc, live_server) as c:
        got = c.get(f"/orders/{order_id}/packing-slip")
    pages = _pages(got.content)
    assert len(pages) >= 2
    number = svc.orders.get(order_id=order_id).number
    assert pages[0][2] == [number]
    assert all(f"{number} · page {n}" in text for n, (_, text, _) in enumerate(pages, start=1))
    everything = "\n".join(text for _, text, _ in pages)
    assert all(f"{s} Item {s} 1" in everything for s in skus)
    assert "Units 45" in pages[-1][1]


def test_unknown_order_nothing_to_pack_and_no_credentials_are_problems(
    svc: Services, live_server: str
) -> None:
    build_world(svc)
    unstocked = place(svc, "#1005", ("SKU-A", 1))  # no stock anywhere: nothing is held for it
    with _client(svc, live_server) as c:
        missing = c.get("/orders/999999/packing-slip")
        empty = c.get(f"/orders/{unstocked}/packing-slip")
        huge = c.get(f"/orders/{2**70}/packing-slip")
    anonymous = httpx.get(f"{live_server}{API_PREFIX}/orders/{unstocked}/packing-slip")
    assert missing.status_code == 404 and is_problem(missing.headers["content-type"])
    assert "order 999999 does not exist" in missing.json()["detail"]
    assert empty.status_code == 422 and "nothing to pack" in empty.json()["detail"]
    assert huge.status_code == 422 and is_problem(huge.headers["content-type"])
    assert anonymous.status_code == 401 and is_problem(anonymous.headers["content-type"])
