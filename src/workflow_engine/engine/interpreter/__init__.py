"""The BPMN interpreter run by `ProcessInstanceWorkflow` (DESIGN §3).

Pure workflow-side code: deterministic, no I/O; everything outside happens through activities
and child workflows. `Runtime` holds the tokens, scopes and event log of one run; one module per
element family implements the behaviours.
"""

from workflow_engine.engine.interpreter.model_cache import DefinitionError, load_model
from workflow_engine.engine.interpreter.runtime import Runtime

__all__ = ["DefinitionError", "Runtime", "load_model"]
