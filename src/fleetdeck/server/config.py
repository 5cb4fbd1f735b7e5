"""The server's settings, read once at start-up.

Precedence, highest first: command-line flags (passed to :meth:`ServerSettings.load` as
overrides), ``FLEETDECK_*`` environment variables, then an optional YAML or JSON file named by
``--config`` or ``FLEETDECK_CONFIG``. Secrets are :class:`pydantic.SecretStr` so they never
end up in logs or in ``--print-config`` output.
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from fleetdeck import safeyaml
from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.server.auth.origin import normalize_origin
from fleetdeck.server.forwarded import parse_networks

DEFAULT_DATA_DIR = Path("/var/lib/fleetdeck/server")
MASK = "********"

#: The config file of the :meth:`ServerSettings.load` call in progress (sources are built by
#: a classmethod, so this is how the path reaches them without global state outliving a load).
_config_file: ContextVar[Path | None] = ContextVar("fleetdeck_server_config_file", default=None)


class _BoundedYamlSource(YamlConfigSettingsSource):
    """pydantic-settings' YAML source, parsing within :mod:`fleetdeck.safeyaml`'s limits."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = safeyaml.load_file(Path(file_path), what="config file")
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise InvalidInputError(f"config file {file_path}: the top level must be a mapping")
        return data


def split_host_port(listen: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (or ``[V6]:PORT``) into its parts, or raise ValueError."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"listen must be HOST:PORT, got {listen!r}")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in {listen!r}")
    return host.strip("[]"), port


