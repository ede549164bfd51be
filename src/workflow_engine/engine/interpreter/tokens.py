"""Tokens over the graph and the scopes holding them.

Every token is an asyncio task of the workflow running `_walk`: gate (pause), run the node's
behaviour, follow the chosen flows (the first one in the same task, the others as new tokens).
A failing step becomes an incident the token waits on until a retry; a BPMN error leaving a
token ends its scope or starts the event subprocess catching it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from temporalio import workflow

from workflow_engine.engine.interpreter import behaviours, carry
from workflow_engine.engine.interpreter.batching import BatchWriting
from workflow_engine.engine.interpreter.budgets import TRAIL_LENGTH
from workflow_engine.engine.interpreter.state import (
    IncidentError,
    InstanceCancelledError,
    Next,
    OpenIncident,
    Scope,
    ThrownBpmnError,
    Token,
)
from workflow_engine.expressions import ExpressionError, evaluate_condition
from workflow_engine.expressions.timers import TimerSyntaxError
from workflow_engine.model.types import FlowNode, NodeType

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime

T = TypeVar("T")


class TokenDriving(BatchWriting):
    """Drives tokens through their nodes and runs the scopes they live in."""

    def _runtime(self) -> Runtime:
        # Only ever a base of `Runtime`; the behaviours and `carry` take the whole runtime.
        return cast("Runtime", self)

    def spawn(
        self, scope: Scope, node_id: str, *, via: str | None = None, entry: str | None = None
    ) -> Token:
        """Put a new token on `node_id` in `scope` and start driving it."""
        token = Token(id=str(workflow.uuid4()), node_id=node_id, scope=scope, via=via, entry=entry)
        return self.adopt(token)

    def adopt(self, token: Token) -> Token:
        """Start driving `token` (a new one, or one restored after a continue-as-new)."""
        token.scope.tokens[token.id] = token
        token.scope.tasks[token.id] = self.create_task(self._token_main(token))
        return token

    async def _token_main(self, token: Token) -> None:
        scope = token.scope
        try:
            await self._walk(token)
        except asyncio.CancelledError:
            pass
        except ThrownBpmnError as exc:
            self.scope_error(scope, token, exc)
        except InstanceCancelledError as exc:
            self.request_control("cancelled", str(exc))
        except Exception as exc:  # a bug: keep it visible, fail the workflow task
            self.error = exc
        finally:
            scope.tokens.pop(token.id, None)
            scope.tasks.pop(token.id, None)
            if not scope.tokens and scope.outcome is not None and not scope.outcome.done():
                scope.outcome.set_result(None)

    async def _walk(self, token: Token) -> None:
        trail: deque[str] = deque(maxlen=TRAIL_LENGTH)  # to name a loop the token is caught in
        while True:
            resume = token.resume
            token.resume = None
            if resume is None:
                await self._rest(token)
            node = self.model.node(token.node_id)
            if resume is not None:
                nexts = await self.guarded(token, node, self._resumer(token, node, resume))
            else:
                await self.steps.breathe(self.flush)
                trail.append(node.id)
                nexts = await self.guarded(token, node, self._counted(token, node, trail))
            if not nexts:
                return
            for target, via in nexts[1:]:
                self.spawn(token.scope, target, via=via)
            token.node_id, token.via = nexts[0]
            token.entry = None

    def _counted(
        self, token: Token, node: FlowNode, trail: deque[str]
    ) -> Callable[[], Awaitable[list[Next]]]:
        """The node's step, counted against the step budget first (budgets module)."""

        def step() -> Awaitable[list[Next]]:
            self.steps.step(node.id, trail)
            return behaviours.dispatch(self._runtime(), token, node)

        return step

    def _resumer(
        self, token: Token, node: FlowNode, rest: dict[str, Any]
    ) -> Callable[[], Awaitable[list[Next]]]:
        return lambda: behaviours.resume(self._runtime(), token, node, rest)

    async def _rest(self, token: Token) -> None:
        """A step boundary: hold while paused, park while a continue-as-new is wanted."""
        with carry.resting(token, {"kind": "step"}):
            while True:
                await self.gate()
                if not carry.may_park(self._runtime(), token):
                    return
                # The run ends here by continue-as-new, unless a blocking wait shows up.
                await workflow.wait_condition(lambda: not carry.may_park(self._runtime(), token))

    async def gate(self) -> None:
        """Hold while the instance is paused (no new step starts)."""
        if self.paused:
            await workflow.wait_condition(lambda: not self.paused)

    async def guarded(self, token: Token, node: FlowNode, action: Callable[[], Awaitable[T]]) -> T:
        """Run `action`; on an incident wait for a retry and run it again."""
        while True:
            try:
                return await action()
            except IncidentError as exc:
                await self.incident(token, node, exc)
            except (ExpressionError, TimerSyntaxError) as exc:
                await self.incident(
                    token, node, IncidentError(str(exc), error_type="ExpressionError")
                )

    async def incident(self, token: Token, node: FlowNode, exc: IncidentError) -> None:
        """Open an incident at `node` and wait until an operator asks for a retry."""
        incident = OpenIncident(
            id=str(workflow.uuid4()),
            node_id=node.id,
            execution_id=token.id,
            error_type=exc.error_type,
            message=exc.message,
            attempts=exc.attempts,
        )
        self.incidents[incident.id] = incident  # (an open incident blocks continue-as-new)
        self.record(
            "incident.created",
            node=node,
            data={
                "incident_id": incident.id,
                "error_type": exc.error_type,
                "message": exc.message,
                "attempts": exc.attempts,
            },
        )
        try:
            await self.flush()
            await workflow.wait_condition(lambda: incident.retry_requested and not self.paused)
        finally:
            self.incidents.pop(incident.id, None)
        self.record("incident.resolved", node=node, data={"incident_id": incident.id})

    def leave(self, token: Token, node: FlowNode) -> list[Next]:
        """Outgoing flows of a non-gateway node: every flow whose condition holds (or none)."""
        result: list[Next] = []
        variables: dict[str, Any] | None = None
        for flow in self.model.outgoing_flows(node.id):
            if flow.condition is not None:
                if variables is None:
                    variables = self.view(token.scope)
                if not evaluate_condition(flow.condition, variables):
                    continue
            result.append((flow.target, flow.id))
        return result

    # --- scopes ------------------------------------------------------------------------------

    def new_scope(
        self,
        *,
        kind: str,
        node_id: str | None,
        parent: Scope,
        variables: dict[str, Any] | None = None,
    ) -> Scope:
        """A child scope (not started)."""
        return Scope(
            id=str(workflow.uuid4()),
            kind=kind,
            node_id=node_id,
            parent=parent,
            variables=dict(variables or {}),
        )

    async def run_scope(
        self,
        scope: Scope,
        starts: list[tuple[str, str | None]],
        *,
        restored: list[Token] | None = None,
        armed: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Run a scope from its start nodes until no token is left in it.

        Args:
            scope: The scope.
            starts: (node id, entry) of each token to start.
            restored: Tokens carried over a continue-as-new, started after `starts`.
            armed: Carried event-subprocess triggers: arm only these, as they were.

        Raises:
            ThrownBpmnError: an error left the scope toward a catcher outside it.
        """
        scope.outcome = asyncio.get_running_loop().create_future()
        if scope is not self.root:
            self.scopes[scope.id] = scope
        behaviours.arm_event_subprocesses(self._runtime(), scope, restore=armed)
        for node_id, entry in starts:
            self.spawn(scope, node_id, entry=entry)
        for token in restored or []:
            self.adopt(token)
        if not scope.tokens:
            scope.outcome.set_result(None)
        try:
            await scope.outcome
        finally:
            for listener in scope.listeners:
                listener.cancel()
            self.cancel_tokens(scope)
            self.scopes.pop(scope.id, None)

    def cancel_tokens(self, scope: Scope, *, keep: Token | None = None) -> None:
        """Cancel every token of `scope` (their activities, tasks, child scopes) but `keep`."""
        for token_id, task in list(scope.tasks.items()):
            if keep is None or token_id != keep.id:
                task.cancel()

    def scope_error(self, scope: Scope, token: Token, exc: ThrownBpmnError) -> None:
        """Handle a BPMN error that left a token of `scope`.

        Starts the catching event subprocess when it belongs to this scope, else ends the scope
        with the error so its host (a subprocess) passes it on.
        """
        catcher = self.model.node(exc.catcher)
        host = self.model.nodes.get(catcher.scope) if catcher.scope is not None else None
        if (
            catcher.type is NodeType.START_EVENT
            and host is not None
            and host.scope == scope.node_id
            and scope.kind in ("process", "subprocess", "event_subprocess")
        ):
            self.set_variables(scope, exc.variables, node=catcher, source="error")
            self.trigger_event_subprocess(scope, catcher, interrupting=True)
            return
        if scope.outcome is not None and not scope.outcome.done():
            scope.outcome.set_exception(exc)
        self.cancel_tokens(scope, keep=token)

    def trigger_event_subprocess(
        self, scope: Scope, start: FlowNode, *, interrupting: bool
    ) -> None:
        """Start an event subprocess of `scope` at `start` (interrupting: end everything else)."""
        assert start.scope is not None
        token = self.spawn(scope, start.scope, entry=start.id)
        if interrupting:
            current = asyncio.current_task()
            for listener in scope.listeners:
                if listener is not current:
                    listener.cancel()
            self.cancel_tokens(scope, keep=token)
