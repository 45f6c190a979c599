"""CSV order import: good rows commit in batches, bad rows go to the exception queue."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from server.channels import csv_orders
from server.db import order_records
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.errors import DomainError
from server.services.intake import IntakeResult, IntakeService, channel_by_code

# Orders per transaction: large enough that 10,000 orders import in seconds, small enough that
# the SQLite write lock is never held long against the benches.
BATCH = 500


@dataclass(frozen=True, slots=True)
class CsvImportReport:
    created: int
    existing: int
    failed_rows: tuple[tuple[int, str], ...]
    results: tuple[IntakeResult, ...]


class CsvIntakeService:
    def __init__(self, *, intake: IntakeService) -> None:
        self.intake = intake

    def import_orders(self, *, channel_code: str, content: str, actor: Actor) -> CsvImportReport:
        parsed = csv_orders.parse(content)
        uow = self.intake.uow
        failed: list[tuple[int, str]] = [(e.line_number, e.reason) for e in parsed.errors]
        if parsed.errors:

            def park(conn: Connection) -> None:
                channel = channel_by_code(conn, channel_code)
                ex = t.order_exception
                for e in parsed.errors:
                    key = f"{channel.id}:{e.dedup_key}"
                    if conn.execute(select(ex.c.id).where(ex.c.dedup_key == key)).first():
                        continue  # a re-import reports the row again but parks it once
                    order_records.open_exception(
                        conn,
                        order_id=None,
                        channel_id=channel.id,
                        kind="csv_row",
                        reason=f"line {e.line_number}: {e.reason}",
                        detail={"line_number": e.line_number, "raw": e.raw},
                        recommendation="fix the row at the source and import it again",
                        now=self.intake.clock(),
                        dedup_key=key,
                    )

            uow.write(park)
        results: list[IntakeResult] = []
        orders = list(parsed.orders)
        for start in range(0, len(orders), BATCH):
            chunk = orders[start : start + BATCH]

            def batch(
                conn: Connection, chunk: list[csv_orders.CsvOrder] = chunk
            ) -> list[IntakeResult]:
                return self.intake.ingest_many(
                    conn, channel_code=channel_code, orders=[o.order for o in chunk], actor=actor
                )

            try:
                results.extend(uow.write(batch))
            except (DomainError, SQLAlchemyError):
                # One order spoiled the batch: import its orders one by one so only it fails.
                for o in chunk:
                    try:
                        results.append(
                            self.intake.ingest(
                                channel_code=channel_code, order=o.order, actor=actor
                            )
                        )
                    except (DomainError, SQLAlchemyError) as exc:
                        reason = exc.detail if isinstance(exc, DomainError) else str(exc)
                        failed.extend((n, reason) for n in o.line_numbers)
        created = sum(1 for r in results if r.created)
        return CsvImportReport(
            created, len(results) - created, tuple(sorted(failed)), tuple(results)
        )
