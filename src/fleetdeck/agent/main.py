"""The agent's run loop: enrol if needed, follow the engine, serve the mTLS API until stopped.

Settings are read once at start-up (flags, then ``FLEETDECK_*``/``DOCKER_HOST`` environment
variables). The agent listens only with mutual TLS and talks to its engine only through its
socket: it never listens on, or proxies, the Docker socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

from aiohttp import web

from fleetdeck import __version__
from fleetdeck.agent.api import create_app
from fleetdeck.agent.engine import Engine
from fleetdeck.agent.engine_recreate import converge_all
from fleetdeck.agent.enrol import ensure_enrolled
from fleetdeck.agent.inventory import ContainerInventory
from fleetdeck.agent.logship import LogShipper
from fleetdeck.agent.metrics import MetricsSampler
from fleetdeck.agent.settings import AgentSettings, parse_listen
from fleetdeck.agent.tls import AgentCredentials, server_ssl_context
from fleetdeck.errors import FleetdeckError
from fleetdeck.packaging import commit

#: Time the answer to ``POST /v1/forget`` gets to reach the server before the agent stops.
FORGET_GRACE = 0.2
#: Seconds requests still running when the agent stops get to finish before they are
#: cancelled. aiohttp's default, 60 s, kept a stopping agent alive for 89 s: the open log
#: follows, log-shipping stream and consoles never finish by themselves.
SHUTDOWN_GRACE_S = 2.0

log = logging.getLogger("fleetdeck.agent")


def advertise_url(listen: str, server: str | None) -> str:
    """The URL the server should call this agent at (sent at enrolment).

    A wildcard listen address is replaced by the address this host uses to reach the server
    (a UDP "connect" sends nothing; it only asks the kernel for the route's source address).
    """
    host, port = parse_listen(listen)
    if host in ("0.0.0.0", "::") and server:  # noqa: S104
        server_host = urlsplit(server).hostname or "127.0.0.1"
        family = socket.AF_INET6 if ":" in server_host else socket.AF_INET
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((server_host, 9))
            host = str(probe.getsockname()[0])
    if host in ("0.0.0.0", "::"):  # noqa: S104
        host = socket.gethostname()
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(*, as_json: bool) -> None:
    """One line per event on stderr (a JSON object per line with ``as_json``)."""
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


async def enrol_if_needed(settings: AgentSettings) -> bool:
    """Enrol unless the state dir holds credentials; return whether it enrolled now."""
    creds = AgentCredentials(settings.state_dir)
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if creds.exist():
        log.info("credentials found in %s: enrolment skipped", creds.state_dir)
        return False
    await ensure_enrolled(
        creds,
        server=settings.server,
        join_token=settings.join_token,
        listen_url=settings.advertise_url or advertise_url(settings.listen, settings.server),
        hostname=socket.gethostname(),
    )
    return True


async def _finish_recreates(engine: Engine) -> None:
    """Bring any recreate this agent was killed in the middle of to an end."""
    try:
        await converge_all(engine)
    except FleetdeckError as exc:  # the engine is down: the next recreate converges instead
        log.warning("could not look for interrupted recreates: %s", exc.message)


async def serve(settings: AgentSettings) -> None:
    """Enrol if needed, then serve until SIGTERM/SIGINT or ``POST /v1/forget``."""
    host, port = parse_listen(settings.listen)
    creds = AgentCredentials(settings.state_dir)
    await enrol_if_needed(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def on_forget() -> None:
        creds.remove()
        log.warning("the server revoked this agent: credentials deleted, stopping")
        loop.call_later(FORGET_GRACE, stop.set)

    engine = Engine(settings.docker_host, agent_version=__version__, agent_commit=commit())
    inventory = ContainerInventory(engine)
    sampler = MetricsSampler(inventory, interval=settings.metrics_interval)
    runner = web.AppRunner(
        create_app(engine, inventory, on_forget=on_forget, shipper=LogShipper(engine, inventory)),
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_GRACE_S,
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await inventory.start()
        await _finish_recreates(engine)
        sampler.start()
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=server_ssl_context(creds))
        await site.start()
        log.info(
            "agent %s serving on %s:%d (engine %s)", __version__, host, port, engine.docker_host
        )
        await stop.wait()
        log.info("agent stopping")
    finally:
        await runner.cleanup()  # ends streams at once, other requests within the grace
        await sampler.stop()
        await inventory.stop()
        await engine.close()
        log.info("agent stopped")


def run(settings: AgentSettings, *, restart_argv: list[str] | None = None) -> None:
    """Run the agent in a new event loop until it stops.

    Args:
        settings: What to run with.
        restart_argv: If given and the agent enrols now, the process replaces itself with
            this command line once enrolled, so that what only enrolment needs (the
            ``cryptography`` library, an HTTP client session: about 10 MB) is not carried for
            the agent's whole life.
    """
    setup_logging(as_json=settings.log_json)
    if restart_argv is not None and asyncio.run(enrol_if_needed(settings)):
        log.info("enrolled: restarting without the enrolment code loaded")
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.execv(restart_argv[0], restart_argv)  # noqa: S606
    asyncio.run(serve(settings))
