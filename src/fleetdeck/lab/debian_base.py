"""A Debian root filesystem made with debootstrap and ``docker import``ed.

It is the lab's stand-in for an official base image (``python:3.11-slim-bookworm``,
``debian:bookworm``), which the lab cannot pull.

The rootfs comes from the machine's own Debian package mirror (the one apt uses), so nothing
is fetched from anywhere else. debootstrap takes ~45 s, so each package set's tarball is kept
in a cache under the lab state root and made once per machine; ``docker import`` of the cached
tarball takes a few seconds. The same repository files (``Dockerfile``) build on top of it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.errors import ExternalCommandError, PrerequisiteMissingError
from fleetdeck.lab.state import LabSettings
from fleetdeck.lab.system import require_root, run

if TYPE_CHECKING:
    from collections.abc import Sequence

SUITE = "bookworm"
#: What a ``python:3.11-slim``-like base holds: the interpreter, venv, TLS roots.
PYTHON_PACKAGES: tuple[str, ...] = ("python3", "python3-venv", "ca-certificates")
#: Trimmed from the rootfs: documentation and apt's package lists (the layers stay small).
_TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/lib/apt/lists",
    "var/cache/apt",
)


def apt_mirror() -> str:
    """The Debian mirror apt is configured with (deb822 ``URIs:`` or a one-line ``deb`` entry)."""
    candidates = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.name.endswith(".disabled-by-farm"):
            continue
        for match in re.finditer(r"^\s*(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.M):
            uri = match.group(1)
            if "security" not in uri and uri.startswith(("http://", "https://", "file:")):
                return uri
    raise PrerequisiteMissingError(
        "no Debian package mirror is configured for apt",
        hint="debootstrap makes the lab's base image from apt's mirror: add one to "
        "/etc/apt/sources.list",
    )


def cache_dir() -> Path:
    """Where rootfs tarballs are kept between labs (``FLEETDECK_LAB_STATE_ROOT``/.cache)."""
    return LabSettings().state_root / ".cache"


def rootfs_tarball(packages: Sequence[str] = PYTHON_PACKAGES) -> Path:
    """A tarball of a minimal Debian rootfs with ``packages``, made once and cached."""
    wanted = sorted(set(packages))
    key = hashlib.sha256(f"{SUITE}:{','.join(wanted)}".encode()).hexdigest()[:12]
    target = cache_dir() / f"debian-{SUITE}-{key}.tar"
    if target.exists():
        return target
    require_root()
    if shutil.which("debootstrap") is None:
        raise PrerequisiteMissingError(
            "debootstrap is missing: the lab makes its Debian base image with it",
            hint="install it with: apt-get install -y debootstrap",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="rootfs-") as tmp:
        root = Path(tmp) / "root"
        argv = ["debootstrap", "--variant=minbase"]
        if wanted:
            argv.append(f"--include={','.join(wanted)}")
        argv += [SUITE, str(root), apt_mirror()]
        result = run(argv, check=False, timeout=900)
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-1:]
            raise ExternalCommandError(
                f"debootstrap {SUITE} failed: {tail[0] if tail else 'no output'}"
            )
        for rel in _TRIM:
            shutil.rmtree(root / rel, ignore_errors=True)
        partial = Path(tmp) / "rootfs.tar"
        run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."], timeout=300)
        os.replace(partial, target)  # atomic: a killed build never leaves a half tarball
    return target


def import_base(docker: Sequence[str], ref: str, packages: Sequence[str] = PYTHON_PACKAGES) -> str:
    """``docker import`` the cached rootfs as ``ref`` through the ``docker`` command given.

    ``docker`` is the command prefix that reaches the engine (e.g. ``["docker", "--host", …]``).
    """
    tarball = rootfs_tarball(packages)
    run(
        [*docker, "import", "--change", 'CMD ["/bin/bash"]', str(tarball), ref],
        timeout=300,
    )
    return ref