class ServerSettings(BaseSettings):
    """Everything ``fleetdeck server`` can be told.

    Attributes:
        data_dir: Where the database, CA, TLS files and master key live.
        listen: ``HOST:PORT`` to serve HTTPS (or HTTP with ``tls=False``) on.
        tls: Serve HTTPS. Off only behind a TLS-terminating proxy or in tests.
        tls_cert: Operator-provided certificate for HTTPS (else one from our CA).
        tls_key: Key of ``tls_cert``.
        public_hosts: Extra DNS names or IPs the server is reached by (certificate SANs).
        admin_password: Password of the ``admin`` account created on first start.
        admin_password_file: A file holding that password instead (so the server's process
            environment, which ``/proc/PID/environ`` shows, carries only a path).
        database_url: SQLAlchemy URL; default a SQLite file in ``data_dir``.
        db_busy_timeout_s: How long a SQLite statement waits for a lock another process
            holds before the API answers 503 with ``Retry-After``.
        session_ttl_hours: How long a login session lasts.
        join_token_ttl_minutes: How long an agent join token stays valid.
        login_max_failures: Failed logins per username and client IP per minute before 429.
        login_max_failures_per_address: Failed logins per client IP per minute, whatever
            the usernames, before 429 (guessing across many accounts from one address).
        trusted_origins: Origins (``https://fleet.example``) besides the server's own whose
            pages may send cookie-authenticated changes: the public URL when a reverse proxy
            rewrites the Host header or the scheme.
        forwarded_allow_ips: Addresses or CIDR ranges of reverse proxies whose
            ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed (see
            :mod:`fleetdeck.server.forwarded`). Empty: none, the client address is the TCP
            peer's (the audit log records it, login throttling counts by it).
        public_url: The URL users reach the server at through a reverse proxy
            (``https://fleet.example``, no path): its origin may send cookie-authenticated
            changes, and the server names it where it prints its address for people.
        agent_url: The URL agents reach the server at, when it is not the one a request came
            to: behind a TLS-terminating proxy, the server's own ``https://HOST:8443``
            (agents check the server's own certificate, which the proxy does not present).
            Used in the agent commands ``env add`` prints. Default: the request's URL.
        master_key: Base64 of 32 bytes encrypting secrets at rest (else ``data_dir/master.key``).
        metrics_raw_retention_hours: How long raw metrics samples are kept.
        logs_retention_days: How long collected log lines are kept (``logs.db``).
        logs_max_mb: Size bound of ``logs.db``; the oldest lines go first beyond it.
        logs_prune_interval_s: Seconds between log retention runs.
        metrics_minute_retention_days: How long 1-minute rollups are kept.
        metrics_hour_retention_days: How long 1-hour rollups are kept.
        metrics_rollup_interval_seconds: How often metrics are rolled up and pruned.
        stacks_blocking_rules: Hardening rules that block a stack deploy instead of warning
            (``privileged,docker-socket,…``; see docs/stacks.md).
        alerts_evaluation_interval_s: Longest gap between two alert evaluations (changes in
            the inventory and new samples also wake the evaluator).
        alerts_repeat_interval_minutes: Default time before a still-firing alert is sent again.
        alerts_delivery_timeout_s: Longest one notification attempt may take.
        alerts_delivery_attempts: Attempts per notification before it is recorded as failed.
        alerts_delivery_backoff_s: Wait before the first retry (doubled on each retry).
        alerts_cpu_percent: Built-in rule threshold: host CPU %.
        alerts_memory_percent: Built-in rule threshold: host memory %.
        alerts_disk_percent: Built-in rule threshold: filesystem space used %.
        alerts_threshold_for_minutes: How long a built-in threshold must hold before it fires.
        alerts_restart_loop_count: Built-in restart loop rule: restarts (N) ...
        alerts_restart_loop_minutes: ... within this many minutes (M).
        alerts_history_days: How long resolved alerts and delivery history are kept.
        agent_dist_dir: The agent distribution served at ``/install/`` (wheelhouse,
            manifest, optional image tarball; default ``data_dir/agent-dist``).
        backup_passphrase: The passphrase server backups are encrypted with (scheduled ones
            and any ``backup create`` that sends none); ``FLEETDECK_BACKUP_PASSPHRASE``.
        backup_passphrase_file: A file holding that passphrase instead.
        autoscale_sync_s: Seconds between two syncs of the autoscaler (HPA's 15 s).
        autoscale_prometheus_url: The Prometheus that ``--prometheus QUERY`` targets are
            evaluated against (``http://prom:9090``); none: such policies are refused.
        updates_interval_s: Seconds between two rounds of the image-update watcher
            (± 10 % jitter; docs/updates.md).
        updates_registry_budget: Requests per minute the watcher sends one registry at most.
        updates_insecure_registries: Registries (``HOST:PORT``) the watcher asks over plain
            HTTP, as dockerd's ``--insecure-registry`` (a registry whose entry has an
            ``http://`` URL is too).
        gitops_poll_interval_s: Default seconds between two polls of a Git repository
            (``git ls-remote``; ±10 % jitter); a repository's own ``poll_interval_s`` wins.
    """

    model_config = SettingsConfigDict(
        env_prefix="FLEETDECK_", extra="forbid", validate_default=True
    )

    data_dir: Path = DEFAULT_DATA_DIR
    listen: str = "0.0.0.0:8443"  # noqa: S104 - a server listens on every interface by default
    tls: bool = True
    tls_cert: Path | None = None
    tls_key: Path | None = None
    public_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admin_password: SecretStr | None = None
    admin_password_file: Path | None = None
    database_url: str | None = None
    db_busy_timeout_s: float = Field(default=10, ge=0, le=600)
    session_ttl_hours: float = Field(default=12, gt=0)
    join_token_ttl_minutes: float = Field(default=60, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    trusted_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    public_url: str | None = None
    agent_url: str | None = None
    master_key: SecretStr | None = None
    metrics_raw_retention_hours: float = Field(default=24, gt=0)
    logs_retention_days: float = Field(default=7, gt=0)
    logs_max_mb: float = Field(default=1024, gt=0)
    logs_prune_interval_s: float = Field(default=60, ge=1)
    metrics_minute_retention_days: float = Field(default=14, gt=0)
    metrics_hour_retention_days: float = Field(default=400, gt=0)
    metrics_rollup_interval_seconds: float = Field(default=60, ge=1, le=3600)
    stacks_blocking_rules: Annotated[list[str], NoDecode] = Field(default_factory=list)
    alerts_evaluation_interval_s: float = Field(default=15, gt=0)
    alerts_repeat_interval_minutes: float = Field(default=240, gt=0)
    alerts_delivery_timeout_s: float = Field(default=20, gt=0)
    alerts_delivery_attempts: int = Field(default=5, ge=1)
    alerts_delivery_backoff_s: float = Field(default=5, gt=0)
    alerts_cpu_percent: float = Field(default=90, gt=0)
    alerts_memory_percent: float = Field(default=90, gt=0)
    alerts_disk_percent: float = Field(default=90, gt=0)
    alerts_threshold_for_minutes: float = Field(default=5, ge=0)
    alerts_restart_loop_count: int = Field(default=3, ge=1)
    alerts_restart_loop_minutes: float = Field(default=10, gt=0)
    alerts_history_days: float = Field(default=7, gt=0)
    agent_dist_dir: Path | None = None
    backup_passphrase: SecretStr | None = None
    backup_passphrase_file: Path | None = None
    autoscale_sync_s: float = Field(default=15.0, ge=1, le=600)
    autoscale_prometheus_url: str | None = None
    updates_interval_s: float = Field(default=3600.0, ge=10, le=7 * 86400)
    updates_registry_budget: int = Field(default=60, ge=1, le=10000)
    updates_insecure_registries: Annotated[list[str], NoDecode] = Field(default_factory=list)
    gitops_poll_interval_s: float = Field(default=60.0, ge=1, le=86400)

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        split_host_port(value)
        return value

    @field_validator("admin_password")
    @classmethod
    def _check_admin_password(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here so a bad value stops the start with a one-line error.
        if value is not None and len(value.get_secret_value()) < 8:
            raise ValueError("the admin password has at least 8 characters")
        return value

    @field_validator("trusted_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if normalize_origin(v) is None]
        if bad:
            raise ValueError(f"not an origin (scheme://host[:port]): {', '.join(bad)}")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("public_url", "agent_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if normalize_origin(value) is None:
            raise ValueError(f"not a URL of the form https://host[:port]: {value!r}")
        return value

    @field_validator(
        "public_hosts",
        "stacks_blocking_rules",
        "trusted_origins",
        "forwarded_allow_ips",
        "updates_insecure_registries",
        mode="before",
    )
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        # FLEETDECK_PUBLIC_HOSTS=a.example,10.0.0.5 is friendlier than a JSON list in env
        # (the same for FLEETDECK_STACKS_BLOCKING_RULES=privileged,docker-socket).
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then environment, then the config file (YAML is a superset of JSON)."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file.get()
        if path is not None:
            sources.append(_BoundedYamlSource(settings_cls, yaml_file=path))
        return tuple(sources)

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> ServerSettings:
        """Read settings; ``overrides`` are the flags given (``None`` values are ignored).

        Raises:
            NotFoundError: The config file does not exist.
            InvalidInputError: A value is invalid (the message names the setting).
        """
        if config_file is None and os.environ.get("FLEETDECK_CONFIG"):
            config_file = Path(os.environ["FLEETDECK_CONFIG"])
        if config_file is not None and not config_file.is_file():
            raise NotFoundError(f"config file {config_file} does not exist")
        token = _config_file.set(config_file)
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
                for e in exc.errors()
            )
            raise InvalidInputError(f"invalid server settings: {problems}") from exc
        except SettingsError as exc:
            raise InvalidInputError(f"invalid server settings: {exc}") from exc
        finally:
            _config_file.reset(token)

    @property
    def host(self) -> str:
        """The host part of ``listen``."""
        return split_host_port(self.listen)[0]

    @property
    def port(self) -> int:
        """The port part of ``listen``."""
        return split_host_port(self.listen)[1]

    @property
    def agent_dist_path(self) -> Path:
        """Where the agent distribution is (``agent_dist_dir`` or ``data_dir/agent-dist``)."""
        return self.agent_dist_dir or self.data_dir / "agent-dist"

    @property
    def allowed_origins(self) -> list[str]:
        """Origins besides the request's own that may send changes: trusted ones, the public URL."""
        return [*self.trusted_origins, *([self.public_url] if self.public_url else [])]

    @property
    def db_url(self) -> str:
        """The database URL to use, with SQLite mapped to its async driver."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'fleetdeck.db'}"
        if url.startswith("sqlite://"):
            url = "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
        return url

    def first_admin_password(self) -> str | None:
        """The configured admin password: ``admin_password``, else ``admin_password_file``.

        Raises:
            InvalidInputError: The file cannot be read or its password is too short.
        """
        if self.admin_password is not None:
            return self.admin_password.get_secret_value()
        if self.admin_password_file is None:
            return None
        try:
            password = self.admin_password_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(
                f"cannot read admin_password_file {self.admin_password_file}: {exc}"
            ) from None
        if len(password) < 8:
            raise InvalidInputError("the admin password has at least 8 characters")
        return password

    def backup_passphrase_value(self) -> str | None:
        """The configured backup passphrase: ``backup_passphrase``, else its file.

        Raises:
            InvalidInputError: The file cannot be read or is empty.
        """
        if self.backup_passphrase is not None:
            return self.backup_passphrase.get_secret_value()
        if self.backup_passphrase_file is None:
            return None
        return read_passphrase_file(self.backup_passphrase_file)

    def effective(self) -> dict[str, Any]:
        """The settings in force, secrets masked (what ``--print-config`` shows)."""
        data = self.model_dump(mode="json")
        for name in ("admin_password", "master_key", "backup_passphrase"):
            data[name] = MASK if getattr(self, name) is not None else None
        data["database_url"] = _mask_url_password(self.db_url)
        return data


def read_passphrase_file(path: Path) -> str:
    """A backup passphrase from a file (its first line).

    Raises:
        InvalidInputError: The file cannot be read or holds no passphrase.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the passphrase file {path}: {exc}") from None
    passphrase = text.splitlines()[0].strip() if text.strip() else ""
    if not passphrase:
        raise InvalidInputError(f"the passphrase file {path} is empty")
    return passphrase


def _mask_url_password(url: str) -> str:
    """``driver://user:secret@host/db`` → ``driver://user:********@host/db``."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:{MASK}@{host}"
