"""`Idempotency-Key` of the `http` built-in (issue 15, finding 10).

Through real instances on the Temporal dev server: a server that fails the first attempt sees
the same key on Temporal's retry, and two instances send different keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.client import Client

from tests.engine.activities.http_server import Served, serving
from tests.engine.harness import doc, el, engine
from workflow_engine.engine.activities.egress import EgressPolicy, parse_rule
from workflow_engine.engine.activities.http import HttpActivities, parse_http_request
from workflow_engine.engine.activities.idempotency import IDEMPOTENCY_HEADER


@pytest.fixture
def server() -> Iterator[Served]:
    with serving() as served:
        yield served


def _allowing(server: Served) -> HttpActivities:
    return HttpActivities(policy=EgressPolicy(allow=[parse_rule(f"127.0.0.1:{server.port}")]))


def _http_task(url: str, **config: Any) -> dict[str, Any]:
    return doc(
        el("start", "startEvent", "call"),
        el(
            "call",
            "serviceTask",
            "end",
            config={
                "implementation": "http",
                "url": url,
                "retry_policy": {"max_attempts": 3, "initial_interval": "PT0.1S"},
                "timeout": "PT20S",
                **config,
            },
        ),
        el("end", "endEvent"),
    )


@pytest.mark.temporal
async def test_the_key_is_stable_across_retries_and_differs_between_instances(
    temporal_client: Client, server: Served
) -> None:
    definition = _http_task(server.base + "/flaky/${name}", output_mapping={"got": "${body}"})
    http = _allowing(server)
    try:
        async with engine(temporal_client, http.http) as eng:
            first = await eng.start(definition, variables={"name": "a"})
            second = await eng.start(definition, variables={"name": "b"})
            results = [await first.result(), await second.result()]
    finally:
        await http.aclose()
    # Each instance's first attempt got a 503, Temporal retried, the second attempt passed.
    assert [r.variables["got"] for r in results] == [{"attempt": 2}, {"attempt": 2}]
    keys = {
        name: [h.get(IDEMPOTENCY_HEADER.lower()) for h in server.headers[f"/flaky/{name}"]]
        for name in ("a", "b")
    }
    assert len(keys["a"]) == len(keys["b"]) == 2
    assert keys["a"][0] is not None
    assert keys["a"][0] == keys["a"][1]
    assert keys["b"][0] == keys["b"][1]
    assert keys["a"][0] != keys["b"][0]
    # The documented derivation, from what the history says about the activity.
    history = await first.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "wfe.http"
    ]
    assert len(scheduled) == 1
    run_id = (await first.describe()).run_id
    expected = uuid.uuid5(
        uuid.NAMESPACE_URL,
        f"temporal:default/{first.id}/{run_id}/{scheduled[0].activity_id}",
    )
    assert keys["a"][0] == str(expected)


async def test_a_header_of_the_request_wins(server: Served) -> None:
    http = _allowing(server)
    try:
        for path, headers in (
            ("/echo/auto", {}),
            ("/echo/own", {"idempotency-key": "order-42"}),
            ("/echo/none", {"Idempotency-Key": None}),
        ):
            spec = parse_http_request({"url": server.base + path, "headers": headers})
            await http.send(spec, idempotency_key="from-identity")
        # Called outside an activity there is no identity, hence no key.
        await http.http({"url": server.base + "/echo/direct"})
    finally:
        await http.aclose()
    sent = {path: h[0].get("idempotency-key") for path, h in server.headers.items()}
    assert sent == {
        "/echo/auto": "from-identity",
        "/echo/own": "order-42",
        "/echo/none": None,
        "/echo/direct": None,
    }
