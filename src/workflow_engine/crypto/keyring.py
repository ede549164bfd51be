"""A ring of AES-256-GCM keys, each named by a key id; one of them seals new data.

Every sealed value records the id of the key that sealed it, so keys can rotate: a new active
key seals from then on, older keys stay in the ring to open what they sealed until
`wfe reencrypt` has moved every stored value to the active key.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "DecryptionError",
    "KeyRing",
    "KeyRingError",
    "UnknownKeyError",
    "decode_key",
    "load_or_create_dev_key",
]

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyRingError(ValueError):
    """The configured keys are unusable (the message names which and why)."""


class UnknownKeyError(LookupError):
    """Data was sealed with a key id the ring does not hold."""

    def __init__(self, key_id: str, known: tuple[str, ...]) -> None:
        self.key_id = key_id
        super().__init__(
            f"encrypted data names key id {key_id!r}, which is not in encryption_keys "
            f"(configured: {', '.join(known) or 'none'}); add that key back to open it"
        )


class DecryptionError(ValueError):
    """Ciphertext does not open: wrong key material, tampering, or moved to another place."""


def decode_key(key_id: str, text: str) -> bytes:
    """The 32 key bytes of `text` (standard or URL-safe base64).

    Raises:
        KeyRingError: the id is malformed or the text is not base64 of exactly 32 bytes.
    """
    if not _KEY_ID.fullmatch(key_id):
        raise KeyRingError(
            f"encryption key id {key_id!r} must be 1-64 characters of letters, digits, . _ -"
        )
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        raw = (
            base64.urlsafe_b64decode(padded)
            if "-" in cleaned or "_" in cleaned
            else base64.b64decode(padded, validate=True)
        )
    except (binascii.Error, ValueError):
        raise KeyRingError(f"encryption key {key_id!r} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyRingError(
            f"encryption key {key_id!r} must be {KEY_BYTES} bytes (base64 of 32 random bytes, "
            f"e.g. `openssl rand -base64 32`), got {len(raw)}"
        )
    return raw


@dataclass(frozen=True)
class KeyRing:
    """AES-256-GCM keys by id; `active_id` seals, every key opens what it sealed.

    Args:
        keys: Key id -> 32 raw key bytes.
        active_id: The id that seals new data (must be in `keys`).
    """

    keys: Mapping[str, bytes] = field(repr=False)
    active_id: str

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            raise KeyRingError(
                f"encryption_active_key {self.active_id!r} is not one of encryption_keys "
                f"({', '.join(sorted(self.keys)) or 'none'})"
            )
        for key_id, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"encryption key {key_id!r} must be {KEY_BYTES} bytes")
        # One AESGCM object per key, built once (not per value).
        object.__setattr__(self, "_ciphers", {kid: AESGCM(k) for kid, k in self.keys.items()})

    def __repr__(self) -> str:
        return f"KeyRing(active_id={self.active_id!r}, key_ids={sorted(self.keys)!r})"

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id in the ring, sorted."""
        return tuple(sorted(self.keys))

    def seal(self, plaintext: bytes, associated: bytes) -> tuple[str, bytes, bytes]:
        """Encrypt with the active key: (key id, nonce, ciphertext with tag).

        Args:
            plaintext: What to hide.
            associated: Authenticated, not encrypted: where the value belongs (opening it
                with other associated data fails).
        """
        nonce = os.urandom(NONCE_BYTES)
        cipher: AESGCM = self._ciphers[self.active_id]  # type: ignore[attr-defined]
        return self.active_id, nonce, cipher.encrypt(nonce, plaintext, associated)

    def open(self, key_id: str, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
        """Decrypt what `seal` produced.

        Raises:
            UnknownKeyError: `key_id` is not in the ring.
            DecryptionError: the ciphertext, nonce or associated data do not match.
        """
        cipher: AESGCM | None = self._ciphers.get(key_id)  # type: ignore[attr-defined]
        if cipher is None:
            raise UnknownKeyError(key_id, self.key_ids)
        try:
            return cipher.decrypt(nonce, ciphertext, associated)
        except InvalidTag:
            raise DecryptionError(
                f"encrypted data under key {key_id!r} does not authenticate (wrong key material "
                "for that id, or the data was altered or moved)"
            ) from None

    @classmethod
    def from_texts(cls, keys: Mapping[str, str], active_id: str | None) -> KeyRing | None:
        """A ring from base64 texts by id (as settings hold them); None without keys.

        Raises:
            KeyRingError: a key is malformed, or which key is active is unclear.
        """
        if not keys:
            if active_id:
                raise KeyRingError("encryption_active_key is set but encryption_keys is empty")
            return None
        decoded = {kid: decode_key(kid, text) for kid, text in keys.items()}
        if active_id is None:
            if len(decoded) != 1:
                raise KeyRingError(
                    "encryption_active_key must name the key that encrypts new data when "
                    "encryption_keys holds more than one key"
                )
            active_id = next(iter(decoded))
        return cls(keys=decoded, active_id=active_id)


def load_or_create_dev_key(path: Path) -> tuple[dict[str, str], str, bool]:
    """The development key ring kept in `path` (created, owner-only, on first use).

    Returns:
        (key id -> base64 key, active id, whether the file was created now).

    Raises:
        KeyRingError: the file exists but is not a key file this function wrote.
    """
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            keys = {str(k): str(v) for k, v in stored["keys"].items()}
            active = str(stored["active"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyRingError(
                f"{path} is not a dev key file (delete it to create a new one; "
                "data encrypted with the old key is then unreadable)"
            ) from None
        return keys, active, False
    key_id = "dev-" + secrets.token_hex(4)
    keys = {key_id: base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")}
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with owner-only permissions from the start (no window where others can read).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"active": key_id, "keys": keys}, handle)
    return keys, key_id, True
