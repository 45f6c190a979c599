"""Rate rules pick a quote by objective, conditions and filters, and say why (pure, no database)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.carriers.base import Quote
from server.domain.rate_rules import (
    Cheapest,
    CheapestWithinDays,
    Fastest,
    Named,
    Objective,
    RateRule,
    ShipmentFacts,
    decide,
)

D = Decimal
FACTS = ShipmentFacts(
    channel="amazon-de", warehouse="BER1", country="DE", postcode="10115", weight_g=1200,
    dims_mm=(300, 200, 100), order_value=D("45.00"), currency="EUR",
)  # fmt: skip


def q(carrier: str, service: str, amount: str, days: int | None, *, provider: str = "easypost",
      currency: str = "EUR") -> Quote:  # fmt: skip
    return Quote(provider, "main", carrier, service, D(amount), currency, days,
                 f"rate_{carrier}_{service}")  # fmt: skip


DHL = q("DHL", "Paket", "4.99", 2)
UPS = q("UPS", "Standard", "5.40", 3, provider="shippo")
USPS = q("USPS", "Priority", "3.50", 5)
DPD = q("DPD", "Classic", "6.20", 1)
GLS = q("GLS", "Parcel", "4.00", None)
QUOTES = [DHL, UPS, USPS, DPD, GLS]


def rule(objective: Objective, **kw: Any) -> RateRule:
    base: dict[str, Any] = {"id": "r1", "name": "EU light parcels", "priority": 10}
    return RateRule(**{**base, **kw}, objective=objective)


@pytest.mark.parametrize(
    ("objective", "winner"),
    [
        (Cheapest(), USPS),
        (Fastest(), DPD),
        (CheapestWithinDays(2), DHL),
        (CheapestWithinDays(3), DHL),
        (CheapestWithinDays(5), USPS),
        (CheapestWithinDays(1), DPD),
        (Named("UPS"), UPS),
        (Named("dhl", "PAKET"), DHL),
    ],
)
def test_every_objective_picks_its_winner(objective: Objective, winner: Quote) -> None:
    d = decide(facts=FACTS, quotes=QUOTES, rules=[rule(objective)])
    assert d.quote == winner
    assert d.rule is not None and d.rule.id == "r1"


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        ({"channels": frozenset({"Amazon-DE"})}, True),
        ({"channels": frozenset({"ebay"})}, False),
        ({"warehouses": frozenset({"BER1", "HAM2"})}, True),
        ({"warehouses": frozenset({"HAM2"})}, False),
        ({"countries": frozenset({"de", "AT"})}, True),
        ({"countries": frozenset({"FR"})}, False),
        ({"postcode_prefixes": ("10",)}, True),
        ({"postcode_prefixes": ("80", "20")}, False),
        ({"min_weight_g": 1200, "max_weight_g": 2000}, True),
        ({"max_weight_g": 1199}, False),
        ({"min_weight_g": 1201}, False),
        ({"max_dimension_mm": 300}, True),
        ({"max_dimension_mm": 299}, False),
        ({"min_order_value": D("45.00"), "max_order_value": D("100")}, True),
        ({"min_order_value": D("45.01")}, False),
        ({"max_order_value": D("44.99")}, False),
    ],
)
def test_each_condition_decides_whether_the_rule_applies(
    conditions: dict[str, Any], matches: bool
) -> None:
    d = decide(facts=FACTS, quotes=QUOTES, rules=[rule(Fastest(), **conditions)])
    assert (d.quote == DPD) is matches  # the default (cheapest) would pick USPS
    assert (d.rule is not None) is matches
    assert ("skipped" in d.trace[0]) is not matches


@pytest.mark.parametrize(
    ("filters", "winner"),
    [
        ({"allowed_carriers": frozenset({"ups", "DHL"})}, DHL),
        ({"blocked_carriers": frozenset({"GLS", "usps"})}, DHL),
        ({"allowed_services": frozenset({"Standard"})}, UPS),
        ({"blocked_services": frozenset({"Parcel", "Priority", "Paket", "Standard"})}, DPD),
        ({"multipliers": {"USPS": D("2")}}, GLS),  # carrier key: USPS 7.00 effective
        ({"multipliers": {"easypost": D("2")}}, UPS),  # provider key hits DHL, USPS, DPD, GLS
        ({"multipliers": {"GLS/Parcel": D("1.5"), "USPS": D("1.5")}}, DHL),  # 6.00 and 5.25
        ({"multipliers": {"UPS": D("0.5")}}, UPS),  # favouring: 2.70
    ],
)
def test_filters_and_multipliers_shape_the_cheapest(filters: dict[str, Any], winner: Quote) -> None:
    d = decide(facts=FACTS, quotes=QUOTES, rules=[rule(Cheapest(), **filters)])
    assert d.quote == winner
    assert d.quote is not None and d.quote.amount == winner.amount  # real amount, not effective


def test_explanation_names_the_rule_the_winner_and_the_losers_figures() -> None:
    r = rule(CheapestWithinDays(3), countries=frozenset({"DE"}), max_weight_g=2000,
             multipliers={"UPS": D("1.1")})  # fmt: skip
    d = decide(facts=FACTS, quotes=[UPS, USPS, DHL, GLS], rules=[r])
    assert d.quote == DHL
    text = d.explanation
    assert "Rule 'EU light parcels' (priority 10) matched: destination DE 10115, 1.2 kg." in text
    assert "Cheapest within 3 days: DHL Paket €4.99, 2 days" in text
    assert "UPS Standard €5.40 \u00d71.1 = €5.94" in text
    assert "USPS Priority not within 3 days: 5 days" in text
    assert "GLS Parcel not within 3 days: no delivery estimate" in text
    ups = next(c for c in d.considered if c.quote == UPS)
    assert ups.effective_amount == D("5.940") and ups.multiplier == D("1.1") and ups.eligible


def test_a_rule_without_an_eligible_quote_falls_through_to_the_next_then_the_default() -> None:
    first = rule(Named("FedEx"), id="a", name="FedEx for amazon", priority=1)
    second = rule(CheapestWithinDays(0), id="b", name="Same day", priority=2)
    skipped = rule(Fastest(), id="c", name="eBay fast", priority=3, channels=frozenset({"ebay"}))
    d = decide(facts=FACTS, quotes=QUOTES, rules=[skipped, second, first])
    assert d.quote == USPS and d.rule is None and d.objective == Cheapest()
    assert "'FedEx for amazon' (priority 1) matched" in d.explanation
    assert "Named FedEx: no eligible quote" in d.explanation
    assert "Cheapest within 0 days: no eligible quote" in d.explanation
    assert (
        "Default (no matching rule chose). Cheapest: USPS Priority €3.50, 5 days" in d.explanation
    )
    assert [line.split(" (")[0] for line in d.trace] == [
        "Rule 'FedEx for amazon'", "Rule 'Same day'", "Rule 'eBay fast'", "Default",
    ]  # fmt: skip
    assert "channel amazon-de outside the rule" in d.trace[2]

    fall_to_second = decide(facts=FACTS, quotes=QUOTES, rules=[first, rule(Fastest(), id="b")])
    assert fall_to_second.quote == DPD and fall_to_second.rule is not None
    assert fall_to_second.rule.id == "b"


def test_priority_then_id_orders_rules() -> None:
    rules = [rule(Fastest(), id="b", priority=5), rule(Named("UPS"), id="a", priority=5),
             rule(Cheapest(), id="0", priority=6)]  # fmt: skip
    assert decide(facts=FACTS, quotes=QUOTES, rules=rules).quote == UPS


def test_nothing_eligible_anywhere_gives_no_quote_and_says_so() -> None:
    usd = q("UPS", "Ground", "3.00", 2, currency="USD")
    d = decide(facts=FACTS, quotes=[usd], rules=[])
    assert d.quote is None and d.rule is None
    assert "Default (no rule matched). Cheapest: no eligible quote" in d.explanation
    assert "priced in USD, not EUR" in d.explanation
    empty = decide(facts=FACTS, quotes=[], rules=[rule(Fastest())])
    assert empty.quote is None and empty.considered == ()


def test_fastest_ignores_quotes_without_an_estimate_and_ties_break_on_cost() -> None:
    slow_cheap, fast_dear, fast_cheap = (q("A", "x", "1", None), q("B", "x", "9", 1),
                                         q("C", "x", "8", 1))  # fmt: skip
    d = decide(facts=FACTS, quotes=[slow_cheap, fast_dear, fast_cheap], rules=[rule(Fastest())])
    assert d.quote == fast_cheap


def test_equal_effective_cost_breaks_on_days_then_names() -> None:
    a, b, c = q("B", "s", "5", 3), q("A", "s", "5", 3), q("Z", "s", "5", 2)
    assert decide(facts=FACTS, quotes=[a, b, c], rules=[]).quote == c
    assert decide(facts=FACTS, quotes=[a, b], rules=[]).quote == b


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: rule(Cheapest(), multipliers={"UPS": D("-1")}), "must be > 0"),
        (lambda: rule(Cheapest(), multipliers={"UPS": D("0")}), "must be > 0"),
        (lambda: rule(Cheapest(), multipliers={" ": D("1")}), "empty multiplier key"),
        (lambda: Named("  "), "needs a carrier name"),
        (lambda: CheapestWithinDays(-1), "N >= 0"),
        (lambda: rule(Cheapest(), min_weight_g=2000, max_weight_g=1000), "weight range"),
        (lambda: rule(Cheapest(), min_weight_g=-1), "must not be negative"),
        (lambda: rule(Cheapest(), min_order_value=D("10"), max_order_value=D("5")), "inverted"),
        (lambda: rule(Cheapest(), max_dimension_mm=0), "must be positive"),
        (lambda: rule(Cheapest(), countries=frozenset({"DEU"})), "ISO alpha-2"),
        (lambda: rule(Cheapest(), postcode_prefixes=("",)), "empty postcode prefix"),
        (
            lambda: rule(
                Cheapest(), allowed_carriers=frozenset({"UPS"}), blocked_carriers=frozenset({"ups"})
            ),
            "both allowed and blocked",
        ),
        (lambda: rule(Cheapest(), name=""), "needs a name"),
        (lambda: rule(Cheapest(), id=""), "needs an id"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_error(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_rules_are_hashable_and_their_multipliers_cannot_be_changed() -> None:
    source = {"UPS": D("1.1")}
    r = rule(Cheapest(), multipliers=source)
    source["UPS"] = D("9")
    assert r.multipliers["ups"] == D("1.1")
    assert hash(r) == hash(replace(r))
    with pytest.raises(TypeError):
        r.multipliers["ups"] = D("2")  # type: ignore[index]


quote_st = st.builds(
    Quote,
    provider=st.sampled_from(["easypost", "shippo", "shipstation"]),
    account=st.just("main"),
    carrier=st.sampled_from(["UPS", "DHL", "USPS", "GLS"]),
    service=st.sampled_from(["std", "exp"]),
    amount=st.decimals(min_value=D("0.50"), max_value=D("50"), places=2),
    currency=st.sampled_from(["EUR", "EUR", "EUR", "USD"]),
    delivery_days=st.none() | st.integers(min_value=0, max_value=7),
    rate_id=st.text(alphabet="abc", max_size=3),
)
objective_st = st.one_of(
    st.just(Cheapest()), st.just(Fastest()), st.builds(CheapestWithinDays, st.integers(0, 7)),
    st.builds(Named, st.sampled_from(["UPS", "DHL"]), st.sampled_from(["", "std"])),
)  # fmt: skip
multipliers_st = st.dictionaries(
    st.sampled_from(["UPS", "DHL", "shippo", "GLS/exp"]),
    st.decimals(min_value=D("0.5"), max_value=D("2"), places=2),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(quotes=st.lists(quote_st, max_size=8), objective=objective_st, mult=multipliers_st,
       data=st.data())  # fmt: skip
def test_the_choice_is_eligible_minimal_and_order_independent(
    quotes: list[Quote], objective: Objective, mult: dict[str, Decimal], data: st.DataObject
) -> None:
    r = rule(objective, multipliers=mult, blocked_carriers=frozenset({"GLS"}))
    d = decide(facts=FACTS, quotes=quotes, rules=[r], default=Cheapest())
    eligible = [c for c in d.considered if c.eligible]
    assert all(c.quote.currency == "EUR" for c in eligible)
    if d.rule is not None:
        for c in eligible:
            assert c.quote.carrier != "GLS"
            assert c.effective_amount == c.quote.amount * r.multiplier_for(c.quote)
        chosen = next(c for c in eligible if c.quote == d.quote)
        if isinstance(objective, Fastest):
            assert chosen.quote.delivery_days is not None
            assert all(
                c.quote.delivery_days is not None
                and (c.quote.delivery_days, c.effective_amount)
                >= (chosen.quote.delivery_days, chosen.effective_amount)
                for c in eligible
            )
        else:
            assert all(c.effective_amount >= chosen.effective_amount for c in eligible)
        if isinstance(objective, CheapestWithinDays):
            assert chosen.quote.delivery_days is not None
            assert chosen.quote.delivery_days <= objective.days
    elif d.quote is not None:  # the default: cheapest EUR quote, no rule filters
        assert d.quote.currency == "EUR"
        assert all(d.quote.amount <= x.amount for x in quotes if x.currency == "EUR")
    else:
        assert not any(x.currency == "EUR" for x in quotes)
    shuffled = data.draw(st.permutations(quotes))
    again = decide(facts=FACTS, quotes=shuffled, rules=[r], default=Cheapest())
    assert again.quote == d.quote and again.explanation == d.explanation
