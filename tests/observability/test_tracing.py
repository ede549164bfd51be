"""One trace from the API call through the workflow to each activity (in-memory exporter)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from tests.api.live_engine import running_engine
from tests.api.rest.test_history import _run_seed
from workflow_engine.api.rest.app import create_app
from workflow_engine.logging import configure_logging, get_logger
from workflow_engine.observability import tracing

EXPORTER = InMemorySpanExporter()


def _provider() -> None:
    # One provider per process (OpenTelemetry's rule): installed by the first test that needs it.
    tracing.configure_tracing(endpoint=None, exporter=EXPORTER)


async def test_one_trace_from_api_to_activities(
    db_url: str, tmp_path: Path, temporal_client: Client
) -> None:
    _provider()
    assert tracing.tracing_enabled()
    config = temporal_client.config()
    config["interceptors"] = tracing.temporal_interceptors()
    traced = Client(**config)
    EXPORTER.clear()
    async with running_engine(db_url, tmp_path, traced) as services:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            instance_id = await _run_seed(api)
    provider = trace.get_tracer_provider()
    provider.force_flush()  # type: ignore[attr-defined]
    spans = EXPORTER.get_finished_spans()
    start_call = next(s for s in spans if s.name == "POST /api/v1/instances")
    trace_id = start_call.context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    names = {s.name for s in in_trace}
    assert "StartWorkflow:ProcessInstanceWorkflow" in names, names
    assert "RunWorkflow:ProcessInstanceWorkflow" in names, names
    # Each activity the seed example runs: both service tasks, and the projection's writes.
    for activity in ("SendEmailActivity", "CompleteRegistrationActivity"):
        assert f"StartActivity:{activity}" in names, sorted(names)
        assert f"RunActivity:{activity}" in names, sorted(names)
    # Batches written at wait points run as local activities of the same workflow.
    assert any(n.startswith("RunActivity:wfe.") or "apply_runtime_batch" in n for n in names), (
        sorted(names)
    )
    # The workflow span hangs under the API call's trace, not a trace of its own.
    workflow_span = next(s for s in in_trace if s.name == "StartWorkflow:ProcessInstanceWorkflow")
    assert workflow_span.parent is not None
    assert instance_id


def test_logs_carry_trace_and_bound_ids() -> None:
    _provider()
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    import structlog

    tracer = trace.get_tracer("test")
    with (
        tracer.start_as_current_span("work") as span,
        structlog.contextvars.bound_contextvars(instance_id="i-1", task_id="t-1"),
    ):
        get_logger("test").info("something_happened")
    record = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert record["instance_id"] == "i-1"
    assert record["task_id"] == "t-1"
    assert record["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert record["span_id"] == f"{span.get_span_context().span_id:016x}"


def test_span_attributes_events_and_status_leave_redacted() -> None:
    # A local provider (the global one belongs to the test above): same exporter wrapping.
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    from workflow_engine.redaction import forget_sensitive_values, remember_sensitive_values

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(tracing.RedactingSpanExporter(memory)))
    remember_sensitive_values(["span-secret-0042"])
    try:
        with provider.get_tracer("t").start_as_current_span("activity") as span:
            span.set_attribute("wfe.input", "value span-secret-0042 here")
            span.set_attribute("api_key", "k-1")
            span.set_attribute("http.url", "https://x/?access_token=abc123")
            try:
                raise ValueError("failed for span-secret-0042")
            except ValueError as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, "failed for span-secret-0042"))
    finally:
        forget_sensitive_values()
    (exported,) = memory.get_finished_spans()
    dumped = exported.to_json()
    assert "span-secret-0042" not in dumped
    assert "abc123" not in dumped
    assert exported.attributes is not None
    assert exported.attributes["api_key"] == "***"
    assert exported.events[0].attributes is not None
    assert "***" in str(exported.events[0].attributes["exception.message"])
