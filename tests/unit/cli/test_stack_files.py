"""The CLI reads a stack's files as bytes: binary build-context files go as base64."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fleetdeck.cli.stacks_deploy import read_env_file, read_files
from fleetdeck.client.stack_files import file_bytes
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from pathlib import Path


def test_a_build_directory_is_sent_byte_for_byte(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  app:\n    build: ./app\n")
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM scratch\n")
    (app / "all.bin").write_bytes(bytes(range(256)))
    (app / "latin1.txt").write_bytes("café".encode("latin-1"))
    files = read_files([compose])
    assert files is not None
    by_name = {f["name"]: f for f in files}
    assert by_name["compose.yaml"]["content"].startswith("services:")
    assert by_name["app/Dockerfile"] == {"name": "app/Dockerfile", "content": "FROM scratch\n"}
    assert "content_base64" in by_name["app/all.bin"]
    assert file_bytes(by_name["app/all.bin"]) == bytes(range(256))
    assert file_bytes(by_name["app/latin1.txt"]) == "café".encode("latin-1")


def test_compose_and_env_files_must_be_utf8(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_bytes(b"services:\n  a: {image: \xff}\n")
    with pytest.raises(InvalidInputError, match=r"Compose file .*compose.yaml is not UTF-8"):
        read_files([compose])
    env = tmp_path / "prod.env"
    env.write_bytes(b"A=\xe9\n")
    with pytest.raises(InvalidInputError, match=r"env file .*prod.env is not UTF-8"):
        read_env_file(env)


def test_only_the_shell_variables_the_files_use_are_sent(tmp_path: Path) -> None:
    from fleetdeck.cli.stack_variables import project_env_file, shell_values

    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: ${WEB_IMAGE:-web:1}\n    x-a: $HOME\n")
    environ = {"WEB_IMAGE": "web:2", "HOME": "/root", "AWS_SECRET": "no"}
    assert shell_values(None, "shop", [compose], environ) == {"WEB_IMAGE": "web:2"}  # type: ignore[arg-type]
    assert project_env_file([compose], None) is None
    (tmp_path / ".env").write_text("WEB_IMAGE=web:2\n")
    assert project_env_file([compose], None) == tmp_path / ".env"
    assert project_env_file([compose], tmp_path / "x.env") == tmp_path / "x.env"


def test_only_the_stacks_own_files_are_sent_not_what_symlinks_or_dots_reach(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ca.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    stack = tmp_path / "stack"
    (stack / "ctx").mkdir(parents=True)
    (stack / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    (stack / "ctx" / "key").symlink_to(outside / "ca.key")
    (stack / "ctx" / "dir").symlink_to(outside)
    (stack / "linked").symlink_to(outside)
    compose = stack / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  a: {build: ./ctx, image: x:1}\n"
        "  b: {build: ./linked, image: x:1, env_file: [../outside/ca.key, /etc/passwd]}\n"
        "  c: {build: ../outside, image: x:1}\n"
    )
    files = read_files([compose])
    assert files is not None
    assert sorted(f["name"] for f in files) == ["compose.yaml", "ctx/Dockerfile"]


def test_env_secret_and_config_files_are_sent_but_not_variable_or_remote_paths(
    tmp_path: Path,
) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "ctx2").mkdir()
    (tmp_path / "ctx2" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "conf").mkdir()
    for name in ("app.env", "conf/secret.txt", "conf/c.ini", "unused.txt"):
        (tmp_path / name).write_text("A=1\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  a:\n"
        "    build: {context: ./ctx}\n"
        "    image: x:1\n"
        "    env_file: [app.env, {path: ./missing.env, required: false}]\n"
        "  b: {build: '${CTX:-./ctx2}', image: y:1}\n"
        "  c: {build: 'https://github.com/docker/example.git', image: z:1}\n"
        "secrets:\n  s1: {file: ./conf/secret.txt}\n"
        "configs:\n  c1: {file: conf/c.ini}\n"
    )
    files = read_files([compose])
    assert files is not None
    assert sorted(f["name"] for f in files) == [
        "app.env",
        "compose.yaml",
        "conf/c.ini",
        "conf/secret.txt",
        "ctx/Dockerfile",
    ]
