"""Stacks from Git: repositories, a stack's Git source and its syncs, webhook deliveries.

A repository's token and SSH deploy key are write-only: no answer carries them (``auth``
says which one it has); its webhook secret only ``GET /repos/{name}/webhook`` (admin) gives.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from fleetdeck.wire.base import IsoDatetime, RequestBody


class RepoCreate(RequestBody):
    """``POST /repos``: a token (https) or an SSH deploy key (ssh), or neither (public/LAN)."""

    name: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=1, max_length=512)
    username: str | None = Field(default=None, max_length=255)
    token: str | None = Field(default=None, min_length=1, max_length=4096)
    ssh_key: str | None = Field(default=None, min_length=1, max_length=16384)
    poll_interval_s: int | None = Field(default=None, ge=1, le=86400)


class GitRepo(BaseModel):
    """A repository stacks are deployed from."""

    name: str
    url: str
    username: str | None = None
    #: ``none``, ``token`` or ``ssh_key`` (the secret itself is never returned).
    auth: str
    poll_interval_s: float
    #: Where its webhook is delivered (``POST``; relative to the server's URL).
    webhook_path: str
    #: Stacks whose source it is.
    stacks: list[str] = Field(default_factory=list)


class RepoWebhook(BaseModel):
    """``GET /repos/{name}/webhook``: what to paste into the forge."""

    repo: str
    url: str
    secret: str
    #: Which headers are verified.
    signatures: list[str]


class WebhookAccepted(BaseModel):
    """A verified delivery: acted on once (a replay is ``duplicate``, not acted on)."""

    accepted: bool
    duplicate: bool
    scheme: str


class SourceBody(RequestBody):
    """``PUT /stacks/{name}/source``: where the stack's files come from."""

    #: None: the stack's current environment (its source's, or its definition's).
    environment: str | None = Field(default=None, min_length=1, max_length=64)
    #: A repository's name, or its URL (an admin's new URL adds the repository).
    repo: str = Field(min_length=1, max_length=512)
    ref: str = Field(default="main", min_length=1, max_length=255)
    path: str = Field(default="", max_length=512)
    compose_files: list[str] = Field(default_factory=list, max_length=16)
    env_file: str | None = Field(default=None, max_length=512)
    submodules: bool = False


class SourceRevision(BaseModel):
    """The commit a revision was deployed from."""

    revision: int
    commit: str


class StackSource(BaseModel):
    """A stack's Git source and how its last sync went."""

    stack: str
    environment: str
    repo: str
    ref: str
    path: str
    compose_files: list[str]
    env_file: str | None = None
    submodules: bool
    #: The commit the stack's files were last taken from.
    commit: str | None = None
    #: ``pending``, ``synced`` or ``failed``.
    status: str
    message: str
    synced_at: IsoDatetime | None = None
    revisions: list[SourceRevision] = Field(default_factory=list)


class SyncResult(BaseModel):
    """What one sync of a stack did: ``deployed``, ``unchanged``, ``synced``, ``failed``."""

    stack: str
    repo: str
    ref: str
    commit: str | None = None
    result: str
    message: str
    revision: int | None = None
