"""Wiring: builds the services every entry point (REST, gRPC, CLI, dev) shares."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from temporalio.client import Client

from workflow_engine.bus import EventBus, InProcessEventBus, RedisEventBus
from workflow_engine.config import Settings
from workflow_engine.observability.metrics import TEMPORAL_REACHABLE
from workflow_engine.services.audit import AuditService
from workflow_engine.services.definitions import DefinitionService
from workflow_engine.services.diagrams import DiagramService
from workflow_engine.services.health import HealthService
from workflow_engine.services.history import HistoryService
from workflow_engine.services.instances import InstanceService
from workflow_engine.services.live import LiveStatusService
from workflow_engine.services.masking import VariableMasker
from workflow_engine.services.payload_limits import PayloadLimits
from workflow_engine.services.rate_limit import RateLimiter, build_rate_limiter
from workflow_engine.services.reconciler import ReconcilerService
from workflow_engine.services.signals import MessageService, SignalService
from workflow_engine.services.stats import StatsService
from workflow_engine.services.tasks import TaskService
from workflow_engine.services.timer_starts import TimerStartSchedules
from workflow_engine.services.workflows import WorkflowGateway
from workflow_engine.store.cache import DefinitionCache
from workflow_engine.store.database import Database, create_engine
from workflow_engine.store.migrations import migrate
from workflow_engine.store.sealing import Sealing


@dataclass
class Services:
    """Everything a transport needs; close with `aclose()`.

    `temporal` is None when no Temporal client was given: definitions and reads work, while
    starting or steering instances answers 503.
    """

    settings: Settings
    database: Database
    definitions: DefinitionService
    health: HealthService
    instances: InstanceService
    tasks: TaskService
    signals: SignalService
    messages: MessageService
    workflows: WorkflowGateway
    history: HistoryService
    reconciler: ReconcilerService
    redis: Redis | None = None
    temporal: Client | None = None
    #: Live events (SSE): on Redis pub/sub when Redis is configured, else in this process.
    bus: EventBus = field(default_factory=InProcessEventBus)
    #: Per-client request budget of REST and gRPC; None when rate limiting is off.
    rate_limiter: RateLimiter | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def audit(self) -> AuditService:
        """The audit log (stateless: a new, cheap view over the database each time)."""
        return AuditService(database=self.database)

    @property
    def stats(self) -> StatsService:
        """Execution statistics (stateless: a new, cheap view over the database each time)."""
        return StatsService(database=self.database)

    @property
    def diagrams(self) -> DiagramService:
        """SVG diagrams of definitions and instances (stateless: a cheap view each time)."""
        return DiagramService(database=self.database, definitions=self.definitions)

    @property
    def live(self) -> LiveStatusService:
        """Live streams (SSE) over the event log and `bus` (stateless: a cheap view)."""
        return LiveStatusService(
            database=self.database,
            bus=self.bus,
            heartbeat_seconds=self.settings.stream_heartbeat_seconds,
            queue_size=self.settings.stream_queue_size,
            gap_grace_seconds=self.settings.stream_gap_grace_seconds,
            masker=VariableMasker(database=self.database, definitions=self.definitions),
        )

    def engine_activities(self) -> list[Callable[..., Any]]:
        """The engine's own activities (projection, definitions, signals) for a worker."""
        from workflow_engine.engine.activities import definitions, runtime, signals

        return [
            *runtime.build_activities(self.database, bus=self.bus),
            *definitions.build_activities(self.database),
            *signals.build_activities(self),
        ]

    async def aclose(self) -> None:
        """Release connections (idempotent); the Temporal client belongs to the caller."""
        if self._closed:
            return
        self._closed = True
        await self.bus.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


