"""Cycles of sequence flows on which a token never waits.

A token caught in such a cycle (script task <-> exclusive gateway) runs step after step inside
one workflow task until the engine's step budget turns it into an incident. The validator warns
about each at deploy time (`LOOP_WITHOUT_WAIT`).

A node *waits* when the instance yields to Temporal there: a user task, receive task,
intermediate catch event (timer, message, signal, ...), event-based gateway, service / send task
(an activity), call activity, or an embedded subprocess containing one of these. Boundary
events do not count: a timer on a node of the cycle does not make a token on it wait.
"""

from __future__ import annotations

from collections import deque

from workflow_engine.model import graph
from workflow_engine.model.types import NodeType, ProcessModel

__all__ = ["WAITING_TYPES", "loops_without_wait"]

#: Node types at which a token waits for something outside the workflow task.
WAITING_TYPES = frozenset(
    {
        NodeType.USER_TASK,
        NodeType.RECEIVE_TASK,
        NodeType.INTERMEDIATE_CATCH_EVENT,
        NodeType.EVENT_BASED_GATEWAY,
        NodeType.SERVICE_TASK,
        NodeType.SEND_TASK,
        NodeType.CALL_ACTIVITY,
    }
)


def _waits(model: ProcessModel, node_id: str, seen: set[str]) -> bool:
    node = model.nodes[node_id]
    if node.type in WAITING_TYPES:
        return True
    if node.type is NodeType.SUB_PROCESS and node_id not in seen:
        seen.add(node_id)
        return any(_waits(model, child.id, seen) for child in model.nodes_in_scope(node_id))
    return False


def _components(nodes: list[str], edges: dict[str, tuple[str, ...]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative: definitions may be large)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, ())
            if position < len(targets):
                work.append((node, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _cycle_through(start: str, members: set[str], edges: dict[str, tuple[str, ...]]) -> list[str]:
    """A shortest cycle from `start` back to it inside `members` (start listed at both ends)."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in edges.get(node, ()):
            if target not in members:
                continue
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if target not in came_from:
                came_from[target] = node
                queue.append(target)
    return [start]  # pragma: no cover - every member of a component lies on a cycle


def loops_without_wait(model: ProcessModel, scope: str | None = None) -> list[list[str]]:
    """Cycles of `scope` (None: the process level) with no node where a token waits.

    Returns:
        One cycle per strongly connected group of such nodes, as node ids from the group's
        first node (in document order) back to it, e.g. ``["inc", "gw", "inc"]``; groups in
        document order.
    """
    order = {node_id: i for i, node_id in enumerate(model.nodes)}
    # Without the nodes that wait, every cycle left is one on which no token waits.
    nodes = [node.id for node in model.nodes_in_scope(scope) if not _waits(model, node.id, set())]
    members_of_scope = set(nodes)
    edges = {
        node_id: tuple(t for t in graph.successors(model, node_id) if t in members_of_scope)
        for node_id in nodes
    }
    loops: list[list[str]] = []
    for component in _components(nodes, edges):
        members = set(component)
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue  # a single node without a flow to itself is no cycle
        start = min(component, key=lambda node_id: order[node_id])
        loops.append(_cycle_through(start, members, edges))
    loops.sort(key=lambda cycle: order[cycle[0]])
    return loops
