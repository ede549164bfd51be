"""Process diagrams as SVG (pure: a model in, SVG text out)."""

from workflow_engine.model.svg.marks import DiagramMarks
from workflow_engine.model.svg.render import render_svg

__all__ = ["DiagramMarks", "render_svg"]
