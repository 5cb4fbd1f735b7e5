"""Settings precedence and masking, the server certificate, the secret box, first start."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from fleetdeck import pki
from fleetdeck.errors import InvalidInputError, NotFoundError, SecretDecryptionError
from fleetdeck.server.app import create_app
from fleetdeck.server.config import MASK, ServerSettings
from fleetdeck.server.secrets import SecretBox, load_master_key
from fleetdeck.server.tls import prepare_tls

if TYPE_CHECKING:
    from pathlib import Path


def test_flags_beat_env_which_beats_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "server.yaml"
    config.write_text("listen: 127.0.0.1:9000\nsession_ttl_hours: 3\nlogin_max_failures: 7\n")
    monkeypatch.setenv("FLEETDECK_SESSION_TTL_HOURS", "5")
    monkeypatch.setenv("FLEETDECK_LISTEN", "127.0.0.1:9100")
    monkeypatch.setenv("FLEETDECK_PUBLIC_HOSTS", "fleet.example, 10.1.2.3")
    monkeypatch.setenv("FLEETDECK_URL", "https://not-a-server-setting")  # the client's
    settings = ServerSettings.load(config, listen="127.0.0.1:9200", data_dir=tmp_path)
    assert settings.listen == "127.0.0.1:9200"  # flag
    assert settings.session_ttl_hours == 5  # env over file
    assert settings.login_max_failures == 7  # file
    assert settings.public_hosts == ["fleet.example", "10.1.2.3"]
    monkeypatch.setenv("FLEETDECK_CONFIG", str(config))
    monkeypatch.delenv("FLEETDECK_LISTEN")
    assert ServerSettings.load().listen == "127.0.0.1:9000"


def test_the_effective_config_masks_secrets(tmp_path: Path) -> None:
    settings = ServerSettings.load(
        data_dir=tmp_path,
        admin_password="hunter22-hunter22",  # noqa: S106 - test data
        database_url="postgresql://fd:dbpass@db.example/fleetdeck",
    )
    shown = json.dumps(settings.effective())
    assert "hunter22" not in shown and "dbpass" not in shown
    assert settings.effective()["admin_password"] == MASK
    assert settings.effective()["master_key"] is None
    default = ServerSettings.load(data_dir=tmp_path).effective()
    assert default["database_url"] == f"sqlite+aiosqlite:///{tmp_path}/fleetdeck.db"


def test_bad_settings_are_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="listen"):
        ServerSettings.load(listen="no-port")
    with pytest.raises(InvalidInputError, match="login_max_failures"):
        ServerSettings.load(login_max_failures=0)
    with pytest.raises(NotFoundError):
        ServerSettings.load(tmp_path / "missing.yaml")
    (tmp_path / "typo.yaml").write_text("lisen: 1.2.3.4:5\n")
    with pytest.raises(InvalidInputError, match="lisen"):
        ServerSettings.load(tmp_path / "typo.yaml")


def _sans(path: Path) -> tuple[list[str], list[str]]:
    cert = pki.load_cert(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName), [
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    ]


def test_the_server_certificate_is_issued_once_and_reissued_when_names_change(
    tmp_path: Path,
) -> None:
    settings = ServerSettings.load(data_dir=tmp_path, listen="127.0.0.1:8443")
    ca, tls = prepare_tls(settings)
    cert = pki.load_cert(tls.cert_path.read_bytes())
    cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
    assert cn == pki.SERVER_CLIENT_CN
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
    assert cert.issuer == ca.cert.subject
    assert (tls.key_path.stat().st_mode & 0o777) == 0o600
    dns, ips = _sans(tls.cert_path)
    assert "localhost" in dns and "127.0.0.1" in ips
    first = tls.cert_path.read_bytes()
    prepare_tls(settings)
    assert tls.cert_path.read_bytes() == first  # unchanged names: same certificate
    wider = ServerSettings.load(
        data_dir=tmp_path, listen="127.0.0.1:8443", public_hosts=["fleet.example", "10.9.8.7"]
    )
    _, tls2 = prepare_tls(wider)
    assert tls2.cert_path.read_bytes() != first
    dns, ips = _sans(tls2.cert_path)
    assert "fleet.example" in dns and "10.9.8.7" in ips
    assert tls2.https_cert_path == tls2.cert_path


def test_an_operator_certificate_serves_https_but_agents_still_get_ours(tmp_path: Path) -> None:
    own = tmp_path / "own.pem"
    with pytest.raises(InvalidInputError, match="both"):
        prepare_tls(ServerSettings.load(data_dir=tmp_path, tls_cert=own))
    own.write_text("x")
    key = tmp_path / "own.key"
    key.write_text("y")
    _, tls = prepare_tls(ServerSettings.load(data_dir=tmp_path, tls_cert=own, tls_key=key))
    assert tls.https_cert_path == own and tls.https_key_path == key
    assert tls.cert_path == tmp_path / "tls" / "server.pem"


def test_the_secret_box_binds_ciphertexts_to_their_context(tmp_path: Path) -> None:
    settings = ServerSettings.load(data_dir=tmp_path)
    key = load_master_key(settings)
    assert len(key) == 32 and load_master_key(settings) == key  # created once, then reused
    assert ((tmp_path / "master.key").stat().st_mode & 0o777) == 0o600
    box = SecretBox(key)
    sealed = box.seal("pw", "registry:a")
    assert box.open(sealed, "registry:a") == "pw"
    with pytest.raises(SecretDecryptionError):
        box.open(sealed, "registry:b")
    with pytest.raises(SecretDecryptionError):
        SecretBox(bytes(32)).open(sealed, "registry:a")
    from_env = ServerSettings.load(
        data_dir=tmp_path, master_key=base64.b64encode(bytes(range(32))).decode()
    )
    assert load_master_key(from_env) == bytes(range(32))
    with pytest.raises(InvalidInputError):
        load_master_key(ServerSettings.load(data_dir=tmp_path, master_key="too-short"))


async def test_first_start_prints_a_generated_admin_password_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = ServerSettings.load(data_dir=tmp_path / "d", listen="127.0.0.1:1")
    for _ in range(2):
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            pass
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("admin password")]
    assert len(lines) == 1
    assert len(lines[0].removeprefix("admin password: ")) >= 16


def test_the_admin_password_can_come_from_a_file(tmp_path: Path) -> None:
    """The lab passes a path: the server's process environment never holds the password."""
    secret = tmp_path / "admin-password"
    secret.write_text("from-a-file-1\n")
    settings = ServerSettings.load(data_dir=tmp_path, admin_password_file=secret)
    assert settings.first_admin_password() == "from-a-file-1"
    assert ServerSettings.load(data_dir=tmp_path).first_admin_password() is None
    secret.write_text("short")
    with pytest.raises(InvalidInputError, match="at least 8"):
        settings.first_admin_password()
    secret.unlink()
    with pytest.raises(InvalidInputError, match="cannot read admin_password_file"):
        settings.first_admin_password()
