"""Rate shopping for an order, its permanent quote log, and the rules that pick a rate."""

from __future__ import annotations

from fastapi import APIRouter, Response

from server.api.deps import ActorDep, AdminDep, FloorDep, PathId, ServicesDep
from server.services.shipping_quotes import rule_from_json, rule_to_json
from shared.contract.shipping import PackageOut, QuoteOut, RateRuleIn, RateRuleOut, ShopOut

router = APIRouter(tags=["shipping"])


@router.post("/orders/{order_id}/rates")
def rate_order(order_id: PathId, svc: ServicesDep, who: FloorDep) -> ShopOut:
    record = svc.shipping_quotes.rate_order(
        order_id=order_id, shopper=svc.rate_shopper,
        currency=svc.settings.shipping_currency, actor=who,
    )  # fmt: skip
    shop = [q for q in svc.shipping_quotes.history(order_id=order_id)
            if q["shop_no"] == record.shop_no]  # fmt: skip
    return ShopOut(shipment_id=record.shipment_id, shop_no=record.shop_no,
                   chosen_quote_id=record.chosen_quote_id,
                   explanation=record.decision.explanation,
                   quotes=[_quote(q) for q in shop])  # fmt: skip


@router.get("/orders/{order_id}/quotes")
def quote_log(order_id: PathId, svc: ServicesDep, _: ActorDep) -> list[QuoteOut]:
    return [_quote(q) for q in svc.shipping_quotes.history(order_id=order_id)]


@router.get("/rate-rules")
def list_rules(svc: ServicesDep, _: ActorDep) -> list[RateRuleOut]:
    return [RateRuleOut(definition=rule_to_json(r)) for r in svc.shipping_quotes.active_rules()]


@router.put("/rate-rules")
def save_rule(body: RateRuleIn, svc: ServicesDep, who: AdminDep) -> RateRuleOut:
    rule = rule_from_json(body.definition)
    svc.shipping_quotes.save_rule(rule=rule, actor=who)
    return RateRuleOut(definition=rule_to_json(rule))


@router.post("/orders/{order_id}/labels")
def buy_labels(order_id: PathId, svc: ServicesDep, who: FloorDep) -> list[PackageOut]:
    rows = svc.labels.buy(order_id=order_id, carriers=svc.rate_shopper.carriers,
                                   currency=svc.settings.shipping_currency, actor=who)  # fmt: skip
    return [_package(r) for r in rows]


@router.get("/orders/{order_id}/packages")
def order_packages(order_id: PathId, svc: ServicesDep, _: ActorDep) -> list[PackageOut]:
    return [_package(r) for r in svc.labels.packages(order_id=order_id)]


@router.get("/packages/{package_id}/label", response_class=Response,
            responses={200: {"content": {"application/zpl": {}}}})  # fmt: skip
def package_label(package_id: PathId, svc: ServicesDep, _: ActorDep) -> Response:
    zpl = svc.labels.label_zpl(package_id=package_id)
    return Response(content=zpl, media_type="application/zpl")


@router.post("/packages/{package_id}/void")
def void_package(package_id: PathId, svc: ServicesDep, who: FloorDep) -> PackageOut:
    return _package(
        svc.labels.void_package(
            package_id=package_id, carriers=svc.rate_shopper.carriers, actor=who
        )
    )


def _package(row: dict[str, object]) -> PackageOut:
    return PackageOut.model_validate({k: row[k] for k in PackageOut.model_fields})


def _quote(row: dict[str, object]) -> QuoteOut:
    return QuoteOut.model_validate({k: row[k] for k in QuoteOut.model_fields})
