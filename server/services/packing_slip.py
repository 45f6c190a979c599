"""The packing slip of an order: its facts gathered in one read transaction, then rendered as a
PDF outside it (rendering is CPU work and holds no connection)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from server.db import order_records, places
from server.db import shipping_tables as st
from server.db import tables as t
from server.documents.packing_slip import (
    PackingSlip,
    Paper,
    SlipLine,
    SlipPackage,
    paper_for,
    render,
)
from server.domain.errors import NotFound, ValidationFailed
from server.services.unit_of_work import UnitOfWork

__all__ = ["PackingSlipService", "SlipFile", "paper_for"]


@dataclass(frozen=True, slots=True)
class SlipFile:
    filename: str
    pdf: bytes


class PackingSlipService:
    def __init__(self, *, uow: UnitOfWork, paper: Paper = "A4") -> None:
        self.uow = uow
        self.paper = paper  # the house default; a request may ask for the other size

    def slip(self, *, order_id: int) -> PackingSlip:
        return self.uow.read(lambda conn: _gather(conn, order_id))

    def pdf(self, *, order_id: int, paper: Paper | None = None) -> SlipFile:
        slip = self.slip(order_id=order_id)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", slip.order_number)
        return SlipFile(f"packing-slip-{safe}.pdf", render(slip, paper=paper or self.paper))


def _gather(conn: Connection, order_id: int) -> PackingSlip:
    so, ch, ol, sku = t.sales_order, t.channel, t.order_line, t.sku
    order = conn.execute(
        select(so, ch.c.name.label("channel_name"))
        .join(ch, ch.c.id == so.c.channel_id)
        .where(so.c.id == order_id)
    ).first()
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    warehouse = _warehouse(conn, order)
    if warehouse is None:
        raise ValidationFailed(
            f"order {order.number} holds no stock: there is nothing to pack for it yet"
        )
    # line_no > 0: an edited order keeps its old lines under negative numbers, as history.
    lines = conn.execute(
        select(ol.c.listing_sku, ol.c.title, ol.c.qty, sku.c.code, sku.c.name)
        .outerjoin(sku, sku.c.id == ol.c.sku_id)
        .where(ol.c.order_id == order_id, ol.c.line_no > 0)
        .order_by(ol.c.line_no)
    ).all()
    pk, sh = st.shipment_package, st.shipment
    packages = conn.execute(
        select(pk.c.package_no, pk.c.carrier, pk.c.service, pk.c.tracking_number)
        .join(sh, sh.c.id == pk.c.shipment_id)
        .where(sh.c.order_id == order_id, pk.c.state != "voided")
        .order_by(pk.c.package_no)
    ).all()
    to = order_records.ship_to_of(order)
    return PackingSlip(
        order_number=order.number,
        ship_from=(
            warehouse.name,
            warehouse.street,
            " ".join(x for x in (warehouse.postcode, warehouse.city) if x),
            warehouse.country,
            warehouse.phone,
        ),
        ship_to=(
            to.name,
            to.line1,
            to.line2,
            " ".join(x for x in (to.postcode, to.city) if x),
            to.region,
            to.country,
        ),
        lines=tuple(
            SlipLine(sku=x.code or x.listing_sku, title=x.title or x.name or "", qty=x.qty)
            for x in lines
        ),
        ordered_at=order.created_at,
        channel=order.channel_name,
        customer_reference=order.external_id,
        boxes=_boxes_packed(conn, order_id),
        packages=tuple(
            SlipPackage(
                box_no=p.package_no,
                carrier=p.carrier,
                service=p.service,
                tracking_number=p.tracking_number,
            )
            for p in packages
        ),
    )


def _warehouse(conn: Connection, order: Any) -> Any:
    """The warehouse holding the order's stock (as the carrier request names it), else the one
    the order was routed to."""
    wh = t.warehouse
    held = places.warehouse_holding(conn, order.id)
    if held is not None or order.warehouse_id is None:
        return held
    return conn.execute(select(wh).where(wh.c.id == order.warehouse_id)).first()


def _boxes_packed(conn: Connection, order_id: int) -> int | None:
    return len(order_records.packed_boxes(conn, order_id)) or None
