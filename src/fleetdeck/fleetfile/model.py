"""The fleet file's schema: pydantic models of every kind a fleet file may describe.

A fleet file (or each file of a fleet directory) is a mapping of kinds to lists of objects.
Every model forbids unknown keys, so a typo fails ``plan`` with its file and line. A field
left out of an object is not managed: ``plan`` never changes or clears it. Secrets (a
registry's password, a channel's Apprise URL) are given as references (``{env: NAME}`` or
``{file: PATH}``) so the file itself can live in Git; the JSON Schema published by
``fleetdeck schema`` is generated from these models (docs/fleet.schema.json).
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from fleetdeck.wire.autoscale import PolicyBody
from fleetdeck.wire.heal import HealPolicyBody

ManagedKind = Literal[
    "environments",
    "registries",
    "users",
    "channels",
    "rules",
    "stacks",
    "silences",
    "maintenance",
    "heal",
    "autoscale",
]
#: The kinds a fleet file may hold, in the order ``apply`` creates and updates them
#: (``managed`` prunes in the reverse order, so a channel outlives the rules that name it).
KINDS: tuple[str, ...] = get_args(ManagedKind)

Name = str
_NAME = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
Duration = float | str


class Strict(BaseModel):
    """A fleet-file object: unknown keys refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SecretRef(Strict):
    """A secret kept out of the fleet file: an environment variable or a file beside it.

    ``file`` is relative to the fleet file's directory and must stay inside it.
    """

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)
    file: str | None = Field(default=None, max_length=1024)

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret reference takes exactly one of env, file")
        return self


Secret = str | SecretRef


class EnvironmentSpec(Strict):
    """An environment (a Docker host or one Swarm): created empty, agents join it later."""

    name: Name = _NAME
    kind: Literal["agent", "local"] = "agent"
    docker_host: str | None = Field(default=None, max_length=1024)
    tags: list[str] = Field(default_factory=list, max_length=64)
    groups: list[str] = Field(default_factory=list, max_length=64)


class StackFileRef(Strict):
    """A stack file read from a path beside the fleet file (inside its directory)."""

    path: str = Field(min_length=1, max_length=1024)


class GitSource(Strict):
    """A stack's Git source: accepted and passed through to the Git feature, where it exists."""

    url: str = Field(min_length=1, max_length=2048)
    ref: str | None = Field(default=None, max_length=256)
    path: str | None = Field(default=None, max_length=1024)
    files: list[str] = Field(default_factory=list, max_length=32)
    env_file: str | None = Field(default=None, max_length=1024)
    repository: str | None = Field(default=None, max_length=64)


class StackSpec(Strict):
    """A Compose stack: its files inline (or by path beside the fleet file), or a Git source."""

    name: Name = _NAME
    environment: Name = _NAME
    #: File name -> its content (or ``{path: ...}``), in Compose's merge order.
    files: dict[str, str | StackFileRef] | None = Field(default=None, max_length=32)
    env_file: str | None = Field(default=None, max_length=256 * 1024)
    git: GitSource | None = None
    #: Stacks deployed before this one (a cycle is an error).
    depends_on: list[Name] = Field(default_factory=list, max_length=64)

    @model_validator(mode="after")
    def _one_source(self) -> StackSpec:
        if (self.files is None) == (self.git is None):
            raise ValueError("a stack takes exactly one of files, git")
        if self.files == {}:
            raise ValueError("a stack needs at least one file")
        return self


class RegistrySpec(Strict):
    """A private registry's credentials (the password is write-only: set on create)."""

    name: Name = _NAME
    url: str = Field(min_length=1, max_length=1024)
    username: str | None = Field(default=None, max_length=256)
    password: Secret | None = None


