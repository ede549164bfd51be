"""Reading a rendered diagram back: node groups, their classes and their drawn rectangles.

The rectangles come from the SVG geometry itself (the group's translate plus the outline
shape's ellipse / polygon / rect), not from the layout, so a renderer that drew shapes in the
wrong place would be caught.
"""

from __future__ import annotations

import re

from lxml import etree

from workflow_engine.model.bpmn import Bounds

SVG = "{http://www.w3.org/2000/svg}"
_TRANSLATE = re.compile(r"translate\(\s*([-\d.]+)[ ,]+([-\d.]+)\s*\)")


def parse(svg: str) -> etree._Element:
    """The document's root (raises when it is not well-formed XML)."""
    return etree.fromstring(svg.encode("utf-8"))


def classes(item: etree._Element) -> set[str]:
    return set((item.get("class") or "").split())


def node_groups(root: etree._Element) -> dict[str, etree._Element]:
    """`data-element-id` → the node's `<g>`; fails on a node drawn twice."""
    found: dict[str, etree._Element] = {}
    for group in root.iter(f"{SVG}g"):
        if "node" in classes(group):
            element_id = group.get("data-element-id")
            assert element_id and element_id not in found, element_id
            found[element_id] = group
    return found


def flow_groups(root: etree._Element) -> dict[str, etree._Element]:
    """`data-element-id` → the flow's `<g>`."""
    return {
        str(g.get("data-element-id")): g
        for g in root.iter(f"{SVG}g")
        if "flow" in classes(g) and g.get("data-element-id")
    }


def drawn_bounds(group: etree._Element) -> Bounds:
    """The rectangle of the node's outline shape (the first child with class `shape`)."""
    match = _TRANSLATE.search(group.get("transform") or "")
    assert match, group.get("transform")
    dx, dy = float(match.group(1)), float(match.group(2))
    shape = next(c for c in group if "shape" in classes(c))
    tag = etree.QName(shape).localname
    if tag == "ellipse":
        cx, cy = float(shape.get("cx", 0)), float(shape.get("cy", 0))
        rx, ry = float(shape.get("rx", 0)), float(shape.get("ry", 0))
        return Bounds(dx + cx - rx, dy + cy - ry, 2 * rx, 2 * ry)
    if tag == "rect":
        return Bounds(
            dx + float(shape.get("x", 0)),
            dy + float(shape.get("y", 0)),
            float(shape.get("width", 0)),
            float(shape.get("height", 0)),
        )
    assert tag == "polygon", tag
    pairs = [tuple(float(v) for v in p.split(",")) for p in (shape.get("points") or "").split()]
    xs = [p[0] for p in pairs]
    ys = [p[1] for p in pairs]
    return Bounds(dx + min(xs), dy + min(ys), max(xs) - min(xs), max(ys) - min(ys))
