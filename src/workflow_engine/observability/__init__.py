"""Observability: Prometheus metrics, OpenTelemetry tracing, log correlation (DESIGN §10)."""
