"""Image references as a registry sees them: host, repository, tag (Docker's rules).

``web:1`` is ``docker.io/library/web:1``; ``10.0.0.1:5000/fleetdeck/web:1`` is on the
registry ``10.0.0.1:5000``. A reference already pinned to a digest (``repo:tag@sha256:…``)
keeps its tag for the check: the watcher asks what the *tag* points at now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fleetdeck.errors import InvalidInputError

DOCKER_HUB = "docker.io"
#: Where Docker Hub's registry API answers.
DOCKER_HUB_API = "registry-1.docker.io"
_REPO_RE = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_REFERENCE = 512


@dataclass(frozen=True, order=True)
class ImageRef:
    """One ``registry/repository:tag`` the watcher checks."""

    registry: str
    repository: str
    tag: str

    @property
    def api_host(self) -> str:
        """The host the registry API answers on."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        """``registry/repository:tag`` (fully qualified, the cache key)."""
        return f"{self.registry}/{self.repository}:{self.tag}"

    def pinned(self, digest: str) -> str:
        """``registry/repository@digest`` as a deploy pins it (Docker Hub's short form)."""
        if self.registry == DOCKER_HUB:
            repo = self.repository.removeprefix("library/")
            return f"{repo}@{digest}"
        return f"{self.registry}/{self.repository}@{digest}"


def is_digest(value: str) -> bool:
    """Whether ``value`` is a ``sha256:`` digest."""
    return bool(_DIGEST_RE.match(value))


def parse_reference(image: str) -> tuple[ImageRef, str | None]:
    """``image`` as (reference, pinned digest or None).

    Raises:
        InvalidInputError: Not an image reference (or one with no tag to follow: a bare
            ``repo@sha256:…`` is fixed, there is nothing to update).
    """
    text = image.strip()
    if not text or len(text) > MAX_REFERENCE:
        raise InvalidInputError(f"not an image reference: {image[:80]!r}")
    name, _, digest = text.partition("@")
    if digest and not is_digest(digest):
        raise InvalidInputError(f"bad digest in image reference {image!r}")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first.lower(), rest
    else:
        registry, path = DOCKER_HUB, name
    if registry in ("index.docker.io", DOCKER_HUB_API):
        registry = DOCKER_HUB
    last = path.rsplit("/", 1)[-1]
    tag = "latest"
    if ":" in last:
        path, _, tag = path.rpartition(":")
    elif digest:
        raise InvalidInputError(
            f"image {image!r} is pinned to a digest and names no tag: nothing to follow"
        )
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not _REPO_RE.match(path) or not _TAG_RE.match(tag):
        raise InvalidInputError(f"not an image reference: {image!r}")
    return ImageRef(registry, path, tag), digest or None
