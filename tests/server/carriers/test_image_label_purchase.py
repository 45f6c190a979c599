"""Buying from a provider that answers with an image-only label (the Shippo fake with
`image_labels`, as when the carrier has no ZPL): what is stored and printed is ZPL that scans
back to the tracking number; an image that cannot be converted loses nothing — the purchase is
not recorded, the labels are voided at the provider, and buying again works."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import zplkit
import zxingcpp
from PIL import Image

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from server.domain.errors import ValidationFailed
from tests.fakes.shippo_server import FakeShippo
from tests.server.conftest import Clock
from tests.server.shipping_services import closing, running_shippo, services_with, shippo_account
from tests.server.world import build_world, place


@pytest.fixture
def shippo() -> Iterator[FakeShippo]:
    yield from running_shippo()


@pytest.fixture
def svc(db_url: str, clock: Clock, tmp_path: Path, shippo: FakeShippo) -> Iterator[Services]:
    yield from closing(services_with([shippo_account(shippo)], db_url=db_url, clock=clock,
                                     tmp_path=tmp_path))  # fmt: skip


def _rated_order(svc: Services, ext: str) -> int:
    world = build_world(svc)
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=5,
                       actor=SYSTEM)  # fmt: skip
    order_id = place(svc, ext, ("SKU-A", 1))
    svc.shipping_quotes.rate_order(order_id=order_id, shopper=svc.rate_shopper, currency="USD",
                                   actor=SYSTEM)  # fmt: skip
    return order_id


def _buy(svc: Services, order_id: int) -> list[dict[str, object]]:
    return svc.labels.buy(order_id=order_id, carriers=svc.rate_shopper.carriers, currency="USD",
                          actor=SYSTEM)  # fmt: skip


def _scans(zpl: bytes) -> list[str]:
    png = zplkit.render(zpl).labels[0].png()
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.mark.parametrize("kind", ["PNG", "PDF"])
def test_image_only_label_is_stored_as_zpl_that_scans_back(
    svc: Services, shippo: FakeShippo, kind: str
) -> None:
    shippo.image_labels = kind
    order_id = _rated_order(svc, f"img-{kind}")
    rows = _buy(svc, order_id)
    assert len(rows) == 1
    label_gets = [p for m, p, _ in shippo.requests if p.startswith("/labels/")]
    assert label_gets and all(p.endswith("." + kind.lower()) for p in label_gets)  # an image came
    zpl = svc.labels.label_zpl(package_id=int(str(rows[0]["id"])))
    assert zpl.startswith(b"^XA") and b"^GFA," in zpl  # converted, not the fake's own ZPL
    assert _scans(zpl) == [rows[0]["tracking_number"]]


def test_default_shippo_labels_stay_the_providers_own_zpl(
    svc: Services, shippo: FakeShippo
) -> None:
    rows = _buy(svc, _rated_order(svc, "zpl-1"))
    zpl = svc.labels.label_zpl(package_id=int(str(rows[0]["id"])))
    assert b"^GF" not in zpl and b"^BC" in zpl  # untouched: the provider's ZPL is stored as is
    assert _scans(zpl) == [rows[0]["tracking_number"]]


def test_unconvertible_label_voids_the_purchase_and_loses_nothing(
    svc: Services, shippo: FakeShippo
) -> None:
    shippo.image_labels = "PNG"
    shippo.truncate_labels = 300  # a broken download: a PNG header and a few rows of nothing
    order_id = _rated_order(svc, "img-broken")
    with pytest.raises(ValidationFailed, match="PNG label cannot be read"):
        _buy(svc, order_id)
    # Not recorded, and not paid for: every transaction bought was refunded at Shippo.
    assert svc.labels.packages(order_id=order_id) == []
    bought = list(shippo.transactions.values())
    assert len(bought) == 1 and all(t["status"] == "REFUNDED" for t in bought)
    refunds = [p for m, p, _ in shippo.requests if m == "POST" and p == "/refunds/"]
    assert len(refunds) == 1
    # The shipment is still open: once the provider serves whole files, buying again works.
    shippo.truncate_labels = None
    rows = _buy(svc, order_id)
    assert [r["state"] for r in rows] == ["bought"]
    assert rows[0]["tracking_number"] != bought[0]["tracking_number"]
    zpl = svc.labels.label_zpl(package_id=int(str(rows[0]["id"])))
    assert _scans(zpl) == [rows[0]["tracking_number"]]
