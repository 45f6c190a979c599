"""Composition root of the server process: settings -> services -> FastAPI app -> uvicorn."""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from server.api import problems, routes_events
from server.api.routes_catalog import router as catalog_router
from server.api.routes_custody import router as custody_router
from server.api.routes_dashboard import router as dashboard_router
from server.api.routes_floor import router as floor_router
from server.api.routes_identity import router as identity_router
from server.api.routes_orders import router as orders_router
from server.api.routes_returns import router as returns_router
from server.api.routes_shipping import router as shipping_router
from server.api.routes_stock import router as stock_router
from server.bootstrap import Services, build_services
from server.custody_loop import CustodyLoop
from server.db.migrate import upgrade
from server.settings import ServerSettings
from shared.contract import API_PREFIX

log = logging.getLogger("packline.server")


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        custody = CustodyLoop(services)
        custody.start()
        yield
        custody.stop()
        services.live.close_all()  # open event streams would otherwise hold shutdown forever
        services.close()

    app = FastAPI(
        title="packline server",
        version="0.1.0",
        description="The authoritative stock ledger, orders, allocation and exceptions.",
        lifespan=lifespan,
    )
    app.state.services = services
    problems.install(app)
    for router in (
        identity_router, catalog_router, stock_router, orders_router, floor_router,
        shipping_router,
        custody_router,
        dashboard_router,
        returns_router,
    ):  # fmt: skip
        app.include_router(router, prefix=API_PREFIX)
    routes_events.install(app, events=services.station_events, live=services.live)

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        try:
            with services.db.reader.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("health check: database unreachable: %s", exc)
            return problems.problem(503, "database-unreachable", "Database unreachable", str(exc))
        return JSONResponse(
            {"status": "ok", "database": "reachable", "dialect": services.db.writer.dialect.name}
        )

    return app


def serve(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="packline-server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    settings = ServerSettings()
    url = settings.resolved_database_url()
    upgrade(url)  # the schema is always current before the first request
    uvicorn.run(
        create_app(build_services(settings)),
        host=args.host,
        port=args.port,
        timeout_graceful_shutdown=5,
    )
