"""Run-time state painted onto a diagram: which nodes are active, done, failed or waiting."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field

#: CSS class of each node state, in precedence order (a node shows the first that applies).
NODE_STATE_CLASSES = ("node-failed", "node-waiting", "node-active", "node-done")
FLOW_TAKEN_CLASS = "flow-taken"


@dataclass(frozen=True, slots=True)
class DiagramMarks:
    """Element ids per state, for an instance diagram.

    The sets may overlap (a node in a loop can be done and active again); the renderer shows
    one state per node, in the order failed, waiting, active, done.

    Attributes:
        active: Nodes holding a token and working.
        done: Nodes that ran to completion at least once.
        failed: Nodes whose last attempt failed (an open incident, an uncaught error).
        waiting: Nodes holding a token and waiting for the outside world (a user task, a catch
            event, a receive task, an event-based gateway).
        taken_flows: Sequence flows a token travelled along.
    """

    active: Set[str] = field(default_factory=frozenset)
    done: Set[str] = field(default_factory=frozenset)
    failed: Set[str] = field(default_factory=frozenset)
    waiting: Set[str] = field(default_factory=frozenset)
    taken_flows: Set[str] = field(default_factory=frozenset)

    def node_state(self, node_id: str) -> str | None:
        """The CSS class of the node's state, or None when it has none."""
        for css, ids in zip(
            NODE_STATE_CLASSES, (self.failed, self.waiting, self.active, self.done), strict=True
        ):
            if node_id in ids:
                return css
        return None
