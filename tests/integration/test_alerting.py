"""Alerting on a real lab: rules fire from real metrics and inventory, notify real receivers.

Notifications go to a webhook receiver and an SMTP server listening on 127.0.0.1 in this
process (see ``alert_receivers``), through Apprise ``json://`` and ``mailto://`` channels.
Each test makes its own rules, scoped to its own containers (a label) or node, and names
them uniquely, so what other tests do on the shared lab cannot be mistaken for its alerts.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.lab import Lab
from tests.conftest import client_for, fleetdeck_json, server_env
from tests.integration.alert_receivers import SmtpReceiver, WebhookReceiver
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.client import FleetdeckClient
    from fleetdeck.lab import LabRecord
    from fleetdeck.wire.alerts import Alert

pytestmark = pytest.mark.lab

#: The rule's threshold: two busy loops get well above it even on a loaded 2-core machine
#: (seen: load 18, a lone busy loop got 0.1-0.2 cores), an idle web container stays far
#: below (~0.001).
BURN_CORES = 0.05


def _cpu_peak(client: FleetdeckClient, target: str) -> float:
    start = datetime.now(UTC) - timedelta(minutes=5)
    result = client.query_metrics(target, "cpu_cores", start=start, step=10)
    return max((p.value for s in result.series for p in s.points), default=0.0)


def _count(titles: list[str], word: str) -> int:
    return sum(1 for t in titles if t.startswith(f"[{word}]"))


def _firing(client: FleetdeckClient, rules: tuple[str, ...]) -> list[Alert]:
    return [a for a in client.list_alerts(state="firing").items if a.rule in rules]


class _Cleanup:
    """Removes what a test made on the shared lab server, even when it fails."""

    def __init__(self, client: FleetdeckClient) -> None:
        self.client = client
        self.rules: list[str] = []
        self.channels: list[str] = []
        self.silences: list[str] = []
        self.windows: list[str] = []
        self.containers: list[tuple[Any, str]] = []

    def close(self) -> None:
        for node, name in self.containers:
            docker(node, "rm", "-f", name, check=False)
        for rule in self.rules:
            self.client.delete_rule(rule)
        for silence in self.silences:
            self.client.expire_silence(silence)
        for window in self.windows:
            self.client.end_maintenance(window)
        for channel in self.channels:
            self.client.delete_channel(channel)


def test_cpu_rule_fires_to_webhook_and_mail_then_resolves(fleet3: LabRecord) -> None:
    node = fleet3.nodes[0]
    tag = uuid.uuid4().hex[:8]
    name, rule = f"burn-{tag}", f"cpu-burn-{tag}"
    with ExitStack() as stack:
        client = stack.enter_context(client_for(fleet3))
        hook = stack.enter_context(WebhookReceiver())
        mail = stack.enter_context(SmtpReceiver())
        made = _Cleanup(client)
        stack.callback(made.close)
        for channel, url in ((f"hook-{tag}", hook.url), (f"mail-{tag}", mail.url)):
            client.create_channel(channel, url)
            made.channels.append(channel)
        client.create_rule(
            {
                "name": rule, "metric": "cpu_cores", "target": "container", "operator": ">",
                "threshold": BURN_CORES, "for": "5s", "labels": [f"fdtest={tag}"],
                "channels": made.channels, "severity": "critical",
            }
        )  # fmt: skip
        made.rules.append(rule)
        docker(node, "run", "-d", "--label", f"fdtest={tag}", "--name", name, fleet3.images["web"])
        made.containers.append((node, name))
        env = client.get_environment(node.name)
        target = f"{env.name}/{env.nodes[0].name}/{name}"
        wait_for("the container", lambda: client.list_containers(name=name).total == 1)
        for _ in range(2):
            docker(node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/cpu?seconds=900")
        peaks: list[float] = []

        def burning() -> bool:
            peaks.append(_cpu_peak(client, target))
            return peaks[-1] > BURN_CORES

        wait_for(f"the burn in the history of {target} (peaks seen: {peaks})", burning, timeout=90)
        wait_for("FIRING at the webhook", lambda: _count(hook.titles(rule), "FIRING"), timeout=90)
        wait_for("FIRING by mail", lambda: _count(mail.subjects(rule), "FIRING"), timeout=60)
        firing = client.list_alerts(rule=rule, state="firing").items
        assert len(firing) == 1 and firing[0].labels["container"] == name
        assert firing[0].value is not None and firing[0].value > BURN_CORES
        listed = fleetdeck_json("alerts", "--rule", rule, env=server_env(fleet3))
        assert [a["id"] for a in listed] == [firing[0].id]
        # Stop the burn (the loops are sh under busybox timeout): the next samples are idle.
        docker(node, "exec", name, "killall", "sh", "timeout")
        wait_for(
            "RESOLVED at the webhook", lambda: _count(hook.titles(rule), "RESOLVED"), timeout=150
        )
        wait_for("RESOLVED by mail", lambda: _count(mail.subjects(rule), "RESOLVED"), timeout=60)
        assert _count(hook.titles(rule), "FIRING") == 1
        assert _count(mail.subjects(rule), "FIRING") == 1
        # The RESOLVED text says the figure now (idle, under the threshold) and the burn's.
        [resolved] = hook.bodies(rule, "RESOLVED")
        assert f"cpu_cores of {target}: now " in resolved and "(was " in resolved, resolved
        now = float(resolved.split(": now ")[1].split()[0])
        assert now <= BURN_CORES, resolved
        alerts = client.list_alerts(rule=rule).items
        assert [a.state for a in alerts] == ["resolved"]
        history = [d for d in client.list_deliveries(limit=500) if d.rule == rule]
        assert sorted((d.channel, d.event, d.status) for d in history) == sorted(
            (c, e, "sent") for c in made.channels for e in ("firing", "resolved")
        )


def test_partitioned_node_fires_unreachable_once_and_resolves_once(fleet3: LabRecord) -> None:
    lab = Lab(fleet3.name)
    node3 = fleet3.nodes[2]
    tag = uuid.uuid4().hex[:8]
    rule = f"unreachable-{tag}"
    with ExitStack() as stack:
        client = stack.enter_context(client_for(fleet3))
        hook = stack.enter_context(WebhookReceiver())
        made = _Cleanup(client)
        stack.callback(made.close)
        client.create_channel(f"hook-{tag}", hook.url)
        made.channels.append(f"hook-{tag}")
        client.create_rule(
            {"name": rule, "condition": "node_unreachable", "environments": [node3.name],
             "channels": made.channels, "severity": "critical"}
        )  # fmt: skip
        made.rules.append(rule)
        lab.partition(node3.name)
        try:
            wait_for("FIRING", lambda: _count(hook.titles(rule), "FIRING"), timeout=60)
        finally:
            lab.heal(node3.name)
        wait_for(
            "node3 up again",
            lambda: client.get_environment(node3.name).status == "up",
            timeout=60,
        )
        wait_for("RESOLVED", lambda: _count(hook.titles(rule), "RESOLVED"), timeout=60)
        titles = hook.titles(rule)
        assert _count(titles, "FIRING") == 1 and _count(titles, "RESOLVED") == 1, titles
        alerts = client.list_alerts(rule=rule).items
        assert len(alerts) == 1 and alerts[0].state == "resolved"
        where = f"{node3.name}/{alerts[0].labels['node']}"
        assert hook.bodies(rule, "RESOLVED")[0].startswith(f"- node {where} is up now")
        assert alerts[0].summary == f"node {where} is up now"
        assert alerts[0].labels == {"environment": node3.name, "node": alerts[0].labels["node"]}


def test_silenced_rule_and_maintenance_window_deliver_nothing(fleet3: LabRecord) -> None:
    node1, node2 = fleet3.nodes[0], fleet3.nodes[1]
    tag = uuid.uuid4().hex[:8]
    loud, quiet = f"loud-{tag}", f"quiet-{tag}"
    with ExitStack() as stack:
        client = stack.enter_context(client_for(fleet3))
        hook = stack.enter_context(WebhookReceiver())
        made = _Cleanup(client)
        stack.callback(made.close)
        client.create_channel(f"hook-{tag}", hook.url)
        made.channels.append(f"hook-{tag}")
        for rule in (loud, quiet):
            client.create_rule(
                {"name": rule, "condition": "container_exited", "labels": [f"fdtest={tag}"],
                 "channels": made.channels}
            )  # fmt: skip
            made.rules.append(rule)
        made.silences.append(client.create_silence([f"rule={quiet}"], duration="30m").id)
        window = client.create_maintenance(node2.name, duration="30m", reason="test")
        made.windows.append(window.id)
        for node in (node1, node2):
            name = f"crash-{tag}-{node.name}"
            made.containers.append((node, name))
            docker(node, "run", "-d", "--label", f"fdtest={tag}", "--name", name,
                   fleet3.images["base"], "sh", "-c", "exit 3")  # fmt: skip
        # The positive control: the loud rule's alert on node1 is delivered...
        wait_for("loud FIRING", lambda: _count(hook.titles(loud), "FIRING"), timeout=60)
        firing = wait_for(
            "four firing alerts",
            lambda: found if len(found := _firing(client, (loud, quiet))) == 4 else None,
            timeout=60,
        )
        held = {(a.rule, a.labels["environment"]): a.suppressed for a in firing}
        assert held[(loud, node1.name)] is None
        assert held[(loud, node2.name)] == f"maintenance:{node2.name}"
        assert held[(quiet, node2.name)] == f"maintenance:{node2.name}"
        assert str(held[(quiet, node1.name)]).startswith("silence:")
        # ...and decided in the same pass as the others, which delivered nothing.
        assert hook.titles(quiet) == []
        assert [t for t in hook.titles(loud) if node2.name in t] == []
        assert [d for d in client.list_deliveries(limit=500) if d.rule == quiet] == []
        # When the maintenance ends, the worker still down pages (the silence still holds).
        client.end_maintenance(window.id)
        wait_for(
            "loud FIRING for node2 after maintenance",
            lambda: [t for t in hook.titles(loud) if f"in {node2.name}" in t],
            timeout=60,
        )
        assert hook.titles(quiet) == []


def test_restart_loop_and_unhealthy_fire_and_resolve(fleet3: LabRecord) -> None:
    node = fleet3.nodes[0]
    tag = uuid.uuid4().hex[:8]
    loop, sick = f"loop-{tag}", f"sick-{tag}"
    with ExitStack() as stack:
        client = stack.enter_context(client_for(fleet3))
        hook = stack.enter_context(WebhookReceiver())
        made = _Cleanup(client)
        stack.callback(made.close)
        client.create_channel(f"hook-{tag}", hook.url)
        made.channels.append(f"hook-{tag}")
        scope = {"labels": [f"fdtest={tag}"], "channels": made.channels}
        client.create_rule({"name": loop, "condition": "restart_loop", "threshold": 3,
                            "window": "10m", **scope})  # fmt: skip
        client.create_rule({"name": sick, "condition": "container_unhealthy", **scope})
        made.rules += [loop, sick]
        crasher, web = f"crash-{tag}", f"web-{tag}"
        made.containers += [(node, crasher), (node, web)]
        docker(node, "run", "-d", "--restart", "always", "--label", f"fdtest={tag}",
               "--name", crasher, fleet3.images["base"], "sh", "-c", "sleep 1; exit 1")  # fmt: skip
        docker(node, "run", "-d", "--label", f"fdtest={tag}", "--name", web, fleet3.images["web"])
        wait_for("the web container", lambda: client.list_containers(name=web).total == 1)
        docker(node, "exec", web, "wget", "-qO-", "http://127.0.0.1/cgi-bin/sick")
        wait_for("restart loop FIRING", lambda: _count(hook.titles(loop), "FIRING"), timeout=120)
        wait_for("unhealthy FIRING", lambda: _count(hook.titles(sick), "FIRING"), timeout=60)
        docker(node, "exec", web, "wget", "-qO-", "http://127.0.0.1/cgi-bin/well")
        wait_for("unhealthy RESOLVED", lambda: _count(hook.titles(sick), "RESOLVED"), timeout=60)
        docker(node, "rm", "-f", crasher)  # gone: nothing restarts any more
        wait_for("restart loop RESOLVED", lambda: _count(hook.titles(loop), "RESOLVED"), timeout=60)
        for rule in (loop, sick):
            titles = hook.titles(rule)
            assert _count(titles, "FIRING") == 1 and _count(titles, "RESOLVED") == 1, titles
