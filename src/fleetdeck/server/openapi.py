"""The OpenAPI document as the API really answers: error responses and streaming media types.

FastAPI documents a route's success response and a 422 in its own validation shape, which
fleetdeck never sends. Clients and fuzzers (the schemathesis test) read the document to know
what to expect, so :func:`install_openapi` adds, to every ``/api/v1`` operation, the error
statuses it can answer, each with the project's one error body (:class:`ErrorBody`, as
:mod:`fleetdeck.server.handlers` writes it), and replaces FastAPI's 422.

Which statuses an operation answers follows from how it is built, the same way the handlers
and guards decide them:

========  ======================================================================
401       it needs a login (a ``require(role)`` guard), or it is the login itself
403       it needs more than ``viewer``, or it changes something (a cookie
          session's write can be refused by the CSRF check)
404       it takes any input: a path or query parameter or a body field may name an
          environment, node, container… that does not exist
409       it changes something (exists already, in use, wrong state)
413       it takes a body (bodies are size-capped)
422       it takes any parameter or body (validation, bad values)
429       the login (rate limited)
503       it needs the store or an agent (database busy, node unreachable)
========  ======================================================================

Streaming routes say their media type with ``response_class``: :class:`NdjsonStream`
(``application/x-ndjson``) or :class:`EventStream` (``text/event-stream``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.openapi.utils import get_openapi
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel

from fleetdeck.server.routes import API_PREFIX, INSTALL_PREFIX

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.dependencies.models import Dependant

__all__ = [
    "ErrorBody",
    "EventStream",
    "NdjsonStream",
    "api_operations",
    "error_statuses",
    "install_openapi",
]

NDJSON = "application/x-ndjson"


class NdjsonStream(StreamingResponse):
    """A streamed answer of JSON objects, one a line (declares ``application/x-ndjson``)."""

    media_type = NDJSON


class EventStream(StreamingResponse):
    """Server-sent events (declares ``text/event-stream``)."""

    media_type = "text/event-stream"


class ErrorBody(BaseModel):
    """Every error response: a stable kind, a message, and what to do about it."""

    error: str
    message: str
    hint: str | None = None


DESCRIPTIONS = {
    401: "Not logged in, or the credentials are invalid or expired",
    403: "The caller's role (or token's role) does not allow it",
    404: "Something the request names does not exist",
    409: "It exists already, or its state forbids the change",
    413: "The request body is too large",
    422: "The request is malformed or asks for something impossible",
    429: "Too many attempts; try again after Retry-After seconds",
    503: "The database is busy or a node is unreachable; try again (Retry-After when known)",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
_WWW_AUTHENTICATE = {"WWW-Authenticate": {"schema": {"type": "string"}}}
#: Public routes, and what they answer besides success (the rest are derived from guards).
PUBLIC = {
    ("GET", f"{API_PREFIX}/health"): set[int](),
    ("GET", f"{API_PREFIX}/ca"): set[int](),
    ("POST", f"{API_PREFIX}/auth/login"): {401, 413, 422, 429, 503},
    ("POST", f"{API_PREFIX}/agents/enrol"): {401, 403, 404, 409, 413, 422, 503},
    # A Git forge's push: authenticated by its signature (docs/gitops.md).
    ("POST", f"{API_PREFIX}/repos/{{name}}/webhook"): {401, 413, 422, 503},
    # /install/: the agent's distribution (server/install/api.py), none of it behind a login.
    ("GET", f"{INSTALL_PREFIX}/agent.sh"): {503},
    ("GET", f"{INSTALL_PREFIX}/manifest.json"): {404, 503},
    ("GET", f"{INSTALL_PREFIX}/wheels/{{name}}"): {404, 422, 503},
    ("GET", f"{INSTALL_PREFIX}/fleetdeck-agent-image.tar"): {404, 503},
    ("GET", f"{INSTALL_PREFIX}/fleetdeck-agent.service"): {404, 503},
    ("POST", f"{INSTALL_PREFIX}/token-check"): {401, 403, 404, 409, 413, 422, 503},
}
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _operations(app: FastAPI, prefix: str) -> list[RouteContext]:
    """Every documented route of ``app`` under ``prefix``, through included routers."""
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.include_in_schema
        and context.path
        and context.path.startswith(prefix + "/")
        and context.methods
    ]


def install_operations(app: FastAPI) -> list[RouteContext]:
    """Every ``/install/`` route of ``app`` (public; their statuses are listed in PUBLIC)."""
    return _operations(app, INSTALL_PREFIX)


def _required_role(dependant: Dependant) -> str | None:
    """The role a route's guard demands (``require_<role>``), None for a public route."""
    for dep in dependant.dependencies:
        name = getattr(dep.call, "__name__", "")
        if name.startswith("require_"):
            return name.removeprefix("require_")
        found = _required_role(dep)
        if found is not None:
            return found
    return None


def _inputs(dependant: Dependant) -> set[str]:
    """Where a route (with its dependencies) takes input: path, query, header, body."""
    found = {
        kind
        for kind, fields in (
            ("path", dependant.path_params),
            ("query", dependant.query_params),
            ("header", dependant.header_params),
            ("body", dependant.body_params),
        )
        if fields
    }
    for dep in dependant.dependencies:
        found |= _inputs(dep)
    return found


def error_statuses(dependant: Dependant, path: str, method: str) -> set[int]:
    """The error statuses ``method`` on ``path`` can answer (see the module's table).

    Args:
        dependant: The route's (effective) dependency tree: its guard and its inputs.
        path: The route's full path template (``/api/v1/…``).
        method: The HTTP method.
    """
    public = PUBLIC.get((method, path))
    if public is not None:
        return set(public)
    inputs = _inputs(dependant)
    body = "body" in inputs
    write = method in _WRITES
    role = _required_role(dependant)
    statuses = {503}
    if role is not None:
        statuses.add(401)
        if role != "viewer" or write:
            statuses.add(403)
    if write:
        statuses.add(409)
    if body:
        statuses.add(413)
    if inputs:
        statuses |= {404, 422}
    return statuses


def api_operations(app: FastAPI) -> list[RouteContext]:
    """Every documented ``/api/v1`` route of ``app``, through included routers."""
    return _operations(app, API_PREFIX)


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    if status in (429, 503):
        response["headers"] = _RETRY_AFTER
    elif status == 401:
        response["headers"] = _WWW_AUTHENTICATE
    return response


def _document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title, version=app.version, routes=app.routes, description=app.description
    )
    for context in [*api_operations(app), *install_operations(app)]:
        path = context.path or ""  # api_operations keeps only routes with a path and methods
        for method in sorted((context.methods or set()) - {"HEAD"}):
            operation = doc["paths"][context.path_format][method.lower()]
            responses = operation["responses"]
            responses.pop("422", None)  # FastAPI's shape; ours is ErrorBody
            for status in sorted(error_statuses(context.dependant, path, method)):
                responses[str(status)] = _error_response(status)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`_document` (built once, on first request) as ``app``'s OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
