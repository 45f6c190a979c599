"""Server test fixtures: every test runs against SQLite AND a real PostgreSQL.

Use cases own and commit their transactions and the race tests need many real connections, so a
savepoint per test cannot isolate them; instead PostgreSQL gets its own database per run
(truncated between tests) and SQLite a fresh copy of a migrated file per test. PostgreSQL being
down fails these tests loudly: they never skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import uvicorn
from sqlalchemy import text

from server.bootstrap import Services, build_services
from server.db.engine import open_database
from server.db.migrate import upgrade
from server.db.tables import metadata
from server.main import create_app
from server.settings import ServerSettings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


class Clock:
    """A settable clock: tests move time to cross barcode windows and session expiry."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"packline_t{os.getpid()}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required and unreachable: {exc}")
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    yield url
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


def _truncate_pg(url: str) -> None:
    db = open_database(url, pool_size=1)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db.writer.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        _truncate_pg(url)
        return url
    path = tmp_path / "packline.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(db_url: str, clock: Clock, tmp_path: Path) -> Iterator[Services]:
    settings = ServerSettings(
        data_dir=tmp_path, database_url=db_url, home_country="NL", adjustment_approval_threshold=5
    )
    services = build_services(settings, clock=clock)
    yield services
    services.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(svc: Services) -> Iterator[str]:
    """The real ASGI app under uvicorn on loopback: tests speak HTTP to it."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(svc), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
