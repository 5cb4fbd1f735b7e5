"""The real ``fleetdeck server`` process: HTTPS with its own CA, login, and crash safety."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ADMIN_PASSWORD = "integration-admin-pw"  # noqa: S105 - test data
START_TIMEOUT = 90.0  # a loaded 2-core machine took over 30 s to start the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def fleetdeck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetdeck", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def running_server(data_dir: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start the server and wait until it answers; kill it (if still alive) at the end."""
    env = os.environ | {"FLEETDECK_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleetdeck",
                "server",
                "--data-dir",
                str(data_dir),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, f"server exited {proc.returncode}:\n{log.read_text()}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"server did not listen:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def https_client(ca_file: Path, port: int) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(ca_file))
    return httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=context, timeout=10)


def test_server_serves_https_from_its_ca_and_survives_sigkill(tmp_path: Path) -> None:
    data_dir, log, port = tmp_path / "server", tmp_path / "server.log", free_port()
    missing = fleetdeck("server", "ca", "--data-dir", str(data_dir))
    assert missing.returncode == 4 and "no CA" in missing.stderr and not data_dir.exists()
    with running_server(data_dir, port, log) as proc:
        ca = fleetdeck("server", "ca", "--data-dir", str(data_dir))
        assert ca.returncode == 0 and ca.stdout.startswith("-----BEGIN CERTIFICATE-----")
        ca_file = tmp_path / "ca.pem"
        ca_file.write_text(ca.stdout)
        with https_client(ca_file, port) as client:
            assert client.get("/api/v1/health").json()["status"] == "ok"
            assert client.get("/api/v1/ca").text == ca.stdout
            login = client.post(
                "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            created = client.post(
                "/api/v1/users",
                json={"username": "durable", "password": "durable-pw-1", "role": "operator"},
                headers=headers,
            )
            assert created.status_code == 201, created.text
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", timeout=10) as untrusting:
            try:
                untrusting.get("/api/v1/health")
            except httpx.ConnectError as exc:
                assert "CERTIFICATE_VERIFY_FAILED" in str(exc)
            else:
                raise AssertionError("a client without our CA must not trust the server")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert "admin password:" not in log.read_text()  # it was configured, not generated
    with running_server(data_dir, port, log), https_client(ca_file, port) as client:
        login = client.post(
            "/api/v1/auth/login", json={"username": "durable", "password": "durable-pw-1"}
        )
        assert login.status_code == 200, login.text
        assert login.json()["user"]["role"] == "operator"
    assert "Traceback" not in log.read_text()


def test_a_corrupted_database_stops_the_start_with_one_line_saying_what_to_do(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    db = data_dir / "fleetdeck.db"
    db.write_bytes(b"this is not a database, it is a scribbled-over file\n" * 200)
    env = os.environ | {"FLEETDECK_ADMIN_PASSWORD": ADMIN_PASSWORD}
    argv = [sys.executable, "-m", "fleetdeck", "server", "--data-dir", str(data_dir),
            "--listen", f"127.0.0.1:{free_port()}"]  # fmt: skip
    first = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert first.returncode != 0
    assert "Traceback" not in first.stderr + first.stdout
    lines = first.stderr.strip().splitlines()
    assert lines[0] == f"error: cannot read the database {db}: file is not a database", lines
    assert "restore" in first.stderr and "move it aside" in first.stderr
    # With the copy the migrator makes before an upgrade, the hint names it.
    backup = data_dir / "fleetdeck.db.bak-20260101T000000000000Z"
    backup.write_bytes(b"")
    second = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert second.returncode != 0 and "Traceback" not in second.stderr
    assert f"copy {backup} to {db}" in second.stderr
