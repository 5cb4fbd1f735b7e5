"""Images built on a plain host from the stack's own files: large contexts, and rollback.

A build context is the stack's files under the build directory, sent to the node's agent as a
streamed tar: several megabytes must go through (the agent's JSON bodies stop at 1 MiB). A
rollback of a service that has only ``build:`` runs the image that revision built while the
node has it, and builds it again from that revision's files once it is gone.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

DOCKERFILE = 'ARG BASE\nFROM ${BASE}\nCOPY . /ctx/\nCMD ["sleep", "3600"]\n'


def _context(tmp_path: Path, version: str) -> list[Path]:
    """A build directory of about 3 MB (three text files of 1,000,000 bytes) and a version file."""
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "Dockerfile").write_text(DOCKERFILE)
    (app / "version").write_text(version)
    for n in range(3):
        line = f"{version} part {n} " + "x" * 80 + "\n"
        (app / f"data{n}.txt").write_text((line * (1_000_000 // len(line) + 1))[:1_000_000])
    return sorted(app.iterdir())


def _running(fleet3: LabRecord, stack: str) -> str:
    """The name of the stack's one running container (its number changes with each update)."""
    names = docker(fleet3.nodes[1], "ps", "--filter", f"label=com.docker.compose.project={stack}",
                   "--format", "{{.Names}}").split()  # fmt: skip
    assert len(names) == 1, names
    return names[0]


def _in_container(fleet3: LabRecord, stack: str, path: str) -> str:
    return docker(fleet3.nodes[1], "exec", _running(fleet3, stack), "cat", path)


def _image_id(fleet3: LabRecord, stack: str) -> str:
    return docker(fleet3.nodes[1], "inspect", "--format", "{{.Image}}", _running(fleet3, stack))


def test_large_context_builds_and_rollback_runs_or_rebuilds_that_revisions_image(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[1]
    stack = f"b{uuid.uuid4().hex[:6]}"
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  app:\n    build:\n      context: ./app\n"
        f"      args: {{BASE: '{fleet3.images['base']}'}}\n"
    )
    files = _context(tmp_path, "v1")
    sums = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    fleetdeck("stack", "deploy", stack, "-f", str(compose), "--env", node.name, env=env)
    paths = [f"/ctx/{n}" for n in sums]
    inside = docker(node, "exec", _running(fleet3, stack), "sha256sum", *paths)
    assert {line.split()[1].removeprefix("/ctx/"): line.split()[0]
            for line in inside.splitlines()} == sums  # fmt: skip
    first_image = _image_id(fleet3, stack)

    _context(tmp_path, "v2")
    fleetdeck("stack", "deploy", stack, "-f", str(compose), "--env", node.name, env=env)
    assert _in_container(fleet3, stack, "/ctx/version") == "v2"
    history = fleetdeck_json("stack", "history", stack, env=env)
    first = history[-1]["revision"]

    # the node still has revision 1's image: run exactly that one
    fleetdeck("stack", "rollback", stack, str(first), env=env)
    assert _in_container(fleet3, stack, "/ctx/version") == "v1"
    assert _image_id(fleet3, stack) == first_image
    assert fleetdeck_json("stack", "history", stack, env=env)[0]["result"] == "ok"

    # once that image is gone, the rollback builds it again from revision 1's files
    fleetdeck("stack", "deploy", stack, "-f", str(compose), "--env", node.name, env=env)
    assert _in_container(fleet3, stack, "/ctx/version") == "v2"
    docker(node, "rmi", "-f", first_image)
    fleetdeck("stack", "rollback", stack, str(first), env=env)
    assert _in_container(fleet3, stack, "/ctx/version") == "v1"
    assert _in_container(fleet3, stack, "/ctx/data2.txt").startswith("v1 part 2")
    plan = fleetdeck_json("stack", "diff", stack, env=env)
    assert [c["action"] for c in plan] == ["unchanged"], plan
    fleetdeck("stack", "rm", stack, "-y", env=env)
