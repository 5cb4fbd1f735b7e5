"""The ``/backups/volumes`` routes: bad input refused clearly before anything changes.

No node is connected: these are the checks that come before any agent is called (the copy
itself is the lab test's, tests/integration/test_volume_backups.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from fleetdeck.clock import SYSTEM
from fleetdeck.server.fleet.inventory import NodeState
from fleetdeck.server.store.models_volume_backups import VolumeBackupPolicy
from fleetdeck.server.volbackups.repository import VolumeBackupRepository
from fleetdeck.server.volbackups.service import VolumeBackupService
from fleetdeck.wire.containers import EngineContainer
from tests.unit.server.conftest import add_user, bearer

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from fleetdeck.server.store import Store

POLICIES = "/api/v1/backups/volumes/policies"
PASSPHRASE = "volume passphrase"  # noqa: S105 - a test value


async def _setup(client: httpx.AsyncClient, token: str, tmp_path: Path) -> None:
    made = await client.post(
        "/api/v1/environments", json={"name": "prod", "kind": "agent"}, headers=bearer(token)
    )
    assert made.status_code == 201, made.text
    (tmp_path / "repo").mkdir()
    target = {"name": "nas", "destination": str(tmp_path / "repo")}
    added = await client.post("/api/v1/backups/targets", json=target, headers=bearer(token))
    assert added.status_code == 201, added.text


def _policy(**fields: Any) -> dict[str, Any]:
    return {"name": "shop", "environment": "prod", "target": "nas", "stack": "shop", **fields}


async def test_a_policy_is_stored_its_passphrase_never_shown_and_removed_by_name(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    await _setup(client, admin_token, tmp_path)
    body = _policy(name="shop/db", service="db", consistency="stop", passphrase=PASSPHRASE,
                   interval_s=3600, keep_last=3)  # fmt: skip
    made = await client.post(POLICIES, json=body, headers=bearer(admin_token))
    assert made.status_code == 201, made.text
    shown = made.json()
    assert shown["has_passphrase"] is True and shown["source"] == "api"
    assert (shown["consistency"], shown["keep_last"], shown["next_due_in_s"]) == ("stop", 3, 0.0)
    listed = await client.get(POLICIES, headers=bearer(admin_token))
    assert PASSPHRASE not in listed.text and [p["name"] for p in listed.json()] == ["shop/db"]
    manual = await client.post(POLICIES, json=_policy(interval_s=None), headers=bearer(admin_token))
    assert manual.status_code == 201 and manual.json()["next_due_in_s"] is None
    gone = await client.delete(f"{POLICIES}/shop%2Fdb", headers=bearer(admin_token))
    assert gone.status_code == 200, gone.text
    again = await client.post(POLICIES, json=_policy(), headers=bearer(admin_token))
    assert again.status_code == 409  # the name "shop" is taken


async def test_bad_policies_are_refused_with_a_clear_error(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    await _setup(client, admin_token, tmp_path)
    sftp = {"name": "far", "destination": "sftp://u@127.0.0.1:2222/repo",
            "known_hosts": "[127.0.0.1]:2222 ssh-ed25519 AAAA", "ssh_password": "pw"}  # fmt: skip
    added = await client.post("/api/v1/backups/targets", json=sftp, headers=bearer(admin_token))
    assert added.status_code == 201, added.text
    cases = [
        (_policy(environment="nowhere"), 404, "nowhere"),
        (_policy(target="missing"), 404, "missing"),
        (_policy(stack=None), 422, "say what to back up"),
        (_policy(stack=None, service="db"), 422, "with its stack"),
        (_policy(consistency="hook"), 422, "needs a pre or post"),
        (_policy(pre_hook="pg_dump"), 422, "go with consistency hook"),
        (_policy(consistency="freeze"), 422, "consistency"),
        (_policy(interval_s=5), 422, "interval_s"),
        (_policy(volumes=["a"] * 65), 422, "volumes"),
        (_policy(name="../x"), 422, "name"),
        (_policy(surprise=1), 422, "surprise"),
    ]
    for body, status, text in cases:
        answer = await client.post(POLICIES, json=body, headers=bearer(admin_token))
        assert answer.status_code == status, (body, answer.text)
        assert text in answer.text and "Traceback" not in answer.text
    assert (await client.get(POLICIES, headers=bearer(admin_token))).json() == []
    # An SFTP target is fine for volume backups (the helper carries ssh).
    far = await client.post(POLICIES, json=_policy(target="far"), headers=bearer(admin_token))
    assert far.status_code == 201, far.text


async def test_runs_and_restores_of_what_is_not_there_are_clear_errors(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    await _setup(client, admin_token, tmp_path)
    body = _policy(passphrase=PASSPHRASE, interval_s=None)
    assert (await client.post(POLICIES, json=body, headers=bearer(admin_token))).status_code == 201
    run = await client.post(
        "/api/v1/backups/volumes", json={"policy": "shop"}, headers=bearer(admin_token)
    )
    assert run.status_code == 404 and "no volume of stack shop" in run.json()["message"]
    missing = await client.post(
        "/api/v1/backups/volumes", json={"policy": "other"}, headers=bearer(admin_token)
    )
    assert missing.status_code == 404
    restore = await client.post(
        "/api/v1/backups/volumes/restore", json={"backup": "deadbeef"}, headers=bearer(admin_token)
    )
    assert restore.status_code == 404 and "no volume backup" in restore.json()["message"]
    bad_volume = await client.post(
        "/api/v1/backups/volumes/restore",
        json={"backup": "deadbeef", "volume": "../etc"},
        headers=bearer(admin_token),
    )
    assert bad_volume.status_code == 422
    listed = await client.get("/api/v1/backups/volumes", headers=bearer(admin_token))
    assert listed.status_code == 200 and listed.json() == []


async def test_volume_backups_are_for_admins_only(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    operator = await add_user(client, admin_token, "ops", "operator")
    for method, path in (("GET", "/api/v1/backups/volumes"), ("GET", POLICIES)):
        answer = await client.request(method, path, headers=bearer(operator))
        assert answer.status_code == 403


async def test_the_backups_page_lists_volume_policies_and_says_when_none_has_a_backup(
    client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    await _setup(client, admin_token, tmp_path)
    empty = await client.get("/backups", headers=bearer(admin_token))
    assert empty.status_code == 200 and "No volume backup policy." in empty.text
    body = _policy(name="shop/db", service="db", consistency="pause", passphrase=PASSPHRASE)
    assert (await client.post(POLICIES, json=body, headers=bearer(admin_token))).is_success
    page = await client.get("/backups", headers=bearer(admin_token))
    assert page.status_code == 200
    assert "shop/db" in page.text and "pause" in page.text and "none yet" in page.text
    assert 'data-volume-backup="shop/db"' in page.text and PASSPHRASE not in page.text


async def test_compose_policies_of_a_stack_that_is_gone_are_dropped(store: Store) -> None:
    repo = VolumeBackupRepository(store)
    for name, source, stack in (("kept", "compose", "kept"), ("gone/db", "compose", "gone"),
                                ("api", "api", "gone")):  # fmt: skip
        row = VolumeBackupPolicy(name=name, source=source, environment="prod", stack=stack,
                                 volumes=[], target="nas", keep_last=7, consistency="none",
                                 enabled=True)  # fmt: skip
        await repo.add_policy(row)

    async def compose_files(stack: str) -> list[tuple[str, str]]:
        return [("compose.yaml", "services: {}")] if stack == "kept" else []

    unused: Any = None  # the step under test reads only the tables and the files
    service = VolumeBackupService(repo, unused, unused, unused, SYSTEM, compose_files=compose_files)
    await service._drop_orphans()
    assert [p.name for p in await repo.policies()] == ["api", "kept"]  # an API policy stays


class _Inventory:
    def __init__(self, states: list[NodeState]) -> None:
        self.states = states

    def nodes(self, environment: str | None = None) -> list[NodeState]:
        return [s for s in self.states if environment in (None, s.environment)]


class _Targets:
    async def target(self, name: str) -> Any:
        return SimpleNamespace(name=name, kind="dir")


def _container(name: str, labels: dict[str, str]) -> EngineContainer:
    return EngineContainer(
        id=name, name=name, image="db:1", state="running", created=datetime.now(UTC),
        labels=labels, stack="shop", service="db",
    )  # fmt: skip


async def test_labels_on_a_stack_container_make_a_policy_and_removing_them_drops_it(
    store: Store,
) -> None:
    labels = {"fleetdeck.backup.target": "nas", "fleetdeck.backup.schedule": "6h",
              "fleetdeck.backup.consistency": "stop"}  # fmt: skip
    state = NodeState("prod", "node1", containers={"c1": _container("shop-db-1", labels)})
    fleet: Any = SimpleNamespace(
        inventory=_Inventory([state]), require_environment=lambda name: None
    )
    backups: Any = SimpleNamespace(repo=_Targets())
    repo = VolumeBackupRepository(store)
    unused: Any = None
    service = VolumeBackupService(repo, backups, fleet, unused, SYSTEM)
    await service._refresh_labels()
    [policy] = await repo.policies()
    assert (policy.name, policy.source, policy.stack, policy.service) == (
        "label:shop/db",
        "label",
        "shop",
        "db",
    )
    assert (policy.consistency, policy.interval_s) == ("stop", 6 * 3600.0)
    state.containers["c1"] = _container("shop-db-1", {})
    await service._refresh_labels()
    assert await repo.policies() == []
