"""Pure graph questions about a `ProcessModel`: neighbours, reachability, default flows.

Two graphs are used:

* The *scope graph* (`reachable_from_starts`, `nodes_reaching_end`): the nodes of one scope
  (the process level or one subprocess), joined by sequence flows and by the implicit edge from
  an activity to each boundary event attached to it. The validator's reachability warnings use
  it.
* The *token graph* (`can_reach`): the scope graph of every scope, plus the edges a token takes
  between scopes — a subprocess to its none start events, each end of a subprocess (an end
  event or a node without outgoing flows) to what follows the subprocess, and every child of a
  subprocess to the subprocess's boundary events (a child may throw the error they catch). It
  over-approximates on purpose: the inclusive join must never miss a token that might still
  arrive.

Everything tolerates broken models (a flow naming a missing node is skipped), because the
validator calls these on models that still have errors.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from workflow_engine.model.types import (
    EventKind,
    FlowNode,
    NodeType,
    ProcessModel,
    SequenceFlow,
    implicit_flow_id,
)


def successors(model: ProcessModel, node_id: str) -> tuple[str, ...]:
    """Targets of the node's outgoing sequence flows, in flow order (duplicates kept once)."""
    return _index(model).successors.get(node_id, ())


def predecessors(model: ProcessModel, node_id: str) -> tuple[str, ...]:
    """Sources of the node's incoming sequence flows, in flow order (duplicates kept once)."""
    return _index(model).predecessors.get(node_id, ())


def flow_scope(model: ProcessModel, flow_id: str) -> str | None:
    """The scope a sequence flow belongs to: the subprocess listing it, else its source's."""
    index = _index(model)
    if flow_id in index.flow_scopes:
        return index.flow_scopes[flow_id]
    flow = model.flows.get(flow_id)
    source = model.nodes.get(flow.source) if flow is not None else None
    return source.scope if source is not None else None


def default_flow(model: ProcessModel, gateway_id: str) -> SequenceFlow | None:
    """The gateway's default flow: `config.default_flow` resolved among its outgoing flows.

    `default_flow` names an outgoing flow's id, or the target node of an implicit outgoing flow
    (the seed's short style). `None` when the gateway has no default or it does not resolve.
    """
    node = model.nodes.get(gateway_id)
    if node is None:
        return None
    name = node.config.get("default_flow")
    if not isinstance(name, str):
        return None
    for flow_id in node.outgoing:
        flow = model.flows.get(flow_id)
        if flow is None:
            continue
        if flow.id == name or flow.id == implicit_flow_id(gateway_id, name):
            return flow
    return None


def scope_starts(model: ProcessModel, scope: str | None) -> tuple[str, ...]:
    """Where tokens appear in a scope: its start events and its event subprocesses."""
    result: list[str] = []
    for node in model.nodes_in_scope(scope):
        if node.type is NodeType.START_EVENT or _is_event_subprocess(model, node):
            result.append(node.id)
    return tuple(result)


def reachable_from_starts(model: ProcessModel, scope: str | None = None) -> frozenset[str]:
    """Nodes of `scope` a token can get to from the scope's starts (scope graph)."""
    index = _index(model)
    return _walk(scope_starts(model, scope), index.scope_edges)


def nodes_reaching_end(model: ProcessModel, scope: str | None = None) -> frozenset[str]:
    """Nodes of `scope` from which some end of the scope can be reached (scope graph).

    An end is an end event, or any node without outgoing flows (BPMN's implicit end); event
    subprocesses never need to reach one.
    """
    index = _index(model)
    ends = [
        n.id
        for n in model.nodes_in_scope(scope)
        if n.type is NodeType.END_EVENT or not index.successors.get(n.id)
    ]
    return _walk(ends, index.scope_reverse)


def can_reach(model: ProcessModel, from_node: str, to_node: str) -> bool:
    """Whether a token at `from_node` can get to `to_node` along one or more edges.

    Uses the token graph (see the module docstring). Results are memoized per model and per
    `from_node`, so the inclusive join's "is a token still upstream?" check is cheap. A node
    reaches itself only through a cycle.
    """
    index = _index(model)
    with index.lock:
        reach = index.reach.get(from_node)
    if reach is None:
        reach = _walk(index.token_edges.get(from_node, ()), index.token_edges)
        with index.lock:
            index.reach[from_node] = reach
    return to_node in reach


def _walk(starts: Iterable[str], edges: Mapping[str, tuple[str, ...]]) -> frozenset[str]:
    seen: set[str] = set()
    queue = deque(starts)
    while queue:
        node = queue.popleft()
        if node in seen:
            continue
        seen.add(node)
        queue.extend(n for n in edges.get(node, ()) if n not in seen)
    return frozenset(seen)


def _is_event_subprocess(model: ProcessModel, node: FlowNode) -> bool:
    if node.type is not NodeType.SUB_PROCESS:
        return False
    scope = model.scopes.get(node.id)
    if scope is not None:
        return scope.triggered_by_event
    return node.config.get("triggered_by_event") is True


