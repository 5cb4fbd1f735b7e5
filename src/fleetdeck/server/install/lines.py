"""The lines ``fleetdeck env add`` / ``env token`` and the UI print for a new agent host.

Three ways to run an agent, each a line to paste on the host:

* **by script**: ``curl … /install/agent.sh | sh -s -- --token TOKEN`` fetches the install
  script and the agent's wheelhouse from this server (nothing from the internet). ``curl``
  checks the server's certificate against this server's CA, which the line itself carries
  (``--cacert <(printf …)``: bash's process substitution, no file, no ``-k``); the script
  then checks that this CA is the one whose SHA-256 the join token names before it sends the
  token anywhere, and the agent checks it again when it enrols.
* **as a container**: the ``docker run`` line of the agent image (the contract of issue #14,
  kept exactly), preceded by a ``curl … | docker load`` when the server has the image tarball.
* **by hand**: ``fleetdeck agent --server … --join-token …`` (the line printed before).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

#: Removes what the script installed; the script keeps a copy of itself there, so this works
#: when the server is gone too.
UNINSTALL_COMMAND = "sh /opt/fleetdeck-agent/agent.sh --uninstall"
#: The agent image's name; its tag is the server's version.
AGENT_IMAGE = "fleetdeck/agent"


def cacert_argument(ca_pem: str) -> str:
    r"""``<(printf '%s\n' LINE…)``: the CA as a file for curl, written out in the line itself."""
    lines = [line.strip() for line in ca_pem.strip().splitlines() if line.strip()]
    return "<(printf '%s\\n' " + " ".join(shlex.quote(line) for line in lines) + ")"


def docker_run_line(server: str, token: str, version: str) -> str:
    """The agent container's ``docker run`` line (issue #14's contract, keep exactly)."""
    return (
        "docker run -d --name fleetdeck-agent --restart unless-stopped --network host "
        "-v /var/run/docker.sock:/var/run/docker.sock -v fleetdeck-agent:/data "
        f"-e FLEETDECK_SERVER={server} -e FLEETDECK_JOIN_TOKEN={token} "
        f"{AGENT_IMAGE}:{version}"
    )


@dataclass(frozen=True)
class InstallLines:
    """The ways to start an agent with one join token, as the API answers them."""

    install_command: str | None
    uninstall_command: str | None
    docker_command: str
    image_load_command: str | None


def install_lines(
    server: str, ca_pem: str, token: str, version: str, *, has_dist: bool, has_image: bool
) -> InstallLines:
    """Every line for ``token``; the script's only when the server serves a wheelhouse."""
    server = server.rstrip("/")
    fetch = f"curl -fsS --cacert {cacert_argument(ca_pem)} {server}/install"
    return InstallLines(
        install_command=f"{fetch}/agent.sh | sh -s -- --token {token}" if has_dist else None,
        uninstall_command=UNINSTALL_COMMAND if has_dist else None,
        docker_command=docker_run_line(server, token, version),
        image_load_command=f"{fetch}/fleetdeck-agent-image.tar | docker load"
        if has_image
        else None,
    )
