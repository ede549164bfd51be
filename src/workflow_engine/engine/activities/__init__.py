"""Temporal activities of the engine.

The built-ins (`wfe.http`, `wfe.script`, `wfe.noop`), the engine's own (database projection,
definitions, signals) and the registry that collects them together with users' activities.
"""
