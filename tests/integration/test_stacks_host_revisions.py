"""Issue #12 on the real lab through the CLI: undone deploys, revisions, rollback, variables.

- A deploy undone by its failing healthcheck leaves the stack's definition as what runs
  (``stack diff`` plans nothing; the stored files are the running ones) and the failed
  revision in history as rolled back.
- An unchanged re-deploy adds no revision, so ``stack rollback`` goes to the last revision
  that differs; history shows each revision's images and how many services it changed.
- A variable gives the same result in ``stack config``, ``stack diff`` and ``stack deploy``
  whichever source it comes from (shell, project ``.env``, ``--env-file``, stored), and
  ``diff`` names the source.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

SICK = (
    "services:\n  web:\n"
    "    healthcheck: {test: [CMD, 'false'], interval: 1s, timeout: 1s, retries: 1}\n"
)


def _images(node: NodeRecord, stack: str) -> list[str]:
    """The image reference each running container of the stack was created from."""
    names = docker(node, "ps", "--filter", f"label=com.docker.compose.project={stack}",
                   "--format", "{{.Names}}").split()  # fmt: skip
    return sorted(docker(node, "inspect", "-f", "{{.Config.Image}}", n) for n in names)


def _digest(node: NodeRecord, ref: str) -> str:
    """``repo@sha256:…`` of a lab tag, as fleetdeck creates containers from it."""
    docker(node, "pull", ref)
    return docker(node, "image", "inspect", "-f", "{{index .RepoDigests 0}}", ref).strip()


def test_an_undone_deploy_restores_the_definition_and_rollback_skips_identical_revisions(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[0]
    stack = f"h{uuid.uuid4().hex[:6]}"
    where = ["--env", node.name]
    compose = tmp_path / "compose.yaml"
    compose.write_text(f"services:\n  web:\n    image: {fleet3.images['web']}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text(SICK)
    fleetdeck("stack", "deploy", stack, "-f", str(compose), *where, env=env)
    again = fleetdeck("stack", "deploy", stack, "-f", str(compose), *where, env=env)
    assert "no new revision" in again.stdout, again.stdout
    bad = fleetdeck("stack", "deploy", stack, "-f", str(compose), "-f", str(broken), *where,
                    env=env, check=False)  # fmt: skip
    assert bad.returncode == 1 and "rolled back" in bad.stderr, bad.stderr
    with client_for(fleet3) as client:
        stored = client.get_stack(stack)
    assert [f["name"] for f in stored["files"]] == ["compose.yaml"]
    assert stored["revision"] == 1
    plan = fleetdeck_json("stack", "diff", stack, env=env)
    assert [c["action"] for c in plan] == ["unchanged"], plan
    history = fleetdeck_json("stack", "history", stack, env=env)
    assert [(h["revision"], h["result"]) for h in history] == [(2, "rolled_back"), (1, "ok")]
    assert history[0]["changed"] == 1 and history[1]["changed"] == 1

    # v2, then v2 again (no revision): rollback goes to v1, the last revision that differs.
    compose.write_text(f"services:\n  web:\n    image: {fleet3.images['web_v2']}\n")
    fleetdeck("stack", "deploy", stack, "-f", str(compose), *where, env=env)
    fleetdeck("stack", "deploy", stack, "-f", str(compose), *where, env=env)
    assert [h["revision"] for h in fleetdeck_json("stack", "history", stack, env=env)] == [3, 2, 1]
    out = fleetdeck("stack", "rollback", stack, env=env)
    assert "rollback to revision 1" in out.stdout, out.stdout
    assert _images(node, stack) == [_digest(node, fleet3.images["web"])]
    table = fleetdeck("stack", "history", stack, env=env | {"COLUMNS": "500"}).stdout
    assert "CHANGED" in table and "IMAGES" in table and "web=" in table, table
    fleetdeck("stack", "rm", stack, "-y", env=env)


def test_a_variable_from_each_source_gives_the_same_config_diff_and_deploy(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[1]
    stack = f"v{uuid.uuid4().hex[:6]}"
    v1, v2 = fleet3.images["web"], fleet3.images["web_v2"]
    compose = tmp_path / "compose.yaml"
    compose.write_text(f"services:\n  web:\n    image: ${{WEB_IMAGE:-{v1}}}\n")
    where = ["-f", str(compose), "--env", node.name]
    fleetdeck("stack", "deploy", stack, *where, env=env)
    digest_v1, digest_v2 = _digest(node, v1), _digest(node, v2)
    assert _images(node, stack) == [digest_v1]
    dotenv, other = tmp_path / ".env", tmp_path / "other.env"
    other.write_text(f"WEB_IMAGE={v2}\n")
    sources = {
        "shell": ({"WEB_IMAGE": v2}, []),
        "env_file": ({}, ["--env-file", str(other)]),
        "dotenv": ({}, []),
    }
    for source, (shell, extra) in sources.items():
        if source == "dotenv":
            dotenv.write_text(f"WEB_IMAGE={v2}\n")
        config = fleetdeck_json("stack", "config", "-f", str(compose), *extra, env=env | shell)
        assert config["services"]["web"]["image"] == v2, source
        plan = fleetdeck_json("stack", "diff", stack, *where, *extra, env=env | shell)
        assert [(c["action"], c["variables"]) for c in plan] == [
            ("recreate", {"WEB_IMAGE": "shell" if shell else "env_file"})
        ], (source, plan)
        human = fleetdeck("stack", "diff", stack, *where, *extra, env=env | shell).stdout
        assert "variable WEB_IMAGE: from " + ("shell" if shell else "env file") in human, human
        fleetdeck("stack", "deploy", stack, *where, *extra, env=env | shell)
        assert _images(node, stack) == [digest_v2], source
        dotenv.unlink(missing_ok=True)
        fleetdeck("stack", "deploy", stack, *where, env=env)  # back to the default, v1
        assert _images(node, stack) == [digest_v1], source
    # Stored: no file to give, the stack's own variable; a shell value still wins over it.
    fleetdeck("stack", "vars", "set", stack, "WEB_IMAGE", v2, env=env)
    plan = fleetdeck_json("stack", "diff", stack, env=env)
    assert [(c["action"], c["variables"]) for c in plan] == [("recreate", {"WEB_IMAGE": "stored"})]
    plan = fleetdeck_json("stack", "diff", stack, env=env | {"WEB_IMAGE": v1})
    assert [(c["action"], c["variables"]) for c in plan] == [("unchanged", {"WEB_IMAGE": "shell"})]
    fleetdeck("stack", "deploy", stack, env=env)
    assert _images(node, stack) == [digest_v2]
    fleetdeck("stack", "rm", stack, "-y", env=env)
