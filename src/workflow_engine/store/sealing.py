"""Sensitive variables are stored encrypted: sealing on write, opening on read.

`Database(engine, sealing=Sealing(ring))` puts one `Sealing` into every session's `info`;
the writers (`upsert_variables`, the projection's events) and readers (variables, event logs,
live events) of the tables that hold variable values find it there. Without a ring nothing
is sealed or opened (and a sealed value read back stays an envelope, which the API masks).

What is sealed, for an instance whose definition declares sensitive variables:

* `process_variable.value` (and so `historic_variable_instance.value`, copied verbatim when
  the instance ends) of each sensitive variable, bound to instance id + variable name;
* in `process_event.event_data`: the value under any key naming a sensitive variable, at any
  depth (`variable.updated` data, task completion variables, activity input / output), and
  any string containing a sensitive value (a copy under another name, an error message
  quoting it): the values of the batch and those stored for the instance.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.crypto.envelope import open_tree, seal_tree
from workflow_engine.crypto.keyring import KeyRing
from workflow_engine.redaction import remember_sensitive_values
from workflow_engine.store.database import Database
from workflow_engine.store.tables import ProcessDefinition, ProcessInstance, ProcessVariable

__all__ = [
    "SESSION_INFO_KEY",
    "EncryptionRequiredError",
    "Sealing",
    "known_values",
    "open_stored",
    "refuse_sensitive_without_keys",
    "sealing_of",
    "sensitive_definitions",
    "sensitive_in_model",
]

_log = structlog.get_logger(__name__)

SESSION_INFO_KEY = "wfe_sealing"
_MIN_VALUE_CHARS = 4
_CACHE_SIZE = 10_000


def sensitive_in_model(model_json: str) -> frozenset[str]:
    """Names of the variables a stored canonical document declares `sensitive`."""
    if '"sensitive"' not in model_json:
        return frozenset()
    document = json.loads(model_json)
    variables = (document.get("process") or {}).get("variables") or {}
    return frozenset(
        name
        for name, decl in variables.items()
        if isinstance(decl, Mapping) and decl.get("sensitive") is True
    )


class Sealing:
    """Seals and opens sensitive values with a key ring.

    Args:
        ring: The keys; None turns sealing off.
    """

    def __init__(self, ring: KeyRing | None) -> None:
        self.ring = ring
        # instance id -> sensitive names (an instance's definition version never changes).
        self._names: OrderedDict[str, frozenset[str]] = OrderedDict()

    async def sensitive_names(self, session: AsyncSession, instance_id: str) -> frozenset[str]:
        """The sensitive variable names of `instance_id`'s definition (cached)."""
        if self.ring is None:
            return frozenset()
        names = self._names.get(instance_id)
        if names is not None:
            self._names.move_to_end(instance_id)
            return names
        model_json = (
            await session.execute(
                select(ProcessDefinition.model_json)
                .join(
                    ProcessInstance, ProcessInstance.process_definition_id == ProcessDefinition.id
                )
                .where(ProcessInstance.id == instance_id)
            )
        ).scalar_one_or_none()
        names = frozenset() if model_json is None else sensitive_in_model(model_json)
        if model_json is not None:
            self._names[instance_id] = names
            if len(self._names) > _CACHE_SIZE:
                self._names.popitem(last=False)
        return names

    async def stored_values(
        self, session: AsyncSession, instance_id: str, names: frozenset[str]
    ) -> set[str]:
        """The string values of the instance's sensitive variables as stored now (opened)."""
        if self.ring is None or not names:
            return set()
        rows = (
            await session.execute(
                select(ProcessVariable.name, ProcessVariable.value).where(
                    ProcessVariable.process_instance_id == instance_id,
                    ProcessVariable.name.in_(sorted(names)),
                )
            )
        ).all()
        found: set[str] = set()
        for name, value in rows:
            _collect(self.open(instance_id, value, name), frozenset(), found, True, 0)
        return found

    def seal_variables(
        self, instance_id: str, variables: Mapping[str, Any], names: frozenset[str]
    ) -> dict[str, Any]:
        """`variables` with the sensitive ones sealed (each bound to its name)."""
        if self.ring is None or not names:
            return dict(variables)
        result = dict(variables)
        remember_sensitive_values(known_values(variables, names))
        for name in names.intersection(variables):
            if variables[name] is not None:
                result[name] = seal_tree(
                    self.ring, {name: variables[name]}, instance_id=instance_id, names=names
                )[name]
        return result

    def seal_data(
        self, instance_id: str, data: Any, names: frozenset[str], values: Collection[str] = ()
    ) -> Any:
        """Event data with sensitive values sealed (see the module docstring)."""
        if self.ring is None or not names:
            return data
        remember_sensitive_values(values)
        return seal_tree(self.ring, data, instance_id=instance_id, names=names, values=values)

    def open(self, instance_id: str, data: Any, name: str = "") -> Any:
        """`data` as it was before sealing (unchanged without a ring or envelopes)."""
        if self.ring is None:
            return data
        opened: list[Any] = []
        result = open_tree(self.ring, data, instance_id=instance_id, name=name, opened=opened)
        if opened:
            # Whatever this process decrypts is masked in its logs from now on.
            remember_sensitive_values(_strings_in(opened))
        return result


