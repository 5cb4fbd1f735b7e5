"""The fleet file on the real lab: plan/apply of a fleet directory, re-apply, prune, bad files.

One test, one story (each step needs the state the one before left). It runs about a dozen
CLI processes and three stack deploys: ~40 s on an idle machine, more under load.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import client_for, fleetdeck, server_env
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def _stack(name: str, env: str, image: str, replicas: int) -> str:
    return f"""\
  - name: {name}
    environment: {env}
    files:
      compose.yaml: |
        services:
          web:
            image: {image}
            deploy: {{replicas: {replicas}}}
"""


#: A silence a day long from when the module is loaded (the same in every version below).
ENDS = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()


def _fleet(p: str, env: str, image: str, *, v2: bool) -> dict[str, str]:
    stacks = _stack(f"{p}-a", env, image, 2 if v2 else 1)
    if not v2:
        stacks += _stack(f"{p}-b", env, image, 1)
    users = "" if v2 else f"users:\n  - username: {p}-alice\n    role: viewer\n"
    return {
        "base.yaml": f"""\
managed:
  - {{kind: stacks, match: "{p}-*"}}
  - {{kind: rules, match: "{p}-*"}}
  - {{kind: users, match: "{p}-*"}}
environments:
  - name: {p}-env
    tags: [{"prod, eu" if v2 else "prod"}]
channels:
  - name: {p}-ops
    url: {{env: FF_TEST_URL}}
    min_severity: warning
{users}""",
        "alerts.yaml": f"""\
rules:
  - name: {p}-cpu
    metric: cpu_percent
    target: host
    operator: ">"
    threshold: {95 if v2 else 90}
    for: 5m
    channels: [{p}-ops]
silences:
  - matchers: [rule={p}-cpu]
    ends_at: "{ENDS}"
    comment: fleet file test
