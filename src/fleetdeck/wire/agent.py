"""Answers of agent routes that the server reads (not passed through to its own clients).

Docker's own documents (inspect, services, tasks…) stay JSON objects: the server hands them
on as the engine wrote them. These are the agent's own small answers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class CreatedId(BaseModel, extra="allow"):
    """What a create answers: the new object's id (container, image build, secret, config)."""

    id: str


class ImageDigest(BaseModel, extra="allow"):
    """The registry's manifest digest of an image (``POST .../images/digest``)."""

    digest: str | None = None


class FilesWritten(BaseModel, extra="allow"):
    """``PUT /v1/stacks/files/{stack}``: each key's path on the host."""

    paths: dict[str, str]


class StackProject(BaseModel, extra="allow"):
    """``GET /v1/stacks/projects/{project}``: the project's objects, as the engine shows them."""

    containers: list[dict[str, Any]] | None = None
    networks: list[dict[str, Any]] | None = None
    volumes: list[dict[str, Any]] | None = None
