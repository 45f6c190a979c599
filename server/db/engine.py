"""Engines for the two supported databases, with the locking discipline each one needs.

SQLite has no row locks: every writing transaction starts with BEGIN IMMEDIATE so a read-then-write
never has to upgrade its lock (a deferred upgrade fails with "database is locked" at once, whatever
the busy timeout; reference/ledger.md 3.3). Reads use a second engine with plain deferred BEGIN so
they do not queue behind writers. On PostgreSQL one engine serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class Database:
    writer: Engine
    reader: Engine
    url: str

    @property
    def is_sqlite(self) -> bool:
        return self.writer.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def _sqlite_pragmas(dbapi_conn: Any, *, write: bool) -> None:
    # The driver's own transaction handling would emit a deferred BEGIN; we emit our own.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed ledger row survives a power cut, not only a process crash.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    if not write:
        cur.execute("PRAGMA query_only=ON")
    cur.close()


def _sqlite_engine(url: str, *, write: bool, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_conn, write=write)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def open_database(url: str, *, pool_size: int = 40) -> Database:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        writer = _sqlite_engine(url, write=True, pool_size=pool_size)
        reader = _sqlite_engine(url, write=False, pool_size=pool_size)
        return Database(writer=writer, reader=reader, url=url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
    return Database(writer=engine, reader=engine, url=url)
