"""One settings class for the server process, read from PACKLINE_* environment variables."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("packline", appauthor=False))


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PACKLINE_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    # Empty means the embedded default: a SQLite file in data_dir.
    database_url: str = ""
    # Pool sized for a floor of benches plus a few supervisors; PostgreSQL allows 100 by default.
    db_pool_size: int = 40
    # Cycle counts that move more than this many units need a second person (domain.md four-eyes).
    adjustment_approval_threshold: int = 20
    # The four-eyes matrix's overrides as JSON keyed by operation (server/domain/four_eyes.py
    # documents the keys and the rules); empty = domain.md's defaults. Checked at start-up.
    four_eyes: str = ""
    # A return worth more than this (per unit, in the order's currency) refunds only on approval,
    # and goes back to stock only with a second person's approval (domain.md four-eyes).
    return_approval_threshold: Decimal = Decimal("200")
    # Carriers demand a phone number for shipments that cross a border.
    phone_required_international: bool = True
    # The country the warehouses ship from; a destination elsewhere is international.
    home_country: str = ""
    # When stock leaves the books: "shipped" (carrier custody) or "handed_over" (dock scan).
    deduct_at: Literal["shipped", "handed_over"] = "shipped"
    # Operator sessions end after a shift.
    # Shipping provider accounts as JSON: [{"provider": "easypost" | "shippo" | "shipstation",
    # "name": "...", "api_key": "...", "base_url": "...", "webhook_secret": "...",
    # "carrier_ids": [...], "jwks_url": "..." (ShipStation only)}]. Keys are never logged.
    carrier_accounts: str = ""
    rate_deadline_s: float = 4.0
    # Custody: a package handed over with no carrier event after this many hours becomes a
    # custody exception; tracking is polled (the webhook fallback) for packages not heard from
    # for `tracking_poll_minutes`; the server's custody loop runs every `custody_loop_s`
    # seconds (0 = no loop; `packline custody` runs one pass by hand or from cron).
    # Packing slip paper; empty means by home country (Letter in North America, else A4).
    packing_slip_paper: Literal["", "A4", "Letter"] = ""
    custody_cutoff_hours: float = 24.0
    tracking_poll_minutes: float = 60.0
    custody_loop_s: float = 300.0
    shipping_currency: str = "EUR"
    operator_session_hours: int = 12
    enrolment_code_hours: int = 24
    # Supervisors' dashboard: orders due to ship within this many hours are at risk; a station
    # is online if its heartbeat came within `station_online_s`; a bench gap of `idle_after_s`
    # or more counts as idle. While a dashboard is open the server checks for changed figures
    # every `dashboard_poll_s`, pushes at most once per `dashboard_debounce_s`, and pushes the
    # clock-driven figures every `dashboard_tick_s`.
    at_risk_horizon_hours: float = 4.0
    station_online_s: float = 45.0
    idle_after_s: float = 300.0
    dashboard_poll_s: float = 1.0
    dashboard_debounce_s: float = 1.0
    dashboard_tick_s: float = 15.0

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'packline.sqlite3'}"
