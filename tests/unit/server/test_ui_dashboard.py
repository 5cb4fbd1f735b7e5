"""The dashboard (issue #12): what needs attention, node figures, events without sign-ins.

The app is real (store, inventory, alerts, metrics parts started); the node is put into the
environment's record directly, standing in for an enrolment, and its state, figures and
alerts are fed as the agent stream and the evaluator would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from fleetdeck.clock import FrozenClock
from fleetdeck.server.context import context_of
from fleetdeck.server.fleet.service import NodeRecord
from fleetdeck.server.store.models_alerts import Alert
from fleetdeck.server.store.models_backups import BackupRun, BackupSchedule
from fleetdeck.server.ui.dashboard import backup_freshness

from .conftest import ADMIN_PASSWORD, add_user, bearer, login
from .test_ui_pages import seed

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI


def _section(body: str, heading: str) -> str:
    return body.split(f'id="{heading}"')[1].split("</section>")[0]


async def _node3(app: FastAPI, client: httpx.AsyncClient, admin_token: str) -> None:
    """Environment ``lab`` with node ``node3`` enrolled (a record) and two containers."""
    await seed(app, client, admin_token)
    env = context_of(app).fleet.require_environment("lab")
    now = datetime.now(UTC)
    env.nodes.append(NodeRecord("node3", "n3", "https://10.0.0.3:7443", "01", now))


async def _fragment(client: httpx.AsyncClient, token: str, path: str) -> str:
    response = await client.get(path, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.text


async def test_an_unreachable_node_and_a_firing_alert_need_attention(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    await _node3(app, client, admin_token)
    body = await _fragment(client, admin_token, "/ui/fragments/dashboard")
    assert "data-attention-node" not in body and "data-attention-alert" not in body
    context_of(app).fleet.inventory.mark_unreachable("lab", "node3", "no heartbeat for 10s")
    async with context_of(app).store.transaction() as session:
        session.add(
            Alert(
                fingerprint="f" * 32, rule="cpu-hot", severity="critical", state="firing",
                labels={"environment": "lab", "node": "node3"},
                summary="cpu_percent of lab/node3 is 97% (> 80)", value=97.0,
                started_at=datetime.now(UTC), fired_at=datetime.now(UTC), notified="firing",
            )
        )  # fmt: skip
    attention = _section(
        await _fragment(client, admin_token, "/ui/fragments/dashboard"), "h-attention"
    )
    node = attention.split('data-attention-node="lab/node3"')[1].split("</li>")[0]
    assert 'href="/environments/lab"' in node and "unreachable" in node
    assert "no heartbeat for 10s" in node
    alert = attention.split("data-attention-alert=")[1].split("</li>")[0]
    assert 'href="/alerts"' in alert and "cpu-hot" in alert and "is 97% (&gt; 80)" in alert
    assert "db1" in attention  # the containers needing attention are still listed


async def test_node_rows_show_fresh_cpu_and_memory_and_a_dash_once_stale(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    await _node3(app, client, admin_token)
    now = datetime.now(UTC).replace(microsecond=0)
    context_of(app).clock = clock = FrozenClock(now)
    host = {"cpu_percent": 12.4, "cpu_cores": 0.25, "cpu_count": 2, "memory_percent": 45.6,
            "memory_used_bytes": 2 * 2**30, "memory_total_bytes": 4 * 2**30}  # fmt: skip
    assert context_of(app).metrics_latest.offer(
        "lab", "node3", {"time": now.isoformat(), "host": host}
    )

    async def row() -> str:
        body = await _fragment(client, admin_token, "/ui/fragments/dashboard")
        return body.split('data-node="lab/node3"')[1].split("</tr>")[0]

    fresh = await row()
    assert 'data-figure="cpu" title="0.25 of 2 cores">12%<' in fresh
    assert 'data-figure="memory" title="2.0 of 4.0 GiB">46%<' in fresh
    clock.advance(timedelta(minutes=5))  # no sample since: the figures are stale
    stale = await row()
    assert "12%" not in stale and "46%" not in stale
    assert stale.count('title="no recent sample">—<') == 2


async def test_sign_ins_fold_into_one_line_per_user_and_stay_in_the_audit_log(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str
) -> None:
    for _ in range(3):
        await login(client, "admin", ADMIN_PASSWORD)
    failed = await client.post(
        "/api/v1/auth/login", json={"username": "mallory", "password": "wrong-password-1"}
    )
    assert failed.status_code == 401
    await client.post("/api/v1/environments", json={"name": "lab"}, headers=bearer(admin_token))
    viewer = await add_user(client, admin_token, "vera", "viewer")

    async def events(token: str) -> tuple[list[str], dict[str, str]]:
        body = await _fragment(client, token, "/ui/fragments/dashboard/events")
        assert "auth.login" not in body
        lines = body.split('<li class="ev ')[1:]
        folded = {
            line.split('class="ev-where">')[1].split("<")[0]: line
            for line in lines
            if 'class="ev-kind">sessions<' in line
        }
        return lines, folded

    lines, folded = await events(admin_token)
    assert sorted(folded) == ["admin", "mallory", "vera"]  # one line each, however many
    assert "4 sign-ins in 24h" in folded["admin"] and folded["admin"].startswith("ev-info")
    assert "1 failed sign-in in 24h" in folded["mallory"]
    assert folded["mallory"].startswith("ev-bad")
    assert any("environment.create" in line for line in lines)
    _, theirs = await events(viewer)  # others' sign-ins are the audit log's, an admin's
    assert sorted(theirs) == ["vera"] and "1 sign-in in 24h" in theirs["vera"]
    audit = await client.get("/api/v1/audit?action=auth.login", headers=bearer(admin_token))
    assert audit.json()["total"] == 6  # admin's 4, vera's, mallory's failure: all kept


def test_the_backup_tile_judges_the_newest_good_backup_against_the_schedule() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

    def run(status: str, hours_ago: float) -> BackupRun:
        done = now - timedelta(hours=hours_ago)
        return BackupRun(target="t", trigger="schedule", status=status, started_at=done,
                         finished_at=done)  # fmt: skip

    daily = BackupSchedule(enabled=True, interval_s=86400, target="t")
    unscheduled = BackupSchedule(enabled=False, interval_s=86400, target=None)
    assert backup_freshness([], daily, now).level == "bad"
    assert backup_freshness([], unscheduled, now).level == "warn"
    fresh = backup_freshness([run("failed", 1), run("ok", 27.5)], daily, now)
    assert (fresh.age, fresh.level) == ("1d3h", "ok")  # a failed newer run is not good
    assert backup_freshness([run("ok", 49)], daily, now).level == "bad"  # two intervals
    assert backup_freshness([run("ok", 24 * 8)], unscheduled, now).level == "warn"
    assert backup_freshness([run("ok", 24 * 6)], unscheduled, now).level == "ok"
