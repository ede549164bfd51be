"""BPMN markers: event definitions, task-type icons, gateway markers, activity markers.

Each marker is drawn in a fixed design box (events 36, gateways 50, task icons 16 units) and
placed with a `translate … scale` transform, so shapes of any size get proportional markers.
`marker-line` strokes an outline; `marker-fill` is a solid (throwing) marker.
"""

from __future__ import annotations

import math

from lxml import etree

from workflow_engine.model.svg.xml import num, points, sub
from workflow_engine.model.types import EventKind, FlowNode, NodeType

_EVENT_BOX = 36.0
_GATEWAY_BOX = 50.0
ICON_SIZE = 16.0


def _box(parent: etree._Element, x: float, y: float, scale: float, css: str) -> etree._Element:
    return sub(
        parent,
        "g",
        {"class": css, "transform": f"translate({num(x)} {num(y)}) scale({num(scale)})"},
    )


def _envelope(
    group: etree._Element, x: float, y: float, w: float, h: float, *, filled: bool
) -> None:
    sub(
        group,
        "rect",
        {
            "class": "marker-fill" if filled else "marker-line",
            "x": x,
            "y": y,
            "width": w,
            "height": h,
        },
    )
    flap = [(x, y), (x + w / 2, y + h * 0.55), (x + w, y)]
    sub(
        group,
        "polyline",
        {"class": "marker-inverse" if filled else "marker-line", "points": points(flap)},
    )


def event_marker(parent: etree._Element, node: FlowNode, width: float, height: float) -> None:
    """The event definition's marker inside an event circle of `width` × `height`."""
    kind = node.event_kind or EventKind.NONE
    if kind is EventKind.NONE:
        return
    size = min(width, height)
    scale = size / _EVENT_BOX
    group = _box(parent, (width - size) / 2, (height - size) / 2, scale, f"marker marker-{kind}")
    throwing = node.type in (NodeType.END_EVENT, NodeType.INTERMEDIATE_THROW_EVENT)
    style = "marker-fill" if throwing else "marker-line"
    if kind is EventKind.MESSAGE:
        _envelope(group, 9.5, 12.0, 17.0, 12.0, filled=throwing)
    elif kind is EventKind.TIMER:
        sub(group, "circle", {"class": "marker-line timer-face", "cx": 18, "cy": 18, "r": 10})
        for step in range(12):
            angle = step * math.pi / 6
            inner = 8.0 if step % 3 else 7.0
            sub(
                group,
                "line",
                {
                    "class": "marker-line tick",
                    "x1": 18 + inner * math.sin(angle),
                    "y1": 18 - inner * math.cos(angle),
                    "x2": 18 + 9.5 * math.sin(angle),
                    "y2": 18 - 9.5 * math.cos(angle),
                },
            )
        sub(group, "polyline", {"class": "marker-line", "points": "18,11 18,18 23,20.5"})
    elif kind is EventKind.SIGNAL:
        sub(group, "polygon", {"class": style, "points": "18,9 26.5,24.5 9.5,24.5"})
    elif kind is EventKind.ERROR:
        sub(
            group,
            "polygon",
            {
                "class": style,
                "points": "10.5,26.5 14.5,12 20,19.5 25.5,9.5 21.5,24 16,16.5",
            },
        )
    elif kind is EventKind.TERMINATE:
        sub(group, "circle", {"class": "marker-fill", "cx": 18, "cy": 18, "r": 10})
    elif kind is EventKind.ESCALATION:
        sub(group, "polygon", {"class": style, "points": "18,9 25,26 18,19.5 11,26"})
    elif kind is EventKind.COMPENSATION:
        sub(group, "polygon", {"class": style, "points": "17.5,12 17.5,24 9.5,18"})
        sub(group, "polygon", {"class": style, "points": "26,12 26,24 18,18"})
    elif kind is EventKind.CONDITIONAL:
        sub(group, "rect", {"class": "marker-line", "x": 11.5, "y": 10, "width": 13, "height": 16})
        sub(group, "path", {"class": "marker-line", "d": "M14,14 H22 M14,18 H22 M14,22 H22"})
    elif kind is EventKind.LINK:
        sub(
            group,
            "polygon",
            {"class": style, "points": "10,15 19,15 19,11 26,18 19,25 19,21 10,21"},
        )


def gateway_marker(parent: etree._Element, node: FlowNode, width: float, height: float) -> None:
    """The gateway type's marker inside a diamond of `width` × `height`."""
    size = min(width, height)
    group = _box(
        parent,
        (width - size) / 2,
        (height - size) / 2,
        size / _GATEWAY_BOX,
        f"marker marker-{node.type}",
    )
    if node.type is NodeType.EXCLUSIVE_GATEWAY:
        sub(group, "path", {"class": "marker-bold", "d": "M17,17 L33,33 M33,17 L17,33"})
    elif node.type is NodeType.PARALLEL_GATEWAY:
        sub(group, "path", {"class": "marker-bold", "d": "M25,13 V37 M13,25 H37"})
    elif node.type is NodeType.INCLUSIVE_GATEWAY:
        sub(group, "circle", {"class": "marker-bold", "cx": 25, "cy": 25, "r": 10.5})
    elif node.type is NodeType.EVENT_BASED_GATEWAY:
        sub(group, "circle", {"class": "marker-line", "cx": 25, "cy": 25, "r": 13})
        sub(group, "circle", {"class": "marker-line", "cx": 25, "cy": 25, "r": 10.5})
        pentagon = [
            (25 + 6.5 * math.sin(i * 2 * math.pi / 5), 25.8 - 6.5 * math.cos(i * 2 * math.pi / 5))
            for i in range(5)
        ]
        sub(group, "polygon", {"class": "marker-line", "points": points(pentagon)})


