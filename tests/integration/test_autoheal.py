"""Auto-heal on a real lab: Docker's health events drive restarts, backoff and crash loops.

Each test runs the lab's web image on the shared ``fleet3`` lab with short health checks
(1 s interval, 2 retries) and its policy in labels (``fleetdeck.autoheal=true`` plus
``fleetdeck.autoheal.*``), and makes it unhealthy with ``/cgi-bin/sick``, which creates
``/tmp/unhealthy``. A ``docker restart`` keeps a container's filesystem, so a container
stays sick across restarts unless its ``/tmp`` is a tmpfs (cleared by the restart): the
first test mounts one (restarting heals it), the second does not (it never heals).
"""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from tests.conftest import client_for, fleetdeck_json, server_env
from tests.integration.alert_receivers import WebhookReceiver
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.client import FleetdeckClient
    from fleetdeck.lab import LabRecord, NodeRecord
    from fleetdeck.wire.admin import AuditEntry
    from fleetdeck.wire.heal import HealContainer

pytestmark = pytest.mark.lab

HEALTH = ("--health-interval", "1s", "--health-retries", "2", "--health-start-period", "1s")


def _run(node: NodeRecord, image: str, name: str, *extra: str, labels: dict[str, str]) -> None:
    flags = [f for key, value in labels.items() for f in ("--label", f"{key}={value}")]
    docker(node, "run", "-d", "--name", name, *HEALTH, *flags, *extra, image)


def _watched(client: FleetdeckClient, name: str) -> HealContainer | None:
    return next((c for c in client.heal_status().containers if c.container == name), None)


def _in_phase(client: FleetdeckClient, name: str, phase: str) -> HealContainer | None:
    watched = _watched(client, name)
    return watched if watched is not None and watched.phase == phase else None


def _health(client: FleetdeckClient, name: str) -> str | None:
    page = client.list_containers(name=name)
    return page.items[0].health if page.items else None


def _actions(client: FleetdeckClient, target: str, action: str) -> list[AuditEntry]:
    entries = client.heal_history(target=target, limit=200).items
    return sorted((e for e in entries if e.action == action), key=lambda e: e.time)


def _target(client: FleetdeckClient, node: NodeRecord, name: str) -> str:
    env = client.get_environment(node.name)
    return f"{env.name}/{env.nodes[0].name}/{name}"


def test_an_unhealthy_container_is_restarted_and_serves_again(fleet3: LabRecord) -> None:
    node, tag = fleet3.nodes[0], uuid.uuid4().hex[:8]
    name = f"heal-ok-{tag}"
    with ExitStack() as stack:
        client = stack.enter_context(client_for(fleet3))
        stack.callback(docker, node, "rm", "-f", name, check=False)
        labels = {"fleetdeck.autoheal": "true", "fleetdeck.autoheal.stop_timeout": "1s"}
        _run(node, fleet3.images["web"], name, "--tmpfs", "/tmp", labels=labels)  # noqa: S108
        wait_for("the container healthy", lambda: _health(client, name) == "healthy")
        watched = wait_for("the container watched", lambda: _watched(client, name))
        assert watched.policy.enabled and watched.policy_sources == ["default", "label"]
        started = docker(node, "inspect", "-f", "{{.State.StartedAt}}", name).strip()
        docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/sick")
        target = _target(client, node, name)
        restarts = wait_for("the restart", lambda: _actions(client, target, "heal.restart"))
        assert restarts[0].result == "ok"
        assert "unhealthy" in restarts[0].detail["reason"]
        wait_for("healthy again", lambda: _health(client, name) == "healthy", timeout=30)
        assert docker(node, "inspect", "-f", "{{.State.StartedAt}}", name).strip() != started
        page = docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/")
        assert "fleetdeck lab web" in page
        after = _watched(client, name)
        assert after is not None and after.phase == "watching" and after.restarts_in_window == 1


