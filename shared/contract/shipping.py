"""Rate shopping over HTTP: a shop's quotes and failures, the decision, the quote log, rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from shared.contract.common import Model


class QuoteOut(Model):
    id: int
    shop_no: int
    provider: str
    account: str
    carrier: str
    service: str
    amount: Decimal | None
    currency: str
    delivery_days: int | None
    failure: str | None
    created_at: datetime


class ShopOut(Model):
    shipment_id: int
    shop_no: int
    chosen_quote_id: int | None
    explanation: str
    quotes: list[QuoteOut]


class RateRuleIn(Model):
    """A rule as stored: the fields of the rate-rules engine (objective as {"kind": ...})."""

    definition: dict[str, Any] = Field(min_length=1)


class RateRuleOut(Model):
    definition: dict[str, Any]


class PackageOut(Model):
    id: int
    package_no: int
    provider: str
    carrier: str
    service: str
    tracking_number: str
    state: str
