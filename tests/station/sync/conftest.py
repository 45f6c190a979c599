"""The server fixtures (both databases) for sync tests that talk to a real server: the server
suite's own, plus a restartable server and a signed-in station."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.bootstrap import Services
from tests.server.conftest import clock, db_url, pg_url, sqlite_template, svc  # noqa: F401
from tests.server.http import Credentials, sign_in
from tests.station.sync.server_support import ServerRunner, events_app


@pytest.fixture
def server(svc: Services) -> Iterator[ServerRunner]:  # noqa: F811
    runner = ServerRunner(events_app(svc))
    runner.start()
    yield runner
    runner.stop()


@pytest.fixture
def creds(svc: Services) -> Credentials:  # noqa: F811
    return sign_in(svc, roles=frozenset({"picker", "packer"}))
