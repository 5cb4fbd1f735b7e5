"""Compose → Swarm ServiceSpec.

Every supported deploy key, explicit update/rollback configs, per-key fingerprints,
content-addressed secrets and refused keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.compose import load_project
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.stacks.plan import Action, Strategy
from fleetdeck.server.stacks.swarm.compare import compare, fingerprint, with_fingerprint
from fleetdeck.server.stacks.swarm.objects import (
    configs_needed,
    content_name,
    networks_needed,
    secrets_needed,
)
from fleetdeck.server.stacks.swarm.spec import (
    SpecInputs,
    SwarmObject,
    service_spec,
    unsupported_keys,
)

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.compose import Project

S = 1_000_000_000
IMAGE = "10.0.0.1:5000/app/web:1"

FULL = """
services:
  web:
    image: 10.0.0.1:5000/app/web:1
    command: ["httpd", "-f"]
    entrypoint: ["/init"]
    environment: {A: "1", B: null}
    labels: {team: web}
    user: "1000"
    working_dir: /srv
    hostname: webhost
    read_only: true
    init: true
    stop_signal: SIGINT
    stop_grace_period: 20s
    extra_hosts: ["db.local:10.0.0.9"]
    dns: [10.0.0.53]
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    sysctls: {net.core.somaxconn: "1024"}
    ulimits: {nofile: 1024}
    tmpfs: [/run]
    volumes:
      - data:/data
      - type: bind
        source: /srv/static
        target: /static
        read_only: true
    secrets: [api_key]
    configs:
      - source: site
        target: /etc/site.conf
        mode: 0440
    networks:
      front: {aliases: [www]}
    ports:
      - "8080:80"
      - target: 443
        published: "8443"
        mode: host
    healthcheck:
      test: wget -q -O- http://127.0.0.1/
      interval: 2s
      timeout: 3s
      retries: 4
      start_period: 10s
    logging: {driver: json-file, options: {max-size: 10m}}
    deploy:
      mode: replicated
      replicas: 3
      endpoint_mode: vip
      labels: {tier: front}
      resources:
        limits: {cpus: "0.5", memory: 128m, pids: 100}
        reservations: {cpus: "0.25", memory: 64m}
      restart_policy: {condition: on-failure, delay: 3s, max_attempts: 5, window: 1m}
      placement:
        constraints: [node.role == worker]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 2
      update_config: {parallelism: 2, delay: 1s, monitor: 30s, max_failure_ratio: 0.1}
      rollback_config: {parallelism: 3, failure_action: continue}
networks:
  front: {}
volumes:
  data: {}
secrets:
  api_key: {environment: API_KEY}
configs:
  site: {content: "hello"}
