"""A request-rate target through a real Prometheus scales a plain-host stack service.

The lab web app counts its requests (``/cgi-bin/metrics``, Prometheus' text format); Debian's
``prometheus`` runs on the machine and scrapes every replica (file-based discovery, rewritten
as replicas come and go); the server evaluates ``sum(rate(...))`` through Prometheus' HTTP
API and scales the service on it. A PromQL expression Prometheus rejects is refused at set.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import fleetdeck, fleetdeck_json, server_env
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for
from tests.integration.server_helpers import restart_server
from tests.integration.test_autoscale_host import web_stack
from tests.integration.test_stacks_host import _write
from tests.integration.test_stacks_host_scale import _healthy, _web

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fleetdeck.lab import LabRecord, NodeRecord

pytestmark = pytest.mark.lab

PORT = 19090
CONFIG = """
global: {{scrape_interval: 2s, evaluation_interval: 2s}}
scrape_configs:
  - job_name: web
    metrics_path: /cgi-bin/metrics
    file_sd_configs: [{{files: ["{targets}"], refresh_interval: 2s}}]
"""
QUERY = "sum(rate(fleetdeck_lab_requests_total[10s]))"


def _targets(node: NodeRecord, stack: str, path: Path) -> int:
    """Write every web replica's published address for Prometheus; how many there are.

    A replica the autoscaler has just created may not be started yet (no port published):
    it is left out until it is, as Prometheus' own service discovery would.
    """
    addresses = []
    for name in _web(node, stack):
        out = docker(node, "port", name, "80/tcp", check=False).split()
        port = out[0].rsplit(":", 1)[1] if out else ""
        if port:
            addresses.append(f"{node.ip}:{port}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([{"targets": sorted(addresses), "labels": {"stack": stack}}]))
    tmp.replace(path)  # Prometheus never reads half a file
    return len(addresses)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Path]:
    """Debian's Prometheus on 127.0.0.1:19090; yields the file its targets are read from."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("Debian's prometheus package is not installed (scripts/setup.sh installs it)")
    targets = tmp_path / "targets.json"
    targets.write_text("[]")
    config = tmp_path / "prometheus.yml"
    config.write_text(CONFIG.format(targets=targets))
    proc = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield targets
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_request_rate_through_prometheus_scales_a_service(
    fleet3: LabRecord, tmp_path: Path, prometheus: Path
) -> None:
    """30 to 90 s (over 60 on a loaded machine): two server restarts, 2 s scrapes, a 10 s rate."""
    env, node = server_env(fleet3), fleet3.nodes[0]
    stack = f"ap{uuid.uuid4().hex[:6]}"
    text = web_stack(fleet3, 'ports: ["80"]')
    url = f"http://127.0.0.1:{PORT}"
    restart_server(fleet3, {"FLEETDECK_AUTOSCALE_SYNC_S": "3",
                            "FLEETDECK_AUTOSCALE_PROMETHEUS_URL": url})  # fmt: skip
    try:
        path = _write(tmp_path, text)
        fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
        ref = f"{stack}/web"
        # Prometheus itself refuses this one (rate() wants a range vector).
        bad = fleetdeck("autoscale", "set", ref, "--min", "2", "--max", "4", "--prometheus",
                        "rate(fleetdeck_lab_requests_total)", "--target", "1",
                        env=env, check=False)  # fmt: skip
        assert bad.returncode != 0 and "malformed PromQL" in bad.stderr, bad.stderr
        assert _targets(node, stack, prometheus) == 2
        # One request per second per replica is the target: the loader sends more.
        fleetdeck("autoscale", "set", ref, "--min", "2", "--max", "4", "--prometheus", QUERY,
                  "--target", "1", env=env)  # fmt: skip

        def scaled() -> list[dict[str, Any]]:
            _targets(node, stack, prometheus)
            if len(_web(node, stack)) <= 2 or not _healthy(node, stack, len(_web(node, stack))):
                return []
            rows = fleetdeck_json("autoscale", "history", ref, env=env)
            return [r for r in rows if r["applied"] and r["desired"] > r["current"]]

        up = wait_for("a scale-up on the request rate", scaled, timeout=120)
        rate = up[-1]["metrics"]["prometheus"]
        assert rate["value"] is not None and rate["target"] == 1.0, up
        assert "prometheus" in up[-1]["reason"], up
        fleetdeck("autoscale", "rm", ref, env=env)
        # The autoscaler's last scale may still be stopping a drained replica (409 till then).
        remove = ("stack", "rm", stack, "-y")

        def removed() -> bool:
            return fleetdeck(*remove, env=env, check=False).returncode == 0

        wait_for("the stack removed", removed, timeout=60)
    finally:
        restart_server(fleet3)
