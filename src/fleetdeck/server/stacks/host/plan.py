"""Planning on a plain host: which image each service runs, and what changes per service.

Pure decisions over what :class:`~fleetdeck.server.stacks.host.node.HostNode` observed, so the
same code answers ``stack diff`` and drives the apply (which re-observes first: an
interrupted deploy is picked up from the containers that exist, not from memory).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import FleetdeckError, InvalidInputError
from fleetdeck.server.stacks.hardening import image_key
from fleetdeck.server.stacks.host.spec import changed_keys
from fleetdeck.server.stacks.plan import Action, Change

if TYPE_CHECKING:
    from fleetdeck.compose import Project
    from fleetdeck.server.stacks.host.node import HostNode, Observed, ObservedContainer
    from fleetdeck.server.stacks.host.spec import ServiceSpec

RegistryAuth = Callable[[str], Awaitable[dict[str, str] | None]]
#: The reason for replacing a container another tool made (an adopted stack's, see
#: adoption.py): without fleetdeck's per-key hashes its config hash cannot be compared.
ADOPTED = "adopted, config hash unknown"


@dataclass(frozen=True)
class ImageChoice:
    """The image a service's containers are created from.

    Attributes:
        ref: What the container is created with (``repo@sha256:…``, an image id, or a tag
            to build).
        digest: What the revision records and rollbacks pin (``repo@sha256:…`` or an id).
        local_id: The image's id if it is on the node already (else it must be pulled).
        build: The image is built on the node during the apply.
        user: The image's own ``USER`` (``""``: none) when it is on the node; None when it
            could not be inspected (not pulled yet), for the ``root-user`` hardening rule.
    """

    ref: str
    digest: str
    local_id: str | None
    build: bool = False
    user: str | None = None


def _by_ref(ref: str, local: dict[str, Any] | None) -> ImageChoice:
    """``ref`` (a pinned ``repo@sha256:…``), on the node already when ``local`` was found."""
    return ImageChoice(
        ref=ref,
        digest=ref,
        local_id=local["id"] if local is not None else None,
        user=str(local.get("user") or "") if local is not None else None,
    )


def _by_id(local: dict[str, Any]) -> ImageChoice:
    """An image on the node, by its id (a local or earlier-built image)."""
    return _by_ref(str(local["id"]), local)


def repository(ref: str) -> str:
    """``registry/name`` of ``registry/name:tag`` or ``registry/name@sha256:…``."""
    if "@" in ref:
        return ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return ref.rsplit(":", 1)[0] if ":" in last else ref


async def resolve_image(
    node: HostNode,
    service: str,
    image: str,
    *,
    pinned: str | None,
    auth: RegistryAuth,
) -> ImageChoice:
    """Where ``service``'s image comes from; an image that exists nowhere is bad input.

    A pinned digest (rollback) wins; else the registry's current digest for the tag; else a
    local image of that name (built or loaded by hand on the node).
    """
    if pinned:
        return _by_ref(pinned, await node.image(pinned))
    registry_error: FleetdeckError | None = None
    try:
        digest = await node.registry_digest(image, await auth(image))
    except FleetdeckError as exc:
        registry_error = exc
    else:
        pinned_ref = f"{repository(image)}@{digest}"
        return _by_ref(pinned_ref, await node.image(pinned_ref))
    local = await node.image(image)
    if local is not None:
        return _by_id(local)
    reason = registry_error.message if registry_error else "not found"
    raise InvalidInputError(
        f"service {service!r}: image {image!r} does not exist on {node.where} "
        f"nor in its registry ({reason})",
        hint="check the image name and tag, or push the image first",
    )


async def resolve_images(
    node: HostNode,
    project: Project,
    *,
    pinned: dict[str, str],
    auth: RegistryAuth,
    stack: str,
) -> dict[str, ImageChoice]:
    """The image of every service, looked up in parallel."""
    names = sorted(project.services)

    async def one(name: str) -> ImageChoice:
        service = project.services[name]
        if service.build is not None:
            if name in pinned:
                # A rollback: the image that revision built, while the node still has it;
                # otherwise it is built again from the revision's own files.
                local = await node.image(pinned[name])
                if local is not None:
                    return _by_id(local)
            tag = service.image or f"{stack}-{name}"  # = hardening.image_key
            seen = _by_ref(tag, await node.image(tag))
            # built during the apply; the digest is the image's id once it exists
            return replace(seen, digest=seen.local_id or tag, local_id=None, build=True)
        assert service.image is not None  # noqa: S101 - the loader requires image or build
        return await resolve_image(node, name, service.image, pinned=pinned.get(name), auth=auth)

    choices = await asyncio.gather(*(one(name) for name in names))
    return dict(zip(names, choices, strict=True))


def image_users(project: Project, images: dict[str, ImageChoice]) -> dict[str, str]:
    """The ``USER`` of every image inspected on the node, by the image reference the file uses.

    Images not on the node yet (pulled during the apply) are left out: the hardening report
    says their user is unknown rather than guessing root.
    """
    users: dict[str, str] = {}
    for name, choice in images.items():
        if choice.user is not None:
            users[image_key(project, name)] = choice.user
    return users


def matches(container: ObservedContainer, spec: ServiceSpec, image: ImageChoice) -> bool:
    """Whether an existing container is what the spec and image ask for."""
    if container.config_hash != spec.config_hash:
        return False
    if image.build:
        return True  # only a build can tell; the apply rebuilds and compares ids
    return image.local_id is not None and container.image_id == image.local_id


def short(digest: str) -> str:
    """``sha256:0123456789ab`` of a long digest or reference, for people."""
    tail = digest.rsplit("@", 1)[-1]
    return tail[:19] if tail.startswith("sha256:") else tail[:12]


def is_current(c: ObservedContainer, spec: ServiceSpec, image: ImageChoice, job: bool) -> bool:
    """Matches and serves (or, for a one-shot job, finished with exit code 0)."""
    return matches(c, spec, image) and (c.running or (job and c.exit_code == 0))


def plan_service(
    spec: ServiceSpec, image: ImageChoice, containers: list[ObservedContainer], job: bool = False
) -> Change:
    """The change one service needs, with the reason a person reads."""
    before, after = len(containers), spec.replicas
    if not containers:
        return Change(spec.service, Action.create, f"{after} replica(s)", 0, after)
    current = [c for c in containers if is_current(c, spec, image, job)]
    if len(current) == len(containers):
        if before == after:
            return Change(spec.service, Action.unchanged, "up to date", before, after)
        return Change(spec.service, Action.scale, f"replicas {before} → {after}", before, after)
    outdated = [c for c in containers if c not in current]
    reasons: list[str] = []
    keys: set[str] = set()
    foreign = [c for c in outdated if not c.key_hashes]
    for c in outdated:
        if c.config_hash != spec.config_hash and c.key_hashes:
            keys.update(changed_keys(c.key_hashes, spec.key_hashes) or ["(unknown)"])
    if foreign:
        reasons.append(ADOPTED)
    if keys:
        reasons.append("config changed: " + ", ".join(sorted(keys)))
    old_images = {c.image_id for c in outdated if c.config_hash == spec.config_hash}
    if not keys and old_images and not image.build and image.local_id not in old_images:
        old = ", ".join(sorted(short(i) for i in old_images))
        reasons.append(f"image digest changed: {old} → {short(image.digest)}")
    stopped = [c.name for c in outdated if not c.running]
    if stopped and not reasons:
        reasons.append(f"not running: {', '.join(stopped)}")
    detail = {"changed_keys": sorted(keys), "outdated": [c.name for c in outdated]}
    return Change(spec.service, Action.recreate, "; ".join(reasons), before, after, detail)


def plan_orphans(observed: Observed, project: Project) -> list[Change]:
    """Services that run but are no longer in the project."""
    return [
        Change(name, Action.remove, "no longer in the stack", len(observed.of(name)), 0)
        for name in sorted(observed.services - set(project.services))
    ]


def check_ports(
    specs: dict[str, ServiceSpec], observed: Observed, in_use: dict[str, list[int]], where: str
) -> None:
    """Refuse host ports another process or container already holds on the node.

    Ports this stack's own containers publish now are not conflicts: they are replaced.
    """
    ours = {port for c in observed.containers for port in c.published}
    for name, spec in sorted(specs.items()):
        for port in spec.fixed_ports:
            number, _, proto = port.split(":")[-1].partition("/")
            first = int(number.split("-")[0])
            if f"{first}/{proto}" in ours:
                continue
            if first in in_use.get(proto, []):
                raise InvalidInputError(
                    f"service {name!r}: host port {first}/{proto} is already taken on {where}",
                    hint="pick another published port or stop what holds it",
                )
