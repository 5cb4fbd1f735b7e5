"""The server's CA and its own certificate.

The server certificate (CN ``fleetdeck-server``) is both a TLS server certificate (HTTPS for
browsers, the CLI and agents enrolling) and the TLS client certificate the server presents to
agents, which accept only that CN signed by our CA. It is issued once and re-issued only when
what it must cover changes (names, addresses, a new CA) or it nears expiry, so restarts keep
the same certificate and clients that pinned nothing but the CA keep working.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cryptography import x509

from fleetdeck import pki
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.server.config import ServerSettings

#: Re-issue the server certificate when it has less than this left.
RENEW_BEFORE = timedelta(days=30)
_SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address
_ANY_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104 - recognising wildcard listens, not binding


@dataclass(frozen=True)
class ServerTLS:
    """Paths of the CA and of the server's certificate.

    Attributes:
        ca_cert_path: The CA certificate (public; served at ``GET /api/v1/ca``).
        ca_key_path: The CA key (signs agent certificates).
        cert_path: The ``fleetdeck-server`` certificate issued by our CA (TLS client towards
            agents, and HTTPS unless the operator provided one).
        key_path: Key of ``cert_path``.
        https_cert_path: What HTTPS serves: the operator's certificate or ``cert_path``.
        https_key_path: Key of ``https_cert_path``.
    """

    ca_cert_path: Path
    ca_key_path: Path
    cert_path: Path
    key_path: Path
    https_cert_path: Path
    https_key_path: Path


def local_ipv4_addresses() -> list[str]:
    """The IPv4 address of every local interface that has one (Linux ioctl, stdlib only)."""
    found: set[str] = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name[:15].encode())
            try:
                reply = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)
            except OSError:
                continue  # interface without an IPv4 address
            found.add(socket.inet_ntoa(reply[20:24]))
    return sorted(found)


def wanted_names(settings: ServerSettings) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the server certificate must cover."""
    ips: set[str] = {"127.0.0.1"}
    dns: set[str] = {"localhost", socket.gethostname()}
    host = settings.host
    if host in _ANY_HOSTS:
        ips.update(local_ipv4_addresses())
    else:
        dns.add(host) if not _is_ip(host) else ips.add(host)
    for extra in settings.public_hosts:
        ips.add(extra) if _is_ip(extra) else dns.add(extra)
    return sorted(dns), sorted(ips)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _covers(
    cert: x509.Certificate, ca: pki.CertificateAuthority, dns: list[str], ips: list[str]
) -> bool:
    """Whether ``cert`` is ours, current, and names exactly what it must."""
    if cert.issuer != ca.cert.subject:
        return False
    if cert.not_valid_after_utc - datetime.now(UTC) < RENEW_BEFORE:
        return False
    cns = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    if not cns or cns[0].value != pki.SERVER_CLIENT_CN:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_dns = sorted(san.get_values_for_type(x509.DNSName))
    have_ips = sorted(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    return have_dns == dns and have_ips == sorted(str(ipaddress.ip_address(i)) for i in ips)


def prepare_tls(settings: ServerSettings) -> tuple[pki.CertificateAuthority, ServerTLS]:
    """Load (or create) the CA and make sure the server certificate is current.

    Idempotent: the CLI calls it before uvicorn starts (uvicorn needs the files) and the app's
    lifespan calls it again to get the CA object.

    Raises:
        InvalidInputError: Only one of ``tls_cert``/``tls_key`` was given, or one is missing.
    """
    ca_dir = settings.data_dir / "ca"
    ca = pki.CertificateAuthority.load_or_create(ca_dir)
    tls_dir = settings.data_dir / "tls"
    cert_path, key_path = tls_dir / "server.pem", tls_dir / "server.key"
    dns, ips = wanted_names(settings)
    current = None
    if cert_path.exists() and key_path.exists():
        current = pki.load_cert(cert_path.read_bytes())
    if current is None or not _covers(current, ca, dns, ips):
        key = pki.new_key()
        cert = ca.issue(pki.SERVER_CLIENT_CN, key.public_key(), dns_names=dns, ip_addresses=ips)
        pki.write_private(key_path, pki.key_pem(key))
        cert_path.write_bytes(pki.cert_pem(cert))
    https_cert, https_key = cert_path, key_path
    if settings.tls_cert is not None or settings.tls_key is not None:
        if settings.tls_cert is None or settings.tls_key is None:
            raise InvalidInputError("give both --tls-cert and --tls-key, or neither")
        for path in (settings.tls_cert, settings.tls_key):
            if not path.is_file():
                raise InvalidInputError(f"TLS file {path} does not exist")
        https_cert, https_key = settings.tls_cert, settings.tls_key
    paths = ServerTLS(
        ca_cert_path=ca_dir / "ca.pem",
        ca_key_path=ca_dir / "ca.key",
        cert_path=cert_path,
        key_path=key_path,
        https_cert_path=https_cert,
        https_key_path=https_key,
    )
    return ca, paths
