"""Sealed JSON values: bound to instance + name, found at any depth, re-keyed."""

from __future__ import annotations

import json

import pytest

from tests.crypto.support import ring
from workflow_engine.crypto.envelope import (
    envelope_key_ids,
    is_envelope,
    open_tree,
    open_value,
    rekey_tree,
    seal_tree,
    seal_value,
)
from workflow_engine.crypto.keyring import DecryptionError, KeyRing, UnknownKeyError


def test_values_of_every_json_type_round_trip() -> None:
    keys = ring("k1")
    for value in ["s3cret", 42, 1.5, True, None, {"a": [1, "b"]}, [1, 2]]:
        sealed = seal_value(keys, value, instance_id="i1", name="pw")
        assert is_envelope(sealed) and sealed["kid"] == "k1"
        assert open_value(keys, sealed, instance_id="i1", name="pw") == value


def test_an_envelope_moved_to_another_instance_or_name_does_not_open() -> None:
    keys = ring("k1")
    sealed = seal_value(keys, "s3cret", instance_id="i1", name="pw")
    with pytest.raises(DecryptionError):
        open_value(keys, sealed, instance_id="i2", name="pw")
    with pytest.raises(DecryptionError):
        open_value(keys, sealed, instance_id="i1", name="other")


def test_seal_tree_by_name_at_any_depth_and_copies_by_value() -> None:
    keys = ring("k1")
    data = {
        "variables": {"password": "hunter2-pw", "user": "ann"},
        "input": {"creds": [{"password": "hunter2-pw"}], "pw_copy": "hunter2-pw"},
        "message": "not a whole value: hunter2-pw",
    }
    sealed = seal_tree(keys, data, instance_id="i1", names={"password"}, values={"hunter2-pw"})
    assert "hunter2-pw" not in json.dumps(sealed)
    assert sealed["variables"]["user"] == "ann"
    assert is_envelope(sealed["input"]["pw_copy"])
    assert is_envelope(sealed["message"])  # a text quoting the value is sealed whole
    assert open_tree(keys, sealed, instance_id="i1") == data
    # Sealing again changes nothing: envelopes stay as they are.
    assert seal_tree(keys, sealed, instance_id="i1", names={"password"}) == sealed


def test_open_tree_without_envelopes_returns_the_same_object() -> None:
    data = {"a": [1, {"b": "c"}]}
    assert open_tree(ring("k1"), data, instance_id="i1") is data


def test_unknown_key_or_no_ring_is_a_clear_error() -> None:
    sealed = seal_tree(ring("old"), {"pw": "value-1"}, instance_id="i", names={"pw"})
    with pytest.raises(UnknownKeyError, match="'old'"):
        open_tree(ring("new"), sealed, instance_id="i")
    with pytest.raises(UnknownKeyError, match="configured: none"):
        open_tree(None, sealed, instance_id="i")


def test_rekey_moves_every_envelope_to_the_active_key() -> None:
    old = ring("k1")
    data = seal_tree(old, {"pw": "v-1", "x": {"pw": "v-2"}}, instance_id="i", names={"pw"})
    assert envelope_key_ids(data) == {"k1"}
    both = KeyRing(keys={**old.keys, **ring("k2").keys}, active_id="k2")
    rekeyed, changed = rekey_tree(both, data, instance_id="i")
    assert changed and envelope_key_ids(rekeyed) == {"k2"}
    assert open_tree(both, rekeyed, instance_id="i") == {"pw": "v-1", "x": {"pw": "v-2"}}
    again, changed_again = rekey_tree(both, rekeyed, instance_id="i")
    assert not changed_again and again is rekeyed