def known_values(data: Any, names: frozenset[str]) -> set[str]:
    """String values under sensitive names in `data` (long enough to be worth matching)."""
    found: set[str] = set()
    _collect(data, names, found, False, 0)
    return found


def _collect(data: Any, names: frozenset[str], found: set[str], inside: bool, depth: int) -> None:
    if depth > 64:
        return
    if isinstance(data, str):
        if inside and len(data) >= _MIN_VALUE_CHARS:
            found.add(data)
    elif isinstance(data, Mapping):
        for key, item in data.items():
            _collect(item, names, found, inside or key in names, depth + 1)
    elif isinstance(data, list | tuple):
        for item in data:
            _collect(item, names, found, inside, depth + 1)


class EncryptionRequiredError(RuntimeError):
    """Definitions declare sensitive variables but no encryption keys are configured."""


async def sensitive_definitions(database: Database) -> list[str]:
    """`key vN` of each deployed definition declaring sensitive variables."""
    async with database.session() as session:
        rows = (
            await session.execute(
                select(
                    ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.model_json
                ).where(ProcessDefinition.model_json.contains('"sensitive"'))
            )
        ).all()
    return [f"{key} v{version}" for key, version, model in rows if sensitive_in_model(model)]


async def refuse_sensitive_without_keys(database: Database) -> None:
    """Raise unless `database` seals with keys or no definition declares sensitive variables.

    Raises:
        EncryptionRequiredError: naming the definitions.
    """
    if database.sealing is not None and database.sealing.ring is not None:
        return
    try:
        found = await sensitive_definitions(database)
    except SQLAlchemyError as exc:
        # An unmigrated or unreachable database is not this check's to report (the worker's
        # readiness is); nothing can be stored there in clear either.
        _log.warning("sensitive_definitions_unchecked", error=type(exc).__name__)
        return
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise EncryptionRequiredError(
            f"definitions declare sensitive variables ({shown}) but no encryption keys are "
            "configured, so their values would be stored in clear: set encryption_keys "
            "(WFE_ENCRYPTION_KEYS, see docs/security.md)"
        )


def _strings_in(data: Any) -> set[str]:
    found: set[str] = set()
    _collect(data, frozenset(), found, True, 0)
    return found


def sealing_of(session: AsyncSession) -> Sealing | None:
    """The session's sealing (None for a database built without one)."""
    found = session.info.get(SESSION_INFO_KEY)
    return found if isinstance(found, Sealing) else None


def open_stored(session: AsyncSession, instance_id: str, data: Any, name: str = "") -> Any:
    """`data` read from the database, opened with the session's sealing (if any)."""
    sealing = sealing_of(session)
    return data if sealing is None else sealing.open(instance_id, data, name)
