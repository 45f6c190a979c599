"""What must be true of an order before it may be allocated (pure; intake and re-validation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.domain.address import Address, address_problems


@dataclass(frozen=True, slots=True)
class OrderProblem:
    kind: str
    reason: str
    recommendation: str
    detail: dict[str, Any] = field(default_factory=dict)


def order_problems(
    *,
    unmapped: Sequence[tuple[int, str]],
    address: Address,
    origin_country: str | None,
    phone_required: bool,
) -> list[OrderProblem]:
    """`unmapped` are (line number, listing SKU) pairs with no catalog SKU."""
    problems = [
        OrderProblem(
            "unmapped_sku",
            f"line {line_no}: listing SKU {listing!r} is not mapped to the catalog",
            "map the listing to a catalog SKU",
            {"line_no": line_no, "listing_sku": listing},
        )
        for line_no, listing in unmapped
    ]
    problems.extend(
        OrderProblem(p.kind, p.reason, "correct the address with the customer")
        for p in address_problems(
            address=address, origin_country=origin_country, phone_required=phone_required
        )
    )
    return problems
