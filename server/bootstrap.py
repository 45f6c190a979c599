"""Builds the server's object graph from settings: the one place concrete adapters are chosen."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from server.carriers.base import Account, Carrier
from server.carriers.easypost import EasyPostCarrier
from server.carriers.shippo import ShippoCarrier
from server.carriers.shipstation import ShipStationCarrier
from server.db.engine import Database, open_database
from server.db.notify import PgLiveBridge, start_live_bridge
from server.domain.four_eyes import matrix_from_setting
from server.domain.orders import OrderState
from server.services.allocation import AllocationService
from server.services.approvals import ApprovalService
from server.services.catalog import CatalogService
from server.services.context import Clock, utc_now
from server.services.counts import CountService
from server.services.csv_intake import CsvIntakeService
from server.services.custody import CustodyService
from server.services.dashboard import DashboardService
from server.services.dashboard_feed import DashboardFeed
from server.services.exceptions import ExceptionService
from server.services.identity import IdentityService
from server.services.intake import IntakeService
from server.services.labels import VOID_AFTER_HANDOVER, LabelService
from server.services.ledger import LedgerService
from server.services.live_events import LiveEvents
from server.services.orders import OrderService
from server.services.packing_slip import PackingSlipService, paper_for
from server.services.rate_shop import RateShopper
from server.services.returns import ReturnsService
from server.services.rules import RuleService
from server.services.ship_order import ShipOrder
from server.services.shipping_quotes import ShippingQuotes
from server.services.spend import SpendService
from server.services.station_events import StationEventService
from server.services.tasks import TaskService
from server.services.unit_of_work import UnitOfWork
from server.settings import ServerSettings


@dataclass(frozen=True)
class Services:
    settings: ServerSettings
    db: Database
    uow: UnitOfWork
    clock: Clock
    catalog: CatalogService
    ledger: LedgerService
    intake: IntakeService
    csv_intake: CsvIntakeService
    allocation: AllocationService
    orders: OrderService
    exceptions: ExceptionService
    identity: IdentityService
    approvals: ApprovalService
    counts: CountService
    tasks: TaskService
    rules: RuleService
    live: LiveEvents
    station_events: StationEventService
    shipping_quotes: ShippingQuotes
    rate_shopper: RateShopper
    labels: LabelService
    packing_slips: PackingSlipService
    ship_order: ShipOrder
    custody: CustodyService
    spend: SpendService
    returns: ReturnsService
    dashboard: DashboardService
    # Carries live events to the other server processes on the same PostgreSQL (None on SQLite).
    live_bridge: PgLiveBridge | None = None

    def close(self) -> None:
        self.dashboard.feed.stop()
        if self.live_bridge is not None:
            self.live_bridge.stop()
        self.rate_shopper.close()
        self.db.dispose()


def carriers_from_settings(settings: ServerSettings) -> list[Carrier]:
    """The configured provider accounts as adapters (the composition root picks them here)."""
    if not settings.carrier_accounts.strip():
        return []
    try:
        entries = json.loads(settings.carrier_accounts)
    except ValueError as exc:
        raise ValueError(f"PACKLINE_CARRIER_ACCOUNTS is not JSON: {exc}") from exc
    carriers: list[Carrier] = []
    for entry in entries:
        account = Account(
            provider=entry["provider"], name=entry["name"], api_key=entry["api_key"],
            base_url=entry["base_url"], webhook_secret=entry.get("webhook_secret", ""),
        )  # fmt: skip
        if account.provider == "easypost":
            carriers.append(EasyPostCarrier(account))
        elif account.provider == "shippo":
            carriers.append(ShippoCarrier(account=account))
        elif account.provider == "shipstation":
            extra = {"jwks_url": entry["jwks_url"]} if entry.get("jwks_url") else {}
            carriers.append(ShipStationCarrier(account=account,
                                               carrier_ids=list(entry.get("carrier_ids", [])),
                                               **extra))  # fmt: skip
        else:
            raise ValueError(f"unknown shipping provider {account.provider!r}")
    return carriers


def build_services(
    settings: ServerSettings, *, clock: Clock = utc_now, db: Database | None = None
) -> Services:
    database = db or open_database(
        settings.resolved_database_url(), pool_size=settings.db_pool_size
    )
    uow = UnitOfWork(database)
    origin = settings.home_country.upper() or None
    ledger = LedgerService(uow=uow, clock=clock)
    intake = IntakeService(
        uow=uow,
        clock=clock,
        origin_country=origin,
        phone_international=settings.phone_required_international,
    )
    allocation = AllocationService(uow=uow, clock=clock)
    live = LiveEvents()
    orders = OrderService(
        uow=uow,
        clock=clock,
        origin_country=origin,
        deduct_at=OrderState(settings.deduct_at),
        live=live,
    )
    # An invalid four-eyes setting stops start-up here, with the setting's name and the reason.
    four_eyes = matrix_from_setting(
        settings.four_eyes, adjustment_threshold=settings.adjustment_approval_threshold
    )
    approvals = ApprovalService(uow=uow, clock=clock, matrix=four_eyes)
    rate_shopper = RateShopper(
        carriers=carriers_from_settings(settings), deadline_s=settings.rate_deadline_s
    )
    labels = LabelService(uow=uow, clock=clock, approvals=approvals)
    approvals.register(
        VOID_AFTER_HANDOVER, partial(labels.void_approved, carriers=rate_shopper.carriers)
    )
    # Started last, so a setting refused above leaves no thread behind.
    live_bridge = start_live_bridge(database, local=live)
    live.attach_relay(live_bridge)
    return Services(
        settings=settings,
        db=database,
        uow=uow,
        clock=clock,
        catalog=CatalogService(uow=uow, clock=clock),
        ledger=ledger,
        intake=intake,
        csv_intake=CsvIntakeService(intake=intake),
        allocation=allocation,
        orders=orders,
        exceptions=ExceptionService(
            uow=uow, clock=clock, orders=orders, allocation=allocation, origin_country=origin
        ),
        identity=IdentityService(
            uow=uow,
            clock=clock,
            session_hours=settings.operator_session_hours,
            code_hours=settings.enrolment_code_hours,
        ),
        approvals=approvals,
        counts=CountService(ledger=ledger, approvals=approvals),
        tasks=TaskService(uow=uow, clock=clock),
        rules=RuleService(uow=uow, clock=clock, approvals=approvals),
        live=live,
        station_events=StationEventService(uow=uow, clock=clock),
        shipping_quotes=ShippingQuotes(uow=uow, clock=clock, approvals=approvals),
        labels=labels,
        packing_slips=PackingSlipService(
            uow=uow, paper=settings.packing_slip_paper or paper_for(settings.home_country)
        ),
        ship_order=ShipOrder(uow=uow, clock=clock, labels=labels),
        rate_shopper=rate_shopper,
        custody=CustodyService(
            uow=uow,
            clock=clock,
            deduct_at=OrderState(settings.deduct_at),
            cutoff=timedelta(hours=settings.custody_cutoff_hours),
            poll_after=timedelta(minutes=settings.tracking_poll_minutes),
            live=live,
        ),
        spend=SpendService(uow=uow),
        returns=ReturnsService(
            uow=uow,
            clock=clock,
            approvals=approvals,
            threshold=settings.return_approval_threshold,
            allocation=allocation,
        ),
        dashboard=DashboardService(
            uow=uow,
            clock=clock,
            horizon_hours=settings.at_risk_horizon_hours,
            online_s=settings.station_online_s,
            idle_after_s=settings.idle_after_s,
            feed=dashboard_feed(settings, uow=uow, live=live),
        ),
        live_bridge=live_bridge,
    )


def dashboard_feed(settings: ServerSettings, *, uow: UnitOfWork, live: LiveEvents) -> DashboardFeed:
    feed = DashboardFeed(uow=uow, poll_s=settings.dashboard_poll_s,
                         debounce_s=settings.dashboard_debounce_s,
                         tick_s=settings.dashboard_tick_s)  # fmt: skip
    feed.listen_to(live)  # order changes announced to the benches move the figures too
    return feed
