"""Shared pieces of the agent's HTTP API: app keys, errors as JSON, input parsing, NDJSON.

Every route module uses these so that the whole API answers errors the same way
(``{"error": KIND, "message": TEXT}`` with the kind's status, never a traceback) and rejects
malformed input with 422 ``invalid_input``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from fleetdeck.agent.engine import Engine
from fleetdeck.agent.inventory import ContainerInventory
from fleetdeck.errors import FleetdeckError, InvalidInputError, InvalidPathError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiohttp.typedefs import Handler

ENGINE = web.AppKey("engine", Engine)
INVENTORY = web.AppKey("inventory", ContainerInventory)
ON_FORGET: web.AppKey[Callable[[], Awaitable[None]]] = web.AppKey("on_forget")
NDJSON = "application/x-ndjson"

log = logging.getLogger("fleetdeck.agent.api")
ModelT = TypeVar("ModelT", bound=BaseModel)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def error_response(exc: FleetdeckError) -> web.Response:
    """The JSON error body of a fleetdeck error kind, with its HTTP status."""
    return web.json_response({"error": exc.kind, "message": exc.message}, status=exc.http_status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map every error to the contract's JSON body; log (never leak) unexpected ones."""
    try:
        return await handler(request)
    except FleetdeckError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status == 404:
            return error_response(NotFoundError(f"no route {request.method} {request.path}"))
        kind = "invalid_input" if exc.status < 500 else "error"
        body = {"error": kind, "message": exc.reason}
        return web.json_response(body, status=exc.status)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        body = {"error": "error", "message": "internal error in the agent (see its log)"}
        return web.json_response(body, status=500)


#: Route parameters that are more than one path segment: an image reference holds ``/``
#: (``10.0.0.1:5000/team/web:1``). Every other parameter is one segment.
MULTI_SEGMENT_PARAMS = frozenset({("/v1/images/{ref}", "ref")})


def check_path_segments(canonical: str, raw_path: str, match_info: dict[str, str]) -> None:
    """Refuse a path whose segments could reach another route than the one they name.

    The server percent-encodes every segment it puts in a path, so ``..%2Fcontainers%2FID``
    in an image's place decodes to one parameter, ``../containers/ID``: without this check a
    route handler could still hand it to the engine, whose own API resolves it as a path.

    Raises:
        InvalidPathError: a raw segment is ``.`` or ``..``, a parameter holds ``/`` (where it
            is one segment), or a part of a parameter is empty, ``.`` or ``..``.
    """
    if any(part in (".", "..") for part in raw_path.split("/")):
        raise InvalidPathError(f"path {raw_path!r} has a '.' or '..' segment")
    for name, value in match_info.items():
        if "/" in value and (canonical, name) not in MULTI_SEGMENT_PARAMS:
            raise InvalidPathError(f"{name} {value!r} must not contain '/'")
        if any(part in ("", ".", "..") for part in value.split("/")):
            raise InvalidPathError(f"{name} {value!r} has an empty, '.' or '..' part")


@web.middleware
async def path_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 400 ``invalid_path`` to a traversal attempt before any handler runs."""
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else request.path
    check_path_segments(canonical, request.raw_path.partition("?")[0], dict(request.match_info))
    return await handler(request)


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    """A boolean query parameter (1/0, true/false, yes/no), or 422."""
    raw = request.query.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidInputError(f"query parameter {name!r} must be a boolean, not {raw!r}")


def query_int(request: web.Request, name: str, *, minimum: int = 0) -> int | None:
    """An integer query parameter (at least ``minimum``), or 422."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"query parameter {name!r} must be an integer") from None
    if value < minimum:
        raise InvalidInputError(f"query parameter {name!r} must be at least {minimum}")
    return value


def query_tail(request: web.Request) -> str | None:
    """``tail``: a line count or ``all``."""
    raw = request.query.get("tail")
    if raw is None or raw in ("", "all"):
        return None
    return str(query_int(request, "tail"))


def query_since(request: web.Request) -> str | None:
    """``since``: unix seconds, an RFC 3339 time or a duration ago (``30s``, ``10m``, ``2h``)."""
    raw = (request.query.get("since") or "").strip()
    if not raw:
        return None
    with_suffix = _DURATION.match(raw)
    if with_suffix:
        ago = timedelta(seconds=int(with_suffix.group(1)) * _UNITS[with_suffix.group(2)])
        return f"{(datetime.now(UTC) - ago).timestamp():.3f}"
    try:
        return f"{float(raw):.3f}"
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInputError(
            "since must be unix seconds, an RFC 3339 time or a duration like 10m"
        ) from None
    return f"{(when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp():.3f}"


async def read_body(request: web.Request, model: type[ModelT]) -> ModelT:
    """Parse and validate the JSON body as ``model``, or 422."""
    try:
        raw = await request.json() if request.can_read_body else {}
    except json.JSONDecodeError:
        raise InvalidInputError("the request body is not JSON") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInputError(f"invalid request body: {problems}") from None


async def start_ndjson(request: web.Request) -> web.StreamResponse:
    """Start a streamed NDJSON answer."""
    response = web.StreamResponse(headers={"Content-Type": NDJSON, "Cache-Control": "no-store"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    return response


def ndjson_line(obj: Any) -> bytes:
    """One NDJSON line."""
    return json.dumps(obj, separators=(",", ":"), default=str).encode() + b"\n"


def stream_error_line(exc: FleetdeckError) -> bytes:
    """The last line of a stream that failed after it started."""
    return ndjson_line({"error": exc.kind, "message": exc.message})


async def stream_logs(request: web.Request, *, service: bool) -> web.StreamResponse:
    """Stream a container's or service's logs as NDJSON LogLines."""
    timestamps = query_bool(request, "timestamps")
    async with request.app[ENGINE].logs(
        request.match_info["id"],
        tail=query_tail(request),
        since=query_since(request),
        timestamps=timestamps,
        follow=query_bool(request, "follow"),
        service=service,
    ) as lines:
        response = await start_ndjson(request)
        try:
            async for line in lines:
                await response.write(ndjson_line(line.model_dump(mode="json")))
        except FleetdeckError as exc:
            await response.write(stream_error_line(exc))
        except ConnectionError:
            pass
    return response
