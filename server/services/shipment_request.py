"""What a carrier is asked for an order: ship-from (the warehouse holding its stock), ship-to,
and the parcels — the boxes the bench packed and weighed, or one parcel from the catalog."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, select

from server.carriers.base import Parcel, PostalAddress, ShipmentRequest
from server.db import order_records, places
from server.db import tables as t
from server.domain.errors import NotFound, ValidationFailed
from server.domain.rate_rules import ShipmentFacts


def build_request(
    conn: Connection, *, order_id: int, currency: str
) -> tuple[ShipmentRequest, ShipmentFacts]:
    so, ch = t.sales_order, t.channel
    order = conn.execute(
        select(so, ch.c.code.label("channel_code")).join(ch, ch.c.id == so.c.channel_id)
        .where(so.c.id == order_id)
    ).first()  # fmt: skip
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    ol, sku = t.order_line, t.sku
    warehouse = places.warehouse_holding(conn, order_id)
    if warehouse is None:
        raise ValidationFailed(f"order {order.number} holds no stock: it cannot be shipped yet")
    lines = conn.execute(
        select(ol.c.qty, ol.c.unit_price, sku.c.weight_g, sku.c.length_mm, sku.c.width_mm,
               sku.c.height_mm)
        .join(sku, sku.c.id == ol.c.sku_id)
        .where(ol.c.order_id == order_id, ol.c.line_no > 0)
    ).all()  # fmt: skip
    weight = sum(x.qty * x.weight_g for x in lines)
    dims = tuple(max((getattr(x, f) for x in lines), default=0)
                 for f in ("length_mm", "width_mm", "height_mm"))  # fmt: skip
    value = sum((x.unit_price * x.qty for x in lines), Decimal("0"))
    parcels = _packed_boxes(conn, order_id, dims) or (Parcel(weight, *dims),)
    to = order_records.ship_to_of(order)
    ship_to = PostalAddress(to.name, to.line1, to.line2, to.city, to.region, to.postcode,
                            to.country, to.phone, order.email)  # fmt: skip
    ship_from = PostalAddress(warehouse.name, warehouse.street, "", warehouse.city, "",
                              warehouse.postcode, warehouse.country, warehouse.phone,
                              company=warehouse.name)  # fmt: skip
    request = ShipmentRequest(reference=order.number, ship_from=ship_from, ship_to=ship_to,
                              parcels=parcels, value=value, currency=currency)  # fmt: skip
    facts = ShipmentFacts(
        channel=order.channel_code, warehouse=warehouse.code, country=to.country,
        postcode=to.postcode, weight_g=sum(p.weight_g for p in parcels),
        dims_mm=(dims[0], dims[1], dims[2]), order_value=value, currency=currency,
    )  # fmt: skip
    return request, facts


def _packed_boxes(conn: Connection, order_id: int, dims: tuple[int, ...]) -> tuple[Parcel, ...]:
    """The boxes of the bench's last applied pack event, weighed where a scale was present."""
    return tuple(
        Parcel(int(b.get("measured_weight_g") or b.get("expected_weight_g") or 0),
               dims[0], dims[1], dims[2])
        for b in order_records.packed_boxes(conn, order_id)
    )  # fmt: skip
