"""The audit log: one row per change to stock, orders, catalog, users and rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from server.db import tables as t


def record(
    conn: Connection,
    *,
    at: datetime,
    station_id: int | None,
    operator_id: int | None,
    entity: str,
    entity_id: object,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(t.audit).values(
            created_at=at,
            station_id=station_id,
            operator_id=operator_id,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            detail=detail or {},
        )
    )
