"""Sensitive variables on a real engine: encrypted in every table and in Temporal's history.

One instance of a definition with a `sensitive` variable runs on a real worker (Temporal dev
server, both databases). The tests read raw rows of every table and the raw history (a client
without the codec) and find no plain value; the API shows `***`, the activity saw the real
value; `reencrypt` moves the rows to a new key and the instance carries on with the rotated
ring; a ring without the key is a clear error; the codec endpoint decodes for admins only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from temporalio import activity
from temporalio.client import Client

from tests.crypto.support import new_key_text
from tests.security.support import SECRET as JWT_SECRET
from tests.security.support import claims, hs256
from tests.services.support import eventually
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import Settings, load_settings
from workflow_engine.crypto.codec import ENCRYPTED_ENCODING, client_encryption_options
from workflow_engine.crypto.envelope import envelope_key_ids, is_envelope
from workflow_engine.crypto.keyring import UnknownKeyError
from workflow_engine.engine.worker import build_worker
from workflow_engine.services.container import Services, build_services
from workflow_engine.store.database import Database, create_engine
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.reencrypt import reencrypt
from workflow_engine.store.tables import Base

CARD = "4111-1111-1111-1111-e2e-secret"
NEW_CARD = "5105-1051-0510-5100-e2e-secret"
CALLS: list[tuple[str, dict[str, Any]]] = []


@activity.defn(name="ChargeCard")
async def charge_card(data: dict[str, Any]) -> dict[str, Any]:
    CALLS.append(("ChargeCard", data))
    return {"receipt": f"r-{len(data['card'])}"}


@activity.defn(name="RefundCard")
async def refund_card(data: dict[str, Any]) -> dict[str, Any]:
    CALLS.append(("RefundCard", data))
    return {"refunded": True}


def definition() -> dict[str, Any]:
    service = {"implementation": "temporal_activity", "timeout": "PT30S"}
    return {
        "process": {
            "id": "payCard",
            "key": "payCard",
            "name": "payCard",
            "executable": True,
            "variables": {
                "card": {"type": "string", "sensitive": True, "required": True},
                "user": {"type": "string"},
            },
        },
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["charge"]},
            {
                "id": "charge",
                "type": "serviceTask",
                "config": {
                    **service,
                    "activity_name": "ChargeCard",
                    "input_mapping": {"card": "${card}", "user": "${user}"},
                    "output_mapping": {"receipt": "${result.receipt}"},
                },
                "incoming": ["start"],
                "outgoing": ["review"],
            },
            {
                "id": "review",
                "type": "userTask",
                "config": {"assignee": "u1"},
                "incoming": ["charge"],
                "outgoing": ["refund"],
            },
            {
                "id": "refund",
                "type": "serviceTask",
                "config": {
                    **service,
                    "activity_name": "RefundCard",
                    "input_mapping": {"card": "${card}"},
                },
                "incoming": ["review"],
                "outgoing": ["end"],
            },
            {"id": "end", "type": "endEvent", "incoming": ["refund"]},
        ],
    }


def _settings(
    db_url: str, data_dir: Path, queue: str, keys: dict[str, str], **more: Any
) -> Settings:
    return load_settings(
        database_url=db_url,
        data_dir=data_dir,
        task_queue=queue,
        encryption_keys=keys,
        encryption_active_key=list(keys)[-1],
        **more,
    )


@asynccontextmanager
async def engine(
    settings: Settings, temporal_client: Client
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """Services, a worker and the REST app, all with the settings' keys."""
    config = temporal_client.config()
    config.update(client_encryption_options(settings.encryption_key_ring()))
    client = Client(**config)
    services = await build_services(settings, temporal_client=client)
    worker = build_worker(
        client,
        task_queue=settings.task_queue,
        activities=[*services.engine_activities(), charge_card, refund_card],
    )
    try:
        async with worker:
            transport = httpx.ASGITransport(app=create_app(services))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
                yield services, api
    finally:
        await services.aclose()


async def _raw_rows(db_url: str) -> dict[str, list[str]]:
    """Every row of every table, as text (no sealing: what an attacker with the DB sees)."""
    database = Database(create_engine(db_url))
    found: dict[str, list[str]] = {}
    try:
        async with database.session() as session:
            for table in Base.metadata.sorted_tables:
                rows = (await session.execute(select(table))).all()
                found[table.name] = [json.dumps([str(v) for v in row]) for row in rows]
    finally:
        await database.dispose()
    return found


async def _raw_variable(db_url: str, instance_id: str, name: str, table: str) -> Any:
    database = Database(create_engine(db_url))
    try:
        async with database.session() as session:
            value = (
                await session.execute(
                    text(f"SELECT value FROM {table} WHERE process_instance_id = :i AND name = :n"),
                    {"i": instance_id, "n": name},
                )
            ).scalar_one()
    finally:
        await database.dispose()
    return json.loads(value) if isinstance(value, str) else value


