"""Signal and message waits: subscriptions and the deliveries that reach them.

A message nobody waits for is kept until a matching wait subscribes; a signal nobody waits for
is recorded as ignored. Deliveries carry an id so one sent twice arrives once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio import workflow

from workflow_engine.engine.interpreter.runtime_state import RuntimeState
from workflow_engine.engine.interpreter.state import Subscription
from workflow_engine.model.types import FlowNode


class Deliveries(RuntimeState):
    """Subscriptions to signals and messages and their delivery."""

    def subscribe(
        self,
        *,
        kind: str,
        name: str,
        ref: str,
        node: FlowNode,
        execution_id: str,
        correlation_key: str | None = None,
    ) -> Subscription:
        """Wait on a signal / message; a buffered matching message is delivered at once."""
        sub = Subscription(
            id=str(workflow.uuid4()),
            kind=kind,
            name=name,
            ref=ref,
            node_id=node.id,
            execution_id=execution_id,
            correlation_key=correlation_key,
        )
        self.subscriptions[sub.id] = sub
        self.subscriptions_dirty = True
        if kind == "message":
            for item in self.message_buffer:
                if self._message_matches(sub, item):
                    self.message_buffer.remove(item)
                    sub.inbox.append(item)
                    break
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop waiting."""
        if self.subscriptions.pop(sub.id, None) is not None:
            self.subscriptions_dirty = True

    @staticmethod
    def _message_matches(sub: Subscription, item: Mapping[str, Any]) -> bool:
        if item.get("name") not in (sub.name, sub.ref):
            return False
        key = item.get("correlation_key")
        return key is None or sub.correlation_key is None or str(key) == str(sub.correlation_key)

    def _fresh(self, delivery_id: str) -> bool:
        if not delivery_id:
            return True
        if delivery_id in self.seen_deliveries:
            return False
        self.seen_deliveries.add(delivery_id)
        return True

    def deliver_signal(self, name: str, variables: dict[str, Any], delivery_id: str = "") -> int:
        """Give a broadcast signal to every current wait on it; returns how many got it."""
        if not self._fresh(delivery_id):
            return 0
        item = {"name": name, "variables": variables}
        count = 0
        for sub in list(self.subscriptions.values()):
            if sub.kind == "signal" and name in (sub.name, sub.ref):
                sub.inbox.append(item)
                count += 1
        if count == 0:
            self.record("signal.ignored", data={"signal": name})
        return count

    def deliver_message(
        self,
        name: str,
        correlation_key: str | None,
        variables: dict[str, Any],
        delivery_id: str = "",
    ) -> None:
        """Give a message to the oldest matching wait, or keep it until one subscribes."""
        if not self._fresh(delivery_id):
            return
        item = {"name": name, "correlation_key": correlation_key, "variables": variables}
        for sub in self.subscriptions.values():
            if sub.kind == "message" and self._message_matches(sub, item):
                sub.inbox.append(item)
                return
        self.message_buffer.append(item)
        self.record("message.buffered", data={"message": name, "correlation_key": correlation_key})
