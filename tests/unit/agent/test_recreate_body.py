"""The create body a recreate builds from an old container's inspect document."""

from __future__ import annotations

from typing import Any

from fleetdeck.agent.engine_create import create_body
from fleetdeck.agent.engine_recreate import recreate_body, refusal
from fleetdeck.container_spec import ContainerSpec

OLD: dict[str, Any] = {
    "Id": "0123456789abcdef0123",
    "Name": "/web",
    "Image": "sha256:old",
    "Config": {
        "Hostname": "0123456789ab",
        "Image": "web:1",
        "Env": ["PATH=/bin", "WEB_VERSION=1", "MINE=1"],
        "Cmd": ["httpd"],
        "Labels": {"suite": "x", "from-image": "1"},
        "Volumes": {"/cache": {}},
    },
    "HostConfig": {
        "NetworkMode": "front",
        "Binds": ["named:/named"],
        "Links": ["/db:/web/database"],
        "RestartPolicy": {"Name": "always"},
    },
    "Mounts": [
        {"Type": "volume", "Name": "named", "Destination": "/named"},
        {"Type": "volume", "Name": "f00dcafe", "Destination": "/cache"},
    ],
    "NetworkSettings": {
        "Networks": {
            "front": {
                "Aliases": ["web", "0123456789ab"],
                "IPAMConfig": {"IPv4Address": "10.0.0.9"},
            },
            "back": {"Aliases": ["side"]},
        }
    },
}
IMAGE: dict[str, Any] = {
    "Env": ["PATH=/bin", "WEB_VERSION=1"],
    "Cmd": ["httpd"],
    "Labels": {"from-image": "1"},
    "Volumes": {"/cache": {}},
}


def test_recreate_body_keeps_the_containers_own_config_and_drops_the_images() -> None:
    body, others = recreate_body(OLD, IMAGE)
    assert body["Env"] == ["MINE=1"] and "Cmd" not in body and "Hostname" not in body
    assert body["Labels"] == {"suite": "x"} and body["Volumes"] == {}
    assert body["Image"] == "web:1"
    host = body["HostConfig"]
    assert host["Binds"] == ["named:/named"] and host["Links"] == ["db:database"]
    # The anonymous volume is mounted by name: its data carries over.
    assert host["Mounts"] == [{"Type": "volume", "Source": "f00dcafe", "Target": "/cache"}]
    front = body["NetworkingConfig"]["EndpointsConfig"]["front"]
    assert front["Aliases"] == ["web"] and front["IPAMConfig"] == {"IPv4Address": "10.0.0.9"}
    assert others == {"back": {"Aliases": ["side"]}}


def test_recreate_body_copies_everything_when_the_old_image_is_gone() -> None:
    body, _ = recreate_body(OLD, None)
    assert body["Env"] == OLD["Config"]["Env"] and body["Cmd"] == ["httpd"]


def test_swarm_tasks_stack_containers_and_leftovers_are_refused() -> None:
    assert refusal(OLD) is None
    task = {**OLD, "Config": {"Labels": {"com.docker.swarm.task.id": "t"}}}
    assert "Swarm" in (refusal(task) or "")
    stack = {**OLD, "Config": {"Labels": {"io.fleetdeck.stack.revision": "2"}}}
    assert "stack deploy" in (refusal(stack) or "")
    assert "interrupted" in (refusal({**OLD, "Name": "/web.fd-new"}) or "")


def test_create_body_of_a_spec() -> None:
    spec = ContainerSpec.model_validate({
        "image": "web:1", "name": "w1", "env": ["A=1"], "restart": "unless-stopped",
        "ports": [{"container_port": 80, "host_port": 8080}, {"container_port": 53,
                  "protocol": "udp"}],
        "mounts": [{"source": "data", "target": "/data", "read_only": True}],
        "networks": ["front", "back"], "labels": {"k": "v"},
    })  # fmt: skip
    body, others = create_body(spec)
    assert body["Env"] == ["A=1"] and body["Labels"] == {"k": "v"}
    assert body["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    host = body["HostConfig"]
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert host["Mounts"] == [
        {"Type": "volume", "Source": "data", "Target": "/data", "ReadOnly": True}
    ]
    assert host["RestartPolicy"] == {"Name": "unless-stopped"} and host["NetworkMode"] == "front"
    assert others == {"back": {}} and "Cmd" not in body
