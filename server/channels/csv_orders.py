"""The CSV fallback door: one row per order line, rows of one order share its order id.

Columns: order_id, sku, quantity, unit_price, name, address1, address2, city, region, postcode,
country, phone, email, paid. A bad row is reported with its line number and reason; it never
stops the good rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from server.domain.address import Address
from server.domain.errors import ValidationFailed
from server.domain.intake import IncomingLine, IncomingOrder

REQUIRED = ("order_id", "sku", "quantity")


@dataclass(frozen=True, slots=True)
class CsvOrder:
    line_numbers: tuple[int, ...]
    order: IncomingOrder


@dataclass(frozen=True, slots=True)
class CsvRowError:
    line_number: int
    reason: str
    raw: str

    @property
    def dedup_key(self) -> str:
        return hashlib.sha256(f"csv:{self.raw}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CsvParse:
    orders: tuple[CsvOrder, ...]
    errors: tuple[CsvRowError, ...]


def parse(content: str) -> CsvParse:
    reader = csv.DictReader(io.StringIO(content))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed(f"the CSV lacks columns: {', '.join(missing)}")
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = {}
    errors: list[CsvRowError] = []
    for row in reader:
        line = reader.line_num
        raw = ",".join(str(v) for v in row.values())
        if None in row:
            errors.append(CsvRowError(line, "the row has more fields than the header", raw))
            continue
        ext = (row.get("order_id") or "").strip()
        sku = (row.get("sku") or "").strip()
        qty_text = (row.get("quantity") or "").strip()
        if not ext:
            errors.append(CsvRowError(line, "order_id is empty", raw))
        elif not sku:
            errors.append(CsvRowError(line, "sku is empty", raw))
        elif not qty_text.isdigit() or int(qty_text) <= 0:
            errors.append(CsvRowError(line, f"quantity {qty_text!r} is not a positive number", raw))
        else:
            try:
                Decimal((row.get("unit_price") or "0").strip() or "0")
            except InvalidOperation:
                errors.append(CsvRowError(line, f"unit_price {row.get('unit_price')!r}", raw))
                continue
            grouped.setdefault(ext, []).append((line, row))
    orders = []
    for ext, rows in grouped.items():
        first = rows[0][1]
        address = Address(
            name=first.get("name", "") or "",
            line1=first.get("address1", "") or "",
            line2=first.get("address2", "") or "",
            city=first.get("city", "") or "",
            region=first.get("region", "") or "",
            postcode=first.get("postcode", "") or "",
            country=(first.get("country", "") or "").upper(),
            phone=first.get("phone", "") or "",
        )
        lines = tuple(
            IncomingLine(
                r["sku"].strip(),
                int(r["quantity"]),
                Decimal((r.get("unit_price") or "0").strip() or "0"),
                r.get("title", "") or "",
            )
            for _, r in rows
        )
        paid = (first.get("paid") or "").strip().lower() in ("1", "yes", "true", "paid")
        orders.append(
            CsvOrder(
                tuple(n for n, _ in rows),
                IncomingOrder(
                    external_id=ext,
                    lines=lines,
                    address=address,
                    email=first.get("email", "") or "",
                    payment_captured=paid,
                    payment_reference=f"csv:{ext}" if paid else "",
                    total=sum((x.unit_price * x.qty for x in lines), Decimal("0")),
                ),
            )
        )
    return CsvParse(tuple(orders), tuple(errors))