""",
        "stacks/web.yaml": "stacks:\n"
        + stacks
        + (
            f"autoscale:\n  - {{service: {p}-a/web, min: 1, max: 3, cpu: 80, "
            "recommend_only: true}\n"
            if v2
            else ""
        ),
    }


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _plan(root: Path, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    proc = fleetdeck("plan", "-f", str(root), "--detailed-exitcode", "-o", "json",
                     check=False, env=env)  # fmt: skip
    assert proc.returncode in (0, 2), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _actions(plan: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["kind"], c["key"], c["action"]) for c in plan["changes"]}


def _web_containers(fleet3: LabRecord, stack: str) -> int:
    out = docker(
        fleet3.nodes[0], "ps", "-q", "--filter", f"label=com.docker.compose.project={stack}"
    )
    return len(out.split())


def test_plan_apply_reapply_prune_and_bad_files(fleet3: LabRecord, tmp_path: Path) -> None:
    p = f"ff{uuid.uuid4().hex[:6]}"
    env = {**server_env(fleet3), "FF_TEST_URL": "json://localhost/hook/secret-value"}
    node_env, image = fleet3.nodes[0].name, fleet3.images["web"]
    root = tmp_path / "fleet"
    _write(root, _fleet(p, node_env, image, v2=False))

    code, plan = _plan(root, env)
    assert code == 2
    assert "secret-value" not in json.dumps(plan)
    assert _actions(plan) == {
        ("environments", f"{p}-env", "create"), ("users", f"{p}-alice", "create"),
        ("channels", f"{p}-ops", "create"), ("rules", f"{p}-cpu", "create"),
        ("stacks", f"{p}-a", "create"), ("stacks", f"{p}-b", "create"),
        ("silences", f"rule={p}-cpu", "create"),
    }  # fmt: skip
    fleetdeck("apply", "-f", str(root), env=env)
    assert _plan(root, env) == (0, {"changes": [], "managed": plan["managed"], "notes": []})
    assert _web_containers(fleet3, f"{p}-a") == 1 and _web_containers(fleet3, f"{p}-b") == 1
    with client_for(fleet3) as client:
        assert client.get_environment(f"{p}-env").tags == ["prod"]
        assert {u.username for u in client.list_users()} >= {f"{p}-alice"}
        assert client.get_rule(f"{p}-cpu").threshold == 90

    # v2: a field of a rule, a stack's file and an environment's tags change; a stack and a
    # user leave the files (their kinds are managed: pruned); the channel is untouched.
    _write(root, _fleet(p, node_env, image, v2=True))
    code, plan = _plan(root, env)
    assert code == 2
    assert _actions(plan) == {
        ("environments", f"{p}-env", "update"), ("rules", f"{p}-cpu", "update"),
        ("stacks", f"{p}-a", "update"), ("stacks", f"{p}-b", "delete"),
        ("users", f"{p}-alice", "delete"), ("autoscale", f"{p}-a/web", "create"),
    }  # fmt: skip
    rule = next(c for c in plan["changes"] if c["kind"] == "rules")
    assert rule["fields"] == [{"name": "threshold", "old": 90.0, "new": 95}]
    fleetdeck("apply", "-f", str(root), env=env)
    assert _plan(root, env)[0] == 0
    assert _web_containers(fleet3, f"{p}-a") == 2 and _web_containers(fleet3, f"{p}-b") == 0
    with client_for(fleet3) as client:
        assert client.get_environment(f"{p}-env").tags == ["eu", "prod"]
        assert f"{p}-alice" not in {u.username for u in client.list_users()}
        assert client.get_rule(f"{p}-cpu").threshold == 95
        stacks = {s["name"] for s in client.list_stacks()}
        assert f"{p}-b" not in stacks and f"{p}-a" in stacks
        policy = next(a for a in client.list_autoscale() if a.target.endswith(f"{p}-a/web"))
        assert (policy.max, policy.cpu, policy.recommend_only) == (3, 80, True)

    # Bad files fail plan and apply with file:line; nothing is applied. A stack's Compose
    # file is checked by the server: both its fleet-file line and its own line are named.
    alerts, web = root / "alerts.yaml", root / "stacks" / "web.yaml"
    good, good_web = alerts.read_text(), web.read_text()
    # --detailed-exitcode: 1 on error; otherwise the error kind's code (invalid input: 2).
    for path, bad, needle, command, code in (
        (alerts, good.replace("threshold: 95", "threshold: 99\n    thresold: 1"),
         f"{alerts}:7: unknown key", ["plan", "--detailed-exitcode"], 1),
        (alerts, good.replace(f"channels: [{p}-ops]", f"channels: [{p}-nope]"),
         f"{alerts}:8: rules", ["apply"], 2),
        (web, good_web.replace("deploy:", "imgae: x\n            deploy:"),
         f"{web}:2: stack '{p}-a': the server refused its files: compose.yaml:4", ["plan"], 2),
    ):  # fmt: skip
        path.write_text(bad)
        proc = fleetdeck(*command, "-f", str(root), check=False, env=env)
        path.write_text(good if path == alerts else good_web)
        assert proc.returncode == code, proc.stderr
        assert needle in proc.stderr, proc.stderr
    with client_for(fleet3) as client:
        assert client.get_rule(f"{p}-cpu").threshold == 95

    # Export writes the fleet back as files that plan as no change (for what they hold).
    out = tmp_path / "export"
    fleetdeck("export", "-o", str(out), env=env)
    exported = (out / "rules.yaml").read_text()
    assert (
        f"name: {p}-cpu" in exported and "secret-value" not in (out / "channels.yaml").read_text()
    )

    # Clean up through the fleet file itself: an empty stacks/rules list prunes them.
    (root / "stacks" / "web.yaml").write_text("stacks: []\n")
    alerts.write_text("rules: []\n")
    with client_for(fleet3) as client:
        client.remove_autoscale(f"{p}-a", "web")
    fleetdeck("apply", "-f", str(root), env=env)
    with client_for(fleet3) as client:
        assert f"{p}-a" not in {s["name"] for s in client.list_stacks()}
        assert f"{p}-cpu" not in {r.name for r in client.list_rules()}
        client.delete_channel(f"{p}-ops")
        client.delete_environment(f"{p}-env")
        for silence in client.list_silences():
            if silence.matchers == [f"rule={p}-cpu"] and silence.state == "active":
                client.expire_silence(silence.id)
