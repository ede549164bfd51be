"""Automatic left-to-right layout for models that carry no diagram of their own.

A layered (Sugiyama-style) layout, per scope: back edges of loops are found by depth-first
search and ignored for layering; each node sits in the layer of its longest path from a start;
nodes within a layer are ordered by the barycenter of their neighbours (a few sweeps, to cut
crossings); layers become columns. Subprocesses are laid out recursively and sized to fit their
children; event subprocesses sit in a row below their scope's main flow; boundary events hang on
their host's bottom edge. Edges get orthogonal-ish waypoints. Shapes never overlap, apart from
a boundary event on its host and children inside their subprocess.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow_engine.model.types import (
    EVENT_TYPES,
    GATEWAY_TYPES,
    FlowNode,
    NodeType,
    ProcessModel,
)

Point = tuple[float, float]

EVENT_SIZE = (36.0, 36.0)
TASK_SIZE = (100.0, 80.0)
GATEWAY_SIZE = (50.0, 50.0)
_H_GAP = 70.0
_V_GAP = 60.0
#: Extra room under a node that carries boundary events (they hang half below it).
_BOUNDARY_ROOM = 30.0
_BOUNDARY_STEP = 46.0
_PADDING = 30.0
_HEADER = 30.0
_ORIGIN = (160.0, 80.0)
_SWEEPS = 4


@dataclass(frozen=True, slots=True)
class Bounds:
    """A shape's rectangle (BPMN DI `dc:Bounds`)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        """The right edge's x."""
        return self.x + self.width

    @property
    def bottom(self) -> float:
        """The bottom edge's y."""
        return self.y + self.height

    @property
    def center(self) -> Point:
        """The centre point."""
        return (self.x + self.width / 2, self.y + self.height / 2)

    def overlaps(self, other: Bounds) -> bool:
        """Whether the two rectangles share interior area (touching edges do not count)."""
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def moved(self, dx: float, dy: float) -> Bounds:
        """The same rectangle shifted by `(dx, dy)`."""
        return Bounds(self.x + dx, self.y + dy, self.width, self.height)


@dataclass(frozen=True, slots=True)
class DiagramLayout:
    """Shapes per node id and waypoints per flow / connection id, in absolute coordinates."""

    shapes: Mapping[str, Bounds]
    edges: Mapping[str, tuple[Point, ...]]

    def to_document(self) -> dict[str, Any]:
        """The document's `diagram` form: `{"shapes": {id: {x,y,width,height}}, "edges": …}`."""
        return {
            "shapes": {
                k: {"x": b.x, "y": b.y, "width": b.width, "height": b.height}
                for k, b in self.shapes.items()
            },
            "edges": {k: [[x, y] for x, y in points] for k, points in self.edges.items()},
        }


def base_size(node: FlowNode) -> tuple[float, float]:
    """Default size of a node's shape by kind (bpmn.io's defaults)."""
    if node.type in EVENT_TYPES:
        return EVENT_SIZE
    if node.type in GATEWAY_TYPES:
        return GATEWAY_SIZE
    return TASK_SIZE


@dataclass
class _Scope:
    model: ProcessModel
    scope: str | None
    #: Relative shapes of this scope's direct nodes and (recursively) everything inside them.
    shapes: dict[str, Bounds] = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0


def auto_layout(model: ProcessModel) -> DiagramLayout:
    """Lay out every node, flow and connection of `model`."""
    root = _layout_scope(model, None)
    shapes = {k: b.moved(*_ORIGIN) for k, b in root.shapes.items()}
    return DiagramLayout(shapes, route_edges(model, shapes))


def _boundaries(model: ProcessModel) -> dict[str, list[FlowNode]]:
    hosts: dict[str, list[FlowNode]] = {}
    for node in model.nodes.values():
        if node.type is NodeType.BOUNDARY_EVENT and node.attached_to in model.nodes:
            hosts.setdefault(node.attached_to or "", []).append(node)
    return hosts


