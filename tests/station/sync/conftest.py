"""The server fixtures (both databases) for sync tests that talk to a real server.

`db_url`, `clock` and `svc` are the server suite's own; `pg_url` and `sqlite_template` are
redefined here only to add the `station_event` table until its migration lands.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from server.bootstrap import Services
from server.db.migrate import upgrade
from tests.server.conftest import PG_ADMIN, clock, db_url, svc  # noqa: F401
from tests.server.http import Credentials, sign_in
from tests.station.sync.server_support import ServerRunner, ensure_event_tables, events_app


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"packline_sync{os.getpid()}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required and unreachable: {exc}")
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    ensure_event_tables(url)
    yield url
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    ensure_event_tables(f"sqlite:///{path}")
    return path


@pytest.fixture
def server(svc: Services) -> Iterator[ServerRunner]:  # noqa: F811
    runner = ServerRunner(events_app(svc))
    runner.start()
    yield runner
    runner.stop()


@pytest.fixture
def creds(svc: Services) -> Credentials:  # noqa: F811
    return sign_in(svc, roles=frozenset({"picker", "packer"}))
