"""Temporal payload encryption: every payload the engine sends to Temporal is AES-GCM sealed.

The encoded payload keeps Temporal's conventions: metadata `encoding: binary/encrypted`
(so tools that cannot decode recognise it) and `encryption-key-id`; its data is nonce +
ciphertext of the original payload's serialized protobuf. Payloads that are not encrypted
(histories recorded before encryption was turned on) pass through decoding unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import HeaderCodecBehavior
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from workflow_engine.crypto.keyring import NONCE_BYTES, DecryptionError, KeyRing

__all__ = [
    "ENCRYPTED_ENCODING",
    "KEY_ID_METADATA",
    "EncryptionCodec",
    "client_encryption_options",
    "data_converter_for",
]

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
#: Associated data of every payload: binds the ciphertext to this use (not to one workflow,
#: which the codec does not know; Temporal keeps payloads in their workflow's history).
_ASSOCIATED = b"wfe-temporal-payload-v1"


class EncryptionCodec(PayloadCodec):
    """Encrypts payloads with the ring's active key; decrypts with the key each one names.

    Args:
        ring: The keys (`Settings.encryption_keys`).
    """

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    @property
    def ring(self) -> KeyRing:
        """The key ring this codec uses."""
        return self._ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload (one AES-GCM operation per payload)."""
        return [self.encode_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt encrypted payloads; others pass through unchanged.

        Raises:
            UnknownKeyError: a payload names a key id the ring does not hold.
            DecryptionError: a payload does not authenticate.
        """
        return [self.decode_one(p) for p in payloads]

    def encode_one(self, payload: Payload) -> Payload:
        """One payload, encrypted."""
        kid, nonce, ciphertext = self._ring.seal(payload.SerializeToString(), _ASSOCIATED)
        return Payload(
            metadata={"encoding": ENCRYPTED_ENCODING, KEY_ID_METADATA: kid.encode()},
            data=nonce + ciphertext,
        )

    def decode_one(self, payload: Payload) -> Payload:
        """One payload, decrypted (unchanged when it is not encrypted)."""
        if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        if len(payload.data) <= NONCE_BYTES:
            raise DecryptionError("encrypted payload is too short to hold a nonce")
        plaintext = self._ring.open(
            kid, payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], _ASSOCIATED
        )
        decoded = Payload()
        decoded.ParseFromString(plaintext)
        return decoded


def data_converter_for(ring: KeyRing | None) -> DataConverter:
    """Temporal's default converter, with payload encryption when there is a key ring.

    With a ring, failures (messages and stack traces) are encoded into payloads too.
    """
    if ring is None:
        return DataConverter.default
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=EncryptionCodec(ring),
        # Failure messages and stack traces are no payloads: an exception message quoting a
        # secret would sit in the history in clear. Encoded attributes move them into a
        # payload, which the codec encrypts.
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def client_encryption_options(ring: KeyRing | None) -> dict[str, Any]:
    """Keyword arguments of `Client.connect` (or `Client(...)`) for payload encryption.

    Headers are encoded too: the engine's own header (the projection batch riding on an
    activity, `engine.piggyback`) carries variable values. Without a ring: no encryption.
    """
    if ring is None:
        return {"data_converter": DataConverter.default}
    return {
        "data_converter": data_converter_for(ring),
        "header_codec_behavior": HeaderCodecBehavior.CODEC,
    }
