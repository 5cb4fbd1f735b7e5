"""``python -m fleetdeck.healthcheck server|agent``: the container images' HEALTHCHECK.

Docker runs it every 30 s for the life of the container, so it is stdlib only (a few
milliseconds of start-up, not the CLI's second) and reads the same ``FLEETDECK_*`` variables
the process in the container was configured with. Exit 0 means healthy, 1 unhealthy (with one
line on stderr, which ``docker inspect`` shows in the health log).

- ``server``: ``GET /api/v1/health`` over the server's own HTTPS, verified against the CA in
  its data directory (the server's certificate always covers 127.0.0.1). With an operator's
  certificate (``FLEETDECK_TLS_CERT``), which need not name 127.0.0.1, the connection is still
  TLS but not verified: it is a liveness probe over loopback, not a trust decision.
- ``agent``: a TCP connect to the agent's port. The agent opens it only once it has enrolled
  and serves, and its API answers only the server's client certificate, so there is nothing
  to GET without one.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import sys
import urllib.request
from pathlib import Path

TIMEOUT_S = 4.0
_WILDCARDS = {"", "0.0.0.0", "::"}  # noqa: S104 - recognising wildcard listens, not binding
_FALSE = {"0", "false", "no", "off"}


def _target(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    return ("127.0.0.1" if host in _WILDCARDS else host), int(port)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def server_context(env: dict[str, str]) -> ssl.SSLContext:
    """The TLS context the server check connects with (see the module docstring)."""
    if env.get("FLEETDECK_TLS_CERT"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    data_dir = Path(env.get("FLEETDECK_DATA_DIR", "/var/lib/fleetdeck/server"))
    return ssl.create_default_context(cafile=str(data_dir / "ca" / "ca.pem"))


def check_server(env: dict[str, str]) -> str | None:
    """None if the server answers its health route with ``status: ok``, else the problem."""
    host, port = _target(env.get("FLEETDECK_LISTEN", "0.0.0.0:8443"))  # noqa: S104
    tls = env.get("FLEETDECK_TLS", "true").strip().lower() not in _FALSE
    url = f"{'https' if tls else 'http'}://{_url_host(host)}:{port}/api/v1/health"
    try:
        context = server_context(env) if tls else None
        with urllib.request.urlopen(url, timeout=TIMEOUT_S, context=context) as answer:  # noqa: S310
            body = json.loads(answer.read(4096))
    except (OSError, ValueError, ssl.SSLError) as exc:
        return f"{url}: {exc}"
    if not isinstance(body, dict) or body.get("status") != "ok":
        return f"{url} answered {body!r}"
    return None


def check_agent(env: dict[str, str]) -> str | None:
    """None if something accepts connections on the agent's port, else the problem."""
    host, port = _target(env.get("FLEETDECK_AGENT_LISTEN", "0.0.0.0:9001"))  # noqa: S104
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S):
            return None
    except OSError as exc:
        return f"agent port {host}:{port}: {exc}"


def main(argv: list[str] | None = None) -> int:
    """Check the role named in ``argv``; 0 healthy, 1 not, 2 usage."""
    args = sys.argv[1:] if argv is None else argv
    checks = {"server": check_server, "agent": check_agent}
    if len(args) != 1 or args[0] not in checks:
        print("usage: python -m fleetdeck.healthcheck server|agent", file=sys.stderr)
        return 2
    try:
        problem = checks[args[0]](dict(os.environ))
    except ValueError as exc:  # a listen setting that is not HOST:PORT
        problem = f"bad setting: {exc}"
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
