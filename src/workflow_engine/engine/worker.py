"""The Temporal worker: runs `ProcessInstanceWorkflow` and the activities it calls by name.

`build_worker` assembles a `temporalio.worker.Worker` (sandbox passthrough for the pure
packages the interpreter uses); `run_worker` is the whole `wfe worker` process: connect,
build the services the engine's activities need, collect built-in / engine / user activities,
run until `stop` is set, then shut down gracefully (running activities get
`worker_graceful_shutdown_seconds` to finish, are then cancelled, and whatever still runs a
few seconds later is abandoned so that the process can exit: see `_shutdown_bounded`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import start_http_server as start_metrics_server
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from workflow_engine.config import Settings
from workflow_engine.crypto.codec import client_encryption_options
from workflow_engine.engine.activities.builtin import builtin_activities
from workflow_engine.engine.activities.egress import EgressPolicy, instance_tenant_lookup
from workflow_engine.engine.activities.http import HttpActivities
from workflow_engine.engine.activities.registry import (
    RESERVED_PREFIX,
    ActivityContext,
    ActivityRegistry,
    activity_name,
    build_engine_activities,
    declared_activity_names,
)
from workflow_engine.engine.contract import ACTIVITY_APPLY_RUNTIME_BATCH
from workflow_engine.engine.piggyback import PiggybackInterceptor
from workflow_engine.engine.sandbox import FastSandboxedWorkflowRunner, contexts_unused
from workflow_engine.observability.metrics import WORKER_POLLERS
from workflow_engine.observability.tracing import configure_tracing, temporal_interceptors
from workflow_engine.store.sealing import refuse_sensitive_without_keys

__all__ = [
    "PASSTHROUGH_MODULES",
    "WorkerSetupError",
    "build_activity_registry",
    "build_worker",
    "engine_workflows",
    "implemented_listener_names",
    "run_worker",
    "sandbox_runner",
]

_log = structlog.get_logger(__name__)

#: After the grace period the SDK cancels running activities; an activity that ignores the
#: cancellation (a blocking body, a busy loop) would hold `Worker.shutdown()` for ever, so
#: shutdown waits this much longer and then abandons it.
SHUTDOWN_CANCEL_SECONDS = 2.0

#: Modules the workflow sandbox takes from the host instead of re-importing them per run:
#: pure, deterministic code (model, expressions, interpreter helpers, contract dataclasses) and
#: the libraries under cel-python. Re-importing cel-python's grammar per workflow run would
#: cost seconds; passing it through is safe because none of it performs I/O or keeps state
#: that workflow code could observe. The workflow module itself too: re-executing it (and
#: `workflow.defn`'s validation of its signals, updates and type hints) for every new run cost
#: about 5 % of the worker's CPU, and it is a thin shell over the interpreter passed already.
PASSTHROUGH_MODULES = (
    "workflow_engine.model",
    "workflow_engine.expressions",
    "workflow_engine.engine.contract",
    "workflow_engine.engine.piggyback",
    "workflow_engine.engine.interpreter",
    "workflow_engine.engine.workflow",
    "celpy",
    "lark",
    "re2",
    "dateutil",
    "pendulum",
)


class WorkerSetupError(RuntimeError):
    """The worker cannot be assembled (message says what is missing)."""


def sandbox_runner(
    extra_passthrough: Sequence[str] = (), *, data_converter: DataConverter | None = None
) -> FastSandboxedWorkflowRunner:
    """The default sandbox with :data:`PASSTHROUGH_MODULES` (and `extra_passthrough`).

    Args:
        extra_passthrough: More modules to pass through.
        data_converter: The worker's converter; when it has no codec and no external storage,
            the runner skips computing per-command serialization contexts (see
            `engine.sandbox`). None: contexts are computed as usual.
    """
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        *PASSTHROUGH_MODULES, *extra_passthrough
    )
    return FastSandboxedWorkflowRunner(
        restrictions=restrictions,
        contexts_unused=data_converter is not None and contexts_unused(data_converter),
    )


def engine_workflows() -> list[type]:
    """The engine's workflow classes (imported on demand: the worker module stays light).

    Raises:
        WorkerSetupError: the interpreter workflow cannot be imported.
    """
    try:
        from workflow_engine.engine.workflow import ProcessInstanceWorkflow
    except ImportError as exc:
        raise WorkerSetupError(f"the interpreter workflow cannot be imported: {exc}") from exc
    return [ProcessInstanceWorkflow]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    activities: Sequence[Callable[..., Any]],
    workflows: Sequence[type] | None = None,
    max_concurrent_activities: int = 100,
    max_concurrent_workflow_tasks: int = 100,
    graceful_shutdown_timeout: timedelta = timedelta(seconds=10),
    activity_executor: Executor | None = None,
    extra_passthrough: Sequence[str] = (),
    identity: str | None = None,
) -> Worker:
    """Assemble a worker for the engine's task queue.

    Args:
        client: A connected Temporal client.
        task_queue: The queue to poll (`Settings.task_queue`, or a service task's own queue).
        activities: Activity callables (see `ActivityRegistry.activities()`).
        workflows: Workflow classes; None means the engine's (`ProcessInstanceWorkflow`).
        max_concurrent_activities: Activities run at the same time.
        max_concurrent_workflow_tasks: Workflow tasks processed at the same time.
        graceful_shutdown_timeout: How long running activities may finish on shutdown.
        activity_executor: Runs non-async activities; required when there are any.
        extra_passthrough: More modules the sandbox passes through (e.g. a test's own).
        identity: Worker identity shown in Temporal (default: Temporal's `pid@host`).

    When `activities` include `wfe.apply_runtime_batch`, the worker gets the
    `PiggybackInterceptor`: the interpreter's pending batches ride on the activities of this
    queue and are applied by that same function before each activity runs.

    Raises:
        WorkerSetupError: nothing to run, or synchronous activities without an executor.
    """
    chosen = list(engine_workflows() if workflows is None else workflows)
    if not chosen and not activities:
        raise WorkerSetupError(f"task queue {task_queue!r}: no workflows and no activities")
    sync = [fn for fn in activities if not inspect.iscoroutinefunction(fn)]
    if sync and activity_executor is None:
        names = ", ".join(getattr(fn, "__qualname__", repr(fn)) for fn in sync)
        raise WorkerSetupError(
            f"synchronous activities ({names}) need an activity_executor (a thread pool)"
        )
    options: dict[str, Any] = {}
    if identity is not None:
        options["identity"] = identity
    # The worker that writes batches also lets them ride on the step activities it runs.
    applier = next(
        (fn for fn in activities if activity_name(fn) == ACTIVITY_APPLY_RUNTIME_BATCH), None
    )
    if applier is not None and inspect.iscoroutinefunction(applier):
        options["interceptors"] = [PiggybackInterceptor(applier)]
    return Worker(
        client,
        task_queue=task_queue,
        workflows=chosen,
        activities=list(activities),
        activity_executor=activity_executor,
        workflow_runner=sandbox_runner(extra_passthrough, data_converter=client.data_converter),
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=graceful_shutdown_timeout,
        **options,
    )


def build_activity_registry(
    *,
    http: HttpActivities,
    context: ActivityContext,
    activity_modules: Sequence[str] = (),
    engine: Sequence[Callable[..., Any]] | None = None,
) -> ActivityRegistry:
    """Built-ins + the engine's activities + the user modules' activities, checked for clashes.

    Args:
        http: The HTTP connector's holder (shared client).
        context: What hooks and activity classes may ask for (settings, database, …).
        activity_modules: User modules (dotted names or `.py` paths).
        engine: The engine's own activities; None builds them from the engine modules.

    Raises:
        ActivityLoadError: a module cannot be loaded or names clash.
    """
    registry = ActivityRegistry()
    registry.extend(builtin_activities(http=http), origin="builtin", reserved_ok=True)
    if engine is None:
        built = build_engine_activities(context)
        if built.missing_names:
            _log.warning(
                "engine_activities_missing",
                names=sorted(built.missing_names),
                modules=built.missing_modules,
            )
        engine = built.activities
    registry.extend(engine, origin="engine", reserved_ok=True)
    registry.load_modules(list(activity_modules), context=context)
    return registry


def implemented_listener_names(
    settings: Settings, *, activity_modules: Sequence[str] | None = None
) -> list[str]:
    """Listener classes implemented somewhere: user activities plus `listener_classes`.

    For `StartInstanceInput.implemented_listeners`; found without running anything.

    Raises:
        ActivityLoadError: an activity module cannot be imported.
    """
    modules = settings.activity_modules if activity_modules is None else activity_modules
    names = {n for n in declared_activity_names(list(modules)) if not n.startswith(RESERVED_PREFIX)}
    return sorted(names | set(settings.listener_classes))


def _engine_activities(services: Any) -> list[Callable[..., Any]] | None:
    # The service container knows how to build the engine's activities when it offers
    # `engine_activities()`; otherwise the engine modules are collected by convention.
    provider = getattr(services, "engine_activities", None)
    return list(provider()) if callable(provider) else None


async def run_worker(
    settings: Settings,
    *,
    stop: asyncio.Event,
    client: Client | None = None,
    services: Any = None,
    activity_modules: Sequence[str] | None = None,
    workflows: Sequence[type] | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Run a worker until `stop` is set, then shut it down gracefully.

    Args:
        settings: The configuration (address, namespace, queue, limits, activity modules).
        stop: Set it to stop the worker.
        client: A connected client; None connects to `settings.effective_temporal_address`.
        services: The service container (`build_services`); None builds one (and closes it).
        activity_modules: User activity modules; None means `settings.activity_modules`.
        workflows: Workflow classes; None means the engine's.
        started: Set once the worker polls its task queue.

    Raises:
        ActivityLoadError: an activity module cannot be loaded.
        WorkerSetupError: the worker cannot be assembled.
    """
    modules = list(settings.activity_modules if activity_modules is None else activity_modules)
    # A wrong module name is a configuration error: report it before connecting anywhere.
    listeners = implemented_listener_names(settings, activity_modules=modules)
    try:
        EgressPolicy.from_settings(settings)  # a bad allow-list entry stops the start, named
    except ValueError as exc:
        raise WorkerSetupError(str(exc)) from None
    async with AsyncExitStack() as stack:
        if client is None:
            configure_tracing(endpoint=settings.otel_exporter_otlp_endpoint)
            client = await Client.connect(
                settings.effective_temporal_address,
                namespace=settings.temporal_namespace,
                interceptors=temporal_interceptors(),
                # Every payload encrypted when keys are configured (docs/security.md).
                **client_encryption_options(settings.encryption_key_ring()),
            )
            if settings.metrics_port is not None:
                # Its own registry endpoint (a thread of prometheus_client); under `wfe dev`
                # a client is passed in and the API's /metrics serves the same registry.
                start_metrics_server(settings.metrics_port, addr=settings.http_host)
        if services is None:
            from workflow_engine.services.container import build_services

            services = await build_services(
                settings,
                temporal_client=client,
                implemented_listeners=listeners,
            )
            stack.push_async_callback(services.aclose)
            # `wfe worker` on its own: no keys while a definition declares sensitive
            # variables would store their values in clear; refuse before taking work.
            await refuse_sensitive_without_keys(services.database)
        database = getattr(services, "database", None)
        http = HttpActivities.from_settings(
            settings,
            tenant_of=instance_tenant_lookup(database) if database is not None else None,
        )
        stack.push_async_callback(http.aclose)
        context = ActivityContext(
            settings=settings,
            database=getattr(services, "database", None),
            services=services,
            client=client,
        )
        registry = build_activity_registry(
            http=http,
            context=context,
            activity_modules=modules,
            engine=_engine_activities(services),
        )
        executor = ThreadPoolExecutor(
            max_workers=settings.worker_max_concurrent_activities,
            thread_name_prefix="wfe-activity",
        )
        stack.callback(executor.shutdown, wait=False, cancel_futures=True)
        worker = build_worker(
            client,
            task_queue=settings.task_queue,
            activities=registry.activities(),
            workflows=workflows,
            max_concurrent_activities=settings.worker_max_concurrent_activities,
            max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
            graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
            activity_executor=executor,
        )
        _log.info(
            "worker_starting",
            task_queue=settings.task_queue,
            activities=registry.names(),
            modules=[_short(m) for m in modules],
        )
        # Feeds the "no worker polls the task queue" alert (summed over every worker).
        pollers = WORKER_POLLERS.labels(settings.task_queue)
        pollers.inc()
        try:
            await _run_until(
                worker,
                stop=stop,
                started=started,
                grace_seconds=settings.worker_graceful_shutdown_seconds,
            )
        finally:
            pollers.dec()
    _log.info("worker_stopped", task_queue=settings.task_queue)


async def _run_until(
    worker: Worker,
    *,
    stop: asyncio.Event,
    started: asyncio.Event | None,
    grace_seconds: float,
) -> None:
    """Run `worker` until `stop` is set (then shut down, bounded) or until it fails."""
    running = asyncio.create_task(worker.run(), name="wfe-worker")
    stopping = asyncio.create_task(stop.wait(), name="wfe-worker-stop")
    if started is not None:
        started.set()
    try:
        done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        stopping.cancel()
        await _shutdown_bounded(worker, running, grace_seconds)
        raise
    if running in done:
        # The worker ended on its own: that is a failure (lost server, fatal poll error).
        stopping.cancel()
        running.result()
        raise WorkerSetupError(f"worker of task queue {worker.task_queue!r} stopped unexpectedly")
    _log.info("worker_stopping", task_queue=worker.task_queue, grace_seconds=grace_seconds)
    await _shutdown_bounded(worker, running, grace_seconds)


async def _shutdown_bounded(
    worker: Worker, running: asyncio.Task[None], grace_seconds: float
) -> None:
    """Shut `worker` down within a bound, abandoning tasks that ignore cancellation.

    It stops polling, lets activities finish within the grace, cancels them, and gives up on
    those that still run (their threads are abandoned).

    Bounded by `grace_seconds + SHUTDOWN_CANCEL_SECONDS`, so a stop request is honoured
    within seconds even while a task computes without end.
    """
    shutdown = asyncio.create_task(worker.shutdown(), name="wfe-worker-shutdown")
    done, _ = await asyncio.wait(
        {shutdown, running}, timeout=grace_seconds + SHUTDOWN_CANCEL_SECONDS
    )
    if shutdown in done and running in done:
        running.result()
        return
    _log.warning(
        "worker_shutdown_abandoned",
        task_queue=worker.task_queue,
        waited_seconds=grace_seconds + SHUTDOWN_CANCEL_SECONDS,
        message="tasks still running after the grace period ignored cancellation; "
        "the process exits without them (Temporal retries them elsewhere)",
    )
    for task in (shutdown, running):
        task.cancel()
    # Cancelling interrupts only the awaits; whatever error the SDK raises on the way out
    # is noise now, the tasks are abandoned.
    await asyncio.wait({shutdown, running}, timeout=SHUTDOWN_CANCEL_SECONDS)
    for task in (shutdown, running):
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as unhandled


def _short(module: str) -> str:
    return Path(module).name if module.endswith(".py") else module
