"""The volume backup helper image, built from files on the machine (nothing is pulled).

The lab's ``base`` root filesystem (static busybox: sh, find, grep; glibc, which GNU wget
brings) plus the host's ``restic`` binary, imported into a node's engine as
``fleetdeck/volume-backup:restic`` — the image the server's volume backups run on each node
(:data:`fleetdeck.server.volbackups.service.HELPER_IMAGE`). On real hosts any image with
``/bin/sh`` and ``restic`` on its PATH does, tagged with that name.
"""

from __future__ import annotations

import io
import shutil
import tarfile

from fleetdeck.errors import PrerequisiteMissingError
from fleetdeck.lab.images import base_rootfs_tar
from fleetdeck.lab.system import run

#: The reference the server asks for (kept equal to the server's ``HELPER_IMAGE``).
IMAGE = "fleetdeck/volume-backup:restic"


def rootfs_tar() -> bytes:
    """The helper's root filesystem: the lab base and ``usr/bin/restic``."""
    restic = shutil.which("restic")
    if restic is None:
        raise PrerequisiteMissingError("restic is not installed", hint="apt-get install restic")
    buf = io.BytesIO(base_rootfs_tar())
    with tarfile.open(fileobj=buf, mode="a") as tar:
        tar.add(restic, arcname="usr/bin/restic")
    return buf.getvalue()


def build(docker_host: str, image: str = IMAGE) -> str:
    """Import the helper image into the engine at ``docker_host``; its reference."""
    run(
        ["docker", "--host", docker_host, "import", "--change", 'CMD ["/bin/sh"]', "-", image],
        input_bytes=rootfs_tar(),
        timeout=300,
    )
    return image
