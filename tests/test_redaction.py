"""Secrets never logged: the redaction processor on real log output, and settings' repr."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from workflow_engine.config import load_settings, redact_url
from workflow_engine.logging import configure_logging, get_logger
from workflow_engine.redaction import is_secret_name, redact_text

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
SECRET = "h5-redaction-secret-0123456789abcdef-XYZ"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def _records(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_secret_fields_and_text_never_reach_the_output(fmt: str) -> None:
    out = io.StringIO()
    configure_logging(level="INFO", fmt=fmt, stream=out)
    log = get_logger("workflow_engine.test")
    log.info(
        "login",
        authorization=f"Bearer {TOKEN}",
        auth_jwt_secret=SECRET,
        password="hunter2-hunter2",
        headers={"X-Api-Key": "k-123456789", "accept": "application/json"},
        user="alice",
    )
    log.warning(f"calling with Authorization: Bearer {TOKEN}")
    log.info("db", url="postgresql+psycopg://app:pg-pass-123@db:5432/wfe")
    # A third-party (stdlib) record: uvicorn's access line with a token in the query.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/1.1" %d',
        "127.0.0.1:5000",
        "GET",
        f"/api/v1/streams/events?access_token={TOKEN}&x=1",
        200,
    )
    logging.getLogger("other.lib").info("connected", extra={"secret": SECRET})
    text = out.getvalue()
    for leaked in (TOKEN, SECRET, "hunter2-hunter2", "k-123456789", "pg-pass-123"):
        assert leaked not in text, leaked
    # What is not secret stays readable.
    assert "alice" in text
    assert "application/json" in text
    assert "access_token=***&x=1" in text
    assert "postgresql+psycopg://app:***@db:5432/wfe" in text
    if fmt == "json":
        first = _records(out)[0]
        assert first["authorization"] == "***"
        assert first["auth_jwt_secret"] == "***"
        assert first["headers"] == {"X-Api-Key": "***", "accept": "application/json"}


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("authorization", True),
        ("Authorization", True),
        ("auth_jwt_secret", True),
        ("refresh_token", True),
        ("X-Api-Key", True),
        ("private_key", True),
        ("db_password", True),
        ("event", False),
        ("user_id", False),
        ("key", False),
        ("max_tokens", False),
        ("auth_enabled", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_redact_text_keeps_the_rest() -> None:
    assert redact_text("nothing here") == "nothing here"
    assert redact_text(f"bearer {TOKEN} end") == "bearer *** end"
    assert redact_text("/x?token=abc&page=2") == "/x?token=***&page=2"
    assert redact_text("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"


def test_settings_repr_hides_passwords_and_secrets() -> None:
    settings = load_settings(
        database_url="postgresql+psycopg://app:pg-pass-123@db/wfe",
        redis_url="redis://:redis-pass-456@cache:6379/0",
        auth_jwt_secret=SECRET,
    )
    for shown in (repr(settings), str(settings)):
        assert "pg-pass-123" not in shown
        assert "redis-pass-456" not in shown
        assert SECRET not in shown
        assert "postgresql+psycopg://app:***@db/wfe" in shown
    # The real values are still there for whoever needs them.
    assert settings.database_url == "postgresql+psycopg://app:pg-pass-123@db/wfe"
    assert settings.auth_jwt_secret is not None
    assert settings.auth_jwt_secret.get_secret_value() == SECRET


def test_redact_url() -> None:
    assert redact_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert redact_url("redis://h:6379") == "redis://h:6379"
    assert redact_url("postgresql://u:p@h/db") == "postgresql://u:***@h/db"