def test_a_container_that_stays_sick_backs_off_then_crash_loops_and_alerts_once(
    fleet3: LabRecord,
) -> None:
    node, tag = fleet3.nodes[1], uuid.uuid4().hex[:8]
    name, channel = f"heal-loop-{tag}", f"hook-heal-{tag}"
    with ExitStack() as stack:
        client = stack.enter_context(client_for(fleet3))
        hook = stack.enter_context(WebhookReceiver())
        client.create_channel(channel, hook.url)
        stack.callback(client.delete_channel, channel)
        stack.callback(docker, node, "rm", "-f", name, check=False)
        labels = {
            "fleetdeck.autoheal": "true", "fleetdeck.autoheal.stop_timeout": "1s",
            "fleetdeck.autoheal.max_restarts": "2", "fleetdeck.autoheal.backoff": "5s",
            "fleetdeck.autoheal.window": "10m",
        }  # fmt: skip
        _run(node, fleet3.images["web"], name, labels=labels)  # no tmpfs: sick for good
        wait_for("the container healthy", lambda: _health(client, name) == "healthy")
        docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/sick")
        target = _target(client, node, name)
        state = wait_for(
            "the crash loop", lambda: _in_phase(client, name, "crash_looping"), timeout=90
        )
        assert state.restarts_in_window == 2 and state.crash_looping_since is not None
        restarts = _actions(client, target, "heal.restart")
        assert len(restarts) == 2
        # The second restart waited out the backoff after the first (5 s, the policy's).
        first, second = (datetime.fromisoformat(r.detail["issued_at"]) for r in restarts)
        assert (second - first).total_seconds() >= 5
        assert "backoff 5s" in restarts[1].detail["reason"]

        def fired() -> list[str]:
            return [
                t for t in hook.titles(name) if t.startswith("[FIRING] container-crash-looping")
            ]

        # The phase shows as soon as it is decided; the audit entry and then the alert follow
        # in the same step, so both are there once the webhook has the alert.
        wait_for("the crash-loop alert at the webhook", fired, timeout=60)
        assert len(_actions(client, target, "heal.crash_loop")) == 1
        # It stays crash-looping: no more restarts, no second notification, for a while
        # longer than the backoff and two health checks.
        time.sleep(8)
        assert len(_actions(client, target, "heal.restart")) == 2
        assert len(_actions(client, target, "heal.crash_loop")) == 1
        assert len(fired()) == 1
        assert _watched(client, name).phase == "crash_looping"  # type: ignore[union-attr]
        # A person acts: the reset forgets the loop and healing resumes (it is still sick).
        ref = f"{target.split('/')[0]}/{name}"
        reset = fleetdeck_json("heal", "reset", ref, env=server_env(fleet3))
        assert reset["container"]["phase"] != "crash_looping"
        again = lambda: len(_actions(client, target, "heal.restart")) == 3  # noqa: E731
        wait_for("a restart after the reset", again, timeout=30)
        wait_for(
            "the alert resolved",
            lambda: [t for t in hook.titles(name) if t.startswith("[RESOLVED]")],
            timeout=60,
        )


def test_a_container_stopped_on_purpose_is_left_alone(fleet3: LabRecord) -> None:
    node, tag = fleet3.nodes[2], uuid.uuid4().hex[:8]
    name = f"heal-stop-{tag}"
    with ExitStack() as stack:
        client = stack.enter_context(client_for(fleet3))
        stack.callback(docker, node, "rm", "-f", name, check=False)
        labels = {
            "fleetdeck.autoheal": "true", "fleetdeck.autoheal.grace": "4s",
            "fleetdeck.autoheal.stop_timeout": "1s",
        }  # fmt: skip
        _run(node, fleet3.images["web"], name, labels=labels)
        wait_for("the container healthy", lambda: _health(client, name) == "healthy")
        docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/sick")
        # Unhealthy, its restart due after the grace period: then someone stops it.
        wait_for("the restart due", lambda: _in_phase(client, name, "waiting"), timeout=30)
        docker(node, "stop", "-t", "1", name)
        wait_for(
            "the stop seen", lambda: client.list_containers(name=name).items[0].state == "exited"
        )
        time.sleep(6)  # past the grace period's end
        assert docker(node, "inspect", "-f", "{{.State.Status}}", name).strip() == "exited"
        target = _target(client, node, name)
        assert _actions(client, target, "heal.restart") == []
        assert _watched(client, name).phase == "watching"  # type: ignore[union-attr]
