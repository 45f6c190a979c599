"""Builders for test data, written through the real services (no rows inserted by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from server.bootstrap import Services
from server.domain.actor import SYSTEM, Actor
from server.domain.address import Address
from server.domain.intake import IncomingLine, IncomingOrder
from server.services.catalog import BarcodeSpec, SkuSpec

NL = Address("Jan de Vries", "Damrak 1", "", "Amsterdam", "", "1012 LG", "NL", "+31 20 1234567")


@dataclass
class World:
    warehouse_id: int
    bins: list[int]
    skus: dict[str, int]


def build_world(
    svc: Services,
    *,
    skus: tuple[str, ...] = ("SKU-A", "SKU-B"),
    bins: int = 2,
    secret: str = "s3cret",
) -> World:
    wid = svc.catalog.create_warehouse(
        code="AMS",
        name="Amsterdam",
        country="NL",
        postcode="1012 AB",
        latitude=52.37,
        longitude=4.89,
        street="Kabelweg 21",
        city="Amsterdam",
        phone="+31 20 555 0100",
        actor=SYSTEM,
    )
    bin_ids = [
        svc.catalog.create_location(warehouse_id=wid, code=f"A-{i:02d}", actor=SYSTEM)
        for i in range(bins)
    ]
    ids = {
        code: svc.catalog.upsert_sku(
            spec=SkuSpec(
                code=code,
                name=code,
                weight_g=100,
                length_mm=10,
                width_mm=10,
                height_mm=10,
                unit_value=Decimal("5"),
            ),
            actor=SYSTEM,
        )
        for code in skus
    }
    svc.orders.create_channel(
        code="shop", kind="shopify", name="Shop", webhook_secret=secret, actor=SYSTEM
    )
    return World(wid, bin_ids, ids)


def order(
    ext: str, *lines: tuple[str, int], paid: bool = True, address: Address = NL
) -> IncomingOrder:
    return IncomingOrder(
        external_id=ext,
        lines=tuple(IncomingLine(s, q, Decimal("1.00")) for s, q in lines),
        address=address,
        payment_captured=paid,
        payment_reference=f"pay-{ext}" if paid else "",
    )


def place(
    svc: Services, ext: str, *lines: tuple[str, int], paid: bool = True, actor: Actor = SYSTEM
) -> int:
    """Intake + allocation, the way every door does it; returns the order id."""
    result = svc.intake.ingest(
        channel_code="shop", order=order(ext, *lines, paid=paid), actor=actor
    )
    if result.state == "accepted":
        svc.allocation.allocate(order_id=result.order_id, actor=actor)
    return result.order_id


def add_gtin(svc: Services, sku_id: int, value: str) -> int:
    return svc.catalog.add_barcode(
        sku_id=sku_id, spec=BarcodeSpec(value=value, kind="gtin"), actor=SYSTEM
    )
