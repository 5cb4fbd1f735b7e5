"""The previous release's store migrates forward: the server starts on it and finds its objects.

``tests/fixtures/releases/v0.1.0-store.db.gz`` was made by v0.1.0's own server and code
(``scripts/release-fixtures``): an admin (password ``fixture-admin-1``), an operator ``ops``,
an environment ``nas`` with one enrolled node, a saved stack ``web`` and an alert rule
``nas-load``. The current server, started on a copy, backs it up, migrates it to the head
revision and serves every one of those objects.
"""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest

from fleetdeck.server.app import create_app
from fleetdeck.server.config import ServerSettings
from fleetdeck.server.store.migrate import newest_backup
from tests.unit.server.conftest import bearer, client_for, login

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "releases" / "v0.1.0-store.db.gz"
VERSIONS = Path(__file__).resolve().parents[3] / "src/fleetdeck/server/store/migrations/versions"


def _revision(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def _head() -> str:
    return max(p.name[1:5] for p in VERSIONS.glob("r[0-9][0-9][0-9][0-9]_*.py"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir holding a copy of the v0.1.0 store and nothing else."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "fleetdeck.db").write_bytes(gzip.decompress(FIXTURE.read_bytes()))
    return data


def test_the_fixture_is_the_previous_releases_schema(data_dir: Path) -> None:
    assert _revision(data_dir / "fleetdeck.db") == "0011"
    assert _head() > "0011"


async def test_the_server_migrates_the_previous_releases_store_and_keeps_its_objects(
    data_dir: Path,
) -> None:
    db = data_dir / "fleetdeck.db"
    settings = ServerSettings.load(data_dir=data_dir, listen="127.0.0.1:18443")
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as client:
        token = await login(client, "admin", "fixture-admin-1")
        auth = bearer(token)
        users = (await client.get("/api/v1/users", headers=auth)).json()
        roles = {(u["username"], u["role"]) for u in users}
        assert roles >= {("admin", "admin"), ("ops", "operator")}
        env = (await client.get("/api/v1/environments/nas", headers=auth)).json()
        assert env["tags"] == ["home"] and env["groups"] == ["storage"]
        assert [n["name"] for n in env["nodes"]] == ["nas1"]
        # Enrolled before agents reported versions, and not connected since: unknown.
        assert env["nodes"][0]["agent_protocol"] is None
        assert env["agent_outdated"] is None
        stack = (await client.get("/api/v1/stacks/web", headers=auth)).json()
        assert stack["environment"] == "nas"
        assert "10.0.0.1:5000/fleetdeck/web:1" in str(stack["files"])
        rule = (await client.get("/api/v1/rules/nas-load", headers=auth)).json()
        assert rule["metric"] == "load1" and rule["threshold"] == 4 and rule["for"] == 300
        assert await login(client, "ops", "fixture-ops-password-1")
    assert _revision(db) == _head()
    backup = newest_backup(db)
    assert backup is not None and _revision(backup) == "0011"
