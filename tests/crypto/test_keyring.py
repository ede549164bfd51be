"""The key ring: AES-256-GCM per key id, settings validation, the dev key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.crypto.support import new_key_text, ring
from workflow_engine.config import ConfigError, load_settings
from workflow_engine.crypto.keyring import (
    DecryptionError,
    KeyRing,
    KeyRingError,
    UnknownKeyError,
    load_or_create_dev_key,
)


def test_seal_and_open_round_trip_with_the_key_id_recorded() -> None:
    keys = ring("k1", "k2")
    kid, nonce, ciphertext = keys.seal(b"plain", b"where")
    assert kid == "k2"
    assert b"plain" not in ciphertext
    assert keys.open(kid, nonce, ciphertext, b"where") == b"plain"


def test_other_associated_data_or_key_material_does_not_open() -> None:
    keys = ring("k1")
    kid, nonce, ciphertext = keys.seal(b"plain", b"instance-a")
    with pytest.raises(DecryptionError, match="does not authenticate"):
        keys.open(kid, nonce, ciphertext, b"instance-b")
    impostor = ring("k1")  # same id, other key material
    with pytest.raises(DecryptionError):
        impostor.open(kid, nonce, ciphertext, b"instance-a")


def test_unknown_key_id_is_a_clear_error() -> None:
    old = ring("old")
    kid, nonce, ciphertext = old.seal(b"x", b"")
    with pytest.raises(UnknownKeyError, match="'old', which is not in encryption_keys") as info:
        ring("new").open(kid, nonce, ciphertext, b"")
    assert info.value.key_id == "old"


def test_repr_never_shows_key_material() -> None:
    text = new_key_text()
    keys = KeyRing.from_texts({"k1": text}, None)
    assert keys is not None
    assert text not in repr(keys)
    assert repr(keys) == "KeyRing(active_id='k1', key_ids=['k1'])"
    settings = load_settings(encryption_keys={"k1": text})
    assert text not in repr(settings)
    assert text not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("keys", "active", "message"),
    [
        ({"k1": base64.b64encode(os.urandom(16)).decode()}, None, "must be 32 bytes"),
        ({"k1": "not base64 !!"}, None, "is not base64"),
        ({"bad id!": new_key_text()}, None, "key id 'bad id!'"),
        ({"a": new_key_text(), "b": new_key_text()}, None, "must name the key"),
        ({"a": new_key_text()}, "b", "'b' is not one of encryption_keys"),
        ({}, "a", "encryption_keys is empty"),
    ],
)
def test_bad_key_settings_are_explained(
    keys: dict[str, str], active: str | None, message: str
) -> None:
    with pytest.raises(KeyRingError, match=message):
        KeyRing.from_texts(keys, active)
    with pytest.raises(ConfigError, match=message):
        load_settings(encryption_keys=keys, encryption_active_key=active)


def test_settings_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WFE_ENCRYPTION_KEYS", raising=False)
    assert load_settings().encryption_key_ring() is None
    text = new_key_text()
    monkeypatch.setenv("WFE_ENCRYPTION_KEYS", f'{{"k7": "{text}"}}')
    settings = load_settings()
    assert settings.encryption_keys == {"k7": SecretStr(text)}
    found = settings.encryption_key_ring()
    assert found is not None and found.active_id == "k7"


def test_url_safe_base64_is_accepted() -> None:
    raw = os.urandom(32)
    keys = KeyRing.from_texts({"k": base64.urlsafe_b64encode(raw).decode().rstrip("=")}, None)
    assert keys is not None and keys.keys["k"] == raw


def test_dev_key_file_is_created_once_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "encryption-keys.json"
    keys, active, created = load_or_create_dev_key(path)
    assert created and active in keys and active.startswith("dev-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_dev_key(path)
    assert again == (keys, active, False)
    assert KeyRing.from_texts(keys, active) is not None
    path.write_text("garbage")
    with pytest.raises(KeyRingError, match="is not a dev key file"):
        load_or_create_dev_key(path)
