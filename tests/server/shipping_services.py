"""Server services wired to provider fakes: the one way shipping tests build them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from server.bootstrap import Services, build_services
from server.settings import ServerSettings
from tests.fakes.shippo_server import FakeShippo
from tests.server.conftest import Clock


def shippo_account(fake: FakeShippo, **extra: Any) -> dict[str, Any]:
    return {"provider": "shippo", "name": "sp", "api_key": fake.api_key,
            "base_url": fake.base_url, **extra}  # fmt: skip


def services_with(
    accounts: list[dict[str, Any]], *, db_url: str, clock: Clock, tmp_path: Path, **settings: Any
) -> Services:
    """Services whose carrier accounts are `accounts` (shipping currency USD, home NL)."""
    base: dict[str, Any] = {"home_country": "NL", "shipping_currency": "USD",
                            "rate_deadline_s": 5}  # fmt: skip
    return build_services(
        ServerSettings(data_dir=tmp_path, database_url=db_url,
                       carrier_accounts=json.dumps(accounts), **{**base, **settings}),
        clock=clock,
    )  # fmt: skip


def running_shippo() -> Iterator[FakeShippo]:
    """Body of a `shippo` fixture: a Shippo fake on loopback for the test."""
    fake = FakeShippo().start()
    yield fake
    fake.stop()


def closing(services: Services) -> Iterator[Services]:
    """Body of a `svc` fixture: the services, closed after the test."""
    yield services
    services.close()
