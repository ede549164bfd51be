"""Activities for the example process `user-registration.json`, served by `wfe dev`'s worker.

They are ordinary Temporal activities (`@activity.defn(name=...)`) called by name; a worker in
any Temporal language could serve the same names. `wfe dev` loads this file by path; another
worker loads it with `WFE_ACTIVITY_MODULES=examples/activities.py wfe worker`.

E-mail is not really sent: `SendEmailActivity` writes each message as an RFC 5322 `.eml` file
into an *outbox* directory — `$WFE_EXAMPLES_OUTBOX` if set, else `<data_dir>/outbox` (`.wfe/outbox`
by default) — and logs it. That is a local stand-in for an SMTP server: open the file to read the
verification code a real user would receive. The code is derived from the user id and address
(sha256), so a retried or replayed send produces the same code.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

OUTBOX_ENV_VAR = "WFE_EXAMPLES_OUTBOX"
SENDER = "no-reply@workflow-engine.example"

#: error_code values from the example definition's `error_definitions`.
EMAIL_SEND_FAILED = "EMAIL_SEND_FAILED"
VALIDATION_FAILED = "VALIDATION_FAILED"

_TEMPLATES = {
    "verification_email": (
        "Confirm your e-mail address",
        "Hello {user_id},\n\nyour verification code is {code}.\n\n"
        "Enter it to finish your registration.\n",
    ),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def verification_code(user_id: str, email: str) -> str:
    """A 6-digit code derived from the user id and address (same inputs, same code)."""
    digest = hashlib.sha256(f"{user_id}\n{email.lower()}".encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def _text(data: Mapping[str, Any], name: str, *, error_type: str, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApplicationError(
            f"{what}: input {name!r} is required and must be non-empty text, got {value!r}",
            type=error_type,
            non_retryable=True,
        )
    return value.strip()


def _input(data: Any, what: str, error_type: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ApplicationError(
            f"{what}: input must be an object, got {type(data).__name__}",
            type=error_type,
            non_retryable=True,
        )
    return data


class RegistrationActivities:
    """The service-task activities of the registration example.

    Args:
        outbox: Directory the "sent" e-mails are written to (created when needed).
    """

    def __init__(self, *, outbox: Path) -> None:
        self.outbox = outbox

    @activity.defn(name="SendEmailActivity")
    async def send_email(self, data: dict[str, Any]) -> dict[str, Any]:
        """Send (write to the outbox) the e-mail named by `template`; returns the code sent.

        Input: `{email, template, user_id}`. Result: `{"success": True, "code": "123456"}`.

        Raises:
            ApplicationError: `EMAIL_SEND_FAILED` (non-retryable) for a missing or malformed
                address, a missing user id or an unknown template.
        """
        what = "SendEmailActivity"
        fields = _input(data, what, EMAIL_SEND_FAILED)
        email = _text(fields, "email", error_type=EMAIL_SEND_FAILED, what=what)
        if not _EMAIL.match(email):
            raise ApplicationError(
                f"{what}: {email!r} is not an e-mail address",
                type=EMAIL_SEND_FAILED,
                non_retryable=True,
            )
        user_id = _text(fields, "user_id", error_type=EMAIL_SEND_FAILED, what=what)
        template = fields.get("template") or "verification_email"
        if template not in _TEMPLATES:
            raise ApplicationError(
                f"{what}: unknown template {template!r} (known: {', '.join(sorted(_TEMPLATES))})",
                type=EMAIL_SEND_FAILED,
                non_retryable=True,
            )
        code = verification_code(user_id, email)
        subject, body = _TEMPLATES[template]
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = email
        message["Subject"] = subject
        message["X-Template"] = template
        message.set_content(body.format(user_id=user_id, code=code))
        path = self.outbox / f"{_safe(_run_id())}-{_safe(user_id)}-{_safe(template)}.eml"
        # The same file for a retried attempt: sending again overwrites, never duplicates.
        await asyncio.to_thread(_write, path, message.as_bytes())
        activity.logger.info("email written to the outbox: %s (to %s, code %s)", path, email, code)
        return {"success": True, "code": code}

    @activity.defn(name="CompleteRegistrationActivity")
    async def complete_registration(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register the verified user: `{user_id, email, username}` -> `{id, success}`.

        Raises:
            ApplicationError: `VALIDATION_FAILED` (non-retryable) when an input is missing.
        """
        what = "CompleteRegistrationActivity"
        fields = _input(data, what, VALIDATION_FAILED)
        user_id = _text(fields, "user_id", error_type=VALIDATION_FAILED, what=what)
        for name in ("email", "username"):
            _text(fields, name, error_type=VALIDATION_FAILED, what=what)
        activity.logger.info("registration completed for %s", user_id)
        return {"id": f"reg-{user_id}", "success": True}

    @activity.defn(name="RejectRegistrationActivity")
    async def reject_registration(self, data: dict[str, Any]) -> dict[str, Any]:
        """Reject a registration: `{user_id, reason}` -> `{rejected: True, reason}`.

        Raises:
            ApplicationError: `VALIDATION_FAILED` (non-retryable) without a user id.
        """
        what = "RejectRegistrationActivity"
        fields = _input(data, what, VALIDATION_FAILED)
        user_id = _text(fields, "user_id", error_type=VALIDATION_FAILED, what=what)
        reason = fields.get("reason")
        reason = reason if isinstance(reason, str) and reason else "no reason given"
        activity.logger.info("registration of %s rejected: %s", user_id, reason)
        return {"rejected": True, "reason": reason}


def _run_id() -> str:
    """The workflow id of the calling activity (outside an activity: `local`)."""
    try:
        return activity.info().workflow_id or "local"
    except RuntimeError:
        return "local"


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text)[:80] or "_"


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)  # atomic: a reader never sees half a message


def _listener(class_name: str) -> Callable[[dict[str, Any]], Any]:
    """An execution / task listener that logs the event it is called for."""

    async def listener(event: dict[str, Any]) -> dict[str, Any]:
        activity.logger.info("%s: %s", class_name, event)
        return {}

    listener.__name__ = listener.__qualname__ = class_name.rsplit(".", 1)[-1]
    return activity.defn(name=class_name)(listener)


#: The listener classes the example definition names, each served as an activity.
LISTENER_CLASSES = (
    "com.example.ProcessStartListener",
    "com.example.ProcessEndListener",
    "com.example.TaskCreateListener",
    "com.example.TaskCompleteListener",
    "com.example.EmailStartListener",
)
LISTENERS = [_listener(name) for name in LISTENER_CLASSES]


def outbox_dir(data_dir: Path | None = None) -> Path:
    """`$WFE_EXAMPLES_OUTBOX`, else `<data_dir>/outbox` (data_dir default `.wfe`)."""
    configured = os.environ.get(OUTBOX_ENV_VAR)
    if configured:
        return Path(configured)
    return (data_dir or Path(".wfe")) / "outbox"


def build_activities(settings: Any = None) -> list[Callable[..., Any]]:
    """The activities of this module (the worker calls this, passing its settings)."""
    data_dir = getattr(settings, "data_dir", None)
    activities = RegistrationActivities(outbox=outbox_dir(data_dir))
    return [
        activities.send_email,
        activities.complete_registration,
        activities.reject_registration,
        *LISTENERS,
    ]
