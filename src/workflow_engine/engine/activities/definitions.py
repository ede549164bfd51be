"""`wfe.resolve_definition`: which deployed version a call activity starts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflow_engine.store.database import Database
from workflow_engine.store.definitions import DefinitionRepository

ACTIVITY_RESOLVE_DEFINITION = "wfe.resolve_definition"
#: Failure types (non-retryable: the definition will not appear by retrying).
DEFINITION_NOT_FOUND = "DEFINITION_NOT_FOUND"
DEFINITION_SUSPENDED = "DEFINITION_SUSPENDED"


class DefinitionActivities:
    """Definition lookups for workflows.

    Args:
        database: The application database.
    """

    def __init__(self, database: Database) -> None:
        self._db = database

    @activity.defn(name=ACTIVITY_RESOLVE_DEFINITION)
    async def resolve_definition(self, request: dict[str, Any]) -> dict[str, Any]:
        """The latest (or the given) version of `key` in `tenant_id`.

        Args:
            request: `{key, version?, tenant_id?}` — one dict, as the interpreter calls every
                activity (no `tenant_id`: definitions deployed without a tenant).

        Returns:
            `{definition_id, key, version, content_hash, document}` where `document` is the
            canonical JSON of the version.

        Raises:
            ApplicationError: `DEFINITION_NOT_FOUND` or `DEFINITION_SUSPENDED`, non-retryable;
                `INVALID_ARGUMENT` when the key or version is malformed.
        """
        key = request.get("key")
        version = request.get("version")
        tenant_id = request.get("tenant_id") or ""
        if not isinstance(key, str) or not key:
            raise ApplicationError(
                f"request.key is required (a non-empty string), got {key!r}",
                type="INVALID_ARGUMENT",
                non_retryable=True,
            )
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise ApplicationError(
                f"request.version must be an integer or null, got {version!r}",
                type="INVALID_ARGUMENT",
                non_retryable=True,
            )
        async with self._db.session() as session:
            record = await DefinitionRepository(session).get_by_key(tenant_id, key, version)
        if record is None:
            which = f"version {version} of " if version is not None else ""
            raise ApplicationError(
                f"{which}definition key '{key}' does not exist in tenant '{tenant_id}'",
                type=DEFINITION_NOT_FOUND,
                non_retryable=True,
            )
        if record.suspended:
            raise ApplicationError(
                f"definition '{key}' version {record.version} is suspended",
                type=DEFINITION_SUSPENDED,
                non_retryable=True,
            )
        return {
            "definition_id": record.id,
            "key": record.key,
            "version": record.version,
            "content_hash": record.content_hash,
            "document": json.loads(record.model_json),
        }


def build_activities(database: Database) -> list[Callable[..., Any]]:
    """The activity registry's hook: this module's activity bound to `database`."""
    return [DefinitionActivities(database).resolve_definition]
