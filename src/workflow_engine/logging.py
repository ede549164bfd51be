"""Structured logging: structlog for our code, with the standard library routed through it.

One handler on the root logger renders every record, ours and third-party (uvicorn,
temporalio, SQLAlchemy), as JSON lines or as coloured console text. Values bound with
`structlog.contextvars.bind_contextvars(instance_id=...)` appear on every record logged in
that context, including records from standard-library loggers.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

import structlog
from structlog.typing import Processor

from workflow_engine.redaction import redact_secrets

__all__ = ["LOG_FORMATS", "configure_logging", "get_logger"]

LOG_FORMATS: tuple[str, ...] = ("json", "console")

# Loggers that install handlers of their own (uvicorn's default log config does) would print
# every record twice, once through their handler and once through ours; they are reset to
# propagate to the root handler instead.
_ROUTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "temporalio")


#: Libraries whose DEBUG records dump the data they work on (cel-python logs every expression
#: evaluation's variables, sensitive ones included): never below WARNING, whatever the level.
_DATA_DUMPING_LOGGERS = ("celpy", "lark")


class _WfeHandler(logging.StreamHandler[TextIO]):
    """Marks the handler we installed so reconfiguring replaces it and nothing else.

    pytest's log capture and other tools add root handlers of their own, which must stay.
    """

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - stdlib name
        """Report a record that failed to render without printing its arguments.

        The standard library's default prints the record's message template and raw
        arguments to standard error: unredacted data (variables, secrets) would escape.
        """
        try:
            exc = sys.exc_info()[1]
            sys.stderr.write(
                f"--- logging error: a record of {record.name!r} could not be written "
                f"({type(exc).__name__ if exc else 'unknown error'}); dropped ---\n"
            )
        except Exception:
            pass


def configure_logging(
    *,
    level: str,
    fmt: Literal["json", "console"] | str,
    stream: TextIO | None = None,
) -> None:
    """Configure structlog and the standard library's logging for the whole process.

    Safe to call more than once: the last call wins.

    Args:
        level: Minimum level name, e.g. "INFO" or "debug" ("WARN" is accepted for WARNING).
        fmt: "json" for one JSON object per line, "console" for human-readable text.
        stream: Where records are written; standard error by default.

    Raises:
        ValueError: `level` or `fmt` is not one of the accepted names.

    """
    numeric_level = _parse_level(level)
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")

    # Processors that run for both structlog calls and foreign (stdlib) records.
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_trace_ids,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        # After every field is in (extras too): secrets never reach a handler.
        redact_secrets,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Processor
    if fmt == "json":
        # Tracebacks become structured data rather than one long escaped string; without
        # local variables, which could carry secrets (credentials, user data) into log stores.
        final: list[Processor] = [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            # Exception messages are rendered only now: they are redacted too.
            redact_secrets,
        ]
        renderer = structlog.processors.JSONRenderer()
    else:
        # The traceback is rendered as text here (the standard library's format: no local
        # variables, unlike the rich default of ConsoleRenderer, which printed every frame's
        # locals and with them whatever secret an activity handled), then redacted.
        final = [structlog.processors.format_exc_info, redact_secrets]
        renderer = structlog.dev.ConsoleRenderer(
            colors=_is_tty(stream or sys.stderr),
            exception_formatter=structlog.dev.plain_traceback,
        )

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: loggers created at import time must follow a later reconfiguration.
        cache_logger_on_first_use=False,
    )

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *final,
            renderer,
        ],
    )
    handler = _WfeHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _WfeHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric_level)

    for name in _DATA_DUMPING_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric_level, logging.WARNING))

    for name in _ROUTED_LOGGERS:
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
        # Level NOTSET: inherit the root's level so one setting governs everything.
        routed.setLevel(logging.NOTSET)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """Return a structlog logger named `name` (use the module's `__name__`).

    Args:
        name: Logger name; it is also the standard-library logger that levels apply to.

    Returns:
        A bound logger; `log.info("event", key=value)` writes one structured record.

    """
    return structlog.stdlib.get_logger(name)


def _add_trace_ids(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Add the current OpenTelemetry span's trace_id / span_id (when inside a span)."""
    try:
        from workflow_engine.observability.tracing import current_trace_ids
    except ImportError:  # OpenTelemetry not installed: nothing to correlate with
        return event_dict
    for key, value in current_trace_ids().items():
        event_dict.setdefault(key, value)
    return event_dict


def _parse_level(level: str) -> int:
    name = level.strip().upper()
    name = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(name, name)
    value = logging.getLevelNamesMapping().get(name)
    if value is None or name == "NOTSET":
        raise ValueError(
            f"log level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {level!r}"
        )
    return value


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False
