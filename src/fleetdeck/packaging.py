"""What this installation is: fleetdeck's version, the commit it was built from, its extras.

An agent host installs ``fleetdeck`` alone (the CLI and the agent); the server and the lab
need ``fleetdeck[server]``. :data:`SERVER_MODULES` names what only that extra brings, so the
server's commands can say so in one line instead of failing with an ImportError deep inside.

The commit comes from the file ``fleetdeck/_commit`` that the build writes into wheels and
sdists (``hatch_build.py``), or, in a source checkout, from the checkout's ``.git`` (read as
files: ``fleetdeck version`` must not pay for starting git).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fleetdeck import __version__
from fleetdeck.errors import PrerequisiteMissingError

#: Import names brought only by the ``server`` extra (see pyproject.toml).
SERVER_MODULES = (
    "pydantic_settings",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "argon2",
    "multipart",
    "aiosqlite",
    "jinja2",
    "prometheus_client",
    "apprise",
)

_PACKAGE = Path(__file__).resolve().parent


def require_server_extra(command: str) -> None:
    """Raise a one-line error when ``command`` needs the server extra and it is not installed."""
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise PrerequisiteMissingError(
            f"`fleetdeck {command}` needs the server's packages, not installed here "
            f"(missing: {', '.join(missing)})",
            hint="install them with: pip install 'fleetdeck[server]' "
            "(or: uv tool install 'fleetdeck[server]')",
        )


def commit() -> str | None:
    """The commit this installation was built from (12 hex digits), or None if unknown."""
    built = _PACKAGE / "_commit"
    if built.is_file():
        return built.read_text().strip()[:12] or None
    return _checkout_head(_PACKAGE.parents[1])


def version_line() -> str:
    """What ``fleetdeck version`` prints, e.g. ``0.1.0 (commit 1e6185e3a2b4)``."""
    sha = commit()
    return f"{__version__} (commit {sha})" if sha else __version__


def _checkout_head(root: Path) -> str | None:
    """HEAD's commit of the git checkout at ``root`` (a worktree too), from git's own files."""
    git = root / ".git"
    try:
        if git.is_file():  # a worktree: ".git" names the real git dir
            git = (root / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head[:12] or None
        ref = head.split(":", 1)[1].strip()
        common = git
        if (git / "commondir").is_file():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for base in (git, common):
            if (base / ref).is_file():
                return (base / ref).read_text().strip()[:12] or None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0][:12]
    except (OSError, IndexError):
        return None
    return None
