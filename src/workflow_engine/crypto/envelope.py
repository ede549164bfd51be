"""Sealed JSON values: `{"$enc": "v1", "kid": ..., "nonce": ..., "ct": ...}` in place of a value.

A value is sealed for one place: its instance id and the name it is stored under are the
associated data of AES-GCM, so a ciphertext copied to another instance or another variable
does not open. Inside a larger JSON document (an event's data) the name is the nearest
mapping key above the value, which both `seal_tree` and `open_tree` derive the same way.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping
from typing import Any

from workflow_engine.crypto.keyring import KeyRing, UnknownKeyError

__all__ = [
    "ENVELOPE_MARK",
    "ENVELOPE_VERSION",
    "envelope_key_ids",
    "is_envelope",
    "open_tree",
    "open_value",
    "rekey_tree",
    "seal_tree",
    "seal_value",
]

ENVELOPE_MARK = "$enc"
ENVELOPE_VERSION = "v1"
_FIELDS = frozenset({ENVELOPE_MARK, "kid", "nonce", "ct"})
_MAX_DEPTH = 64


def is_envelope(value: Any) -> bool:
    """Whether `value` is a sealed value (and not ordinary data)."""
    return (
        isinstance(value, Mapping)
        and value.get(ENVELOPE_MARK) == ENVELOPE_VERSION
        and _FIELDS.issubset(value.keys())
    )


def _associated(instance_id: str, name: str) -> bytes:
    return json.dumps(["wfe-var", instance_id, name], separators=(",", ":")).encode()


def seal_value(ring: KeyRing, value: Any, *, instance_id: str, name: str) -> dict[str, str]:
    """`value` (any JSON value) sealed with the active key for `instance_id` / `name`."""
    plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    kid, nonce, ciphertext = ring.seal(plaintext, _associated(instance_id, name))
    return {
        ENVELOPE_MARK: ENVELOPE_VERSION,
        "kid": kid,
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "ct": base64.b64encode(ciphertext).decode("ascii"),
    }


def open_value(
    ring: KeyRing | None, envelope: Mapping[str, Any], *, instance_id: str, name: str
) -> Any:
    """The value inside `envelope`.

    Raises:
        UnknownKeyError: the envelope's key id is not in `ring` (or there is no ring).
        DecryptionError: it does not authenticate for this instance and name.
    """
    kid = str(envelope["kid"])
    if ring is None:
        raise UnknownKeyError(kid, ())
    plaintext = ring.open(
        kid,
        base64.b64decode(envelope["nonce"]),
        base64.b64decode(envelope["ct"]),
        _associated(instance_id, name),
    )
    return json.loads(plaintext)


def seal_tree(
    ring: KeyRing,
    data: Any,
    *,
    instance_id: str,
    names: Collection[str],
    values: Collection[str] = (),
    name: str = "",
) -> Any:
    """A copy of `data` with what is sensitive sealed.

    Sealed: the value under any mapping key in `names` (at any depth), and any string that
    contains one of `values` (a sensitive value copied under another name, or quoted in an
    error message). Envelopes already present stay as they are.

    Args:
        ring: The keys.
        data: A JSON value.
        instance_id: Bound into every envelope.
        names: Sensitive variable names.
        values: Known sensitive string values (callers leave out very short ones).
        name: The name `data` itself is stored under ("" for a whole document).
    """
    return _seal(ring, data, instance_id, frozenset(names), frozenset(values), name, 0)


def _seal(
    ring: KeyRing,
    data: Any,
    instance_id: str,
    names: frozenset[str],
    values: frozenset[str],
    name: str,
    depth: int,
) -> Any:
    if isinstance(data, str):
        if values and (data in values or any(value in data for value in values)):
            return seal_value(ring, data, instance_id=instance_id, name=name)
        return data
    if depth > _MAX_DEPTH:
        return data
    if isinstance(data, Mapping):
        if is_envelope(data):
            return data
        sealed: dict[str, Any] = {}
        for key, item in data.items():
            if key in names and item is not None and not is_envelope(item):
                sealed[key] = seal_value(ring, item, instance_id=instance_id, name=key)
            else:
                sealed[key] = _seal(ring, item, instance_id, names, values, key, depth + 1)
        return sealed
    if isinstance(data, list | tuple):
        return [_seal(ring, item, instance_id, names, values, name, depth + 1) for item in data]
    return data


def open_tree(
    ring: KeyRing | None,
    data: Any,
    *,
    instance_id: str,
    name: str = "",
    opened: list[Any] | None = None,
) -> Any:
    """`data` with every envelope in it replaced by its value (unchanged when none).

    Args:
        ring: The keys.
        data: A JSON value as stored.
        instance_id: The instance the envelopes were sealed for.
        name: The name `data` is stored under ("" for a whole document).
        opened: When given, every value taken out of an envelope is appended to it.

    Raises:
        UnknownKeyError: an envelope names a key the ring does not hold.
        DecryptionError: an envelope does not authenticate here.
    """
    if not _has_envelope(data, 0):
        return data
    return _open(ring, data, instance_id, name, 0, opened)


def _has_envelope(data: Any, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(data, Mapping):
        if ENVELOPE_MARK in data and is_envelope(data):
            return True
        return any(_has_envelope(item, depth + 1) for item in data.values())
    if isinstance(data, list | tuple):
        return any(_has_envelope(item, depth + 1) for item in data)
    return False


def _open(
    ring: KeyRing | None,
    data: Any,
    instance_id: str,
    name: str,
    depth: int,
    opened: list[Any] | None,
) -> Any:
    if depth > _MAX_DEPTH:
        return data
    if isinstance(data, Mapping):
        if is_envelope(data):
            value = open_value(ring, data, instance_id=instance_id, name=name)
            if opened is not None:
                opened.append(value)
            return value
        return {
            key: _open(ring, item, instance_id, key, depth + 1, opened)
            for key, item in data.items()
        }
    if isinstance(data, list | tuple):
        return [_open(ring, item, instance_id, name, depth + 1, opened) for item in data]
    return data


def envelope_key_ids(data: Any) -> set[str]:
    """The key ids of every envelope in `data`."""
    found: set[str] = set()
    _kids(data, found, 0)
    return found


def _kids(data: Any, found: set[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, Mapping):
        if is_envelope(data):
            found.add(str(data["kid"]))
            return
        for item in data.values():
            _kids(item, found, depth + 1)
    elif isinstance(data, list | tuple):
        for item in data:
            _kids(item, found, depth + 1)


def rekey_tree(ring: KeyRing, data: Any, *, instance_id: str, name: str = "") -> tuple[Any, bool]:
    """`data` with every envelope not sealed by the active key re-sealed by it.

    Returns:
        (the new data, whether anything changed).

    Raises:
        UnknownKeyError: an envelope names a key the ring does not hold.
    """
    kids = envelope_key_ids(data)
    if not kids or kids == {ring.active_id}:
        return data, False
    return _rekey(ring, data, instance_id, name, 0), True


def _rekey(ring: KeyRing, data: Any, instance_id: str, name: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return data
    if isinstance(data, Mapping):
        if is_envelope(data):
            if data["kid"] == ring.active_id:
                return data
            value = open_value(ring, data, instance_id=instance_id, name=name)
            return seal_value(ring, value, instance_id=instance_id, name=name)
        return {key: _rekey(ring, item, instance_id, key, depth + 1) for key, item in data.items()}
    if isinstance(data, list | tuple):
        return [_rekey(ring, item, instance_id, name, depth + 1) for item in data]
    return data
