"""Key handling around the store: the dev key, refusals without keys, `wfe reencrypt`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.crypto.support import new_key_text
from tests.services.support import deploy_document
from workflow_engine.cli import app
from workflow_engine.config import load_settings
from workflow_engine.crypto.envelope import envelope_key_ids, is_envelope
from workflow_engine.crypto.keyring import KeyRing, UnknownKeyError
from workflow_engine.dev import DEV_KEY_FILE, encryption_banner_lines, with_dev_encryption
from workflow_engine.engine.contract import EngineEvent, RuntimeBatch
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.errors import InvalidArgumentError
from workflow_engine.store.database import Database, create_engine
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.reencrypt import reencrypt
from workflow_engine.store.runtime import RuntimeProjection
from workflow_engine.store.sealing import EncryptionRequiredError, refuse_sensitive_without_keys

SECRET = "pw-key-handling-0001"


def document(key: str = "vault") -> dict[str, Any]:
    return {
        "process": {
            "id": key,
            "key": key,
            "name": key,
            "executable": True,
            "variables": {"pw": {"type": "string", "sensitive": True}},
        },
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["end"]},
            {"id": "end", "type": "endEvent", "incoming": ["start"]},
        ],
    }


def test_wfe_dev_creates_a_dev_key_once_and_never_shows_it(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    first = with_dev_encryption(settings, 8233)
    ring = first.encryption_key_ring()
    assert ring is not None and ring.active_id.startswith("dev-")
    assert (tmp_path / DEV_KEY_FILE).is_file()
    assert first.codec_cors_origins == ["http://127.0.0.1:8233"]
    again = with_dev_encryption(settings, 8233)
    assert again.encryption_key_ring() == ring  # the same key after a restart
    banner = "\n".join(encryption_banner_lines(first))
    assert ring.active_id in banner and "/codec" in banner
    key_text = first.encryption_keys[ring.active_id].get_secret_value()
    assert key_text not in banner
    assert key_text not in repr(first)
    # Configured keys win: no dev key then.
    own = load_settings(data_dir=tmp_path / "other", encryption_keys={"k1": new_key_text()})
    assert with_dev_encryption(own, 8233).encryption_keys == own.encryption_keys
    assert not (tmp_path / "other" / DEV_KEY_FILE).exists()


async def test_without_keys_serve_refuses_sensitive_definitions(
    db_url: str, tmp_path: Path
) -> None:
    plain = await build_services(load_settings(database_url=db_url, data_dir=tmp_path))
    try:
        await refuse_sensitive_without_keys(plain.database)  # nothing sensitive yet
        await deploy_document(plain, document())
        with pytest.raises(EncryptionRequiredError, match=r"vault v1.*encryption_keys"):
            await refuse_sensitive_without_keys(plain.database)
    finally:
        await plain.aclose()
    strict = await build_services(
        load_settings(database_url=db_url, data_dir=tmp_path), sensitive_needs_keys=True
    )
    try:
        with pytest.raises(InvalidArgumentError, match="no encryption keys") as info:
            await deploy_document(strict, document("vault2"))
        assert info.value.details[0].path == "process.variables.pw.sensitive"
    finally:
        await strict.aclose()
    keyed = await build_services(
        load_settings(
            database_url=db_url, data_dir=tmp_path, encryption_keys={"k1": new_key_text()}
        ),
        sensitive_needs_keys=True,
    )
    try:
        await refuse_sensitive_without_keys(keyed.database)
        await deploy_document(keyed, document("vault3"))
    finally:
        await keyed.aclose()


async def _instance(services: Services, key: str) -> str:
    definition_id = await deploy_document(services, document(key))
    instance_id = str(uuid.uuid4())
    async with services.database.session() as session:
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=f"pi-{instance_id}",
            definition_id=definition_id,
            definition_key=key,
            definition_version=1,
        )
    async with services.database.session() as session:
        await RuntimeProjection(session).apply(
            RuntimeBatch(
                instance_id=instance_id,
                through_sequence=1,
                events=[
                    EngineEvent(
                        sequence=1,
                        type="process.started",
                        timestamp="2026-11-30T10:00:00+00:00",
                        data={"variables": {"pw": SECRET}, "note": f"pw was {SECRET}"},
                    )
                ],
                active_node_ids=["start"],
                variables={"pw": SECRET},
            )
        )
    return instance_id


async def _raw(db_url: str, sql: str, **params: Any) -> Any:
    database = Database(create_engine(db_url))
    try:
        async with database.session() as session:
            value = (await session.execute(text(sql), params)).scalar_one()
    finally:
        await database.dispose()
    return json.loads(value) if isinstance(value, str) else value


async def test_reencrypt_is_batched_resumable_and_names_unknown_keys(
    db_url: str, tmp_path: Path
) -> None:
    k1 = new_key_text()
    services = await build_services(
        load_settings(database_url=db_url, data_dir=tmp_path, encryption_keys={"k1": k1})
    )
    try:
        ids = [await _instance(services, f"vault{i}") for i in range(3)]
    finally:
        await services.aclose()
    variable_sql = "SELECT value FROM process_variable WHERE process_instance_id = :i"
    event_sql = "SELECT event_data FROM process_event WHERE process_instance_id = :i"
    for instance_id in ids:
        stored = await _raw(db_url, variable_sql, i=instance_id)
        assert is_envelope(stored) and stored["kid"] == "k1"
        event = await _raw(db_url, event_sql, i=instance_id)
        assert SECRET not in json.dumps(event)  # by name, and the note quoting it
        assert envelope_key_ids(event) == {"k1"}

    k2 = new_key_text()
    ring = KeyRing.from_texts({"k1": k1, "k2": k2}, "k2")
    assert ring is not None

    class RunStoppedError(Exception):
        pass

    def stop_after_first_batch(progress: Any) -> None:
        raise RunStoppedError(progress.table)

    database = Database(create_engine(db_url))
    try:
        # A run interrupted after its first committed batch (one variable row) ...
        with pytest.raises(RunStoppedError):
            await reencrypt(database, ring, batch_size=1, on_batch=stop_after_first_batch)
        kids = [(await _raw(db_url, variable_sql, i=i))["kid"] for i in ids]
        assert sorted(kids) == ["k1", "k1", "k2"]
        # ... is resumed by running again: only what is left is rewritten, batch by batch.
        seen: list[int] = []
        resumed = await reencrypt(
            database, ring, batch_size=2, on_batch=lambda p: seen.append(p.last_id)
        )
        assert resumed.rewritten == 5  # 2 variables + 3 events
        assert len(seen) >= 4
        assert (await reencrypt(database, ring)).rewritten == 0  # idempotent
        # A ring that lacks k2 cannot open what is there: a clear error.
        lacking = KeyRing.from_texts({"k1": k1, "k3": new_key_text()}, "k3")
        assert lacking is not None
        with pytest.raises(UnknownKeyError, match="'k2'"):
            await reencrypt(database, lacking)
    finally:
        await database.dispose()
    for instance_id in ids:
        assert (await _raw(db_url, variable_sql, i=instance_id))["kid"] == "k2"
        assert envelope_key_ids(await _raw(db_url, event_sql, i=instance_id)) == {"k2"}
    # Reads open the re-keyed values with the new ring.
    rotated = await build_services(
        load_settings(
            database_url=db_url,
            data_dir=tmp_path,
            encryption_keys={"k1": k1, "k2": k2},
            encryption_active_key="k2",
        )
    )
    try:
        async with rotated.database.session() as session:
            repo = InstanceRepository(session)
            assert (await repo.variables(ids[0]))["pw"] == SECRET
            (event,) = await repo.events(ids[0])
            assert event.data == {"variables": {"pw": SECRET}, "note": f"pw was {SECRET}"}
    finally:
        await rotated.aclose()


def test_wfe_reencrypt_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WFE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("WFE_ENCRYPTION_KEYS", raising=False)
    runner = CliRunner()
    refused = runner.invoke(app, ["reencrypt"])
    assert refused.exit_code == 1
    assert "no encryption_keys configured" in refused.output
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    monkeypatch.setenv("WFE_ENCRYPTION_KEYS", json.dumps({"k1": new_key_text()}))
    done = runner.invoke(app, ["reencrypt", "--batch-size", "10"])
    assert done.exit_code == 0, done.output
    assert "re-encrypted 0 value(s) to key k1" in done.output


async def test_the_api_names_a_missing_key(db_url: str, tmp_path: Path) -> None:
    import httpx

    from workflow_engine.api.rest.app import create_app

    writer = await build_services(
        load_settings(
            database_url=db_url, data_dir=tmp_path, encryption_keys={"k1": new_key_text()}
        )
    )
    try:
        instance_id = await _instance(writer, "vault")
    finally:
        await writer.aclose()
    reader = await build_services(
        load_settings(
            database_url=db_url, data_dir=tmp_path, encryption_keys={"k9": new_key_text()}
        )
    )
    try:
        transport = httpx.ASGITransport(app=create_app(reader), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            answer = await api.get(f"/api/v1/instances/{instance_id}/variables")
    finally:
        await reader.aclose()
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert error["code"] == "ENCRYPTION_KEY_UNAVAILABLE"
    assert "key id 'k1', which is not in encryption_keys (configured: k9)" in error["message"]
    assert SECRET not in answer.text
