"""``/registries``: credentials for private registries (password write-only, encrypted).

:func:`registry_auth_for` is what the fleet part calls before an image pull to get the
credentials, if any, for the registry an image reference names.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from fleetdeck.errors import ConflictError, InvalidInputError, NotFoundError
from fleetdeck.server.audit import audited
from fleetdeck.server.auth.deps import Admin, Viewer  # noqa: TC001 - FastAPI reads route annotations at runtime
from fleetdeck.server.store.models import Registry
from fleetdeck.wire.base import RequestBody

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fleetdeck.server.secrets import SecretBox
    from fleetdeck.server.store import Store

router = APIRouter(tags=["registries"])
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DOCKER_HUB = "docker.io"


class RegistryOut(BaseModel):
    """A registry as the API serves it (never with its password)."""

    name: str
    url: str
    username: str | None


class RegistryCreate(RequestBody):
    """``POST /registries``."""

    name: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=1, max_length=512)
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=4096)


def registry_host(url: str) -> str:
    """``https://reg.example:5000/v2/`` → ``reg.example:5000`` (what Docker calls a registry)."""
    host = url.strip().split("://", 1)[-1].split("/", 1)[0].lower()
    return {"index.docker.io": DOCKER_HUB, "registry-1.docker.io": DOCKER_HUB}.get(host, host)


def image_registry(image_ref: str) -> str:
    """The registry host of an image reference, by Docker's rule.

    The first path component is a registry if it has a ``.`` or ``:`` or is ``localhost``;
    otherwise the image is on Docker Hub.
    """
    first, sep, _ = image_ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return registry_host(first)
    return DOCKER_HUB


def _out(row: Registry) -> RegistryOut:
    return RegistryOut(name=row.name, url=row.url, username=row.username)


def _auth(row: Registry, box: SecretBox) -> dict[str, str] | None:
    if row.username is None:
        return None
    password = ""
    if row.password_encrypted is not None:
        password = box.open(row.password_encrypted, f"registry:{row.name}")
    return {"username": row.username, "password": password, "serveraddress": registry_host(row.url)}


async def registry_auth_for(app: FastAPI, image_ref: str) -> dict[str, str] | None:
    """Credentials for pulling ``image_ref``: ``{"username","password","serveraddress"}``.

    None when no registry with a username is configured for the image's registry host.
    """
    host = image_registry(image_ref)
    store: Store = app.state.store
    async with store.session() as session:
        rows = (await session.scalars(select(Registry).order_by(Registry.name))).all()
    for row in rows:
        if registry_host(row.url) == host:
            return _auth(row, app.state.secrets)
    return None


async def registry_auth_named(app: FastAPI, name: str) -> dict[str, str] | None:
    """Credentials of the registry called ``name`` (``POST /images/pull`` ``registry``).

    Raises:
        NotFoundError: No registry has that name.
    """
    store: Store = app.state.store
    async with store.session() as session:
        row = await session.scalar(select(Registry).where(Registry.name == name))
    if row is None:
        raise NotFoundError(f"no registry {name!r}")
    return _auth(row, app.state.secrets)


@router.get("/registries")
async def list_registries(request: Request, who: Viewer) -> list[RegistryOut]:
    """Every configured registry (without passwords)."""
    async with request.app.state.store.session() as session:
        rows = (await session.scalars(select(Registry).order_by(Registry.name))).all()
    return [_out(r) for r in rows]


@router.post("/registries", status_code=201)
async def add_registry(body: RegistryCreate, request: Request, who: Admin) -> RegistryOut:
    """Add a registry; its password is encrypted with the master key before it is stored."""
    detail = {"url": body.url, "username": body.username}
    async with audited(request, who.username, "registry.create", body.name, detail):
        if not NAME_RE.match(body.name):
            raise InvalidInputError(f"invalid registry name {body.name!r}")
        if not registry_host(body.url):
            raise InvalidInputError(f"no host in registry URL {body.url!r}")
        box: SecretBox = request.app.state.secrets
        sealed = None if body.password is None else box.seal(body.password, f"registry:{body.name}")
        async with request.app.state.store.transaction() as session:
            if await session.scalar(select(Registry.id).where(Registry.name == body.name)):
                raise ConflictError(f"registry {body.name!r} exists already")
            row = Registry(
                name=body.name,
                url=body.url.strip(),
                username=body.username,
                password_encrypted=sealed,
            )
            session.add(row)
    return _out(row)


@router.delete("/registries/{name}")
async def remove_registry(name: str, request: Request, who: Admin) -> dict[str, bool]:
    """Forget a registry and its credentials."""
    async with audited(request, who.username, "registry.delete", name):
        async with request.app.state.store.transaction() as session:
            row = await session.scalar(select(Registry).where(Registry.name == name))
            if row is None:
                raise NotFoundError(f"no registry {name!r}")
            await session.delete(row)
    return {"ok": True}
