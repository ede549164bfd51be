"""BPMN 2.0 XML import and export (pure: bytes in, bytes out)."""

from workflow_engine.model.bpmn.exporter import export_bpmn
from workflow_engine.model.bpmn.importer import BpmnImport, import_bpmn
from workflow_engine.model.bpmn.layout import Bounds, DiagramLayout, auto_layout

__all__ = ["Bounds", "BpmnImport", "DiagramLayout", "auto_layout", "export_bpmn", "import_bpmn"]
