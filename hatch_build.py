"""Build hook: the commit being built (``fleetdeck/_commit``) and the UI's vendored files.

The web UI serves xterm.js from ``node_modules/`` in a checkout (``npm ci``); a wheel has no
checkout, so the files of :data:`VENDOR` (the same as ``pages_admin.VENDOR_FILES``, with their
licences; ``tests/unit/test_packaging.py`` checks the two agree) go into the package at
``fleetdeck/server/ui/vendor/`` and into the sdist at ``node_modules/``.

``fleetdeck version`` prints it (:mod:`fleetdeck.packaging`). A wheel or sdist built from a
git checkout records ``git rev-parse HEAD``; one built from an sdist keeps the sdist's file;
``FLEETDECK_COMMIT`` overrides both (for builds outside git, e.g. from a tarball).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: node_modules files a wheel carries (relative to node_modules/).
VENDOR = (
    "@xterm/xterm/lib/xterm.js",
    "@xterm/xterm/css/xterm.css",
    "@xterm/xterm/LICENSE",
    "@xterm/addon-fit/lib/addon-fit.js",
    "@xterm/addon-fit/LICENSE",
)


class CommitHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds ``_commit`` to the wheel and sdist, and the vendored UI files to the wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Record the commit (unless built from an sdist, which carries it) and vendor files."""
        for relative in VENDOR:
            source = Path(self.root) / "node_modules" / relative
            if source.is_file():
                inside = (
                    f"fleetdeck/server/ui/vendor/{relative}"
                    if self.target_name == "wheel"
                    else f"node_modules/{relative}"
                )
                build_data["force_include"][str(source)] = inside
        if (Path(self.root) / "src" / "fleetdeck" / "_commit").is_file():
            return
        commit = os.environ.get("FLEETDECK_COMMIT") or self._git_head()
        if not commit:
            return
        out = Path(tempfile.mkdtemp(prefix="fleetdeck-build-")) / "_commit"
        out.write_text(commit + "\n")
        inside = "fleetdeck/_commit" if self.target_name == "wheel" else "src/fleetdeck/_commit"
        build_data["force_include"][str(out)] = inside

    def _git_head(self) -> str:
        try:
            proc = subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=self.root,
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError:
            return ""
        return proc.stdout.strip() if proc.returncode == 0 else ""
