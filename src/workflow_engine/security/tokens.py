"""Bearer JWTs: checking them into a `Principal`, and minting development tokens.

HS* tokens are checked with the configured shared secret only; RS*/PS*/ES*/EdDSA tokens with a
key from the configured JWKS only. The token's `alg` header merely selects which of the two,
and must be one of the configured algorithms, so an attacker can neither send an unsigned
(`alg: none`) token nor have an HMAC checked with a public key (algorithm confusion).
Error messages say what is wrong with a token and never repeat the token itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from workflow_engine.config import Settings
from workflow_engine.security.jwks import JwksKeySource
from workflow_engine.security.principal import Principal
from workflow_engine.services.errors import UnauthenticatedError

__all__ = ["MAX_TOKEN_BYTES", "ClaimNames", "TokenVerifier", "bearer_token", "mint_token"]

#: A longer token is refused before any parsing (real ones are a few KiB at most).
MAX_TOKEN_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class ClaimNames:
    """Which claims carry the identity; a dotted name reaches into nested objects.

    A name is first looked up as a whole (namespaced claims such as
    `https://example.com/roles` contain dots), then as a path (`realm_access.roles`).
    """

    user: str = "sub"
    groups: str = "groups"
    roles: str = "roles"
    tenant: str = "tenant_id"


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` value.

    Raises:
        UnauthenticatedError: the header is missing or not a bearer credential.
    """
    if authorization is None or not authorization.strip():
        raise UnauthenticatedError("missing bearer token: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise UnauthenticatedError(
            "the Authorization header must use the Bearer scheme ('Authorization: Bearer <token>')"
        )
    token = token.strip()
    if not token:
        raise UnauthenticatedError("the Authorization header has the Bearer scheme but no token")
    return token


