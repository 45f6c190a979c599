"""The quote log on both databases: rules stored and audited, every quote of every shop kept
(a re-rate adds, never overwrites), failures kept beside quotes, the decision explained."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from server.bootstrap import Services
from server.db import tables as t
from server.domain.actor import SYSTEM
from server.domain.errors import ValidationFailed
from server.domain.rate_rules import Cheapest, CheapestWithinDays, Named, RateRule, ShipmentFacts
from server.services.rate_shop import RateShopper
from server.services.shipping_quotes import rule_from_json, rule_to_json
from tests.server.carriers.providers import REQUEST, three_providers
from tests.server.world import build_world, place

FACTS = ShipmentFacts(channel="shop", warehouse="AMS", country="NL", postcode="1015CN",
                      weight_g=1200, dims_mm=(300, 200, 100), order_value=Decimal("25"),
                      currency="USD")  # fmt: skip
RULE = RateRule(id="r1", name="NL small", priority=10, objective=CheapestWithinDays(3),
                countries=frozenset({"NL"}), max_weight_g=5000, blocked_carriers=frozenset({"X"}),
                multipliers={"UPS": Decimal("1.1")}, min_order_value=Decimal("1"))  # fmt: skip


def test_rules_round_trip_through_json() -> None:
    assert rule_from_json(rule_to_json(RULE)) == RULE
    named = RateRule(id="r2", name="DHL only", priority=5, objective=Named("DHL", "Paket"))
    assert rule_from_json(rule_to_json(named)) == named
    with pytest.raises(ValidationFailed):
        rule_from_json({**rule_to_json(RULE), "objective": {"kind": "whatever"}})


def test_every_shop_is_kept_and_explained(svc: Services) -> None:
    world = build_world(svc)
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=5,
                       actor=SYSTEM)  # fmt: skip
    order_id = place(svc, "q-1", ("SKU-A", 1))
    svc.shipping_quotes.save_rule(rule=RULE, actor=SYSTEM)
    svc.shipping_quotes.save_rule(
        rule=RateRule(id="r1", name="NL small", priority=10, objective=Cheapest()), actor=SYSTEM
    )  # an edit replaces the rule and is audited with before and after
    assert [r.objective for r in svc.shipping_quotes.active_rules()] == [Cheapest()]
    with three_providers() as p:
        shopper = RateShopper(carriers=p.carriers, deadline_s=5)
        first = svc.shipping_quotes.quote_shipment(
            order_id=order_id, request=REQUEST, facts=FACTS, shopper=shopper, actor=SYSTEM
        )
        p.shippo.html_error_status = 502  # the re-rate loses one provider
        second = svc.shipping_quotes.quote_shipment(
            order_id=order_id, request=REQUEST, facts=FACTS, shopper=shopper, actor=SYSTEM
        )
        shopper.close()
    assert (first.shop_no, second.shop_no) == (1, 2)
    assert first.chosen_quote_id is not None and "NL small" in first.decision.explanation
    rows = svc.shipping_quotes.history(order_id=order_id)
    shop1 = [r for r in rows if r["shop_no"] == 1]
    shop2 = [r for r in rows if r["shop_no"] == 2]
    assert len(shop1) == len(first.result.quotes) and all(r["failure"] is None for r in shop1)
    assert [r["provider"] for r in shop2 if r["failure"]] == ["shippo"]
    chosen = next(r for r in rows if r["id"] == first.chosen_quote_id)
    cheapest = min(r["amount"] for r in shop1)
    assert chosen["amount"] == cheapest and isinstance(chosen["amount"], Decimal)
    audits = svc.uow.read(lambda c: c.execute(
        select(t.audit.c.entity, t.audit.c.action).where(
            t.audit.c.entity.in_(["rate_rule", "shipment"]))).all())  # fmt: skip
    assert [tuple(a) for a in audits] == [
        ("rate_rule", "create"),
        ("rate_rule", "update"),
        ("shipment", "rated"),
        ("shipment", "rated"),
    ]
