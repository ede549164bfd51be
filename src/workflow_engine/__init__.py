"""workflow-engine: a BPMN 2.0 process engine service running every instance on Temporal."""

__version__ = "0.1.0"