class TokenVerifier:
    """Checks bearer tokens and tells who they belong to.

    Args:
        secret: HMAC secret of HS* tokens; None: HS* tokens are refused.
        jwks: Key source of asymmetric tokens; None: they are refused.
        algorithms: Accepted `alg` values (`none` is refused whatever this says).
        issuer: Required `iss`, or None.
        audience: Required `aud`, or None (then a token must carry no `aud`).
        leeway_seconds: Clock skew tolerated for `exp`, `nbf`, `iat`.
        claims: Which claims carry user, groups, roles and tenant.
        default_tenant: The tenant of a token without a tenant claim (setting
            `auth_default_tenant`; '' is the default tenant).
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks: JwksKeySource | None = None,
        algorithms: Sequence[str] = ("HS256", "RS256", "ES256"),
        issuer: str | None = None,
        audience: str | None = None,
        leeway_seconds: float = 30.0,
        claims: ClaimNames = ClaimNames(),
        default_tenant: str = "",
    ) -> None:
        if secret is None and jwks is None:
            raise ValueError("a TokenVerifier needs a secret, a JWKS, or both")
        self._secret = secret
        self._jwks = jwks
        self._algorithms = tuple(a for a in algorithms if a.lower() != "none")
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._claims = claims
        self._default_tenant = default_tenant

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        """The verifier the `auth_*` settings describe."""
        secret = settings.auth_jwt_secret
        jwks = (
            JwksKeySource(settings.auth_jwks_url, cache_seconds=settings.auth_jwks_cache_seconds)
            if settings.auth_jwks_url
            else None
        )
        return cls(
            secret=secret.get_secret_value() if secret is not None else None,
            jwks=jwks,
            algorithms=settings.auth_algorithms,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            leeway_seconds=settings.auth_leeway_seconds,
            claims=claim_names(settings),
            default_tenant=settings.auth_default_tenant,
        )

    async def verify_header(self, authorization: str | None) -> Principal:
        """Check the token of an `Authorization` header value (see `verify`)."""
        return await self.verify(bearer_token(authorization))

    async def verify(self, token: str) -> Principal:
        """Check the token's signature and claims; the principal it names.

        Raises:
            UnauthenticatedError: the token is malformed, unsigned, signed with an algorithm
                or key that is not accepted, expired, not yet valid, for another audience or
                issuer, or lacks the user claim.
            UnavailableError: the JWKS cannot be fetched (and none is cached).
        """
        if not token:
            raise UnauthenticatedError("empty bearer token")
        if len(token) > MAX_TOKEN_BYTES:
            raise UnauthenticatedError(f"token is longer than {MAX_TOKEN_BYTES} bytes")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise UnauthenticatedError("token is not a well-formed JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or not alg or alg.lower() == "none":
            raise UnauthenticatedError("unsigned tokens (alg 'none') are not accepted")
        if alg not in self._algorithms:
            raise UnauthenticatedError(
                f"token algorithm '{_printable(alg)}' is not accepted "
                f"(accepted: {', '.join(self._algorithms)})"
            )
        key = await self._key(alg, header.get("kid"))
        claims = self._decode(token, key, alg)
        return self._principal(claims)

    async def _key(self, alg: str, kid: Any) -> Any:
        if alg.startswith("HS"):
            # Only ever the shared secret: never a (public) JWKS key as HMAC key.
            if self._secret is None:
                raise UnauthenticatedError(
                    f"{alg} tokens are not accepted: no shared secret is configured"
                )
            return self._secret
        if self._jwks is None:
            raise UnauthenticatedError(f"{alg} tokens are not accepted: no JWKS is configured")
        if kid is not None and not isinstance(kid, str):
            raise UnauthenticatedError("token header 'kid' must be a string")
        return (await self._jwks.key_for(kid, alg)).key

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise UnauthenticatedError("token has expired (exp)") from None
        except jwt.ImmatureSignatureError:
            raise UnauthenticatedError("token is not valid yet (nbf / iat in the future)") from None
        except jwt.InvalidAudienceError:
            expected = f"'{self._audience}'" if self._audience else "no audience"
            raise UnauthenticatedError(
                f"token audience (aud) is wrong: expected {expected}"
            ) from None
        except jwt.InvalidIssuerError:
            raise UnauthenticatedError(
                f"token issuer (iss) is wrong: expected '{self._issuer}'"
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            raise UnauthenticatedError(f"token lacks the required claim '{exc.claim}'") from None
        except jwt.InvalidSignatureError:
            raise UnauthenticatedError("token signature does not verify") from None
        except jwt.InvalidIssuedAtError:
            raise UnauthenticatedError("token claim 'iat' is not a number") from None
        except jwt.DecodeError:
            raise UnauthenticatedError("token is not a well-formed JWT") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            # Anything else PyJWT refuses (a bad key, a claim of the wrong type).
            raise UnauthenticatedError("token is invalid") from None
        return claims

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        names = self._claims
        user = _claim(claims, names.user)
        if not isinstance(user, str) or not user:
            raise UnauthenticatedError(f"token has no user id: claim '{names.user}' is missing")
        tenant = _claim(claims, names.tenant)
        if tenant is not None and not isinstance(tenant, str):
            raise UnauthenticatedError(f"token claim '{names.tenant}' must be a string")
        return Principal(
            user_id=user,
            groups=_names(claims, names.groups),
            roles=_names(claims, names.roles),
            # Only an absent claim means "the default tenant"; an explicit "" is tenant ''.
            tenant_id=tenant if tenant is not None else self._default_tenant,
        )


def claim_names(settings: Settings) -> ClaimNames:
    """The claim names the settings configure."""
    return ClaimNames(
        user=settings.auth_user_claim,
        groups=settings.auth_groups_claim,
        roles=settings.auth_roles_claim,
        tenant=settings.auth_tenant_claim,
    )


def mint_token(
    *,
    secret: str,
    user_id: str,
    groups: Iterable[str] = (),
    roles: Iterable[str] = (),
    tenant_id: str | None = None,
    ttl_seconds: int = 3600,
    issuer: str | None = None,
    audience: str | None = None,
    claims: ClaimNames = ClaimNames(),
    algorithm: str = "HS256",
    now: float | None = None,
) -> str:
    """Sign an HS* token for `user_id` (`wfe token`, tests, scripts).

    Args:
        secret: The shared secret (`auth_jwt_secret`).
        user_id: The subject.
        groups: Group names.
        roles: Role names (`admin`, `modeler`, `operator`, `user`).
        tenant_id: The tenant; None leaves the claim out (the default tenant).
        ttl_seconds: Lifetime from now (at least 1).
        issuer: `iss`, when the server checks one.
        audience: `aud`, when the server checks one.
        claims: Claim names the server reads (nested paths become nested objects).
        algorithm: HS256, HS384 or HS512.
        now: Issue time (seconds since the epoch); the current time by default.

    Raises:
        ValueError: a bad argument (empty user, ttl below 1, a non-HMAC algorithm).
    """
    if not user_id:
        raise ValueError("user_id must not be empty")
    if ttl_seconds < 1:
        raise ValueError(f"ttl_seconds must be at least 1, got {ttl_seconds}")
    if not algorithm.startswith("HS"):
        raise ValueError(f"mint_token signs with a shared secret (HS*), not {algorithm}")
    issued = int(time.time() if now is None else now)
    payload: dict[str, Any] = {
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    _set_claim(payload, claims.user, user_id)
    _set_claim(payload, claims.groups, sorted(set(groups)))
    _set_claim(payload, claims.roles, sorted(set(roles)))
    if tenant_id is not None:
        _set_claim(payload, claims.tenant, tenant_id)
    if issuer is not None:
        payload["iss"] = issuer
    if audience is not None:
        payload["aud"] = audience
    return jwt.encode(payload, secret, algorithm=algorithm)


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _set_claim(payload: dict[str, Any], name: str, value: Any) -> None:
    parts = name.split(".")
    target = payload
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _names(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    value = _claim(claims, name)
    if value is None:
        return frozenset()
    if isinstance(value, str):
        # Some providers send one space- or comma-separated string instead of a list.
        return frozenset(part for part in value.replace(",", " ").split() if part)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(item for item in value if item)
    raise UnauthenticatedError(f"token claim '{name}' must be a list of strings")


def _printable(text: str) -> str:
    # The algorithm name comes from the attacker: keep it short and plain in messages.
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text[:20])
    return cleaned + ("..." if len(text) > 20 else "")
