"""The agent's volume backup job: its helper's configuration, scripts and output parsing."""

from __future__ import annotations

import asyncio
import io
import struct
import tarfile
from typing import Any

import pytest

from fleetdeck.agent.volume_backup import (
    SECRETS_FILE,
    _demux,
    _helper_config,
    _removed,
    _script,
    _secrets_tar,
    _summary,
)
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.fleet.agent_client import AgentClient
from fleetdeck.wire.volume_backups import ResticJobBody, ResticJobResult

SECRET = "pa$$ 'word' $(reboot)"  # noqa: S105 - a test value


def _body(**fields: Any) -> ResticJobBody:
    base: dict[str, Any] = {
        "op": "backup", "image": "fleetdeck/volume-backup:restic", "repository": "/repo",
        "directory": "/srv/backups/vol", "secrets": {"RESTIC_PASSWORD": SECRET},
        "tags": ["fleetdeck-volume,policy=shop,volume=shop_data"],
    }  # fmt: skip
    return ResticJobBody.model_validate({**base, **fields})


def test_the_helper_mounts_the_volume_read_only_and_never_the_docker_socket() -> None:
    config = _helper_config("shop_data", _body())
    mounts = config["HostConfig"]["Mounts"]
    assert mounts == [
        {"Type": "volume", "Source": "shop_data", "Target": "/data", "ReadOnly": True},
        {"Type": "bind", "Source": "/srv/backups/vol", "Target": "/repo"},
    ]
    assert config["HostConfig"]["NetworkMode"] == "none"  # a directory needs no network
    assert "docker.sock" not in repr(config)
    assert SECRET not in repr(config)  # secrets go in a file, not the container's config
    assert config["HostConfig"]["CapDrop"] == ["ALL"]
    restore = _helper_config("shop_data", _body(op="restore", snapshot="abcdef12"))
    assert restore["HostConfig"]["Mounts"][0]["ReadOnly"] is False


def test_secrets_are_a_0600_file_quoted_for_the_shell_and_only_known_names() -> None:
    with tarfile.open(fileobj=io.BytesIO(_secrets_tar({"RESTIC_PASSWORD": SECRET}))) as tar:
        [member] = tar.getmembers()
        assert (member.name, member.mode) == (SECRETS_FILE, 0o600)
        text = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
    assert text == "RESTIC_PASSWORD='pa$$ '\"'\"'word'\"'\"' $(reboot)'\n"
    with pytest.raises(InvalidInputError, match="unknown restic secret"):
        _secrets_tar({"LD_PRELOAD": "/x.so"})


def test_scripts_quote_every_value_from_the_body() -> None:
    script = _script(_body(host="node-1"))
    assert "restic backup /data --json --host node-1" in script
    assert "--tag fleetdeck-volume,policy=shop,volume=shop_data" in script
    assert "restic init" in script and "wrong password" in script  # never re-initialised
    restore = _script(_body(op="restore", snapshot="abcdef12", replace=True))
    assert "rm -rf" in restore and "restic restore abcdef12 --target / --verify" in restore
    assert "rm -rf" not in _script(_body(op="restore", snapshot="abcdef12"))
    forget = _script(_body(op="forget", keep_last=3))
    assert "restic forget --tag fleetdeck-volume,policy=shop,volume=shop_data" in forget
    assert "--keep-last 3 --prune" in forget


KNOWN = "[10.0.0.1]:2222 ssh-ed25519 AAAAC3Nz"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-body\n-----END OPENSSH PRIVATE KEY-----"


def _sftp_body(**secrets: str) -> ResticJobBody:
    return _body(
        directory=None, repository="sftp:backup@10.0.0.1:/srv/vol",
        sftp={"user": "backup", "host": "10.0.0.1", "port": 2222},
        secrets={"RESTIC_PASSWORD": SECRET, "SSH_KNOWN_HOSTS": KNOWN, **secrets},
    )  # fmt: skip


