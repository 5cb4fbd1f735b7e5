"""The agent distribution the server serves at ``/install/``: a wheelhouse and its manifest.

An agent host installs from the server alone (no internet): the operator puts a wheelhouse
(``scripts/wheelhouse DIR agent``) into the server's ``agent_dist_dir`` with
``fleetdeck server agent-dist --from DIR``, which copies the wheels, hashes them and writes
``manifest.json`` last (atomically), so a half-copied wheelhouse is never served. An agent
image tarball (``fleetdeck-agent-image.tar``, made with ``docker save``) may sit next to it
for hosts that run the agent as a container.

Layout of the directory::

    manifest.json                   {"version", "files": [{"name", "sha256", "size"}], "image"}
    wheels/NAME.whl                 every wheel the manifest lists, and nothing it does not
    fleetdeck-agent-image.tar       optional

Only names the manifest lists are ever served, and each must match :data:`WHEEL_NAME`, so a
request can never reach outside ``wheels/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from pydantic import ValidationError

from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.wire.install import MAX_FILES, WHEEL_NAME, DistFile, DistImage, DistManifest

MANIFEST = "manifest.json"
WHEELS = "wheels"
IMAGE_TARBALL = "fleetdeck-agent-image.tar"
MAX_MANIFEST_BYTES = 256 * 1024
_CHUNK = 1024 * 1024


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in chunks (wheels and image tarballs are not read whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _image_entry(path: Path) -> DistImage:
    return DistImage(sha256=sha256_file(path), size=path.stat().st_size)


class AgentDist:
    """The agent distribution directory: read the manifest, find a file, fill it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def manifest(self) -> DistManifest | None:
        """The manifest, or None when nothing was put there (install lines are then not shown).

        Raises:
            InvalidInputError: the manifest exists but is not one ``agent-dist`` writes.
        """
        path = self.directory / MANIFEST
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_MANIFEST_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from exc
        if len(data) > MAX_MANIFEST_BYTES:
            raise InvalidInputError(f"{path} is larger than {MAX_MANIFEST_BYTES} bytes")
        try:
            return DistManifest.model_validate_json(data)
        except ValidationError as exc:
            raise InvalidInputError(
                f"{path} is not an agent distribution manifest",
                hint="write it again with: fleetdeck server agent-dist --from WHEELHOUSE",
            ) from exc

    def require_manifest(self) -> DistManifest:
        """The manifest, or NotFoundError saying how to provide one."""
        manifest = self.manifest()
        if manifest is None:
            raise NotFoundError(
                "this server serves no agent distribution",
                hint="on the server: fleetdeck server agent-dist --from WHEELHOUSE "
                "(made with scripts/wheelhouse DIR agent)",
            )
        return manifest

    def wheel(self, name: str) -> Path:
        """The path of a wheel the manifest lists; NotFoundError for any other name."""
        if not WHEEL_NAME.match(name) or name not in {
            f.name for f in self.require_manifest().files
        }:
            raise NotFoundError(f"no wheel {name!r} in the agent distribution")
        path = self.directory / WHEELS / name
        if not path.is_file():
            raise NotFoundError(f"wheel {name!r} is listed but missing on the server")
        return path

    def image(self) -> Path | None:
        """The agent image tarball, if the operator put one there."""
        path = self.directory / IMAGE_TARBALL
        return path if path.is_file() else None

    def fill(self, wheelhouse: Path, image: Path | None = None) -> DistManifest:
        """Copy a wheelhouse (and an image tarball) in, then write the manifest atomically.

        The manifest's version is that of the wheelhouse's fleetdeck wheel (what the script
        installs, ``fleetdeck==VERSION``), which need not be the server's own.

        Raises:
            InvalidInputError: ``wheelhouse`` holds no fleetdeck wheel, a badly named file,
                or too many files.
        """
        wheels = sorted(wheelhouse.glob("*.whl"))
        ours = [w.name for w in wheels if w.name.startswith("fleetdeck-")]
        if len(ours) != 1:
            raise InvalidInputError(
                f"{wheelhouse} holds {'no' if not ours else 'more than one'} fleetdeck wheel",
                hint="make one with: scripts/wheelhouse DIR agent",
            )
        version = ours[0].split("-")[1]
        if len(wheels) > MAX_FILES:
            raise InvalidInputError(f"{wheelhouse} holds more than {MAX_FILES} wheels")
        bad = [w.name for w in wheels if not WHEEL_NAME.match(w.name)]
        if bad:
            raise InvalidInputError(f"unexpected wheel file names in {wheelhouse}: {bad[:3]}")
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.directory, prefix=".wheels-"))
        try:
            files = []
            for wheel in wheels:
                shutil.copyfile(wheel, staging / wheel.name)
                files.append(
                    DistFile(
                        name=wheel.name,
                        sha256=sha256_file(staging / wheel.name),
                        size=(staging / wheel.name).stat().st_size,
                    )
                )
            if image is not None:
                partial_image = self.directory / f".{IMAGE_TARBALL}.part"
                shutil.copyfile(image, partial_image)
                os.replace(partial_image, self.directory / IMAGE_TARBALL)
            tarball = self.image()
            manifest = DistManifest(
                version=version, files=files, image=_image_entry(tarball) if tarball else None
            )
            old = self.directory / WHEELS
            retired = self.directory / f".retired-{staging.name}"
            if old.exists():
                os.replace(old, retired)
            os.replace(staging, old)
            partial = self.directory / f".{MANIFEST}.part"
            partial.write_text(manifest.model_dump_json(indent=2) + "\n")
            os.replace(partial, self.directory / MANIFEST)
            shutil.rmtree(retired, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return manifest