async def build_services(
    settings: Settings,
    *,
    run_migrations: bool = False,
    temporal_client: Client | None = None,
    implemented_listeners: Collection[str] = (),
    sensitive_needs_keys: bool = False,
) -> Services:
    """Connect to the configured database (and Redis) and assemble the services.

    Args:
        settings: The configuration.
        run_migrations: Upgrade the schema to the newest revision first (`wfe dev` does;
            production runs `wfe migrate` once instead).
        temporal_client: A connected Temporal client; without one, instances cannot be
            started or steered (503) but everything else works.
        implemented_listeners: Listener classes some worker implements (passed to instances).
        sensitive_needs_keys: Refuse to deploy definitions that declare sensitive variables
            while no encryption keys are configured (`wfe serve`; see docs/security.md).
    """
    url = settings.effective_database_url
    if run_migrations:
        await migrate(url)
    ring = settings.encryption_key_ring()
    # Sensitive variables are sealed in the tables whenever keys are configured.
    database = Database(create_engine(url), sealing=Sealing(ring))
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    cache = DefinitionCache(redis=redis, ttl_seconds=settings.definition_cache_ttl_seconds)
    health = HealthService()

    async def database_ready() -> None:
        if not await database.ping():
            raise ConnectionError("the database does not answer")

    health.register("database", database_ready)
    if redis is not None:
        redis_client = redis

        async def redis_ready() -> None:
            await redis_client.ping()

        health.register("redis", redis_ready)
    if temporal_client is not None:
        client = temporal_client

        async def temporal_ready() -> None:
            # The gauge feeds the "Temporal unreachable" alert: every probe of /readyz
            # updates it (a check cut off by its timeout is cancelled: it counts as down).
            try:
                if not await client.service_client.check_health():
                    raise ConnectionError("Temporal reports it is not serving")
            except BaseException:
                TEMPORAL_REACHABLE.set(0)
                raise
            TEMPORAL_REACHABLE.set(1)

        health.register("temporal", temporal_ready)
    definitions = DefinitionService(
        database=database,
        cache=cache,
        max_definition_bytes=settings.max_definition_bytes,
        max_definition_elements=settings.max_definition_elements,
        refuse_sensitive=sensitive_needs_keys and ring is None,
        # Timer start events fire through Temporal Schedules: only with a client.
        timer_starts=None
        if temporal_client is None
        else TimerStartSchedules(
            client=temporal_client,
            database=database,
            task_queue=settings.task_queue,
            implemented_listeners=implemented_listeners,
            max_steps_without_wait=settings.max_steps_without_wait,
            max_instance_variables_bytes=settings.max_instance_variables_bytes,
        ),
    )
    workflows = WorkflowGateway(temporal_client, task_queue=settings.task_queue)
    limits = PayloadLimits.from_settings(settings)
    reconciler = ReconcilerService(database=database, workflows=workflows)
    instances = InstanceService(
        database=database,
        definitions=definitions,
        workflows=workflows,
        implemented_listeners=implemented_listeners,
        payload_limits=limits,
        max_steps_without_wait=settings.max_steps_without_wait,
        max_instance_variables_bytes=settings.max_instance_variables_bytes,
        reconciler=reconciler,
        control_timeout=settings.control_timeout_seconds,
    )
    return Services(
        settings=settings,
        database=database,
        definitions=definitions,
        health=health,
        instances=instances,
        tasks=TaskService(
            database=database,
            definitions=definitions,
            workflows=workflows,
            payload_limits=limits,
            reconciler=reconciler,
        ),
        signals=SignalService(
            database=database,
            workflows=workflows,
            definitions=definitions,
            instances=instances,
            payload_limits=limits,
        ),
        messages=MessageService(
            database=database,
            workflows=workflows,
            definitions=definitions,
            instances=instances,
            payload_limits=limits,
        ),
        workflows=workflows,
        history=HistoryService(
            database=database,
            ttl_days=settings.history_ttl_days,
            cleanup_batch_size=settings.history_cleanup_batch_size,
            masker=VariableMasker(database=database, definitions=definitions),
        ),
        reconciler=reconciler,
        redis=redis,
        temporal=temporal_client,
        bus=InProcessEventBus() if redis is None else RedisEventBus(redis),
        rate_limiter=build_rate_limiter(settings, redis),
    )
