"""BPMN diagram interchange (DI): the modeler's shape bounds and edge waypoints.

The importer keeps them in the document's top-level `diagram` key
(`{"shapes": {id: {x, y, width, height}}, "edges": {id: [[x, y], ...]}}`) so the portal and a
later export show the author's layout; the exporter writes them back (or an automatic layout).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from lxml import etree

from workflow_engine.model.bpmn.namespaces import BPMNDI, DC, DI, split_tag


def _number(raw: str | None) -> float | int | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() else round(value, 2)


def _element_ref(raw: str | None) -> str | None:
    return raw.strip().rpartition(":")[2] if raw and raw.strip() else None


def read_diagram(
    definitions: etree._Element, ids: Collection[str], aliases: Mapping[str, str]
) -> dict[str, Any]:
    """Shapes and edges of every diagram in the file whose element is one of `ids`.

    `aliases` renames XML ids to model ids (flows imported as implicit flows). Malformed
    coordinates are skipped: the diagram is a convenience, never a reason to refuse a file.
    """
    shapes: dict[str, dict[str, float | int]] = {}
    edges: dict[str, list[list[float | int]]] = {}
    for item in definitions.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge"):
        ref = _element_ref(item.get("bpmnElement"))
        if ref is None:
            continue
        ref = aliases.get(ref, ref)
        if ref not in ids:
            continue
        if split_tag(item.tag)[1] == "BPMNShape":
            bounds = next((c for c in item if split_tag(c.tag) == (DC, "Bounds")), None)
            if bounds is None:
                continue
            values = [_number(bounds.get(k)) for k in ("x", "y", "width", "height")]
            if all(v is not None for v in values):
                x, y, width, height = values
                assert x is not None and y is not None and width is not None
                assert height is not None
                shapes[ref] = {"x": x, "y": y, "width": width, "height": height}
        else:
            points: list[list[float | int]] = []
            for waypoint in item:
                if split_tag(waypoint.tag) != (DI, "waypoint"):
                    continue
                px, py = _number(waypoint.get("x")), _number(waypoint.get("y"))
                if px is not None and py is not None:
                    points.append([px, py])
            if len(points) >= 2:
                edges[ref] = points
    if not shapes and not edges:
        return {}
    return {"shapes": shapes, "edges": edges}
