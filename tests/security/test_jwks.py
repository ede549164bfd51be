"""JwksKeySource over a real HTTP server and files: caching, rotation, failures."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.security.support import (
    DEFAULT_JWKS,
    EC_KEY,
    OTHER_RSA_KEY,
    RSA_KEY,
    JwksServer,
    claims,
    es256,
    jwks,
    rs256,
)
from workflow_engine.security.jwks import JwksKeySource
from workflow_engine.security.tokens import TokenVerifier
from workflow_engine.services.errors import UnauthenticatedError, UnavailableError


async def test_keys_from_a_local_http_server_are_cached() -> None:
    with JwksServer(DEFAULT_JWKS).running() as server:
        verifier = TokenVerifier(jwks=JwksKeySource(server.url, cache_seconds=300))
        assert (await verifier.verify(rs256(claims("r")))).user_id == "r"
        assert (await verifier.verify(es256(claims("e")))).user_id == "e"
        assert (await verifier.verify(rs256(claims("r2")))).user_id == "r2"
        assert server.fetches == 1


async def test_an_unknown_kid_refetches_once_rotated_keys() -> None:
    with JwksServer(jwks((RSA_KEY, "old", "RS256"))).running() as server:
        source = JwksKeySource(server.url, cache_seconds=300, min_refetch_seconds=0)
        verifier = TokenVerifier(jwks=source)
        assert (await verifier.verify(rs256(claims(), kid="old"))).user_id == "alice"
        server.document = jwks((RSA_KEY, "old", "RS256"), (OTHER_RSA_KEY, "new", "RS256"))
        token = rs256(claims("n"), kid="new", key=OTHER_RSA_KEY)
        assert (await verifier.verify(token)).user_id == "n"
        assert server.fetches == 2


async def test_unknown_kids_do_not_hammer_the_provider() -> None:
    with JwksServer(DEFAULT_JWKS).running() as server:
        verifier = TokenVerifier(jwks=JwksKeySource(server.url, min_refetch_seconds=60))
        assert (await verifier.verify(rs256(claims()))).user_id == "alice"
        for n in range(5):
            with pytest.raises(UnauthenticatedError, match="unknown key"):
                await verifier.verify(rs256(claims(), kid=f"made-up-{n}", key=OTHER_RSA_KEY))
        assert server.fetches == 1


async def test_unreachable_jwks_is_unavailable_not_unauthenticated() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verifier = TokenVerifier(jwks=JwksKeySource(f"http://127.0.0.1:{port}/jwks.json"))
    with pytest.raises(UnavailableError, match="cannot fetch the JWKS"):
        await verifier.verify(rs256(claims()))


async def test_cached_keys_survive_a_failed_refresh(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(DEFAULT_JWKS))
    verifier = TokenVerifier(jwks=JwksKeySource(str(path), cache_seconds=0, min_refetch_seconds=0))
    assert (await verifier.verify(rs256(claims()))).user_id == "alice"
    path.write_text("{not json")
    assert (await verifier.verify(rs256(claims("b")))).user_id == "b"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"keys": 3}', '"keys" list'),
        ('{"keys": [{"kty": "RSA", "kid": "broken"}]}', "no usable"),
        ('{"keys": [{"kty": "oct", "k": "c2VjcmV0", "use": "enc"}]}', "no usable"),
    ],
)
async def test_bad_jwks_documents_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(content)
    with pytest.raises(UnavailableError, match=message):
        await TokenVerifier(jwks=JwksKeySource(path.as_uri())).verify(rs256(claims()))


async def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnavailableError, match="cannot read the JWKS file"):
        await TokenVerifier(jwks=JwksKeySource(str(tmp_path / "nope.json"))).verify(rs256(claims()))


async def test_without_kid_a_single_fitting_key_is_used(tmp_path: Path) -> None:
    import jwt

    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks((RSA_KEY, "only-rsa", "RS256"), (EC_KEY, "ec", "ES256"))))
    verifier = TokenVerifier(jwks=JwksKeySource(str(path)))
    token = jwt.encode(claims("nokid"), RSA_KEY, algorithm="RS256")
    assert (await verifier.verify(token)).user_id == "nokid"
    path2 = tmp_path / "two.json"
    path2.write_text(json.dumps(jwks((RSA_KEY, "a", "RS256"), (OTHER_RSA_KEY, "b", "RS256"))))
    ambiguous = TokenVerifier(jwks=JwksKeySource(str(path2)))
    with pytest.raises(UnauthenticatedError, match="no key id"):
        await ambiguous.verify(token)


def _stopped_server_url() -> str:
    """The URL of a real JWKS server that served once and is now stopped (connection refused)."""
    with JwksServer(DEFAULT_JWKS).running() as server:
        url = server.url
    return url


async def test_a_down_provider_is_not_refetched_on_every_request() -> None:
    source = JwksKeySource(_stopped_server_url(), failure_backoff_seconds=0.5)
    verifier = TokenVerifier(jwks=source)
    with capture_logs() as logs:
        for _ in range(20):
            with pytest.raises(UnavailableError, match="cannot fetch the JWKS"):
                await verifier.verify(rs256(claims()))
    # One fetch (and one log line) for the whole window; the other 19 answered from memory.
    assert [e["event"] for e in logs].count("jwks_unavailable") == 1
    await asyncio.sleep(0.6)
    with capture_logs() as logs, pytest.raises(UnavailableError, match="cannot fetch the JWKS"):
        await verifier.verify(rs256(claims()))
    assert [e["event"] for e in logs].count("jwks_unavailable") == 1


async def test_concurrent_requests_share_one_failed_fetch() -> None:
    with JwksServer(DEFAULT_JWKS).running() as server:
        server.status = 503
        verifier = TokenVerifier(jwks=JwksKeySource(server.url, failure_backoff_seconds=30))
        results = await asyncio.gather(
            *(verifier.verify(rs256(claims())) for _ in range(10)), return_exceptions=True
        )
        assert all(isinstance(r, UnavailableError) for r in results), results
        assert server.fetches == 1


async def test_the_provider_is_asked_again_after_the_back_off() -> None:
    with JwksServer(DEFAULT_JWKS).running() as server:
        server.status = 500
        verifier = TokenVerifier(jwks=JwksKeySource(server.url, failure_backoff_seconds=0.3))
        for _ in range(5):
            with pytest.raises(UnavailableError, match="HTTP 500"):
                await verifier.verify(rs256(claims()))
        assert server.fetches == 1
        server.status = None  # the provider is back
        with pytest.raises(UnavailableError):
            await verifier.verify(rs256(claims()))  # still inside the window: from memory
        assert server.fetches == 1
        await asyncio.sleep(0.35)
        assert (await verifier.verify(rs256(claims("back")))).user_id == "back"
        assert server.fetches == 2
