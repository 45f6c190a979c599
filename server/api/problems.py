"""The one place failures become HTTP: application/problem+json with a stable type per failure."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.domain import errors as e
from server.services.unit_of_work import CONSTRAINT_REFUSED, VALUE_OUT_OF_RANGE
from shared.contract import PROBLEM_BASE

log = logging.getLogger(__name__)

STATUS: dict[type[e.DomainError], int] = {
    e.NotFound: 404,
    e.ValidationFailed: 422,
    e.InvalidBarcode: 422,
    e.InsufficientStock: 409,
    e.InvalidTransition: 409,
    e.MissingEvidence: 409,
    e.OrderLocked: 409,
    e.IdempotencyMismatch: 422,
    e.BarcodeConflict: 409,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.SelfApproval: 403,
    e.ApprovalStateError: 409,
    e.PayloadMismatch: 409,
    e.DuplicateEntry: 409,
    e.InvalidSignature: 401,
    e.ExceptionStateError: 409,
    e.ProviderUnavailable: 503,
}

_HTTP_TYPES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
}


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    body.update(jsonable_encoder(extra))
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _status_for(exc: e.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(e.DomainError)
    async def domain_error(_: Request, exc: e.DomainError) -> JSONResponse:
        return problem(_status_for(exc), exc.code, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", ""))}
            for err in exc.errors()
        ]
        return problem(
            422,
            "invalid-request",
            "The request is not valid",
            "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errors),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_TYPES.get(exc.status_code, f"http-{exc.status_code}")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail))

    # Backstops: a value the database cannot hold, or a constraint a use case did not check
    # first, is the client's problem to fix — never a 500 with the request half-understood.
    async def out_of_range(_: Request, exc: Exception) -> JSONResponse:
        return problem(422, "value-out-of-range", "A value is out of range",
                       str(getattr(exc, "orig", exc)))  # fmt: skip

    async def integrity(_: Request, exc: Exception) -> JSONResponse:
        log.warning("constraint refused a write: %s", getattr(exc, "orig", exc))
        return problem(
            409,
            "constraint-violation",
            "The change conflicts with existing data",
            "a database constraint refused the change; nothing was applied",
        )

    for kind in VALUE_OUT_OF_RANGE:
        app.add_exception_handler(kind, out_of_range)
    for kind in CONSTRAINT_REFUSED:
        app.add_exception_handler(kind, integrity)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem(
            500, "internal", "Internal error", "the server failed; the request was not applied"
        )
