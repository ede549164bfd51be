"""Idempotency keys for side effects of activities.

Temporal runs an activity at least once: a worker that crashes while a call is in flight makes
Temporal run the activity again after its timeout, and a failed attempt is retried. A service
that honours an `Idempotency-Key` header (or a similar field) can then recognise the repeat, if
every attempt of one activity execution sends the same key and no other execution does.

The key is derived from what Temporal itself uses to identify the execution:

- the namespace and the workflow id (`pi-<instance id>`): differs between instances;
- the run id: a continue-as-new starts a new run whose activity ids count from 1 again, and a
  reset re-executes activities on purpose, so the run keeps those apart;
- the activity id: the execution within the run; the same for every attempt (the attempt
  number is deliberately not part of it).

Custom activities get the same key with::

    from temporalio import activity
    from workflow_engine.engine.activities.idempotency import idempotency_key

    key = idempotency_key(activity.info())

or, without importing the engine, `uuid.uuid5(uuid.NAMESPACE_URL, "temporal:" +
f"{info.workflow_namespace}/{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}")`.
"""

from __future__ import annotations

import uuid

from temporalio import activity

__all__ = ["IDEMPOTENCY_HEADER", "idempotency_key"]

#: The header the `http` built-in sends the key in (IETF draft-ietf-httpapi-idempotency-key).
IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key(info: activity.Info) -> str:
    """A UUID naming one activity execution, the same for each of its attempts.

    Args:
        info: `activity.info()` of the running activity.

    Returns:
        A UUID (version 5) in its canonical text form.
    """
    name = (
        f"temporal:{info.workflow_namespace}/{info.workflow_id}/"
        f"{info.workflow_run_id}/{info.activity_id}"
    )
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))
