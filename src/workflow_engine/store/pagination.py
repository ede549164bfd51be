"""Opaque page tokens for keyset pagination, bound to the filters they were issued for.

A token carries the sort key of the last row of a page and a fingerprint of the query's
filters. Reusing a token with other filters would silently skip or repeat rows, so it is
refused with a clear error instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

#: Bumped if the token layout changes; older tokens are then rejected as malformed.
_TOKEN_VERSION: Final = 1
#: Largest page any repository returns.
MAX_PAGE_SIZE: Final = 1000


class InvalidPageTokenError(ValueError):
    """A page token that is malformed or was issued for a different query."""


def check_page_size(page_size: int) -> None:
    """Reject a page size outside ``1 .. MAX_PAGE_SIZE``.

    Raises:
        ValueError: naming ``page_size`` and the allowed range.

    """
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ValueError(f"page_size must be an integer, got {page_size!r}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")


def filters_fingerprint(filters: Mapping[str, Any]) -> str:
    """Hash a query's filters (JSON-serialisable values) into a short stable fingerprint."""
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def encode_page_token(last_key: list[Any], fingerprint: str) -> str:
    """Build the token that resumes after the row whose sort key is ``last_key``.

    Args:
        last_key: The sort-key values of the last row returned (JSON-serialisable).
        fingerprint: :func:`filters_fingerprint` of the query.

    """
    payload = {"v": _TOKEN_VERSION, "k": last_key, "f": fingerprint}
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> list[Any]:
    """Return the sort key stored in ``token`` after checking it belongs to this query.

    Args:
        token: A token from :func:`encode_page_token`.
        fingerprint: :func:`filters_fingerprint` of the current query.

    Raises:
        InvalidPageTokenError: The token is malformed, or was issued for other filters.

    """
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InvalidPageTokenError(
            "page_token is malformed: pass back next_page_token exactly as returned"
        ) from exc
    if (
        not isinstance(payload, dict)
        or payload.get("v") != _TOKEN_VERSION
        or not isinstance(payload.get("k"), list)
        or not isinstance(payload.get("f"), str)
    ):
        raise InvalidPageTokenError(
            "page_token is malformed: pass back next_page_token exactly as returned"
        )
    if payload["f"] != fingerprint:
        raise InvalidPageTokenError(
            "page_token was issued for a query with different filters; repeat the same "
            "filters with a page token, or start again without one"
        )
    key: list[Any] = payload["k"]
    return key
