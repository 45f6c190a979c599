"""The pure returns rules (no database), the contract agreeing with them, and the migration
building exactly the tables the code declares, on both databases."""

from __future__ import annotations

from decimal import Decimal
from typing import get_args

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import server.db.returns_tables  # noqa: F401  (the tables under test)
from server.db.tables import metadata
from server.domain.errors import ValidationFailed
from server.domain.ledger import MovementReason
from server.domain.locations import LocationKind
from server.domain.orders import OrderState
from server.domain.returns import (
    Condition,
    Decision,
    Flag,
    LineFacts,
    RefundState,
    RmaState,
    UnitState,
    check_authorisation,
    check_triage,
    destination_kind,
    match_unit,
    movement_reason,
    needs_approval,
    refund_state,
    rma_state,
)
from shared.contract import returns as contract

LINES = [
    LineFacts(line_id=10, sku_id=1, authorised=1, received=1),
    LineFacts(line_id=11, sku_id=1, authorised=2, received=0),
]


def test_the_contract_speaks_the_domains_words() -> None:
    assert set(get_args(contract.Condition)) == {c.value for c in Condition}
    assert set(contract.CONDITIONS) == {c.value for c in Condition}
    assert set(get_args(contract.Flag)) == {f.value for f in Flag}
    assert set(get_args(contract.Decision)) == {d.value for d in Decision}
    assert contract.RMA_NUMBER.fullmatch(contract.rma_number(42)) is not None


def test_a_unit_counts_against_the_first_line_with_room_else_it_is_flagged() -> None:
    assert match_unit(sku_id=1, lines=LINES, order_skus=frozenset({1, 2})).line_id == 11
    full = [LineFacts(10, 1, 1, 1)]
    assert match_unit(sku_id=1, lines=full, order_skus=frozenset({1})).flag is Flag.NOT_AUTHORISED
    assert match_unit(sku_id=2, lines=full, order_skus=frozenset({1, 2})).flag is (
        Flag.NOT_AUTHORISED
    )
    assert match_unit(sku_id=3, lines=full, order_skus=frozenset({1})).flag is Flag.NOT_ON_ORDER
    assert match_unit(sku_id=None, lines=full, order_skus=frozenset()).flag is Flag.UNKNOWN_ITEM


def test_authorisation_needs_a_shipped_order_and_stays_within_what_was_ordered() -> None:
    ok = {"requested": {1: 2}, "ordered": {1: 3}, "authorised_before": {1: 1}}
    check_authorisation(order_state=OrderState.DELIVERED, **ok)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="left the warehouse"):
        check_authorisation(order_state=OrderState.PACKED, **ok)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="only 0 left"):
        check_authorisation(
            order_state=OrderState.SHIPPED,
            requested={1: 1},
            ordered={1: 1},
            authorised_before={1: 1},
        )
    with pytest.raises(ValidationFailed, match="positive"):
        check_authorisation(
            order_state=OrderState.SHIPPED, requested={1: 0}, ordered={1: 1}, authorised_before={}
        )


@pytest.mark.parametrize(
    ("decision", "kind", "after", "reason"),
    [
        (Decision.RESTOCK, LocationKind.BIN, UnitState.RESTOCKED, MovementReason.TRIAGE),
        (Decision.DAMAGED, LocationKind.DAMAGED, UnitState.DAMAGED, MovementReason.TRIAGE),
        (Decision.SCRAP, LocationKind.ADJUSTMENT_LOSS, UnitState.SCRAPPED, MovementReason.SCRAP),
        (Decision.VENDOR, LocationKind.VENDOR, UnitState.VENDOR, MovementReason.TRIAGE),
    ],
)
def test_each_decision_moves_stock_to_its_place(
    decision: Decision, kind: LocationKind, after: UnitState, reason: MovementReason
) -> None:
    from server.domain.returns import state_after

    assert destination_kind(decision) is kind
    assert state_after(decision) is after
    assert movement_reason(decision) is reason


def test_triage_rules() -> None:
    base = {
        "state": UnitState.QUARANTINED,
        "condition": Condition.SELLABLE,
        "sku_known": True,
        "lot_missing": False,
    }
    check_triage(decision=Decision.RESTOCK, **base)  # type: ignore[arg-type]
    refusals = [
        ({"state": UnitState.SCRAPPED}, Decision.DAMAGED, "already triaged"),
        ({"condition": Condition.MISSING_PARTS}, Decision.RESTOCK, "missing parts cannot"),
        ({"lot_missing": True}, Decision.RESTOCK, "lot of this unit"),
        ({"sku_known": False}, Decision.DAMAGED, "not in the catalog"),
    ]
    for change, decision, words in refusals:
        with pytest.raises(ValidationFailed, match=words):
            check_triage(decision=decision, **{**base, **change})  # type: ignore[arg-type]
    check_triage(decision=Decision.SCRAP, **{**base, "sku_known": False})  # type: ignore[arg-type]


def test_high_value_means_four_eyes_for_a_restock_and_a_refund_on_approval() -> None:
    limit = Decimal("200")
    assert needs_approval(decision=Decision.RESTOCK, value=Decimal("200.01"), threshold=limit)
    assert not needs_approval(decision=Decision.RESTOCK, value=Decimal("200"), threshold=limit)
    assert not needs_approval(decision=Decision.DAMAGED, value=Decimal("999"), threshold=limit)
    assert not needs_approval(decision=Decision.RESTOCK, value=None, threshold=limit)
    assert refund_state(amount=Decimal("201"), threshold=limit) is RefundState.AWAITING_APPROVAL
    assert refund_state(amount=Decimal("5"), threshold=limit) is RefundState.TRIGGERED


def test_rma_state_follows_receipts_and_triage() -> None:
    assert rma_state(authorised=2, received=0, units=0, triaged=0) is RmaState.OPEN
    assert rma_state(authorised=2, received=0, units=1, triaged=1) is RmaState.RECEIVING
    assert rma_state(authorised=2, received=2, units=3, triaged=2) is RmaState.RECEIVED
    assert rma_state(authorised=2, received=2, units=3, triaged=3) is RmaState.CLOSED


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_the_migration_builds_the_returns_tables_the_code_declares(
    db: str, request: pytest.FixtureRequest
) -> None:
    if db == "sqlite":
        url = f"sqlite:///{request.getfixturevalue('sqlite_template')}"
    else:
        url = request.getfixturevalue("pg_url")
    ours = {"rma", "rma_line", "return_unit", "return_triage", "refund_trigger"}

    def only_ours(obj: object, name: str | None, type_: str, *_: object) -> bool:
        if type_ == "table":
            return name in ours
        table = getattr(obj, "table", None)
        return table is None or table.name in ours

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": only_ours})
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == []
