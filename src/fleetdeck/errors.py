"""The one error tree of fleetdeck.

Every error a user can see is a :class:`FleetdeckError`. Each kind says what went wrong in
terms that do not depend on the transport: the API maps a kind to its HTTP status in one
exception handler, the CLI maps it to its exit code in one entry point. Code never matches on
message text; it matches on the class.
"""

from __future__ import annotations

from typing import ClassVar


class FleetdeckError(Exception):
    """Root of every error fleetdeck reports to a user.

    Attributes:
        http_status: The HTTP status the API answers with for this kind.
        exit_code: The process exit code the CLI ends with for this kind.
        kind: A stable, machine-readable name of the kind (used in JSON error bodies).
    """

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    kind: ClassVar[str] = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidInputError(FleetdeckError):
    """The request or command line is malformed or asks for something impossible."""

    http_status = 422
    exit_code = 2
    kind = "invalid_input"


class PayloadTooLargeError(FleetdeckError):
    """A request body is larger than its route accepts (refused before it is read)."""

    http_status = 413
    exit_code = 2
    kind = "too_large"


class InvalidPathError(InvalidInputError):
    """A path segment sent to an agent holds ``/``, ``.`` or ``..`` (a traversal attempt).

    400, not 422: the request's path itself is malformed, whatever its body says. It is an
    :class:`InvalidInputError`, so code that handles bad input handles it too.
    """

    http_status = 400
    kind = "invalid_path"


class NotFoundError(FleetdeckError):
    """The named object (lab, node, environment, container…) does not exist."""

    http_status = 404
    exit_code = 4
    kind = "not_found"


class ConflictError(FleetdeckError):
    """The object exists already, or its current state forbids the change."""

    http_status = 409
    exit_code = 5
    kind = "conflict"


class AgentIncompatibleError(ConflictError):
    """An agent speaks a protocol older than this server works with (see fleetdeck.protocol)."""

    kind = "agent_incompatible"


class UnauthenticatedError(FleetdeckError):
    """No valid credentials were presented."""

    http_status = 401
    exit_code = 3
    kind = "unauthenticated"


class PermissionDeniedError(FleetdeckError):
    """Credentials are valid but their role or scope does not allow the action."""

    http_status = 403
    exit_code = 3
    kind = "permission_denied"


class NodeUnreachableError(FleetdeckError):
    """A host, agent or engine did not answer."""

    http_status = 503
    exit_code = 6
    kind = "node_unreachable"


class PrerequisiteMissingError(FleetdeckError):
    """The machine lacks something fleetdeck needs (root, a system tool, a Docker engine)."""

    http_status = 503
    exit_code = 7
    kind = "prerequisite_missing"


class ExternalCommandError(FleetdeckError):
    """A system command fleetdeck ran (ip, iptables, dockerd…) failed."""

    http_status = 502
    exit_code = 8
    kind = "external_command_failed"


class RateLimitedError(FleetdeckError):
    """Too many attempts (e.g. failed logins); try again after ``retry_after`` seconds."""

    http_status = 429
    exit_code = 9
    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class StoreBusyError(FleetdeckError):
    """The database is locked by another writer (e.g. a backup or a second process).

    Transient: the request changed nothing and can be sent again after ``retry_after``
    seconds (the API says so in a ``Retry-After`` header).
    """

    http_status = 503
    exit_code = 10
    kind = "store_busy"

    def __init__(self, message: str, *, retry_after: int = 5, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class MigrationError(FleetdeckError):
    """The store's schema could not be brought to the code's revision (nothing was changed)."""

    kind = "migration_failed"


class SecretDecryptionError(FleetdeckError):
    """A stored secret does not decrypt: the master key is not the one it was sealed with."""

    kind = "secret_undecryptable"


class BackupPassphraseError(FleetdeckError):
    """A backup repository does not open with the passphrase given."""

    http_status = 422
    exit_code = 2
    kind = "backup_passphrase_wrong"


class BackupDamagedError(FleetdeckError):
    """A backup is truncated, tampered with or otherwise unreadable: it is not used."""

    http_status = 422
    exit_code = 2
    kind = "backup_damaged"


def error_for_kind(kind: str, message: str, hint: str | None = None) -> FleetdeckError:
    """Rebuild the error of a given ``kind`` (as sent in a JSON error body by a peer).

    Used where fleetdeck talks to fleetdeck (server → agent, client → server), so an error
    keeps its kind, status and exit code across the hop.
    """
    stack: list[type[FleetdeckError]] = [FleetdeckError]
    while stack:
        cls = stack.pop()
        if cls.kind == kind:
            return cls(message, hint=hint)
        stack.extend(cls.__subclasses__())
    return FleetdeckError(message, hint=hint)
