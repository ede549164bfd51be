"""The Temporal payload codec: every payload encrypted, unencrypted ones pass through."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from tests.crypto.support import ring
from workflow_engine.crypto.codec import (
    ENCRYPTED_ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    data_converter_for,
)
from workflow_engine.crypto.keyring import KeyRing, UnknownKeyError


async def test_payloads_round_trip_and_hide_their_content() -> None:
    codec = EncryptionCodec(ring("k1"))
    (plain,) = DataConverter.default.payload_converter.to_payloads([{"pw": "hunter2-codec"}])
    (encoded,) = await codec.encode([plain])
    assert encoded.metadata["encoding"] == ENCRYPTED_ENCODING
    assert encoded.metadata[KEY_ID_METADATA] == b"k1"
    assert b"hunter2-codec" not in encoded.SerializeToString()
    (decoded,) = await codec.decode([encoded])
    assert decoded == plain


async def test_unencrypted_payloads_pass_through_decoding() -> None:
    codec = EncryptionCodec(ring("k1"))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}')
    assert await codec.decode([plain]) == [plain]


async def test_old_keys_still_decode_and_unknown_ones_are_named() -> None:
    old = ring("k1")
    (encoded,) = await EncryptionCodec(old).encode([Payload(data=b"x")])
    rotated = KeyRing(keys={**old.keys, **ring("k2").keys}, active_id="k2")
    assert (await EncryptionCodec(rotated).decode([encoded]))[0].data == b"x"
    with pytest.raises(UnknownKeyError, match="'k1'"):
        await EncryptionCodec(ring("k2")).decode([encoded])


def test_converter_without_keys_is_the_default() -> None:
    assert data_converter_for(None) is DataConverter.default
    converter = data_converter_for(ring("k1"))
    assert isinstance(converter.payload_codec, EncryptionCodec)
