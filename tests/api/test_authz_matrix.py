"""The authorization matrix: role × tenant × every REST route and every gRPC method.

Table-driven over the app's real routes and the gRPC services' real methods: a route or method
without a row fails `test_every_*_has_a_matrix_row`, so a new endpoint cannot ship unjudged.
Each cell calls the endpoint with a real token over a real socket (uvicorn; SSE streams
included) or a real gRPC channel, against services whose instances run on Temporal, and checks
the status against `expected` and the body against every globex marker (non-admin callers).
All failing cells are collected and reported together.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI
from google.protobuf import descriptor_pool, struct_pb2
from starlette.routing import BaseRoute, Mount, Route

from tests.api.authz_matrix_support import (
    ACME,
    GLOBEX,
    ROLES,
    SECRET,
    Kind,
    RoleName,
    Rule,
    Target,
    TenantSide,
    World,
    build_world,
    caller,
    expected,
    token_of,
)
from tests.api.live_engine import running_engine
from tests.api.rest.sse import serving
from tests.paths import SEED
from tests.temporal_fixtures import free_port
from workflow_engine.api.grpc.generated import definitions_pb2
from workflow_engine.api.grpc.server import SERVICE_NAMES, start_grpc_server
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.security import Permission, Principal, acting_as
from workflow_engine.services.container import Services, build_services

P = Permission
#: The matrix runs on SQLite: the tenant filters are the same SQLAlchemy queries on both
#: databases, and the services' own authz tests cover PostgreSQL.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

_OBJ: Kind = "object"
_READ_INSTANCE = (P.INSTANCE_READ, P.INSTANCE_READ_OWN)
_READ_TASK = (P.TASK_READ, P.TASK_WORK)
_WORK_TASK = (P.TASK_WORK, P.TASK_MANAGE)
_STATE = frozenset({200, 202, 409})

#: Paths served without a token (health, portal, docs): not part of the matrix.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/"),
    ("GET", "/api/v1/portal/config"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}
#: The Temporal payload codec: admins only (no permission of the matrix grants it), covered
#: by tests/crypto/test_secrets_end_to_end.py::test_codec_endpoint_decodes_for_admins_only.
ADMIN_ONLY = {("POST", "/codec/decode"), ("POST", "/codec/encode")}

REST_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/me"): Rule((), "identity"),
    # definitions
    ("POST", "/api/v1/definitions"): Rule((P.DEFINITION_DEPLOY,), "create", frozenset({200, 201})),
    # Validation stores nothing and tells nothing about stored data: definition:read suffices.
    ("POST", "/api/v1/definitions/validate"): Rule(
        (P.DEFINITION_READ,), "create", tenant_param=False
    ),
    ("GET", "/api/v1/definitions"): Rule((P.DEFINITION_READ,), "list", tenant_param=False),
    ("GET", "/api/v1/definitions/key/{key}"): Rule((P.DEFINITION_READ,), "list"),
    ("GET", "/api/v1/definitions/{definition_id}"): Rule((P.DEFINITION_READ,), _OBJ),
    ("PUT", "/api/v1/definitions/{definition_id}"): Rule(
        (P.DEFINITION_DEPLOY,), _OBJ, frozenset({200, 201}), mutates=True
    ),
    ("DELETE", "/api/v1/definitions/{definition_id}"): Rule(
        (P.DEFINITION_DELETE,), _OBJ, frozenset({200, 204, 409}), mutates=True
    ),
    ("POST", "/api/v1/definitions/{definition_id}/suspend"): Rule(
        (P.DEFINITION_SUSPEND,), _OBJ, frozenset({200, 409}), mutates=True
    ),
    ("POST", "/api/v1/definitions/{definition_id}/activate"): Rule(
        (P.DEFINITION_SUSPEND,), _OBJ, frozenset({200, 409}), mutates=True
    ),
    ("GET", "/api/v1/definitions/{definition_id}/resource"): Rule((P.DEFINITION_READ,), _OBJ),
    ("GET", "/api/v1/definitions/{definition_id}/diagram"): Rule((P.DEFINITION_READ,), _OBJ),
    # instances
    ("POST", "/api/v1/instances"): Rule(
        (P.INSTANCE_START,), "create", frozenset({200, 201}), mutates=True
    ),
    ("GET", "/api/v1/instances"): Rule(_READ_INSTANCE, "list"),
    ("GET", "/api/v1/instances/{instance_id}"): Rule(_READ_INSTANCE, _OBJ),
    ("GET", "/api/v1/instances/{instance_id}/diagram"): Rule(_READ_INSTANCE, _OBJ),
    ("POST", "/api/v1/instances/{instance_id}/pause"): Rule(
        (P.INSTANCE_CONTROL,), _OBJ, _STATE, mutates=True
    ),
    ("POST", "/api/v1/instances/{instance_id}/resume"): Rule(
        (P.INSTANCE_CONTROL,), _OBJ, _STATE, mutates=True
    ),
    ("POST", "/api/v1/instances/{instance_id}/terminate"): Rule(
        (P.INSTANCE_CONTROL,), _OBJ, _STATE, mutates=True
    ),
    ("POST", "/api/v1/instances/{instance_id}/cancel"): Rule(
        (P.INSTANCE_CONTROL,), _OBJ, _STATE, mutates=True
    ),
    ("POST", "/api/v1/instances/{instance_id}/retry"): Rule(
        (P.INSTANCE_CONTROL,), _OBJ, _STATE, mutates=True
    ),
    ("GET", "/api/v1/instances/{instance_id}/variables"): Rule(_READ_INSTANCE, _OBJ),
    ("PUT", "/api/v1/instances/{instance_id}/variables"): Rule(
        (P.INSTANCE_VARIABLES,), _OBJ, mutates=True
    ),
    # history
    ("GET", "/api/v1/instances/{instance_id}/history"): Rule(_READ_INSTANCE, _OBJ),
    ("GET", "/api/v1/instances/{instance_id}/steps"): Rule(_READ_INSTANCE, _OBJ),
    ("GET", "/api/v1/instances/{instance_id}/steps/{step_id}"): Rule(_READ_INSTANCE, _OBJ),
    ("GET", "/api/v1/history/instances"): Rule(_READ_INSTANCE, "list"),
    ("GET", "/api/v1/history/instances/{instance_id}"): Rule(_READ_INSTANCE, _OBJ),
    # tasks
    ("GET", "/api/v1/tasks"): Rule(_READ_TASK, "list"),
    ("GET", "/api/v1/tasks/{task_id}"): Rule(_READ_TASK, _OBJ),
    # Whoever sees the task reads its instance's variables (alice is the seed task's assignee).
    ("GET", "/api/v1/tasks/{task_id}/variables"): Rule(_READ_TASK, _OBJ),
    # The seed's task is assigned to its starter and has no candidates: a `user` (alice, the
    # assignee) is no candidate, so claiming is 403; operators / admins hold task:manage.
    ("POST", "/api/v1/tasks/{task_id}/claim"): Rule(
        _WORK_TASK, _OBJ, _STATE, mutates=True, overrides={("user", "own"): frozenset({403})}
    ),
    ("POST", "/api/v1/tasks/{task_id}/unclaim"): Rule(_WORK_TASK, _OBJ, _STATE, mutates=True),
    ("POST", "/api/v1/tasks/{task_id}/assign"): Rule((P.TASK_MANAGE,), _OBJ, _STATE, mutates=True),
    ("POST", "/api/v1/tasks/{task_id}/delegate"): Rule(_WORK_TASK, _OBJ, _STATE, mutates=True),
    ("POST", "/api/v1/tasks/{task_id}/resolve"): Rule(_WORK_TASK, _OBJ, _STATE, mutates=True),
    ("POST", "/api/v1/tasks/{task_id}/complete"): Rule(_WORK_TASK, _OBJ, _STATE, mutates=True),
    # signals, messages
    ("POST", "/api/v1/signals"): Rule((P.SIGNAL_SEND,), "create"),
    ("POST", "/api/v1/messages"): Rule(
        (P.MESSAGE_SEND,), "create", frozenset({200, 201, 404, 409})
    ),
    # live streams (SSE), stats, audit
    ("GET", "/api/v1/instances/{instance_id}/stream"): Rule(_READ_INSTANCE, _OBJ),
    ("GET", "/api/v1/stream"): Rule(_READ_INSTANCE, "list"),
    ("GET", "/api/v1/stats"): Rule((P.STATS_READ,), "list"),
    ("GET", "/api/v1/audit"): Rule((P.AUDIT_READ,), "list"),
    # admin: every tenant's open instances at once, so admins only and no tenant to name
    ("POST", "/api/v1/admin/reconcile"): Rule((P.INSTANCE_RECONCILE,), "list", tenant_param=False),
    # Every tenant's definition keys: admins (and the monitor role) only (issue 15).
    ("GET", "/metrics"): Rule((P.METRICS_READ,), "list", tenant_param=False),
}

_TASK_BODIES: dict[str, dict[str, Any]] = {
    "claim": {},
    "unclaim": {},
    "assign": {"user_id": "bob"},
    "delegate": {"user_id": "bob"},
    "resolve": {},
    "complete": {"variables": {"userValid": True}},
}


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    url: str
    params: dict[str, Any]
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] | None = None


def build_call(
    route: tuple[str, str], side: TenantSide, target: Target, principal: Principal
) -> Call:
    """The concrete request of a route for a cell."""
    method, path = route
    other = side == "other"
    tenant_query = {"tenant_id": GLOBEX} if other else {}
    url = (
        path.replace("{definition_id}", str(target.definition_id))
        .replace("{key}", target.definition_key)
        .replace(
            "{instance_id}",
            target.ended_instance_id
            if path.startswith("/api/v1/history/instances/")
            else target.instance_id,
        )
        .replace("{task_id}", str(target.task_id))
        .replace("{step_id}", str(target.step_id))
    )
    seed = SEED.read_bytes()
    json_headers = {"content-type": "application/json"}
    if path == "/api/v1/definitions" and method == "POST":
        document = seed.replace(
            b'"tenant_id": "default"', f'"tenant_id": "{target.tenant}"'.encode()
        )
        return Call(method, url, {}, content=document, headers=json_headers)
    if path == "/api/v1/definitions/validate":
        return Call(method, url, {}, content=seed, headers=json_headers)
    if method == "PUT" and "{definition_id}" in path:
        document = seed.replace(b'"userRegistration"', f'"{target.definition_key}"'.encode())
        document = document.replace(
            b'"tenant_id": "default"', f'"tenant_id": "{target.tenant}"'.encode()
        )
        return Call(method, url, {}, content=document, headers=json_headers)
    if path == "/api/v1/definitions/key/{key}":
        return Call(method, url, tenant_query)
    if path == "/api/v1/instances" and method == "POST":
        from tests.services.support import SEED_VARIABLES

        start: dict[str, Any] = {
            "definition_key": target.definition_key,
            "variables": SEED_VARIABLES,
        }
        if other or principal.is_admin:
            start["tenant_id"] = target.tenant
        return Call(method, url, {}, json=start)
    if path.endswith("/variables") and method == "PUT":
        return Call(method, url, {}, json={"variables": {"note": "changed"}})
    if "/tasks/{task_id}/" in path and method == "POST":
        action = path.rsplit("/", 1)[1]
        body: dict[str, Any] = dict(_TASK_BODIES[action])
        if action == "claim":
            body["user_id"] = principal.user_id  # the actor: must be the caller
        return Call(method, url, {}, json=body)
    if path in ("/api/v1/signals", "/api/v1/messages"):
        event: dict[str, Any] = {
            "name": "email_verified" if "signals" in path else "no-such-message"
        }
        if other:
            event["tenant_id"] = GLOBEX
        if "messages" in path:
            event["business_key"] = "nobody-waits"
        return Call(method, url, {}, json=event)
    if method == "POST" and path.startswith("/api/v1/instances/{instance_id}/"):
        return Call(method, url, {}, json={})
    if method == "GET" and REST_RULES[route].kind == "list":
        return Call(method, url, tenant_query if REST_RULES[route].tenant_param else {})
    return Call(method, url, {})


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, through included routers."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[BaseRoute]) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes)
            elif isinstance(route, Route) and route.methods:
                for method in route.methods - {"HEAD"}:
                    found.add((method, route.path))
            elif isinstance(route, Mount) and route.path == "/static":
                continue
            elif hasattr(route, "methods") and hasattr(route, "path"):
                for method in set(route.methods or ()) - {"HEAD"}:
                    found.add((method, route.path))

    walk(app.routes)
    return found


@pytest.fixture
async def plain_services(db_url: str, tmp_path: Any) -> AsyncIterator[Services]:
    built = await build_services(
        load_settings(
            database_url=db_url, data_dir=tmp_path, auth_enabled=True, auth_jwt_secret=SECRET
        )
    )
    try:
        yield built
    finally:
        await built.aclose()


@SQLITE_ONLY
async def test_every_rest_route_has_a_matrix_row(plain_services: Services) -> None:
    served = app_routes(create_app(plain_services))
    missing = sorted(served - PUBLIC - ADMIN_ONLY - set(REST_RULES))
    assert not missing, f"routes without an authorization matrix row: {missing}"
    stale = sorted(set(REST_RULES) - served)
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


@contextlib.asynccontextmanager
async def auth_engine(db_url: str, tmp_path: Any, temporal_client: Any) -> AsyncIterator[Services]:
    async with running_engine(db_url, tmp_path, temporal_client) as services:
        # Same services, with authentication on for the transports built over them.
        services.settings = services.settings.model_copy(
            update={
                "auth_enabled": True,
                "auth_jwt_secret": load_settings(auth_jwt_secret=SECRET).auth_jwt_secret,
            }
        )
        yield services


def leaks(text: str, world: World) -> list[str]:
    return sorted(m for m in world.markers() if m in text)


async def _send(client: httpx.AsyncClient, call: Call, token: str) -> tuple[int, str]:
    headers = {"authorization": f"Bearer {token}", **(call.headers or {})}
    if call.url.endswith("/stream"):
        return await _stream(client, call, headers)
    response = await client.request(
        call.method,
        call.url,
        params=call.params,
        json=call.json,
        content=call.content,
        headers=headers,
    )
    return response.status_code, response.text


async def _stream(
    client: httpx.AsyncClient, call: Call, headers: dict[str, str]
) -> tuple[int, str]:
    """Open an SSE stream; read what arrives in a short window (the snapshot and live events)."""
    chunks: list[str] = []
    async with client.stream("GET", call.url, params=call.params, headers=headers) as response:
        if response.status_code != 200:
            await response.aread()
            return response.status_code, response.text
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.5):
                async for chunk in response.aiter_text():
                    chunks.append(chunk)
        return response.status_code, "".join(chunks)


@SQLITE_ONLY
async def test_rest_authorization_matrix(db_url: str, tmp_path: Any, temporal_client: Any) -> None:
    failures: list[str] = []
    async with auth_engine(db_url, tmp_path, temporal_client) as services:
        world = await build_world(services)
        app = create_app(services)
        async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            admin = {"authorization": f"Bearer {token_of(caller('admin'))}"}
            for tenant in (ACME, GLOBEX):
                target = world.targets[tenant]
                steps = await client.get(
                    f"/api/v1/instances/{target.instance_id}/steps", headers=admin
                )
                assert steps.status_code == 200, steps.text
                target.step_id = steps.json()["steps"][0]["step_id"]
            for route, rule in REST_RULES.items():
                for role in ROLES:
                    for side in ("own", "other"):
                        failure = await _cell(client, world, route, rule, role, side)
                        if failure:
                            failures.append(failure)
    assert not failures, f"{len(failures)} failing cells:\n" + "\n".join(failures)


async def _cell(
    client: httpx.AsyncClient,
    world: World,
    route: tuple[str, str],
    rule: Rule,
    role: RoleName,
    side: TenantSide,
) -> str | None:
    tenant = GLOBEX if side == "other" else ACME
    if rule.mutates:
        target = await world.fresh(tenant, with_task="{task_id}" in route[1])
    else:
        target = world.targets[tenant]
    principal = caller(role)
    call = build_call(route, side, target, principal)
    status, text = await _send(client, call, token_of(principal))
    allowed = expected(rule, role, side)
    where = f"{route[0]} {route[1]} role={role} tenant={side}"
    if status not in allowed:
        return f"{where}: status {status}, expected {sorted(allowed)}: {text[:200]}"
    # An id the caller sent may come back in a 404 message: that tells them nothing new.
    sent = f"{call.url} {call.params} {call.json}"
    if not principal.is_admin and (found := [m for m in leaks(text, world) if m not in sent]):
        return f"{where}: answer leaks other-tenant data {found}: {text[:200]}"
    return None


#: Every gRPC method judged like its REST twin (same service call, same rule).
GRPC_TWINS: dict[str, tuple[str, str]] = {
    "DefinitionService/DeployDefinition": ("POST", "/api/v1/definitions"),
    "DefinitionService/ValidateDefinition": ("POST", "/api/v1/definitions/validate"),
    "DefinitionService/GetDefinition": ("GET", "/api/v1/definitions/{definition_id}"),
    "DefinitionService/ListDefinitions": ("GET", "/api/v1/definitions"),
    "DefinitionService/UpdateDefinition": ("PUT", "/api/v1/definitions/{definition_id}"),
    "DefinitionService/DeleteDefinition": ("DELETE", "/api/v1/definitions/{definition_id}"),
    "DefinitionService/SuspendDefinition": (
        "POST",
        "/api/v1/definitions/{definition_id}/suspend",
    ),
    "DefinitionService/ActivateDefinition": (
        "POST",
        "/api/v1/definitions/{definition_id}/activate",
    ),
    "DefinitionService/GetDefinitionResource": (
        "GET",
        "/api/v1/definitions/{definition_id}/resource",
    ),
    "ExecutionService/StartExecution": ("POST", "/api/v1/instances"),
    "ExecutionService/GetExecution": ("GET", "/api/v1/instances/{instance_id}"),
    "ExecutionService/ListExecutions": ("GET", "/api/v1/instances"),
    "ExecutionService/PauseExecution": ("POST", "/api/v1/instances/{instance_id}/pause"),
    "ExecutionService/ResumeExecution": ("POST", "/api/v1/instances/{instance_id}/resume"),
    "ExecutionService/TerminateExecution": ("POST", "/api/v1/instances/{instance_id}/terminate"),
    "ExecutionService/CancelExecution": ("POST", "/api/v1/instances/{instance_id}/cancel"),
    "ExecutionService/ReconcileExecutions": ("POST", "/api/v1/admin/reconcile"),
    "ExecutionService/RetryExecution": ("POST", "/api/v1/instances/{instance_id}/retry"),
    "ExecutionService/GetVariables": ("GET", "/api/v1/instances/{instance_id}/variables"),
    "ExecutionService/SetVariables": ("PUT", "/api/v1/instances/{instance_id}/variables"),
    "ExecutionService/SendSignal": ("POST", "/api/v1/signals"),
    "ExecutionService/CorrelateMessage": ("POST", "/api/v1/messages"),
    "TaskService/ListTasks": ("GET", "/api/v1/tasks"),
    "TaskService/GetTask": ("GET", "/api/v1/tasks/{task_id}"),
    "TaskService/ClaimTask": ("POST", "/api/v1/tasks/{task_id}/claim"),
    "TaskService/UnclaimTask": ("POST", "/api/v1/tasks/{task_id}/unclaim"),
    "TaskService/AssignTask": ("POST", "/api/v1/tasks/{task_id}/assign"),
    "TaskService/DelegateTask": ("POST", "/api/v1/tasks/{task_id}/delegate"),
    "TaskService/ResolveTask": ("POST", "/api/v1/tasks/{task_id}/resolve"),
    "TaskService/CompleteTask": ("POST", "/api/v1/tasks/{task_id}/complete"),
    "TaskService/GetTaskVariables": ("GET", "/api/v1/tasks/{task_id}/variables"),
    "HistoryService/GetExecutionHistory": ("GET", "/api/v1/instances/{instance_id}/history"),
    "HistoryService/ListSteps": ("GET", "/api/v1/instances/{instance_id}/steps"),
    "HistoryService/GetStepDetail": ("GET", "/api/v1/instances/{instance_id}/steps/{step_id}"),
    "HistoryService/ListHistoricInstances": ("GET", "/api/v1/history/instances"),
    "HistoryService/GetHistoricInstance": ("GET", "/api/v1/history/instances/{instance_id}"),
    "DefinitionService/GetDefinitionDiagram": (
        "GET",
        "/api/v1/definitions/{definition_id}/diagram",
    ),
    "ExecutionService/GetInstanceDiagram": ("GET", "/api/v1/instances/{instance_id}/diagram"),
    "StatsService/GetStats": ("GET", "/api/v1/stats"),
    "AuditService/ListAuditEntries": ("GET", "/api/v1/audit"),
    "IdentityService/WhoAmI": ("GET", "/api/v1/me"),
}

_GRPC_STATUS = {
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
}


def _grpc_methods() -> dict[str, Any]:
    """`Service/Method` -> descriptor of every method of the served application services."""
    methods: dict[str, Any] = {}
    # Straight from SERVICE_NAMES (server.py imports every stub module, registering it in the
    # default pool): a newly served service cannot escape the matrix.
    pool = descriptor_pool.Default()
    for name in SERVICE_NAMES:
        service = pool.FindServiceByName(name)
        for method in service.methods:
            methods[f"{service.name}/{method.name}"] = method
    return methods


def test_every_grpc_method_has_a_matrix_row() -> None:
    served = set(_grpc_methods())
    assert not sorted(served - set(GRPC_TWINS)), "gRPC methods without a matrix row"
    assert not sorted(set(GRPC_TWINS) - served), "matrix rows for gRPC methods that are gone"
    assert set(GRPC_TWINS.values()) <= set(REST_RULES)


def _grpc_request(
    name: str, descriptor: Any, side: TenantSide, target: Target, principal: Principal
) -> Any:
    cls = _message_class(descriptor.input_type)
    fields = cls.DESCRIPTOR.fields_by_name
    route = GRPC_TWINS[name]
    kw: dict[str, Any] = {}
    seed = SEED.read_bytes()
    own_tenant_doc = seed.replace(
        b'"tenant_id": "default"', f'"tenant_id": "{target.tenant}"'.encode()
    )
    if "content" in fields:
        kw["format"] = definitions_pb2.FORMAT_JSON
        kw["content"] = own_tenant_doc if not name.endswith("Validate") else seed
        if name.endswith("UpdateDefinition"):
            kw["content"] = own_tenant_doc.replace(
                b'"userRegistration"', f'"{target.definition_key}"'.encode()
            )
    if "id" in fields:
        kw["id"] = target.definition_id
    if "instance_id" in fields and "{instance_id}" in route[1]:
        history = route[1].startswith("/api/v1/history/instances/")
        kw["instance_id"] = target.ended_instance_id if history else target.instance_id
    if "task_id" in fields:
        kw["task_id"] = str(target.task_id)
    if "step_id" in fields:
        kw["step_id"] = int(target.step_id or 0)
    if name.endswith(("ClaimTask",)):
        kw["user_id"] = principal.user_id
    if name.endswith(("AssignTask", "DelegateTask")):
        kw["user_id"] = "bob"
    if name.endswith("CompleteTask"):
        kw["variables"] = struct_pb2.Struct(fields={"userValid": struct_pb2.Value(bool_value=True)})
    if name.endswith("SetVariables"):
        kw["variables"] = struct_pb2.Struct(fields={"note": struct_pb2.Value(string_value="x")})
    if name.endswith("StartExecution"):
        from tests.services.support import SEED_VARIABLES

        kw["definition_key"] = target.definition_key
        variables = struct_pb2.Struct()
        variables.update(SEED_VARIABLES)
        kw["variables"] = variables
        if side == "other" or principal.is_admin:
            kw["tenant_id"] = target.tenant
    if name.endswith("SendSignal"):
        kw["name"] = "email_verified"
    if name.endswith("CorrelateMessage"):
        kw.update(name="no-such-message", business_key="nobody-waits")
    rule = REST_RULES[route]
    if (
        side == "other"
        and "tenant_id" in fields
        and rule.kind in ("list", "create")
        and rule.tenant_param
    ):
        kw["tenant_id"] = GLOBEX
    return cls(**kw)


def _message_class(descriptor: Any) -> Any:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


@SQLITE_ONLY
async def test_grpc_authorization_matrix(db_url: str, tmp_path: Any, temporal_client: Any) -> None:
    failures: list[str] = []
    methods = _grpc_methods()
    async with auth_engine(db_url, tmp_path, temporal_client) as services:
        world = await build_world(services)
        for tenant in (ACME, GLOBEX):
            with acting_as(Principal.system()):
                steps = await services.history.steps(world.targets[tenant].instance_id)
            world.targets[tenant].step_id = steps[0].step_id
        port = free_port()
        server = await start_grpc_server(services, host="127.0.0.1", port=port)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                for name, descriptor in methods.items():
                    rule = REST_RULES[GRPC_TWINS[name]]
                    for role in ROLES:
                        for side in ("own", "other"):
                            failure = await _grpc_cell(
                                channel, world, name, descriptor, rule, role, side
                            )
                            if failure:
                                failures.append(failure)
        finally:
            await server.stop(None)
    assert not failures, f"{len(failures)} failing cells:\n" + "\n".join(failures)


async def _grpc_cell(
    channel: grpc.aio.Channel,
    world: World,
    name: str,
    descriptor: Any,
    rule: Rule,
    role: RoleName,
    side: TenantSide,
) -> str | None:
    tenant = GLOBEX if side == "other" else ACME
    route = GRPC_TWINS[name]
    if rule.mutates:
        target = await world.fresh(tenant, with_task="{task_id}" in route[1])
    else:
        target = world.targets[tenant]
    principal = caller(role)
    request = _grpc_request(name, descriptor, side, target, principal)
    call = channel.unary_unary(
        f"/{descriptor.containing_service.full_name}/{descriptor.name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=_message_class(descriptor.output_type).FromString,
    )
    metadata = (("authorization", f"Bearer {token_of(principal)}"),)
    try:
        response = await call(request, metadata=metadata)
        status, text = 200, str(response)
    except grpc.aio.AioRpcError as exc:
        status, text = _GRPC_STATUS.get(exc.code(), 500), f"{exc.code()} {exc.details()}"
    allowed = expected(rule, role, side)
    if 200 in allowed:
        allowed = allowed | {201, 202, 204}
    # gRPC has no 201: an allowed create answers OK.
    where = f"gRPC {name} role={role} tenant={side}"
    if status not in allowed and not (status == 200 and allowed & {201, 202, 204}):
        return f"{where}: status {status}, expected {sorted(allowed)}: {text[:200]}"
    sent = str(request)
    if not principal.is_admin and (found := [m for m in leaks(text, world) if m not in sent]):
        return f"{where}: answer leaks other-tenant data {found}: {text[:200]}"
    return None
