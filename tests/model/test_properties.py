"""Property tests: no input makes parse/validate/export raise, and findings are well-formed."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow_engine.model.issues import Severity, ValidationReport
from workflow_engine.model.json_export import content_hash, to_document
from workflow_engine.model.parser import parse_definition, parse_json_text
from workflow_engine.model.types import ProcessModel
from workflow_engine.model.validator import check_definition

from .builders import seed

PATH_ROOTS = (
    "$",
    "process",
    "elements",
    "message_definitions",
    "signal_definitions",
    "error_definitions",
)
#: Real keys and values of the format, so random documents get past the first checks.
VOCABULARY = [
    "process",
    "elements",
    "id",
    "key",
    "type",
    "config",
    "outgoing",
    "incoming",
    "source",
    "target",
    "condition",
    "default_flow",
    "attached_to",
    "timer_duration",
    "timeout",
    "variables",
    "listeners",
    "class",
    "event",
    "startEvent",
    "endEvent",
    "userTask",
    "sequenceFlow",
    "subProcess",
    "boundaryEvent",
    "exclusiveGateway",
    "parallelGateway",
    "retry_policy",
    "multi_instance",
    "signal_ref",
    "message_ref",
    "error_ref",
    "a",
    "b",
    "${a >}",
    "${x}",
    "PT5M",
    "PT2X",
    "R3/PT1M",
    "message_definitions",
    "triggered_by_event",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(VOCABULARY)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)

FAST = settings(
    max_examples=int(os.environ.get("WFE_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_well_formed(model: ProcessModel | None, report: ValidationReport) -> None:
    for issue in (*report.errors, *report.warnings):
        assert isinstance(issue.path, str) and issue.path.startswith(PATH_ROOTS), issue
        assert isinstance(issue.message, str) and issue.message
        assert issue.code.isupper()
    for issue in report.errors:
        assert issue.severity is Severity.ERROR
    if model is not None:
        document = to_document(model)
        content_hash(document)
        again, _ = parse_definition(document)
        assert again == model


@FAST
@given(json_values)
def test_random_json_never_raises(document: Any) -> None:
    model, report = check_definition(document, known_listener_classes=["x"], max_elements=50)
    assert_well_formed(model, report)


@FAST
@given(st.dictionaries(st.sampled_from(VOCABULARY), json_values, max_size=6), json_values)
def test_random_documents_with_real_keys_never_raise(
    document: dict[str, Any], process: Any
) -> None:
    document.setdefault("process", process)
    model, report = check_definition(document)
    assert_well_formed(model, report)


@FAST
@given(st.text(max_size=200))
def test_random_text_never_raises(text: str) -> None:
    _, issues = parse_json_text(text)
    assert all(i.path.startswith(PATH_ROOTS) for i in issues)


def _locations(value: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in a JSON value, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            _locations(item, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            _locations(item, found)
    return found


def _ids(document: dict[str, Any]) -> list[str]:
    # Earlier mutations may have deleted or retyped `elements` or an element's id.
    elements = document.get("elements")
    if not isinstance(elements, list):
        return ["x"]
    ids = [e.get("id") for e in elements if isinstance(e, dict)]
    return [i for i in ids if isinstance(i, str)] or ["x"]


@st.composite
def mutated_seeds(draw: st.DrawFn) -> dict[str, Any]:
    document = seed()
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        places = _locations(document, [])
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        operation = draw(
            st.sampled_from(["delete", "replace", "retype", "id", "duplicate", "wrap"])
        )
        current = container[key]
        if operation == "delete":
            del container[key]
        elif operation == "replace":
            container[key] = draw(json_values)
        elif operation == "retype":
            container[key] = draw(
                st.sampled_from([None, str(current), [current], {"v": current}, 0, True, ""])
            )
        elif operation == "id":
            container[key] = draw(st.sampled_from(_ids(document)))
        elif operation == "duplicate" and isinstance(container, list):
            container.insert(key, json.loads(json.dumps(current)))
        else:
            container[key] = [current, current]
    return document


@FAST
@given(mutated_seeds())
def test_mutated_seed_never_raises(document: dict[str, Any]) -> None:
    model, report = check_definition(
        document, known_listener_classes=["com.example.ProcessStartListener"], max_elements=12
    )
    assert_well_formed(model, report)
