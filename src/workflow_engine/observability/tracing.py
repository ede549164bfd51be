"""OpenTelemetry tracing: API request -> Temporal workflow -> activities, one trace.

* REST: the ASGI middleware of ``opentelemetry-instrumentation-asgi`` opens a server span per
  request (always installed; without a configured provider it is the API's no-op tracer).
* Temporal: ``temporalio.contrib.opentelemetry.TracingInterceptor`` on the client carries the
  span context into the workflow's headers; workers built from that client get the same
  interceptor, so the workflow run and each activity become child spans.
* Export: OTLP over HTTP when ``otel_exporter_otlp_endpoint`` is set; off otherwise.
* Every span leaves redacted (`RedactingSpanExporter`): its attributes, event attributes
  (exception messages and stack traces included) and status text pass through the same
  redaction as log records (secret-named keys, secret-shaped text, remembered values of
  sensitive variables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace.status import Status
from temporalio.client import Interceptor

from workflow_engine.redaction import MASK, is_secret_name, redact_text

_configured: TracerProvider | None = None


def configure_tracing(
    *,
    endpoint: str | None,
    service_name: str = "workflow-engine",
    exporter: SpanExporter | None = None,
) -> TracerProvider | None:
    """Install a global tracer provider exporting to `endpoint` (or to `exporter`).

    Only the first successful call installs a provider (OpenTelemetry allows one per
    process); later calls return it.

    Args:
        endpoint: OTLP/HTTP endpoint (e.g. ``http://collector:4318``); None: tracing off
            unless `exporter` is given.
        service_name: The ``service.name`` resource attribute.
        exporter: An exporter to use instead of OTLP (tests: an in-memory exporter).

    Returns:
        The provider, or None when tracing stays off.
    """
    global _configured
    if _configured is not None:
        return _configured
    if exporter is None:
        if not endpoint:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(RedactingSpanExporter(exporter)))
    trace.set_tracer_provider(provider)
    _configured = provider
    return provider


def tracing_enabled() -> bool:
    """Whether `configure_tracing` installed a provider in this process."""
    return _configured is not None


def temporal_interceptors() -> list[Interceptor]:
    """Client interceptors that carry traces into workflows (empty when tracing is off)."""
    if not tracing_enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def asgi_middleware() -> Any:
    """The OpenTelemetry ASGI middleware class (for `app.add_middleware`)."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware


def current_trace_ids() -> dict[str, str]:
    """``trace_id`` / ``span_id`` (hex) of the current span, or nothing outside a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class RedactingSpanExporter(SpanExporter):
    """Hands spans to `inner` with their attributes, events and status redacted.

    Args:
        inner: The exporter that sends spans on (OTLP, or a test's in-memory one).
    """

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Redact, then export."""
        return self._inner.export([redact_span(span) for span in spans])

    def shutdown(self) -> None:
        """Shut the inner exporter down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the inner exporter."""
        return self._inner.force_flush(timeout_millis)


def redact_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of `span` whose attributes, event attributes and status text are redacted."""
    status = span.status
    if status.description:
        status = Status(status.status_code, redact_text(status.description))
    return ReadableSpan(
        name=redact_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_redact_attributes(span.attributes),
        events=[
            Event(e.name, _redact_attributes(e.attributes), timestamp=e.timestamp)
            for e in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _redact_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if is_secret_name(key) and not key.startswith("exception."):
            result[key] = MASK
        elif isinstance(value, str):
            result[key] = redact_text(value)
        elif isinstance(value, tuple | list):
            result[key] = tuple(redact_text(v) if isinstance(v, str) else v for v in value)
        else:
            result[key] = value
    return result
