"""Binary build-context files reach the image byte for byte, and a rollback restores them.

The CLI reads a build directory as bytes and sends what is not UTF-8 as base64; the server
stores each content once, writes it back for the build and tars it to the node's agent. A
5 MB text file, a file of all 256 byte values and a gzip must come out of the built image
with the SHA-256 they went in with, in every revision and after a rollback that rebuilds the
first revision's image from the stored contents.
"""

from __future__ import annotations

import gzip
import hashlib
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.test_stacks_host_build import DOCKERFILE, _running

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def _context(tmp_path: Path, version: str) -> dict[str, str]:
    """Write the build directory for ``version``; the SHA-256 of each of its files by name."""
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "Dockerfile").write_text(DOCKERFILE)
    line = f"{version} text " + "y" * 90 + "\n"
    (app / "big.txt").write_text((line * (5_000_000 // len(line) + 1))[:5_000_000])
    (app / "bytes.bin").write_bytes(bytes(range(256)) * 4 + version.encode())
    payload = f"{version} compressed ".encode() * 5000
    (app / "data.gz").write_bytes(gzip.compress(payload, mtime=0))
    (app / "latin1.txt").write_bytes(f"{version} café\n".encode("latin-1"))
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(app.iterdir())}


def _sums_inside(fleet3: LabRecord, stack: str, names: list[str]) -> dict[str, str]:
    paths = [f"/ctx/{n}" for n in names]
    out = docker(fleet3.nodes[1], "exec", _running(fleet3, stack), "sha256sum", *paths)
    return {line.split()[1].removeprefix("/ctx/"): line.split()[0] for line in out.splitlines()}


def test_binary_context_files_are_built_exactly_and_rolled_back(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[1]
    stack = f"x{uuid.uuid4().hex[:6]}"
    compose = tmp_path / "compose.yaml"
    base = fleet3.images["base"]
    build = f"{{context: app, args: {{BASE: '{base}'}}}}"
    compose.write_text(f"services:\n  app:\n    build: {build}\n")
    v1 = _context(tmp_path, "v1")
    fleetdeck("stack", "deploy", stack, "-f", str(compose), "--env", node.name, env=env)
    assert _sums_inside(fleet3, stack, list(v1)) == v1

    first = fleetdeck_json("stack", "history", stack, env=env)[0]["revision"]
    first_image = docker(node, "inspect", "--format", "{{.Image}}", _running(fleet3, stack))

    v2 = _context(tmp_path, "v2")
    assert v2["bytes.bin"] != v1["bytes.bin"] and v2["data.gz"] != v1["data.gz"]
    fleetdeck("stack", "deploy", stack, "-f", str(compose), "--env", node.name, env=env)
    assert _sums_inside(fleet3, stack, list(v2)) == v2

    # without revision 1's image on the node, the rollback builds it again from stored bytes
    docker(node, "rmi", "-f", first_image)
    fleetdeck("stack", "rollback", stack, str(first), env=env)
    assert _sums_inside(fleet3, stack, list(v1)) == v1
    assert fleetdeck_json("stack", "history", stack, env=env)[0]["result"] == "ok"
    fleetdeck("stack", "rm", stack, "-y", env=env)
    names = docker(node, "ps", "-a", "--filter", f"label=com.docker.compose.project={stack}",
                   "--format", "{{.Names}}").split()  # fmt: skip
    assert names == []
