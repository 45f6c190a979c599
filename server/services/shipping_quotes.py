"""Rate rules kept in the database (visible, editable, audited) and the permanent quote log.

`quote_shipment` is the use case: ask every provider (no transaction open while carriers are
asked), decide with the stored rules, then record every quote of this shop, chosen or not, and
the decision with its explanation, in one transaction. Re-rating adds a shop; none is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from server.carriers.base import ShipmentRequest
from server.db import audit
from server.db import shipping_tables as st
from server.domain.actor import Actor
from server.domain.errors import ApprovalStateError, Forbidden, ValidationFailed
from server.domain.four_eyes import RATE_RULE_CHANGE
from server.domain.rate_rules import (
    Cheapest,
    CheapestWithinDays,
    Decision,
    Fastest,
    Named,
    Objective,
    RateRule,
    ShipmentFacts,
    decide,
)
from server.services.approvals import ApprovalService, Submitted
from server.services.context import Clock
from server.services.rate_shop import RateShopper, RateShopResult
from server.services.shipment_request import build_request
from server.services.unit_of_work import UnitOfWork

_SETS = ("channels", "warehouses", "countries", "allowed_carriers", "blocked_carriers",
         "allowed_services", "blocked_services")  # fmt: skip
_DECIMALS = ("min_order_value", "max_order_value")


def objective_to_json(objective: Objective) -> dict[str, Any]:
    if isinstance(objective, CheapestWithinDays):
        return {"kind": "cheapest_within_days", "days": objective.days}
    if isinstance(objective, Named):
        return {"kind": "named", "carrier": objective.carrier, "service": objective.service}
    return {"kind": "fastest" if isinstance(objective, Fastest) else "cheapest"}


def objective_from_json(data: dict[str, Any]) -> Objective:
    kind = data.get("kind")
    if kind == "cheapest":
        return Cheapest()
    if kind == "fastest":
        return Fastest()
    if kind == "cheapest_within_days":
        return CheapestWithinDays(int(data["days"]))
    if kind == "named":
        return Named(str(data["carrier"]), str(data.get("service", "")))
    raise ValidationFailed(f"unknown rule objective {kind!r}")


def rule_to_json(rule: RateRule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(rule):
        value = getattr(rule, f.name)
        if f.name == "objective":
            out[f.name] = objective_to_json(value)
        elif f.name in _SETS:
            out[f.name] = sorted(value)
        elif f.name == "postcode_prefixes":
            out[f.name] = list(value)
        elif f.name == "multipliers":
            out[f.name] = {k: str(v) for k, v in value.items()}
        elif f.name in _DECIMALS:
            out[f.name] = None if value is None else str(value)
        else:
            out[f.name] = value
    return out


def rule_from_json(data: dict[str, Any]) -> RateRule:
    try:
        kw: dict[str, Any] = dict(data)
        kw["objective"] = objective_from_json(kw["objective"])
        for name in _SETS:
            kw[name] = frozenset(kw.get(name) or ())
        kw["postcode_prefixes"] = tuple(kw.get("postcode_prefixes") or ())
        kw["multipliers"] = {k: Decimal(v) for k, v in (kw.get("multipliers") or {}).items()}
        for name in _DECIMALS:
            kw[name] = None if kw.get(name) is None else Decimal(kw[name])
        return RateRule(**kw)
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise ValidationFailed(f"the rule is not valid: {exc}") from exc


_ANY = object()  # `_save` without an expectation about the rule it replaces
_MAX_PRIORITY = 2**31 - 1  # an Integer column


def validate_rule_change(payload: dict[str, Any]) -> None:
    """A stored change must rebuild exactly the rule it shows (the generic approvals endpoint
    lets a client send any JSON): what the approver reads is what is written."""
    if set(payload) != {"definition", "replaces"}:
        raise ValidationFailed("a rate rule change has exactly: definition, replaces")
    definition, replaces = payload["definition"], payload["replaces"]
    if not isinstance(definition, dict) or not (replaces is None or isinstance(replaces, dict)):
        raise ValidationFailed("definition is a rule; replaces is a rule or null")
    rule = rule_from_json(definition)
    if rule_to_json(rule) != definition:
        raise ValidationFailed("the rule is not in its stored form: send it as GET shows it")
    priority = rule.priority
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValidationFailed("a rule's priority is a whole number")
    if len(rule.name) > 100 or not -_MAX_PRIORITY <= priority <= _MAX_PRIORITY:
        raise ValidationFailed("a rule name is at most 100 characters; priority fits 32 bits")


@dataclass(frozen=True, slots=True)
class ShopRecord:
    shipment_id: int
    shop_no: int
    chosen_quote_id: int | None
    decision: Decision
    result: RateShopResult


class ShippingQuotes:
    def __init__(
        self, *, uow: UnitOfWork, clock: Clock, approvals: ApprovalService | None = None
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.approvals = approvals
        if approvals is not None:
            approvals.register(
                RATE_RULE_CHANGE, self._execute_rule_change, validate=validate_rule_change
            )

    def request_rule_change(self, *, rule: RateRule, reason: str, actor: Actor) -> Submitted:
        """A person's rule change (four-eyes `rate_rule_change`): the exact rule and the one it
        replaces are stored for a second person; only the approved rule is written, and only
        if the stored rule is still the one it replaces."""
        if self.approvals is None:
            raise ValidationFailed("rule changes need the approvals service")
        rr = st.rate_rule
        before = self.uow.read(
            lambda conn: conn.execute(select(rr.c.definition).where(rr.c.name == rule.name))
            .scalar()
        )  # fmt: skip
        payload = {"definition": rule_to_json(rule), "replaces": before}
        return self.approvals.submit(
            operation=RATE_RULE_CHANGE, payload=payload, reason=reason, actor=actor
        )

    def save_rule(self, *, rule: RateRule, actor: Actor) -> None:
        """Create or replace a rule by name, for the server's own commands (seeding, CLI: an
        actor without an operator); a person's change goes through `request_rule_change`."""
        if actor.operator_id is not None:
            raise Forbidden("a person's rule change needs a second person: request it")
        self._save(rule_to_json(rule), actor, replaces=_ANY)

    def _execute_rule_change(self, payload: dict[str, Any], approver: Actor) -> dict[str, Any]:
        definition = dict(payload["definition"])
        action = self._save(definition, approver, replaces=payload.get("replaces"))
        return {"name": definition["name"], "action": action}

    def _save(self, definition: dict[str, Any], actor: Actor, *, replaces: object) -> str:
        """Create or replace by name; the change (old and new) goes to the audit log."""
        rule = rule_from_json(definition)

        def work(conn: Connection) -> str:
            now = self.clock()
            rr = st.rate_rule
            old = conn.execute(select(rr).where(rr.c.name == rule.name).with_for_update()).first()
            if replaces is not _ANY and (old.definition if old else None) != replaces:
                raise ApprovalStateError(
                    f"rate rule {rule.name!r} changed since this change was asked for: "
                    "refuse it and ask again"
                )
            if old is None:
                conn.execute(insert(rr).values(name=rule.name, priority=rule.priority,
                                               definition=definition, active=True,
                                               created_at=now, updated_at=now))  # fmt: skip
            else:
                conn.execute(
                    update(rr)
                    .where(rr.c.id == old.id)
                    .values(
                        priority=rule.priority, definition=definition, active=True, updated_at=now
                    )
                )
            action = "create" if old is None else "update"
            audit.record(conn, at=now, station_id=actor.station_id,
                         operator_id=actor.operator_id, entity="rate_rule", entity_id=rule.name,
                         action=action,
                         detail={"before": old.definition if old else None,
                                 "after": definition})  # fmt: skip
            return action

        return self.uow.write(work)

    def active_rules(self) -> list[RateRule]:
        rr = st.rate_rule

        def work(conn: Connection) -> list[RateRule]:
            rows = conn.execute(select(rr.c.definition).where(rr.c.active.is_(True))).scalars()
            return [rule_from_json(dict(d)) for d in rows]

        return self.uow.read(work)

    def quote_shipment(
        self,
        *,
        order_id: int,
        request: ShipmentRequest,
        facts: ShipmentFacts,
        shopper: RateShopper,
        actor: Actor,
    ) -> ShopRecord:
        result = shopper.shop(request)  # outside any transaction: carriers can be slow
        decision = decide(facts=facts, quotes=result.quotes, rules=self.active_rules())

        def work(conn: Connection) -> ShopRecord:
            return self._record(conn, order_id, result, decision, actor)

        return self.uow.write(work)

    def _record(
        self,
        conn: Connection,
        order_id: int,
        result: RateShopResult,
        decision: Decision,
        actor: Actor,
    ) -> ShopRecord:
        now = self.clock()
        sh, rq = st.shipment, st.rate_quote
        shipment_id = conn.execute(
            select(sh.c.id).where(sh.c.order_id == order_id).with_for_update(key_share=True)
        ).scalar()
        if shipment_id is None:
            shipment_id = conn.execute(
                insert(sh)
                .values(order_id=order_id, state="rated", created_at=now, updated_at=now)
                .returning(sh.c.id)
            ).scalar_one()
        shop_no = 1 + int(conn.execute(
            select(func.coalesce(func.max(rq.c.shop_no), 0)).where(rq.c.shipment_id == shipment_id)
        ).scalar_one())  # fmt: skip
        rows: list[dict[str, Any]] = [
            {"shipment_id": shipment_id, "shop_no": shop_no, "provider": q.provider,
             "account": q.account, "carrier": q.carrier, "service": q.service,
             "amount": q.amount, "currency": q.currency, "delivery_days": q.delivery_days,
             "rate_id": q.rate_id, "shipment_ref": q.shipment_ref, "failure": None,
             "created_at": now}
            for q in result.quotes
        ] + [
            {"shipment_id": shipment_id, "shop_no": shop_no, "provider": f.provider,
             "account": f.account, "carrier": f.carrier, "service": "", "amount": None,
             "currency": "", "delivery_days": None, "rate_id": "", "shipment_ref": "",
             "failure": f.reason, "created_at": now}
            for f in result.failures
        ]  # fmt: skip
        ids: list[int] = []
        if rows:
            ids = [
                int(i)
                for i in conn.execute(
                    insert(rq).returning(rq.c.id, sort_by_parameter_order=True), rows
                ).scalars()
            ]
        chosen = None
        if decision.quote is not None:
            chosen = ids[list(result.quotes).index(decision.quote)]
        conn.execute(
            update(sh)
            .where(sh.c.id == shipment_id)
            .values(chosen_quote_id=chosen, explanation=decision.explanation, updated_at=now)
        )
        audit.record(conn, at=now, station_id=actor.station_id, operator_id=actor.operator_id,
                     entity="shipment", entity_id=shipment_id, action="rated",
                     detail={"shop_no": shop_no, "quotes": len(result.quotes),
                             "failures": len(result.failures), "chosen": chosen,
                             "explanation": decision.explanation})  # fmt: skip
        return ShopRecord(int(shipment_id), shop_no, chosen, decision, result)

    def rate_order(
        self, *, order_id: int, shopper: RateShopper, currency: str, actor: Actor
    ) -> ShopRecord:
        """Rate an order as it stands: its warehouse, address and packed boxes."""
        request, facts = self.uow.read(
            lambda conn: build_request(conn, order_id=order_id, currency=currency)
        )
        return self.quote_shipment(order_id=order_id, request=request, facts=facts,
                                   shopper=shopper, actor=actor)  # fmt: skip

    def history(self, *, order_id: int) -> list[dict[str, Any]]:
        """Every quote ever recorded for the order's shipment, oldest shop first."""
        sh, rq = st.shipment, st.rate_quote

        def work(conn: Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                select(rq).join(sh, sh.c.id == rq.c.shipment_id)
                .where(sh.c.order_id == order_id).order_by(rq.c.shop_no, rq.c.id)
            ).all()  # fmt: skip
            return [dict(r._mapping) for r in rows]

        return self.uow.read(work)
