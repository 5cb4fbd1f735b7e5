"""Masking of a container's env and the hardening rules of a container created outside stacks."""

from __future__ import annotations

from typing import Any

import pytest

from fleetdeck.container_spec import ContainerSpec
from fleetdeck.errors import PermissionDeniedError
from fleetdeck.server.auth.principal import Principal
from fleetdeck.server.fleet import container_rules
from fleetdeck.server.fleet.container_view import (
    MASK,
    StackSecrets,
    masked_env,
    masked_inspect,
    overview,
)
from fleetdeck.server.ui.pages_container import prefill
from fleetdeck.wire.auth import Role

OPERATOR = Principal("op", Role.operator)
ADMIN = Principal("root", Role.admin)


def test_env_is_masked_by_name_url_password_and_stack_secret() -> None:
    env = [
        "DB_PASSWORD=pw1", "api_key=k", "GITHUB_TOKEN=t", "CLIENT_SECRET=s", "COLOUR=blue",
        "DATABASE_URL=postgres://app:hunter2@db/app", "PLAIN_URL=http://example.com/x",
        "CONN=host=db password=stacksecret", "STACK_VAR=x", "EMPTY=",
    ]  # fmt: skip
    stack = StackSecrets(keys=frozenset({"STACK_VAR"}), values=("stacksecret", "ab"))
    out = dict(e.split("=", 1) for e in masked_env(env, stack))
    masked = {k for k, v in out.items() if v == MASK}
    assert masked == {
        "DB_PASSWORD", "api_key", "GITHUB_TOKEN", "CLIENT_SECRET", "DATABASE_URL", "CONN",
        "STACK_VAR",
    }  # fmt: skip
    assert out["COLOUR"] == "blue" and out["PLAIN_URL"] == "http://example.com/x"
    # Without the stack's secrets only the names and URLs give them away.
    assert dict(e.split("=", 1) for e in masked_env(env))["CONN"] == "host=db password=stacksecret"


def test_masked_inspect_touches_only_the_env() -> None:
    inspect: dict[str, Any] = {"Id": "x", "Config": {"Env": ["A_TOKEN=1", "B=2"], "Image": "web"}}
    out = masked_inspect(inspect)
    assert out["Config"] == {"Env": [f"A_TOKEN={MASK}", "B=2"], "Image": "web"}
    assert inspect["Config"]["Env"] == ["A_TOKEN=1", "B=2"]  # the original is not changed


def test_overview_reads_mounts_networks_ports_command_and_restart() -> None:
    inspect = {
        "Id": "0123456789abcdef",
        "Config": {"Env": ["SECRET_X=1"], "Cmd": ["httpd", "-f"], "Entrypoint": None},
        "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
                       "NetworkMode": "front"},
        "Mounts": [{"Type": "volume", "Name": "data", "Destination": "/data", "RW": False}],
        "NetworkSettings": {
            "Networks": {"front": {"IPAddress": "172.20.0.5", "Aliases": ["web", "0123456789ab"]}},
            "Ports": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "443/tcp": None},
        },
    }  # fmt: skip
    view = overview(inspect)
    assert view.env == [("SECRET_X", MASK, True)]
    assert view.mounts == [{"type": "volume", "source": "data", "target": "/data", "rw": False}]
    assert view.networks[0]["ip"] == "172.20.0.5" and view.networks[0]["aliases"] == ["web"]
    assert view.ports == ["443/tcp", "127.0.0.1:8080 → 80/tcp"]
    assert view.command == "httpd -f" and view.entrypoint == ""
    assert view.restart == "on-failure (at most 3 times)"


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"privileged": True}, "privileged"),
        ({"network_mode": "host"}, "host-network"),
        ({"pid": "host"}, "host-pid"),
        ({"cap_add": ["SYS_ADMIN"]}, "capability"),
        ({"security_opt": ["seccomp=unconfined"]}, "unconfined"),
        ({"devices": ["/dev/sda"]}, "device"),
        ({"mounts": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}]},
         "docker-socket"),
        ({"mounts": [{"type": "bind", "source": "/etc", "target": "/e"}]}, "host-mount"),
        ({"mounts": [{"type": "bind", "source": "/srv/app", "target": "/a"}]}, "host-mount"),
    ],
)  # fmt: skip
def test_dangerous_settings_are_an_admins(change: dict[str, object], rule: str) -> None:
    spec = ContainerSpec.model_validate({"image": "web:1", **change})
    with pytest.raises(PermissionDeniedError, match=rule):
        container_rules.check(spec, OPERATOR)
    assert rule in {r for r, _ in container_rules.check(spec, ADMIN)}