def _layout_scope(model: ProcessModel, scope: str | None) -> _Scope:
    result = _Scope(model, scope)
    hosts = _boundaries(model)
    members = [n for n in model.nodes_in_scope(scope) if n.type is not NodeType.BOUNDARY_EVENT]
    event_subprocesses = [
        n
        for n in members
        if n.type is NodeType.SUB_PROCESS
        and model.scopes.get(n.id) is not None
        and model.scopes[n.id].triggered_by_event
    ]
    main = [n for n in members if n not in event_subprocesses]
    sizes: dict[str, tuple[float, float]] = {}
    inner: dict[str, _Scope] = {}
    for node in members:
        width, height = base_size(node)
        if node.type is NodeType.SUB_PROCESS:
            child = _layout_scope(model, node.id)
            inner[node.id] = child
            width = max(child.width + 2 * _PADDING, 2 * TASK_SIZE[0])
            height = max(child.height + _HEADER + _PADDING, 1.5 * TASK_SIZE[1])
        count = len(hosts.get(node.id, ()))
        if count:
            width = max(width, 15.0 + count * _BOUNDARY_STEP)
        sizes[node.id] = (width, height)
    layers = _layers(model, main, hosts)
    placed = _place(layers, sizes, hosts)
    bottom = max(
        (b.bottom + (_BOUNDARY_ROOM if hosts.get(k) else 0.0) for k, b in placed.items()),
        default=0.0,
    )
    right = max((b.right for b in placed.values()), default=0.0)
    x = 0.0
    row_top = bottom + _V_GAP if placed else 0.0
    for node in event_subprocesses:
        width, height = sizes[node.id]
        placed[node.id] = Bounds(x, row_top, width, height)
        x += width + _H_GAP
        right = max(right, x - _H_GAP)
        bottom = max(bottom, row_top + height + (_BOUNDARY_ROOM if hosts.get(node.id) else 0.0))
    for node_id, bounds in placed.items():
        result.shapes[node_id] = bounds
        for index, boundary in enumerate(hosts.get(node_id, ())):
            result.shapes[boundary.id] = Bounds(
                bounds.x + 15.0 + index * _BOUNDARY_STEP,
                bounds.bottom - EVENT_SIZE[1] / 2,
                *EVENT_SIZE,
            )
        contents = inner.get(node_id)
        if contents is not None:
            for inner_id, inner_bounds in contents.shapes.items():
                result.shapes[inner_id] = inner_bounds.moved(
                    bounds.x + _PADDING, bounds.y + _HEADER
                )
    result.width = right
    result.height = bottom
    return result


def _layers(
    model: ProcessModel, nodes: list[FlowNode], hosts: Mapping[str, list[FlowNode]]
) -> list[list[str]]:
    ids = [n.id for n in nodes]
    members = set(ids)
    owner = {b.id: host for host, items in hosts.items() for b in items}
    successors: dict[str, list[str]] = {i: [] for i in ids}
    for flow in model.flows.values():
        source = owner.get(flow.source, flow.source)
        if source in members and flow.target in members and flow.target != source:
            successors[source].append(flow.target)
    # Depth-first search from the starts (then from anything left) marks back edges of loops.
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}
    order: list[str] = []
    has_incoming = {t for targets in successors.values() for t in targets}
    roots = [i for i in ids if i not in has_incoming] + ids
    for root in roots:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        order.append(root)
        while stack:
            current, position = stack[-1]
            targets = successors[current]
            if position >= len(targets):
                stack.pop()
                state[current] = 2
                continue
            stack[-1] = (current, position + 1)
            target = targets[position]
            if state.get(target) == 1:
                back.add((current, target))
            elif target not in state:
                state[target] = 1
                order.append(target)
                stack.append((target, 0))
    forward = {i: [t for t in successors[i] if (i, t) not in back] for i in ids}
    predecessors: dict[str, list[str]] = {i: [] for i in ids}
    for source, targets in forward.items():
        for target in targets:
            predecessors[target].append(source)
    # Longest path layering over the acyclic part, in topological (Kahn) order.
    layer: dict[str, int] = {}
    pending = {i: len(predecessors[i]) for i in ids}
    ready = [i for i in order if pending[i] == 0]
    while ready:
        current = ready.pop(0)
        layer.setdefault(current, 0)
        for target in forward[current]:
            layer[target] = max(layer.get(target, 0), layer[current] + 1)
            pending[target] -= 1
            if pending[target] == 0:
                ready.append(target)
    count = max(layer.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(count)]
    for node_id in order:
        layers[layer.get(node_id, 0)].append(node_id)
    _reduce_crossings(layers, forward, predecessors)
    return layers


