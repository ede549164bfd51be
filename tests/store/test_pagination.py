"""Page tokens: opaque, tamper-evident about their filters, clear errors."""

from __future__ import annotations

import base64

import pytest

from workflow_engine.store.pagination import (
    MAX_PAGE_SIZE,
    InvalidPageTokenError,
    check_page_size,
    decode_page_token,
    encode_page_token,
    filters_fingerprint,
)


def test_round_trip_and_url_safety() -> None:
    fp = filters_fingerprint({"key": "a/b+c", "latest": True})
    token = encode_page_token([42, "2024-01-01T00:00:00+00:00"], fp)
    assert all(c.isalnum() or c in "-_" for c in token)
    assert decode_page_token(token, fp) == [42, "2024-01-01T00:00:00+00:00"]


def test_fingerprint_is_order_independent_and_value_sensitive() -> None:
    assert filters_fingerprint({"a": 1, "b": None}) == filters_fingerprint({"b": None, "a": 1})
    assert filters_fingerprint({"a": 1}) != filters_fingerprint({"a": 2})
    assert filters_fingerprint({"a": None}) != filters_fingerprint({"a": ""})


def test_token_from_other_filters_is_refused() -> None:
    token = encode_page_token([1], filters_fingerprint({"key": "a"}))
    with pytest.raises(InvalidPageTokenError, match="different filters"):
        decode_page_token(token, filters_fingerprint({"key": "b"}))


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "",
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(b'{"v":99,"k":[1],"f":"x"}').decode(),
        base64.urlsafe_b64encode(b'{"v":1,"k":1,"f":"x"}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidPageTokenError, match="malformed"):
        decode_page_token(token, "x")


def test_invalid_page_token_is_a_value_error() -> None:
    assert issubclass(InvalidPageTokenError, ValueError)


@pytest.mark.parametrize("size", [0, -1, MAX_PAGE_SIZE + 1, True, 2.5])
def test_bad_page_sizes(size: object) -> None:
    with pytest.raises(ValueError, match="page_size"):
        check_page_size(size)  # type: ignore[arg-type]


def test_good_page_sizes() -> None:
    check_page_size(1)
    check_page_size(MAX_PAGE_SIZE)
