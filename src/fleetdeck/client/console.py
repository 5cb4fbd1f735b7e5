"""The client's end of the console websocket (``fleetdeck exec -i/-t``).

The same route the web UI's terminal uses (``WS /api/v1/containers/{ref}/console``, frames in
:mod:`fleetdeck.console_protocol`), authenticated with ``Authorization: Bearer`` and no
``Origin`` header: the server's cross-site checks are for browsers, which cannot send that
header, so a script's socket passes them as any API request does. Failures to connect are
turned into the same error kinds as :mod:`fleetdeck.client.base` uses for HTTP, so
``exec -i`` exits with the codes every other command uses (6: unreachable, 3: refused…).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from fleetdeck import __version__
from fleetdeck.client.base import _KIND_BY_STATUS, _is_tls_verification_failure, _ssl_context
from fleetdeck.console_protocol import MAX_OUTPUT_BYTES
from fleetdeck.errors import FleetdeckError, InvalidInputError, NodeUnreachableError

if TYPE_CHECKING:
    import ssl
    from collections.abc import AsyncIterator

    from websockets.asyncio.client import ClientConnection

    from fleetdeck.client.config import ClientConfig


def console_url(config: ClientConfig, ref: str, cmd: list[str], *, tty: bool, stdin: bool) -> str:
    """The websocket URL of a session running ``cmd`` in container ``ref``."""
    scheme, sep, rest = config.url.partition("://")
    ws_scheme = {"https": "wss", "http": "ws"}.get(scheme.lower())
    if not sep or ws_scheme is None:
        raise InvalidInputError(f"cannot open a console on {config.url}: not an http(s) URL")
    query = urlencode([("cmd", c) for c in cmd] + [("tty", int(tty)), ("stdin", int(stdin))])
    return f"{ws_scheme}://{rest}/api/v1/containers/{quote(ref, safe='/')}/console?{query}"


def _refused(exc: InvalidStatus) -> FleetdeckError:
    status = exc.response.status_code
    cls = _KIND_BY_STATUS.get(status, FleetdeckError)
    return cls(f"the server refused the console: HTTP {status}")


@contextlib.asynccontextmanager
async def open_console(
    config: ClientConfig, ref: str, cmd: list[str], *, tty: bool, stdin: bool
) -> AsyncIterator[ClientConnection]:
    """Connect a console session (``async with``): the client's socket, closed at the end.

    Raises:
        NodeUnreachableError: The server does not answer, or its certificate does not verify.
        FleetdeckError: The server refused the upgrade (the kind its status means).
    """
    url = console_url(config, ref, cmd, tty=tty, stdin=stdin)
    headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
    tls: ssl.SSLContext | None = _ssl_context(config.ca_cert) if url.startswith("wss:") else None
    where = f"fleetdeck server at {config.url}"
    try:
        socket = await connect(
            url,
            additional_headers=headers,
            user_agent_header=f"fleetdeck-cli/{__version__}",
            ssl=tls,
            open_timeout=config.timeout,
            max_size=MAX_OUTPUT_BYTES + 1024,
        )
    except InvalidStatus as exc:
        raise _refused(exc) from None
    except InvalidURI as exc:
        raise InvalidInputError(f"cannot open a console on {config.url}: {exc}") from None
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        if _is_tls_verification_failure(exc):
            raise NodeUnreachableError(
                f"cannot verify the TLS certificate of {where}",
                hint="pass --ca-cert PATH (or set FLEETDECK_CA_CERT) with the fleetdeck CA "
                "certificate",
            ) from None
        raise NodeUnreachableError(
            f"cannot reach {where}: {exc or type(exc).__name__}",
            hint="check the URL and that the server is running",
        ) from None
    async with socket:
        yield socket