async def _open_task(api: httpx.AsyncClient, instance_id: str) -> dict[str, Any]:
    async def tasks() -> list[dict[str, Any]]:
        body = (await api.get("/api/v1/tasks", params={"instance_id": instance_id})).json()
        return [t for t in body["items"] if t["state"] == "created"]

    return (await eventually(tasks, bool, within=30))[0]


async def _status(api: httpx.AsyncClient, instance_id: str) -> str:
    return str((await api.get(f"/api/v1/instances/{instance_id}")).json()["status"])


async def _history_bytes(temporal_client: Client, instance_id: str) -> tuple[bytes, int]:
    """The raw history (no codec) and how many payloads in it are encrypted."""
    history = await temporal_client.get_workflow_handle(f"pi-{instance_id}").fetch_history()
    raw = history.to_json()
    encrypted = raw.count(_b64(ENCRYPTED_ENCODING))
    return history_proto_bytes(history), encrypted


def history_proto_bytes(history: Any) -> bytes:
    from temporalio.api.history.v1 import History

    proto = History(events=list(history.events))
    return bytes(proto.SerializeToString())


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


async def test_sensitive_values_are_encrypted_in_tables_and_history_and_survive_rotation(
    db_url: str, tmp_path: Path, temporal_client: Client
) -> None:
    queue = f"secrets-{uuid.uuid4().hex}"
    k1 = {"k1": new_key_text()}
    CALLS.clear()
    async with engine(_settings(db_url, tmp_path, queue, k1), temporal_client) as (_, api):
        deployed = await api.post(
            "/api/v1/definitions",
            content=json.dumps(definition()),
            headers={"content-type": "application/json"},
        )
        assert deployed.status_code == 201, deployed.text
        started = await api.post(
            "/api/v1/instances",
            json={"definition_key": "payCard", "variables": {"card": CARD, "user": "u1"}},
        )
        assert started.status_code == 201, started.text
        instance_id = str(started.json()["id"])
        task = await _open_task(api, instance_id)
        # Services and activities see the real value; the API shows it masked.
        assert CALLS == [("ChargeCard", {"card": CARD, "user": "u1"})]
        shown = (await api.get(f"/api/v1/instances/{instance_id}/variables")).json()["variables"]
        assert shown["card"] == "***" and shown["receipt"] == f"r-{len(CARD)}"
        history = (await api.get(f"/api/v1/instances/{instance_id}/history")).json()
        assert CARD not in json.dumps(history)
        assert "***" in json.dumps(history)

    # Raw rows of every table: nothing in clear; the variable row is a k1 envelope.
    rows = await _raw_rows(db_url)
    leaks = {name: [r for r in found if CARD in r] for name, found in rows.items()}
    assert not any(leaks.values()), leaks
    stored = await _raw_variable(db_url, instance_id, "card", "process_variable")
    assert is_envelope(stored) and stored["kid"] == "k1"
    # Event data carries the value sealed (process start variables, activity input).
    assert sum(r.count("$enc") for r in rows["process_event"]) >= 2

    # The raw Temporal history (a client without the codec): every payload encrypted.
    raw, encrypted = await _history_bytes(temporal_client, instance_id)
    assert CARD.encode() not in raw
    assert encrypted >= 3

    # Rotation: k2 becomes active, `reencrypt` moves every stored value to it.
    k12 = {**k1, "k2": new_key_text()}
    rotated = _settings(db_url, tmp_path, queue, k12)
    ring = rotated.encryption_key_ring()
    assert ring is not None and ring.active_id == "k2"
    database = Database(create_engine(db_url))
    try:
        first = await reencrypt(database, ring, batch_size=2)
        again = await reencrypt(database, ring, batch_size=2)
    finally:
        await database.dispose()
    assert first.rewritten >= 3
    assert again.rewritten == 0  # idempotent
    stored = await _raw_variable(db_url, instance_id, "card", "process_variable")
    assert envelope_key_ids(stored) == {"k2"}
    assert not any(CARD in r for found in (await _raw_rows(db_url)).values() for r in found)

    # The instance carries on under the rotated ring (k1 still opens the old history).
    CALLS.clear()
    async with engine(rotated, temporal_client) as (services, api):
        # The task completes with a new sensitive value (task completion data is sealed too).
        done = await api.post(
            f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"card": NEW_CARD}}
        )
        assert done.status_code == 200, done.text
        await eventually(lambda: _status(api, instance_id), lambda s: s == "completed", within=30)
        assert CALLS == [("RefundCard", {"card": NEW_CARD})]
        variables = (await api.get(f"/api/v1/instances/{instance_id}/variables")).json()
        assert variables["variables"]["card"] == "***"
        async with services.database.session() as session:
            assert (await InstanceRepository(session).variables(instance_id))["card"] == NEW_CARD
    # Ended: the variables moved to history, still sealed (now under k2 for the new writes).
    historic = await _raw_variable(db_url, instance_id, "card", "historic_variable_instance")
    assert is_envelope(historic) and historic["kid"] == "k2"
    for value in (CARD, NEW_CARD):
        assert not any(value in r for found in (await _raw_rows(db_url)).values() for r in found)
        raw, _ = await _history_bytes(temporal_client, instance_id)
        assert value.encode() not in raw

    # A ring without the key the data names: a clear error, not garbage.
    only_k3 = await build_services(_settings(db_url, tmp_path, queue, {"k3": new_key_text()}))
    try:
        async with only_k3.database.session() as session:
            with pytest.raises(UnknownKeyError, match="key id 'k2', which is not in"):
                await InstanceRepository(session).variables(instance_id)
    finally:
        await only_k3.aclose()


