"""``down`` removes everything, also after a crashed ``up``; checked on the machine itself."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from fleetdeck.lab import Lab
from fleetdeck.lab.cleanup import leftovers
from tests.conftest import fleetdeck, lab_name
from tests.integration.docker_cli import docker

pytestmark = pytest.mark.lab


def _machine_traces(lab: Lab) -> dict[str, list[str]]:
    """Look for the lab on the machine with plain tools, independently of the lab's code."""
    names = lab.names
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    mounts = Path("/proc/self/mounts").read_text()
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True)
    cgroups = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/fdl-{names.name}-*")]
    return {
        "netns": [n for n in netns.stdout.splitlines() if names.netns_prefix in n],
        "links": [ln for ln in links.stdout.splitlines() if names.short_id in ln],
        "processes": [
            p
            for p in procs.stdout.splitlines()
            if str(names.run_dir) in p or str(names.state_dir) in p
        ],
        "mounts": [
            m for m in mounts.splitlines() if str(names.run_dir) in m or str(names.state_dir) in m
        ],
        "iptables": [r for r in rules.stdout.splitlines() if names.iptables_comment in r],
        "cgroups": cgroups,
        "paths": [str(p) for p in (names.state_dir, names.run_dir) if p.exists()],
    }


def test_down_leaves_nothing_behind() -> None:
    lab = Lab(lab_name("down"))
    record, created = lab.up(nodes=2)
    assert created
    docker(record.nodes[0], "run", "-d", "--name", "busy1", record.images["web"])
    docker(record.nodes[1], "run", "-d", "--name", "busy2", record.images["base"], "sleep", "600")
    traces = _machine_traces(lab)
    assert traces["netns"] and traces["links"] and traces["processes"] and traces["mounts"]
    assert traces["cgroups"] and traces["iptables"]
    fleetdeck("lab", "down", "--name", lab.name)
    assert _machine_traces(lab) == {k: [] for k in traces}
    assert not any(leftovers(lab.names).values())
    second = fleetdeck("lab", "down", "--name", lab.name)
    assert "nothing to do" in second.stdout


def test_down_cleans_up_after_a_crashed_up() -> None:
    lab = Lab(lab_name("crash"))
    lab.up(nodes=1)
    # A crash before the record is written leaves kernel objects and processes, no record.
    lab.names.record_path.unlink()
    status = json.loads(fleetdeck("lab", "status", "--name", lab.name, "-o", "json").stdout)
    assert status["state"] == "partial"
    assert status["leftovers"]["namespaces"] == [lab.names.netns("node1")]
    fleetdeck("lab", "down", "--name", lab.name)
    assert _machine_traces(lab) == {k: [] for k in _machine_traces(lab)}


def test_up_cleans_stale_leftovers_before_creating() -> None:
    lab = Lab(lab_name("stale"))
    lab.up(nodes=1)
    lab.names.record_path.unlink()
    record, created = lab.up(nodes=1)
    try:
        assert created
        assert docker(record.nodes[0], "info", "--format", "{{.Name}}") == record.nodes[0].hostname
        assert len([n for n in _machine_traces(lab)["netns"]]) == 1
    finally:
        lab.down()
    assert os.geteuid() == 0
