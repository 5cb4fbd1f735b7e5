"""``/install/``: what an agent host fetches to install the agent from the server.

The install script (``GET /install/agent.sh``) reads the manifest, downloads every file it
lists and checks each one's SHA-256 before installing; it asks ``POST /install/token-check``
whether its join token would be admitted before it changes anything on the host.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fleetdeck.wire.base import RequestBody

#: A wheel's file name as the manifest may list it (PEP 427 characters, no path parts).
WHEEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]{0,200}\.whl$")
#: Most files a distribution holds (a wheelhouse has ~30 wheels).
MAX_FILES = 500


class DistFile(BaseModel):
    """One file of the distribution and its digest (the install script checks both)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=WHEEL_NAME.pattern)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class DistImage(BaseModel):
    """The agent image tarball, if there is one (``docker load`` it)."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["fleetdeck-agent-image.tar"] = "fleetdeck-agent-image.tar"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class DistManifest(BaseModel):
    """``GET /install/manifest.json``: what the server serves for agent installs."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9.+\-]*$")
    files: list[DistFile] = Field(min_length=1, max_length=MAX_FILES)
    image: DistImage | None = None


class TokenCheck(RequestBody):
    """``POST /install/token-check``: would this join token be admitted now?"""

    join_token: str = Field(min_length=10, max_length=300)


class TokenStatus(BaseModel):
    """The answer for a usable token (an unusable one is 403 with the reason)."""

    environment: str
    expires_in_seconds: int
