"""The `workflow_engine.v1.Diagram` answer of `GetDefinitionDiagram` / `GetInstanceDiagram`."""

from __future__ import annotations

from workflow_engine.api.grpc.generated import common_pb2

#: The media type of every diagram (REST answers with the same `Content-Type`).
SVG_MEDIA_TYPE = "image/svg+xml"


def diagram_message(svg: str) -> common_pb2.Diagram:
    """Wrap a rendered SVG document."""
    return common_pb2.Diagram(svg=svg, media_type=SVG_MEDIA_TYPE)
