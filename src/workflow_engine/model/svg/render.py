"""`ProcessModel` → a standalone, accessible SVG diagram (BPMN notation).

Coordinates come from the definition's own diagram (an imported BPMN file keeps the modeler's
layout in `extensions["diagram"]`) or, failing that, from `auto_layout`. Containers are drawn
first, then flows, then nodes and finally boundary events, so every shape sits above the
subprocess holding it and boundary events sit above their host's border.

Each node is a `<g class="node …" data-element-id="…">` with a `<title>`; each flow a
`<g class="flow …" data-element-id="…">`. Run-time state (`DiagramMarks`) becomes CSS classes
(`node-active`, `node-done`, `node-failed`, `node-waiting`, `flow-taken`) styled by the
embedded stylesheet, which a page may override.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

from lxml import etree

from workflow_engine.model.bpmn.layout import Bounds, DiagramLayout, Point, document_layout
from workflow_engine.model.graph import default_flow
from workflow_engine.model.svg.icons import (
    ICON_SIZE,
    activity_markers,
    event_marker,
    gateway_marker,
    has_bottom_markers,
    task_icon,
)
from workflow_engine.model.svg.marks import FLOW_TAKEN_CLASS, DiagramMarks
from workflow_engine.model.svg.style import STYLESHEET
from workflow_engine.model.svg.text import text_width, wrap
from workflow_engine.model.svg.xml import element, num, points, sub
from workflow_engine.model.types import (
    EVENT_TYPES,
    GATEWAY_TYPES,
    Connection,
    ConnectionType,
    FlowNode,
    NodeType,
    ProcessModel,
    SequenceFlow,
)

_MARGIN = 24.0
_TASK_FONT = 12.0
_SMALL_FONT = 11.0
_LINE = 14.0
_OUTER_LABEL_WIDTH = 120.0
_FLOW_LABEL_WIDTH = 130.0
_ARROW = "wfe-arrow"
_ARROW_TAKEN = "wfe-arrow-taken"
_ARROW_OPEN = "wfe-arrow-open"
_DIAMOND = "wfe-conditional"
_CIRCLE = "wfe-message-source"

_TYPE_NAMES = {
    NodeType.START_EVENT: "Start event",
    NodeType.END_EVENT: "End event",
    NodeType.INTERMEDIATE_CATCH_EVENT: "Intermediate catch event",
    NodeType.INTERMEDIATE_THROW_EVENT: "Intermediate throw event",
    NodeType.BOUNDARY_EVENT: "Boundary event",
    NodeType.USER_TASK: "User task",
    NodeType.SERVICE_TASK: "Service task",
    NodeType.SCRIPT_TASK: "Script task",
    NodeType.BUSINESS_RULE_TASK: "Business rule task",
    NodeType.RECEIVE_TASK: "Receive task",
    NodeType.MANUAL_TASK: "Manual task",
    NodeType.SEND_TASK: "Send task",
    NodeType.TASK: "Task",
    NodeType.EXCLUSIVE_GATEWAY: "Exclusive gateway",
    NodeType.PARALLEL_GATEWAY: "Parallel gateway",
    NodeType.INCLUSIVE_GATEWAY: "Inclusive gateway",
    NodeType.EVENT_BASED_GATEWAY: "Event-based gateway",
    NodeType.SUB_PROCESS: "Subprocess",
    NodeType.CALL_ACTIVITY: "Call activity",
}
_STATE_NAMES = {
    "node-active": "active",
    "node-done": "done",
    "node-failed": "failed",
    "node-waiting": "waiting",
}


def render_svg(
    model: ProcessModel,
    *,
    layout: DiagramLayout | None = None,
    marks: DiagramMarks | None = None,
) -> str:
    """Draw `model` as an SVG document.

    Args:
        model: The process.
        layout: Shapes and waypoints to use; by default the definition's own diagram when it
            places every node (imported BPMN), else an automatic layout.
        marks: Run-time state to paint (an instance diagram); None for a plain definition.

    Returns:
        The SVG document as text (no XML declaration, so it can also be inlined in HTML).

    Raises:
        ValueError: `layout` has no shape for some node (the message names them).
    """
    if layout is None:
        diagram = model.extensions.get("diagram")
        layout = document_layout(model, diagram if isinstance(diagram, dict) else None)
    missing = [node_id for node_id in model.nodes if node_id not in layout.shapes]
    if missing:
        raise ValueError(f"layout has no shape for node(s): {', '.join(sorted(missing))}")
    return _Renderer(model, layout, marks or DiagramMarks()).render()


def _depth(model: ProcessModel, node: FlowNode) -> int:
    depth = 0
    scope = node.scope
    while scope is not None and scope in model.nodes and depth < len(model.nodes):
        depth += 1
        scope = model.nodes[scope].scope
    return depth


class _Renderer:
    def __init__(self, model: ProcessModel, layout: DiagramLayout, marks: DiagramMarks) -> None:
        self.model = model
        self.layout = layout
        self.marks = marks
        #: Every rectangle drawn (shapes and estimated label boxes): the view box covers them.
        self.extents: list[Bounds] = []
        #: Flow labels go on top of everything, so no shape hides them.
        self.labels = element("g", {"class": "flow-labels"})

    # -- document -------------------------------------------------------------------------------

    def render(self) -> str:
        name = self.model.process.name or self.model.process.id
        root = element("svg", {"class": "wfe-diagram", "role": "img", "version": "1.1"})
        root.set("aria-label", f"BPMN diagram of process {name}")
        sub(root, "title", text=f"Process {name}")
        summary = self._summary()
        if summary:
            sub(root, "desc", text=summary)
        sub(root, "style", text=STYLESHEET)
        self._defs(root)
        nodes = list(self.model.nodes.values())
        containers = sorted(
            (n for n in nodes if n.type is NodeType.SUB_PROCESS),
            key=lambda n: _depth(self.model, n),
        )
        layer = sub(root, "g", {"class": "containers"})
        for node in containers:
            self._node(layer, node)
        layer = sub(root, "g", {"class": "flows"})
        # Taken flows last: where flows share a segment (a fork), the taken one shows on top.
        taken = self.marks.taken_flows
        for flow in sorted(self.model.flows.values(), key=lambda f: f.id in taken):
            self._flow(layer, flow)
        for connection in self.model.connections:
            self._connection(layer, connection)
        layer = sub(root, "g", {"class": "nodes"})
        for node in nodes:
            if node.type not in (NodeType.SUB_PROCESS, NodeType.BOUNDARY_EVENT):
                self._node(layer, node)
        layer = sub(root, "g", {"class": "boundary-events"})
        for node in nodes:
            if node.type is NodeType.BOUNDARY_EVENT:
                self._node(layer, node)
        root.append(self.labels)
        self._view_box(root)
        return etree.tostring(root, encoding="unicode")

    def _summary(self) -> str:
        counts: list[str] = []
        for label, ids in (
            ("active", self.marks.active),
            ("waiting", self.marks.waiting),
            ("failed", self.marks.failed),
            ("done", self.marks.done),
        ):
            if ids:
                names = ", ".join(self._display(i) for i in sorted(ids) if i in self.model.nodes)
                counts.append(f"{label}: {names}")
        return "; ".join(counts)

    def _display(self, node_id: str) -> str:
        node = self.model.nodes[node_id]
        return f"{node.name} ({node.id})" if node.name else node.id

    def _view_box(self, root: etree._Element) -> None:
        for edge in self.layout.edges.values():
            for x, y in edge:
                self.extents.append(Bounds(x, y, 0.0, 0.0))
        if not self.extents:
            self.extents.append(Bounds(0.0, 0.0, 100.0, 100.0))
        left = min(b.x for b in self.extents) - _MARGIN
        top = min(b.y for b in self.extents) - _MARGIN
        width = max(b.right for b in self.extents) + _MARGIN - left
        height = max(b.bottom for b in self.extents) + _MARGIN - top
        root.set("viewBox", f"{num(left)} {num(top)} {num(width)} {num(height)}")
        root.set("width", num(math.ceil(width)))
        root.set("height", num(math.ceil(height)))

    def _defs(self, root: etree._Element) -> None:
        defs = sub(root, "defs")
        for marker_id, css, open_ in (
            (_ARROW, "arrowhead", False),
            (_ARROW_TAKEN, "arrowhead-taken", False),
            (_ARROW_OPEN, "arrowhead-open", True),
        ):
            marker = sub(defs, "marker", {
                "id": marker_id, "viewBox": "0 0 20 20", "refX": 19, "refY": 10,
                "markerWidth": 11, "markerHeight": 11, "orient": "auto",
                "markerUnits": "userSpaceOnUse",
            })  # fmt: skip
            shape = "M1,3 L19,10 L1,17 Z" if open_ else "M1,4 L19,10 L1,16 Z"
            sub(marker, "path", {"class": css, "d": shape})
        marker = sub(defs, "marker", {
            "id": _DIAMOND, "viewBox": "0 0 20 20", "refX": 1, "refY": 10, "markerWidth": 16,
            "markerHeight": 16, "orient": "auto", "markerUnits": "userSpaceOnUse",
        })  # fmt: skip
        sub(marker, "path", {"class": "arrowhead-open", "d": "M1,10 L10,5 L19,10 L10,15 Z"})
        marker = sub(defs, "marker", {
            "id": _CIRCLE, "viewBox": "0 0 20 20", "refX": 10, "refY": 10, "markerWidth": 9,
            "markerHeight": 9, "orient": "auto", "markerUnits": "userSpaceOnUse",
        })  # fmt: skip
        sub(marker, "circle", {"class": "arrowhead-open", "cx": 10, "cy": 10, "r": 8})

    # -- nodes ----------------------------------------------------------------------------------

    def _node(self, parent: etree._Element, node: FlowNode) -> None:
        bounds = self.layout.shapes[node.id]
        self.extents.append(bounds)
        state = self.marks.node_state(node.id)
        kind = _kind(node)
        classes = ["node", f"node-{kind}", f"bpmn-{node.type}"]
        if state:
            classes.append(state)
        title = f"{_TYPE_NAMES.get(node.type, node.type)} {self._display(node.id)}"
        if state:
            title += f" — {_STATE_NAMES[state]}"
        group = sub(parent, "g", {
            "class": " ".join(classes),
            "data-element-id": node.id,
            "data-element-type": node.type.value,
            "transform": f"translate({num(bounds.x)} {num(bounds.y)})",
            "aria-label": title,
        })  # fmt: skip
        sub(group, "title", text=title)
        if node.type in EVENT_TYPES:
            self._event(group, node, bounds)
        elif node.type in GATEWAY_TYPES:
            self._gateway(group, node, bounds)
        elif node.type is NodeType.SUB_PROCESS:
            self._subprocess(group, node, bounds)
        else:
            self._task(group, node, bounds)

    def _event(self, group: etree._Element, node: FlowNode, bounds: Bounds) -> None:
        rx, ry = bounds.width / 2, bounds.height / 2
        classes = ["shape", "shape-event"]
        if node.type is NodeType.END_EVENT:
            classes.append("shape-end")
        interrupting = node.cancel_activity
        if node.type in (NodeType.BOUNDARY_EVENT, NodeType.START_EVENT) and not interrupting:
            classes.append("non-interrupting")
        sub(group, "ellipse", {"class": " ".join(classes), "cx": rx, "cy": ry, "rx": rx, "ry": ry})
        if node.type in (
            NodeType.INTERMEDIATE_CATCH_EVENT,
            NodeType.INTERMEDIATE_THROW_EVENT,
            NodeType.BOUNDARY_EVENT,
        ):
            inner = " ".join(["shape-inner", *classes[2:]])
            sub(group, "ellipse", {
                "class": inner, "cx": rx, "cy": ry, "rx": max(rx - 3, 1), "ry": max(ry - 3, 1),
            })  # fmt: skip
        event_marker(group, node, bounds.width, bounds.height)
        self._outer_label(group, node, bounds)

    def _gateway(self, group: etree._Element, node: FlowNode, bounds: Bounds) -> None:
        w, h = bounds.width, bounds.height
        diamond = [(w / 2, 0.0), (w, h / 2), (w / 2, h), (0.0, h / 2)]
        sub(group, "polygon", {"class": "shape shape-gateway", "points": points(diamond)})
        gateway_marker(group, node, w, h)
        self._outer_label(group, node, bounds)

    def _task(self, group: etree._Element, node: FlowNode, bounds: Bounds) -> None:
        w, h = bounds.width, bounds.height
        css = "shape shape-task" + (" shape-call" if node.type is NodeType.CALL_ACTIVITY else "")
        sub(group, "rect", {"class": css, "x": 0, "y": 0, "width": w, "height": h, "rx": 10})
        has_icon = task_icon(group, node, 7.0, 7.0)
        activity_markers(group, node, w, h)
        bottom = h - (20.0 if has_bottom_markers(node) else 6.0)
        # Centred in the box. Lines may reach up beside the icon while they are narrow enough
        # to clear it; otherwise the label starts below the icon.
        clear = 7.0 + ICON_SIZE if has_icon else 6.0
        lines = self._task_lines(node.name, w, room=bottom - 6.0)
        block = len(lines) * _LINE
        top = max(6.0, min((h - block) / 2, bottom - block))
        if has_icon and top < clear and lines:
            beside_icon = w - 2 * (clear + 2.0)
            if text_width(lines[0], _TASK_FONT) > beside_icon:
                lines = self._task_lines(node.name, w, room=bottom - clear)
                block = len(lines) * _LINE
                top = max(clear, min((h - block) / 2, bottom - block))
        if not lines:
            return
        first = top + _LINE - 3.5
        self._text(group, lines, x=w / 2, y=first, css="label")

    @staticmethod
    def _task_lines(name: str, width: float, *, room: float) -> list[str]:
        count = max(int(room // _LINE), 1)
        return wrap(name, max_width=width - 12, font_size=_TASK_FONT, max_lines=count)

    def _subprocess(self, group: etree._Element, node: FlowNode, bounds: Bounds) -> None:
        scope = self.model.scopes.get(node.id)
        classes = ["shape", "shape-subprocess"]
        if scope is not None and scope.triggered_by_event:
            classes.append("shape-event-subprocess")
        sub(group, "rect", {
            "class": " ".join(classes), "x": 0, "y": 0, "width": bounds.width,
            "height": bounds.height, "rx": 12,
        })  # fmt: skip
        activity_markers(group, node, bounds.width, bounds.height)
        lines = wrap(node.name, max_width=bounds.width - 20, font_size=_TASK_FONT, max_lines=1)
        if lines:
            text = self._text(group, lines, x=10.0, y=19.0, css="label label-title")
            text.set("text-anchor", "start")

    def _outer_label(self, group: etree._Element, node: FlowNode, bounds: Bounds) -> None:
        width = max(_OUTER_LABEL_WIDTH, bounds.width)
        lines = wrap(node.name, max_width=width, font_size=_SMALL_FONT, max_lines=3)
        if not lines:
            return
        y = bounds.height + 14.0
        self._text(group, lines, x=bounds.width / 2, y=y, css="label label-small")
        widest = max(text_width(line, _SMALL_FONT) for line in lines)
        self.extents.append(
            Bounds(
                bounds.center[0] - widest / 2,
                bounds.bottom,
                widest,
                6.0 + len(lines) * _LINE,
            )
        )

    @staticmethod
    def _text(
        parent: etree._Element, lines: Iterable[str], *, x: float, y: float, css: str
    ) -> etree._Element:
        text = sub(parent, "text", {"class": css, "x": x, "y": y, "text-anchor": "middle"})
        for index, line in enumerate(lines):
            sub(text, "tspan", {"x": x, "y": y + index * _LINE}, text=line)
        return text

    # -- flows ----------------------------------------------------------------------------------

    def _flow(self, parent: etree._Element, flow: SequenceFlow) -> None:
        waypoints = self.layout.edges.get(flow.id)
        if waypoints is None or len(waypoints) < 2:
            return
        source = self.model.nodes.get(flow.source)
        is_default = (
            source is not None
            and source.is_gateway
            and (default := default_flow(self.model, source.id)) is not None
            and default.id == flow.id
        )
        conditional = flow.condition is not None and source is not None and not source.is_gateway
        taken = flow.id in self.marks.taken_flows
        classes = ["flow", "sequence-flow"]
        if is_default:
            classes.append("flow-default")
        if flow.condition is not None:
            classes.append("flow-conditional")
        if taken:
            classes.append(FLOW_TAKEN_CLASS)
        title = (
            f"Sequence flow {flow.name + ' ' if flow.name else ''}({flow.source} → {flow.target})"
        )
        if flow.condition is not None:
            title += f" when {flow.condition}"
        if is_default:
            title += " (default)"
        if taken:
            title += " — taken"
        group = sub(parent, "g", {"class": " ".join(classes), "data-element-id": flow.id})
        sub(group, "title", text=title)
        line = sub(group, "path", {"class": "flow-line", "d": _path(waypoints)})
        line.set("marker-end", f"url(#{_ARROW_TAKEN if taken else _ARROW})")
        if conditional:
            line.set("marker-start", f"url(#{_DIAMOND})")
        if is_default:
            self._slash(group, waypoints)
        if flow.name:
            self._flow_label(flow.id, flow.name, waypoints)

    def _connection(self, parent: etree._Element, connection: Connection) -> None:
        waypoints = self.layout.edges.get(connection.id)
        if waypoints is None or len(waypoints) < 2:
            return
        message = connection.type is ConnectionType.MESSAGE_FLOW
        css = "message-flow" if message else "association"
        group = sub(parent, "g", {"class": f"flow {css}", "data-element-id": connection.id})
        sub(group, "title", text=f"{connection.type} {connection.source} → {connection.target}")
        line = sub(group, "path", {"class": f"flow-line {css}", "d": _path(waypoints)})
        if message:
            line.set("marker-start", f"url(#{_CIRCLE})")
            line.set("marker-end", f"url(#{_ARROW_OPEN})")
        if connection.name:
            self._flow_label(connection.id, connection.name, waypoints)

    @staticmethod
    def _slash(group: etree._Element, waypoints: tuple[Point, ...]) -> None:
        (x1, y1), (x2, y2) = waypoints[0], waypoints[1]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        dx, dy = (x2 - x1) / length, (y2 - y1) / length
        at = min(12.0, length / 2)
        px, py = x1 + dx * at, y1 + dy * at
        # Halfway between the flow's direction and its normal: a 45° slash across the line.
        sx, sy = (dx - dy) * 0.7071, (dy + dx) * 0.7071
        sub(group, "line", {
            "class": "flow-slash", "x1": px - sx * 6, "y1": py - sy * 6,
            "x2": px + sx * 6, "y2": py + sy * 6,
        })  # fmt: skip

    def _flow_label(self, element_id: str, name: str, waypoints: tuple[Point, ...]) -> None:
        lines = wrap(name, max_width=_FLOW_LABEL_WIDTH, font_size=_SMALL_FONT, max_lines=2)
        if not lines:
            return
        width = max(text_width(line, _SMALL_FONT) for line in lines)
        height = len(lines) * _LINE
        left, top = _label_position(waypoints, width, height)
        text = sub(self.labels, "text", {
            "class": "flow-label", "data-element-id": element_id, "x": left, "y": top,
            "text-anchor": "start", "aria-hidden": "true",
        })  # fmt: skip
        for index, line in enumerate(lines):
            sub(text, "tspan", {"x": left, "y": top + _LINE - 3.5 + index * _LINE}, text=line)
        self.extents.append(Bounds(left, top, width, height))


def _label_position(waypoints: tuple[Point, ...], width: float, height: float) -> Point:
    """Top-left corner of a flow label: beside the flow, where shapes are least likely.

    Above the last or first horizontal segment when the label fits along it (those run in the
    gaps between columns), else beside the longest segment: above a horizontal one, or next to
    the far end of a vertical one on the side away from where the flow turns next.
    """
    segments = list(itertools.pairwise(waypoints))
    for (x1, y1), (x2, y2) in (segments[-1], segments[0]):
        if abs(y1 - y2) < 0.5 and abs(x2 - x1) >= width + 16:
            return ((x1 + x2) / 2 - width / 2, y1 - 5.0 - height)
    index = max(range(len(segments)), key=lambda i: math.dist(*segments[i]))
    (x1, y1), (x2, y2) = segments[index]
    if abs(x2 - x1) >= abs(y2 - y1):
        return ((x1 + x2) / 2 - width / 2, (y1 + y2) / 2 - 5.0 - height)
    following = segments[index + 1] if index + 1 < len(segments) else None
    turns_right = following is not None and following[1][0] > following[0][0]
    left = x1 - 6.0 - width if turns_right else x1 + 6.0
    top = y2 - 8.0 - height if y2 > y1 else y2 + 8.0
    return (left, top)


def _kind(node: FlowNode) -> str:
    if node.type in EVENT_TYPES:
        return "event"
    if node.type in GATEWAY_TYPES:
        return "gateway"
    if node.type is NodeType.SUB_PROCESS:
        return "subprocess"
    return "task"


def _path(waypoints: tuple[Point, ...]) -> str:
    first, *rest = waypoints
    return f"M{num(first[0])},{num(first[1])} " + " ".join(f"L{num(x)},{num(y)}" for x, y in rest)
