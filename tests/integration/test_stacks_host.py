"""Stacks on a plain host, on the real lab, through the CLI: deploy, diff, rolling updates."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

#: One request per loop, resolving "web" afresh each time with busybox's own DNS client (the
#: static busybox's wget segfaults resolving names, and with -T); "$$" is Compose's "$".
LOADER = (
    "while true; do ip=$$(nslookup web 2>/dev/null | awk '/^Address: / {print $$2; exit}'); "
    'if [ -n "$$ip" ] && timeout 5 wget -q -O /dev/null http://$$ip/cgi-bin/hello; '
    "then echo OK; else echo FAIL; fi; sleep 0.05; done"
)


def _compose(image: str, base: str, *, healthcheck: str = "", replicas: int = 3) -> str:
    return f"""
services:
  web:
    image: {image}
    deploy:
      replicas: {replicas}
      update_config: {{parallelism: 1, order: start-first}}
{healthcheck}
  loader:
    image: {base}
    command: ["sh", "-c", {json.dumps(LOADER)}]
    depends_on:
      web: {{condition: service_healthy}}
"""


def _write(tmp_path: Path, text: str, name: str = "compose.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _ids(node: NodeRecord, stack: str) -> dict[str, str]:
    out = docker(node, "ps", "-a", "--filter", f"label=com.docker.compose.project={stack}",
                 "--format", "{{.Names}} {{.ID}}")  # fmt: skip
    return dict(line.split() for line in out.splitlines() if line.strip())


def _json_stream(text: str) -> list[dict[str, Any]]:
    """The objects ``-o json`` prints one after the other (indented, so not one per line)."""
    decoder, items, at = json.JSONDecoder(), [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        item, at = decoder.raw_decode(text, at)
        items.append(item)
    return items


def _fails(node: NodeRecord, stack: str) -> tuple[int, int]:
    logs = docker(node, "logs", f"{stack}-loader-1")
    lines = logs.split()
    return lines.count("OK"), lines.count("FAIL")


def test_deploy_diff_noop_and_compose_labels(fleet3: LabRecord, tmp_path: Path) -> None:
    env, node = server_env(fleet3), fleet3.nodes[0]
    stack = f"s{uuid.uuid4().hex[:6]}"
    path = _write(tmp_path, _compose(fleet3.images["web"], fleet3.images["base"], replicas=2))
    plan = fleetdeck_json("stack", "diff", stack, "-f", str(path), "--env", node.name, env=env)
    assert {c["service"]: c["action"] for c in plan} == {"web": "create", "loader": "create"}
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
    before = _ids(node, stack)
    assert sorted(before) == [f"{stack}-loader-1", f"{stack}-web-1", f"{stack}-web-2"]
    plan = fleetdeck_json("stack", "diff", stack, "-f", str(path), "--env", node.name, env=env)
    assert all(c["action"] == "unchanged" for c in plan), plan
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
    assert _ids(node, stack) == before  # re-applying an unchanged stack changes nothing
    # Debian's docker-compose 1.29 recognises the containers as its own project.
    compose = subprocess.run(
        ["docker-compose", "-p", stack, "-f", str(path), "ps", "-q"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "DOCKER_HOST": node.docker_host},
    )  # fmt: skip
    assert compose.returncode == 0, compose.stderr
    assert sorted(i[:12] for i in compose.stdout.split()) == sorted(before.values())
    ps = fleetdeck_json("stack", "ps", stack, env=env)
    assert {s["service"]: s["healthy"] for s in ps}["web"] == 2
    fleetdeck("stack", "rm", stack, "-y", env=env)
    assert _ids(node, stack) == {}


def test_rolling_update_under_load_and_failed_update_rolls_back(
    fleet3: LabRecord, tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[1]
    stack = f"r{uuid.uuid4().hex[:6]}"
    base = fleet3.images["base"]
    v1 = _write(tmp_path, _compose(fleet3.images["web"], base), "v1.yaml")
    fleetdeck("stack", "deploy", stack, "-f", str(v1), "--env", node.name, env=env)
    # Steady load from a container on the stack network, resolving "web" per request.
    v2 = _write(tmp_path, _compose(fleet3.images["web_v2"], base), "v2.yaml")
    plan = fleetdeck_json("stack", "diff", stack, "-f", str(v2), "--env", node.name, env=env)
    web = next(c for c in plan if c["service"] == "web")
    assert web["action"] == "recreate" and "image" in web["reason"]
    assert next(c for c in plan if c["service"] == "loader")["action"] == "unchanged"
    rolled = fleetdeck("stack", "deploy", stack, "-f", str(v2), "--env", node.name, env=env)
    # Start-first: from the second replica on, a new one takes the number the old one it
    # replaces gave up, so each line says which it is: new (and whom it replaces) or old.
    said = " ".join(rolled.stderr.split())  # the console wraps long lines
    new = re.findall(rf"started new {stack}-web-(\d) \(replaces ([0-9a-f]{{12}})\)", said)
    old = re.findall(rf"stopped old {stack}-web-(\d) \(([0-9a-f]{{12}})\)", said)
    assert len(new) == 3 and len(old) == 3, said
    assert {i for _, i in new} == {i for _, i in old}, said  # each replaces one old replica
    assert not re.search(rf"(started|stopped) {stack}-web-", said), said
    ok, failed = _fails(node, stack)
    assert failed == 0 and ok > 20, (ok, failed)
    for name in _ids(node, stack):
        if "-web-" in name:
            assert docker(node, "inspect", "-f", "{{.Config.Image}}", name).startswith(
                fleet3.images["web_v2"].rsplit(":", 1)[0]
            )
    running_v2 = _ids(node, stack)
    # An update whose new version never gets healthy is rolled back automatically, and
    # says why in the healthcheck's own words (its last exit code and output).
    check = ("    healthcheck: {test: [CMD-SHELL, 'echo cannot reach the database; exit 3'], "
             "interval: 1s, timeout: 1s, retries: 1}")  # fmt: skip
    sick = _compose(fleet3.images["web"], base, healthcheck=check)
    bad = fleetdeck("stack", "deploy", stack, "-f", str(_write(tmp_path, sick, "sick.yaml")),
                    "--env", node.name, "-o", "json", env=env, check=False)  # fmt: skip
    assert bad.returncode == 1
    events = _json_stream(bad.stdout)
    result = events[-1]
    assert result["type"] == "result" and result["rolled_back"], result
    assert "failed its healthcheck (exit 3: cannot reach the database)" in result["message"]
    assert result["message"].count("rolled back") == 1, result["message"]
    assert "rolled back" in bad.stderr
    started = next(e for e in events if e.get("step") == "start")
    assert started["replica"] == "new" and started["replaces"] in running_v2.values(), started
    assert re.fullmatch("[0-9a-f]{12}", started["container_id"]), started
    assert any(e.get("step") == "health" and e.get("status") == "failed" for e in events)
    assert _ids(node, stack) == running_v2
    ok_after, failed_after = _fails(node, stack)
    assert failed_after == 0 and ok_after > ok
    history = fleetdeck_json("stack", "history", stack, env=env)
    assert [h["result"] for h in history][:3] == ["rolled_back", "ok", "ok"]
    # Rollback to revision 1 restores v1 by its recorded digest.
    first = history[-1]
    fleetdeck("stack", "rollback", stack, str(first["revision"]), env=env)
    with client_for(fleet3) as client:
        now = client.stack_history(stack)[0]
    assert now["result"] == "ok" and now["image_digests"]["web"] == first["image_digests"]["web"]
    digest = first["image_digests"]["web"]
    web1 = next(n for n in _ids(node, stack) if "-web-" in n)
    assert docker(node, "inspect", "-f", "{{.Config.Image}}", web1) == digest
    # Two rolling updates later the replicas still take the lowest free numbers (each retired
    # replica was renamed <id12>_NAME, freeing its number), and none is left over.
    names = _ids(node, stack)
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in names if n.startswith(f"{stack}-web-"))
    assert len(numbers) == 3 and set(numbers) <= {1, 2, 3, 4}, names
    assert len(names) == 4, names  # 3 web + the loader
    assert _fails(node, stack)[1] == 0
    fleetdeck("stack", "rm", stack, "-y", env=env)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("services:\n  web: [unclosed\n", "compose.yaml"),
        ("services:\n  web:\n    image: x\n    imgae: y\n", "imgae"),
        ("services:\n  web:\n    image: ${NEEDED:?set NEEDED}\n", "NEEDED"),
        ("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
         "cycle"),
        ("services:\n  web:\n    image: {registry}/fleetdeck/nope:9\n", "does not exist"),
    ],
)  # fmt: skip
def test_bad_input_is_rejected_before_anything_changes(
    fleet3: LabRecord, tmp_path: Path, text: str, needle: str
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[2]
    stack = f"b{uuid.uuid4().hex[:6]}"
    path = _write(tmp_path, text.replace("{registry}", fleet3.registry))
    out = fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env,
                    check=False)  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert needle in out.stderr and "Traceback" not in out.stderr
    assert _ids(node, stack) == {}


def test_taken_port_and_escaping_file_names_are_rejected(fleet3: LabRecord, tmp_path: Path) -> None:
    env, node = server_env(fleet3), fleet3.nodes[2]
    stack = f"p{uuid.uuid4().hex[:6]}"
    holder = f"hold{uuid.uuid4().hex[:6]}"
    docker(node, "run", "-d", "--name", holder, "-p", "18081:80", fleet3.images["web"])
    try:
        text = f"services:\n  web:\n    image: {fleet3.images['web']}\n    ports: ['18081:80']\n"
        out = fleetdeck("stack", "deploy", stack, "-f", str(_write(tmp_path, text)),
                        "--env", node.name, env=env, check=False)  # fmt: skip
        assert out.returncode == 2 and "18081" in out.stderr, out.stderr
        assert _ids(node, stack) == {}
    finally:
        docker(node, "rm", "-f", holder)
    with client_for(fleet3) as client:
        files = [{"name": "../evil.yaml", "content": "services: {}\n"}]
        with pytest.raises(Exception, match="escapes the stack directory"):
            list(client.deploy_stack(stack, node.name, files))
        result = client.validate_stack(
            [{"name": "compose.yaml", "content": "services:\n  a: {imag: x}\n"}]
        )
    assert result["ok"] is False and json.dumps(result["errors"])
