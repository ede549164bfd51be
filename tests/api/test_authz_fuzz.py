"""Property test: no list endpoint ever returns a row of a tenant the caller may not see.

A fixed two-tenant world (definitions, running instances with open tasks, ended instances,
audit entries) runs on Temporal; hypothesis draws principals (any role set, including unknown
roles and none; any tenant, including '' and one that owns nothing; any user and groups) and
an optional `tenant_id` query parameter, mints a real token, and calls every list endpoint over
the REST app, on SQLite and PostgreSQL. Every answer is 200 or 403, and a 200 of a non-admin
contains no marker of a tenant other than the caller's (ids, keys, names, business keys).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.authz_matrix_support import SECRET, token_of
from tests.api.live_engine import running_engine
from tests.paths import SEED
from tests.services.support import SEED_VARIABLES, eventually
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.errors import NotFoundError
from workflow_engine.store.tasks import TaskFilters

TENANTS = ("acme", "globex")
LIST_ENDPOINTS = (
    "/api/v1/definitions",
    "/api/v1/instances",
    "/api/v1/tasks",
    "/api/v1/history/instances",
    "/api/v1/audit",
    "/api/v1/stats",
)

principals = st.builds(
    Principal,
    user_id=st.sampled_from(["alice", "carol", "bob", "op-1"]),
    groups=st.frozensets(st.sampled_from(["sales", "staff", "reviewers"]), max_size=2),
    roles=st.frozensets(
        st.sampled_from(["admin", "modeler", "operator", "user", "auditor", "ADMIN"]), max_size=3
    ),
    tenant_id=st.sampled_from(["acme", "globex", "", "initech"]),
)
requested_tenants = st.sampled_from([None, "acme", "globex", "", "initech"])


async def _world(services: Services) -> dict[str, set[str]]:
    """Objects of both tenants; per tenant the strings only its data contains."""
    markers: dict[str, set[str]] = {}
    with acting_as(Principal.system()):
        for tenant in TENANTS:
            document: dict[str, Any] = json.loads(SEED.read_text())
            key = f"{tenant}-proc"
            name = f"{tenant.upper()}-ONLY-NAME"
            document["process"].update({"id": key, "key": key, "tenant_id": tenant, "name": name})
            await services.definitions.deploy(
                json.dumps(document).encode(), fmt=DefinitionFormat.JSON, tenant_id=tenant
            )
            ids: set[str] = {key, name, f"{tenant.upper()}-BK"}
            for n in range(2):
                record = await services.instances.start(
                    definition_key=key,
                    tenant_id=tenant,
                    variables={**SEED_VARIABLES, "user_id": "alice"},
                    user_id="alice",
                    business_key=f"{tenant.upper()}-BK",
                )
                ids.add(record.id)

                async def open_tasks(instance_id: str = record.id) -> list[Any]:
                    page = await services.tasks.list(TaskFilters(instance_id=instance_id))
                    return page.items

                tasks = await eventually(open_tasks, bool, within=30)
                ids.add(str(tasks[0].id))
                if n == 1:
                    await services.instances.terminate(record.id, reason="fuzz: ended")

                    async def historic(instance_id: str = record.id) -> bool:
                        try:
                            await services.history.historic_instance(instance_id)
                        except NotFoundError:
                            return False
                        return True

                    await eventually(historic, bool, within=30)
            markers[tenant] = ids
    return markers


def _run_in_loop(
    loop: asyncio.AbstractEventLoop,
) -> Callable[[Coroutine[Any, Any, None]], None]:
    def run(coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    return run


async def test_no_list_ever_shows_another_tenants_rows(
    db_url: str, tmp_path: Any, temporal_client: Any
) -> None:
    async with running_engine(db_url, tmp_path, temporal_client) as services:
        markers = await _world(services)
        services.settings = services.settings.model_copy(
            update={
                "auth_enabled": True,
                "auth_jwt_secret": load_settings(auth_jwt_secret=SECRET).auth_jwt_secret,
            }
        )
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://fuzz.test") as client:
            run = _run_in_loop(asyncio.get_running_loop())
            checked: list[int] = []

            async def check(who: Principal, requested: str | None) -> None:
                headers = {"authorization": f"Bearer {token_of(who)}"}
                params = {"page_size": 100} | (
                    {} if requested is None else {"tenant_id": requested}
                )
                for url in LIST_ENDPOINTS:
                    query = {
                        k: v
                        for k, v in params.items()
                        if url != "/api/v1/stats" or k != "page_size"
                    }
                    response = await client.get(url, params=query, headers=headers)
                    where = f"{url} {query} as {who}"
                    assert response.status_code in (200, 403), f"{where}: {response.text[:300]}"
                    if response.status_code != 200:
                        continue
                    checked.append(1)
                    if who.is_admin:
                        continue
                    for tenant, strings in markers.items():
                        if tenant == who.tenant_id:
                            continue
                        leaked = sorted(m for m in strings if m in response.text)
                        assert not leaked, f"{where}: leaks tenant {tenant}: {leaked}"

            @settings(
                max_examples=60,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            )
            @given(who=principals, requested=requested_tenants)
            def prop(who: Principal, requested: str | None) -> None:
                run(check(who, requested))

            await asyncio.to_thread(prop)
            assert checked, "no list answered 200: the property checked nothing"
