"""The CLI refuses an alias bomb at once, with exit 2 and a message naming the limit."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from tests.unit.test_safeyaml import alias_bomb

if TYPE_CHECKING:
    from pathlib import Path


def fleetdeck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetdeck", *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_stack_config_refuses_a_9_level_alias_bomb_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(alias_bomb(9))
    result = fleetdeck("stack", "config", "-f", "bomb.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "bomb.yaml:" in result.stderr
    assert "limit max_alias_nodes" in result.stderr
    assert result.stdout == ""


def test_stack_deploy_refuses_the_bomb_before_sending_anything(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(alias_bomb(7))
    result = fleetdeck(
        "stack", "deploy", "web", "-f", "compose.yaml", "--env", "node1",
        "--url", "https://127.0.0.1:9", "--token", "fdt_unused",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr  # not 6: no connection was tried
    assert "limit max_alias_nodes" in result.stderr
