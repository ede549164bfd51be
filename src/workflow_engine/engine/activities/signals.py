"""`wfe.broadcast_signal` and `wfe.send_message`: throw events reaching other instances.

They call the same services as `POST /signals` and `POST /messages`, so a thrown signal or
message is delivered exactly as an API call would be (a thrown signal also starts the
definitions whose start event catches it).

A throw is retried by Temporal when it fails half-way (Temporal unreachable while a
broadcast starts the third of five definitions, a worker lost after a message started its
instance). Its request id is therefore the activity's own identity (workflow id, run id,
activity id: the same for every attempt of one throw, different for every other throw), so
the instances it starts and its deliveries keep their ids across attempts, the services
remember the outcome, and nothing is started or delivered twice: a retried message answers
the instance the first attempt reached or started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflow_engine.services.errors import ServiceError
from workflow_engine.services.signals import MessageService, SignalService

if TYPE_CHECKING:
    from workflow_engine.services.container import Services

ACTIVITY_BROADCAST_SIGNAL = "wfe.broadcast_signal"
ACTIVITY_SEND_MESSAGE = "wfe.send_message"


def _failure(exc: ServiceError) -> ApplicationError:
    # Unavailable is worth retrying; a refusal (no receiver, ambiguous) is not.
    return ApplicationError(
        exc.message, type=exc.code, non_retryable=exc.code not in ("UNAVAILABLE", "INTERNAL")
    )


def _required(request: dict[str, Any], field: str) -> str:
    value = request.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ApplicationError(
            f"request.{field} is required (a non-empty string), got {value!r}",
            type="INVALID_ARGUMENT",
            non_retryable=True,
        )
    return value


def _attempt_independent_id() -> str:
    """The running activity's identity, the same for each of its attempts."""
    info = activity.info()
    return f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"


class SignalActivities:
    """Signal and message delivery for workflows.

    Args:
        signals: The signal service.
        messages: The message service.
    """

    def __init__(self, *, signals: SignalService, messages: MessageService) -> None:
        self._signals = signals
        self._messages = messages

    @activity.defn(name=ACTIVITY_BROADCAST_SIGNAL)
    async def broadcast_signal(self, request: dict[str, Any]) -> dict[str, Any]:
        """Deliver a signal to every waiting instance and start its signal start events.

        Args:
            request: `{name, variables?, tenant_id?}` — one dict, as the interpreter calls
                every activity (extra keys such as the thrower's `instance_id` are ignored).

        Returns:
            `{delivered: n, started_instance_ids: [...]}`.

        Raises:
            ApplicationError: `VALIDATION_FAILED` (a started definition refuses the
                variables) and `INVALID_ARGUMENT`, non-retryable; `UNAVAILABLE`, retryable.
        """
        try:
            outcome = await self._signals.send(
                _required(request, "name"),
                variables=request.get("variables") or {},
                tenant_id=request.get("tenant_id"),
                request_id=_attempt_independent_id(),
            )
        except ServiceError as exc:
            raise _failure(exc) from exc
        return {
            "delivered": outcome.delivered,
            "started_instance_ids": list(outcome.started_instance_ids),
        }

    @activity.defn(name=ACTIVITY_SEND_MESSAGE)
    async def send_message(self, request: dict[str, Any]) -> str:
        """Correlate a message to one instance (or start one); return that instance's id.

        Args:
            request: `{name, correlation_key?, variables?, tenant_id?}` — one dict, as the
                interpreter calls every activity.

        Raises:
            ApplicationError: `NOT_FOUND` (nobody waits) or `CONFLICT` (several wait),
                non-retryable; `UNAVAILABLE`, retryable; `INVALID_ARGUMENT` without a name.
        """
        try:
            result = await self._messages.correlate(
                _required(request, "name"),
                correlation_key=request.get("correlation_key"),
                variables=request.get("variables") or {},
                tenant_id=request.get("tenant_id"),
                request_id=_attempt_independent_id(),
            )
        except ServiceError as exc:
            raise _failure(exc) from exc
        return result.instance_id


def build_activities(services: Services) -> list[Callable[..., Any]]:
    """The activity registry's hook: this module's activities over the shared services."""
    acts = SignalActivities(signals=services.signals, messages=services.messages)
    return [acts.broadcast_signal, acts.send_message]
