"""Packaging: what an agent host installs runs without the server's packages; the wheel is whole.

An agent host installs ``fleetdeck`` without the ``server`` extra. The first test runs the CLI
and imports the agent, client and CLI in a process where every module of that extra fails to
import (as on such a host), and checks that the server's commands then say what to install.
The wheel is built offline with hatchling (a dev dependency), as ``uv build`` would build it.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from fleetdeck.packaging import SERVER_MODULES, _checkout_head, commit, version_line

ROOT = Path(__file__).resolve().parents[2]

#: The ``server`` extra's distributions and the module each brings (SERVER_MODULES' source).
SERVER_DISTRIBUTIONS = {
    "pydantic-settings": "pydantic_settings",
    "fastapi": "fastapi",
    "uvicorn": "uvicorn",
    "sqlalchemy": "sqlalchemy",
    "alembic": "alembic",
    "argon2-cffi": "argon2",
    "python-multipart": "multipart",
    "aiosqlite": "aiosqlite",
    "jinja2": "jinja2",
    "prometheus-client": "prometheus_client",
    "apprise": "apprise",
}

AGENT_HOST = r"""
import importlib, pkgutil, sys
# None in sys.modules: `import x` fails and importlib.util.find_spec("x") is None, as when absent.
for name in [*sys.argv[1].split(","), "starlette"]:
    sys.modules[name] = None
import fleetdeck, fleetdeck.agent, fleetdeck.cli, fleetdeck.client, fleetdeck.compose
for package in (fleetdeck.agent, fleetdeck.client, fleetdeck.compose, fleetdeck.cli):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.endswith("__main__"):  # it runs the CLI when imported
            importlib.import_module(info.name)
for info in pkgutil.iter_modules(fleetdeck.__path__, "fleetdeck."):
    if not info.ispkg and not info.name.endswith("__main__"):
        importlib.import_module(info.name)
from fleetdeck.cli.main import run
sys.argv = ["fleetdeck", *sys.argv[2:]]
run()
"""


def _agent_host(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", AGENT_HOST, ",".join(SERVER_MODULES), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_server_extra_lists_what_server_modules_names() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {
        dist.split(">")[0].split("[")[0].split("=")[0].strip().lower()
        for dist in project["optional-dependencies"]["server"]
    }
    base = {dist.split(">")[0].split("[")[0].strip().lower() for dist in project["dependencies"]}
    assert names == set(SERVER_DISTRIBUTIONS)
    assert not names & base
    assert tuple(SERVER_DISTRIBUTIONS.values()) == SERVER_MODULES


def test_an_agent_host_runs_the_cli_and_agent_without_the_server_packages() -> None:
    proc = _agent_host("version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("0.")
    proc = _agent_host("agent", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--join-token" in proc.stdout


@pytest.mark.parametrize(
    "argv", [("server",), ("server", "ca"), ("lab", "status", "--name", "absent")]
)
def test_server_commands_say_which_extra_to_install(argv: tuple[str, ...]) -> None:
    proc = _agent_host(*argv)
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert "fleetdeck[server]" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_version_names_the_checkouts_commit() -> None:
    head = _checkout_head(ROOT)
    git = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if git.returncode != 0:
        pytest.skip("not a git checkout")
    assert head == git.stdout.strip()[:12]
    assert commit() == head
    assert version_line().endswith(f"(commit {head})")


def test_the_wheel_carries_the_commit_the_ui_files_and_the_role_split(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={"FLEETDECK_COMMIT": "0123456789abcdef0123456789abcdef01234567", "PATH": "/usr/bin"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = tmp_path.glob("fleetdeck-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("fleetdeck/_commit").decode().startswith("0123456789ab")
        metadata = archive.read(next(n for n in names if n.endswith("/METADATA"))).decode()
    from fleetdeck.server.ui.pages_admin import VENDOR_FILES

    for relative in VENDOR_FILES.values():
        if (ROOT / "node_modules" / relative).is_file():
            assert f"fleetdeck/server/ui/vendor/{relative}" in names
    assert not [n for n in names if n.startswith("tests/") or n.endswith(".pyc")]
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    for dist in SERVER_DISTRIBUTIONS:
        (line,) = [r for r in requires if r.split()[1].lower().startswith(dist)]
        assert "extra == 'server'" in line
    assert any(r.startswith("Requires-Dist: aiodocker") and "extra" not in r for r in requires)