async def test_codec_endpoint_decodes_for_admins_only(
    db_url: str, tmp_path: Path, temporal_client: Client
) -> None:
    queue = f"codec-{uuid.uuid4().hex}"
    settings = _settings(
        db_url,
        tmp_path,
        queue,
        {"k1": new_key_text()},
        auth_enabled=True,
        auth_jwt_secret=JWT_SECRET,
        codec_cors_origins=["http://127.0.0.1:8233"],
    )
    admin = {"authorization": f"Bearer {hs256(claims('root', roles=('admin',), tenant=None))}"}
    operator = {"authorization": f"Bearer {hs256(claims('op', roles=('operator',), tenant=''))}"}
    CALLS.clear()
    async with engine(settings, temporal_client) as (_, api):
        deployed = await api.post(
            "/api/v1/definitions",
            content=json.dumps(definition()),
            headers={"content-type": "application/json", **admin},
        )
        assert deployed.status_code == 201, deployed.text
        started = await api.post(
            "/api/v1/instances",
            json={"definition_key": "payCard", "variables": {"card": CARD, "user": "u1"}},
            headers=admin,
        )
        assert started.status_code == 201, started.text
        instance_id = str(started.json()["id"])
        await eventually(lambda: _calls(), bool, within=30)

        # What the Temporal Web UI would send: the raw (encrypted) payloads of the history.
        history = await temporal_client.get_workflow_handle(f"pi-{instance_id}").fetch_history()
        payloads = [
            p
            for event in history.events
            if event.HasField("workflow_execution_started_event_attributes")
            for p in event.workflow_execution_started_event_attributes.input.payloads
        ]
        assert payloads and all(p.metadata["encoding"] == ENCRYPTED_ENCODING for p in payloads)
        from google.protobuf import json_format
        from temporalio.api.common.v1 import Payloads

        body = json_format.MessageToJson(Payloads(payloads=payloads))
        headers = {"content-type": "application/json", "x-namespace": "default"}

        refused = await api.post("/codec/decode", content=body, headers=headers)
        assert refused.status_code == 401
        assert CARD not in refused.text
        narrow = await api.post("/codec/decode", content=body, headers={**headers, **operator})
        assert narrow.status_code == 403
        assert CARD not in narrow.text

        decoded = await api.post("/codec/decode", content=body, headers={**headers, **admin})
        assert decoded.status_code == 200, decoded.text
        plain = json_format.Parse(decoded.text, Payloads())
        assert any(CARD.encode() in p.data for p in plain.payloads)
        assert all(p.metadata["encoding"] != ENCRYPTED_ENCODING for p in plain.payloads)

        encoded = await api.post(
            "/codec/encode", content=decoded.text, headers={**headers, **admin}
        )
        assert encoded.status_code == 200
        again = json_format.Parse(encoded.text, Payloads())
        assert all(p.metadata["encoding"] == ENCRYPTED_ENCODING for p in again.payloads)
        assert CARD not in encoded.text

        # The UI's origin gets CORS answers on the codec (preflight carries no token).
        preflight = await api.options(
            "/codec/decode",
            headers={
                "origin": "http://127.0.0.1:8233",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization,content-type,x-namespace",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
        other = await api.options(
            "/codec/decode",
            headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
        )
        assert "access-control-allow-origin" not in other.headers
        bad = await api.post("/codec/decode", content=b"{nope", headers={**headers, **admin})
        assert bad.status_code == 400


async def _calls() -> list[tuple[str, dict[str, Any]]]:
    return list(CALLS)
