"""Image updates on the real lab: a same-tag re-push found, deployed or only notified, undone.

Each test pushes the lab's web image v1 under a tag of its own in the lab registry (marked
plain-HTTP by a registry entry with an ``http://`` URL, as a user marks an insecure one),
deploys stacks following that tag, then pushes v2 under the *same* tag and runs
``fleetdeck updates check``:

- ``auto`` (from ``x-fleetdeck.updates`` in the Compose file) is deployed to the new digest;
  ``notify`` keeps running v1 and shows "update available" with an alert;
- a new image whose health check fails (the stack's check accepts only v1) is undone by the
  deploy's health gate, and the digest is not tried again on the next check.
"""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import client_for, fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

ONLY_V1 = (
    "    healthcheck:\n"
    "      test: [CMD, sh, -c, 'test \"$$WEB_VERSION\" = 1']\n"
    "      interval: 1s\n      timeout: 1s\n      retries: 2\n      start_period: 1s\n"
)


def _push(node: NodeRecord, source: str, ref: str) -> None:
    docker(node, "tag", source, ref)
    docker(node, "push", ref)


def _versions(node: NodeRecord, stack: str) -> list[str]:
    names = docker(node, "ps", "--filter", f"label=com.docker.compose.project={stack}",
                   "--format", "{{.Names}}").split()  # fmt: skip
    return sorted(docker(node, "exec", n, "sh", "-c", "echo $WEB_VERSION").strip() for n in names)


def _item(items: list[dict[str, Any]], stack: str) -> dict[str, Any]:
    return next(i for i in items if i["stack"] == stack and i["service"] == "web")


def _deploy(env: dict[str, str], node: NodeRecord, stack: str, path: Path, text: str) -> None:
    path.write_text(text)
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)


@pytest.fixture
def tag(fleet3: LabRecord) -> Any:
    """A tag of its own in the lab registry (v1 for now), the registry marked plain HTTP."""
    mark = uuid.uuid4().hex[:8]
    ref = f"{fleet3.registry}/tests/updates-{mark}:live"
    node = fleet3.nodes[0]
    with client_for(fleet3) as client, ExitStack() as stack:
        client.create_registry(f"lab-{mark}", f"http://{fleet3.registry}")
        stack.callback(client.delete_registry, f"lab-{mark}")
        _push(node, fleet3.images["web"], ref)
        stack.callback(docker, node, "rmi", "-f", ref, check=False)
        yield mark, ref


