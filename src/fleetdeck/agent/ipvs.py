"""Whether this host's kernel can give Swarm its routing mesh (IPVS).

Swarm's ingress routing mesh and service VIPs are IPVS load balancers. Where the kernel has
no IPVS (some minimal or container-optimised kernels, and the lab's), services still run but
ports published in ``ingress`` mode and VIP endpoints do not work. The agent reports what it
finds so the server can say so in a plan and publish in host mode with DNS round robin.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Present when the ip_vs module is loaded (or built in) for this network namespace.
_PROC = Path("/proc/net/ip_vs")
#: Present when the module is loaded, whatever the namespace.
_SYS = Path("/sys/module/ip_vs")


def _module_available(release: str) -> bool:
    base = Path("/lib/modules") / release
    for index in ("modules.builtin", "modules.dep"):
        try:
            text = (base / index).read_text(errors="replace")
        except OSError:
            continue
        if "/ip_vs.ko" in text:
            return True
    return False


def kernel_has_ipvs() -> bool:
    """True when IPVS is loaded, built in, or available as a module dockerd can load."""
    if _PROC.exists() or _SYS.exists():
        return True
    return _module_available(os.uname().release)
