"""One settings class for the server process, read from PACKLINE_* environment variables."""

from __future__ import annotations

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
    # Carriers demand a phone number for shipments that cross a border.
    phone_required_international: bool = True
    # The country the warehouses ship from; a destination elsewhere is international.
    home_country: str = ""
    # When stock leaves the books: "shipped" (carrier custody) or "handed_over" (dock scan).
    deduct_at: Literal["shipped", "handed_over"] = "shipped"
    # Operator sessions end after a shift.
    # Shipping provider accounts as JSON: [{"provider": "easypost" | "shippo" | "shipstation",
    # "name": "...", "api_key": "...", "base_url": "...", "webhook_secret": "...",
    # "carrier_ids": [...] (ShipStation only)}]. Keys are never logged.
    carrier_accounts: str = ""
    rate_deadline_s: float = 4.0
    shipping_currency: str = "EUR"
    operator_session_hours: int = 12
    enrolment_code_hours: int = 24

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'packline.sqlite3'}"
