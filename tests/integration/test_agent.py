"""The agent against real lab engines: inventory, containers, images, volumes, networks, Swarm.

Each test starts the agent's real app in-process over mutual TLS (credentials made here
with a fresh CA, as the server would issue them) on 127.0.0.1, pointed at one lab node's
engine, and calls it as the server would. Nothing of Docker is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web

from fleetdeck import pki
from fleetdeck.agent.api import create_app
from fleetdeck.agent.engine import Engine
from fleetdeck.agent.inventory import ContainerInventory
from fleetdeck.agent.tls import AgentCredentials, client_ssl_context, server_ssl_context
from fleetdeck.lab import Lab, LabRecord, NodeRecord
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

pytestmark = pytest.mark.lab


def write_credentials(directory: Path) -> pki.CertificateAuthority:
    """Agent credentials (as enrolment leaves them) plus two client certs, in ``directory``."""
    ca = pki.CertificateAuthority.create()
    creds = AgentCredentials(directory)
    for name, cn, server in (
        ("agent", "agent-test", True),
        ("client", pki.SERVER_CLIENT_CN, False),
        ("other", "not-the-server", False),
    ):
        key = pki.new_key()
        cert = ca.issue(cn, key.public_key(), ip_addresses=["127.0.0.1"], server=server)
        pki.write_private(directory / f"{name}.key", pki.key_pem(key))
        (directory / f"{name}.pem").write_bytes(pki.cert_pem(cert))
    creds.ca_path.write_bytes(pki.cert_pem(ca.cert))
    return ca


@dataclass
class Agent:
    """An agent serving in this process, and a server-side client for it."""

    url: str
    session: aiohttp.ClientSession
    inventory: ContainerInventory
    node: NodeRecord
    state_dir: Path

    async def call(
        self, method: str, path: str, body: Any = None, **params: str
    ) -> tuple[int, Any]:
        """One request; the status and the decoded JSON answer."""
        async with self.session.request(
            method, self.url + path, json=body, params=params or None
        ) as response:
            return response.status, await response.json(content_type=None)

    @contextlib.asynccontextmanager
    async def ndjson(self, path: str, **params: str) -> AsyncIterator[Lines]:
        """Open a streamed NDJSON answer."""
        async with self.session.get(self.url + path, params=params or None) as response:
            assert response.status == 200, await response.text()
            yield Lines(response)


class Lines:
    """Reads NDJSON objects from a streamed answer, with a deadline."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next object, within ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            line = await self.response.content.readline()
        assert line, "stream ended"
        result: dict[str, Any] = json.loads(line)
        return result

    async def until(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Skip objects until one matches."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.next(max(deadline - time.monotonic(), 0.01))
            if match(message):
                return message


async def run_docker(node: NodeRecord, *args: str) -> str:
    """The docker CLI against the node, off the event loop (the agent runs on it)."""
    return await asyncio.to_thread(docker, node, *args)


@pytest.fixture
async def start_agent(tmp_path: Path) -> AsyncIterator[Callable[[NodeRecord], Awaitable[Agent]]]:
    """Start agents in-process (one per call); stop them all at the end."""
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def start(node: NodeRecord) -> Agent:
        state_dir = tmp_path / node.name
        state_dir.mkdir()
        write_credentials(state_dir)
        creds = AgentCredentials(state_dir)
        engine = Engine(node.docker_host)
        inventory = ContainerInventory(engine)
        runner = web.AppRunner(create_app(engine, inventory), handler_cancellation=True)
        await inventory.start()
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(creds))
        await site.start()
        port = runner.addresses[0][1]
        context = client_ssl_context(
            state_dir / "client.pem", state_dir / "client.key", creds.ca_path
        )
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))

        async def stop() -> None:
            await session.close()
            await runner.cleanup()
            await inventory.stop()
            await engine.close()

        cleanups.append(stop)
        return Agent(f"https://127.0.0.1:{port}", session, inventory, node, state_dir)

    yield start
    for cleanup in reversed(cleanups):
        await cleanup()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------ inventory
