"""Keys, tokens and a real JWKS HTTP server for the authentication tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

#: The shared HS256 secret of the tests (32 bytes, the minimum the settings accept).
SECRET = "test-secret-0123456789abcdef0123"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public_jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    """The public JWK of a private key."""
    if isinstance(key, rsa.RSAPrivateKey):
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    else:
        jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def jwks(*entries: tuple[Any, str, str]) -> dict[str, Any]:
    """A JWKS document of (private key, kid, alg) entries (public parts only)."""
    return {"keys": [public_jwk(key, kid, alg) for key, kid, alg in entries]}


DEFAULT_JWKS = jwks((RSA_KEY, "rsa-1", "RS256"), (EC_KEY, "ec-1", "ES256"))


def claims(
    user: str = "alice",
    *,
    roles: tuple[str, ...] = ("user",),
    groups: tuple[str, ...] = (),
    tenant: str | None = "acme",
    ttl: int = 300,
    **extra: Any,
) -> dict[str, Any]:
    """Valid claims: issued now, expiring in `ttl` seconds, plus `extra`."""
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": user,
        "roles": list(roles),
        "groups": list(groups),
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
    }
    if tenant is not None:
        body["tenant_id"] = tenant
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    """An HS256 token."""
    return jwt.encode(payload, secret, algorithm="HS256")


def rs256(payload: dict[str, Any], *, kid: str = "rsa-1", key: Any = RSA_KEY) -> str:
    """An RS256 token with a key id."""
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def es256(payload: dict[str, Any], *, kid: str = "ec-1") -> str:
    """An ES256 token with a key id."""
    return jwt.encode(payload, EC_KEY, algorithm="ES256", headers={"kid": kid})


class JwksServer:
    """A real HTTP server (own thread, free port) serving a JWKS document; counts fetches.

    `status` set to an error code makes it answer that instead (the provider is failing).
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.fetches = 0
        self.status: int | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                payload = json.dumps(server.document).encode()
                status = 200 if self.path == "/jwks.json" else 404
                self.send_response(server.status or status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks.json"

    @contextmanager
    def running(self) -> Iterator[JwksServer]:
        """Serve in a background thread until the block ends."""
        thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()
            thread.join(5)


ISSUER = "https://issuer.test"
AUDIENCE = "workflow-engine"


def good_claims(user: str = "alice", **kwargs: Any) -> dict[str, Any]:
    """Valid claims for a verifier that checks `ISSUER` and `AUDIENCE`."""
    return claims(user, **{"iss": ISSUER, "aud": AUDIENCE, **kwargs})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    """A token signed by hand with HMAC-SHA256 over `key` (PyJWT refuses to build these)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def unsigned(payload: dict[str, Any], alg: str = "none") -> str:
    """An `alg: none` token (empty signature)."""
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(payload).encode())}."


def bad_tokens() -> list[tuple[str, str]]:
    """(why, token) pairs every transport must refuse with 401 / UNAUTHENTICATED."""
    good = hs256(good_claims())
    rsa_public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    return [
        ("expired", hs256(good_claims(ttl=-3600))),
        ("not yet valid", hs256(good_claims(nbf=now + 3600))),
        ("issued in the future", hs256(good_claims(iat=now + 3600))),
        ("wrong signature", hs256(good_claims(), secret="another-secret-0123456789abcdefgh")),
        ("alg none", unsigned(good_claims())),
        ("alg None", unsigned(good_claims(), alg="None")),
        ("alg NONE", unsigned(good_claims(), alg="NONE")),
        ("wrong audience", hs256(good_claims(aud="someone-else"))),
        ("wrong issuer", hs256(good_claims(iss="https://evil.test"))),
        ("no audience", hs256(claims(iss=ISSUER))),
        ("no issuer", hs256(claims(aud=AUDIENCE))),
        ("no expiry", hs256({k: v for k, v in good_claims().items() if k != "exp"})),
        ("no subject", hs256({k: v for k, v in good_claims().items() if k != "sub"})),
        (
            "HS256 signed with the RSA public key (PEM)",
            forged({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, good_claims(), rsa_public_pem),
        ),
        (
            "HS256 signed with the RSA public key (JWK)",
            forged(
                {"alg": "HS256", "kid": "rsa-1"},
                good_claims(),
                json.dumps(public_jwk(RSA_KEY, "rsa-1", "RS256")).encode(),
            ),
        ),
        ("RS256 signed by an unknown key", rs256(good_claims(), key=OTHER_RSA_KEY)),
        ("RS256 with an unknown kid", rs256(good_claims(), kid="nope", key=OTHER_RSA_KEY)),
        ("ES256 header on an RSA key id", _relabel(rs256(good_claims()), alg="ES256", kid="rsa-1")),
        ("RS512 (not configured)", jwt.encode(good_claims(), RSA_KEY, algorithm="RS512")),
        ("HS512 (not configured)", jwt.encode(good_claims(), SECRET * 2, algorithm="HS512")),
        ("garbage", "not-a-token"),
        ("three garbage parts", "a.b.c"),
        ("truncated", good[: len(good) // 2]),
        ("signature cut", good.rsplit(".", 1)[0] + "."),
        ("empty", ""),
        ("huge header", forged({"alg": "HS256", "x": "A" * 20_000}, good_claims(), b"k")),
        ("roles not a list", hs256(good_claims(roles=(), groups=()) | {"roles": {"a": 1}})),
        ("tenant not a string", hs256(good_claims() | {"tenant_id": 7})),
        (
            "kid not a string",
            _relabel(rs256(good_claims()), kid=5),
        ),
    ]


def _relabel(token: str, **header_fields: Any) -> str:
    """The token with header fields replaced (its signature no longer matches)."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    return f"{_b64(json.dumps({**decoded, **header_fields}).encode())}.{payload}.{signature}"
