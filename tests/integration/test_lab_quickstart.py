"""The README's quick start, copied from the README and run in a new shell, works as written."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]


def readme_quick_start() -> list[str]:
    """The commands of the README's first ``sh`` block after ``scripts/run`` is described."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index("`scripts/run` brings up") :]
    block = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert block is not None
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_quick_start_runs_in_a_new_shell(fleet3: LabRecord) -> None:
    if not (ROOT / ".venv" / "bin" / "fleetdeck").is_file() or Path(sys.prefix) != ROOT / ".venv":
        pytest.skip("runs the clone's own .venv/bin/fleetdeck, as the README does")
    name = f"qs-{uuid.uuid4().hex[:8]}"
    script = []
    for line in readme_quick_start():
        # This session's lab rather than the default one, a fresh container name, and
        # `logs` without -f (which would follow for ever).
        line = line.replace(" lab env", f" lab env --name {fleet3.name}")
        line = line.replace(" lab exec node2", f" lab exec node2 --name {fleet3.name}")
        line = line.replace("web1", name).replace("logs -f", "logs")
        if line == "fleetdeck ps":  # the README's "within a fraction of a second", with slack
            line = (
                f"for _ in 1 2 3 4 5 6 7 8; do fleetdeck ps | grep -q {name} && break; done; {line}"
            )
        if " exec -it " in line:  # a terminal's shell: here its piped form, from the comment
            line = "echo 'echo hi-from-sh' | " + line.replace(" exec -it ", " exec -i ")
        script.append(line)
    script.append(f"fleetdeck rm -f node2/{name}")
    shell = subprocess.run(
        ["bash", "-e", "-c", "\n".join(script)],  # noqa: S607 - bash from the clean PATH
        cwd=ROOT,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert shell.returncode == 0, f"{script}\n{shell.stdout}\n{shell.stderr}"
    assert re.search(r"^node1\s.*\bup\b", shell.stdout, re.MULTILINE), shell.stdout
    assert re.search(rf"^node2\s+\S+\s+{name}\s", shell.stdout, re.MULTILINE), shell.stdout
    assert re.search(r"^hi-from-sh$", shell.stdout, re.MULTILINE), shell.stdout
