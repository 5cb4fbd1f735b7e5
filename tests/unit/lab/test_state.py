from __future__ import annotations

import io
import ipaddress
import os
import shutil
import tarfile

import pytest

from fleetdeck.errors import ConflictError, InvalidInputError, PrerequisiteMissingError
from fleetdeck.lab import network, system
from fleetdeck.lab.images import base_rootfs_tar
from fleetdeck.lab.state import LabNames, LabSettings, node_addresses, validate_lab_name


@pytest.mark.parametrize("name", ["lab", "t123-fleet", "a" * 20])
def test_valid_lab_names(name: str) -> None:
    assert validate_lab_name(name) == name


@pytest.mark.parametrize("name", ["", "Lab", "1lab", "a" * 21, "lab_x", "lab/x"])
def test_invalid_lab_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid lab name"):
        validate_lab_name(name)


def test_kernel_names_fit_the_interface_name_limit() -> None:
    names = LabNames("a" * 20, LabSettings())
    for ifname in (names.bridge, names.veth_host(20), names.veth_peer(20)):
        assert len(ifname) <= 15
    assert names.netns("node1") == f"fdl-{'a' * 20}-node1"


def test_different_labs_get_different_bridges() -> None:
    settings = LabSettings()
    assert LabNames("one", settings).bridge != LabNames("two", settings).bridge


def test_node_addresses_skip_the_gateway() -> None:
    gateway, ips = node_addresses(ipaddress.IPv4Network("10.9.8.0/24"), 3)
    assert gateway == "10.9.8.1"
    assert ips == ["10.9.8.11", "10.9.8.12", "10.9.8.13"]
    with pytest.raises(InvalidInputError):
        node_addresses(ipaddress.IPv4Network("10.9.8.0/28"), 8)


def test_allocation_skips_used_and_held_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = LabSettings(subnet_pool="10.50.0.0/23")
    names = LabNames("lab", settings)
    monkeypatch.setattr(network, "used_networks", lambda: [ipaddress.IPv4Network("10.50.0.0/24")])
    assert str(network.allocate_subnet(names, [])) == "10.50.1.0/24"
    with pytest.raises(ConflictError, match="no free /24"):
        network.allocate_subnet(names, ["10.50.1.0/24"])


def test_requested_range_in_use_is_a_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    names = LabNames("lab", LabSettings())
    monkeypatch.setattr(network, "used_networks", lambda: [ipaddress.IPv4Network("10.0.0.0/8")])
    with pytest.raises(ConflictError, match="already in use"):
        network.allocate_subnet(names, [], "10.1.2.0/24")
    with pytest.raises(InvalidInputError, match="invalid subnet"):
        network.allocate_subnet(names, [], "10.1.2.3/24")


def test_not_root_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(PrerequisiteMissingError, match="needs root"):
        system.require_root()


def test_missing_tools_name_their_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "ip" else "/x")
    with pytest.raises(PrerequisiteMissingError) as info:
        system.require_tools()
    assert "ip" in info.value.message
    assert info.value.hint == "install them with: apt-get install -y iproute2"


def test_base_rootfs_has_busybox_and_a_shell() -> None:
    with tarfile.open(fileobj=io.BytesIO(base_rootfs_tar())) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["bin/busybox"].isfile()
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["bin/httpd"].issym() and members["bin/wget"].issym()
    assert members["tmp"].mode == 0o1777
    # GNU wget (a client that resolves names and honours -T) with its loader and libraries.
    assert members["usr/bin/gnu-wget"].isfile()
    assert any(name.startswith(("lib64/ld-linux", "lib/ld-linux")) for name in members)
    assert any(name.endswith("/libc.so.6") for name in members)
    assert "hosts: files dns" in (tar_text(base_rootfs_tar(), "etc/nsswitch.conf"))


def tar_text(data: bytes, name: str) -> str:
    """One file's text from a tar."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read().decode()
