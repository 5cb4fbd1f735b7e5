"""Users, roles, tokens and audit on the real server; viewers read, operators operate."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from fleetdeck.errors import PermissionDeniedError, UnauthenticatedError
from fleetdeck.wire.auth import Role
from tests.conftest import client_for, fleetdeck, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def test_viewer_reads_but_cannot_operate(fleet3: LabRecord) -> None:
    node = fleet3.nodes[0]
    name = f"acl-{uuid.uuid4().hex[:6]}"
    docker(node, "run", "-d", "--name", name, fleet3.images["web"])
    user = f"viewer{uuid.uuid4().hex[:6]}"
    try:
        with client_for(fleet3) as admin:
            admin.create_user(user, "a-long-password-1", Role.viewer)
            wait_for("container", lambda: admin.list_containers(name=name).total == 1)
        assert fleet3.server is not None
        with client_for(fleet3, token="") as anon:
            session = anon.login(user, "a-long-password-1")
        with client_for(fleet3, token=session.token) as viewer:
            token = viewer.create_token("ro").token
        with client_for(fleet3, token=token) as viewer:
            assert viewer.list_containers(name=name).total == 1
            with pytest.raises(PermissionDeniedError, match="operator"):
                viewer.stop_container(f"{node.name}/{name}")
        env = {**server_env(fleet3), "FLEETDECK_TOKEN": token}
        proc = fleetdeck("stop", f"{node.name}/{name}", env=env, check=False)
        assert proc.returncode == 3 and "operator" in proc.stderr
        assert docker(node, "inspect", "--format", "{{.State.Status}}", name) == "running"
        with client_for(fleet3) as admin:
            admin.revoke_token(next(t.id for t in admin.list_tokens() if t.name == "ro"))
        with client_for(fleet3, token=token) as revoked, pytest.raises(UnauthenticatedError):
            revoked.list_containers()
    finally:
        docker(node, "rm", "-f", name)
        with client_for(fleet3) as admin:
            admin.delete_user(user)