def _reduce_crossings(
    layers: list[list[str]],
    successors: Mapping[str, list[str]],
    predecessors: Mapping[str, list[str]],
) -> None:
    position: dict[str, float] = {}

    def remember(items: list[str]) -> None:
        for index, item in enumerate(items):
            position[item] = float(index)

    for items in layers:
        remember(items)
    for sweep in range(_SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for index in indices:
            items = layers[index]
            neighbours = predecessors if downward else successors

            def barycenter(node_id: str, neighbours: Mapping[str, list[str]] = neighbours) -> float:
                linked = [position[n] for n in neighbours[node_id] if n in position]
                return sum(linked) / len(linked) if linked else position[node_id]

            items.sort(key=barycenter)  # stable: ties keep their current order
            remember(items)


def _place(
    layers: list[list[str]],
    sizes: Mapping[str, tuple[float, float]],
    hosts: Mapping[str, list[FlowNode]],
) -> dict[str, Bounds]:
    def room(node_id: str) -> float:
        return sizes[node_id][1] + (_BOUNDARY_ROOM if hosts.get(node_id) else 0.0)

    columns = [max((sizes[n][0] for n in items), default=0.0) for items in layers]
    totals = [sum(room(n) for n in items) + _V_GAP * max(len(items) - 1, 0) for items in layers]
    tallest = max(totals, default=0.0)
    # Every column is centred on one line, so a straight sequence stays straight.
    middle = tallest / 2
    shapes: dict[str, Bounds] = {}
    x = 0.0
    for items, width, total in zip(layers, columns, totals, strict=True):
        y = middle - total / 2
        for node_id in items:
            node_width, node_height = sizes[node_id]
            shapes[node_id] = Bounds(x + (width - node_width) / 2, y, node_width, node_height)
            y += room(node_id) + _V_GAP
        x += width + _H_GAP
    return shapes


def route_edges(model: ProcessModel, shapes: Mapping[str, Bounds]) -> dict[str, tuple[Point, ...]]:
    """Waypoints for every flow and connection whose two ends have shapes."""
    edges: dict[str, tuple[Point, ...]] = {}
    boundaries = {n.id for n in model.nodes.values() if n.type is NodeType.BOUNDARY_EVENT}
    for flow in model.flows.values():
        source, target = shapes.get(flow.source), shapes.get(flow.target)
        if source is None or target is None:
            continue
        route = _route(source, target, from_boundary=flow.source in boundaries)
        if flow.source not in boundaries and target.x >= source.right:
            route = _clear_route(route, source, target, shapes.values())
        edges[flow.id] = route
    for connection in model.connections:
        source, target = shapes.get(connection.source), shapes.get(connection.target)
        if source is None or target is None:
            continue
        edges[connection.id] = (source.center, target.center)
    return edges


def _contains(outer: Bounds, point: Point) -> bool:
    return outer.x <= point[0] <= outer.right and outer.y <= point[1] <= outer.bottom


def _crosses(start: Point, end: Point, box: Bounds) -> bool:
    """Whether an axis-parallel segment runs through the inside of `box` (edges do not count)."""
    low_x, high_x = sorted((start[0], end[0]))
    low_y, high_y = sorted((start[1], end[1]))
    return (
        low_x < box.right - 1
        and high_x > box.x + 1
        and low_y < box.bottom - 1
        and high_y > box.y + 1
    )


def _clear_route(
    route: tuple[Point, ...], source: Bounds, target: Bounds, shapes: Iterable[Bounds]
) -> tuple[Point, ...]:
    """`route`, or a detour when it runs through a shape between the two ends.

    A flow that skips columns can meet shapes in the columns between. Tried in turn: the given
    route, a turn right after the source, and a lane just above or below every shape in the
    way (that one always runs clear: its turns sit in the gaps next to the two columns).
    """
    obstacles = [
        b
        for b in shapes
        if b != source
        and b != target
        and not _contains(b, source.center)
        and not _contains(b, target.center)
    ]

    def clear(points: tuple[Point, ...]) -> bool:
        return not any(
            _crosses(a, b, box) for a, b in itertools.pairwise(points) for box in obstacles
        )

    if clear(route):
        return route
    sy, ty = source.center[1], target.center[1]
    early = min(source.right + _H_GAP / 2, (source.right + target.x) / 2)
    candidate = ((source.right, sy), (early, sy), (early, ty), (target.x, ty))
    if clear(candidate):
        return candidate
    between = [b for b in obstacles if b.right > source.right and b.x < target.x]
    if not between:
        return route
    late = max(target.x - _H_GAP / 2, early)
    above = min(b.y for b in between) - 20
    below = max(b.bottom for b in between) + 20
    lane = (
        above if abs(sy - above) + abs(ty - above) <= abs(sy - below) + abs(ty - below) else below
    )
    return (
        (source.right, sy),
        (early, sy),
        (early, lane),
        (late, lane),
        (late, ty),
        (target.x, ty),
    )


def _route(source: Bounds, target: Bounds, *, from_boundary: bool) -> tuple[Point, ...]:
    sx, sy = source.center
    tx, ty = target.center
    if from_boundary:
        start = (sx, source.bottom)
        if target.x >= sx:
            if ty >= source.bottom + _V_GAP / 3:
                return (start, (sx, ty), (target.x, ty))
            # The target is level with the host: drop below the host first, so the flow does
            # not run along the host's bottom border, then climb in the gap before the target.
            low = source.bottom + _V_GAP / 3
            turn = max(target.x - _H_GAP / 2, sx + 10)
            return (start, (sx, low), (turn, low), (turn, ty), (target.x, ty))
        return (start, (sx, target.bottom + 20), (tx, target.bottom + 20), (tx, target.bottom))
    if target.x >= source.right:
        if abs(sy - ty) < 0.5:
            return ((source.right, sy), (target.x, ty))
        # Turn in the gap just before the target's column: that gap never holds a shape,
        # while a turn halfway along a flow that skips columns could run through one.
        turn = max(target.x - _H_GAP / 2, (source.right + target.x) / 2)
        return ((source.right, sy), (turn, sy), (turn, ty), (target.x, ty))
    # A loop back: leave downwards, run below both shapes, enter the target from below.
    low = max(source.bottom, target.bottom) + 40
    return ((sx, source.bottom), (sx, low), (tx, low), (tx, target.bottom))


def document_layout(model: ProcessModel, diagram: Mapping[str, Any] | None) -> DiagramLayout:
    """The document's own `diagram` when it places every node, else `auto_layout(model)`.

    Imported BPMN keeps the modeler's coordinates in the document's `diagram` key; flows it
    has no waypoints for are routed between the given shapes.
    """
    given = _given_shapes(diagram)
    if given is None or any(node_id not in given for node_id in model.nodes):
        return auto_layout(model)
    routed = route_edges(model, given)
    edges_raw = diagram.get("edges") if isinstance(diagram, Mapping) else None
    if isinstance(edges_raw, Mapping):
        for edge_id, points in edges_raw.items():
            parsed = _points(points)
            if parsed is not None and edge_id in routed:
                routed[edge_id] = parsed
    return DiagramLayout(given, routed)


def _given_shapes(diagram: Mapping[str, Any] | None) -> dict[str, Bounds] | None:
    if not isinstance(diagram, Mapping) or not isinstance(diagram.get("shapes"), Mapping):
        return None
    shapes: dict[str, Bounds] = {}
    for node_id, raw in diagram["shapes"].items():
        if not isinstance(raw, Mapping):
            return None
        values = [raw.get(k) for k in ("x", "y", "width", "height")]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return None
        x, y, width, height = (float(v) for v in values if isinstance(v, int | float))
        shapes[str(node_id)] = Bounds(x, y, width, height)
    return shapes


def _points(raw: object) -> tuple[tuple[float, float], ...] | None:
    if not isinstance(raw, list) or len(raw) < 2:
        return None
    points: list[tuple[float, float]] = []
    for item in raw:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in item)
        ):
            return None
        points.append((float(item[0]), float(item[1])))
    return tuple(points)
