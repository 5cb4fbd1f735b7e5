"""``local`` environments through the API, with a real agent child and no engine behind it.

The socket here is a bound unix socket nobody answers on, so the child (the real agent) runs
with its engine down: enough to prove credentials, the child, the mTLS link, persistence over
a restart and clean removal. The lab tests prove inventory and operations on a real engine.
"""

from __future__ import annotations

import asyncio
import socket
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.server.app import create_app
from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.local_envs import LocalEnvironments
from tests.unit.server.conftest import ADMIN_PASSWORD, bearer, client_for, login

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    from fastapi import FastAPI

    from fleetdeck.server.config import ServerSettings


@pytest.fixture
def dead_engine(tmp_path: Path) -> Iterator[str]:
    """``unix://`` URL of a socket that exists but has no engine behind it."""
    path = tmp_path / "d.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        yield f"unix://{path}"


def _local(app: FastAPI) -> LocalEnvironments:
    local = context_of(app).fleet.local
    assert isinstance(local, LocalEnvironments)
    # The engine is down: naming the node after its hostname would wait for nothing.
    local.first_answer_timeout = 0.1
    return local


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


async def _env_when(client: httpx.AsyncClient, token: str, env: str, status: str) -> dict[str, Any]:
    """The environment's view once its node reports ``status``.

    The agent process starts in ~10 s on a quiet machine and took over 40 s on a loaded one
    (a unit run beside lab tests), hence the generous limit.
    """
    deadline = time.monotonic() + 120
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = (await client.get(f"/api/v1/environments/{env}", headers=bearer(token))).json()
        if body["nodes"] and body["nodes"][0]["status"] == status:
            return body
        await asyncio.sleep(0.3)
    raise AssertionError(f"the node of {env} never became {status}: {body}")


async def test_bad_local_environments_are_refused_before_anything_starts(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    regular = tmp_path / "not-a-socket"
    regular.write_text("")
    cases = {
        "unix:///no/such/docker.sock": "no Docker socket at /no/such/docker.sock",
        "tcp://10.0.0.1:2375": "unix://",
        "unix://relative/docker.sock": "absolute path",
        f"unix://{regular}": "is not a socket",
    }
    for docker_host, message in cases.items():
        response = await client.post(
            "/api/v1/environments",
            json={"name": "here", "kind": "local", "docker_host": docker_host},
            headers=bearer(admin_token),
        )
        assert response.status_code == 422, response.text
        assert message in response.json()["message"]
    response = await client.post(
        "/api/v1/environments",
        json={"name": "here", "docker_host": "unix:///var/run/docker.sock"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 422
    assert "only for local" in response.json()["message"]
    response = await client.post(
        "/api/v1/environments",
        json={"name": "here", "kind": "remote"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 422
    listed = await client.get("/api/v1/environments", headers=bearer(admin_token))
    assert listed.json() == []
    assert not (context_of(app).settings.data_dir / "local-agents" / "here").exists()


async def test_an_agent_environment_still_gets_a_join_token(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    response = await client.post(
        "/api/v1/environments", json={"name": "remote"}, headers=bearer(admin_token)
    )
    assert response.status_code == 201
    body = response.json()
    assert body["join_token"].startswith("FDJT-1-")
    assert "--join-token" in body["agent_command"]
    assert body["environment"]["kind"] == "agent"
    assert body["environment"]["docker_host"] is None


async def test_a_local_environment_runs_its_agent_across_restarts_until_removed(
    settings: ServerSettings, dead_engine: str
) -> None:
    state_dir = settings.data_dir / "local-agents" / "here"
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as client:
        local = _local(app)
        token = await login(client, "admin", ADMIN_PASSWORD)
        response = await client.post(
            "/api/v1/environments",
            json={"name": "here", "kind": "local", "docker_host": dead_engine, "tags": ["t"]},
            headers=bearer(token),
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["join_token"] is None and body["agent_command"] is None
        assert body["environment"]["kind"] == "local"
        assert body["environment"]["docker_host"] == dead_engine
        first_pid = local.supervisor.pid("here")
        assert _alive(first_pid)
        key = state_dir / "agent.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert (state_dir / "agent.pem").is_file() and (state_dir / "ca.pem").is_file()
        # The server's link reaches the child over mutual TLS; the child finds no engine.
        view = await _env_when(client, token, "here", "engine_down")
        assert view["nodes"][0]["name"] == "local"
        assert view["nodes"][0]["agent_url"] == local.supervisor.url("here")

        duplicate = await client.post(
            "/api/v1/environments",
            json={"name": "again", "kind": "local", "docker_host": dead_engine},
            headers=bearer(token),
        )
        assert duplicate.status_code == 409
        assert "here" in duplicate.json()["message"]
        tokens = await client.post("/api/v1/environments/here/join-tokens", headers=bearer(token))
        assert tokens.status_code == 409
    assert not _alive(first_pid)  # server shutdown stopped it

    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as client:
        local = _local(app)
        token = await login(client, "admin", ADMIN_PASSWORD)
        second_pid = local.supervisor.pid("here")
        assert _alive(second_pid) and second_pid != first_pid
        view = await _env_when(client, token, "here", "engine_down")
        assert view["kind"] == "local" and view["tags"] == ["t"]
        assert view["nodes"][0]["agent_url"] == local.supervisor.url("here")

        removed = await client.delete("/api/v1/environments/here", headers=bearer(token))
        assert removed.status_code == 204
        assert not _alive(second_pid)
        assert not state_dir.exists()
        listed = await client.get("/api/v1/environments", headers=bearer(token))
        assert listed.json() == []
