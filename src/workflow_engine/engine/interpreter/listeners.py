"""Execution listeners: run as activities named by their class, or recorded as skipped."""

from __future__ import annotations

import datetime

from temporalio import workflow

from workflow_engine.engine.interpreter.batching import BatchWriting
from workflow_engine.engine.interpreter.state import Scope
from workflow_engine.model.types import FlowNode, Listener

_LISTENER_TIMEOUT = datetime.timedelta(minutes=1)


class ListenerRunning(BatchWriting):
    """Runs the listeners of a process or node event."""

    async def run_listeners(
        self, listeners: tuple[Listener, ...], event: str, *, node: FlowNode | None, scope: Scope
    ) -> None:
        """Run the listeners of `event` as activities named by class, or record them skipped."""
        for listener in listeners:
            if listener.event != event:
                continue
            data = {"class": listener.class_name, "event": event}
            if listener.class_name not in self.inp.implemented_listeners:
                self.record("listener.skipped", node=node, data=data)
                continue
            await self.flush()
            result = await workflow.execute_activity(
                listener.class_name,
                {
                    "event": event,
                    "instance_id": self.instance_id,
                    "node_id": node.id if node is not None else None,
                    "config": dict(listener.config),
                    "variables": self.view(scope),
                },
                start_to_close_timeout=_LISTENER_TIMEOUT,
            )
            self.record("listener.executed", node=node, data=data)
            if isinstance(result, dict) and result:
                self.set_variables(
                    scope, result, node=node, source=f"listener {listener.class_name}"
                )
