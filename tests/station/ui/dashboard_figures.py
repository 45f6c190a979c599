"""Figures as the server would send them, for the dashboard screen tests (fake gateway)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shared.contract.common import Model
from shared.contract.dashboard import (
    AtRiskOrder,
    AtRiskOut,
    BacklogOut,
    BenchesOut,
    BenchFigures,
    BenchHealth,
    CarrierSpendOut,
    CustodyOut,
    CustodyRow,
    DemandRow,
    ExceptionKindCount,
    ExceptionQueueOut,
    FigureGroup,
    QueueRow,
    SpendDay,
    SpendTotal,
    StageCount,
    UnallocatedOut,
)
from station.sync.dashboard_client import FakeDashboardClient

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
STAGES = (
    "received",
    "accepted",
    "on_hold",
    "backordered",
    "preorder",
    "allocated",
    "released",
    "picking",
    "picked",
    "packing",
    "packed",
    "labelled",
    "handed_over",
)


def backlog(**counts: int) -> BacklogOut:
    stages = [StageCount(stage=s, orders=counts.get(s, 0), oldest_at=NOW) for s in STAGES]
    return BacklogOut(at=NOW, total=sum(counts.values()), stages=stages)


def queue(*rows: tuple[int, str, str, tuple[str, ...]]) -> ExceptionQueueOut:
    out = [
        QueueRow(
            id=i,
            order_id=100 + i,
            order_number=f"PL{100 + i:07d}",
            kind=kind,
            reason=reason,
            recommendation=None,
            actions=list(actions),
            created_at=NOW - timedelta(minutes=i),
        )
        for i, kind, reason, actions in rows
    ]
    kinds: dict[str, int] = {}
    for r in out:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    return ExceptionQueueOut(
        at=NOW,
        open=len(out),
        rows=out,
        kinds=[ExceptionKindCount(kind=k, open=n, oldest_at=NOW) for k, n in kinds.items()],
    )


def bench(
    sid: int, name: str, *, online: bool = True, printer: str = "ok", rate: float = 0.0
) -> BenchFigures:
    words = "Printer ready" if printer == "ok" else "Printer: out of labels"
    return BenchFigures(
        station_id=sid,
        name=name,
        kind="bench",
        units_picked=int(rate),
        units_packed=int(rate),
        units_per_hour=rate,
        mis_scans=sid,
        overrides=0,
        idle_s=600,
        last_event_at=NOW,
        health=BenchHealth(
            online=online,
            last_seen_at=NOW,
            scanner="ok",
            scanner_words="Scanner connected",
            printer=printer,
            printer_words=words,
            queued=0,
            rejected=0,
        ),
    )


def figures() -> dict[FigureGroup, Model]:
    return {
        "backlog": backlog(on_hold=2, released=5, picking=1),
        "at_risk": AtRiskOut(
            at=NOW,
            horizon_hours=4,
            overdue=1,
            due_soon=1,
            orders=[
                AtRiskOrder(
                    order_id=7,
                    number="PL0000007",
                    state="picking",
                    ship_by=NOW - timedelta(minutes=30),
                    overdue=True,
                ),
                AtRiskOrder(
                    order_id=8,
                    number="PL0000008",
                    state="released",
                    ship_by=NOW + timedelta(hours=2),
                    overdue=False,
                ),
            ],
        ),
        "unallocated": UnallocatedOut(
            at=NOW,
            units=9,
            orders=2,
            skus=[
                DemandRow(
                    sku_id=3, sku="SKU-C", name="Mug", units=9, orders=2, available=4, short=5
                )
            ],
        ),
        "exceptions": queue(
            (
                1,
                "stock_conflict",
                "not enough free stock",
                ("retry", "backorder", "allow_split", "cancel"),
            ),
            (2, "missing_phone", "the carrier needs a phone number", ("set_phone", "cancel")),
        ),
        "spend": CarrierSpendOut(
            first_day=date(2026, 11, 23),
            last_day=date(2026, 11, 25),
            days=[
                SpendDay(
                    day=date(2026, 11, 23),
                    carrier="DHL",
                    currency="EUR",
                    amount=Decimal("10.00"),
                    shipments=2,
                ),
                SpendDay(
                    day=date(2026, 11, 25),
                    carrier="DHL",
                    currency="EUR",
                    amount=Decimal("4.50"),
                    shipments=1,
                ),
                SpendDay(
                    day=date(2026, 11, 25),
                    carrier="UPS",
                    currency="EUR",
                    amount=Decimal("7.25"),
                    shipments=1,
                ),
                SpendDay(
                    day=date(2026, 11, 25),
                    carrier="UPS",
                    currency="USD",
                    amount=Decimal("3.00"),
                    shipments=1,
                ),
            ],
            totals=[
                SpendTotal(carrier="DHL", currency="EUR", amount=Decimal("14.50"), shipments=3),
                SpendTotal(carrier="UPS", currency="EUR", amount=Decimal("7.25"), shipments=1),
                SpendTotal(carrier="UPS", currency="USD", amount=Decimal("3.00"), shipments=1),
            ],
        ),
        "custody": CustodyOut(
            at=NOW,
            open=1,
            awaiting_carrier=3,
            oldest_handover_at=NOW - timedelta(hours=26),
            rows=[
                CustodyRow(
                    exception_id=9,
                    order_id=5,
                    order_number="PL0000005",
                    tracking_number="TRK5",
                    reason="no carrier scan",
                    created_at=NOW,
                )
            ],
        ),
        "benches": BenchesOut(
            at=NOW,
            window_minutes=60,
            idle_after_s=300,
            benches=[
                bench(1, "bench-1", rate=42.0),
                bench(2, "bench-2", printer="bad", rate=7.5),
                bench(3, "bench-3", online=False),
            ],
        ),
    }


def fake_dashboard() -> FakeDashboardClient:
    return FakeDashboardClient(figures())
