"""Static lookup of who catches a BPMN error (boundary events, error event subprocesses).

The catcher is decided when the error is thrown, so an uncaught error becomes an incident at the
throwing node (its token stays there and can be retried) instead of unwinding scopes first.
"""

from __future__ import annotations

from workflow_engine.model.types import EventKind, FlowNode, NodeType, ProcessModel


def error_code_of(model: ProcessModel, error_ref: object) -> str:
    """The code an `error_ref` stands for: its definition's `error_code`, else the ref itself."""
    if not isinstance(error_ref, str):
        return ""
    definition = model.error_definitions.get(error_ref)
    if definition is not None and definition.error_code:
        return definition.error_code
    return error_ref


def known_error_types(model: ProcessModel) -> frozenset[str]:
    """Every activity failure type that is a BPMN error: error codes and error ids."""
    types: set[str] = set()
    for definition in model.error_definitions.values():
        types.add(definition.id)
        if definition.error_code:
            types.add(definition.error_code)
    return frozenset(types)


def _matches(model: ProcessModel, catcher: FlowNode, code: str) -> bool:
    ref = catcher.config.get("error_ref")
    if ref is None:
        return True  # catch-all
    if ref == code:
        return True
    definition = model.error_definitions.get(ref) if isinstance(ref, str) else None
    return definition is not None and code in (definition.error_code, definition.id)


def _error_boundary(model: ProcessModel, activity_id: str, code: str) -> str | None:
    for boundary in model.boundary_events(activity_id):
        if boundary.event_kind is EventKind.ERROR and _matches(model, boundary, code):
            return boundary.id
    return None


def _error_event_subprocess(
    model: ProcessModel, scope: str | None, code: str, skip: str | None
) -> str | None:
    for node in model.nodes_in_scope(scope):
        if node.type is not NodeType.SUB_PROCESS or node.id == skip:
            continue
        spec = model.scopes.get(node.id)
        if spec is None or not spec.triggered_by_event:
            continue
        for start in model.start_events(node.id):
            if start.event_kind is EventKind.ERROR and _matches(model, start, code):
                return start.id
    return None


def find_error_catcher(
    model: ProcessModel, node_id: str, code: str, *, include_own_boundaries: bool
) -> str | None:
    """The node that catches error `code` thrown at `node_id`, or None.

    Search order (BPMN): the throwing activity's own error boundaries (when it is an activity
    failing), then outward scope by scope: error start events of event subprocesses in the
    scope, then the error boundaries of the subprocess that forms the scope.
    """
    node = model.node(node_id)
    if include_own_boundaries:
        found = _error_boundary(model, node.id, code)
        if found is not None:
            return found
    came_from: str | None = None
    scope = node.scope
    while True:
        found = _error_event_subprocess(model, scope, code, came_from)
        if found is not None:
            return found
        if scope is None:
            return None
        found = _error_boundary(model, scope, code)
        if found is not None:
            return found
        came_from = scope
        scope = model.node(scope).scope
