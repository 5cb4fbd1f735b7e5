"""The lab's network: a bridge in the root namespace and one namespace per node.

Each node gets a veth pair whose host side is a port of the lab's bridge and whose other side
is ``eth0`` inside the node's namespace. The bridge carries the gateway address (where the
registry, and later the fleetdeck server, listen). Nodes get no default route: nothing in a lab
can reach past the lab's own subnet, so an unqualified image name fails at once instead of
hanging on a Docker Hub lookup.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import TYPE_CHECKING

from fleetdeck.errors import ConflictError, InvalidInputError
from fleetdeck.lab.system import run

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fleetdeck.lab.state import LabNames


def used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network that an address or route of the root namespace already covers."""
    networks: list[ipaddress.IPv4Network] = []
    addrs = json.loads(run(["ip", "-j", "-4", "addr", "show"]).stdout or "[]")
    for link in addrs:
        for info in link.get("addr_info", []):
            iface = ipaddress.IPv4Interface(f"{info['local']}/{info['prefixlen']}")
            networks.append(iface.network)
    routes = json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
    for route in routes:
        dst = route.get("dst", "")
        if dst and dst != "default" and route.get("type", "unicast") == "unicast":
            try:
                networks.append(ipaddress.IPv4Network(dst, strict=False))
            except ValueError:
                continue
    return networks


def check_subnet_free(subnet: ipaddress.IPv4Network) -> None:
    """Raise :class:`ConflictError` if ``subnet`` overlaps an address or route in use."""
    for net in used_networks():
        if net.prefixlen > 0 and subnet.overlaps(net):
            raise ConflictError(
                f"address range {subnet} is already in use (overlaps {net})",
                hint="pick another with --subnet, or set FLEETDECK_LAB_SUBNET_POOL",
            )


def allocate_subnet(
    names: LabNames, taken: Iterable[str], requested: str | None = None
) -> ipaddress.IPv4Network:
    """Pick the lab's /24: the requested one, or a free one from the pool.

    The pool search starts at a slot derived from the lab's name, so a lab tends to get the
    same range each time, and skips ranges that other labs hold or the host already uses.
    """
    if requested:
        try:
            subnet = ipaddress.IPv4Network(requested, strict=True)
        except ValueError as exc:
            raise InvalidInputError(f"invalid subnet {requested!r}: {exc}") from exc
        if subnet.prefixlen > 26:
            raise InvalidInputError(f"subnet {subnet} is too small for a lab (use /26 or larger)")
        check_subnet_free(subnet)
        return subnet
    try:
        pool = ipaddress.IPv4Network(names.settings.subnet_pool, strict=True)
    except ValueError as exc:
        raise InvalidInputError(f"invalid FLEETDECK_LAB_SUBNET_POOL: {exc}") from exc
    slots = list(pool.subnets(new_prefix=24)) if pool.prefixlen < 24 else [pool]
    held = {ipaddress.IPv4Network(s) for s in taken}
    used = [n for n in used_networks() if n.prefixlen > 0]
    start = int(hashlib.sha256(names.name.encode()).hexdigest(), 16) % len(slots)
    for offset in range(len(slots)):
        candidate = slots[(start + offset) % len(slots)]
        if candidate in held or any(candidate.overlaps(n) for n in used):
            continue
        return candidate
    raise ConflictError(f"no free /24 left in the lab pool {pool}")


def link_exists(name: str) -> bool:
    """Whether a network interface of that name exists in the root namespace."""
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


def netns_list() -> list[str]:
    """Names of the network namespaces under /run/netns."""
    out = run(["ip", "-j", "netns", "list"], check=False).stdout.strip()
    return [entry["name"] for entry in json.loads(out)] if out else []


def create_bridge(names: LabNames, gateway: str, prefixlen: int) -> None:
    """Create the lab's bridge with the gateway address and let its nodes talk to each other."""
    run(["ip", "link", "add", names.bridge, "type", "bridge"])
    run(["ip", "addr", "add", f"{gateway}/{prefixlen}", "dev", names.bridge])
    run(["ip", "link", "set", names.bridge, "up"])
    allow_bridge_forwarding(names)


def allow_bridge_forwarding(names: LabNames) -> None:
    """Accept traffic between ports of the lab bridge in the FORWARD chain.

    A dockerd in the root namespace sets FORWARD's policy to DROP and turns on
    ``bridge-nf-call-iptables``, which would silently drop node-to-node traffic.
    """
    rule = [
        "FORWARD",
        "-i",
        names.bridge,
        "-o",
        names.bridge,
        "-m",
        "comment",
        "--comment",
        names.iptables_comment,
        "-j",
        "ACCEPT",
    ]
    if run(["iptables", "-w", "-C", *rule], check=False).returncode != 0:
        run(["iptables", "-w", "-I", *rule])


def remove_bridge_forwarding(lab_name: str) -> None:
    """Delete every iptables rule that carries this lab's comment (any bridge, any chain)."""
    comment = f"fleetdeck-lab:{lab_name}"
    listing = run(["iptables", "-w", "-S"], check=False).stdout.splitlines()
    for line in listing:
        if f'"{comment}"' in line or f" {comment} " in f"{line} ":
            if not line.startswith("-A "):
                continue
            run(["sh", "-c", f"iptables -w {line.replace('-A ', '-D ', 1)}"], check=False)


def create_node_netns(names: LabNames, index: int, node: str, ip: str, prefixlen: int) -> None:
    """Create the node's namespace and wire it to the bridge with its own address."""
    netns = names.netns(node)
    host, peer = names.veth_host(index), names.veth_peer(index)
    run(["ip", "netns", "add", netns])
    run(["ip", "link", "add", host, "type", "veth", "peer", "name", peer])
    run(["ip", "link", "set", host, "master", names.bridge])
    run(["ip", "link", "set", host, "up"])
    run(["ip", "link", "set", peer, "netns", netns])
    ns = ["ip", "-n", netns]
    run([*ns, "link", "set", peer, "name", "eth0"])
    run([*ns, "addr", "add", f"{ip}/{prefixlen}", "dev", "eth0"])
    run([*ns, "link", "set", "eth0", "up"])
    run([*ns, "link", "set", "lo", "up"])


def set_node_link(names: LabNames, index: int, up: bool) -> None:
    """Cut (``up=False``) or restore the node's only link to the rest of the lab."""
    run(["ip", "link", "set", names.veth_host(index), "up" if up else "down"])


def node_link_up(names: LabNames, index: int) -> bool:
    """Whether the node's link is administratively up."""
    out = run(["ip", "-j", "link", "show", "dev", names.veth_host(index)], check=False).stdout
    if not out.strip():
        return False
    flags: list[str] = json.loads(out)[0].get("flags", [])
    return "UP" in flags


def remove_network(names: LabNames) -> None:
    """Remove the lab's namespaces, veths, bridge and iptables rules; absent parts are fine."""
    for netns in netns_list():
        if netns.startswith(names.netns_prefix):
            run(["ip", "netns", "del", netns], check=False)
    links = json.loads(run(["ip", "-j", "link", "show"], check=False).stdout or "[]")
    prefixes = (f"fdv{names.short_id}n", f"fdp{names.short_id}n")
    for link in links:
        if str(link.get("ifname", "")).startswith(prefixes):
            run(["ip", "link", "del", link["ifname"]], check=False)
    if link_exists(names.bridge):
        run(["ip", "link", "del", names.bridge], check=False)
    remove_bridge_forwarding(names.name)