def test_an_sftp_job_pins_the_host_key_and_keeps_the_key_out_of_argv_and_config() -> None:
    body = _sftp_body(SSH_KEY=KEY)
    config = _helper_config("shop_data", body)
    assert config["HostConfig"]["NetworkMode"] == "bridge"  # the SFTP host is over the network
    assert len(config["HostConfig"]["Mounts"]) == 1  # the volume only
    assert "secret-key-body" not in repr(config) and "AAAAC3Nz" not in repr(config)
    script = config["Cmd"][0]
    assert "-o 'sftp.command=ssh -F /dev/null -p 2222" in script
    assert "UserKnownHostsFile=/tmp/fleetdeck-known_hosts" in script
    assert "StrictHostKeyChecking=yes" in script and "-i /tmp/fleetdeck-ssh-key" in script
    assert "backup@10.0.0.1 -s sftp" in script
    assert script.count("sftp.command=") == 3  # cat config, init and the backup itself
    with tarfile.open(fileobj=io.BytesIO(_secrets_tar(body.secrets))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert {n: m.mode for n, m in members.items()} == {
            "fleetdeck-known_hosts": 0o600, "fleetdeck-ssh-key": 0o600, SECRETS_FILE: 0o600,
        }  # fmt: skip
        read = {n: tar.extractfile(m).read().decode() for n, m in members.items()}  # type: ignore[union-attr]
    assert read["fleetdeck-ssh-key"] == KEY + "\n" and read["fleetdeck-known_hosts"] == KNOWN + "\n"
    assert "SSH_KEY" not in read[SECRETS_FILE] and "RESTIC_PASSWORD=" in read[SECRETS_FILE]


def test_an_sftp_password_reaches_ssh_through_askpass_only() -> None:
    body = _sftp_body(SSH_PASSWORD="hunter2")  # noqa: S106 - a test value
    assert "PubkeyAuthentication=no" in _script(body) and "hunter2" not in _script(body)
    with tarfile.open(fileobj=io.BytesIO(_secrets_tar(body.secrets))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["fleetdeck-askpass"].mode == 0o700
        env = tar.extractfile(members[SECRETS_FILE]).read().decode()  # type: ignore[union-attr]
    assert "FLEETDECK_SFTP_PASSWORD=hunter2" in env and "SSH_ASKPASS_REQUIRE=force" in env


def test_an_incomplete_sftp_job_is_refused() -> None:
    cases = [
        (_body(secrets={"RESTIC_PASSWORD": "x", "SSH_KEY": KEY}), "go with an SFTP target"),
        (_sftp_body(), "an SSH key or a password"),
        (_sftp_body(SSH_KEY=KEY).model_copy(update={"secrets": {"SSH_KEY": KEY}}), "known_hosts"),
        (_sftp_body(SSH_KEY=KEY).model_copy(update={"directory": "/srv"}), "not both"),
        (_sftp_body(SSH_KEY=KEY).model_copy(update={"repository": "/repo"}), "sftp:USER"),
    ]
    for body, text in cases:
        with pytest.raises(InvalidInputError, match=text):
            _script(body)
    for bad in ({"user": "-oProxyCommand=x", "host": "h"}, {"user": "u", "host": "-oX"}):
        with pytest.raises(ValueError, match="validation error"):
            _body(sftp=bad)


def test_a_body_with_shell_in_it_is_refused() -> None:
    for fields in ({"tags": ["a; rm -rf /"]}, {"image": "x y"}, {"snapshot": "$(id)"}):
        with pytest.raises(ValueError, match="validation error"):
            _body(op="restore", snapshot="abcdef12", **fields) if "snapshot" not in fields else (
                _body(op="restore", **fields)
            )


def _frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(data)) + data


def test_the_log_stream_is_split_and_restics_answers_are_read() -> None:
    summary = b'{"message_type":"summary","snapshot_id":"abcdef12","data_added":5}\n'
    raw = _frame(1, b'{"message_type":"status"}\n') + _frame(2, b"warn\n") + _frame(1, summary)
    out, err = _demux(raw)
    assert err == b"warn\n"
    assert _summary(out) == {"message_type": "summary", "snapshot_id": "abcdef12", "data_added": 5}
    assert _summary(b"not json\n") is None
    forget = b'[{"tags":["t"],"keep":[{"id":"k"}],"remove":[{"id":"r1"},{"id":"r2"}]}]\n'
    assert _removed(forget) == ["r1", "r2"]


class _Recorder:
    where = "lab/node-1"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    async def call(self, method: str, path: str, *, json_body: Any = None, **_: Any) -> Any:
        self.calls.append((method, path, json_body))
        return {"exit_code": 0, "summary": {"snapshot_id": "abcdef12"}}


def test_the_server_sends_the_agents_model_to_the_volumes_path() -> None:
    transport = _Recorder()
    job = _body().model_dump(mode="json", exclude_unset=True)
    answer: ResticJobResult = asyncio.run(
        AgentClient(transport).volume_restic("shop_data", job, timeout=5)  # type: ignore[arg-type]
    )
    assert isinstance(answer, ResticJobResult) and answer.summary == {"snapshot_id": "abcdef12"}
    [(method, path, sent)] = transport.calls
    assert (method, path) == ("POST", "/v1/volumes/shop_data/restic")
    assert ResticJobBody.model_validate(sent).model_dump(mode="json", exclude_unset=True) == sent
