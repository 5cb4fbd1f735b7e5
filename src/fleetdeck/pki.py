"""fleetdeck's small certificate authority and join tokens.

The server owns a CA. Every agent gets a certificate signed by it when it enrols with a join
token, and the server presents a certificate from the same CA, so every server↔agent call is
mutually authenticated. A join token carries the CA's fingerprint (as Swarm's join tokens do)
so that a new agent can check it talks to the right server before it sends its secret.

Token format: ``FDJT-1-<sha256 of the CA certificate, hex>-<secret>``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from pathlib import Path

JOIN_TOKEN_PREFIX = "FDJT-1-"  # noqa: S105 - a format prefix, not a secret
#: Common name of the certificate the server uses as a TLS client towards agents.
SERVER_CLIENT_CN = "fleetdeck-server"
CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=825)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 private key (small, fast, supported everywhere TLS is)."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PEM (PKCS#8, unencrypted: files are written 0600 in the data dir)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM encoding of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER encoding, lower-case hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_cert(pem: bytes) -> x509.Certificate:
    """Parse a PEM certificate, or raise InvalidInputError."""
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise InvalidInputError(f"not a PEM certificate: {exc}") from exc


@dataclass(frozen=True)
class CertificateAuthority:
    """The CA's certificate and key, and the operations that need them."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, name: str = "fleetdeck CA") -> CertificateAuthority:
        """Make a new self-signed CA."""
        key = new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load_or_create(cls, directory: Path) -> CertificateAuthority:
        """Load ``ca.pem``/``ca.key`` from ``directory``, creating them on first use."""
        cert_path, key_path = directory / "ca.pem", directory / "ca.key"
        if cert_path.exists() and key_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise InvalidInputError(f"{key_path} is not an EC private key")
            return cls(load_cert(cert_path.read_bytes()), key)
        directory.mkdir(parents=True, exist_ok=True)
        ca = cls.create()
        write_private(key_path, key_pem(ca.key))
        cert_path.write_bytes(cert_pem(ca.cert))
        return ca

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint of the CA certificate (what join tokens carry)."""
        return fingerprint(self.cert)

    def issue(
        self,
        common_name: str,
        public_key: ec.EllipticCurvePublicKey,
        *,
        dns_names: list[str] | None = None,
        ip_addresses: list[str] | None = None,
        server: bool = True,
        client: bool = True,
    ) -> x509.Certificate:
        """Sign a leaf certificate for ``public_key`` usable for TLS server and/or client."""
        now = datetime.now(UTC)
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names or []]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses or []]
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + LEAF_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def sign_csr(
        self, csr_pem: bytes, common_name: str, ip_addresses: list[str], dns_names: list[str]
    ) -> x509.Certificate:
        """Sign an agent's CSR, with the name and addresses the server decides (not the CSR's)."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise InvalidInputError(f"invalid certificate signing request: {exc}") from exc
        if not csr.is_signature_valid:
            raise InvalidInputError("the certificate signing request's signature is invalid")
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise InvalidInputError("agent keys must be EC (P-256)")
        return self.issue(common_name, public_key, dns_names=dns_names, ip_addresses=ip_addresses)


def make_csr(key: ec.EllipticCurvePrivateKey, common_name: str) -> bytes:
    """A PEM certificate signing request for ``key``."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def new_join_token(ca_fingerprint: str) -> tuple[str, str]:
    """A new join token and the secret part the server stores (hashed) to check it."""
    secret = secrets.token_urlsafe(24)
    return f"{JOIN_TOKEN_PREFIX}{ca_fingerprint}-{secret}", secret


def parse_join_token(token: str) -> tuple[str, str]:
    """Split a join token into (CA fingerprint, secret), or raise InvalidInputError."""
    if not token.startswith(JOIN_TOKEN_PREFIX):
        raise InvalidInputError("not a fleetdeck join token (it starts with FDJT-1-)")
    rest = token.removeprefix(JOIN_TOKEN_PREFIX)
    ca_fp, sep, secret = rest.partition("-")
    if not sep or len(ca_fp) != 64 or not secret:
        raise InvalidInputError("malformed join token")
    return ca_fp, secret


def hash_secret(secret: str) -> str:
    """Digest under which high-entropy secrets (join and API tokens) are stored."""
    return hashlib.sha256(secret.encode()).hexdigest()
