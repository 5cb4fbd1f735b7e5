"""Lab test of issue #11: a stack cannot read the server's files, nor get root unallowed.

On real engines: an operator's token deploys the build-context exploit (``context: ../..``
with a Dockerfile that copies the CA key, master key and admin password), with an absolute
context, and with a context that is a symlink to the server's data dir; each is refused
with a 4xx naming the path, and nothing is built or run on the node. A viewer's
``env_file: /proc/self/environ`` gets the same refusal, with no secret in it, and the
server's process environment holds no admin password. A service in the host's PID namespace
is refused to the operator until an admin allows the rule for that stack, and then runs so.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fleetdeck.client.stack_files import stack_file
from fleetdeck.errors import InvalidInputError, PermissionDeniedError
from fleetdeck.wire.auth import Role
from tests.conftest import client_for, fleetdeck, server_env
from tests.integration.docker_cli import docker
from tests.integration.server_helpers import server_pid

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

PASSWORD = "operator-password-1"  # noqa: S105 - a test user's password


def _token(fleet3: LabRecord, role: Role) -> str:
    user = f"{role.value}{uuid.uuid4().hex[:6]}"
    with client_for(fleet3) as admin:
        admin.create_user(user, PASSWORD, role)
    with client_for(fleet3, token="") as anon:
        return anon.login(user, PASSWORD).token


def _secrets(fleet3: LabRecord) -> list[str]:
    assert fleet3.server is not None
    master = (Path(fleet3.server.data_dir) / "master.key").read_bytes()
    return [
        fleet3.server.admin_password,
        base64.b64encode(master).decode(),
        master.decode("latin-1"),
        "PRIVATE KEY",
    ]


def _nothing_on_node(fleet3: LabRecord, stack: str) -> None:
    node = fleet3.nodes[1]
    containers = docker(node, "ps", "-aq", "--filter", f"label=com.docker.compose.project={stack}")
    images = docker(node, "images", "-q", "--filter", f"reference={stack}-*")
    assert containers == "" and images == "", (containers, images)


def test_build_contexts_outside_the_stack_are_refused_and_nothing_is_built(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    assert fleet3.server is not None
    data = Path(fleet3.server.data_dir)
    loot = data / "stacks" / "loot"
    loot.mkdir(parents=True, exist_ok=True)
    (loot / "Dockerfile").write_text(
        f"FROM {fleet3.images['base']}\nCOPY ca/ca.key master.key admin-password /loot/\n"
        'CMD ["cat", "/loot/ca.key", "/loot/master.key", "/loot/admin-password"]\n'
    )
    operator = _token(fleet3, Role.operator)
    node = fleet3.nodes[1].name
    stack = f"loot{uuid.uuid4().hex[:6]}"
    variants = [
        {"context": "../..", "dockerfile": "stacks/loot/Dockerfile"},
        {"context": "/"},
        {"context": str(data), "dockerfile": "stacks/loot/Dockerfile"},
        {"context": ".", "dockerfile": "../../stacks/loot/Dockerfile"},
    ]
    with client_for(fleet3, token=operator) as client:
        for build in variants:
            compose = {"services": {"app": {"build": build}}}
            files = [stack_file("compose.yaml", json.dumps(compose).encode())]
            with pytest.raises(InvalidInputError, match="is not one of the stack's") as caught:
                list(client.deploy_stack(stack, node, files))
            assert not [s for s in _secrets(fleet3) if s in caught.value.message], build

    # A context that is a symlink to the server's data dir, through the real CLI.
    (tmp_path / "ctx").symlink_to(data)
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text("services:\n  app:\n    build: {context: ./ctx, dockerfile: "
                            "stacks/loot/Dockerfile}\n")  # fmt: skip
    env = {**server_env(fleet3), "FLEETDECK_TOKEN": operator}
    proc = fleetdeck("stack", "deploy", stack, "-f", str(compose_file), "--env", node, env=env,
                     check=False)  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "build context ctx is not one of the stack's files" in proc.stderr
    assert not [s for s in _secrets(fleet3) if s in proc.stdout + proc.stderr]
    _nothing_on_node(fleet3, stack)


def test_env_files_of_the_server_are_never_read(fleet3: LabRecord) -> None:
    assert fleet3.server is not None
    viewer = _token(fleet3, Role.viewer)
    data = fleet3.server.data_dir
    with client_for(fleet3, token=viewer) as client:
        for path in ("/proc/self/environ", f"{data}/admin-password", "/etc/passwd", "/nope"):
            compose = {"services": {"app": {"image": fleet3.images["base"], "env_file": path}}}
            files = [stack_file("compose.yaml", json.dumps(compose).encode())]
            result = client.validate_stack(files)
            assert result["ok"] is False
            message = result["errors"][0]["message"]
            assert message == f"env file {path} is not one of the stack's files", message
    # The server's own environment holds no password to leak (the lab passes a file's path).
    pid = server_pid(data)
    assert pid is not None
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert fleet3.server.admin_password.encode() not in environ
    assert b"FLEETDECK_ADMIN_PASSWORD=" not in environ


def test_the_host_pid_namespace_needs_an_admin_or_an_admins_allowance(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    operator = _token(fleet3, Role.operator)
    node = fleet3.nodes[1]
    stack = f"hpid{uuid.uuid4().hex[:6]}"
    compose = tmp_path / "compose.yaml"
    compose.write_text(  # (a lab engine cannot start privileged containers: caps are denied)
        f"services:\n  app:\n    image: {fleet3.images['base']}\n    pid: host\n"
        "    command: [sleep, '3600']\n"
    )
    as_operator = {**server_env(fleet3), "FLEETDECK_TOKEN": operator}
    deploy = ("stack", "deploy", stack, "-f", str(compose), "--env", node.name)
    refused = fleetdeck(*deploy, env=as_operator, check=False)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "rule host-pid blocks deploys" in refused.stderr
    assert f"fleetdeck stack allow {stack} host-pid" in refused.stderr
    _nothing_on_node(fleet3, stack)
    try:
        fleetdeck("stack", "allow", stack, "host-pid", env=server_env(fleet3))
        with client_for(fleet3, token=operator) as client, pytest.raises(PermissionDeniedError):
            client.set_stack_allowances(stack, ["privileged", "host-pid"])
        fleetdeck(*deploy, env=as_operator)
        names = docker(node, "ps", "-q", "--filter", f"label=com.docker.compose.project={stack}")
        assert docker(node, "inspect", "--format", "{{.HostConfig.PidMode}}",
                      names.split()[0]) == "host"  # fmt: skip
        with client_for(fleet3) as admin:
            entries = admin.audit(action="stack.allow", target=stack).items
        assert entries and entries[0].detail == {"before": [], "after": ["host-pid"]}
    finally:
        fleetdeck("stack", "rm", stack, "--yes", env=server_env(fleet3), check=False)
