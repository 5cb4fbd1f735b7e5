"""``fleetdeck agent``: run the agent on a Docker host (enrols with a join token first).

The command only checks its settings, then replaces its own process with the lean
``python -m fleetdeck.agent``: the agent must stay small on small hosts, and a CLI process
carries Typer, Rich and every command group's imports.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path  # noqa: TC003 - Typer reads annotations at run time
from typing import Annotated

import typer

from fleetdeck.agent.settings import (
    DEFAULT_DOCKER_HOST,
    DEFAULT_LISTEN,
    DEFAULT_METRICS_INTERVAL,
    DEFAULT_STATE_DIR,
    ENV_VARS,
    AgentSettings,
    to_argv,
)


def agent(
    server: Annotated[
        str | None,
        typer.Option("--server", envvar=ENV_VARS["server"], help="The fleetdeck server's URL."),
    ] = None,
    join_token: Annotated[
        str | None,
        typer.Option(
            "--join-token",
            envvar=ENV_VARS["join_token"],
            help="Single-use join token (only needed until the agent has enrolled).",
        ),
    ] = None,
    listen: Annotated[
        str,
        typer.Option("--listen", envvar=ENV_VARS["listen"], help="HOST:PORT to serve on."),
    ] = DEFAULT_LISTEN,
    docker_host: Annotated[
        str,
        typer.Option(
            "--docker-host", envvar=ENV_VARS["docker_host"], help="The engine, unix:///path."
        ),
    ] = DEFAULT_DOCKER_HOST,
    state_dir: Annotated[
        Path,
        typer.Option(
            "--state-dir",
            envvar=ENV_VARS["state_dir"],
            help="Where the agent keeps its key, certificate and CA.",
        ),
    ] = DEFAULT_STATE_DIR,
    advertise_url: Annotated[
        str | None,
        typer.Option(
            "--advertise-url",
            envvar=ENV_VARS["advertise_url"],
            help="URL the server should call this agent at (default: from --listen).",
        ),
    ] = None,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log one JSON object per line.")
    ] = False,
    metrics_interval: Annotated[
        float,
        typer.Option(
            "--metrics-interval",
            envvar=ENV_VARS["metrics_interval"],
            help="Seconds between metrics samples.",
        ),
    ] = DEFAULT_METRICS_INTERVAL,
) -> None:
    """Run the fleetdeck agent for this host's Docker engine (mutual TLS, port 9001)."""
    settings = AgentSettings(
        server=server,
        join_token=join_token,
        listen=listen,
        docker_host=docker_host,
        state_dir=state_dir,
        advertise_url=advertise_url,
        log_json=log_json,
        metrics_interval=metrics_interval,
    ).validate()
    argv, env = to_argv(settings)
    os.environ.update(env)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "fleetdeck.agent", *argv])  # noqa: S606
