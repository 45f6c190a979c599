"""A real packline server for sync tests under uvicorn, which can be stopped and started again
on the same port (the bench's "server went away and came back")."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from server.bootstrap import Services
from server.main import create_app


def events_app(svc: Services, *, heartbeat_s: float = 15.0) -> FastAPI:
    app = create_app(svc)
    app.state.live_events.heartbeat_s = heartbeat_s  # tests wait for a beat: make it quick
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerRunner:
    """uvicorn on a fixed loopback port that can be stopped and started again (an outage)."""

    def __init__(self, app: FastAPI, *, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        live = getattr(self.app.state, "live_events", None)
        if live is not None:
            live.open()  # this test server may be started again after a stop
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=5,
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            # Open event streams never finish on their own: end them, or shutdown waits for them.
            live = getattr(self.app.state, "live_events", None)
            if live is not None:
                live.close_all()
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._server = None


def wait_for(predicate, *, timeout_s: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
