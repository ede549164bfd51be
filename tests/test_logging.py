"""Structured logging: JSON lines with bound context, stdlib records routed through structlog."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from workflow_engine.logging import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging is process-wide: put the root logger and structlog back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_bound_context_and_fields() -> None:
    out = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=out)
    log = get_logger("workflow_engine.test")
    structlog.contextvars.bind_contextvars(instance_id="inst-1", task_id="t-9")
    log.info("task completed", outcome="approved")
    structlog.contextvars.unbind_contextvars("task_id")
    log.warning("after unbind")

    first, second = records(out)
    assert first["event"] == "task completed"
    assert first["instance_id"] == "inst-1"
    assert first["task_id"] == "t-9"
    assert first["outcome"] == "approved"
    assert first["level"] == "info"
    assert first["logger"] == "workflow_engine.test"
    assert first["timestamp"].endswith("Z")
    assert second["instance_id"] == "inst-1"
    assert "task_id" not in second


def test_stdlib_loggers_are_routed_with_context() -> None:
    out = io.StringIO()
    # uvicorn's own log config installs handlers; they must not print a second copy.
    stray = io.StringIO()
    logging.getLogger("uvicorn.error").addHandler(logging.StreamHandler(stray))
    configure_logging(level="info", fmt="json", stream=out)
    structlog.contextvars.bind_contextvars(instance_id="inst-2")
    logging.getLogger("temporalio.worker").warning("poll failed: %s", "timeout")
    logging.getLogger("uvicorn.error").info("started")

    temporal, uvicorn = records(out)
    assert temporal == temporal | {
        "event": "poll failed: timeout",
        "logger": "temporalio.worker",
        "level": "warning",
        "instance_id": "inst-2",
    }
    assert uvicorn["logger"] == "uvicorn.error"
    assert stray.getvalue() == ""


def test_level_filters_both_paths() -> None:
    out = io.StringIO()
    configure_logging(level="warn", fmt="json", stream=out)
    get_logger("a").info("hidden")
    logging.getLogger("b").info("hidden too")
    get_logger("a").error("shown")
    assert [r["event"] for r in records(out)] == ["shown"]


def test_exceptions_are_structured_without_locals() -> None:
    out = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=out)
    secret = "hunter2"
    try:
        raise RuntimeError(f"boom {len(secret)}")
    except RuntimeError:
        get_logger("a").exception("failed")
    (record,) = records(out)
    assert record["exception"][0]["exc_type"] == "RuntimeError"
    assert "hunter2" not in out.getvalue()


def test_console_format_is_human_readable() -> None:
    out = io.StringIO()
    configure_logging(level="DEBUG", fmt="console", stream=out)
    structlog.contextvars.bind_contextvars(instance_id="inst-3")
    get_logger("a").debug("hello", k="v")
    text = out.getvalue()
    assert "hello" in text
    assert "instance_id=inst-3" in text
    assert "k=v" in text
    assert not text.lstrip().startswith("{")


def test_reconfiguring_replaces_only_our_handler() -> None:
    root = logging.getLogger()
    # An earlier test (the CLI's) may already have installed ours: compare the others only.
    foreign_before = [h for h in root.handlers if type(h).__name__ != "_WfeHandler"]
    configure_logging(level="INFO", fmt="json", stream=io.StringIO())
    out = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=out)
    ours = [h for h in root.handlers if type(h).__name__ == "_WfeHandler"]
    assert len(ours) == 1
    assert [h for h in root.handlers if h not in ours] == foreign_before
    get_logger("a").info("once")
    assert len(records(out)) == 1


def test_bad_level_or_format_is_explained() -> None:
    with pytest.raises(ValueError, match="log level must be one of DEBUG"):
        configure_logging(level="loud", fmt="json")
    with pytest.raises(ValueError, match="log format must be one of json, console, got 'xml'"):
        configure_logging(level="INFO", fmt="xml")


def _fail_with_secret_locals(card_number: str) -> None:
    pin_code = card_number[::-1]  # another local holding a secret
    raise ValueError(f"declined ({len(pin_code)} digits)")


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tracebacks_never_show_local_variables(fmt: str) -> None:
    # Finding 12 of issue 15: the console format's rich tracebacks printed every frame's
    # locals, and with them a sensitive variable an activity was handling.
    out = io.StringIO()
    configure_logging(level="INFO", fmt=fmt, stream=out)
    # Built at run time: a traceback may quote source lines, which must not count as a leak.
    secret = "-".join(["4111", "2222", "3333", "4444", "sensitive"])
    try:
        _fail_with_secret_locals(secret)
    except ValueError:
        get_logger("workflow_engine.test").exception("activity failed")
    try:
        _fail_with_secret_locals(secret)
    except ValueError:
        # The same through a standard-library logger (temporalio's activity logger).
        logging.getLogger("temporalio.activity").exception("Completing activity as failed")
    text = out.getvalue()
    assert "declined" in text  # the tracebacks are there ...
    assert "_fail_with_secret_locals" in text
    assert secret not in text  # ... without the locals
    assert secret[::-1] not in text


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_remembered_sensitive_values_are_masked_in_every_record(fmt: str) -> None:
    from workflow_engine.redaction import forget_sensitive_values, remember_sensitive_values

    out = io.StringIO()
    configure_logging(level="INFO", fmt=fmt, stream=out)
    remember_sensitive_values(["s3cr3t-iban-DE0012"])
    try:
        get_logger("workflow_engine.test").info(
            "copied s3cr3t-iban-DE0012 somewhere", data={"note": "iban s3cr3t-iban-DE0012"}
        )
        logging.getLogger("temporalio.worker").warning("input was %s", "s3cr3t-iban-DE0012")
        try:
            raise RuntimeError("bad value s3cr3t-iban-DE0012")
        except RuntimeError:
            get_logger("workflow_engine.test").exception("failed")
    finally:
        forget_sensitive_values()
    text = out.getvalue()
    assert "s3cr3t-iban-DE0012" not in text
    assert text.count("***") >= 4


def test_records_that_fail_to_render_never_print_their_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = io.StringIO()
    configure_logging(level="DEBUG", fmt="console", stream=out)
    # A %-format mismatch makes rendering fail; the stdlib default would print the arguments.
    (ours,) = [h for h in logging.getLogger().handlers if type(h).__name__ == "_WfeHandler"]
    record = logging.LogRecord(
        "some.library", logging.INFO, __file__, 1, "two %s %s", ("only-one-secret-arg",), None
    )
    ours.handle(record)
    captured = capsys.readouterr()
    assert "only-one-secret-arg" not in captured.err + captured.out + out.getvalue()
    assert "could not be written" in captured.err


def test_expression_libraries_never_log_data_at_debug() -> None:
    out = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", stream=out)
    # cel-python logs every activation (all variables) at DEBUG.
    logging.getLogger("celpy.evaluation").debug("Activation: %r", {"card": "celpy-data-secret"})
    assert "celpy-data-secret" not in out.getvalue()
    logging.getLogger("celpy.evaluation").warning("kept")
    assert "kept" in out.getvalue()
