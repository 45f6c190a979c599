"""Transactions: each use case runs in exactly one, and is retried whole on a transient failure.

Transient means the database refused to order two writers (PostgreSQL deadlock 40P01 or
serialization failure 40001, SQLite busy past its timeout). The use case is re-run from the start
on a fresh transaction, so nothing half-done is ever committed and no such error reaches a caller.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from server.db.engine import Database

T = TypeVar("T")
log = logging.getLogger(__name__)

_PG_TRANSIENT = {"40001", "40P01"}

# What the database refuses that a use case did not check first: the API edge maps these to
# client errors without importing the database layer itself.
VALUE_OUT_OF_RANGE: tuple[type[Exception], ...] = (DataError, OverflowError)
CONSTRAINT_REFUSED: tuple[type[Exception], ...] = (IntegrityError,)


def is_transient(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in _PG_TRANSIENT:
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        return "database is locked" in text or "database is busy" in text
    return False


class UnitOfWork:
    def __init__(self, db: Database, *, attempts: int = 8) -> None:
        self.db = db
        self.attempts = attempts

    def write(self, work: Callable[[Connection], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                with self.db.writer.begin() as conn:
                    return work(conn)
            except DBAPIError as exc:
                if not is_transient(exc) or attempt == self.attempts:
                    raise
                log.info("transient database conflict, retrying (attempt %d): %s", attempt, exc)
                time.sleep(random.uniform(0.001, 0.01) * attempt)
        raise AssertionError("unreachable")

    def read(self, work: Callable[[Connection], T]) -> T:
        with self.db.reader.connect() as conn, conn.begin():
            return work(conn)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.db.reader.connect() as conn, conn.begin():
            yield conn
