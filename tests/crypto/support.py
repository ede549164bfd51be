"""Key material for the encryption tests (random per run: nothing secret is committed)."""

from __future__ import annotations

import base64
import os

from workflow_engine.crypto.keyring import KeyRing


def new_key_text() -> str:
    """Base64 of 32 random bytes, as `encryption_keys` holds it."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


def ring(*key_ids: str, active: str | None = None) -> KeyRing:
    """A ring of fresh keys; the last id (or `active`) is active."""
    found = KeyRing.from_texts({kid: new_key_text() for kid in key_ids}, active or key_ids[-1])
    assert found is not None
    return found
