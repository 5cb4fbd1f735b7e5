"""The volume backup helper image, built from files on the machine (nothing is pulled).

The lab's ``base`` root filesystem (static busybox: sh, find, grep; glibc, which GNU wget
brings) plus the host's ``restic`` binary and its ``ssh`` client with every library it links
(for SFTP targets), imported into a node's engine as
``fleetdeck/volume-backup:restic`` — the image the server's volume backups run on each node
(:data:`fleetdeck.server.volbackups.service.HELPER_IMAGE`). On real hosts any image with
``/bin/sh`` and ``restic`` on its PATH (and ``ssh`` for SFTP targets) does, tagged with that
name.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

from fleetdeck.errors import PrerequisiteMissingError
from fleetdeck.lab.images import base_rootfs_tar
from fleetdeck.lab.system import run

#: The reference the server asks for (kept equal to the server's ``HELPER_IMAGE``).
IMAGE = "fleetdeck/volume-backup:restic"


def ssh_files() -> dict[str, Path]:
    """The host's ``ssh`` and each library ``ldd`` says it links, keyed by path in the image."""
    ssh = shutil.which("ssh")
    if ssh is None:
        raise PrerequisiteMissingError(
            "the ssh client is not installed", hint="apt-get install openssh-client"
        )
    files = {"usr/bin/ssh": Path(ssh).resolve()}
    for line in run(["ldd", ssh], check=False).stdout.splitlines():
        words = line.split()
        path = words[2] if len(words) > 2 and words[1] == "=>" else (words[0] if words else "")
        if path.startswith("/"):
            files[path.lstrip("/")] = Path(path).resolve()
    return files


def rootfs_tar() -> bytes:
    """The helper's root filesystem: the lab base, ``usr/bin/restic`` and ``usr/bin/ssh``."""
    restic = shutil.which("restic")
    if restic is None:
        raise PrerequisiteMissingError("restic is not installed", hint="apt-get install restic")
    buf = io.BytesIO(base_rootfs_tar())
    with tarfile.open(fileobj=buf, mode="r") as tar:
        present = set(tar.getnames())
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="a") as tar:
        tar.add(restic, arcname="usr/bin/restic")
        for arcname, source in sorted(ssh_files().items()):
            for parent in reversed(Path(arcname).parents[:-1]):
                if str(parent) not in present:
                    info = tarfile.TarInfo(str(parent))
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                    present.add(str(parent))
            if arcname not in present:
                tar.add(str(source), arcname=arcname)
                present.add(arcname)
    return buf.getvalue()


def build(docker_host: str, image: str = IMAGE) -> str:
    """Import the helper image into the engine at ``docker_host``; its reference."""
    run(
        ["docker", "--host", docker_host, "import", "--change", 'CMD ["/bin/sh"]', "-", image],
        input_bytes=rootfs_tar(),
        timeout=300,
    )
    return image
