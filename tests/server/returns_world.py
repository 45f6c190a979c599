"""Builders for returns tests: a shipped order, quarantine bins, a returns clerk and a supervisor,
all made through the real services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from server.bootstrap import Services
from server.db import tables as t
from server.domain.actor import SYSTEM, Actor
from server.domain.intake import IncomingLine, IncomingOrder
from server.domain.locations import LocationKind
from server.domain.orders import OrderState
from server.services.returns import UnitReceipt
from tests.server.world import NL, World, add_gtin, build_world

# GTINs of the world's SKUs (valid check digits).
GTIN_A = "4006381333931"
GTIN_B = "5012345678900"
GTIN_C = "9780201379624"  # in the catalog, never ordered
NOT_IN_CATALOG = "4000000000006"

FLOOR = [
    (OrderState.PICKED, "pick"),
    (OrderState.PACKING, "pack_start"),
    (OrderState.PACKED, "pack"),
    (OrderState.LABELLED, "label_scan"),
    (OrderState.SHIPPED, "custody_event"),
]


@dataclass
class Desk:
    world: World
    quarantine: list[int]
    clerk: Actor
    supervisor: Actor
    supervisor_badge: str


def returns_world(svc: Services) -> Desk:
    world = build_world(svc, skus=("SKU-A", "SKU-B", "SKU-C"))
    for code, gtin in (("SKU-A", GTIN_A), ("SKU-B", GTIN_B), ("SKU-C", GTIN_C)):
        add_gtin(svc, world.skus[code], gtin)
    quarantine = [
        svc.catalog.create_location(
            warehouse_id=world.warehouse_id,
            code=f"Q-{i:02d}",
            kind=LocationKind.QUARANTINE,
            actor=SYSTEM,
        )
        for i in (1, 2)
    ]
    clerk_id = svc.identity.create_operator(
        name="Rita Returns", badge="BADGE-RET-1", roles={"returns"}, actor=SYSTEM
    )
    sup_id = svc.identity.create_operator(
        name="Sam Super", badge="BADGE-SUP-1", roles={"supervisor"}, actor=SYSTEM
    )
    return Desk(
        world=world,
        quarantine=quarantine,
        clerk=Actor(None, clerk_id, frozenset({"returns"}), "Rita Returns"),
        supervisor=Actor(None, sup_id, frozenset({"supervisor"}), "Sam Super"),
        supervisor_badge="BADGE-SUP-1",
    )


def shipped_order(
    svc: Services, desk: Desk, ext: str, *lines: tuple[str, int], price: str = "10.00"
) -> tuple[int, str]:
    """Stock received, the order taken in, allocated and walked over the floor to `shipped`
    (each step with its evidence): the goods have left the warehouse."""
    for sku, qty in lines:
        svc.ledger.receive(
            sku_id=desk.world.skus[sku], location_id=desk.world.bins[0], qty=qty, actor=SYSTEM
        )
    incoming = IncomingOrder(
        external_id=ext,
        lines=tuple(IncomingLine(s, q, Decimal(price)) for s, q in lines),
        address=NL,
        payment_captured=True,
        payment_reference=f"pay-{ext}",
        currency="EUR",
    )
    got = svc.intake.ingest(channel_code="shop", order=incoming, actor=SYSTEM)
    svc.allocation.allocate(order_id=got.order_id, actor=SYSTEM)
    svc.tasks.claim(order_id=got.order_id, actor=SYSTEM)
    for target, key in FLOOR:
        svc.orders.transition(
            order_id=got.order_id, target=target, evidence={key: {"test": True}}, actor=SYSTEM
        )
    return got.order_id, got.number


def unit(barcode: str, *, bin: str = "Q-01", condition: str = "sellable", **kw: str) -> UnitReceipt:
    return UnitReceipt(key=str(uuid.uuid4()), barcode=barcode, condition=condition, bin=bin, **kw)  # type: ignore[arg-type]


def on_hand(svc: Services, *, location_id: int, sku_id: int) -> int:
    sl = t.stock_level
    return int(
        svc.uow.read(
            lambda c: c.execute(
                select(func.coalesce(func.sum(sl.c.on_hand), 0)).where(
                    sl.c.location_id == location_id, sl.c.sku_id == sku_id
                )
            ).scalar_one()
        )
    )


def virtual_id(svc: Services, code: str) -> int:
    loc = t.location
    return int(
        svc.uow.read(lambda c: c.execute(select(loc.c.id).where(loc.c.code == code)).scalar_one())
    )


def movements(svc: Services, *, sku_id: int) -> list[tuple[str, str, str, int]]:
    """(from code, to code, reason, qty) of every movement of a SKU, in order."""
    m, a, b = t.movement, t.location.alias("a"), t.location.alias("b")
    rows = svc.uow.read(
        lambda c: c.execute(
            select(a.c.code, b.c.code, m.c.reason, m.c.qty)
            .join(a, a.c.id == m.c.from_location_id)
            .join(b, b.c.id == m.c.to_location_id)
            .where(m.c.sku_id == sku_id)
            .order_by(m.c.id)
        ).all()
    )
    return [(str(x), str(y), str(z), int(q)) for x, y, z, q in rows]