class RuleSpec(Strict):
    """An alert rule, with the same keys as ``POST /rules`` (durations as ``5m`` or seconds)."""

    name: Name = _NAME
    description: str | None = Field(default=None, max_length=2000)
    condition: str | None = Field(default=None, max_length=64)
    metric: str | None = Field(default=None, max_length=128)
    target: str | None = Field(default=None, max_length=64)
    operator: str | None = Field(default=None, max_length=8)
    threshold: float | None = None
    instance: str | None = Field(default=None, max_length=255)
    window: Duration | None = None
    for_: Duration | None = Field(default=None, alias="for")
    severity: str | None = Field(default=None, max_length=32)
    environments: list[Name] | None = Field(default=None, max_length=256)
    tags: list[str] | None = Field(default=None, max_length=64)
    stacks: list[Name] | None = Field(default=None, max_length=256)
    labels: list[str] | None = Field(default=None, max_length=64)
    channels: list[Name] | None = Field(default=None, max_length=64)
    repeat: Duration | None = None
    enabled: bool | None = None


class ChannelSpec(Strict):
    """A notification channel: an Apprise URL (a secret: give it as a reference)."""

    name: Name = _NAME
    url: Secret
    min_severity: str | None = Field(default=None, max_length=32)
    enabled: bool | None = None


class SilenceSpec(Strict):
    """A silence, known by its matchers; past ``ends_at`` it is over and plans nothing."""

    matchers: list[str] = Field(min_length=1, max_length=32)
    ends_at: AwareDatetime
    starts_at: AwareDatetime | None = None
    comment: str = Field(default="", max_length=2000)


class MaintenanceSpec(Strict):
    """A maintenance window, known by its environment and reason."""

    environment: Name = _NAME
    reason: str = Field(default="", max_length=2000)
    ends_at: AwareDatetime
    starts_at: AwareDatetime | None = None


class UserSpec(Strict):
    """A user and their role. Never a password: a new user is created with a random one."""

    username: Name = _NAME
    role: Literal["viewer", "operator", "admin"] | None = None
    disabled: bool | None = None


class HealPolicySpec(HealPolicyBody):
    """An auto-heal layer: the body of ``PUT /heal/policies/{target}`` and its target.

    The target is ``default``, ``STACK`` or ``STACK/SERVICE``.
    """

    target: str = Field(min_length=1, max_length=129, pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")


class AutoscaleSpec(PolicyBody):
    """An autoscaling policy: the body of ``PUT /autoscale/{scope}/{service}`` and its service.

    ``service`` is ``STACK/SERVICE`` (a managed stack) or ``ENV/SERVICE`` (a Swarm
    environment). The API replaces a policy whole: keys left out keep the values the server
    has (on create, the API's defaults).
    """

    service: str = Field(
        min_length=3,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$",
    )


class ManagedScope(Strict):
    """A managed kind limited to the objects whose key matches a glob (``ff-*``).

    Lets a fleet file own part of a kind (its own stacks) without pruning the rest.
    """

    kind: ManagedKind
    match: str = Field(default="*", min_length=1, max_length=128)


class FleetFile(Strict):
    """One fleet file. In a directory every ``*.yaml``/``*.yml`` file is one of these, merged."""

    version: Literal[1] = 1
    #: Kinds whose objects not in the fleet files are deleted (pruned) by ``apply``.
    managed: list[ManagedKind | ManagedScope] = Field(default_factory=list, max_length=64)
    environments: list[EnvironmentSpec] = Field(default_factory=list, max_length=1000)
    registries: list[RegistrySpec] = Field(default_factory=list, max_length=1000)
    users: list[UserSpec] = Field(default_factory=list, max_length=1000)
    channels: list[ChannelSpec] = Field(default_factory=list, max_length=1000)
    rules: list[RuleSpec] = Field(default_factory=list, max_length=1000)
    stacks: list[StackSpec] = Field(default_factory=list, max_length=1000)
    silences: list[SilenceSpec] = Field(default_factory=list, max_length=1000)
    maintenance: list[MaintenanceSpec] = Field(default_factory=list, max_length=1000)
    heal: list[HealPolicySpec] = Field(default_factory=list, max_length=1000)
    autoscale: list[AutoscaleSpec] = Field(default_factory=list, max_length=1000)


def json_schema() -> dict[str, object]:
    """The JSON Schema of a fleet file (what ``fleetdeck schema`` prints)."""
    schema = FleetFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://fleetdeck.dev/fleet.schema.json"
    return schema
