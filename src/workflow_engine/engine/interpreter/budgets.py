"""Execution budgets of an instance: steps without a wait, and the size of its variables.

**Steps.** A loop without a wait state (script task <-> exclusive gateway) never yields to
Temporal: the workflow task runs for ever, pins a core, grows the event log without bound and
no terminate can be handled. Every step a token takes (one element execution) is counted per
workflow task (a workflow task ends exactly when the instance waits: for an activity, a timer,
a user task, a message, a signal, an incident); when one workflow task takes more than the
budget (`StartInstanceInput.max_steps_without_wait`) the node about to run becomes an incident
(`StepBudgetExceeded`) naming the loop. The instance then waits like at any incident, so
terminate / cancel work and retry runs the next `budget` steps.

**Variables.** A script or service task's outputs are checked before they are set: no single
variable may serialize to more than the instance's variables budget, nor may the instance's
variables all together (`StartInstanceInput.max_variables_bytes`); the step becomes an incident
(`VariablesTooLarge`) naming the variable instead.

Both are counts, never clocks, so replays decide the same. Histories recorded before these
budgets existed replay as they ran: the new incidents are gated by `workflow.patched` and only
asked for when a budget is actually exceeded (so histories that never exceed one carry no
marker either).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from temporalio import workflow

from workflow_engine.engine.interpreter.state import IncidentError

__all__ = [
    "BREATH_STEPS",
    "STEP_BUDGET_PATCH",
    "TRAIL_LENGTH",
    "VARIABLES_BUDGET_PATCH",
    "StepCounter",
    "check_variables",
    "loop_of",
]

STEP_BUDGET_PATCH = "wfe-step-budget-1"
VARIABLES_BUDGET_PATCH = "wfe-variables-budget-1"

#: Recent nodes a token remembers, to name the loop it is caught in.
TRAIL_LENGTH = 64

#: Steps between two breathers (see `StepCounter.breathe`).
BREATH_STEPS = 100


class StepCounter:
    """Steps taken since the instance last waited (all tokens of the instance together)."""

    def __init__(self, limit: int) -> None:
        """Count up to `limit` steps between waits (0 or less: no limit)."""
        self.limit = limit
        self._task_marker = -1
        self._steps = 0
        self._breathing = 0

    def _observe(self) -> None:
        # The history length only changes when a new workflow task starts, i.e. after the
        # instance waited; it is the same on every replay of that task. A task started by a
        # breather's timer is no wait of the process: it does not reset the count.
        marker = workflow.info().get_current_history_length()
        if marker != self._task_marker:
            self._task_marker = marker
            if not self._breathing:
                self._steps = 0

    async def breathe(self, flush: Callable[[], Awaitable[None]]) -> None:
        """Every `BREATH_STEPS` steps without a wait, write the event log (`flush`).

        Steps cost real time (expressions, records), and a workflow task that runs for two
        seconds without yielding is failed by Temporal's deadlock detection, then retried from
        the start: for ever. Writing the batch (an activity) ends the workflow task, keeps long
        runs of steps (legitimate or not) within that limit, bounds the unwritten event log and
        lets terminate / cancel signals in.
        """
        self._observe()
        if self._steps == 0 or self._steps % BREATH_STEPS:
            return
        if not workflow.patched(STEP_BUDGET_PATCH):
            return
        self._breathing += 1
        try:
            await flush()
        finally:
            self._breathing -= 1
        self._task_marker = workflow.info().get_current_history_length()

    def step(self, node_id: str, trail: deque[str]) -> None:
        """Count one step of the token whose recent nodes are `trail` (ending with `node_id`).

        Raises:
            IncidentError: `StepBudgetExceeded`, naming the loop, when the instance has taken
                more than `limit` steps since it last waited.
        """
        self._observe()
        self._steps += 1
        if self.limit <= 0 or self._steps <= self.limit:
            return
        if not workflow.patched(STEP_BUDGET_PATCH):
            return
        self._steps = 0  # a retry in this very task (it cannot happen, but) starts afresh
        raise IncidentError(
            f"step budget exceeded at '{node_id}': more than {self.limit} steps without a wait "
            "state (user task, receive task, catch event, timer, service task or call "
            f"activity); {loop_of(node_id, trail)}",
            error_type="StepBudgetExceeded",
        )


def loop_of(node_id: str, trail: deque[str]) -> str:
    """Describe the cycle `trail` (a token's recent nodes, the last one `node_id`) ends in."""
    recent = list(trail)
    for start in range(len(recent) - 2, -1, -1):
        if recent[start] == node_id:
            cycle = recent[start:]
            return "loop: " + " -> ".join(cycle)
    return "last steps: " + " -> ".join(recent[-10:])


def _json_size(value: Any) -> int:
    return len(json.dumps(value, default=str, separators=(",", ":")).encode())


def check_variables(
    node_id: str,
    values: Mapping[str, Any],
    visible: Mapping[str, Any],
    limit: int,
) -> None:
    """Refuse outputs that would make one variable or all of them larger than `limit` bytes.

    Args:
        node_id: The node setting them (for the message).
        values: The variables about to be set.
        visible: The variables the instance has now (as its scope sees them).
        limit: Largest JSON size, in bytes, of one variable and of all together (0: none).

    Raises:
        IncidentError: `VariablesTooLarge`, naming the variable.
    """
    if limit <= 0 or not values:
        return
    sizes = {name: _json_size(value) for name, value in values.items()}
    problem: str | None = None
    for name, size in sizes.items():
        if size > limit:
            problem = (
                f"node '{node_id}': variable '{name}' would be {size} bytes as JSON, more than "
                f"the limit of {limit} bytes"
            )
            break
    if problem is None:
        kept = {name: value for name, value in visible.items() if name not in values}
        total = sum(sizes.values()) + _json_size(kept)
        if total > limit:
            largest = max(sizes, key=lambda name: sizes[name])
            problem = (
                f"node '{node_id}': setting variable '{largest}' ({sizes[largest]} bytes) would "
                f"make the instance's variables {total} bytes as JSON, more than the limit of "
                f"{limit} bytes"
            )
    if problem is not None and workflow.patched(VARIABLES_BUDGET_PATCH):
        raise IncidentError(problem, error_type="VariablesTooLarge")
