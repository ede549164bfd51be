"""Errors the store raises for conditions callers are expected to handle."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's own errors."""


class VersionConflictError(StoreError):
    """A definition version could not be allocated because concurrent deploys kept winning."""


class DefinitionInUseError(StoreError):
    """A definition cannot be deleted without cascade while instances of it are running."""

    def __init__(self, definition_id: int, running: int) -> None:
        self.definition_id = definition_id
        self.running = running
        super().__init__(
            f"definition {definition_id} has {running} running instance(s); end them first "
            "or delete with cascade"
        )
