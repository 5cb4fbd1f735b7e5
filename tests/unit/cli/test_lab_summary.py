"""What ``lab up``/``lab status`` print for copy-paste works in a new shell, PATH or not."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fleetdeck.cli import lab

if TYPE_CHECKING:
    import pytest

STATUS = {
    "name": "lab",
    "state": "running",
    "subnet": "10.213.7.0/24",
    "gateway": "10.213.7.1",
    "registry": "10.213.7.1:5000",
    "registry_state": "running",
    "nodes": [
        {
            "name": f"node{i}",
            "ip": f"10.213.7.{i + 1}",
            "hostname": f"node{i}",
            "engine": "running",
            "network": "connected",
            "docker_host": f"unix:///run/fdl/n{i}",
        }
        for i in (1, 2, 3)
    ],
    "images": {"web": "10.213.7.1:5000/fleetdeck/web:1"},
    "swarm": {"enabled": False},
    "server": {
        "url": "https://10.213.7.1:8443",
        "admin_user": "admin",
        "admin_password": "pw",
        "ca_cert": "/var/lib/fleetdeck/labs/lab/ca.pem",
    },
}


def test_summary_names_the_cli_by_path_and_fills_in_the_registry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lab.print_summary(STATUS)
    out = capsys.readouterr().out
    script = Path(sys.executable).parent / "fleetdeck"
    assert f'eval "$({shlex.quote(str(script.absolute()))} lab env --name lab)"' in out
    assert (
        "fleetdeck lab exec node2 --name lab -- docker run -d --name web1 "
        "10.213.7.1:5000/fleetdeck/web:1" in out
    )
    assert "fleetdeck logs -f node2/web1" in out


def test_lab_env_puts_the_cli_on_path_only_when_a_shell_would_not_find_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bin_dir = (Path(sys.executable).parent / "fleetdeck").absolute().parent
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert lab.cli_bin_dir() == bin_dir
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert lab.cli_bin_dir() is None
