"""A network namespace of its own for the test browser.

Chromium aborts requests in flight with "Failed to fetch" (``ERR_NETWORK_CHANGED``) whenever
an address or interface of its namespace changes, and bringing a lab up or down adds and
removes a bridge, its gateway address and veths in the root namespace: measured here, one
fetch in ~1,500 failed while a 2-node lab came up and went down, enough to fail a login. In
its own namespace the browser sees only its loopback and one veth whose root-side end is
made before it starts; it reaches every lab's gateway address (where the servers and test
sites listen) through that veth, as a local address of the root namespace.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.lab.network import netns_list, used_networks

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Where the browser namespace's /30 is picked (outside the lab pool, 10.213.0.0/16).
POOL = ipaddress.IPv4Network("10.214.0.0/16")
PREFIX = "fdb"
#: Held while a session picks its /30 and puts the address on its veth.
LOCK = Path("/run/fleetdeck-browser-netns.lock")


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def _remove(tag: str) -> None:
    _ip("netns", "delete", f"{PREFIX}{tag}", check=False)
    _ip("link", "delete", f"{PREFIX}h{tag}", check=False)


def _remove_stale() -> None:
    """Namespaces of test sessions that died without cleaning up (their pid is gone)."""
    for name in netns_list():
        match = re.fullmatch(rf"{PREFIX}(\d+)", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            _remove(match.group(1))


def _free_slot(tag: str) -> ipaddress.IPv4Network:
    """A /30 no address or route covers, searched from a slot derived from the session's pid.

    Linux lets two interfaces carry the same address, so two sessions (xdist workers) that
    picked the same /30 would both succeed and then lose each other's replies: the pick and
    the claim happen under one lock (see :func:`browser_namespace`).
    """
    used = used_networks()
    slots = list(POOL.subnets(new_prefix=30))
    start = int(tag) % len(slots)
    for offset in range(len(slots)):
        slot = slots[(start + offset) % len(slots)]
        if not any(slot.overlaps(net) for net in used):
            return slot
    raise RuntimeError(f"no free /30 left in {POOL} for the browser's namespace")


@contextlib.contextmanager
def browser_namespace(chromium: str, workdir: Path) -> Iterator[str]:
    """Make the namespace and yield an executable that starts ``chromium`` inside it."""
    _remove_stale()
    tag = str(os.getpid())
    name, host, peer = f"{PREFIX}{tag}", f"{PREFIX}h{tag}", f"{PREFIX}p{tag}"
    _remove(tag)
    try:
        with LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            slot = _free_slot(tag)
            outside, inside = (str(addr) for addr in list(slot.hosts())[:2])
            _ip("netns", "add", name)
            _ip("link", "add", host, "type", "veth", "peer", "name", peer)
            _ip("link", "set", peer, "netns", name)
            _ip("addr", "add", f"{outside}/30", "dev", host)
        _ip("link", "set", host, "up")
        _ip("-n", name, "addr", "add", f"{inside}/30", "dev", peer)
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "set", peer, "up")
        _ip("-n", name, "route", "add", "default", "via", outside)
        wrapper = workdir / "chromium-in-netns"
        # nsenter --net, not "ip netns exec", which would remount /sys; the pipes Playwright
        # talks over are inherited file descriptors, so they cross the namespace unchanged.
        wrapper.write_text(f'#!/bin/sh\nexec nsenter --net=/run/netns/{name} {chromium} "$@"\n')
        wrapper.chmod(0o755)
        yield str(wrapper)
    finally:
        _remove(tag)
