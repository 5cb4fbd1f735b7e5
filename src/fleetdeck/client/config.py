"""Where the client finds its server, token and CA: flag > environment > saved login.

The saved login (``fleetdeck login``) lives in ``~/.config/fleetdeck/config.json``, or in
``$FLEETDECK_CONFIG_DIR/config.json``; it holds a long-lived API token, so it is written
with mode 0600 and replaced atomically (a crash never leaves half a file).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Seconds a request may take before the client calls the server unreachable.
DEFAULT_TIMEOUT = 30.0

ENV_URL = "FLEETDECK_URL"
ENV_TOKEN = "FLEETDECK_TOKEN"  # noqa: S105 - the name of a variable, not a secret
ENV_CA_CERT = "FLEETDECK_CA_CERT"
ENV_CONFIG_DIR = "FLEETDECK_CONFIG_DIR"


@dataclass(frozen=True)
class ClientConfig:
    """How to reach one fleetdeck server.

    Attributes:
        url: Base URL of the server, e.g. ``https://fleet.example:8443`` (no ``/api/v1``).
        token: API or session token sent as ``Authorization: Bearer``; None when logged out.
        ca_cert: PEM file the server's certificate is verified against; None for system CAs.
        timeout: Seconds before a request counts as unreachable (streams wait forever).
    """

    url: str
    token: str | None = None
    ca_cert: str | None = None
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class SavedLogin:
    """What ``fleetdeck login`` remembers (the file's keys are these attribute names)."""

    url: str
    token: str
    ca_cert: str | None = None
    token_id: str | None = None
    token_name: str | None = None
    username: str | None = None


def normalize_url(url: str) -> str:
    """The server's base URL without a trailing slash or ``/api/v1`` a user may have pasted."""
    url = url.strip().rstrip("/")
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    if "://" not in url:
        raise InvalidInputError(
            f"invalid server URL {url!r}", hint="give a full URL, e.g. https://fleet.example:8443"
        )
    return url


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Path of the saved login file (``FLEETDECK_CONFIG_DIR`` moves it, e.g. for tests)."""
    env = os.environ if environ is None else environ
    base = env.get(ENV_CONFIG_DIR)
    directory = Path(base) if base else Path.home() / ".config" / "fleetdeck"
    return directory / "config.json"


def load_saved_login(environ: Mapping[str, str] | None = None) -> SavedLogin | None:
    """Read the saved login; None when there is none (a broken file is reported, not ignored)."""
    path = config_path(environ)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InvalidInputError(
            f"cannot read saved login {path}: {exc}", hint="run `fleetdeck login URL` again"
        ) from exc
    if not isinstance(raw, dict) or not raw.get("url") or not raw.get("token"):
        raise InvalidInputError(
            f"saved login {path} lacks url or token", hint="run `fleetdeck login URL` again"
        )
    fields = SavedLogin.__dataclass_fields__
    return SavedLogin(**{k: v for k, v in raw.items() if k in fields})


def save_login(login: SavedLogin, environ: Mapping[str, str] | None = None) -> Path:
    """Write the saved login with mode 0600 (it holds a token), atomically; return its path."""
    path = config_path(environ)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data: dict[str, Any] = {k: v for k, v in login.__dict__.items() if v is not None}
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def forget_login(environ: Mapping[str, str] | None = None) -> bool:
    """Delete the saved login; whether there was one."""
    path = config_path(environ)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def resolve_config(
    url: str | None = None,
    token: str | None = None,
    ca_cert: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ClientConfig:
    """Resolve each setting from the flag, else the environment, else the saved login.

    The saved token and CA are used only when the resolved URL is the saved one, so that a
    token saved for one server is never sent to another named by a flag or variable.

    Raises:
        InvalidInputError: No URL anywhere.
    """
    env = os.environ if environ is None else environ
    saved = load_saved_login(env)
    chosen_url = url or env.get(ENV_URL) or (saved.url if saved else None)
    if not chosen_url:
        raise InvalidInputError(
            "no fleetdeck server configured",
            hint=f"run `fleetdeck login URL`, set {ENV_URL}, or pass --url",
        )
    chosen_url = normalize_url(chosen_url)
    same_server = saved is not None and normalize_url(saved.url) == chosen_url
    saved_token = saved.token if saved and same_server else None
    saved_ca = saved.ca_cert if saved and same_server else None
    return ClientConfig(
        url=chosen_url,
        token=token or env.get(ENV_TOKEN) or saved_token,
        ca_cert=ca_cert or env.get(ENV_CA_CERT) or saved_ca,
        timeout=timeout,
    )
