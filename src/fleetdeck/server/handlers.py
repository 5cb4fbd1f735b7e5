"""The API's one mapping from exceptions to error responses.

Every error body is ``{"error": KIND, "message": TEXT, "hint": TEXT|null}``: a
:class:`~fleetdeck.errors.FleetdeckError` answers with its kind's status, request validation
errors with 422 ``invalid_input``, Starlette's own HTTP errors (unknown route, wrong method)
with their status, and anything else with 500 ``internal`` — the traceback goes to the server
log only, never to the client.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fleetdeck.errors import FleetdeckError, InvalidInputError, StoreBusyError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

log = logging.getLogger(__name__)

_HTTP_KINDS = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
}


def error_body(kind: str, message: str, hint: str | None = None) -> dict[str, Any]:
    """The JSON every error response carries."""
    return {"error": kind, "message": message, "hint": hint}


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts) or "request"


async def _fleetdeck_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FleetdeckError)  # noqa: S101 - registered for this class only
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        error_body(exc.kind, exc.message, exc.hint), status_code=exc.http_status, headers=headers
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    problems = [f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
    message = "; ".join(problems[:5]) + (
        f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    )
    return JSONResponse(error_body("invalid_input", f"invalid request: {message}"), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    kind = _HTTP_KINDS.get(exc.status_code, "error")
    # FastAPI answers 400 for a body it cannot decode (not UTF-8, not JSON); that is invalid
    # input like any other, and invalid input is 422 everywhere in this API.
    status = 422 if exc.status_code == 400 else exc.status_code
    return JSONResponse(error_body(kind, str(exc.detail)), status_code=status, headers=exc.headers)


#: SQLite's primary result codes for "another connection holds the lock".
_SQLITE_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _is_busy(exc: BaseException) -> bool:
    """Whether a database error means "locked or unavailable for now", by error code."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_BUSY_CODES
    # A database server's operational error: connection lost, lock or statement timeout.
    return isinstance(exc, OperationalError)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not _is_busy(exc):
        log.exception("internal database error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal", "internal error (see server log)"), status_code=500
        )
    log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    busy = StoreBusyError(
        "the database is locked by another process; nothing was changed",
        hint="try again in a few seconds (a backup or a second server may hold the lock)",
    )
    return await _fleetdeck_error(request, busy)


async def _overflow(request: Request, exc: Exception) -> JSONResponse:
    return await _fleetdeck_error(request, InvalidInputError(f"a number is out of range: {exc}"))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The server (uvicorn) logs the traceback: Starlette re-raises after this response.
    log.error("internal error on %s %s: %r", request.method, request.url.path, exc)
    return JSONResponse(error_body("internal", "internal error (see server log)"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(FleetdeckError, _fleetdeck_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(sqlite3.OperationalError, _database_error)
    app.add_exception_handler(OverflowError, _overflow)
    app.add_exception_handler(Exception, _unexpected)
