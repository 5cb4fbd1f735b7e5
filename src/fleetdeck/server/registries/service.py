"""Registry credentials: names, hosts, sealing passwords, and the auth handed to an image pull.

A password is sealed with the master key (context ``registry:NAME``) before it is stored
and opened only for a pull; no route returns it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.store.models import Registry

if TYPE_CHECKING:
    from fleetdeck.server.registries.repository import RegistryRepository
    from fleetdeck.server.secrets import SecretBox

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DOCKER_HUB = "docker.io"


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


def _context(name: str) -> str:
    """What a registry's password is sealed with (a copy under another name won't open)."""
    return f"registry:{name}"


class RegistryService:
    """Registries and their credentials.

    Args:
        repo: Where registries are stored.
        secrets: Seals and opens the passwords.
    """

    def __init__(self, repo: RegistryRepository, secrets: SecretBox) -> None:
        self.repo = repo
        self._secrets = secrets

    async def registries(self) -> list[Registry]:
        """Every configured registry, by name."""
        return await self.repo.all()

    async def create(
        self, name: str, url: str, username: str | None, password: str | None
    ) -> Registry:
        """Add a registry; its password is sealed before it is stored."""
        if not NAME_RE.match(name):
            raise InvalidInputError(f"invalid registry name {name!r}")
        if not registry_host(url):
            raise InvalidInputError(f"no host in registry URL {url!r}")
        sealed = None if password is None else self._secrets.seal(password, _context(name))
        row = Registry(name=name, url=url.strip(), username=username, password_encrypted=sealed)
        return await self.repo.add(row)

    async def delete(self, name: str) -> None:
        """Forget a registry and its credentials."""
        await self.repo.delete(name)

    def _auth(self, row: Registry) -> dict[str, str] | None:
        if row.username is None:
            return None
        password = ""
        if row.password_encrypted is not None:
            password = self._secrets.open(row.password_encrypted, _context(row.name))
        return {
            "username": row.username,
            "password": password,
            "serveraddress": registry_host(row.url),
        }

    async def auth_for(self, image_ref: str) -> dict[str, str] | None:
        """Credentials for pulling ``image_ref``: ``{"username","password","serveraddress"}``.

        None when no registry with a username is configured for the image's registry host.
        """
        host = image_registry(image_ref)
        for row in await self.repo.all():
            if registry_host(row.url) == host:
                return self._auth(row)
        return None

    async def auth_named(self, name: str) -> dict[str, str] | None:
        """Credentials of the registry called ``name``.

        Raises:
            NotFoundError: No registry has that name.
        """
        return self._auth(await self.repo.get(name))