def test_a_same_tag_re_push_is_deployed_under_auto_and_only_notified_under_notify(
    fleet3: LabRecord, tag: tuple[str, str], tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[0]
    mark, ref = tag
    auto, notify, typo = f"ua{mark}", f"un{mark}", f"ut{mark}"
    try:
        for stack, policy in ((auto, "auto"), (notify, "notify"), (typo, "sometimes")):
            text = f"x-fleetdeck: {{updates: {policy}}}\nservices:\n  web:\n    image: {ref}\n"
            _deploy(env, node, stack, tmp_path / f"{stack}.yaml", text)
        first = fleetdeck_json("updates", "check", env=env)
        assert not first["updated"] and not first["failed"]
        for stack in (auto, notify):
            item = _item(first["items"], stack)
            assert item["status"] == "current" and not item["update_available"]
            assert item["policy_source"] == f"compose:{stack}"
        misspelt = _item(first["items"], typo)
        assert misspelt["policy"] == "notify" and "sometimes" in misspelt["message"]
        running = _item(first["items"], auto)["running_digest"]
        # Both stacks follow the same reference: it was asked once.
        assert first["head_requests"] <= first["references"]

        _push(node, fleet3.images["web_v2"], ref)  # the same tag, a new digest
        second = fleetdeck_json("updates", "check", env=env)
        assert second["updated"] == [f"{auto}/web"] and not second["failed"]
        updated, notified = _item(second["items"], auto), _item(second["items"], notify)
        assert updated["status"] == "current" and updated["running_digest"] != running
        assert notified["status"] == "available" and notified["update_available"]
        assert notified["available_digest"] == updated["running_digest"]
        assert _versions(node, auto) == ["2"]
        assert _versions(node, notify) == ["1"]  # only notified: still the old image
        assert _versions(node, typo) == ["1"]  # a policy nobody could read never deploys

        listing = fleetdeck_json("updates", "ls", env=env)
        assert _item(listing["items"], notify)["status"] == "available"
        table = fleetdeck("updates", "ls", env=env).stdout
        assert "update available" in table
        with client_for(fleet3) as client:
            alerts = client.list_alerts(rule="image-update-available", state="active").items
            assert any(a.labels.get("stack") == notify for a in alerts)
            history = client.stack_history(auto)
            assert history[0]["actor"] == "image-updates" and history[0]["result"] == "ok"
    finally:
        for stack in (auto, notify, typo):
            fleetdeck("stack", "rm", stack, env=env, check=False)


def test_a_failing_new_image_is_undone_and_not_retried(
    fleet3: LabRecord, tag: tuple[str, str], tmp_path: Path
) -> None:
    env, node = server_env(fleet3), fleet3.nodes[0]
    mark, ref = tag
    stack = f"uf{mark}"
    try:
        _deploy(
            env, node, stack, tmp_path / "c.yaml", f"services:\n  web:\n    image: {ref}\n{ONLY_V1}"
        )
        fleetdeck("updates", "policy", stack, "auto", env=env)
        policies = fleetdeck_json("updates", "policy", env=env)
        assert {"target": stack, "policy": "auto"} in policies["items"]
        assert (
            _item(fleetdeck_json("updates", "check", env=env)["items"], stack)["status"]
            == "current"
        )

        _push(node, fleet3.images["web_v2"], ref)
        checked = fleetdeck_json("updates", "check", env=env)
        assert checked["failed"] == [f"{stack}/web"] and not checked["updated"]
        item = _item(checked["items"], stack)
        assert item["status"] == "failed" and item["available_digest"] in item["failed_digests"]
        assert _versions(node, stack) == ["1"]  # undone: v1 serves again
        with client_for(fleet3) as client:
            history = client.stack_history(stack)
        assert history[0]["result"] == "rolled_back"

        again = fleetdeck_json("updates", "check", env=env)  # the same digest: not retried
        assert not again["failed"] and not again["updated"]
        assert _item(again["items"], stack)["status"] == "failed"
        with client_for(fleet3) as client:
            assert len(client.stack_history(stack)) == len(history)
    finally:
        fleetdeck("updates", "policy", stack, "--rm", env=env, check=False)
        fleetdeck("stack", "rm", stack, env=env, check=False)


def test_a_same_tag_re_push_is_deployed_to_a_swarm_stack_under_auto(
    swarm3: LabRecord, tmp_path: Path
) -> None:
    env, manager = server_env(swarm3), swarm3.nodes[0]
    mark = uuid.uuid4().hex[:8]
    ref, stack = f"{swarm3.registry}/tests/updates-{mark}:live", f"us{mark}"
    with client_for(swarm3) as client, ExitStack() as cleanup:
        client.create_registry(f"lab-{mark}", f"http://{swarm3.registry}")
        cleanup.callback(client.delete_registry, f"lab-{mark}")
        _push(manager, swarm3.images["web"], ref)
        cleanup.callback(fleetdeck, "stack", "rm", stack, env=env, check=False)
        path = tmp_path / "swarm.yaml"
        path.write_text(
            "x-fleetdeck: {updates: auto}\n"
            f"services:\n  web:\n    image: {ref}\n    deploy: {{replicas: 1}}\n"
        )
        fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", "swarm", env=env)
        first = _item(fleetdeck_json("updates", "check", env=env)["items"], stack)
        assert first["status"] == "current" and first["environment"] == "swarm"

        _push(manager, swarm3.images["web_v2"], ref)
        checked = fleetdeck_json("updates", "check", env=env)
        assert checked["updated"] == [f"{stack}/web"]
        item = _item(checked["items"], stack)
        assert item["running_digest"] != first["running_digest"]
        spec = json.loads(docker(manager, "service", "inspect", f"{stack}_web"))[0]["Spec"]
        assert spec["TaskTemplate"]["ContainerSpec"]["Image"].endswith(f"@{item['running_digest']}")
