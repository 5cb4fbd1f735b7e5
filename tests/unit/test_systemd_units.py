"""The systemd units in deploy/systemd/ are valid and hardened, as systemd itself judges them.

``systemd-analyze verify`` loads a unit the way systemd would (unknown keys, bad values and a
missing ``ExecStart`` binary are reported); it exits 0 even for what it only warns about, so
any output is a failure here. ``systemd-analyze security --offline`` scores the sandboxing:
the server, which needs no privilege at all, must stay "OK" at 2.0 or below; the agent, which
holds the Docker socket and runs as root by necessity, at 5.0 or below.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
INSTALLED = "/opt/fleetdeck/bin/fleetdeck"
EXPOSURE = {"fleetdeck-server.service": 2.0, "fleetdeck-agent.service": 5.0}

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def _as_installed_here(name: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's ``fleetdeck`` (verify checks it)."""
    text = (UNITS / name).read_text()
    assert INSTALLED in text, f"{name} runs {INSTALLED}, the documented install prefix"
    unit = tmp_path / name
    unit.write_text(text.replace(INSTALLED, str(Path(sys.executable).with_name("fleetdeck"))))
    return unit


@pytest.mark.parametrize("name", sorted(EXPOSURE))
def test_unit_verifies_without_a_single_warning(name: str, tmp_path: Path) -> None:
    unit = _as_installed_here(name, tmp_path)
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stdout + proc.stderr


@pytest.mark.parametrize("name", sorted(EXPOSURE))
def test_unit_is_sandboxed(name: str, tmp_path: Path) -> None:
    unit = _as_installed_here(name, tmp_path)
    threshold = EXPOSURE[name]
    proc = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=yes",
            f"--threshold={threshold * 10:.0f}",
            str(unit),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr


def test_every_unit_is_tested() -> None:
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(EXPOSURE)
