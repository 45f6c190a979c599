"""Rate shopping for an order, its permanent quote log, and the rules that pick a rate."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from server.api.deps import ActorDep, AdminDep, FloorDep, PathId, ServicesDep
from server.api.routes_floor import approval_out, change_out
from server.services.approvals import ApprovalView
from server.services.shipping_quotes import rule_from_json, rule_to_json
from shared.contract.approvals import ChangeOut
from shared.contract.custody import VoidIn
from shared.contract.shipping import PackageOut, QuoteOut, RateRuleIn, RateRuleOut, ShopOut
from shared.contract.stations import ApprovalOut

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


@router.put("/rate-rules", status_code=202, responses={200: {"model": ChangeOut}})
def save_rule(
    body: RateRuleIn,
    svc: ServicesDep,
    who: AdminDep,
    response: Response,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> ChangeOut:
    """A request to create or replace a rule (four-eyes `rate_rule_change`): 202 with the
    approval holding the exact rule; it is saved when a second person approves it (200 at once
    if the matrix waives it)."""
    rule = rule_from_json(body.definition)
    got = svc.shipping_quotes.request_rule_change(
        rule=rule, reason=reason.strip() or f"change rate rule {rule.name!r}", actor=who
    )
    return change_out(got, response, applied_status=200)


@router.post("/orders/{order_id}/labels")
def buy_labels(order_id: PathId, svc: ServicesDep, who: FloorDep) -> list[PackageOut]:
    rows = svc.labels.buy(order_id=order_id, carriers=svc.rate_shopper.carriers,
                                   currency=svc.settings.shipping_currency, actor=who)  # fmt: skip
    return [_package(r) for r in rows]


@router.post("/orders/{order_id}/ship")
def ship_order(order_id: PathId, svc: ServicesDep, who: FloorDep) -> list[PackageOut]:
    """The bench's one call once an order is packed: rate if needed, buy, answer the live
    packages. Asking again never buys again (409 order-locked while a purchase is running)."""
    rows = svc.ship_order.ship(order_id=order_id, quotes=svc.shipping_quotes,
                               shopper=svc.rate_shopper,
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


@router.post("/packages/{package_id}/void", responses={202: {"model": ApprovalOut}})
def void_package(
    package_id: PathId,
    svc: ServicesDep,
    who: FloorDep,
    response: Response,
    body: VoidIn | None = None,
) -> PackageOut | ApprovalOut:
    """Void a package's label. After handover this asks for a second person's approval instead
    (202 with the approval request); the approved payload then voids exactly that label."""
    out = svc.labels.void_package(package_id=package_id, carriers=svc.rate_shopper.carriers,
                                  actor=who, reason=body.reason if body else "")  # fmt: skip
    if isinstance(out, ApprovalView):
        response.status_code = 202
        return approval_out(out)
    return _package(out)


@router.get("/orders/{order_id}/packing-slip", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})  # fmt: skip
def packing_slip(
    order_id: PathId, svc: ServicesDep, _: ActorDep, paper: Literal["A4", "Letter"] | None = None
) -> Response:
    """The order's packing slip (PDF) for the carton; A4 or Letter, else the house default."""
    slip = svc.packing_slips.pdf(order_id=order_id, paper=paper)
    inline = {"Content-Disposition": f'inline; filename="{slip.filename}"'}
    return Response(content=slip.pdf, media_type="application/pdf", headers=inline)


def _package(row: dict[str, object]) -> PackageOut:
    return PackageOut.model_validate({k: row[k] for k in PackageOut.model_fields})


def _quote(row: dict[str, object]) -> QuoteOut:
    return QuoteOut.model_validate({k: row[k] for k in QuoteOut.model_fields})
