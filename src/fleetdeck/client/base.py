"""The HTTP plumbing under :class:`~fleetdeck.client.FleetdeckClient`.

Every request goes through :meth:`BaseClient._request` or :meth:`BaseClient._stream`, so the
translation of HTTP failures into :mod:`fleetdeck.errors` kinds happens in exactly one place:
a JSON error body ``{"error": KIND, "message", "hint"}`` becomes the error class of that kind;
a refused connection or a timeout becomes :class:`NodeUnreachableError`; a certificate the
CA does not vouch for becomes an error that says to pass ``--ca-cert``.
"""

from __future__ import annotations

import json
import ssl
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from fleetdeck import __version__
from fleetdeck.errors import (
    ConflictError,
    FleetdeckError,
    InvalidInputError,
    NodeUnreachableError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    error_for_kind,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fleetdeck.client.config import ClientConfig

M = TypeVar("M", bound=BaseModel)

#: Test hook: when set, every new client sends its requests through the transport this
#: returns (e.g. an ``httpx.MockTransport``) instead of the network. Production code never
#: sets it; tests set it with ``monkeypatch.setattr(fleetdeck.client.base, ...)``.
transport_factory: Callable[[ClientConfig], httpx.BaseTransport] | None = None

#: Kinds guessed from the status when a reply is not fleetdeck's JSON (e.g. from a proxy).
_KIND_BY_STATUS: dict[int, type[FleetdeckError]] = {
    401: UnauthenticatedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidInputError,
    502: NodeUnreachableError,
    503: NodeUnreachableError,
    504: NodeUnreachableError,
}

Params = dict[str, Any] | list[tuple[str, Any]] | None


def quote_segment(value: str) -> str:
    """URL-quote one path segment (``ENV/NAME`` refs keep their slash as ``%2F``)."""
    return quote(value, safe="")


def _ssl_context(ca_cert: str | None) -> ssl.SSLContext:
    """A verifying TLS context: against ``ca_cert`` when given, else the system's CAs."""
    try:
        return ssl.create_default_context(cafile=ca_cert)
    except FileNotFoundError as exc:
        raise InvalidInputError(f"CA certificate {ca_cert} does not exist") from exc
    except (ssl.SSLError, OSError) as exc:
        raise InvalidInputError(f"cannot load CA certificate {ca_cert}: {exc}") from exc


def _is_tls_verification_failure(exc: BaseException) -> bool:
    """Whether a transport error was caused by the server's certificate failing verification."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def error_from_response(response: httpx.Response, *, logged_in: bool) -> FleetdeckError:
    """Turn a non-2xx reply (already read) into the error of its kind.

    Args:
        response: The reply; its body is fleetdeck's JSON error when the server wrote it.
        logged_in: Whether a token was sent (changes the hint of a 401).
    """
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        message = str(body.get("message") or body["error"])
        hint = body.get("hint") if isinstance(body.get("hint"), str) else None
        error = error_for_kind(body["error"], message, hint)
    else:
        cls = _KIND_BY_STATUS.get(response.status_code, FleetdeckError)
        text = response.text.strip()[:200]
        error = cls(f"server answered HTTP {response.status_code}" + (f": {text}" if text else ""))
    if isinstance(error, UnauthenticatedError) and not error.hint:
        error.hint = (
            "the token was refused; run `fleetdeck login URL` again"
            if logged_in
            else "run `fleetdeck login URL` or set FLEETDECK_TOKEN"
        )
    return error


class BaseClient:
    """Connection, authentication and error translation shared by every resource's methods."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        headers = {"User-Agent": f"fleetdeck-cli/{__version__}", "Accept": "application/json"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        transport = transport_factory(config) if transport_factory else None
        verify: ssl.SSLContext | bool = True
        if transport is None and config.url.startswith("https://"):
            verify = _ssl_context(config.ca_cert)
        self._http = httpx.Client(
            base_url=f"{config.url}/api/v1",
            headers=headers,
            timeout=config.timeout,
            verify=verify,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> BaseClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _translate_transport_errors(self) -> Iterator[None]:
        """Map httpx's transport failures to fleetdeck kinds with a message a user can act on."""
        url = self.config.url
        try:
            yield
        except httpx.TimeoutException as exc:
            raise NodeUnreachableError(
                f"cannot reach fleetdeck server at {url}: timed out",
                hint="check the URL and that the server is running",
            ) from exc
        except httpx.TransportError as exc:
            if _is_tls_verification_failure(exc):
                raise NodeUnreachableError(
                    f"cannot verify the TLS certificate of fleetdeck server at {url}",
                    hint="pass --ca-cert PATH (or set FLEETDECK_CA_CERT) with the fleetdeck CA "
                    "certificate; `fleetdeck server ca --data-dir DIR` prints it",
                ) from exc
            raise NodeUnreachableError(
                f"cannot reach fleetdeck server at {url}: {exc or type(exc).__name__}",
                hint="check the URL and that the server is running",
            ) from exc

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        response.read()
        raise error_from_response(response, logged_in=bool(self.config.token))

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """Send one request; the decoded JSON body (None when empty) or a FleetdeckError.

        ``timeout`` overrides the client's for routes that wait on engines (e.g. removals).
        """
        with self._translate_transport_errors():
            response = self._http.request(
                method,
                path,
                params=_clean(params),
                json=json_body,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        self._raise_for_status(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def _get_text(self, path: str) -> str:
        """GET a plain-text resource (e.g. the CA's PEM)."""
        with self._translate_transport_errors():
            response = self._http.get(path)
        self._raise_for_status(response)
        return response.text

    def _stream(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
        follow: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Yield the objects of an NDJSON reply as they arrive.

        Args:
            method: HTTP method.
            path: Route under ``/api/v1``.
            params: Query parameters (None values are dropped).
            json_body: JSON body, if any.
            follow: Whether the reply may stay open indefinitely (no read timeout then).
        """
        timeout = httpx.Timeout(self.config.timeout, read=None if follow else self.config.timeout)
        with self._translate_transport_errors():
            with self._http.stream(
                method, path, params=_clean(params), json=json_body, timeout=timeout
            ) as response:
                self._raise_for_status(response)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                    except ValueError as exc:
                        msg = f"server sent a malformed stream line: {line[:200]!r}"
                        raise FleetdeckError(msg) from exc
                    if isinstance(item, dict):
                        yield item


def raise_if_stream_error(item: dict[str, Any]) -> None:
    """Raise the error a stream reported in-band (``{"error": ...}`` as its last line).

    The server's own errors carry a kind and a message; Docker's (e.g. a failed pull) carry
    only text in ``error``, which becomes a plain :class:`FleetdeckError`.
    """
    if "error" not in item or not item["error"]:
        return
    if "message" in item:
        hint = item.get("hint") if isinstance(item.get("hint"), str) else None
        raise error_for_kind(str(item["error"]), str(item["message"]), hint)
    raise FleetdeckError(str(item["error"]))


def parse(model: type[M], data: Any) -> M:
    """Validate a reply against its model; a mismatch is a clear error, not a traceback."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FleetdeckError(
            f"unexpected reply from the server for {model.__name__}: {exc.error_count()} errors",
            hint="is the server the same fleetdeck version as this CLI?",
        ) from exc


def parse_list(model: type[M], data: Any) -> list[M]:
    """Validate a list reply; a ``{"items": [...]}`` page is accepted too."""
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    try:
        return TypeAdapter(list[model]).validate_python(data)  # type: ignore[valid-type]
    except ValidationError as exc:
        raise FleetdeckError(
            f"unexpected reply from the server for a list of {model.__name__}",
            hint="is the server the same fleetdeck version as this CLI?",
        ) from exc


def _clean(params: Params) -> Params:
    """Drop unset query parameters, and send booleans as ``true``/``false``."""
    if params is None:
        return None
    pairs = params.items() if isinstance(params, dict) else params
    out: list[tuple[str, Any]] = []
    for key, value in pairs:
        if value is None:
            continue
        out.append((key, ("true" if value else "false") if isinstance(value, bool) else value))
    return out
