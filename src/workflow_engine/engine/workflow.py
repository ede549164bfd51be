"""`ProcessInstanceWorkflow`: one Temporal workflow per process instance (DESIGN §3).

The workflow is a thin shell around the interpreter (`engine.interpreter.Runtime`): it parses
the pinned definition, wires the contract's signals, update and query to the runtime and
returns the `InstanceResult`. Register it on a worker together with the activities it calls by
name (`wfe.apply_runtime_batch`, the service tasks' activities, `wfe.broadcast_signal`,
`wfe.send_message`, `wfe.resolve_definition`).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflow_engine.engine.contract import (
        QUERY_SNAPSHOT,
        SIGNAL_BPMN_MESSAGE,
        SIGNAL_BPMN_SIGNAL,
        SIGNAL_CANCEL,
        SIGNAL_CHILD_ESCALATION,
        SIGNAL_PAUSE,
        SIGNAL_RESUME,
        SIGNAL_RETRY,
        SIGNAL_SET_VARIABLES,
        SIGNAL_TERMINATE,
        UPDATE_CANCEL,
        UPDATE_COMPLETE_TASK,
        UPDATE_PAUSE,
        UPDATE_RESUME,
        UPDATE_TERMINATE,
        WORKFLOW_NAME,
        CompleteTaskRequest,
        CompleteTaskResult,
        ControlRequest,
        ControlResult,
        InstanceResult,
        InstanceSnapshot,
        MessageDelivery,
        RetryRequest,
        SetVariablesRequest,
        SignalDelivery,
        StartInstanceInput,
        instance_id_of,
    )
    from workflow_engine.engine.interpreter import DefinitionError, Runtime, load_model
    from workflow_engine.engine.interpreter.escalations import from_child
    from workflow_engine.engine.interpreter.variables import type_errors


@workflow.defn(name=WORKFLOW_NAME)
class ProcessInstanceWorkflow:
    """The BPMN interpreter for one process instance."""

    @workflow.init
    def __init__(self, inp: StartInstanceInput) -> None:
        """Parse the pinned definition (cached by content hash) and prepare the runtime."""
        self._problem: str | None = None
        if not inp.instance_id:
            # A timer start schedule cannot name each instance: its workflow id is the fixed
            # `pi-<prefix>` plus the fire time Temporal appends, so the id is the instance's.
            # Set in place: `run` receives this very object.
            derived = instance_id_of(workflow.info().workflow_id)
            if derived is None:
                self._problem = (
                    "the input has no instance_id and the workflow id "
                    f"{workflow.info().workflow_id!r} does not name one (expected 'pi-<id>')"
                )
            else:
                inp.instance_id = derived
        model = None
        if self._problem is None:
            try:
                model = load_model(inp.document, inp.content_hash)
            except DefinitionError as exc:
                self._problem = str(exc)
        self._rt: Runtime | None = Runtime(inp, model) if model is not None else None

    @workflow.run
    async def run(self, inp: StartInstanceInput) -> InstanceResult:
        """Run the instance to its end."""
        if self._rt is None:
            raise ApplicationError(
                f"instance {inp.instance_id}: {self._problem}",
                type="InvalidDefinition",
                non_retryable=True,
            )
        return await self._rt.run()

    def _runtime(self) -> Runtime:
        if self._rt is None:
            raise ApplicationError(
                f"the instance cannot run: {self._problem}", type="InvalidDefinition"
            )
        return self._rt

    # --- deliveries ------------------------------------------------------------------------

    @workflow.signal(name=SIGNAL_BPMN_SIGNAL)
    def bpmn_signal(self, delivery: SignalDelivery) -> None:
        """A broadcast BPMN signal reaches this instance."""
        rt = self._runtime()
        rt.deliver_signal(delivery.name, dict(delivery.variables), delivery.delivery_id)

    @workflow.signal(name=SIGNAL_BPMN_MESSAGE)
    def bpmn_message(self, delivery: MessageDelivery) -> None:
        """A BPMN message correlated to this instance."""
        rt = self._runtime()
        rt.deliver_message(
            delivery.name, delivery.correlation_key, dict(delivery.variables), delivery.delivery_id
        )

    @workflow.signal(name=SIGNAL_CHILD_ESCALATION)
    def child_escalation(self, payload: dict[str, Any]) -> None:
        """An escalation a child instance (of a call activity) did not catch."""
        rt = self._runtime()
        if rt.final_status is None:
            from_child(rt, payload)

    # --- control ---------------------------------------------------------------------------

    @workflow.signal(name=SIGNAL_PAUSE)
    async def pause(self, request: ControlRequest) -> None:
        """Start no new step until resumed."""
        rt = self._runtime()
        if rt.paused or rt.final_status is not None:
            return
        rt.paused = True
        rt.record("process.paused", user_id=request.user_id, data={"reason": request.reason})
        await rt.flush()

    @workflow.signal(name=SIGNAL_RESUME)
    async def resume(self, request: ControlRequest) -> None:
        """Go on; what arrived during the pause is handled now."""
        rt = self._runtime()
        if not rt.paused or rt.final_status is not None:
            return
        rt.paused = False
        rt.record("process.resumed", user_id=request.user_id, data={"reason": request.reason})
        await rt.flush()

    @workflow.signal(name=SIGNAL_TERMINATE)
    def terminate(self, request: ControlRequest) -> None:
        """End at once (status terminated)."""
        self._runtime().request_control("terminated", request.reason)

    @workflow.signal(name=SIGNAL_CANCEL)
    def cancel(self, request: ControlRequest) -> None:
        """Run down: cancel activities and tasks, then end (status cancelled)."""
        self._runtime().request_control("cancelled", request.reason)

    # Control as updates: validated against the state the workflow has when it takes them,
    # so a control operation and a task completion racing each other resolve here, in one
    # order, and each caller learns whether theirs took effect (a rejection is a 409).

    @workflow.update(name=UPDATE_PAUSE)
    async def pause_now(self, request: ControlRequest) -> ControlResult:
        """Pause (see `pause`) and answer the status then."""
        await self.pause(request)
        return ControlResult(status=self._runtime().status())

    @pause_now.validator
    def validate_pause(self, request: ControlRequest) -> None:
        """Refuse when the instance ends or is paused already."""
        rt = self._refuse_when_ending()
        if rt.paused:
            raise ApplicationError("the instance is paused already", type="AlreadyPaused")

    @workflow.update(name=UPDATE_RESUME)
    async def resume_now(self, request: ControlRequest) -> ControlResult:
        """Resume (see `resume`) and answer the status then."""
        await self.resume(request)
        return ControlResult(status=self._runtime().status())

    @resume_now.validator
    def validate_resume(self, request: ControlRequest) -> None:
        """Refuse when the instance ends or is not paused."""
        rt = self._refuse_when_ending()
        if not rt.paused:
            raise ApplicationError(f"the instance is not paused ({rt.status()})", type="NotPaused")

    @workflow.update(name=UPDATE_TERMINATE)
    async def terminate_now(self, request: ControlRequest) -> ControlResult:
        """End at once (status terminated); answers once the end is written."""
        return await self._end_with("terminated", request)

    @terminate_now.validator
    def validate_terminate(self, request: ControlRequest) -> None:
        """Refuse when the instance has ended or its end is already under way."""
        self._refuse_when_ending()

    @workflow.update(name=UPDATE_CANCEL)
    async def cancel_now(self, request: ControlRequest) -> ControlResult:
        """Run down (status cancelled); answers once the end is written."""
        return await self._end_with("cancelled", request)

    @cancel_now.validator
    def validate_cancel(self, request: ControlRequest) -> None:
        """Refuse when the instance has ended or its end is already under way."""
        self._refuse_when_ending()

    def _refuse_when_ending(self) -> Runtime:
        rt = self._runtime()
        problem = rt.end_state()
        if problem is not None:
            raise ApplicationError(f"the instance {problem}", type="InstanceEnded")
        return rt

    async def _end_with(self, status: str, request: ControlRequest) -> ControlResult:
        rt = self._runtime()
        rt.request_control(status, request.reason)
        await workflow.wait_condition(lambda: rt.final_status is not None and rt.end_written)
        assert rt.final_status is not None
        reason = rt.control[1] if rt.control is not None else None
        return ControlResult(status=rt.final_status, reason=reason)

    @workflow.signal(name=SIGNAL_RETRY)
    def retry_incident(self, request: RetryRequest) -> None:
        """Run the failed step of an incident again (`node_id` None: every open incident)."""
        rt = self._runtime()
        for incident in rt.incidents.values():
            if request.node_id is None or incident.node_id == request.node_id:
                incident.retry_requested = True
        rt.record(
            "incident.retry_requested", user_id=request.user_id, data={"node_id": request.node_id}
        )

    @workflow.signal(name=SIGNAL_SET_VARIABLES)
    async def set_variables(self, request: SetVariablesRequest) -> None:
        """Operator sets variables."""
        rt = self._runtime()
        if rt.final_status is not None:
            return
        rt.set_variables(
            rt.root, dict(request.variables), source="operator", user_id=request.user_id
        )
        await rt.flush()

    # --- user tasks ------------------------------------------------------------------------

    @workflow.update(name=UPDATE_COMPLETE_TASK)
    async def complete_task(self, request: CompleteTaskRequest) -> CompleteTaskResult:
        """Complete an open user task with its output variables."""
        rt = self._runtime()
        ending = rt.end_state()
        if ending is not None and workflow.patched("complete-task-refused-when-ending"):
            # A terminate / cancel taken after this update's validation: it won.
            raise ApplicationError(f"the instance {ending}", type="InstanceEnded")
        open_task = rt.open_tasks.get(request.task_id)
        if open_task is None or open_task.closed:
            # Two completions validated before either ran: the second one loses here.
            raise ApplicationError(
                f"task {request.task_id} is already completed or closed", type="TaskClosed"
            )
        open_task.variables = dict(request.variables)
        open_task.completed_by = request.user_id
        open_task.closed = True
        return CompleteTaskResult(
            task_id=request.task_id, node_id=open_task.node_id, instance_status=rt.status()
        )

    @complete_task.validator
    def validate_complete_task(self, request: CompleteTaskRequest) -> None:
        """Reject unknown / closed tasks and wrongly typed declared variables before history."""
        rt = self._runtime()
        ending = rt.end_state()
        if ending is not None:
            raise ApplicationError(f"the instance {ending}", type="InstanceEnded")
        open_task = rt.open_tasks.get(request.task_id)
        if open_task is None:
            known = rt.tasks.get(request.task_id)
            if known is None:
                raise ApplicationError(
                    f"task {request.task_id} does not exist in this instance", type="TaskNotFound"
                )
            raise ApplicationError(f"task {request.task_id} is {known.state}", type="TaskClosed")
        if open_task.closed:
            raise ApplicationError(
                f"task {request.task_id} is already completed", type="TaskClosed"
            )
        if not isinstance(request.variables, dict):
            raise ApplicationError("variables must be an object", type="InvalidVariables")
        problems = type_errors(rt.model.process.variables, request.variables)
        if problems:
            raise ApplicationError("; ".join(problems), type="InvalidVariables")

    # --- queries ---------------------------------------------------------------------------

    @workflow.query(name=QUERY_SNAPSHOT)
    def snapshot(self) -> InstanceSnapshot:
        """Live state: status, active nodes, variables, open tasks, incidents."""
        return self._runtime().snapshot()
