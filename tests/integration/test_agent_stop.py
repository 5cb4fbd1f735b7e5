"""Stopping a real agent process (``python -m fleetdeck agent``) with SIGTERM while it serves.

The agent's long-lived requests never finish by themselves: an inventory stream, a log
follow, the log-shipping stream. Before the fix (finding 14 of issue #11) a stopped agent
kept them for aiohttp's 60 s grace and exited after 89 s, and its server still showed it up
meanwhile. Here the agent ends its inventory streams at once, gives the others
``SHUTDOWN_GRACE_S`` and exits with code 0; its server sees the stream end and marks the
node unreachable. Real engines (the ``fleet3`` lab), real processes, nothing mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import aiohttp
import pytest

from fleetdeck.agent.tls import client_ssl_context
from fleetdeck.lab import Lab
from fleetdeck.lab.fleet_server import start_agent
from tests.conftest import client_for
from tests.integration.fleet_helpers import wait_for
from tests.integration.test_agent import (
    Lines,
    _get_json_retrying,
    run_docker,
    socket_port,
    write_credentials,
)
from tests.integration.test_fleet_enrolment import BOGUS_TOKEN
from tests.integration.test_fleet_faults import _agent_pid

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

#: A bound against hanging, not a timing measurement: the fix's figure was 6.3 s on a loaded
#: machine (2 s of grace plus shutting down the sampler, inventory and engine client), the
#: bug's was 89 s. Generous so that a busy CI machine cannot make it flaky.
EXIT_BOUND_S = 20.0
#: Seconds within which the inventory stream must end after SIGTERM; it ends before the grace
#: starts (measured 0.04 s), so anything near the grace would mean it waited for it.
STREAM_END_BOUND_S = 5.0


async def _read_to_end(response: aiohttp.ClientResponse) -> bool:
    """Read a streamed answer until it ends; whether it ended cleanly (not cut off)."""
    try:
        while await response.content.readline():
            pass
    except aiohttp.ClientPayloadError:
        return False
    return True


async def test_sigterm_ends_the_streams_and_the_agent_exits_0(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    node = fleet3.nodes[0]
    write_credentials(tmp_path)
    ticker = await run_docker(
        node,
        "run", "-d", fleet3.images["base"], "sh", "-c", "while :; do echo tick; sleep 1; done",
    )  # fmt: skip
    with socket_port() as port:
        pass
    log_path = tmp_path / "agent.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "fleetdeck", "agent",
                "--listen", f"127.0.0.1:{port}", "--docker-host", node.docker_host,
                "--state-dir", str(tmp_path), "--log-json",
            ],
            stdout=log,
            stderr=log,
        )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    context = client_ssl_context(
        tmp_path / "client.pem", tmp_path / "client.key", tmp_path / "ca.pem"
    )
    try:
        await asyncio.to_thread(_get_json_retrying, url + "/v1/info", context)
        connector = aiohttp.TCPConnector(ssl=context)
        no_timeout = aiohttp.ClientTimeout(total=None)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=no_timeout) as session,
            session.get(url + "/v1/inventory/stream") as inventory,
            session.get(
                url + f"/v1/containers/{ticker}/logs", params={"follow": "true", "tail": "1"}
            ) as follow,
        ):
            assert (inventory.status, follow.status) == (200, 200)
            await Lines(inventory).next(timeout=30)  # the snapshot: the stream is serving
            await Lines(follow).next(timeout=30)  # a tick: the follow is open
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(STREAM_END_BOUND_S):
                assert await _read_to_end(inventory), "the inventory stream was cut off"
            stream_ended = time.monotonic() - signalled
            exit_code = await asyncio.to_thread(proc.wait, EXIT_BOUND_S + 40)
            exited = time.monotonic() - signalled
            # The follow was cancelled after the grace: cut off or ended, but not still open.
            async with asyncio.timeout(5):
                await _read_to_end(follow)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await run_docker(node, "rm", "-f", ticker)
    output = log_path.read_text(errors="replace")
    assert exit_code == 0, output
    assert exited < EXIT_BOUND_S, f"exited {exited:.1f}s after SIGTERM\n{output}"
    assert "agent stopped" in output
    print(f"inventory stream ended {stream_ended:.2f}s, process exited {exited:.2f}s after SIGTERM")


def test_sigterm_on_an_enrolled_agent_marks_its_node_unreachable(fleet3: LabRecord) -> None:
    server = fleet3.server
    assert server is not None
    lab = Lab(fleet3.name)
    node = fleet3.nodes[2]
    state_dir = lab.names.state_dir / node.name / "agent"
    pid = _agent_pid(state_dir)
    assert pid is not None
    log = state_dir / "agent.log"
    log_start = log.stat().st_size
    try:
        with client_for(fleet3) as client:
            assert client.get_environment(node.name).status == "up"
            # The server holds this agent's inventory and log-shipping streams open.
            signalled = time.monotonic()
            os.kill(pid, signal.SIGTERM)
            # Within the silence timeout's reach too, but it must not take the old 89 s.
            wait_for(
                f"{node.name} unreachable",
                lambda: client.get_environment(node.name).status == "unreachable",
                timeout=15,
            )
            unreachable = time.monotonic() - signalled
            wait_for(
                "the agent process to end", lambda: _agent_pid(state_dir) is None, EXIT_BOUND_S
            )
            exited = time.monotonic() - signalled
            print(f"node unreachable {unreachable:.2f}s, agent gone {exited:.2f}s after SIGTERM")
            stopped = log.read_text(errors="replace")[log_start:]
            assert "agent stopped" in stopped, stopped  # a clean stop, not a kill
            start_agent(lab.names, node, server, BOGUS_TOKEN)
            wait_for(
                f"{node.name} up again",
                lambda: client.get_environment(node.name).status == "up",
                timeout=30,
            )
    finally:
        # Leave the shared lab as it was: the node's agent running (a hung one killed first).
        if _agent_pid(state_dir) == pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_for("the killed agent to end", lambda: _agent_pid(state_dir) is None)
        if _agent_pid(state_dir) is None:
            start_agent(lab.names, node, server, BOGUS_TOKEN)