def test_named_volumes_ports_and_env_are_an_operators() -> None:
    spec = ContainerSpec.model_validate({
        "image": "web:1", "env": ["A=1"], "cap_add": ["NET_BIND_SERVICE"],
        "ports": [{"container_port": 80, "host_port": 8080}],
        "mounts": [{"type": "volume", "source": "data", "target": "/data"}],
    })  # fmt: skip
    assert container_rules.check(spec, OPERATOR) == []


def test_prefill_copies_the_container_but_not_its_images_defaults() -> None:
    inspect = {
        "Name": "/web",
        "Image": "sha256:abc",
        "Config": {"Image": "web:1", "Env": ["PATH=/bin", "A=1"], "Cmd": ["httpd"],
                   "Labels": {"suite": "x", "com.docker.compose.project": "p", "img": "1"}},
        "HostConfig": {"NetworkMode": "front", "RestartPolicy": {"Name": "always"},
                       "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}},
        "Mounts": [{"Type": "volume", "Name": "data", "Destination": "/data", "RW": True}],
        "NetworkSettings": {"Networks": {"back": {}, "front": {}}},
    }  # fmt: skip
    image = {"Env": ["PATH=/bin"], "Cmd": ["httpd"], "Labels": {"img": "1"}}
    out = prefill(inspect, image)
    assert out["name"] == "web-copy" and out["image"] == "web:1"
    assert out["env"] == ["A=1"] and out["cmd"] is None
    assert out["labels"] == {"suite": "x"}
    assert out["networks"] == ["front", "back"] and out["restart"] == "always"
    assert out["ports"] == [
        {"container_port": 80, "host_port": 8080, "host_ip": None, "protocol": "tcp"}
    ]
    assert out["mounts"] == [
        {"type": "volume", "source": "data", "target": "/data", "read_only": False}
    ]
    ContainerSpec.model_validate(out)  # the form's starting point is a valid spec


@pytest.mark.parametrize("network", ["host", "none", "container:abc"])
def test_a_namespace_is_not_a_network_name(network: str) -> None:
    with pytest.raises(ValueError, match="not a network name"):
        ContainerSpec.model_validate({"image": "web:1", "networks": [network]})


def _inspect(**host: object) -> dict[str, Any]:
    mounts = host.pop("Mounts", [])
    return {"Name": "/web", "Config": {"Image": "reg:5000/web:1"}, "HostConfig": host,
            "Mounts": mounts}  # fmt: skip


@pytest.mark.parametrize(
    ("host", "rule"),
    [
        ({"Privileged": True}, "privileged"),
        ({"NetworkMode": "host"}, "host-network"),
        ({"PidMode": "host"}, "host-pid"),
        ({"CapAdd": ["SYS_ADMIN"]}, "capability"),
        ({"Mounts": [{"Type": "bind", "Source": "/srv", "Destination": "/d"}]}, "host-mount"),
        (
            {"Mounts": [{"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/s"}]},
            "docker-socket",
        ),  # fmt: skip
    ],
)
def test_a_running_containers_dangerous_settings_are_found_from_its_inspect(
    host: dict[str, object], rule: str
) -> None:
    assert rule in {found for found, _ in container_rules.inspect_findings(_inspect(**host))}


def test_a_plain_container_s_inspect_has_no_findings() -> None:
    volume = {"Type": "volume", "Name": "data", "Destination": "/data"}
    plain = _inspect(NetworkMode="bridge", PidMode="", IpcMode="private", CapAdd=None,
                     Mounts=[volume])  # fmt: skip
    assert container_rules.inspect_findings(plain) == []
