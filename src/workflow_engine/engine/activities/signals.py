"""`wfe.broadcast_signal` and `wfe.send_message`: throw events reaching other instances.

They call the same services as `POST /signals` and `POST /messages`, so a thrown signal or
message is delivered exactly as an API call would be.
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
    async def broadcast_signal(
        self, name: str, variables: dict[str, Any], tenant_id: str | None
    ) -> int:
        """Deliver a signal to every waiting instance; return how many got it."""
        try:
            return await self._signals.broadcast(name, variables=variables, tenant_id=tenant_id)
        except ServiceError as exc:
            raise _failure(exc) from exc

    @activity.defn(name=ACTIVITY_SEND_MESSAGE)
    async def send_message(
        self,
        name: str,
        correlation_key: str | None,
        variables: dict[str, Any],
        tenant_id: str | None,
    ) -> str:
        """Correlate a message to one instance (or start one); return that instance's id.

        Raises:
            ApplicationError: `NOT_FOUND` (nobody waits) or `CONFLICT` (several wait),
                non-retryable; `UNAVAILABLE`, retryable.
        """
        try:
            result = await self._messages.correlate(
                name, correlation_key=correlation_key, variables=variables, tenant_id=tenant_id
            )
        except ServiceError as exc:
            raise _failure(exc) from exc
        return result.instance_id


def build_activities(services: Services) -> list[Callable[..., Any]]:
    """The activity registry's hook: this module's activities over the shared services."""
    acts = SignalActivities(signals=services.signals, messages=services.messages)
    return [acts.broadcast_signal, acts.send_message]
