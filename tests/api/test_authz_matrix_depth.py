"""The authorization matrix in depth: candidate tasks, other users' instances, signal reach.

`test_authz_matrix.py` judges every endpoint per role x tenant on the seed's objects; these
cells need objects the seed does not have: a task with candidate users / groups, an instance
another user of the same tenant started, and instances of both tenants waiting on the same
signal / message. Everything runs with real tokens over a real socket (REST, SSE) and a real
gRPC channel, against services whose instances run on Temporal; outcomes are checked through
the API as an admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest

from tests.api.authz_matrix_support import ACME, GLOBEX, SECRET, token_of
from tests.api.live_engine import running_engine
from tests.api.rest.sse import serving
from tests.paths import SEED
from tests.services.support import SEED_VARIABLES, eventually
from tests.temporal_fixtures import free_port
from workflow_engine.api.grpc.generated import (
    execution_pb2,
    execution_pb2_grpc,
    history_pb2,
    history_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)
from workflow_engine.api.grpc.server import start_grpc_server
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _user(user_id: str, tenant: str, *groups: str) -> Principal:
    return Principal(user_id, groups=frozenset(groups), roles=frozenset({"user"}), tenant_id=tenant)


ADMIN = Principal("root", roles=frozenset({"admin"}), tenant_id=ACME)
#: Candidates of the acme task: dave by name, gina through group `reviewers`.
DAVE = _user("dave", ACME)
GINA = _user("gina", ACME, "reviewers")
#: Same tenant, no candidate (her group is another one).
OLGA = _user("olga", ACME, "sales")
#: Globex's dave: the same user id and group as acme's candidates, in the other tenant.
GLOBEX_DAVE = _user("dave", GLOBEX, "reviewers")


def _operator(tenant: str) -> Principal:
    return Principal(f"op-{tenant}", roles=frozenset({"operator"}), tenant_id=tenant)


def _process(key: str, tenant: str, elements: list[dict[str, Any]], **defs: Any) -> bytes:
    """A definition: start -> `elements` (chained) -> end."""
    ids = ["start", *(e["id"] for e in elements), "end"]
    chain: list[dict[str, Any]] = [{"id": "start", "type": "startEvent"}]
    chain += [dict(e) for e in elements]
    chain.append({"id": "end", "type": "endEvent"})
    for index, element in enumerate(chain):
        if index > 0:
            element["incoming"] = [ids[index - 1]]
        if index < len(chain) - 1:
            element["outgoing"] = [ids[index + 1]]
    document = {
        "process": {"id": key, "key": key, "name": key, "executable": True, "tenant_id": tenant},
        "elements": chain,
        **defs,
    }
    return json.dumps(document).encode()


def _candidate_task(tenant: str) -> bytes:
    task = {
        "id": "review",
        "type": "userTask",
        "config": {"candidate_users": ["dave"], "candidate_groups": ["reviewers"]},
    }
    return _process("review", tenant, [task])


def _signal_wait(tenant: str) -> bytes:
    wait = {"id": "wait_go", "type": "intermediateCatchEvent", "config": {"signal_ref": "sig_go"}}
    return _process("waits-go", tenant, [wait], signal_definitions=[{"id": "sig_go", "name": "go"}])


def _message_wait(tenant: str) -> bytes:
    wait = {
        "id": "wait_paid",
        "type": "intermediateCatchEvent",
        "config": {"message_ref": "msg_paid", "correlation_key": "${order}"},
    }
    return _process(
        "waits-paid", tenant, [wait], message_definitions=[{"id": "msg_paid", "name": "paid"}]
    )


@dataclass
class Api:
    """Services with auth on, served over REST (`rest`) and gRPC (`channel`)."""

    services: Services
    rest: httpx.AsyncClient
    channel: grpc.aio.Channel

    async def call(self, who: Principal, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token_of(who)}"}
        return await self.rest.request(method, url, headers=headers, **kw)

    async def stream_status(self, who: Principal, url: str) -> int:
        headers = {"authorization": f"Bearer {token_of(who)}"}
        async with self.rest.stream("GET", url, headers=headers) as response:
            return response.status_code

    async def grpc(self, who: Principal, method: Any, request: Any) -> grpc.StatusCode:
        try:
            await method(request, metadata=(("authorization", f"Bearer {token_of(who)}"),))
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        return grpc.StatusCode.OK

    async def deploy(self, document: bytes, tenant: str) -> str:
        with acting_as(Principal.system()):
            result = await self.services.definitions.deploy(
                document, fmt=DefinitionFormat.JSON, tenant_id=tenant
            )
        return result.definition.key

    async def start(self, key: str, tenant: str, *, user: str, **variables: Any) -> str:
        with acting_as(Principal.system()):
            record = await self.services.instances.start(
                definition_key=key, tenant_id=tenant, variables=variables, user_id=user
            )
        return record.id

    async def admin_instance(self, instance_id: str) -> dict[str, Any]:
        response = await self.call(ADMIN, "GET", f"/api/v1/instances/{instance_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def waiting_at(self, instance_id: str, element: str) -> None:
        async def active() -> list[str]:
            return list((await self.admin_instance(instance_id))["active_element_ids"])

        await eventually(active, lambda ids: element in ids, within=30)

    async def ended(self, instance_id: str) -> dict[str, Any]:
        return await eventually(
            lambda: self.admin_instance(instance_id),
            lambda body: body["status"] == "completed",
            within=30,
        )


@contextlib.asynccontextmanager
async def serving_api(db_url: str, tmp_path: Any, temporal_client: Any) -> AsyncIterator[Api]:
    async with running_engine(db_url, tmp_path, temporal_client) as services:
        services.settings = services.settings.model_copy(
            update={
                "auth_enabled": True,
                "auth_jwt_secret": load_settings(auth_jwt_secret=SECRET).auth_jwt_secret,
            }
        )
        port = free_port()
        server = await start_grpc_server(services, host="127.0.0.1", port=port)
        try:
            async with (
                serving(create_app(services)) as base,
                httpx.AsyncClient(base_url=base, timeout=30) as rest,
                grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
            ):
                yield Api(services, rest, channel)
        finally:
            await server.stop(None)


async def _open_task(api: Api, instance_id: str) -> str:
    async def tasks() -> list[dict[str, Any]]:
        response = await api.call(
            ADMIN, "GET", "/api/v1/tasks", params={"instance_id": instance_id}
        )
        assert response.status_code == 200, response.text
        return [t for t in response.json()["items"] if t["state"] != "completed"]

    found = await eventually(tasks, bool, within=30)
    return str(found[0]["id"])


async def _inbox(api: Api, who: Principal) -> set[str]:
    response = await api.call(who, "GET", "/api/v1/tasks", params={"page_size": 500})
    assert response.status_code == 200, response.text
    return {str(t["id"]) for t in response.json()["items"]}


@SQLITE_ONLY
async def test_candidate_tasks(db_url: str, tmp_path: Any, temporal_client: Any) -> None:
    async with serving_api(db_url, tmp_path, temporal_client) as api:
        tasks_grpc = tasks_pb2_grpc.TaskServiceStub(api.channel)  # type: ignore[no-untyped-call]
        key = await api.deploy(_candidate_task(ACME), ACME)
        globex_key = await api.deploy(_candidate_task(GLOBEX), GLOBEX)

        async def fresh(tenant: str = ACME) -> str:
            instance = await api.start(
                key if tenant == ACME else globex_key, tenant, user="eve", note="from eve"
            )
            return await _open_task(api, instance)

        claimed_by_dave, completed_by_gina, untouched = await asyncio.gather(
            fresh(), fresh(), fresh()
        )
        globex_task = await fresh(GLOBEX)
        cells: list[str] = []

        def check(what: str, got: object, want: object) -> None:
            if got != want:
                cells.append(f"{what}: got {got}, expected {want}")

        # Seeing: candidates (by name, by group) do; a non-candidate of acme and globex's dave
        # (same id, same group, other tenant) get 404 as if the task did not exist.
        for who, want in ((DAVE, 200), (GINA, 200), (OLGA, 404), (GLOBEX_DAVE, 404)):
            got = (await api.call(who, "GET", f"/api/v1/tasks/{untouched}")).status_code
            check(f"REST get task as {who.user_id}@{who.tenant_id}", got, want)
            code = await api.grpc(
                who, tasks_grpc.GetTask, tasks_pb2.GetTaskRequest(task_id=untouched)
            )
            check(f"gRPC GetTask as {who.user_id}@{who.tenant_id}", code.name, _grpc_of(want))
        # The task's variables: its viewers read them (the form is pre-filled), although the
        # instance is eve's and its own variables API stays a 404 for them.
        instance_id = (await api.call(ADMIN, "GET", f"/api/v1/tasks/{untouched}")).json()[
            "instance_id"
        ]
        for who, want in ((DAVE, 200), (GINA, 200), (OLGA, 404), (GLOBEX_DAVE, 404)):
            got_vars = await api.call(who, "GET", f"/api/v1/tasks/{untouched}/variables")
            check(
                f"REST task variables as {who.user_id}@{who.tenant_id}", got_vars.status_code, want
            )
            if want == 200:
                body = got_vars.json()
                check(f"task variables of {who.user_id}", body["variables"].get("note"), "from eve")
                check(
                    f"task variables' instance for {who.user_id}", body["instance_id"], instance_id
                )
            code = await api.grpc(
                who,
                tasks_grpc.GetTaskVariables,
                tasks_pb2.GetTaskVariablesRequest(task_id=untouched),
            )
            check(f"gRPC GetTaskVariables as {who.user_id}", code.name, _grpc_of(want))
            own = await api.call(who, "GET", f"/api/v1/instances/{instance_id}/variables")
            check(f"REST instance variables as {who.user_id}@{who.tenant_id}", own.status_code, 404)
        check("dave's inbox", untouched in await _inbox(api, DAVE), True)
        check("gina's inbox", untouched in await _inbox(api, GINA), True)
        check("olga's inbox", untouched in await _inbox(api, OLGA), False)
        check("globex dave's inbox", await _inbox(api, GLOBEX_DAVE), {globex_task})
        # Working: a non-candidate (404, nothing to act on) cannot claim or complete.
        for who in (OLGA, GLOBEX_DAVE):
            bodies: tuple[tuple[str, dict[str, Any]], ...] = (
                ("claim", {}),
                ("complete", {"variables": {}}),
            )
            for action, body in bodies:
                url = f"/api/v1/tasks/{untouched}/{action}"
                got = (await api.call(who, "POST", url, json=body)).status_code
                check(f"REST {action} as {who.user_id}@{who.tenant_id}", got, 404)
            code = await api.grpc(
                who, tasks_grpc.ClaimTask, tasks_pb2.ClaimTaskRequest(task_id=untouched)
            )
            check(f"gRPC ClaimTask as {who.user_id}@{who.tenant_id}", code.name, "NOT_FOUND")
            code = await api.grpc(
                who, tasks_grpc.CompleteTask, tasks_pb2.CompleteTaskRequest(task_id=untouched)
            )
            check(f"gRPC CompleteTask as {who.user_id}@{who.tenant_id}", code.name, "NOT_FOUND")
        # The candidate user claims (over gRPC), then completes (over REST).
        code = await api.grpc(
            DAVE, tasks_grpc.ClaimTask, tasks_pb2.ClaimTaskRequest(task_id=claimed_by_dave)
        )
        check("gRPC ClaimTask as dave", code.name, "OK")
        # Claimed: the other candidate loses the race with a 409 naming the winner; she no
        # longer sees it in her inbox.
        lost = await api.call(GINA, "POST", f"/api/v1/tasks/{claimed_by_dave}/claim", json={})
        check("REST claim of a claimed task as gina", lost.status_code, 409)
        check("gina's inbox after dave's claim", claimed_by_dave in await _inbox(api, GINA), False)
        done = await api.call(
            DAVE, "POST", f"/api/v1/tasks/{claimed_by_dave}/complete", json={"variables": {}}
        )
        check("REST complete as dave (assignee)", done.status_code, 200)
        # A group candidate completes an unclaimed task directly (claiming it on the way).
        done = await api.call(
            GINA, "POST", f"/api/v1/tasks/{completed_by_gina}/complete", json={"variables": {}}
        )
        check("REST complete as gina (group candidate)", done.status_code, 200)
        assert not cells, "\n".join(cells)
        for task_id in (claimed_by_dave, completed_by_gina):
            task = await api.call(ADMIN, "GET", f"/api/v1/tasks/{task_id}")
            assert task.json()["state"] == "completed", task.text
        untouched_now = await api.call(ADMIN, "GET", f"/api/v1/tasks/{untouched}")
        assert untouched_now.json()["assignee"] is None, untouched_now.text


def _grpc_of(status: int) -> str:
    return {200: "OK", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}[status]


@SQLITE_ONLY
async def test_a_user_never_sees_another_users_instance(
    db_url: str, tmp_path: Any, temporal_client: Any
) -> None:
    alice = _user("alice", ACME, "sales")
    async with serving_api(db_url, tmp_path, temporal_client) as api:
        key = await api.deploy(SEED.read_bytes().replace(b'"default"', b'"acme"'), ACME)
        own = await api.start(key, ACME, user="alice", **{**SEED_VARIABLES, "user_id": "alice"})
        bobs = await api.start(key, ACME, user="bob", **{**SEED_VARIABLES, "user_id": "bob"})
        for instance_id in (own, bobs):
            await api.waiting_at(instance_id, "validate_user_task")
        # History of ENDED instances (a running instance has no historic row yet).
        ended: dict[str, str] = {}
        for user, running in (("alice", own), ("bob", bobs)):
            ended[running] = await api.start(
                key, ACME, user=user, **{**SEED_VARIABLES, "user_id": user}
            )
            await api.waiting_at(ended[running], "validate_user_task")
            with acting_as(Principal.system()):
                await api.services.instances.terminate(ended[running], reason="depth: ended")
        for finished in ended.values():

            async def historic_status(f: str = finished) -> int:
                url = f"/api/v1/history/instances/{f}"
                return (await api.call(ADMIN, "GET", url)).status_code

            await eventually(historic_status, lambda status: status == 200, within=30)
        steps = await api.call(ADMIN, "GET", f"/api/v1/instances/{bobs}/steps")
        step_id = steps.json()["steps"][0]["step_id"]
        own_steps = await api.call(ADMIN, "GET", f"/api/v1/instances/{own}/steps")
        own_step = own_steps.json()["steps"][0]["step_id"]
        execution = execution_pb2_grpc.ExecutionServiceStub(api.channel)  # type: ignore[no-untyped-call]
        history = history_pb2_grpc.HistoryServiceStub(api.channel)  # type: ignore[no-untyped-call]
        cells: list[str] = []
        for instance_id, step, want in ((own, own_step, 200), (bobs, step_id, 404)):
            whose = "own" if instance_id == own else "bob's"
            for path in (
                "",
                "/history",
                "/steps",
                f"/steps/{step}",
                "/variables",
                "/diagram",
            ):
                url = f"/api/v1/instances/{instance_id}{path}"
                got = (await api.call(alice, "GET", url)).status_code
                if got != want:
                    cells.append(f"REST GET {whose}{path or ' detail'}: {got}, expected {want}")
            historic_id = ended[instance_id]
            historic = await api.call(alice, "GET", f"/api/v1/history/instances/{historic_id}")
            if historic.status_code != want:
                cells.append(f"REST historic {whose}: {historic.status_code}, expected {want}")
            for name, method, request in (
                ("GetExecution", execution.GetExecution, execution_pb2.GetExecutionRequest),
                ("GetVariables", execution.GetVariables, execution_pb2.GetVariablesRequest),
                (
                    "GetExecutionHistory",
                    history.GetExecutionHistory,
                    history_pb2.GetExecutionHistoryRequest,
                ),
                ("ListSteps", history.ListSteps, history_pb2.ListStepsRequest),
            ):
                code = await api.grpc(alice, method, request(instance_id=instance_id))
                if code.name != _grpc_of(want):
                    cells.append(f"gRPC {name} {whose}: {code.name}, expected {_grpc_of(want)}")
            code = await api.grpc(
                alice,
                history.GetHistoricInstance,
                history_pb2.GetHistoricInstanceRequest(instance_id=historic_id),
            )
            if code.name != _grpc_of(want):
                cells.append(f"gRPC GetHistoricInstance {whose}: {code.name}")
            code = await api.grpc(
                alice,
                history.GetStepDetail,
                history_pb2.GetStepDetailRequest(instance_id=instance_id, step_id=step),
            )
            if code.name != _grpc_of(want):
                cells.append(f"gRPC GetStepDetail {whose}: {code.name}")
        # Lists show her own instances only.
        for url, mine in (
            ("/api/v1/instances", {own, ended[own]}),
            ("/api/v1/history/instances", {ended[own]}),
        ):
            listed = await api.call(alice, "GET", url, params={"page_size": 100})
            ids = {item["id"] for item in listed.json()["items"]}
            if not ids or ids - mine:
                cells.append(f"REST {url} lists {sorted(ids)}, expected only hers {mine}")
        # Streams last: an SSE response the client drops can keep SQLite's write lock for a
        # while (see the report of helper M1), which would fail the calls after it.
        for instance_id, want in ((bobs, 404), (own, 200)):
            whose = "own" if instance_id == own else "bob's"
            stream = await api.stream_status(alice, f"/api/v1/instances/{instance_id}/stream")
            if stream != want:
                cells.append(f"REST stream {whose}: {stream}, expected {want}")
        assert not cells, "\n".join(cells)


@SQLITE_ONLY
async def test_signals_and_messages_reach_only_the_senders_tenant(
    db_url: str, tmp_path: Any, temporal_client: Any
) -> None:
    async with serving_api(db_url, tmp_path, temporal_client) as api:
        execution = execution_pb2_grpc.ExecutionServiceStub(api.channel)  # type: ignore[no-untyped-call]
        waiting: dict[str, list[str]] = {}
        for tenant in (ACME, GLOBEX):
            key = await api.deploy(_signal_wait(tenant), tenant)
            waiting[tenant] = [await api.start(key, tenant, user="u") for _ in range(2)]
        for instance_id in (*waiting[ACME], *waiting[GLOBEX]):
            await api.waiting_at(instance_id, "wait_go")
        # Acme's operator: reaches acme's two waiting instances, not globex's.
        sent = await api.call(_operator(ACME), "POST", "/api/v1/signals", json={"name": "go"})
        assert sent.status_code == 200, sent.text
        assert sent.json()["delivered"] == 2, sent.text
        for instance_id in waiting[ACME]:
            await api.ended(instance_id)
        for instance_id in waiting[GLOBEX]:
            body = await api.admin_instance(instance_id)
            assert body["status"] != "completed" and "wait_go" in body["active_element_ids"]
        # Acme's operator naming globex is refused and delivers nothing.
        named = await api.call(
            _operator(ACME), "POST", "/api/v1/signals", json={"name": "go", "tenant_id": GLOBEX}
        )
        assert named.status_code == 403, named.text
        # Globex's operator over gRPC: globex's two, and nobody else's (acme's are done).
        response = await execution.SendSignal(
            execution_pb2.SendSignalRequest(name="go"),
            metadata=(("authorization", f"Bearer {token_of(_operator(GLOBEX))}"),),
        )
        assert response.delivered == 2
        for instance_id in waiting[GLOBEX]:
            await api.ended(instance_id)

        # Messages: one waiting instance per tenant with the SAME correlation key. Without the
        # tenant filter the correlation would be ambiguous (409) or reach the wrong tenant.
        paid: dict[str, str] = {}
        for tenant in (ACME, GLOBEX):
            key = await api.deploy(_message_wait(tenant), tenant)
            paid[tenant] = await api.start(key, tenant, user="u", order="o-1")
            await api.waiting_at(paid[tenant], "wait_paid")
        message = {"name": "paid", "correlation_key": "o-1"}
        got = await api.call(_operator(ACME), "POST", "/api/v1/messages", json=message)
        assert got.status_code == 200, got.text
        assert got.json()["instance_id"] == paid[ACME], got.text
        await api.ended(paid[ACME])
        globex_body = await api.admin_instance(paid[GLOBEX])
        assert "wait_paid" in globex_body["active_element_ids"], globex_body
        # Acme again: nobody of acme waits any more; globex's waiter stays invisible (404).
        again = await api.call(_operator(ACME), "POST", "/api/v1/messages", json=message)
        assert again.status_code == 404, again.text
        assert paid[GLOBEX] not in again.text
        reply = await execution.CorrelateMessage(
            execution_pb2.CorrelateMessageRequest(name="paid", correlation_key="o-1"),
            metadata=(("authorization", f"Bearer {token_of(_operator(GLOBEX))}"),),
        )
        assert reply.instance_id == paid[GLOBEX]
        await api.ended(paid[GLOBEX])
