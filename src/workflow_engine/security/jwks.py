"""Public keys of asymmetric tokens (RS*, PS*, ES*, EdDSA) from a JWKS URL or file.

Keys are cached for `cache_seconds`; a token naming a key id the cache does not hold refetches
the set at once (the identity provider rotated its keys), but at most every
`min_refetch_seconds`, so a flood of tokens with made-up key ids cannot hammer the provider.
When a refetch fails, the keys already known keep working. When a fetch fails and no key is
known, the failure is remembered for `failure_backoff_seconds`: requests in that window are
answered with the same 503 from memory instead of each one hitting the (down) provider again,
and the failure is logged once per window, not once per request.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
import jwt
import structlog

from workflow_engine.services.errors import UnauthenticatedError, UnavailableError

_log = structlog.get_logger(__name__)

#: Key type (`kty`) each algorithm family needs; ES* also fixes the curve.
_KTY_OF_PREFIX = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_CURVE_OF_ALG = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
#: A JWKS document larger than this is refused (a real one holds a few keys, a few KiB).
MAX_JWKS_BYTES = 1_048_576


@dataclass(frozen=True, slots=True)
class _Key:
    jwk: jwt.PyJWK
    raw: dict[str, Any]


class JwksKeySource:
    """The signing keys of an identity provider, fetched lazily and cached.

    Args:
        location: An http(s) URL, a `file://` URL or a file path of a JWKS JSON document.
        cache_seconds: How long a fetched key set is used before it is fetched again.
        min_refetch_seconds: Least time between two fetches caused by unknown key ids.
        timeout_seconds: HTTP timeout of one fetch.
        failure_backoff_seconds: After a failed fetch with no key cached, how long the failure
            is answered from memory before the next fetch is tried.
    """

    def __init__(
        self,
        location: str,
        *,
        cache_seconds: float = 300.0,
        min_refetch_seconds: float = 10.0,
        timeout_seconds: float = 5.0,
        failure_backoff_seconds: float = 5.0,
    ) -> None:
        self._location = location
        self._cache_seconds = cache_seconds
        self._min_refetch_seconds = min_refetch_seconds
        self._timeout = timeout_seconds
        self._keys: dict[str | None, _Key] = {}
        self._fetched_at: float | None = None
        self._failure_backoff = failure_backoff_seconds
        #: The last fetch failure while no key was known, and until when it is repeated.
        self._failure: UnavailableError | None = None
        self._failed_until = 0.0
        self._lock = asyncio.Lock()

    @property
    def location(self) -> str:
        """Where the keys come from."""
        return self._location

    async def key_for(self, kid: str | None, alg: str) -> jwt.PyJWK:
        """The key that verifies a token with header `kid` and `alg`.

        Raises:
            UnauthenticatedError: no key with that id, or the key does not fit `alg`.
            UnavailableError: the key set cannot be fetched and none is cached.
        """
        self._raise_remembered_failure()
        seen = self._fetched_at
        if seen is None or time.monotonic() - seen >= self._cache_seconds:
            await self._refresh(seen=seen)
        key = self._pick(kid, alg)
        if key is None and self._may_refetch():
            # An unknown key id usually means the provider rotated its keys.
            await self._refresh(seen=self._fetched_at)
            key = self._pick(kid, alg)
        if key is None:
            which = f"key id '{kid}'" if kid is not None else f"no key id and no single {alg} key"
            raise UnauthenticatedError(
                f"token signed with an unknown key: {which} in the configured JWKS"
            )
        _check_fits(key, kid, alg)
        return key.jwk

    def _raise_remembered_failure(self) -> None:
        """Answer from memory while a fetch failed recently and no key is known."""
        failure = self._failure
        if failure is not None and not self._keys and time.monotonic() < self._failed_until:
            raise UnavailableError(failure.message)

    def _may_refetch(self) -> bool:
        return (
            self._fetched_at is None
            or time.monotonic() - self._fetched_at >= self._min_refetch_seconds
        )

    def _pick(self, kid: str | None, alg: str) -> _Key | None:
        if kid is not None:
            return self._keys.get(kid)
        # Without a key id, a lone key of the right type is unambiguous; several are not.
        fitting = [k for k in self._keys.values() if _fits(k, alg)]
        return fitting[0] if len(fitting) == 1 else None

    async def _refresh(self, *, seen: float | None) -> None:
        """Fetch the key set, unless another request did since this one looked (`seen`)."""
        async with self._lock:
            # Requests that queued behind a failed fetch share its answer instead of refetching.
            self._raise_remembered_failure()
            if self._fetched_at != seen:
                return
            try:
                document = await self._load()
                keys = _parse(document)
            except UnavailableError as exc:
                if not self._keys:
                    self._failure = exc
                    self._failed_until = time.monotonic() + self._failure_backoff
                    _log.warning(
                        "jwks_unavailable",
                        source=self._location,
                        error=exc.message,
                        retry_in_seconds=self._failure_backoff,
                    )
                    raise
                _log.warning("jwks_refresh_failed_using_cached_keys", error=exc.message)
                # Keep the known keys, and try again after the short back-off, not a full TTL.
                self._fetched_at = (
                    time.monotonic() - self._cache_seconds + self._min_refetch_seconds
                )
                return
            self._keys = keys
            self._failure = None
            self._fetched_at = time.monotonic()
            _log.info("jwks_loaded", source=self._location, keys=len(keys))

    async def _load(self) -> Any:
        parsed = urlparse(self._location)
        if parsed.scheme in ("http", "https"):
            return await self._fetch_http()
        path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(self._location)
        try:
            raw = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise UnavailableError(f"cannot read the JWKS file {str(path)!r}: {exc}") from exc
        return _decode(raw, str(path))

    async def _fetch_http(self) -> Any:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self._location, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise UnavailableError(
                f"cannot fetch the JWKS from {self._location}: {type(exc).__name__} {exc}"
            ) from exc
        if response.status_code != 200:
            raise UnavailableError(
                f"cannot fetch the JWKS from {self._location}: HTTP {response.status_code}"
            )
        return _decode(response.content, self._location)


def _decode(raw: bytes, where: str) -> Any:
    if len(raw) > MAX_JWKS_BYTES:
        raise UnavailableError(f"the JWKS at {where} is larger than {MAX_JWKS_BYTES} bytes")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise UnavailableError(f"the JWKS at {where} is not JSON: {exc}") from exc


def _parse(document: Any) -> dict[str | None, _Key]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise UnavailableError('the JWKS is not a JSON object with a "keys" list')
    keys: dict[str | None, _Key] = {}
    for index, entry in enumerate(document["keys"]):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue  # encryption keys never verify signatures
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            # One unusable key (an unsupported type) must not disable the others.
            _log.warning("jwks_key_skipped", index=index, kid=entry.get("kid"), error=str(exc))
            continue
        kid = entry.get("kid")
        keys[kid if isinstance(kid, str) else None] = _Key(key, entry)
    if not keys:
        raise UnavailableError("the JWKS holds no usable signature key")
    return keys


def _fits(key: _Key, alg: str) -> bool:
    # The key's own `alg` (when it declares one), type and curve must all match the token's:
    # otherwise a token could choose how its signature is checked.
    declared = key.raw.get("alg")
    if isinstance(declared, str) and declared != alg:
        return False
    kty = _KTY_OF_PREFIX.get(alg[:2])
    if kty is None or key.raw.get("kty") != kty:
        return False
    curve = _CURVE_OF_ALG.get(alg)
    return curve is None or key.raw.get("crv") == curve


def _check_fits(key: _Key, kid: str | None, alg: str) -> None:
    if not _fits(key, alg):
        raise UnauthenticatedError(
            f"token algorithm {alg} does not match the type of key '{kid}' in the JWKS"
        )
