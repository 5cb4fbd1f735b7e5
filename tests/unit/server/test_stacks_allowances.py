"""Dangerous hardening findings block non-admins unless an admin allowed them (issue #11, #13).

Through the real API, store and audit log, with a fake applier at the agent boundary (it
records what it would apply).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.client.stack_files import stack_file

from .conftest import add_user, bearer
from .test_stacks_files_api import _FakeApplier, fake

if TYPE_CHECKING:
    import httpx

__all__ = ["fake"]

IMAGE = "127.0.0.1:5000/app:1"
#: One service per dangerous rule: what it sets, and the rule it must trip.
DANGEROUS_SERVICES: list[tuple[dict[str, Any], str]] = [
    ({"privileged": True}, "privileged"),
    ({"network_mode": "host"}, "host-network"),
    ({"pid": "host"}, "host-pid"),
    ({"ipc": "host"}, "host-ipc"),
    ({"userns_mode": "host"}, "host-userns"),
    ({"volumes": ["/:/host"]}, "host-mount"),
    ({"volumes": ["/etc/:/etc-of-host:ro"]}, "host-mount"),
    ({"volumes": [{"type": "bind", "source": "/var/lib/docker", "target": "/d"}]}, "host-mount"),
    ({"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}, "docker-socket"),
    ({"volumes": ["/run/docker.sock:/s"]}, "docker-socket"),
    ({"cap_add": ["SYS_ADMIN"]}, "capability"),
    ({"cap_add": ["cap_sys_ptrace"]}, "capability"),
    ({"cap_add": ["ALL"]}, "capability"),
    ({"security_opt": ["seccomp=unconfined"]}, "unconfined"),
    ({"security_opt": ["apparmor:unconfined"]}, "unconfined"),
    ({"devices": ["/dev/sda:/dev/sda"]}, "device"),
]


def _files(service: dict[str, Any]) -> list[dict[str, str]]:
    data = {"services": {"app": {"image": IMAGE, "user": "1000", "mem_limit": "64m", **service}}}
    return [stack_file("compose.yaml", json.dumps(data).encode())]


async def _deploy(
    client: httpx.AsyncClient, token: str, stack: str, service: dict[str, Any]
) -> httpx.Response:
    body = {"environment": "lab", "files": _files(service)}
    return await client.post(f"/api/v1/stacks/{stack}/deploy", json=body, headers=bearer(token))


@pytest.fixture
async def operator(client: httpx.AsyncClient, admin_token: str) -> str:
    return await add_user(client, admin_token, "olivia", "operator")


@pytest.mark.parametrize(("service", "rule"), DANGEROUS_SERVICES)
async def test_a_dangerous_setting_blocks_an_operator_not_an_admin(
    client: httpx.AsyncClient,
    admin_token: str,
    operator: str,
    fake: _FakeApplier,
    service: dict[str, Any],
    rule: str,
) -> None:
    refused = await _deploy(client, operator, "web", service)
    assert refused.status_code == 403, refused.text
    error = refused.json()
    assert error["error"] == "permission_denied" and f"rule {rule} blocks" in error["message"]
    assert f"fleetdeck stack allow web {rule}" in error["hint"]
    assert (await client.get("/api/v1/stacks/web", headers=bearer(operator))).status_code == 404
    assert fake.applied == []
    diff = await client.post(
        "/api/v1/stacks/web/diff", json={"environment": "lab", "files": _files(service)},
        headers=bearer(operator),
    )  # fmt: skip
    assert any(f["rule"] == rule and f["blocking"] for f in diff.json()["findings"])

    allowed = await _deploy(client, admin_token, "web", service)
    assert allowed.status_code == 200, allowed.text
    assert json.loads(allowed.text.splitlines()[-1])["ok"]
    assert fake.applied == ["web"]


async def test_an_admin_allows_a_rule_per_stack_or_environment_audited(
    client: httpx.AsyncClient, admin_token: str, operator: str, fake: _FakeApplier
) -> None:
    privileged = {"privileged": True}
    denied = await client.put(
        "/api/v1/stacks/web/allowances", json={"rules": ["privileged"]}, headers=bearer(operator)
    )
    assert denied.status_code == 403
    bad = await client.put(
        "/api/v1/stacks/web/allowances", json={"rules": ["latest-tag"]},
        headers=bearer(admin_token),
    )  # fmt: skip
    assert bad.status_code == 422 and "not a rule that can be allowed" in bad.json()["message"]

    ok = await client.put(
        "/api/v1/stacks/web/allowances", json={"rules": ["privileged"]},
        headers=bearer(admin_token),
    )  # fmt: skip
    assert ok.status_code == 200 and ok.json()["rules"] == ["privileged"], ok.text
    assert (await _deploy(client, operator, "web", privileged)).status_code == 200
    both = {"privileged": True, "pid": "host"}
    assert (await _deploy(client, operator, "web", both)).status_code == 403  # host-pid not
    assert (await _deploy(client, operator, "other", privileged)).status_code == 403

    env = await client.put(
        "/api/v1/environments/lab/stack-allowances", json={"rules": ["privileged", "host-pid"]},
        headers=bearer(admin_token),
    )  # fmt: skip
    assert env.status_code == 200, env.text
    assert (await _deploy(client, operator, "other", both)).status_code == 200
    shown = await client.get("/api/v1/stacks/web/allowances", headers=bearer(operator))
    assert shown.json()["rules"] == ["privileged"]
    assert shown.json()["environment_rules"] == ["host-pid", "privileged"]

    cleared = await client.put(
        "/api/v1/environments/lab/stack-allowances", json={"rules": []},
        headers=bearer(admin_token),
    )  # fmt: skip
    assert cleared.json()["rules"] == []
    assert (await _deploy(client, operator, "other", both)).status_code == 403  # at once

    audit = await client.get(
        "/api/v1/audit", params={"action": "environment.stack_allow"}, headers=bearer(admin_token)
    )
    details = [e["detail"] for e in audit.json()["items"]]
    assert {"before": ["host-pid", "privileged"], "after": []} in details
    stack_audit = await client.get(
        "/api/v1/audit", params={"action": "stack.allow"}, headers=bearer(admin_token)
    )
    results = sorted(e["result"] for e in stack_audit.json()["items"])
    assert results[0].startswith("error") and results[-1] == "ok"


async def test_removing_a_stack_removes_its_allowances(
    client: httpx.AsyncClient, admin_token: str, operator: str, fake: _FakeApplier
) -> None:
    await client.put(
        "/api/v1/stacks/web/allowances", json={"rules": ["privileged"]},
        headers=bearer(admin_token),
    )  # fmt: skip
    assert (await _deploy(client, operator, "web", {"privileged": True})).status_code == 200
    removed = await client.delete("/api/v1/stacks/web", headers=bearer(admin_token))
    assert removed.status_code == 200, removed.text
    assert (await _deploy(client, operator, "web", {"privileged": True})).status_code == 403


async def test_safe_settings_and_named_volumes_do_not_block(
    client: httpx.AsyncClient, operator: str, fake: _FakeApplier
) -> None:
    service = {"volumes": ["data:/data", "/srv/media:/media:ro"], "cap_add": ["NET_BIND_SERVICE"]}
    data = {"services": {"app": {"image": IMAGE, "user": "1000", "mem_limit": "64m", **service}},
            "volumes": {"data": {}}}  # fmt: skip
    body = {"environment": "lab", "files": [stack_file("compose.yaml", json.dumps(data).encode())]}
    response = await client.post("/api/v1/stacks/web/deploy", json=body, headers=bearer(operator))
    assert response.status_code == 200, response.text
