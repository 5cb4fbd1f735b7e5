"""Shared pytest fixtures: real labs (real dockerd engines) brought up once per session.

Tests ask for ``fleet3`` (3 plain nodes) or ``swarm3`` (a 3-node Swarm) and get a running
lab record; each test session uses its own lab names, so runs never share engines, and every
lab is removed at the end of the session (a killed run is cleaned by the next ``up``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.client.client import FleetdeckClient
from fleetdeck.client.config import ClientConfig
from fleetdeck.lab import Lab, LabRecord

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Lab names are unique per test session so that concurrent runs never collide.
SESSION_TAG = f"{os.getpid() % 100000}"


def lab_name(purpose: str) -> str:
    """A lab name unique to this test session, e.g. ``t4242-fleet``."""
    return f"t{SESSION_TAG}-{purpose}"


def fleetdeck(
    *args: str, check: bool = True, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``fleetdeck`` CLI in a subprocess, as a user's script would."""
    proc = subprocess.run(
        [sys.executable, "-m", "fleetdeck", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        input=stdin,
        env={**os.environ, **env} if env else None,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"fleetdeck {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def fleetdeck_json(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run the CLI with ``-o json`` and parse what it prints."""
    return json.loads(fleetdeck(*args, "-o", "json", env=env).stdout)


#: ``scripts/test`` runs the suite on two xdist workers (``-n 2 --dist loadscope``) with the
#: scopes below: each file is one scope (its module fixtures are made once), handed to
#: whichever worker is free, and every test on the Swarm lab (each has "swarm" in its file
#: or test name) is one scope, so ``swarm3`` is brought up once. Each worker has its own
#: session labs (``fleet3`` twice, as the two workers' files need it). Not xdist's
#: ``loadgroup``: with pytest 9.2 its marks silently stop grouping (pytest-xdist #1386).
SWARM_SCOPE = "swarm3"


def scope_of(nodeid: str) -> str:
    """The xdist scope of a test: the Swarm lab's, else its file."""
    if "swarm" in nodeid.lower():
        return SWARM_SCOPE
    return nodeid.split("::", 1)[0]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Schedule ``--dist loadscope`` by :func:`scope_of` (other modes are xdist's own)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class FleetdeckScopes(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return FleetdeckScopes(config, log)


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("lab tests need root: run the README's test command (it runs as root)")


#: ``FLEETDECK_TEST_AGENT_MODE=container`` runs ``fleet3``'s agents as containers of the
#: repository's agent image (issue #14: the fleet operations tests pass against those too).
AGENT_MODE = os.environ.get("FLEETDECK_TEST_AGENT_MODE", "process")


@pytest.fixture(scope="session")
def fleet3() -> Iterator[LabRecord]:
    """A running 3-node lab (plain engines), managed by a fleetdeck server (env per node)."""
    _require_root()
    lab = Lab(lab_name("fleet"))
    record, _ = lab.up(nodes=3, server=True, agent_mode=AGENT_MODE)
    yield record
    lab.down()


@pytest.fixture(scope="session")
def swarm3() -> Iterator[LabRecord]:
    """A 3-node Swarm lab (node1 manager), managed by a server as environment ``swarm``."""
    _require_root()
    lab = Lab(lab_name("swarm"))
    record, _ = lab.up(nodes=3, swarm=True, server=True)
    yield record
    lab.down()


def server_env(record: LabRecord) -> dict[str, str]:
    """FLEETDECK_* variables that point the CLI at the lab's server with its admin token."""
    assert record.server is not None
    return {
        "FLEETDECK_URL": record.server.url,
        "FLEETDECK_TOKEN": record.server.token,
        "FLEETDECK_CA_CERT": record.server.ca_cert,
    }


def client_for(record: LabRecord, token: str | None = None) -> FleetdeckClient:
    """A typed client for the lab's server (admin token unless another is given)."""
    assert record.server is not None
    return FleetdeckClient(
        ClientConfig(
            url=record.server.url, ca_cert=record.server.ca_cert, token=token or record.server.token
        )
    )
