"""The auth_* settings: defaults, environment, and the startup errors that name the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.security.support import SECRET
from workflow_engine.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("WFE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = load_settings()
    assert s.auth_enabled is False
    assert s.auth_jwt_secret is None and s.auth_jwks_url is None
    assert s.auth_algorithms == ["HS256", "RS256", "ES256"]
    assert (s.auth_user_claim, s.auth_groups_claim, s.auth_roles_claim, s.auth_tenant_claim) == (
        "sub",
        "groups",
        "roles",
        "tenant_id",
    )


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFE_AUTH_ENABLED", "true")
    monkeypatch.setenv("WFE_AUTH_JWT_SECRET", SECRET)
    monkeypatch.setenv("WFE_AUTH_JWKS_URL", "https://idp.test/certs")
    monkeypatch.setenv("WFE_AUTH_ALGORITHMS", "RS256, ES256")
    s = load_settings()
    assert s.auth_enabled is True
    assert s.auth_jwt_secret is not None and s.auth_jwt_secret.get_secret_value() == SECRET
    assert s.auth_jwks_url == "https://idp.test/certs"
    assert s.auth_algorithms == ["RS256", "ES256"]
    assert SECRET not in repr(s) and SECRET not in str(s.model_dump())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"auth_enabled": True}, "auth_enabled is true but no key"),
        ({"auth_enabled": True, "auth_jwt_secret": "  "}, "no key"),
        ({"auth_jwt_secret": "short"}, "at least 32 bytes"),
        ({"auth_algorithms": "none"}, "'none' not supported"),
        ({"auth_algorithms": "HS256,XY1"}, "'XY1' not supported"),
        ({"auth_roles_claim": "a..b"}, "auth_roles_claim"),
        ({"auth_leeway_seconds": -1}, "auth_leeway_seconds"),
    ],
)
def test_invalid_auth_settings_are_named(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**overrides)


def test_the_secret_never_appears_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(auth_jwt_secret="tiny-secret")
    assert "tiny-secret" not in str(caught.value)
