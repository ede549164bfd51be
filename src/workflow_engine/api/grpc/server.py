"""The grpc.aio server: workflow-engine services plus standard health and reflection.

`grpc.health.v1.Health` answers like `/readyz` (SERVING only while every readiness check of
`Services.health` passes); server reflection lets `grpcurl` / `grpcui` discover the API.
"""

from __future__ import annotations

from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
from grpc_reflection.v1alpha import reflection  # type: ignore[import-untyped]

from workflow_engine.api.grpc.audit import AuditServicer
from workflow_engine.api.grpc.auth import AuthInterceptor
from workflow_engine.api.grpc.definitions import DefinitionServicer
from workflow_engine.api.grpc.execution import ExecutionServicer
from workflow_engine.api.grpc.generated import (
    audit_pb2,
    audit_pb2_grpc,
    definitions_pb2,
    definitions_pb2_grpc,
    execution_pb2,
    execution_pb2_grpc,
    history_pb2,
    history_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    stats_pb2,
    stats_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)
from workflow_engine.api.grpc.history import HistoryServicer
from workflow_engine.api.grpc.identity import IdentityServicer
from workflow_engine.api.grpc.limits import RateLimitInterceptor
from workflow_engine.api.grpc.stats import StatsServicer
from workflow_engine.api.grpc.tasks import TaskServicer
from workflow_engine.security.tokens import TokenVerifier
from workflow_engine.services.container import Services
from workflow_engine.services.health import HealthService

_log = structlog.get_logger(__name__)

#: Room above the definition size limit for the rest of a request message (format, ids), so an
#: over-limit definition reaches the service and gets its RESOURCE_EXHAUSTED with the limit
#: named; far bigger messages are refused by grpc itself, also with RESOURCE_EXHAUSTED.
MESSAGE_HEADROOM_BYTES = 64 * 1024

#: Full names of the application services this server exposes (every one behind the auth and
#: rate-limit interceptors).
SERVICE_NAMES: tuple[str, ...] = (
    definitions_pb2.DESCRIPTOR.services_by_name["DefinitionService"].full_name,
    execution_pb2.DESCRIPTOR.services_by_name["ExecutionService"].full_name,
    tasks_pb2.DESCRIPTOR.services_by_name["TaskService"].full_name,
    history_pb2.DESCRIPTOR.services_by_name["HistoryService"].full_name,
    stats_pb2.DESCRIPTOR.services_by_name["StatsService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
)


class ReadinessHealthServicer(health.aio.HealthServicer):  # type: ignore[misc]
    """`grpc.health.v1.Health` whose `Check` runs the readiness checks first.

    The overall service ("") and every application service report SERVING while all checks
    pass and NOT_SERVING otherwise; `Watch` streams the status as `Check` calls update it.
    """

    def __init__(self, readiness: HealthService, service_names: tuple[str, ...]) -> None:
        super().__init__()
        self._health = readiness
        self._names = ("", *service_names)

    async def Check(  # noqa: N802 - gRPC method name
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        """Refresh the status from the readiness checks, then answer for `request.service`."""
        if request.service in self._names:
            results = await self._health.run()
            ready = all(r.ok for r in results)
            serving = health_pb2.HealthCheckResponse
            status = serving.SERVING if ready else serving.NOT_SERVING
            if not ready:
                failing = {r.name: r.detail for r in results if not r.ok}
                _log.warning("grpc_health_not_serving", failing=failing)
            for name in self._names:
                await self.set(name, status)
        return await super().Check(request, context)


def _address(host: str, port: int) -> str:
    # A bare IPv6 literal needs brackets before the port.
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


async def start_grpc_server(services: Services, *, host: str, port: int) -> grpc.aio.Server:
    """Build, bind and start the gRPC server (plaintext) over `services`.

    Args:
        services: The connected services; the caller owns their lifetime.
        host: Interface to listen on, e.g. `127.0.0.1` or `0.0.0.0`.
        port: TCP port (`Settings.grpc_port`, 9090 by default).

    Returns:
        The started server; stop it with `await server.stop(grace_seconds)`.

    Raises:
        OSError: when the address cannot be bound (e.g. the port is taken).

    """
    max_message = services.settings.max_definition_bytes + MESSAGE_HEADROOM_BYTES
    options = [
        ("grpc.max_receive_message_length", max_message),
        # Without SO_REUSEPORT a second server on a taken port fails loudly instead of silently
        # sharing the port (and its traffic) with whatever already listens there.
        ("grpc.so_reuseport", 0),
    ]
    settings = services.settings
    # Every application call runs as its token's principal (the system one while auth is off);
    # health and reflection stay public.
    verifier = TokenVerifier.from_settings(settings) if settings.auth_enabled else None
    interceptors: list[grpc.aio.ServerInterceptor] = [AuthInterceptor(verifier, SERVICE_NAMES)]
    if services.rate_limiter is not None:
        # After auth: its wrapper runs inside the caller's principal (the bucket's owner).
        interceptors.append(RateLimitInterceptor(services.rate_limiter, SERVICE_NAMES))
    server = grpc.aio.server(options=options, interceptors=interceptors)
    # Diagrams, stats and audit are stateless views over the database: one serves every call.
    diagrams = services.diagrams
    definitions_pb2_grpc.add_DefinitionServiceServicer_to_server(  # type: ignore[no-untyped-call]
        DefinitionServicer(services.definitions, diagrams=diagrams), server
    )
    execution_pb2_grpc.add_ExecutionServiceServicer_to_server(  # type: ignore[no-untyped-call]
        ExecutionServicer(
            instances=services.instances,
            signals=services.signals,
            messages=services.messages,
            diagrams=diagrams,
            reconciler=services.reconciler,
        ),
        server,
    )
    tasks_pb2_grpc.add_TaskServiceServicer_to_server(  # type: ignore[no-untyped-call]
        TaskServicer(services.tasks), server
    )
    history_pb2_grpc.add_HistoryServiceServicer_to_server(  # type: ignore[no-untyped-call]
        HistoryServicer(services.history), server
    )
    stats_pb2_grpc.add_StatsServiceServicer_to_server(  # type: ignore[no-untyped-call]
        StatsServicer(services.stats), server
    )
    audit_pb2_grpc.add_AuditServiceServicer_to_server(  # type: ignore[no-untyped-call]
        AuditServicer(services.audit), server
    )
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(  # type: ignore[no-untyped-call]
        IdentityServicer(auth_enabled=settings.auth_enabled), server
    )
    health_pb2_grpc.add_HealthServicer_to_server(
        ReadinessHealthServicer(services.health, SERVICE_NAMES), server
    )
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    address = _address(host, port)
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise OSError(f"gRPC server cannot listen on {address}: {exc}") from exc
    if bound == 0:
        raise OSError(f"gRPC server cannot listen on {address}: the address is not available")
    await server.start()
    _log.info("grpc_server_started", address=_address(host, bound))
    return server
