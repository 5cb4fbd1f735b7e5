"""Metrics history on a real lab: a container burning CPU and holding memory shows in the store.

The agents sample at the default 10 s interval, so the test waits for two samples taken
while the load runs (rates need two samples). The machine is shared with other test runs, so
the burning container is compared with an idle sibling instead of a fixed share of a core.
"""

from __future__ import annotations

import ssl
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import client_for, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from fleetdeck.client import FleetdeckClient
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

MB = 1024 * 1024


def _peak(client: FleetdeckClient, target: str, metric: str) -> float:
    start = datetime.now(UTC) - timedelta(minutes=5)
    result = client.query_metrics(target, metric, start=start, step=10)
    values = [p.value for s in result.series for p in s.points]
    return max(values, default=0.0)


def test_cpu_and_memory_of_a_busy_container_show_in_history(fleet3: LabRecord) -> None:
    lab_node = fleet3.nodes[0]
    name = f"fdm-{uuid.uuid4().hex[:8]}"
    idle = f"fdi-{uuid.uuid4().hex[:8]}"
    docker(lab_node, "run", "-d", "--name", name, fleet3.images["web"])
    docker(lab_node, "run", "-d", "--name", idle, "--memory", "256m", fleet3.images["web"])
    try:
        with client_for(fleet3) as client:
            env = client.get_environment(lab_node.name)
            host = f"{env.name}/{env.nodes[0].name}"
            target = f"{host}/{name}"
            wait_for("the container", lambda: client.list_containers(name=name).total == 1)
            docker(
                lab_node, "exec", name, "wget", "-qO-", "http://127.0.0.1/cgi-bin/cpu?seconds=20"
            )
            docker(
                lab_node,
                "exec",
                name,
                "wget",
                "-qO-",
                "http://127.0.0.1/cgi-bin/mem?mb=64&seconds=30",
            )
            wait_for(
                "cpu_cores > 0.1", lambda: _peak(client, target, "cpu_cores") > 0.1, timeout=90
            )
            assert _peak(client, target, "cpu_cores") > 5 * _peak(
                client, f"{host}/{idle}", "cpu_cores"
            )
            wait_for(
                "memory working set > 60 MB",
                lambda: _peak(client, target, "memory_working_set_bytes") > 60 * MB,
                timeout=90,
            )
            assert _peak(client, host, "memory_available_bytes") > 0
            assert _peak(client, host, "cpu_count") >= 1
            fs = client.query_metrics(
                host, "fs_used_percent", start=datetime.now(UTC) - timedelta(minutes=5)
            )
            assert fs.series and all(s.instance.startswith("/") for s in fs.series)
        rows = fleetdeck_json(
            "metrics",
            target,
            "--metric",
            "cpu_cores",
            "--since",
            "5m",
            "-o",
            "json",
            env=server_env(fleet3),
        )
        assert rows["metric"] == "cpu_cores"
        assert max(p["value"] for s in rows["series"] for p in s["points"]) > 0.1
        # The capacity report: the burner has no limits; the idle one's memory limit is far
        # above its use.
        report = fleetdeck_json(
            "report", "capacity", "--window", "15m", "--env", lab_node.name, "-o", "json",
            env=server_env(fleet3),
        )  # fmt: skip
        [node] = report["nodes"]
        assert node["cpu_count"] >= 1 and node["samples"] > 0
        assert node["memory_headroom_bytes"] > 0 and node["cpu_cores_p95"] is not None
        rows_by_name = {c["container"]: c for c in node["containers"]}
        assert rows_by_name[name]["no_limits"] == ["cpu", "memory"]
        assert rows_by_name[idle]["memory_limit_bytes"] == 256 * MB
        assert rows_by_name[idle]["limits_far_above_use"] == ["memory"]
        # The same figures for an existing Prometheus: /metrics with the API token.
        assert fleet3.server is not None
        exposition = httpx.get(
            f"{fleet3.server.url}/metrics",
            verify=ssl.create_default_context(cafile=fleet3.server.ca_cert),
            headers={"Authorization": f"Bearer {fleet3.server.token}"},
            timeout=10,
        )
        assert exposition.status_code == 200
        assert f'container="{name}"' in exposition.text
        assert f'fleetdeck_node_up{{environment="{lab_node.name}"' in exposition.text
    finally:
        docker(lab_node, "rm", "-f", name, idle)
