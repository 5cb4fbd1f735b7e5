from __future__ import annotations

import subprocess
import sys

from fleetdeck import errors


def test_every_kind_has_its_own_status_and_exit_code() -> None:
    kinds = [
        errors.InvalidInputError,
        errors.NotFoundError,
        errors.ConflictError,
        errors.UnauthenticatedError,
        errors.PermissionDeniedError,
        errors.NodeUnreachableError,
        errors.PrerequisiteMissingError,
        errors.ExternalCommandError,
    ]
    assert all(issubclass(k, errors.FleetdeckError) for k in kinds)
    assert len({k.kind for k in kinds}) == len(kinds)
    assert all(400 <= k.http_status < 600 and k.exit_code > 0 for k in kinds)


def test_hint_is_part_of_the_message() -> None:
    err = errors.NotFoundError("no such lab", hint="create it")
    assert str(err) == "no such lab (create it)"


def test_cli_maps_an_error_to_its_exit_code_without_a_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fleetdeck", "lab", "status", "--name", "Bad_Name"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == errors.InvalidInputError.exit_code
    assert "invalid lab name 'Bad_Name'" in proc.stderr
    assert "Traceback" not in proc.stderr
