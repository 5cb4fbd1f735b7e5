"""The agent's settings, read once at start-up from flags, then environment, then defaults.

Kept free of heavy imports (stdlib only) so that ``fleetdeck agent`` can validate its flags
without loading the agent, and then hand over to ``python -m fleetdeck.agent``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from fleetdeck.errors import InvalidInputError

DEFAULT_LISTEN = "0.0.0.0:9001"  # noqa: S104 - the agent serves the network, with mTLS
DEFAULT_STATE_DIR = Path("/var/lib/fleetdeck/agent")
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
#: Environment variable of each setting (the flag wins over it).
ENV_VARS = {
    "server": "FLEETDECK_SERVER",
    "join_token": "FLEETDECK_JOIN_TOKEN",
    "listen": "FLEETDECK_AGENT_LISTEN",
    "docker_host": "DOCKER_HOST",
    "state_dir": "FLEETDECK_AGENT_STATE_DIR",
    "advertise_url": "FLEETDECK_AGENT_ADVERTISE_URL",
    "metrics_interval": "FLEETDECK_METRICS_INTERVAL",
}
DEFAULT_METRICS_INTERVAL = 10.0


@dataclass(frozen=True)
class AgentSettings:
    """Everything the agent is started with."""

    server: str | None = None
    join_token: str | None = None
    listen: str = DEFAULT_LISTEN
    docker_host: str = DEFAULT_DOCKER_HOST
    state_dir: Path = DEFAULT_STATE_DIR
    advertise_url: str | None = None
    log_json: bool = False
    metrics_interval: float = DEFAULT_METRICS_INTERVAL

    def validate(self) -> AgentSettings:
        """Check what can be checked before starting; return self."""
        parse_listen(self.listen)
        if not 1.0 <= self.metrics_interval <= 3600.0:
            raise InvalidInputError(
                f"--metrics-interval must be 1 to 3600 seconds, not {self.metrics_interval}"
            )
        if not self.docker_host.startswith(("unix://", "tcp://", "http://", "https://")):
            raise InvalidInputError(
                f"--docker-host must be a URL like unix:///path, not {self.docker_host!r}"
            )
        return self


def parse_listen(listen: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` too), or raise InvalidInputError."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInputError(f"--listen must be HOST:PORT, not {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104


def parse_args(argv: list[str]) -> AgentSettings:
    """Settings from flags, falling back to the environment, then to defaults."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="fleetdeck agent")
    parser.add_argument("--server", default=env(ENV_VARS["server"]))
    parser.add_argument("--join-token", default=env(ENV_VARS["join_token"]))
    parser.add_argument("--listen", default=env(ENV_VARS["listen"], DEFAULT_LISTEN))
    parser.add_argument("--docker-host", default=env(ENV_VARS["docker_host"], DEFAULT_DOCKER_HOST))
    parser.add_argument(
        "--state-dir", type=Path, default=Path(env(ENV_VARS["state_dir"], DEFAULT_STATE_DIR))
    )
    parser.add_argument("--advertise-url", default=env(ENV_VARS["advertise_url"]))
    parser.add_argument("--log-json", action="store_true")
    parser.add_argument(
        "--metrics-interval",
        type=float,
        default=env(ENV_VARS["metrics_interval"], str(DEFAULT_METRICS_INTERVAL)),
        help="seconds between metrics samples (default 10)",
    )
    args = parser.parse_args(argv)
    return AgentSettings(
        server=args.server,
        join_token=args.join_token,
        listen=args.listen,
        docker_host=args.docker_host,
        state_dir=args.state_dir,
        advertise_url=args.advertise_url,
        log_json=args.log_json,
        metrics_interval=args.metrics_interval,
    ).validate()


def to_argv(settings: AgentSettings) -> tuple[list[str], dict[str, str]]:
    """Flags and environment that start ``python -m fleetdeck.agent`` with ``settings``.

    The join token travels in the environment, not the command line, so that ``ps`` on the
    host does not show it.
    """
    argv = ["--listen", settings.listen, "--docker-host", settings.docker_host]
    argv += ["--state-dir", str(settings.state_dir)]
    if settings.server:
        argv += ["--server", settings.server]
    if settings.advertise_url:
        argv += ["--advertise-url", settings.advertise_url]
    if settings.log_json:
        argv.append("--log-json")
    if settings.metrics_interval != DEFAULT_METRICS_INTERVAL:
        argv += ["--metrics-interval", str(settings.metrics_interval)]
    env = {ENV_VARS["join_token"]: settings.join_token} if settings.join_token else {}
    return argv, env
