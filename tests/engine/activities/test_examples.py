"""The example activities of examples/activities.py (the seed's user-registration process)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from workflow_engine.engine.activities.registry import import_activity_module

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "activities.py"


@pytest.fixture
def examples() -> ModuleType:
    return import_activity_module(str(EXAMPLES))


@pytest.fixture
def acts(examples: ModuleType, tmp_path: Path) -> Any:
    return examples.RegistrationActivities(outbox=tmp_path / "outbox")


async def test_send_email_writes_the_message_and_returns_a_stable_code(
    examples: ModuleType, acts: Any, tmp_path: Path
) -> None:
    data = {"email": "ann@example.com", "template": "verification_email", "user_id": "u1"}
    env = ActivityEnvironment()
    first = await env.run(acts.send_email, data)
    again = await env.run(acts.send_email, data)
    assert first == again
    assert first["success"] is True
    code = first["code"]
    assert isinstance(code, str)
    assert len(code) == 6
    assert code.isdigit()
    assert code == examples.verification_code("u1", "ann@example.com")
    assert code != examples.verification_code("u2", "ann@example.com")
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1  # the retry overwrote the same message
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Confirm your e-mail address"
    assert code in message.get_body().get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"template": "verification_email", "user_id": "u1"}, "'email' is required"),
        ({"email": "  ", "user_id": "u1"}, "'email' is required"),
        ({"email": "not-an-address", "user_id": "u1"}, "is not an e-mail address"),
        ({"email": "a@b.co"}, "'user_id' is required"),
        ({"email": "a@b.co", "user_id": "u", "template": "nope"}, "unknown template 'nope'"),
        ("x", "input must be an object"),
    ],
)
async def test_send_email_rejects_bad_input_as_a_bpmn_error(
    acts: Any, data: Any, fragment: str
) -> None:
    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(acts.send_email, data)
    assert info.value.type == "EMAIL_SEND_FAILED"
    assert info.value.non_retryable
    assert fragment in info.value.message


async def test_complete_and_reject_registration(acts: Any) -> None:
    env = ActivityEnvironment()
    done = await env.run(
        acts.complete_registration, {"user_id": "u1", "email": "a@b.co", "username": "ann"}
    )
    assert done == {"id": "reg-u1", "success": True}
    rejected = await env.run(acts.reject_registration, {"user_id": "u1", "reason": "bad"})
    assert rejected == {"rejected": True, "reason": "bad"}
    default = await env.run(acts.reject_registration, {"user_id": "u1"})
    assert default == {"rejected": True, "reason": "no reason given"}
    with pytest.raises(ApplicationError) as info:
        await env.run(acts.complete_registration, {"user_id": "u1", "email": "a@b.co"})
    assert info.value.type == "VALIDATION_FAILED"
    assert "'username'" in info.value.message


async def test_listeners_log_and_return_empty(examples: ModuleType) -> None:
    env = ActivityEnvironment()
    for listener in examples.LISTENERS:
        assert await env.run(listener, {"event": "start", "node_id": "n"}) == {}


def test_outbox_location(examples: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WFE_EXAMPLES_OUTBOX", raising=False)
    assert examples.outbox_dir(Path("/d")) == Path("/d/outbox")
    assert examples.outbox_dir() == Path(".wfe/outbox")
    monkeypatch.setenv("WFE_EXAMPLES_OUTBOX", "/elsewhere")
    assert examples.outbox_dir(Path("/d")) == Path("/elsewhere")
