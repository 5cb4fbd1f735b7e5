"""The stack routes' answers (``/api/v1/stacks…`` and ``/environments/{env}/stack-allowances``).

The server builds these answers as dicts (``server/stacks/listing.py``, ``service.py``,
``service_support.py``, ``api*.py``); the models say their shape. Some keys are present only
on some answers (an unmanaged stack's discovery details, a file's ``content`` or
``content_base64``, a failed validation's ``errors``): those fields have defaults and the
routes answer with ``response_model_exclude_unset``, so a key the server did not write is not
added. Compose documents and Docker's per-container details are open mappings
(``dict[str, Any]``), passed through whole.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Ok(BaseModel):
    """``{"ok": true}``: removing a stack or a variable."""

    ok: bool


class StackSummary(BaseModel):
    """One ``GET /stacks`` entry: a managed stack, or an unmanaged project found running.

    A managed entry has only the first eight keys; an unmanaged one (``managed`` false,
    ``revision`` and ``updated_at`` null) adds what discovery knows from its labels.
    """

    name: str
    environment: str
    kind: str
    managed: bool
    status: str
    #: How many services run.
    services: int
    revision: int | None
    updated_at: str | None
    #: A managed stack's drift state (see ``GET /stacks/{name}/drift``); absent for others.
    drift: str | None = None
    service_names: list[str] = []
    nodes: list[str] = []
    containers: int = 0
    made_by: str | None = None
    config_files: str | None = None
    working_dir: str | None = None


class StackFileOut(BaseModel):
    """A stored file: ``content`` for UTF-8 text, else ``content_base64`` (never both)."""

    name: str
    content: str | None = None
    content_base64: str | None = None
    size: int
    sha256: str


class StackVariable(BaseModel):
    """A stack variable; a secret's ``value`` is always null."""

    key: str
    secret: bool
    value: str | None


class StackDetail(BaseModel):
    """``GET|PUT /stacks/{name}``: a managed stack's definition and state."""

    name: str
    environment: str
    kind: str
    managed: bool
    files: list[StackFileOut]
    env_file: str | None
    revision: int | None
    status: str
    message: str | None
    variables: list[StackVariable]


class AdoptedStack(StackDetail):
    """``POST /stacks/{name}/adopt``: the stack now managed, and what its next deploy changes."""

    warnings: list[str]


class ValidationProblem(BaseModel):
    """Where a file is wrong (``file`` and ``line`` null when the loader does not say)."""

    file: str | None
    line: int | None
    message: str
    hint: str | None


class ValidateResult(BaseModel):
    """``POST /stacks/validate``: whether the files load, and what they define or what is wrong.

    ``ok`` comes with ``services``, ``warnings`` and ``project``; not ``ok`` with ``errors``.
    """

    ok: bool
    errors: list[ValidationProblem] = []
    services: list[str] = []
    warnings: list[str] = []
    #: The loaded Compose project, as a document.
    project: dict[str, Any] = {}


class PlannedChange(BaseModel):
    """One service's planned change (``detail``: the machine-readable part)."""

    service: str
    action: str
    reason: str
    replicas_before: int
    replicas_after: int
    detail: dict[str, Any]


class PlanFinding(BaseModel):
    """One hardening finding of a plan."""

    rule: str
    service: str
    message: str
    blocking: bool


class VariableSource(BaseModel):
    """A variable the files use and where its value comes from (never the value)."""

    name: str
    source: str
    services: list[str]


class StackDiff(BaseModel):
    """``POST /stacks/{name}/diff``: what a deploy would change."""

    changes: list[PlannedChange]
    findings: list[PlanFinding]
    notes: list[str]
    #: Image reference → the ``USER`` it sets; null when no image was inspected.
    image_users: dict[str, str] | None
    variables: list[VariableSource]


class ServiceState(BaseModel):
    """One ``GET /stacks/{name}/ps`` entry: a service as it runs."""

    service: str
    desired: int
    running: int
    healthy: int
    image: str
    image_ref: str
    #: Each replica as the applier reports it.
    containers: list[dict[str, Any]]


class RevisionSummary(BaseModel):
    """One ``GET /stacks/{name}/history`` entry."""

    revision: int
    time: str
    actor: str
    environment: str
    result: str
    message: str
    image_digests: dict[str, Any]
    strategy: str
    #: How many services the deploy changed (null: recorded before this was kept).
    changed: int | None
    changes: dict[str, Any] | None


class StackRevision(RevisionSummary):
    """``GET /stacks/{name}/revisions/{revision}``: a revision with its files."""

    files: list[StackFileOut]
    env_file: str | None
    variables: list[StackVariable]


class StackAllowances(BaseModel):
    """``GET|PUT /stacks/{name}/allowances``: dangerous rules allowed for it and its environment."""

    stack: str
    rules: list[str]
    environment: str | None
    environment_rules: list[str]
    dangerous: list[str]


class EnvironmentAllowances(BaseModel):
    """``GET|PUT /environments/{env}/stack-allowances``."""

    environment: str
    rules: list[str]
    dangerous: list[str]


class ScaledService(BaseModel):
    """``POST /stacks/{name}/services/{service}/scale``: the count it runs now."""

    stack: str
    service: str
    replicas: int
    #: The count before: the file's, or an earlier scale's.
    previous: int
    message: str
