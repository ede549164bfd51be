"""TokenVerifier: good tokens become principals; every malformed or forged one is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.support import (
    AUDIENCE,
    DEFAULT_JWKS,
    ISSUER,
    SECRET,
    bad_tokens,
    claims,
    es256,
    good_claims,
    hs256,
    rs256,
)
from workflow_engine.config import load_settings
from workflow_engine.security import Principal
from workflow_engine.security.jwks import JwksKeySource
from workflow_engine.security.tokens import (
    MAX_TOKEN_BYTES,
    ClaimNames,
    TokenVerifier,
    bearer_token,
    mint_token,
)
from workflow_engine.services.errors import UnauthenticatedError


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(DEFAULT_JWKS))
    return path


@pytest.fixture
def verifier(jwks_file: Path) -> TokenVerifier:
    return TokenVerifier(
        secret=SECRET,
        jwks=JwksKeySource(str(jwks_file)),
        issuer=ISSUER,
        audience=AUDIENCE,
    )


async def test_hs256_token_becomes_a_principal(verifier: TokenVerifier) -> None:
    token = hs256(good_claims("alice", roles=("user", "operator"), groups=("sales",)))
    assert await verifier.verify(token) == Principal(
        user_id="alice",
        groups=frozenset({"sales"}),
        roles=frozenset({"user", "operator"}),
        tenant_id="acme",
    )


async def test_rs256_and_es256_tokens_from_the_jwks(verifier: TokenVerifier) -> None:
    assert (await verifier.verify(rs256(good_claims("rita")))).user_id == "rita"
    assert (await verifier.verify(es256(good_claims("eve")))).user_id == "eve"


async def test_missing_tenant_is_the_default_tenant(verifier: TokenVerifier) -> None:
    assert (await verifier.verify(hs256(good_claims(tenant=None)))).tenant_id == ""


@pytest.mark.parametrize(("why", "token"), bad_tokens(), ids=[w for w, _ in bad_tokens()])
async def test_bad_tokens_are_refused_without_echoing_them(
    verifier: TokenVerifier, why: str, token: str
) -> None:
    with pytest.raises(UnauthenticatedError) as caught:
        await verifier.verify(token)
    assert caught.value.status == 401
    if len(token) > 8:
        assert token not in caught.value.message
        assert token.split(".")[0] not in caught.value.message or not token.split(".")[0]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (lambda: hs256(good_claims(ttl=-3600)), "expired"),
        (lambda: hs256(good_claims(nbf=int(time.time()) + 3600)), "not valid yet"),
        (lambda: hs256(good_claims(aud="x")), "audience"),
        (lambda: hs256(good_claims(iss="x")), "issuer"),
        (lambda: hs256(good_claims(), secret="z" * 32), "signature"),
        (lambda: "abc", "well-formed"),
        (lambda: jwt.encode(good_claims(), "k" * 64, algorithm="HS512"), "'HS512' is not accepted"),
    ],
)
async def test_messages_say_what_is_wrong(
    verifier: TokenVerifier, token: object, expected: str
) -> None:
    with pytest.raises(UnauthenticatedError, match=expected):
        await verifier.verify(token())  # type: ignore[operator]


async def test_leeway_tolerates_small_clock_skew(jwks_file: Path) -> None:
    lenient = TokenVerifier(secret=SECRET, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=60)
    assert (await lenient.verify(hs256(good_claims(ttl=-10)))).user_id == "alice"
    strict = TokenVerifier(secret=SECRET, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=0)
    with pytest.raises(UnauthenticatedError, match="expired"):
        await strict.verify(hs256(good_claims(ttl=-10)))


async def test_without_audience_setting_a_token_with_aud_is_refused() -> None:
    plain = TokenVerifier(secret=SECRET)
    assert (await plain.verify(hs256(claims()))).user_id == "alice"
    with pytest.raises(UnauthenticatedError, match="audience"):
        await plain.verify(hs256(claims(aud="someone")))


async def test_hs_token_refused_without_secret_and_rs_without_jwks(jwks_file: Path) -> None:
    only_jwks = TokenVerifier(jwks=JwksKeySource(str(jwks_file)))
    with pytest.raises(UnauthenticatedError, match="no shared secret"):
        await only_jwks.verify(hs256(claims()))
    only_secret = TokenVerifier(secret=SECRET)
    with pytest.raises(UnauthenticatedError, match="no JWKS"):
        await only_secret.verify(rs256(claims()))


async def test_configured_algorithms_restrict_what_is_accepted(jwks_file: Path) -> None:
    rs_only = TokenVerifier(secret=SECRET, jwks=JwksKeySource(str(jwks_file)), algorithms=["RS256"])
    assert (await rs_only.verify(rs256(claims()))).user_id == "alice"
    for token in (hs256(claims()), es256(claims())):
        with pytest.raises(UnauthenticatedError, match="not accepted"):
            await rs_only.verify(token)


async def test_nested_and_namespaced_claim_names() -> None:
    names = ClaimNames(
        user="preferred_username",
        groups="https://example.com/groups",
        roles="realm_access.roles",
        tenant="org.id",
    )
    verifier = TokenVerifier(secret=SECRET, claims=names)
    token = hs256(
        {
            "preferred_username": "kim",
            "https://example.com/groups": "a, b c",
            "realm_access": {"roles": ["operator"]},
            "org": {"id": "t9"},
            "exp": int(time.time()) + 60,
        }
    )
    assert await verifier.verify(token) == Principal(
        user_id="kim",
        groups=frozenset({"a", "b", "c"}),
        roles=frozenset({"operator"}),
        tenant_id="t9",
    )


async def test_mint_token_round_trips_through_the_verifier() -> None:
    names = ClaimNames(roles="realm_access.roles")
    token = mint_token(
        secret=SECRET,
        user_id="dev",
        groups=["g1", "g2"],
        roles=["admin"],
        tenant_id="t1",
        ttl_seconds=60,
        issuer=ISSUER,
        audience=AUDIENCE,
        claims=names,
    )
    verifier = TokenVerifier(secret=SECRET, issuer=ISSUER, audience=AUDIENCE, claims=names)
    assert await verifier.verify(token) == Principal(
        user_id="dev", groups=frozenset({"g1", "g2"}), roles=frozenset({"admin"}), tenant_id="t1"
    )
    expired = mint_token(secret=SECRET, user_id="dev", ttl_seconds=1, now=time.time() - 3600)
    with pytest.raises(UnauthenticatedError, match="expired"):
        await TokenVerifier(secret=SECRET).verify(expired)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user_id": ""}, "user_id"),
        ({"ttl_seconds": 0}, "ttl_seconds"),
        ({"algorithm": "RS256"}, "HS"),
    ],
)
def test_mint_token_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"secret": SECRET, "user_id": "u", **kwargs}
    with pytest.raises(ValueError, match=message):
        mint_token(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing bearer token"),
        ("", "missing bearer token"),
        ("Basic dXNlcjpwdw==", "Bearer scheme"),
        ("Bearer", "Bearer scheme"),
        ("Bearer   ", "no token"),
    ],
)
def test_bearer_header_parsing(header: str | None, message: str) -> None:
    with pytest.raises(UnauthenticatedError, match=message):
        bearer_token(header)
    assert bearer_token("bearer  abc ") == "abc"


async def test_oversized_token_refused_before_parsing(verifier: TokenVerifier) -> None:
    with pytest.raises(UnauthenticatedError, match="longer than"):
        await verifier.verify("a" * (MAX_TOKEN_BYTES + 1))


async def test_from_settings_follows_the_auth_settings(jwks_file: Path) -> None:
    s = load_settings(
        auth_enabled=True,
        auth_jwt_secret=SECRET,
        auth_jwks_url=jwks_file.as_uri(),
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
        auth_roles_claim="realm_access.roles",
    )
    verifier = TokenVerifier.from_settings(s)
    token = mint_token(
        secret=SECRET,
        user_id="x",
        roles=["operator"],
        issuer=ISSUER,
        audience=AUDIENCE,
        claims=ClaimNames(roles="realm_access.roles"),
    )
    assert (await verifier.verify(token)).roles == frozenset({"operator"})
    assert (await verifier.verify(rs256(good_claims("r")))).user_id == "r"  # JWKS via file://


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(max_size=400),
        st.lists(
            st.text(alphabet=st.characters(codec="ascii"), max_size=60), min_size=1, max_size=5
        ).map(".".join),
        st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    )
)
async def test_generated_strings_are_never_accepted(verifier: TokenVerifier, text: str) -> None:
    with pytest.raises(UnauthenticatedError):
        await verifier.verify(text)
