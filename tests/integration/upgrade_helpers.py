"""The "next build" of the agent, for ``fleetdeck agents upgrade`` tests and the install bench.

A next build is this checkout's code with another version string: the wheelhouse's fleetdeck
wheel rewritten (its ``__version__``, METADATA, dist-info name and RECORD), and an image made
``FROM`` the lab's agent image with the same change in its virtualenv. A broken build is one
whose agent stops at once when it starts (``fleetdeck.agent.main`` raises when imported), the
way a bad release would.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import zipfile
from typing import TYPE_CHECKING

from fleetdeck import __version__
from fleetdeck.lab.system import run

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import NodeRecord

BROKEN_LINE = 'raise SystemExit("fleetdeck-agent: a broken build")\n'
SITE = "/opt/fleetdeck/lib/python3*/site-packages/fleetdeck"


def next_version(step: int = 1) -> str:
    """A version ``step`` builds after this checkout's (``0.2.0.dev0`` → ``0.2.0.dev1``)."""
    dev = re.fullmatch(r"(.*\.dev)(\d+)", __version__)
    if dev:
        return f"{dev[1]}{int(dev[2]) + step}"
    return f"{__version__}.post{step}"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _rewrite(name: str, data: bytes, old: str, new: str, *, broken: bool) -> bytes:
    if name == "fleetdeck/__init__.py":
        return data.replace(f'__version__ = "{old}"'.encode(), f'__version__ = "{new}"'.encode())
    if name.endswith(".dist-info/METADATA"):
        return data.replace(f"\nVersion: {old}\n".encode(), f"\nVersion: {new}\n".encode())
    if broken and name == "fleetdeck/agent/main.py":
        return data + b"\n" + BROKEN_LINE.encode()
    return data


def next_wheelhouse(house: Path, out: Path, version: str, *, broken: bool = False) -> Path:
    """A copy of ``house`` whose fleetdeck wheel is the build ``version`` (``broken``: fails)."""
    out.mkdir(parents=True, exist_ok=True)
    for wheel in house.glob("*.whl"):
        if not wheel.name.startswith("fleetdeck-"):
            shutil.copyfile(wheel, out / wheel.name)
    (ours,) = house.glob("fleetdeck-*.whl")
    old = ours.name.split("-")[1]
    target = out / ours.name.replace(f"fleetdeck-{old}-", f"fleetdeck-{version}-")
    old_info, new_info = f"fleetdeck-{old}.dist-info/", f"fleetdeck-{version}.dist-info/"
    records: list[str] = []
    with zipfile.ZipFile(ours) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            name = item.filename.replace(old_info, new_info, 1)
            if name == new_info + "RECORD":
                continue
            data = _rewrite(name, src.read(item), old, version, broken=broken)
            dst.writestr(name, data)
            records.append(_record_line(name, data))
        dst.writestr(new_info + "RECORD", "\n".join([*records, f"{new_info}RECORD,,"]) + "\n")
    return out


def next_image(
    node: NodeRecord, base: str, version: str, out: Path, *, broken: bool = False
) -> tuple[str, Path]:
    """Build ``fleetdeck/agent:VERSION`` FROM ``base`` on ``node``, save it to ``out``."""
    ref = f"fleetdeck/agent:{version}"
    steps = [
        f"sed -i 's/^__version__ = .*/__version__ = \"{version}\"/' {SITE}/__init__.py",
        f"rm -rf {SITE}/__pycache__/__init__*.pyc",
    ]
    if broken:
        steps.append(f"sed -i '$a {BROKEN_LINE.strip()}' {SITE}/agent/main.py")
    context = out.parent / f"context-{version}"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text(
        f"FROM {base}\nRUN {' && '.join(steps)}\n"
        f'LABEL org.opencontainers.image.version="{version}"\n'
    )
    docker = ["docker", "--host", node.docker_host]
    run([*docker, "build", "-q", "-t", ref, str(context)], timeout=300)
    run([*docker, "save", "-o", str(out), ref], timeout=300)
    return ref, out
