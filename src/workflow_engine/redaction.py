"""Secrets never reach the logs: a structlog processor that redacts them.

Two rules, applied to every record (ours and third-party records routed through structlog):

* a field whose name says it holds a secret (`authorization`, `token`, `password`, `secret`,
  `jwt`, `api_key`, `cookie`, `credential` ... as a word of the name, any case:
  `auth_jwt_secret`, `X-Api-Key`, `refresh_token`) has its value replaced by `***`, also in
  nested dicts;
* in every string (the message too), secrets with a recognisable shape are cut out: bearer
  tokens (`Bearer eyJ...`), URL passwords (`postgresql://app:PW@db`), and secret-named
  query parameters (`?access_token=...`, which is how an EventSource has to send a token and
  what uvicorn's access log prints);
* the values of `sensitive` process variables this process has handled (the store
  remembers them when it encrypts or decrypts them, `remember_sensitive_values`) are cut out
  of every string, as the API's masking does with its responses.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from structlog.typing import EventDict, WrappedLogger

__all__ = [
    "MASK",
    "forget_sensitive_values",
    "is_secret_name",
    "redact_secrets",
    "redact_text",
    "remember_sensitive_values",
]

MASK = "***"

_SECRET_WORDS = frozenset(
    {
        "authorization",
        "token",
        "password",
        "passwd",
        "pwd",
        "secret",
        "jwt",
        "apikey",
        "cookie",
        "credential",
        "credentials",
        "bearer",
    }
)
#: Names that contain a secret word but are not secrets (structlog's own keys, counters).
_NOT_SECRET = frozenset({"event", "logger", "level", "timestamp"})

_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s/]+(@)")
_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:access_token|id_token|refresh_token|token|password|passwd|secret|"
    r"api_key|apikey|jwt|auth)=)[^&#\s\"']+"
)
_DEPTH = 8


#: Values shorter than this are not remembered (masking every "yes" would blank the logs).
_MIN_VALUE_CHARS = 4
#: How many sensitive values one process remembers (the most recently seen ones).
_MAX_VALUES = 4096


class _SensitiveValues:
    """Recently handled sensitive values and one regular expression matching any of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: OrderedDict[str, None] = OrderedDict()
        self._pattern: re.Pattern[str] | None = None

    def remember(self, values: Iterable[str]) -> None:
        with self._lock:
            changed = False
            for value in values:
                if len(value) < _MIN_VALUE_CHARS:
                    continue
                if value in self._values:
                    self._values.move_to_end(value)
                    continue
                self._values[value] = None
                changed = True
                if len(self._values) > _MAX_VALUES:
                    self._values.popitem(last=False)
            if changed:
                # Longest first: a value containing another is cut out whole.
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def forget(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return self._pattern


_SENSITIVE = _SensitiveValues()


def remember_sensitive_values(values: Iterable[str]) -> None:
    """Mask these values (strings of `sensitive` variables) in every later log record."""
    _SENSITIVE.remember(values)


def forget_sensitive_values() -> None:
    """Forget every remembered value (tests)."""
    _SENSITIVE.forget()


def is_secret_name(name: str) -> bool:
    """Whether a field called `name` holds a secret (a word of it is a secret word)."""
    lowered = name.lower()
    if lowered in _NOT_SECRET:
        return False
    words = [w for w in _WORD_SPLIT.split(lowered) if w]
    if any(w in _SECRET_WORDS for w in words):
        return True
    # `api_key` / `private_key`: a `key` after `api` / `private` / `secret` is a secret.
    return any(
        words[i] == "key" and words[i - 1] in {"api", "private", "secret", "signing"}
        for i in range(1, len(words))
    )


def redact_text(text: str) -> str:
    """`text` with bearer tokens, URL passwords and secret query parameters masked."""
    if not text:
        return text
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<2>", text)
    text = _SECRET_PARAM.sub(rf"\g<1>{MASK}", text)
    pattern = _SENSITIVE.pattern
    return text if pattern is None else pattern.sub(MASK, text)


def _redact(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if depth >= _DEPTH:
        return value
    if isinstance(value, Mapping):
        return {
            key: (
                MASK
                if isinstance(key, str) and is_secret_name(key) and item is not None
                else _redact(item, depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact(item, depth + 1) for item in value)
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Mask secret-named fields and secret-shaped text (a structlog processor)."""
    for key, value in list(event_dict.items()):
        if key.startswith("_"):
            continue  # structlog / ProcessorFormatter internals (the stdlib record)
        if is_secret_name(key) and value is not None:
            event_dict[key] = MASK
        else:
            event_dict[key] = _redact(value, 0)
    return event_dict
