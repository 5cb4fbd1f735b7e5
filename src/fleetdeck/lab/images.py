"""Seed images, built on the machine and pushed to the lab registry (nothing is pulled).

``base`` is a root filesystem made of Debian's static busybox (sh, httpd, wget, …) imported
as an image. ``web`` is the test web app (see webapp/), built on ``base`` in two versions so
that tests can roll an update from one to the other.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from importlib import resources
from typing import TYPE_CHECKING

from fleetdeck.lab.system import run

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab.state import NodeRecord

BUSYBOX = "/bin/busybox"


def base_rootfs_tar() -> bytes:
    """A tar of a minimal root filesystem: busybox and a symlink per applet."""
    busybox = shutil.which("busybox") or BUSYBOX
    applets = run([busybox, "--list"]).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for directory in ("bin", "etc", "tmp", "root", "proc", "sys", "dev", "www", "var"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        for name, text in {
            "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
            "etc/group": "root:x:0:\nnogroup:x:65534:\n",
            "etc/hosts": "127.0.0.1 localhost\n",
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _docker(node: NodeRecord) -> list[str]:
    return ["docker", "--host", node.docker_host]


def build_seed_images(node: NodeRecord, registry: str, workdir: Path) -> dict[str, str]:
    """Build ``base`` and ``web`` (v1 and v2) on ``node``, push them, return their references."""
    base = f"{registry}/fleetdeck/base:latest"
    web = f"{registry}/fleetdeck/web:1"
    web_v2 = f"{registry}/fleetdeck/web:2"
    docker = _docker(node)
    run(
        [*docker, "import", "--change", 'CMD ["/bin/sh"]', "-", base], input_bytes=base_rootfs_tar()
    )
    context = workdir / "webapp"
    shutil.rmtree(context, ignore_errors=True)
    source = resources.files("fleetdeck.lab").joinpath("webapp")
    with resources.as_file(source) as src:
        shutil.copytree(src, context)
    for cgi in (context / "www" / "cgi-bin").iterdir():
        cgi.chmod(0o755)
    for ref, version in ((web, "1"), (web_v2, "2")):
        run(
            [
                *docker,
                "build",
                "-q",
                "--build-arg",
                f"BASE={base}",
                "--build-arg",
                f"VERSION={version}",
                "-t",
                ref,
                str(context),
            ],
            timeout=300,
        )
    for ref in (base, web, web_v2):
        run([*docker, "push", ref], timeout=300)
    return {"base": base, "web": web, "web_v2": web_v2}
