"""Seed images, built on the machine and pushed to the lab registry (nothing is pulled).

``base`` is a root filesystem made of Debian's static busybox (sh, httpd, wget, …) imported
as an image, plus GNU wget from the host's Debian package with the shared libraries it links
(``gnu-wget``): static busybox's wget segfaults with ``-T`` and on name lookups, so load tests
and probes between containers need a client that resolves names and times out on its own.
``web`` is the test web app (see webapp/), built on ``base`` in two versions so that tests
can roll an update from one to the other.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.errors import PrerequisiteMissingError
from fleetdeck.lab.system import run

if TYPE_CHECKING:
    from fleetdeck.lab.state import NodeRecord

BUSYBOX = "/bin/busybox"
#: Where the image carries GNU wget (busybox keeps ``wget``: existing probes use it).
HTTP_CLIENT = "usr/bin/gnu-wget"
#: glibc resolves names from /etc/hosts, then DNS (Docker's embedded DNS on user networks).
NSSWITCH = "passwd: files\ngroup: files\nhosts: files dns\n"


def http_client_files(binary: str = "wget") -> dict[str, Path]:
    """GNU wget and every shared library it links, keyed by their path inside the image.

    ``ldd`` names the libraries (and the dynamic loader) at the paths the binary looks for
    them; each is stored there with the content of the file it points to.
    """
    found = shutil.which(binary)
    if found is None:
        raise PrerequisiteMissingError(
            "GNU wget is missing: the lab's images carry it as their HTTP client",
            hint="install it with: apt-get install -y wget",
        )
    files = {HTTP_CLIENT: Path(found).resolve()}
    for line in run(["ldd", found], check=False).stdout.splitlines():
        words = line.split()
        path = words[2] if len(words) > 2 and words[1] == "=>" else (words[0] if words else "")
        if path.startswith("/"):
            files[path.lstrip("/")] = Path(path).resolve()
    if len(files) == 1:
        raise PrerequisiteMissingError(
            f"{found} is not a dynamically linked GNU wget",
            hint="install Debian's wget package: apt-get install -y wget",
        )
    return files


def base_rootfs_tar() -> bytes:
    """A tar of a minimal root filesystem: busybox, a symlink per applet, GNU wget."""
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
        client = http_client_files()
        for directory in sorted({str(Path(p).parent) for p in client} - {"."}):
            for parent in [*reversed(Path(directory).parents[:-1]), Path(directory)]:
                if str(parent) not in tar.getnames():
                    info = tarfile.TarInfo(str(parent))
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
        for arcname, source in client.items():
            tar.add(str(source), arcname=arcname)
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
            "etc/nsswitch.conf": NSSWITCH,
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
