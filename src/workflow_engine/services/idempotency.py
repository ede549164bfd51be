"""Request ids: a repeated signal / message request acts once and answers the same.

A caller that may repeat a request (a client retrying after a lost answer, a retried engine
activity) names it with a `request_id`. Request ids are scoped by kind and tenant: the same
id sent by two tenants (or once as a signal, once as a message) are two requests, and the
ids derived from it (instances started, deliveries) differ, so one tenant's request can never
answer with, or collide with, another tenant's instances.

The first request's outcome is remembered in `request_outcome` (with a fingerprint of its
parameters); a repeat with the same parameters gets the remembered answer, one with other
parameters is refused (a reused id is a client bug, never silently a different request).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflow_engine.services.errors import ConflictError, InvalidArgumentError
from workflow_engine.store.database import Database
from workflow_engine.store.requests import RequestOutcomeRepository, StoredOutcome

#: Longest request id accepted (the column's width).
MAX_REQUEST_ID = 255
#: Namespace of the ids derived from a request id (uuid5: stable, 36 chars).
_REQUEST_NAMESPACE = uuid.UUID("0b6f8c8e-5a43-4f0e-9d35-7f3b1c2a9e51")


def derived_id(request_id: str, purpose: str) -> str:
    """A stable UUID for `purpose` within the request `request_id` (same inputs, same id)."""
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"{request_id}\n{purpose}"))


def check_request_id(request_id: object) -> str | None:
    """`request_id` as given, or None when absent.

    Raises:
        InvalidArgumentError: not a string, empty, or longer than 255 characters.
    """
    if request_id is None:
        return None
    if not isinstance(request_id, str) or not request_id.strip():
        raise InvalidArgumentError("request_id must be a non-empty string when given")
    if len(request_id) > MAX_REQUEST_ID:
        raise InvalidArgumentError(
            f"request_id is {len(request_id)} characters long: at most {MAX_REQUEST_ID} allowed"
        )
    return request_id


@dataclass(frozen=True, slots=True)
class RequestScope:
    """One request id within its kind and tenant scope.

    Attributes:
        kind: signal or message.
        tenant_id: The tenant the request runs in (None: every tenant, an admin naming none).
        request_id: The caller's id.
    """

    kind: str
    tenant_id: str | None
    request_id: str

    @property
    def key(self) -> str:
        """The remembered row's key: sha256 of kind, tenant and request id."""
        raw = json.dumps([self.kind, self.tenant_id, self.request_id])
        return hashlib.sha256(raw.encode()).hexdigest()

    def derived(self, purpose: str) -> str:
        """A stable UUID for `purpose` in this request; another tenant's differs."""
        return derived_id(json.dumps([self.tenant_id, self.request_id]), purpose)


def fingerprint(params: Mapping[str, Any]) -> str:
    """sha256 of a request's parameters (canonical JSON: key order does not matter)."""
    raw = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


class RequestLedger:
    """Remembers what requests with a request id did.

    Args:
        database: The application database.
    """

    def __init__(self, database: Database) -> None:
        self._db = database

    async def recall(self, scope: RequestScope, print_: str) -> StoredOutcome | None:
        """The earlier request with this scope, if any.

        Raises:
            ConflictError: the earlier request had other parameters.
        """
        async with self._db.session() as session:
            found = await RequestOutcomeRepository(session).get(scope.key)
        if found is not None:
            _same_request(scope, found, print_)
        return found

    async def claim(
        self, scope: RequestScope, print_: str, outcome: dict[str, Any], *, completed: bool
    ) -> StoredOutcome:
        """Remember `outcome` for the request unless a concurrent twin was first.

        Returns:
            What is remembered now: this outcome, or the twin's.

        Raises:
            ConflictError: the twin had other parameters.
        """
        item = StoredOutcome(
            key=scope.key,
            kind=scope.kind,
            tenant_id=scope.tenant_id,
            request_id=scope.request_id,
            fingerprint=print_,
            outcome=outcome,
            completed=completed,
        )
        async with self._db.session() as session:
            kept = await RequestOutcomeRepository(session).claim(item)
        _same_request(scope, kept, print_)
        return kept

    async def complete(self, scope: RequestScope, outcome: dict[str, Any]) -> None:
        """Mark the request done with its final outcome."""
        async with self._db.session() as session:
            await RequestOutcomeRepository(session).complete(scope.key, outcome)

    async def forget(self, scope: RequestScope) -> None:
        """Forget the request: it was refused without effect, a repeat decides afresh."""
        async with self._db.session() as session:
            await RequestOutcomeRepository(session).delete(scope.key)


def _same_request(scope: RequestScope, found: StoredOutcome, print_: str) -> None:
    if found.fingerprint != print_:
        raise ConflictError(
            f"request_id '{scope.request_id}' was already used for another {scope.kind} "
            "request (different name, keys or variables): use a new request_id per request"
        )