@dataclass
class _Index:
    successors: dict[str, tuple[str, ...]]
    predecessors: dict[str, tuple[str, ...]]
    flow_scopes: dict[str, str | None]
    scope_edges: dict[str, tuple[str, ...]]
    scope_reverse: dict[str, tuple[str, ...]]
    token_edges: dict[str, tuple[str, ...]]
    reach: dict[str, frozenset[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def link_name(node: FlowNode) -> str | None:
    """The `link_name` of a link event (None for other nodes or a name that is not text)."""
    if node.event_kind is not EventKind.LINK:
        return None
    name = node.config.get("link_name")
    return name if isinstance(name, str) else None


def link_catches(model: ProcessModel, scope: str | None, name: str) -> tuple[FlowNode, ...]:
    """Link catch events named `name` directly inside `scope`, in document order."""
    return tuple(
        n
        for n in model.nodes_in_scope(scope)
        if n.type is NodeType.INTERMEDIATE_CATCH_EVENT and link_name(n) == name
    )


def link_target(model: ProcessModel, throw_id: str) -> str | None:
    """The link catch event a link throw event jumps to (the first of its name in its scope)."""
    throw = model.node(throw_id)
    name = link_name(throw)
    if throw.type is not NodeType.INTERMEDIATE_THROW_EVENT or name is None:
        return None
    found = link_catches(model, throw.scope, name)
    return found[0].id if found else None


def _build_index(model: ProcessModel) -> _Index:
    nodes = model.nodes
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    pred: dict[str, list[str]] = {n: [] for n in nodes}
    for node in nodes.values():
        for flow_id in node.outgoing:
            flow = model.flows.get(flow_id)
            if flow is not None and flow.target in nodes:
                succ[node.id].append(flow.target)
        if node.event_kind is EventKind.LINK:
            # A link throw moves its token to the catch of the same name: an edge for reachability.
            jump = link_target(model, node.id)
            if jump is not None:
                succ[node.id].append(jump)
    for flow in model.flows.values():
        if flow.source in nodes and flow.target in nodes and flow.target not in succ[flow.source]:
            succ[flow.source].append(flow.target)
    for source, targets in succ.items():
        for target in targets:
            pred[target].append(source)
    successors_map = {k: _unique(v) for k, v in succ.items()}
    boundaries: dict[str, list[str]] = {}
    for node in nodes.values():
        host = node.attached_to
        if node.type is NodeType.BOUNDARY_EVENT and host is not None and host in nodes:
            boundaries.setdefault(host, []).append(node.id)
    scope_edges = {n: _unique([*successors_map[n], *boundaries.get(n, ())]) for n in nodes}
    reverse: dict[str, list[str]] = {n: [] for n in nodes}
    for source, edge_targets in scope_edges.items():
        for target in edge_targets:
            reverse[target].append(source)
    flow_scopes: dict[str, str | None] = {}
    for scope in model.scopes.values():
        for flow_id in scope.flow_ids:
            flow_scopes[flow_id] = scope.id
    return _Index(
        successors=successors_map,
        predecessors={k: _unique(v) for k, v in pred.items()},
        flow_scopes=flow_scopes,
        scope_edges=scope_edges,
        scope_reverse={k: _unique(v) for k, v in reverse.items()},
        token_edges=_token_edges(model, scope_edges, successors_map, boundaries),
    )


def _token_edges(
    model: ProcessModel,
    scope_edges: Mapping[str, tuple[str, ...]],
    successors_map: Mapping[str, tuple[str, ...]],
    boundaries: Mapping[str, list[str]],
) -> dict[str, tuple[str, ...]]:
    edges = {n: list(targets) for n, targets in scope_edges.items()}
    for node in model.nodes.values():
        if node.type is not NodeType.SUB_PROCESS:
            continue
        children = [c for c in model.nodes_in_scope(node.id)]
        edges[node.id].extend(
            c.id
            for c in children
            if c.type is NodeType.START_EVENT and c.event_kind in (None, EventKind.NONE)
        )
        after = _exit_targets(model, node, successors_map, set())
        for child in children:
            edges[child.id].extend(boundaries.get(node.id, ()))
            if child.type is NodeType.END_EVENT or not successors_map.get(child.id):
                edges[child.id].extend(after)
    return {n: _unique(targets) for n, targets in edges.items()}


def _exit_targets(
    model: ProcessModel,
    subprocess: FlowNode,
    successors_map: Mapping[str, tuple[str, ...]],
    seen: set[str],
) -> tuple[str, ...]:
    """Where a token goes when `subprocess` completes: its successors, or its parent's."""
    if subprocess.id in seen:
        return ()
    seen.add(subprocess.id)
    after = successors_map.get(subprocess.id, ())
    if after or subprocess.scope is None:
        return after
    parent = model.nodes.get(subprocess.scope)
    if parent is None:
        return ()
    return _exit_targets(model, parent, successors_map, seen)


# The index is derived data of an immutable model, so it is cached per model object. Models
# are not hashable (they hold dicts) and have no weakref slot, hence a small LRU keyed by id()
# that keeps the model alive while cached (so the id cannot be reused meanwhile).
_CACHE_SIZE = 64
_cache: OrderedDict[int, tuple[ProcessModel, _Index]] = OrderedDict()
_cache_lock = threading.Lock()


def _index(model: ProcessModel) -> _Index:
    key = id(model)
    with _cache_lock:
        entry = _cache.get(key)
        if entry is not None and entry[0] is model:
            _cache.move_to_end(key)
            return entry[1]
    index = _build_index(model)
    with _cache_lock:
        _cache[key] = (model, index)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index
