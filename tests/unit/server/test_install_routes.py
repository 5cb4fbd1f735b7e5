"""``/install/``: the agent distribution the server serves, and the lines ``env add`` prints.

The lab test (tests/integration/test_agent_install.py) runs the script on a systemd host;
here are the server's rules: which names are served, what the lines carry, and the token
check's answers for every unusable token (an expired one cannot be made on a lab server).
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck import __version__, pki
from fleetdeck.server.context import context_of
from fleetdeck.server.install.dist import AgentDist
from fleetdeck.server.install.lines import docker_run_line
from tests.unit.server.conftest import bearer

if TYPE_CHECKING:
    from pathlib import Path

    import httpx
    from fastapi import FastAPI

#: The wheelhouse's fleetdeck wheel; its version, not the server's, is the manifest's.
WHEEL = "fleetdeck-0.1.0-py3-none-any.whl"
DEP = "aiohttp-3.14.5-cp311-cp311-manylinux2014_x86_64.whl"


def _wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheelhouse"
    house.mkdir()
    (house / WHEEL).write_bytes(b"fleetdeck wheel bytes")
    (house / DEP).write_bytes(b"aiohttp wheel bytes")
    (house / "requirements-agent.txt").write_text("aiohttp==3.14.5\n")
    return house


def _dist(app: FastAPI) -> AgentDist:
    return AgentDist(context_of(app).settings.agent_dist_path)


async def _new_env(client: httpx.AsyncClient, token: str, name: str = "nas") -> dict[str, Any]:
    response = await client.post("/api/v1/environments", json={"name": name}, headers=bearer(token))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_without_a_distribution_only_the_container_and_hand_lines_are_given(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    answer = await _new_env(client, admin_token)
    token = answer["join_token"]
    assert answer["install_command"] is None and answer["uninstall_command"] is None
    assert answer["image_load_command"] is None
    assert answer["agent_command"].startswith("fleetdeck agent --server https://testserver")
    assert answer["docker_command"] == (
        "docker run -d --name fleetdeck-agent --restart unless-stopped --network host "
        "-v /var/run/docker.sock:/var/run/docker.sock -v fleetdeck-agent:/data "
        f"-e FLEETDECK_SERVER=https://testserver -e FLEETDECK_JOIN_TOKEN={token} "
        f"fleetdeck/agent:{__version__}"
    )
    missing = await client.get("/install/manifest.json")
    assert missing.status_code == 404
    assert "agent-dist" in missing.json()["hint"]
    assert (await client.get(f"/install/wheels/{WHEEL}")).status_code == 404
    assert (await client.get("/install/fleetdeck-agent-image.tar")).status_code == 404


async def test_the_install_line_pins_this_servers_ca_and_the_script_is_rendered(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    _dist(app).fill(_wheelhouse(tmp_path))
    answer = await _new_env(client, admin_token)
    line, token = answer["install_command"], answer["join_token"]
    assert " -k" not in line and "--insecure" not in line
    assert line.endswith(f"https://testserver/install/agent.sh | sh -s -- --token {token}")
    # The CA travels in the line: printf's arguments, unquoted by the shell, are its PEM.
    printf_args = line.split("<(printf '%s\\n' ", 1)[1].split(")", 1)[0]
    ca_pem = pki.cert_pem(context_of(app).ca.cert).decode()
    assert "\n".join(shlex.split(printf_args)) + "\n" == ca_pem
    assert answer["uninstall_command"] == "sh /opt/fleetdeck-agent/agent.sh --uninstall"

    script = await client.get("/install/agent.sh")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/x-sh")
    assert "@@" not in script.text
    assert "SERVER='https://testserver'" in script.text and ca_pem.strip() in script.text
    assert subprocess.run(["sh", "-n"], input=script.text, text=True, check=False).returncode == 0


async def test_only_listed_wheels_are_served_with_the_manifests_digests(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    _dist(app).fill(_wheelhouse(tmp_path))
    manifest = (await client.get("/install/manifest.json")).json()
    assert manifest["version"] == "0.1.0" and manifest["image"] is None
    assert sorted(f["name"] for f in manifest["files"]) == sorted([WHEEL, DEP])
    for entry in manifest["files"]:
        body = (await client.get(f"/install/wheels/{entry['name']}")).content
        assert hashlib.sha256(body).hexdigest() == entry["sha256"] and len(body) == entry["size"]
    # Nothing outside wheels/, nothing unlisted, even when the file exists next to them.
    (_dist(app).directory / "wheels" / "other-1.0-py3-none-any.whl").write_bytes(b"x")
    for name in ("other-1.0-py3-none-any.whl", "..%2Fmanifest.json", "%2E%2E", "x.txt"):
        assert (await client.get(f"/install/wheels/{name}")).status_code == 404, name


async def test_an_image_tarball_is_served_and_announced(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    tarball = tmp_path / "agent.tar"
    tarball.write_bytes(b"image layers")
    _dist(app).fill(_wheelhouse(tmp_path), tarball)
    manifest = (await client.get("/install/manifest.json")).json()
    assert manifest["image"]["sha256"] == hashlib.sha256(b"image layers").hexdigest()
    assert (await client.get("/install/fleetdeck-agent-image.tar")).content == b"image layers"
    load = (await _new_env(client, admin_token))["image_load_command"]
    assert load.endswith("https://testserver/install/fleetdeck-agent-image.tar | docker load")


async def test_the_hardened_unit_is_served(client: httpx.AsyncClient) -> None:
    unit = (await client.get("/install/fleetdeck-agent.service")).text
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure"):
        assert line in unit
    assert "\nExecStart=" in unit


async def test_token_check_admits_a_fresh_token_without_using_it(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    token = (await _new_env(client, admin_token))["join_token"]
    for _ in range(2):
        check = await client.post("/install/token-check", json={"join_token": token})
        assert check.status_code == 200, check.text
        assert check.json()["environment"] == "nas"
        assert 0 < check.json()["expires_in_seconds"] <= 3600


async def test_token_check_refuses_used_expired_unknown_and_foreign_tokens(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    fleet = context_of(app).fleet
    used = (await _new_env(client, admin_token))["join_token"]
    await fleet.repo.consume_join_token(
        pki.hash_secret(pki.parse_join_token(used)[1]), fleet.clock.now()
    )
    fleet.join_token_ttl = timedelta(seconds=-1)
    expired = (
        await client.post("/api/v1/environments/nas/join-tokens", headers=bearer(admin_token))
    ).json()["join_token"]
    fingerprint = context_of(app).ca.fingerprint
    cases = {
        used: "used already",
        expired: "expired",
        f"FDJT-1-{fingerprint}-nosuchsecret": "unknown join token",
        f"FDJT-1-{'0' * 64}-secret": "another fleetdeck server",
    }
    for token, reason in cases.items():
        check = await client.post("/install/token-check", json={"join_token": token})
        assert check.status_code == 403, check.text
        assert reason in check.json()["message"]


@pytest.mark.parametrize(
    "body",
    [{}, {"join_token": "short"}, {"join_token": "FDJT-1-" + "a" * 400}, {"join_token": 1}],
)
async def test_token_check_bodies_are_validated(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert (await client.post("/install/token-check", json=body)).status_code == 422
    extra = await client.post("/install/token-check", json={"join_token": "x" * 20, "more": 1})
    assert extra.status_code == 422


def test_a_broken_manifest_is_a_clear_error(tmp_path: Path) -> None:
    dist = AgentDist(tmp_path)
    (tmp_path / "manifest.json").write_text('{"version": "1", "files": [{"name": "../x"}]}')
    with pytest.raises(Exception, match="not an agent distribution manifest"):
        dist.manifest()


def test_a_wheelhouse_without_fleetdeck_is_refused(tmp_path: Path) -> None:
    house = tmp_path / "house"
    house.mkdir()
    (house / DEP).write_bytes(b"x")
    with pytest.raises(Exception, match="holds no fleetdeck wheel"):
        AgentDist(tmp_path / "dist").fill(house)
    assert not (tmp_path / "dist" / "manifest.json").exists()


def test_the_docker_line_is_the_contract() -> None:
    assert docker_run_line("https://s:8443", "T", "1.2.3") == (
        "docker run -d --name fleetdeck-agent --restart unless-stopped --network host "
        "-v /var/run/docker.sock:/var/run/docker.sock -v fleetdeck-agent:/data "
        "-e FLEETDECK_SERVER=https://s:8443 -e FLEETDECK_JOIN_TOKEN=T fleetdeck/agent:1.2.3"
    )