async def test_snapshot_lists_a_container_of_the_node(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[0]
    name = unique("snap")
    cid = await run_docker(
        node,
        "run",
        "-d",
        "--name",
        name,
        "-l",
        "com.docker.compose.project=shop",
        "-l",
        "com.docker.compose.service=web",
        fleet3.images["web"],
    )
    agent = await start_agent(node)
    async with agent.ndjson("/v1/inventory/stream") as lines:
        snapshot = await lines.next()
    assert snapshot["type"] == "snapshot"
    assert snapshot["info"]["hostname"] == node.hostname
    assert snapshot["info"]["engine_state"] == "up"
    found = {c["id"]: c for c in snapshot["containers"]}[cid]
    assert (found["name"], found["state"], found["stack"], found["service"]) == (
        name,
        "running",
        "shop",
        "web",
    )
    await run_docker(node, "rm", "-f", name)


async def test_run_and_rm_arrive_as_upsert_and_delete_within_a_second(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[0]
    agent = await start_agent(node)
    async with agent.ndjson("/v1/inventory/stream") as lines:
        snapshot = await lines.next()
        cid = await run_docker(node, "run", "-d", "--name", unique("ev"), fleet3.images["web"])
        ran = time.monotonic()
        upsert = await lines.until(
            lambda m: (
                m["type"] == "upsert"
                and m["container"]["id"] == cid
                and m["container"]["state"] == "running"
            ),
            timeout=1.0,
        )
        assert time.monotonic() - ran <= 1.0
        assert upsert["rev"] > snapshot["rev"]
        await run_docker(node, "rm", "-f", cid)
        removed = time.monotonic()
        delete = await lines.until(lambda m: m["type"] == "delete" and m["id"] == cid, 1.0)
        assert time.monotonic() - removed <= 1.0
        assert delete["rev"] > upsert["rev"]
        heartbeat = await lines.until(lambda m: m["type"] == "heartbeat", timeout=3.0)
        assert heartbeat["rev"] >= delete["rev"]


async def test_health_is_reported_and_changes_arrive(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[0]
    agent = await start_agent(node)
    async with agent.ndjson("/v1/inventory/stream") as lines:
        await lines.next()
        cid = await run_docker(node, "run", "-d", fleet3.images["web"])
        await lines.until(
            lambda m: (
                m["type"] == "upsert"
                and m["container"]["id"] == cid
                and m["container"]["health"] == "healthy"
            ),
            timeout=15,
        )
    await run_docker(node, "rm", "-f", cid)


async def test_resync_heals_what_events_missed(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[1]
    agent = await start_agent(node)
    kept = await run_docker(node, "run", "-d", fleet3.images["web"])
    await agent.inventory.refresh_container(kept)
    # Simulate missed events: the inventory holds a ghost and has lost a real container.
    ghost = agent.inventory.containers[kept].model_copy(update={"id": "f" * 64})
    agent.inventory.containers[ghost.id] = ghost
    del agent.inventory.containers[kept]
    subscription = agent.inventory.subscribe()
    await agent.inventory.resync()
    messages = [json.loads(line) for line in _drain(subscription.queue)]
    assert messages[0]["type"] == "snapshot"
    assert any(m["type"] == "delete" and m["id"] == ghost.id for m in messages)
    assert any(m["type"] == "upsert" and m["container"]["id"] == kept for m in messages)
    agent.inventory.unsubscribe(subscription)
    # A consumer that reconnects after changes gets a correct snapshot.
    await run_docker(node, "rm", "-f", kept)
    fresh = await run_docker(node, "run", "-d", fleet3.images["web"])
    async with agent.ndjson("/v1/inventory/stream") as lines:
        snapshot = await lines.next()
    ids = {c["id"] for c in snapshot["containers"]}
    assert fresh in ids
    assert kept not in ids
    assert ids == set((await run_docker(node, "ps", "-aq", "--no-trunc")).split())
    await run_docker(node, "rm", "-f", fresh)


def _drain(queue: asyncio.Queue[bytes | None]) -> list[bytes]:
    items = []
    while not queue.empty():
        item = queue.get_nowait()
        if item is not None:
            items.append(item)
    return items


async def test_engine_down_then_up_is_reported_and_inventory_heals(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[2]
    lab = Lab(fleet3.name)
    cid = await run_docker(node, "run", "-d", "--restart", "always", fleet3.images["web"])
    agent = await start_agent(node)
    async with agent.ndjson("/v1/inventory/stream") as lines:
        await lines.next()
        try:
            await asyncio.to_thread(lab.stop_node, node.name)
            down = await lines.until(lambda m: m["type"] == "info", timeout=25)
            assert down["info"]["engine_state"] == "down"
            status, info = await agent.call("GET", "/v1/info")
            assert (status, info["engine_state"]) == (200, "down")
        finally:
            await asyncio.to_thread(lab.start_node, node.name)
        up = await lines.until(lambda m: m["type"] == "info", timeout=20)
        assert up["info"]["engine_state"] == "up"
    await asyncio.sleep(1)
    async with agent.ndjson("/v1/inventory/stream") as lines:
        snapshot = await lines.next()
    engine_ids = set((await run_docker(node, "ps", "-aq", "--no-trunc")).split())
    assert {c["id"] for c in snapshot["containers"]} == engine_ids
    assert cid in engine_ids
    await run_docker(node, "rm", "-f", cid)


# ----------------------------------------------------------------- containers
async def test_container_actions_rename_and_remove(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[1]
    agent = await start_agent(node)
    cid = await run_docker(node, "run", "-d", "--name", unique("act"), fleet3.images["web"])
    for action, state in (
        ("pause", "paused"),
        ("unpause", "running"),
        ("stop", "exited"),
        ("start", "running"),
        ("restart", "running"),
        ("kill", "exited"),
    ):
        params = {"t": "1"} if action in ("stop", "restart") else {}
        status, body = await agent.call("POST", f"/v1/containers/{cid}/{action}", **params)
        assert status == 200, body
        assert body["container"]["state"] == state, action
    new_name = unique("renamed")
    status, body = await agent.call("POST", f"/v1/containers/{cid}/rename", name=new_name)
    assert (status, body["container"]["name"]) == (200, new_name)
    status, inspect = await agent.call("GET", f"/v1/containers/{new_name}")
    assert (status, inspect["Id"]) == (200, cid)
    status, body = await agent.call("DELETE", f"/v1/containers/{cid}", force="true")
    assert (status, body) == (200, {"ok": True, "container": None})
    assert cid not in agent.inventory.containers
    status, body = await agent.call("POST", f"/v1/containers/{cid}/start")
    assert status == 404
    assert body["error"] == "not_found"


async def test_unknown_container_bad_action_and_bad_input_are_json_errors(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    agent = await start_agent(fleet3.nodes[0])
    status, body = await agent.call("GET", "/v1/containers/no-such-container")
    assert status == 404
    assert body["error"] == "not_found"
    assert "no-such-container" in body["message"]
    status, body = await agent.call("POST", "/v1/containers/x/explode")
    assert (status, body["error"]) == (404, "not_found")
    status, body = await agent.call("POST", "/v1/containers/x/exec", {"cmd": []})
    assert (status, body["error"]) == (422, "invalid_input")
    status, body = await agent.call("DELETE", "/v1/containers/x", force="maybe")
    assert (status, body["error"]) == (422, "invalid_input")


async def test_logs_tail_timestamps_and_follow(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[0]
    agent = await start_agent(node)
    # stdout and stderr travel through separate pipes: pause so "last line" is well defined.
    script = "echo out-1; echo err-1 >&2; sleep 0.5; echo out-2; exec sleep 300"
    cid = await run_docker(node, "run", "-d", fleet3.images["base"], "sh", "-c", script)
    # The container writes its three lines as it starts: wait for them (a loaded machine is slow).
    got: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + 15
    while len(got) < 3 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        async with agent.ndjson(f"/v1/containers/{cid}/logs", timestamps="true") as lines:
            got = []
            while (raw := await lines.response.content.readline()) and len(got) < 3:
                got.append(json.loads(raw))
    assert {(g["stream"], g["line"]) for g in got} == {
        ("stdout", "out-1"),
        ("stderr", "err-1"),
        ("stdout", "out-2"),
    }
    assert all(g["time"] for g in got)
    async with agent.ndjson(f"/v1/containers/{cid}/logs", tail="1") as lines:
        last = await lines.next()
        assert (last["line"], last["time"]) == ("out-2", None)
        assert await lines.response.content.readline() == b""  # not following: it ends
    async with agent.ndjson(f"/v1/containers/{cid}/logs", tail="0", follow="true") as lines:
        await run_docker(node, "exec", cid, "sh", "-c", "echo followed > /proc/1/fd/1")
        line = await lines.next(timeout=5)
        assert (line["stream"], line["line"]) == ("stdout", "followed")
    await run_docker(node, "rm", "-f", cid)


async def test_stats_and_exec(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[0]
    agent = await start_agent(node)
    cid = await run_docker(node, "run", "-d", fleet3.images["web"])
    status, stats = await agent.call("GET", f"/v1/containers/{cid}/stats")
    assert status == 200, stats
    assert stats["memory_usage"] > 0
    assert stats["memory_limit"] > 0
    assert stats["pids"] >= 1
    assert stats["cpu_percent"] >= 0
    body = {"cmd": ["sh", "-c", "echo hi $WHO; echo oops >&2; exit 3"], "env": {"WHO": "there"}}
    status, result = await agent.call("POST", f"/v1/containers/{cid}/exec", body)
    assert status == 200, result
    assert result["exit_code"] == 3
    assert "hi there" in result["output"]
    assert "oops" in result["output"]
    status, result = await agent.call("POST", f"/v1/containers/{cid}/exec", {"cmd": ["true"]})
    assert (status, result) == (200, {"exit_code": 0, "output": ""})
    await run_docker(node, "rm", "-f", cid)


# ------------------------------------------------------ images, volumes, networks
async def test_pull_from_the_lab_registry_streams_progress(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[2]
    agent = await start_agent(node)
    image = fleet3.images["web_v2"]
    await agent.call("DELETE", f"/v1/images/{image}", force="true")
    async with agent.session.post(agent.url + "/v1/images/pull", json={"image": image}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/x-ndjson")
        progress = [json.loads(line) async for line in resp.content if line.strip()]
    assert any("status" in p and p != progress[-1] for p in progress)
    assert progress[-1] == {"status": "done", "image": image}
    status, images = await agent.call("GET", "/v1/images")
    assert status == 200
    assert any(image in i["tags"] for i in images)
    missing = f"{fleet3.registry}/fleetdeck/nope:1"
    async with agent.session.post(agent.url + "/v1/images/pull", json={"image": missing}) as r:
        text = await r.text()
    assert r.status == 404 or "error" in text.splitlines()[-1], text
    status, body = await agent.call("DELETE", f"/v1/images/{image}")
    assert (status, body["ok"]) == (200, True)
    status, pruned = await agent.call("POST", "/v1/images/prune")
    assert status == 200
    assert set(pruned) == {"deleted", "space_reclaimed"}


async def test_volumes_and_networks(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    node = fleet3.nodes[1]
    agent = await start_agent(node)
    vol, net = unique("vol"), unique("net")
    status, created = await agent.call("POST", "/v1/volumes", {"name": vol, "labels": {"a": "b"}})
    assert (status, created["name"], created["labels"]) == (201, vol, {"a": "b"})
    status, volumes = await agent.call("GET", "/v1/volumes")
    assert vol in {v["name"] for v in volumes}
    status, body = await agent.call("DELETE", f"/v1/volumes/{vol}")
    assert status == 200
    await agent.call("POST", "/v1/volumes", {"name": vol})
    status, pruned = await agent.call("POST", "/v1/volumes/prune")
    assert (status, vol in pruned["deleted"]) == (200, True)

    status, network = await agent.call("POST", "/v1/networks", {"name": net, "attachable": True})
    assert (status, network["name"], network["driver"]) == (201, net, "bridge")
    status, body = await agent.call("POST", "/v1/networks", {"name": net})
    assert (status, body["error"]) == (409, "conflict")
    cid = await run_docker(node, "run", "-d", fleet3.images["web"])
    status, _ = await agent.call("POST", f"/v1/networks/{net}/connect", {"container": cid})
    assert status == 200
    status, networks = await agent.call("GET", "/v1/networks")
    assert net in {n["name"] for n in networks}
    status, inspect = await agent.call("GET", f"/v1/containers/{cid}")
    assert net in inspect["NetworkSettings"]["Networks"]
    body = {"container": cid, "force": True}
    status, _ = await agent.call("POST", f"/v1/networks/{net}/disconnect", body)
    assert status == 200
    status, _ = await agent.call("DELETE", f"/v1/networks/{network['id']}")
    assert status == 200
    await agent.call("POST", "/v1/networks", {"name": net})
    status, pruned = await agent.call("POST", "/v1/networks/prune")
    assert (status, net in pruned["deleted"]) == (200, True)
    status, _ = await agent.call("POST", "/v1/volumes", {"driver": "local"})
    assert status == 422
    await run_docker(node, "rm", "-f", cid)


# ----------------------------------------------------------------------- swarm
async def test_swarm_nodes_services_scale_tasks_logs(
    swarm3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    manager, worker = swarm3.node(swarm3.swarm.managers[0]), swarm3.nodes[1]
    agent = await start_agent(manager)
    status, nodes = await agent.call("GET", "/v1/swarm/nodes")
    assert (status, len(nodes)) == (200, 3)
    target = next(n for n in nodes if n["Description"]["Hostname"] == worker.hostname)
    body = {"availability": "pause", "labels": {"zone": "a"}}
    status, updated = await agent.call("POST", f"/v1/swarm/nodes/{target['ID']}", body)
    assert (updated["Spec"]["Availability"], updated["Spec"]["Labels"]) == ("pause", {"zone": "a"})
    body = {"availability": "active", "labels": {"zone": None}}
    status, updated = await agent.call("POST", f"/v1/swarm/nodes/{target['ID']}", body)
    assert (updated["Spec"]["Availability"], updated["Spec"]["Labels"]) == ("active", {})

    name = unique("svc")
    script = "echo svc-says-hi; exec sleep 300"
    await run_docker(
        manager,
        "service",
        "create",
        "--detach",
        "--name",
        name,
        "--endpoint-mode",
        "dnsrr",
        swarm3.images["base"],
        "sh",
        "-c",
        script,
    )
    status, services = await agent.call("GET", "/v1/swarm/services")
    assert name in {s["Spec"]["Name"] for s in services}
    status, body = await agent.call("POST", f"/v1/swarm/services/{name}/scale", {"replicas": 2})
    assert (status, body["ok"]) == (200, True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, tasks = await agent.call("GET", f"/v1/swarm/services/{name}/tasks")
        if sum(t["Status"]["State"] == "running" for t in tasks) == 2:
            break
        await asyncio.sleep(0.5)
    else:
        pytest.fail(f"service {name} did not reach 2 running tasks: {tasks}")
    async with agent.ndjson(f"/v1/swarm/services/{name}/logs") as lines:
        assert (await lines.next(timeout=10))["line"].endswith("svc-says-hi")
    status, body = await agent.call(
        "POST", f"/v1/swarm/services/{name}/image", {"image": swarm3.images["web"]}
    )
    assert status == 200, body
    status, svc = await agent.call("GET", f"/v1/swarm/services/{name}")
    assert svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == swarm3.images["web"]
    status, body = await agent.call("POST", f"/v1/swarm/services/{name}/rollback")
    assert status == 200, body
    status, svc = await agent.call("GET", f"/v1/swarm/services/{name}")
    # The docker CLI pinned the digest when it created the service.
    assert svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].startswith(swarm3.images["base"])
    status, body = await agent.call("POST", f"/v1/swarm/services/{name}/scale", {"replicas": -1})
    assert (status, body["error"]) == (422, "invalid_input")
    status, _ = await agent.call("DELETE", f"/v1/swarm/services/{name}")
    assert status == 200
    status, body = await agent.call("GET", f"/v1/swarm/services/{name}")
    assert (status, body["error"]) == (404, "not_found")

    worker_agent = await start_agent(worker)
    status, body = await worker_agent.call("GET", "/v1/swarm/nodes")
    assert (status, body["error"]) == (409, "conflict")


# ------------------------------------------------------------------------ mTLS
async def test_only_the_server_certificate_gets_in(
    fleet3: LabRecord, start_agent: Callable[[NodeRecord], Awaitable[Agent]]
) -> None:
    agent = await start_agent(fleet3.nodes[0])
    status, info = await agent.call("GET", "/v1/info")
    assert (status, info["hostname"]) == (200, fleet3.nodes[0].hostname)
    ca_path = AgentCredentials(agent.state_dir).ca_path
    no_cert = ssl.create_default_context(cafile=str(ca_path))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=no_cert)) as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(agent.url + "/v1/info") as response:
                await response.read()
    other = client_ssl_context(
        agent.state_dir / "other.pem", agent.state_dir / "other.key", ca_path
    )
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=other)) as session:
        async with session.get(agent.url + "/v1/info") as response:
            assert response.status == 403
            assert (await response.json())["error"] == "permission_denied"


def test_cli_agent_serves_with_existing_credentials(fleet3: LabRecord, tmp_path: Path) -> None:
    node = fleet3.nodes[0]
    write_credentials(tmp_path)
    with socket_port() as port:
        pass
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleetdeck",
            "agent",
            "--listen",
            f"127.0.0.1:{port}",
            "--docker-host",
            node.docker_host,
            "--state-dir",
            str(tmp_path),
            "--log-json",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        context = client_ssl_context(
            tmp_path / "client.pem", tmp_path / "client.key", tmp_path / "ca.pem"
        )
        info = _get_json_retrying(f"https://127.0.0.1:{port}/v1/info", context)
        assert info["hostname"] == node.hostname
        assert info["engine_state"] == "up"
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    events = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert any("enrolment skipped" in e["message"] for e in events)


@contextlib.contextmanager
def socket_port() -> Any:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]


def _get_json_retrying(url: str, context: ssl.SSLContext) -> dict[str, Any]:
    import urllib.request

    # Generous: with several test runs on two cores, importing the agent alone took 20 s.
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as response:  # noqa: S310
                result: dict[str, Any] = json.loads(response.read())
                return result
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
