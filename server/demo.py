"""Demo data: one warehouse with bins, a small catalog, stock, channels, operators and orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from server.domain.address import Address
from server.domain.intake import IncomingLine, IncomingOrder
from server.services.catalog import BarcodeSpec, SkuSpec

DEMO_SECRET = "demo-shopify-secret"
ADMIN_BADGE = "BADGE-0001"
PACKER_BADGE = "BADGE-0002"
SUPERVISOR_BADGE = "BADGE-0003"

CATALOG = [
    # code, name, grams, (l, w, h) mm, value, GTIN, case GTIN-14 x units, lot/expiry tracked
    ("MUG-BLUE", "Mug, blue, 350 ml", 320, (120, 90, 100), "8.90", "4006381333931", None, False),
    (
        "TEA-EARL",
        "Earl Grey tea, 100 g",
        110,
        (80, 50, 150),
        "4.50",
        "5012345678900",
        ("15012345678907", 6),
        True,
    ),
    ("SOCK-M", "Wool socks, size M", 90, (200, 100, 30), "12.00", "0036000291452", None, False),
    ("LAMP-DESK", "Desk lamp", 1400, (400, 200, 200), "39.00", "9506000134352", None, False),
]


def demo_barcodes(order_numbers: list[str]) -> list[dict[str, str]]:
    """What the demo's virtual scanner panel offers: badges, every item barcode, a case, box
    types, reason cards, and a few barcodes that must be refused."""
    out = [
        {"label": "Badge: Pat (packer)", "text": PACKER_BADGE},
        {"label": "Badge: Sam (supervisor)", "text": SUPERVISOR_BADGE},
        {"label": "Badge: Ada (admin)", "text": ADMIN_BADGE},
        *({"label": f"Order {n}", "text": n} for n in order_numbers),
    ]
    for _code, name, _grams, _dims, _value, gtin, case, _tracked in CATALOG:
        out.append({"label": str(name), "text": str(gtin)})
        if isinstance(case, tuple):
            out.append({"label": f"{name} (case of {case[1]})", "text": str(case[0])})
    out += [
        {"label": "Earl Grey, GS1 lot L2611", "text": "]C1015012345678900\x1d10L2611"},
        {"label": "Box S", "text": "BOX-S"}, {"label": "Box M", "text": "BOX-M"},
        {"label": "Box L", "text": "BOX-L"},
        {"label": "Reason: bin empty", "text": "REASON-EMPTY-BIN"},
        {"label": "Reason: label damaged", "text": "REASON-LABEL-DAMAGED"},
        {"label": "WRONG: item not in catalog", "text": "4000000000006"},
        {"label": "WRONG: bad check digit", "text": "4006381333932"},
        {"label": "WRONG: expired Earl Grey", "text": "]C1015012345678900\x1d10L2611\x1d17200101"},
    ]  # fmt: skip
    return out


def open_order_numbers(svc: Services) -> list[str]:
    return [t.number for t in svc.tasks.open_tasks(station_id=None)]


def seed(svc: Services) -> dict[str, str]:
    """Idempotent enough for a demo: it runs only on an empty database (checked by the caller)."""
    cat, led = svc.catalog, svc.ledger
    wid = cat.create_warehouse(
        code="AMS",
        name="Amsterdam DC",
        country="NL",
        postcode="1012 AB",
        latitude=52.37,
        longitude=4.89,
        street="Kabelweg 21",
        city="Amsterdam",
        phone="+31 20 555 0100",
        actor=SYSTEM,
    )
    bins = [
        cat.create_location(warehouse_id=wid, code=f"A-01-0{i}", actor=SYSTEM) for i in range(1, 5)
    ]
    for i, (code, name, grams, dims, value, gtin, case, tracked) in enumerate(CATALOG):
        sku_id = cat.upsert_sku(
            spec=SkuSpec(
                code=code,
                name=name,
                weight_g=grams,
                length_mm=dims[0],
                width_mm=dims[1],
                height_mm=dims[2],
                unit_value=Decimal(value),
                track_lot=tracked,
                track_expiry=tracked,
            ),
            actor=SYSTEM,
        )
        cat.add_barcode(sku_id=sku_id, spec=BarcodeSpec(value=gtin, kind="gtin"), actor=SYSTEM)
        if case:
            cat.add_barcode(
                sku_id=sku_id,
                spec=BarcodeSpec(value=case[0], kind="case", units=case[1]),
                actor=SYSTEM,
            )
        led.receive(
            sku_id=sku_id,
            location_id=bins[i],
            qty=40,
            actor=SYSTEM,
            lot="L2611" if tracked else None,
            expiry=svc.clock().date() + timedelta(days=300) if tracked else None,
            unit_cost=Decimal(value) / 2,
        )
    svc.orders.create_channel(
        code="shop",
        kind="shopify",
        name="Demo Shopify store",
        webhook_secret=DEMO_SECRET,
        actor=SYSTEM,
    )
    svc.identity.create_operator(
        name="Ada Admin", badge=ADMIN_BADGE, roles={"admin", "supervisor"}, actor=SYSTEM
    )
    svc.identity.create_operator(
        name="Pat Packer", badge=PACKER_BADGE, roles={"picker", "packer"}, actor=SYSTEM
    )
    svc.identity.create_operator(
        name="Sam Supervisor",
        badge=SUPERVISOR_BADGE,
        roles={"supervisor"},
        pin="2468",
        actor=SYSTEM,
    )
    address = Address(
        "Jan de Vries", "Damrak 1", "", "Amsterdam", "", "1012 LG", "NL", "+31 20 123 4567"
    )
    orders = [
        (("MUG-BLUE", 2), ("SOCK-M", 1)),
        (("TEA-EARL", 6),),
        (("LAMP-DESK", 1), ("MUG-BLUE", 1)),
    ]
    for n, lines in enumerate(orders, start=1001):
        result = svc.intake.ingest(
            channel_code="shop",
            order=IncomingOrder(
                external_id=str(n),
                lines=tuple(IncomingLine(s, q, Decimal("9.99")) for s, q in lines),
                address=address,
                email="jan@example.com",
                payment_captured=True,
                payment_reference=f"demo-{n}",
            ),
            actor=SYSTEM,
        )
        svc.allocation.allocate(order_id=result.order_id, actor=SYSTEM)
    code = svc.identity.issue_enrolment_code(station_name="Bench 1", kind="bench", actor=SYSTEM)
    return {"enrolment_code": code, "admin_badge": ADMIN_BADGE, "packer_badge": PACKER_BADGE}
