"""Sensitive variables (`process.variables.<name>.sensitive: true`) leave the system masked.

The engine works with the real values; what leaves through the services (the variables API,
instance details, history events, steps, live streams) shows `***` instead. Two rules:

* by name: wherever a mapping has a key naming a sensitive variable (variables, an event's
  `variables`, a task's output, an activity input built as `{"password": ...}`), its value is
  masked, at any depth;
* by value: the string values of sensitive variables (at least `MIN_VALUE_CHARS` long, so
  `"yes"` does not blank every `"yes"`) are cut out of every other string, so a copy under
  another name (`{"pw": "=password"}`) or inside a message is masked too.

Declarations come from the definition's model (the cached model lookup: one per definition,
not one per event). Values that are not strings (a sensitive number or object) are masked by
name only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow_engine.model.types import ProcessModel
from workflow_engine.services.definitions import DefinitionService
from workflow_engine.services.errors import NotFoundError
from workflow_engine.store.database import Database
from workflow_engine.store.history import HistoryRepository
from workflow_engine.store.instances import InstanceRepository

__all__ = [
    "MASK",
    "MIN_VALUE_CHARS",
    "Sensitive",
    "VariableMasker",
    "declared_sensitive",
    "masked_variables",
    "sensitive_names",
]

MASK = "***"
MIN_VALUE_CHARS = 4
_MAX_DEPTH = 64


def sensitive_names(model: ProcessModel | None) -> frozenset[str]:
    """Names of the variables `model` declares sensitive (none without a model)."""
    if model is None:
        return frozenset()
    return frozenset(name for name, decl in model.process.variables.items() if decl.sensitive)


async def declared_sensitive(
    definitions: DefinitionService, definition_id: int | None
) -> frozenset[str]:
    """Sensitive variable names of a definition (none when it is unknown or deleted).

    Read without authorization: the declarations decide what the caller must NOT see, so they
    are read whatever the caller may read (the caller's own access was checked already).
    """
    if definition_id is None:
        return frozenset()
    try:
        model = await definitions.cached_model(definition_id)
    except NotFoundError:
        return frozenset()
    return sensitive_names(model)


async def masked_variables(
    definitions: DefinitionService, definition_id: int | None, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """`variables` of an instance of `definition_id` as they may be shown."""
    names = await declared_sensitive(definitions, definition_id)
    if not names:
        return dict(variables)
    sensitive = Sensitive(names).learn(variables)
    return dict(sensitive.mask(variables))


@dataclass(frozen=True, slots=True)
class Sensitive:
    """What to mask in one instance's data: variable names and known secret values."""

    names: frozenset[str] = frozenset()
    values: frozenset[str] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.names)

    def learn(self, data: Any) -> Sensitive:
        """Also mask the string values found under sensitive names in `data`."""
        if not self.names:
            return self
        found = set(self.values)
        _collect(data, self.names, found, 0)
        return self if len(found) == len(self.values) else Sensitive(self.names, frozenset(found))

    def mask(self, data: Any) -> Any:
        """A copy of `data` with sensitive values replaced by `***` (data itself unchanged)."""
        if not self.names:
            return data
        # Longest first, so a value containing another is cut out whole.
        values = sorted(self.values, key=len, reverse=True)
        return _mask(data, self.names, values, 0)


def _collect(data: Any, names: frozenset[str], found: set[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key in names:
                _strings(value, found, depth + 1)
            else:
                _collect(value, names, found, depth + 1)
    elif isinstance(data, list | tuple):
        for item in data:
            _collect(item, names, found, depth + 1)


def _strings(value: Any, found: set[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        if len(value) >= MIN_VALUE_CHARS:
            found.add(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _strings(item, found, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, found, depth + 1)


def _mask(data: Any, names: frozenset[str], values: list[str], depth: int) -> Any:
    if isinstance(data, str):
        for secret in values:
            if secret in data:
                data = data.replace(secret, MASK)
        return data
    if depth > _MAX_DEPTH:
        return data
    if isinstance(data, Mapping):
        return {
            key: MASK if key in names else _mask(value, names, values, depth + 1)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [_mask(item, names, values, depth + 1) for item in data]
    return data


class VariableMasker:
    """Finds what to mask for an instance (its definition's declarations, its values).

    Args:
        database: The application database.
        definitions: The definition service (its model cache answers the declarations).
    """

    def __init__(self, *, database: Database, definitions: DefinitionService) -> None:
        self._db = database
        self._definitions = definitions

    async def for_instance(self, instance_id: str, *, extra: Iterable[Any] = ()) -> Sensitive:
        """What to mask in the data of one instance (running or ended).

        Args:
            instance_id: The instance.
            extra: Data about to be shown (events, ...): sensitive values found in it are
                masked everywhere too (older values a variable no longer holds).
        """
        async with self._db.session() as session:
            record = await InstanceRepository(session).get(instance_id)
            if record is not None:
                definition_id = record.process_definition_id
            else:
                historic = await HistoryRepository(session).historic_instance(instance_id)
                definition_id = None if historic is None else historic.process_definition_id
        # One session at a time: SQLite sessions take the write lock, so never nest them.
        names = await declared_sensitive(self._definitions, definition_id)
        if not names:
            return Sensitive()
        async with self._db.session() as session:
            variables = await InstanceRepository(session).variables(instance_id)
        sensitive = Sensitive(names).learn(variables)
        for data in extra:
            sensitive = sensitive.learn(data)
        return sensitive