"""


def _project(tmp_path: Path, text: str, name: str = "shop") -> Project:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return load_project([path], project_name=name, env={})


def _inputs(mesh: bool = True, strategy: Strategy = Strategy.auto) -> SpecInputs:
    return SpecInputs(
        stack="shop",
        routing_mesh=mesh,
        strategy=strategy,
        images={"web": IMAGE + "@sha256:" + "a" * 64},
        secrets={"api_key": SwarmObject("shop_api_key_12345678", "sid")},
        configs={"site": SwarmObject("shop_site_87654321", "cid")},
    )


def _spec(tmp_path: Path, text: str = FULL, **kw: Any) -> tuple[dict[str, Any], list[str]]:
    project = _project(tmp_path, text)
    return service_spec("web", project.services["web"], project, _inputs(**kw))


def test_every_supported_key_lands_in_the_spec(tmp_path: Path) -> None:
    spec, _ = _spec(tmp_path)
    assert spec["Name"] == "shop_web"
    assert spec["Labels"]["com.docker.stack.namespace"] == "shop"
    assert spec["Labels"]["tier"] == "front"
    assert spec["Mode"] == {"Replicated": {"Replicas": 3}}
    task = spec["TaskTemplate"]
    c = task["ContainerSpec"]
    assert c["Image"].startswith(IMAGE + "@sha256:")
    assert c["Command"] == ["/init"] and c["Args"] == ["httpd", "-f"]
    assert c["Env"] == ["A=1", "B"]
    assert c["Labels"] == {
        "team": "web",
        "com.docker.stack.namespace": "shop",
        "io.fleetdeck.image": IMAGE,  # the written tag, shown instead of the pinned digest
    }
    assert (c["User"], c["Dir"], c["Hostname"]) == ("1000", "/srv", "webhost")
    assert c["ReadOnly"] is True and c["Init"] is True
    assert c["StopSignal"] == "SIGINT" and c["StopGracePeriod"] == 20 * S
    assert c["Hosts"] == ["10.0.0.9 db.local"]
    assert c["DNSConfig"]["Nameservers"] == ["10.0.0.53"]
    assert c["CapabilityAdd"] == ["NET_ADMIN"] and c["CapabilityDrop"] == ["ALL"]
    assert c["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert c["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 1024}]
    mounts = {m["Target"]: m for m in c["Mounts"]}
    assert mounts["/data"]["Source"] == "shop_data" and mounts["/data"]["Type"] == "volume"
    assert mounts["/data"]["VolumeOptions"]["Labels"] == {"com.docker.stack.namespace": "shop"}
    assert mounts["/static"] == {
        "Type": "bind",
        "Source": "/srv/static",
        "Target": "/static",
        "ReadOnly": True,
    }
    assert mounts["/run"]["Type"] == "tmpfs"
    assert c["Secrets"] == [
        {
            "File": {"Name": "api_key", "UID": "0", "GID": "0", "Mode": 0o444},
            "SecretID": "sid",
            "SecretName": "shop_api_key_12345678",
        }
    ]
    assert c["Configs"][0]["File"]["Name"] == "/etc/site.conf"
    assert c["Configs"][0]["File"]["Mode"] == 0o440
    assert c["HealthCheck"] == {
        "Test": ["CMD-SHELL", "wget -q -O- http://127.0.0.1/"],
        "Interval": 2 * S,
        "Timeout": 3 * S,
        "StartPeriod": 10 * S,
        "Retries": 4,
    }
    assert task["Resources"] == {
        "Limits": {"NanoCPUs": S // 2, "MemoryBytes": 128 * 2**20, "Pids": 100},
        "Reservations": {"NanoCPUs": S // 4, "MemoryBytes": 64 * 2**20},
    }
    assert task["RestartPolicy"] == {
        "Condition": "on-failure",
        "Delay": 3 * S,
        "MaxAttempts": 5,
        "Window": 60 * S,
    }
    assert task["Placement"] == {
        "Constraints": ["node.role == worker"],
        "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
        "MaxReplicas": 2,
    }
    assert task["Networks"] == [{"Target": "shop_front", "Aliases": ["web", "www"]}]
    assert task["LogDriver"] == {"Name": "json-file", "Options": {"max-size": "10m"}}
    assert spec["EndpointSpec"]["Mode"] == "vip"
    ports = {p["PublishedPort"]: p for p in spec["EndpointSpec"]["Ports"]}
    assert ports[8080]["PublishMode"] == "ingress" and ports[8443]["PublishMode"] == "host"


def test_update_and_rollback_configs_are_always_complete(tmp_path: Path) -> None:
    spec, _ = _spec(tmp_path)
    # from the file where given, ours for the rest; a host-mode port forces stop-first
    assert spec["UpdateConfig"] == {
        "Parallelism": 2,
        "Delay": 1 * S,
        "FailureAction": "rollback",
        "Monitor": 30 * S,
        "MaxFailureRatio": 0.1,
        "Order": "stop-first",
    }
    assert spec["RollbackConfig"] == {
        "Parallelism": 3,
        "Delay": 0,
        "FailureAction": "continue",
        "Monitor": (10 + 2 * 4 + 3) * S,  # start period + interval × retries + timeout
        "MaxFailureRatio": 0.0,
        "Order": "stop-first",
    }


def test_defaults_when_the_file_says_nothing(tmp_path: Path) -> None:
    spec, notes = _spec(tmp_path, f"services:\n  web:\n    image: {IMAGE}\n")
    assert spec["UpdateConfig"] == {
        "Parallelism": 1,
        "Delay": 0,
        "FailureAction": "rollback",
        "Monitor": 5 * S,
        "MaxFailureRatio": 0.0,
        "Order": "start-first",
    }
    assert spec["RollbackConfig"] == {**spec["UpdateConfig"], "FailureAction": "pause"}
    assert spec["TaskTemplate"]["RestartPolicy"] == {
        "Condition": "any",
        "Delay": 5 * S,
        "MaxAttempts": 0,
        "Window": 0,
    }
    assert spec["Mode"] == {"Replicated": {"Replicas": 1}}
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "shop_default", "Aliases": ["web"]}]
    assert notes == []


def test_monitor_covers_the_healthcheck(tmp_path: Path) -> None:
    text = (
        f"services:\n  web:\n    image: {IMAGE}\n    healthcheck:\n"
        "      test: [CMD, 'true']\n      interval: 5s\n      timeout: 2s\n"
        "      retries: 3\n      start_period: 10s\n"
    )
    spec, _ = _spec(tmp_path, text)
    assert spec["UpdateConfig"]["Monitor"] == (10 + 5 * 3 + 2) * S


def test_strategy_overrides_and_host_ports_fall_back(tmp_path: Path) -> None:
    plain = f"services:\n  web:\n    image: {IMAGE}\n"
    spec, _ = _spec(tmp_path, plain, strategy=Strategy.stop_first)
    assert spec["UpdateConfig"]["Order"] == "stop-first"
    ported = plain + "    ports: ['80:80']\n"
    spec, notes = _spec(tmp_path, ported, mesh=False, strategy=Strategy.start_first)
    assert spec["UpdateConfig"]["Order"] == "stop-first"
    assert any("start-first is impossible" in n for n in notes)


def test_without_routing_mesh_ports_go_host_mode_and_dnsrr(tmp_path: Path) -> None:
    spec, notes = _spec(tmp_path, mesh=False)
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    assert {p["PublishMode"] for p in spec["EndpointSpec"]["Ports"]} == {"host"}
    assert any("vip needs IPVS" in n for n in notes)


def test_restart_key_and_global_mode(tmp_path: Path) -> None:
    text = f"services:\n  web:\n    image: {IMAGE}\n    restart: on-failure:4\n"
    text += "    deploy: {mode: global}\n"
    spec, _ = _spec(tmp_path, text)
    assert spec["Mode"] == {"Global": {}}
    policy = spec["TaskTemplate"]["RestartPolicy"]
    assert (policy["Condition"], policy["MaxAttempts"]) == ("on-failure", 4)


def test_jobs_have_no_update_config(tmp_path: Path) -> None:
    text = f"services:\n  web:\n    image: {IMAGE}\n"
    text += "    deploy: {mode: replicated-job, replicas: 2}\n"
    spec, _ = _spec(tmp_path, text)
    assert spec["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}}
    assert "UpdateConfig" not in spec


def test_unsupported_keys_are_named(tmp_path: Path) -> None:
    text = (
        "services:\n  web:\n    build: .\n    privileged: true\n    devices: ['/dev/fuse']\n"
        "    ports: ['127.0.0.1:80:80']\n"
    )
    project = _project(tmp_path, text)
    found = unsupported_keys(project.services["web"])
    assert "privileged" in found and "devices" in found
    assert any(k.startswith("build") for k in found)
    assert any(k.startswith("ports.host_ip") for k in found)


def _desired(tmp_path: Path, text: str) -> dict[str, Any]:
    project = _project(tmp_path, text)
    spec, _ = service_spec("web", project.services["web"], project, _inputs())
    return with_fingerprint(spec)


def _running(spec: dict[str, Any], replicas: int | None = None) -> dict[str, Any]:
    if replicas is not None:
        spec = {**spec, "Mode": {"Replicated": {"Replicas": replicas}}}
    return {"Spec": spec}


def test_compare_names_changed_keys_and_digests(tmp_path: Path) -> None:
    base = f"services:\n  web:\n    image: {IMAGE}\n    environment: {{A: '1'}}\n"
    desired = _desired(tmp_path, base)
    assert compare("web", desired, None).action is Action.create
    assert compare("web", desired, _running(desired)).action is Action.unchanged
    scaled = compare("web", desired, _running(desired, 5))
    assert (scaled.action, scaled.reason) == (Action.scale, "replicas 5 → 1")
    changed = _desired(tmp_path, base.replace("'1'", "'2'"))
    change = compare("web", changed, _running(desired))
    assert change.action is Action.recreate and change.reason == "config changed: environment"
    other = {**desired}
    other["TaskTemplate"] = {
        **desired["TaskTemplate"],
        "ContainerSpec": {
            **desired["TaskTemplate"]["ContainerSpec"],
            "Image": IMAGE + "@sha256:" + "b" * 64,
        },
    }
    change = compare("web", desired, _running(other))
    assert change.reason.startswith("image digest changed: sha256:bbbbbbbbbbbb… → sha256:aaaa")
    foreign = {**desired, "Labels": {"com.docker.stack.namespace": "shop"}}
    assert "not deployed by fleetdeck" in compare("web", desired, _running(foreign)).reason


def test_fingerprint_ignores_secret_ids(tmp_path: Path) -> None:
    spec, _ = _spec(tmp_path)
    moved = dict(spec)
    container = dict(spec["TaskTemplate"]["ContainerSpec"])
    container["Secrets"] = [{**container["Secrets"][0], "SecretID": "other"}]
    moved["TaskTemplate"] = {**spec["TaskTemplate"], "ContainerSpec": container}
    assert fingerprint(moved) == fingerprint(spec)


def test_secrets_are_content_addressed_and_need_a_value(tmp_path: Path) -> None:
    project = _project(tmp_path, FULL)
    first = secrets_needed(project, "shop", {"secret:api_key": b"one"}, b"k")
    again = secrets_needed(project, "shop", {"secret:api_key": b"one"}, b"k")
    rotated = secrets_needed(project, "shop", {"secret:api_key": b"two"}, b"k")
    assert first["api_key"].name == again["api_key"].name != rotated["api_key"].name
    assert first["api_key"].name.startswith("shop_api_key_")
    assert "one" not in repr(first["api_key"])
    assert content_name("shop", "k", b"v", b"a") != content_name("shop", "k", b"v", b"b")
    with pytest.raises(InvalidInputError, match="api_key"):
        secrets_needed(project, "shop", {}, b"k")
    configs = configs_needed(project, "shop", {}, b"k")
    assert configs["site"].data == b"hello"


def test_networks_are_overlay_attachable_and_labelled(tmp_path: Path) -> None:
    networks = networks_needed(_project(tmp_path, FULL), "shop")
    assert set(networks) == {"front"}
    body = networks["front"].body
    assert body["name"] == "shop_front" and body["driver"] == "overlay"
    assert body["attachable"] is True
    assert body["labels"] == {"com.docker.stack.namespace": "shop"}
