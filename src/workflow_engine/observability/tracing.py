"""OpenTelemetry tracing: API request -> Temporal workflow -> activities, one trace.

* REST: the ASGI middleware of ``opentelemetry-instrumentation-asgi`` opens a server span per
  request (always installed; without a configured provider it is the API's no-op tracer).
* Temporal: ``temporalio.contrib.opentelemetry.TracingInterceptor`` on the client carries the
  span context into the workflow's headers; workers built from that client get the same
  interceptor, so the workflow run and each activity become child spans.
* Export: OTLP over HTTP when ``otel_exporter_otlp_endpoint`` is set; off otherwise.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.client import Interceptor

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
    provider.add_span_processor(BatchSpanProcessor(exporter))
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
