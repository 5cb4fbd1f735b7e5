"""Every polymorphic form of a service key lands in one canonical form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.unit.compose.helpers import load, service_data, write

if TYPE_CHECKING:
    from pathlib import Path


def one_key(tmp_path: Path, yaml_value: str, key: str) -> Any:
    """Load a service `s` whose `key` is `yaml_value` (YAML flow text) and return the key."""
    write(
        tmp_path, "compose.yaml", f"services:\n  s:\n    image: busybox\n    {key}: {yaml_value}\n"
    )
    return service_data(load(tmp_path, "compose.yaml"), "s").get(key)


@pytest.mark.parametrize(
    ("key", "forms", "canonical"),
    [
        ("environment", ["[A=1, B]", "{A: 1, B: null}"], {"A": "1", "B": None}),
        ("labels", ["[a=1, b]", "{a: '1', b: ''}"], {"a": "1", "b": ""}),
        (
            "sysctls",
            ["[net.core.somaxconn=1024]", "{net.core.somaxconn: 1024}"],
            {"net.core.somaxconn": "1024"},
        ),
        ("command", ["'echo \"a b\" c'", "[echo, a b, c]"], ["echo", "a b", "c"]),
        ("entrypoint", ["/bin/sh", "[/bin/sh]"], ["/bin/sh"]),
        ("dns", ["8.8.8.8", "[8.8.8.8]"], ["8.8.8.8"]),
        ("dns_search", ["example.com", "[example.com]"], ["example.com"]),
        ("tmpfs", ["/run", "[/run]"], ["/run"]),
        ("expose", ["[3000, '3001/udp']"], ["3000", "3001/udp"]),
        (
            "extra_hosts",
            ["['db:10.0.0.2']", "{db: 10.0.0.2}", "['db=10.0.0.2']"],
            {"db": ["10.0.0.2"]},
        ),
        ("networks", ["[front]", "{front: null}", "{front: {}}"], {"front": {}}),
        (
            "depends_on",
            ["[db]", "{db: {condition: service_started}}"],
            {"db": {"condition": "service_started", "restart": False, "required": True}},
        ),
        (
            "ulimits",
            ["{nofile: 1024}", "{nofile: {soft: 1024, hard: 1024}}"],
            {"nofile": {"soft": 1024, "hard": 1024}},
        ),
        ("stop_grace_period", ["1m", "60s", "60"], 60.0),
        ("shm_size", ["64m", "67108864", "'65536k'"], 67108864),
        ("restart", ["no", "'no'"], "no"),
        ("secrets", ["[pw]", "[{source: pw}]"], [{"source": "pw"}]),
        (
            "gpus",
            ["all", "[{count: all}]", "[{count: all, capabilities: [gpu]}]"],
            [{"capabilities": ["gpu"], "count": -1}],
        ),
        (
            "devices",
            [
                "['/dev/fuse']",
                "['/dev/fuse:/dev/fuse:rwm']",
                "[{source: /dev/fuse, target: /dev/fuse}]",
            ],
            [{"source": "/dev/fuse", "target": "/dev/fuse", "permissions": "rwm"}],
        ),
        (
            "healthcheck",
            ["{test: curl -f localhost}", "{test: [CMD-SHELL, curl -f localhost]}"],
            {"test": ["CMD-SHELL", "curl -f localhost"]},
        ),
        ("cpus", ["'0.5'", "0.5"], 0.5),
    ],
)
def test_polymorphic_forms(tmp_path: Path, key: str, forms: list[str], canonical: Any) -> None:
    for form in forms:
        if key == "networks":
            write(
                tmp_path,
                "compose.yaml",
                f"services:\n  s:\n    image: x\n    {key}: {form}\nnetworks:\n  front:\n",
            )
            value = service_data(load(tmp_path, "compose.yaml"), "s")[key]
        elif key in ("depends_on",):
            write(
                tmp_path,
                "compose.yaml",
                f"services:\n  db:\n    image: x\n  s:\n    image: x\n    {key}: {form}\n",
            )
            value = service_data(load(tmp_path, "compose.yaml"), "s")[key]
        elif key == "secrets":
            write(
                tmp_path,
                "compose.yaml",
                f"services:\n  s:\n    image: x\n    {key}: {form}\n"
                "secrets:\n  pw:\n    file: ./pw.txt\n",
            )
            value = service_data(load(tmp_path, "compose.yaml"), "s")[key]
        else:
            value = one_key(tmp_path, form, key)
        assert value == canonical, form


def test_ports_every_form(tmp_path: Path) -> None:
    write(
        tmp_path,
        "compose.yaml",
        """
        services:
          s:
            image: x
            ports:
              - 80
              - 22:22
              - "8080:80"
              - "127.0.0.1:5353:53/udp"
              - "9000-9001:9000-9001"
              - target: 443
                published: 8443
                protocol: tcp
                mode: host
                host_ip: 0.0.0.0
    """,
    )
    ports = service_data(load(tmp_path, "compose.yaml"), "s")["ports"]
    assert [(p["target"], p.get("published"), p["protocol"], p["mode"]) for p in ports] == [
        (80, None, "tcp", "ingress"),
        (22, "22", "tcp", "ingress"),
        (80, "8080", "tcp", "ingress"),
        (53, "5353", "udp", "ingress"),
        (9000, "9000", "tcp", "ingress"),
        (9001, "9001", "tcp", "ingress"),
        (443, "8443", "tcp", "host"),
    ]
    assert ports[3]["host_ip"] == "127.0.0.1"


def test_volumes_every_form(tmp_path: Path) -> None:
    write(
        tmp_path,
        "compose.yaml",
        """
        services:
          s:
            image: x
            volumes:
              - data:/data
              - ./conf:/etc/conf:ro
              - /cache
              - type: tmpfs
                target: /tmp
                tmpfs: {size: 64m}
              - type: bind
                source: ./logs
                target: /logs
                read_only: true
              - type: volume
                source: data
                target: /more
                volume: {nocopy: true}
        volumes:
          data:
    """,
    )
    volumes = service_data(load(tmp_path, "compose.yaml"), "s")["volumes"]
    assert volumes[0] == {"type": "volume", "source": "data", "target": "/data", "read_only": False}
    assert volumes[1]["source"] == str(tmp_path / "conf") and volumes[1]["read_only"] is True
    assert volumes[2] == {"type": "volume", "target": "/cache", "read_only": False}
    assert volumes[3]["tmpfs"] == {"size": 64 << 20}
    assert volumes[4]["source"] == str(tmp_path / "logs")
    assert volumes[5]["volume"] == {"nocopy": True}


def test_build_forms_and_relative_context(tmp_path: Path) -> None:
    write(
        tmp_path,
        "compose.yaml",
        """
        services:
          short:
            build: ./app
          long:
            build:
              context: ../other
              dockerfile: Dockerfile.prod
              args: [VERSION=1.2, DEBUG]
              target: runtime
          remote:
            build: https://github.com/example/repo.git#main
    """,
    )
    project = load(tmp_path, "compose.yaml")
    assert project.services["short"].build is not None
    assert project.services["short"].build.context == str(tmp_path / "app")
    long = project.services["long"].build
    assert long is not None
    assert long.context == str(tmp_path.parent / "other")
    assert (long.dockerfile, long.target, long.args) == (
        "Dockerfile.prod",
        "runtime",
        {"VERSION": "1.2", "DEBUG": None},
    )
    remote = project.services["remote"].build
    assert remote is not None and remote.context.startswith("https://")


def test_deploy_section(tmp_path: Path) -> None:
    write(
        tmp_path,
        "compose.yaml",
        """
        services:
          s:
            image: x
            deploy:
              mode: replicated
              replicas: "3"
              endpoint_mode: dnsrr
              labels: [tier=web]
              resources:
                limits: {cpus: "1.5", memory: 1g, pids: 100}
                reservations:
                  cpus: 0.25
                  memory: 256M
                  devices:
                    - driver: nvidia
                      device_ids: ["0", "1"]
                      capabilities: [gpu, utility]
              restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
              update_config:
                parallelism: 1
                delay: 10s
                failure_action: rollback
                monitor: 30s
                max_failure_ratio: 0.1
                order: start-first
              rollback_config: {parallelism: 0, order: stop-first, failure_action: pause}
              placement:
                constraints: [node.role == worker]
                preferences: [{spread: node.labels.zone}]
                max_replicas_per_node: 2
    """,
    )
    deploy = load(tmp_path, "compose.yaml").services["s"].deploy
    assert deploy is not None and deploy.resources is not None
    assert deploy.replicas == 3 and deploy.endpoint_mode == "dnsrr"
    assert deploy.labels == {"tier": "web"}
    limits, reservations = deploy.resources.limits, deploy.resources.reservations
    assert limits is not None and reservations is not None
    assert (limits.cpus, limits.memory, limits.pids) == (1.5, 1 << 30, 100)
    assert (reservations.cpus, reservations.memory) == (0.25, 256 << 20)
    assert reservations.devices[0].device_ids == ["0", "1"]
    assert deploy.restart_policy is not None
    assert (deploy.restart_policy.delay, deploy.restart_policy.window) == (5.0, 120.0)
    update = deploy.update_config
    assert update is not None
    assert (update.parallelism, update.delay, update.monitor) == (1, 10.0, 30.0)
    assert (update.failure_action, update.max_failure_ratio, update.order) == (
        "rollback",
        0.1,
        "start-first",
    )
    assert deploy.rollback_config is not None and deploy.rollback_config.parallelism == 0
    assert deploy.placement is not None
    assert deploy.placement.preferences[0].spread == "node.labels.zone"
    assert deploy.placement.max_replicas_per_node == 2


def test_extensions_are_ignored_and_anchors_merge(tmp_path: Path) -> None:
    write(
        tmp_path,
        "compose.yaml",
        """
        x-logging: &logging
          driver: json-file
          options: {max-size: 10m, max-file: 3}
        x-common: &common
          restart: unless-stopped
          logging: *logging
        services:
          s:
            <<: *common
            image: x
            restart: always
            x-note: anything at all
    """,
    )
    service = load(tmp_path, "compose.yaml").services["s"]
    assert service.restart == "always"
    assert service.logging is not None
    assert service.logging.options == {"max-size": "10m", "max-file": "3"}


def test_legacy_external_and_resource_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        "compose.yaml",
        """
        name: Shop
        services:
          s:
            image: x
            networks: [front, shared]
            volumes: [data:/data, old:/old]
        networks:
          front:
          shared:
            external: true
        volumes:
          data:
          old:
            external: {name: legacy_volume}
    """,
    )
    data = load(tmp_path, "compose.yaml").to_data()
    assert data["name"] == "shop"
    assert data["networks"] == {
        "front": {"name": "shop_front"},
        "shared": {"name": "shared", "external": True},
    }
    assert data["volumes"]["old"] == {"name": "legacy_volume", "external": True}
    assert data["volumes"]["data"] == {"name": "shop_data"}
    assert "default" not in data["networks"]