def _gear() -> list[tuple[float, float]]:
    outline: list[tuple[float, float]] = []
    teeth = 8
    for i in range(teeth * 4):
        angle = i * 2 * math.pi / (teeth * 4)
        radius = 7.5 if i % 4 in (1, 2) else 5.6
        outline.append((8 + radius * math.cos(angle), 8 + radius * math.sin(angle)))
    return outline


_GEAR = _gear()


def task_icon(parent: etree._Element, node: FlowNode, x: float, y: float) -> bool:
    """The task type's icon in a 16-unit box at (`x`, `y`); False when the type has none."""
    kind = node.type
    if kind not in _ICON_TYPES:
        return False
    group = _box(parent, x, y, 1.0, f"icon icon-{kind}")
    if kind is NodeType.USER_TASK:
        sub(group, "circle", {"class": "marker-line", "cx": 8, "cy": 4.8, "r": 3.3})
        sub(
            group,
            "path",
            {
                "class": "marker-line",
                "d": "M1.5,15.5 C1.5,11 4.5,9.3 8,9.3 C11.5,9.3 14.5,11 14.5,15.5 Z",
            },
        )
    elif kind is NodeType.SERVICE_TASK:
        sub(group, "polygon", {"class": "marker-line", "points": points(_GEAR)})
        sub(group, "circle", {"class": "marker-line", "cx": 8, "cy": 8, "r": 2.3})
    elif kind is NodeType.SCRIPT_TASK:
        sub(
            group,
            "path",
            {
                "class": "marker-line",
                "d": "M4.5,1.5 H14.5 C12.5,3.5 12.5,5.5 13.5,8 C14.5,10.5 14.5,12.5 12,14.5 H2 "
                "C4,12.5 4,10.5 3,8 C2,5.5 2,3.5 4.5,1.5 Z",
            },
        )
        sub(group, "path", {"class": "marker-line", "d": "M5.5,5 H11.5 M6,8 H12 M5.5,11 H11.5"})
    elif kind is NodeType.BUSINESS_RULE_TASK:
        sub(group, "rect", {"class": "marker-line", "x": 1, "y": 2.5, "width": 14, "height": 11})
        sub(group, "rect", {"class": "marker-fill", "x": 1, "y": 2.5, "width": 14, "height": 3})
        sub(group, "path", {"class": "marker-line", "d": "M1,9.5 H15 M5.5,5.5 V13.5"})
    elif kind is NodeType.RECEIVE_TASK:
        _envelope(group, 1.0, 3.5, 14.0, 9.5, filled=False)
    elif kind is NodeType.SEND_TASK:
        _envelope(group, 1.0, 3.5, 14.0, 9.5, filled=True)
    elif kind is NodeType.MANUAL_TASK:
        sub(
            group,
            "path",
            {
                "class": "marker-line",
                "d": "M1,8 L4.5,4.5 H12.5 C13.6,4.5 13.6,6.3 12.5,6.3 H8.5 M8.5,6.3 H14.5 "
                "C15.6,6.3 15.6,8.2 14.5,8.2 H8.5 M8.5,8.2 H14 C15.1,8.2 15.1,10.1 14,10.1 H8.5 "
                "M8.5,10.1 H13 C14.1,10.1 14.1,12 13,12 H4.5 L1,12",
            },
        )
    return True


_ICON_TYPES = frozenset(
    {
        NodeType.USER_TASK,
        NodeType.SERVICE_TASK,
        NodeType.SCRIPT_TASK,
        NodeType.BUSINESS_RULE_TASK,
        NodeType.RECEIVE_TASK,
        NodeType.SEND_TASK,
        NodeType.MANUAL_TASK,
    }
)


def activity_markers(parent: etree._Element, node: FlowNode, width: float, height: float) -> None:
    """Markers centred at an activity's bottom: multi-instance bars, the call's collapsed `+`."""
    items: list[str] = []
    if node.multi_instance is not None:
        items.append("sequential" if node.multi_instance.is_sequential else "parallel")
    if node.type is NodeType.CALL_ACTIVITY:
        items.append("collapsed")
    step = 18.0
    left = width / 2 - (len(items) * step - 4) / 2
    top = height - 18.0
    for index, item in enumerate(items):
        group = _box(parent, left + index * step, top, 1.0, f"marker marker-{item}")
        if item == "parallel":
            for x in (1.5, 6.0, 10.5):
                sub(
                    group,
                    "rect",
                    {"class": "marker-fill", "x": x, "y": 1, "width": 2.2, "height": 12},
                )
        elif item == "sequential":
            for y in (1.5, 6.0, 10.5):
                sub(
                    group,
                    "rect",
                    {"class": "marker-fill", "x": 1, "y": y, "width": 12, "height": 2.2},
                )
        else:
            sub(
                group,
                "rect",
                {"class": "marker-line", "x": 0.5, "y": 0.5, "width": 13, "height": 13},
            )
            sub(group, "path", {"class": "marker-line", "d": "M7,3.5 V10.5 M3.5,7 H10.5"})


def has_bottom_markers(node: FlowNode) -> bool:
    """Whether `activity_markers` draws anything for `node` (its label then keeps clear)."""
    return node.multi_instance is not None or node.type is NodeType.CALL_ACTIVITY
