"""fleetdeck's own images (server and agent) built in the lab from the repository's files.

The lab cannot pull ``python:3.11-slim-bookworm``, so it builds the same ``Dockerfile`` with
``scripts/build-images --base`` on top of the debootstrap-made stand-in
(:func:`fleetdeck.lab.debian_base.import_base`), on one node's engine, and pushes both images
to the lab registry under fully qualified references (``ADDR:PORT/fleetdeck/agent:VERSION``)
that every node pulls from.

Building takes about 80 s on this machine (two virtualenvs installed from wheelhouses), so the
built pair is kept as a ``docker save`` tarball in the lab cache, keyed by a digest of
everything that goes into it (the package sources, the lock file, the Dockerfile, the base's
package set): a test session builds once, and later sessions and labs with the same sources
only ``docker load`` it (a few seconds). A change to any of those files is a new key.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck import __version__
from fleetdeck.errors import PrerequisiteMissingError
from fleetdeck.lab import debian_base
from fleetdeck.lab.system import run

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from fleetdeck.lab.state import NodeRecord

SERVER_REPO = "fleetdeck/server"
AGENT_REPO = "fleetdeck/agent"
#: The stand-in base's repository in the lab registry.
BASE_REPO = "fleetdeck/python-base"
#: What the image digest covers, relative to the repository root (directories recursively).
SOURCES = (
    "Dockerfile",
    ".dockerignore",
    "pyproject.toml",
    "uv.lock",
    "hatch_build.py",
    "scripts/wheelhouse",
    "scripts/build-images",
    "src/fleetdeck",
)
BUILD_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class ProductImages:
    """Fully qualified references of the pushed images."""

    server: str
    agent: str


def repo_root() -> Path:
    """The checkout the images are built from (they need its Dockerfile and scripts)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "Dockerfile").is_file() or not (root / "scripts" / "build-images").is_file():
        raise PrerequisiteMissingError(
            "fleetdeck's images are built from a checkout of its repository",
            hint="run the lab from a clone (the installed package has no Dockerfile)",
        )
    return root


def _files(root: Path) -> Iterator[Path]:
    for rel in SOURCES:
        path = root / rel
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            )
        elif path.is_file():
            yield path


def source_digest(root: Path) -> str:
    """A digest of every file the images are made of, and of the base's package set."""
    digest = hashlib.sha256(",".join(sorted(debian_base.PYTHON_PACKAGES)).encode())
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def local_refs() -> tuple[str, str]:
    """The images' names as ``scripts/build-images`` tags them without a registry."""
    return f"{SERVER_REPO}:{__version__}", f"{AGENT_REPO}:{__version__}"


def _build(docker: list[str], node: NodeRecord, registry: str, root: Path) -> None:
    base = debian_base.import_base(docker, f"{registry}/{BASE_REPO}:3.11-bookworm")
    run(
        [str(root / "scripts" / "build-images"), "--base", base, "--docker-host", node.docker_host],
        timeout=BUILD_TIMEOUT_S,
    )


def _save(docker: list[str], target: Path) -> None:
    """``docker save`` both images to ``target`` (atomically) and drop older tarballs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".images-", suffix=".tar")
    os.close(fd)
    try:
        run([*docker, "save", "-o", partial, *local_refs()], timeout=300)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    for old in target.parent.glob("fleetdeck-images-*.tar"):
        if old != target:
            old.unlink(missing_ok=True)


def pull_everywhere(nodes: Sequence[NodeRecord], ref: str) -> None:
    """Pull ``ref`` onto every node at once (the agents' ``docker run`` then starts at once)."""

    def pull(node: NodeRecord) -> None:
        run(["docker", "--host", node.docker_host, "pull", "-q", ref], timeout=300)

    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        list(pool.map(pull, nodes))


def build_product_images(node: NodeRecord, registry: str) -> ProductImages:
    """Build (or load from the cache) both images on ``node`` and push them to ``registry``."""
    root = repo_root()
    docker = ["docker", "--host", node.docker_host]
    cached = debian_base.cache_dir() / f"fleetdeck-images-{source_digest(root)}.tar"
    if cached.exists():
        run([*docker, "load", "-q", "-i", str(cached)], timeout=300)
    else:
        _build(docker, node, registry, root)
        _save(docker, cached)
    refs = ProductImages(
        server=f"{registry}/{SERVER_REPO}:{__version__}",
        agent=f"{registry}/{AGENT_REPO}:{__version__}",
    )
    for local, qualified in zip(local_refs(), (refs.server, refs.agent), strict=True):
        run([*docker, "tag", local, qualified])
        run([*docker, "push", qualified], timeout=300)
    return refs
