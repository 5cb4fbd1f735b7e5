"""Encryption of secrets at rest (registry passwords now, stack secrets later).

AES-256-GCM with the server's master key: 32 random bytes from ``FLEETDECK_MASTER_KEY``
(base64) or the file ``data_dir/master.key`` (0600, created on first start). Each sealed
value is a version byte (1), a 12-byte nonce and the ciphertext with its tag. It is bound to a
*context* string (e.g. ``registry:NAME``) given as associated data, so a ciphertext copied into
another row does not decrypt there. Losing the master key loses the secrets: back it up with
the database.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fleetdeck import pki
from fleetdeck.errors import InvalidInputError, SecretDecryptionError

if TYPE_CHECKING:
    from fleetdeck.server.config import ServerSettings

KEY_BYTES = 32
_VERSION = b"\x01"
_NONCE_BYTES = 12


def _decode_key(raw: bytes, origin: str) -> bytes:
    if len(raw) == KEY_BYTES:
        return raw
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != KEY_BYTES:
        raise InvalidInputError(
            f"the master key from {origin} is not {KEY_BYTES} bytes (raw or base64)",
            hint="generate one with: head -c 32 /dev/urandom | base64",
        )
    return key


def load_master_key(settings: ServerSettings) -> bytes:
    """The master key from the settings, else from ``data_dir/master.key`` (made if absent)."""
    if settings.master_key is not None:
        return _decode_key(settings.master_key.get_secret_value().encode(), "FLEETDECK_MASTER_KEY")
    path = settings.data_dir / "master.key"
    if path.exists():
        return _decode_key(path.read_bytes(), str(path))
    key = os.urandom(KEY_BYTES)
    pki.write_private(path, key)
    return key


class SecretBox:
    """Seals and opens secrets with the master key.

    Args:
        key: 32 bytes (AES-256).
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise InvalidInputError(f"a secret box key is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> bytes:
        """Encrypt ``plaintext`` for storage in the row named by ``context``."""
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        """Decrypt what :meth:`seal` made for the same ``context``.

        Raises:
            SecretDecryptionError: Wrong key, wrong context or damaged data.
        """
        version, nonce, body = sealed[:1], sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        if version != _VERSION:
            raise SecretDecryptionError(f"stored secret for {context} has an unknown format")
        try:
            return self._aead.decrypt(nonce, body, context.encode()).decode()
        except InvalidTag as exc:
            raise SecretDecryptionError(
                f"stored secret for {context} does not decrypt",
                hint="the master key differs from the one it was stored with",
            ) from exc
