"""Form fields: the canonical types, and every way a completion can break a form."""

from __future__ import annotations

from typing import Any

import pytest

from workflow_engine.model.form_fields import (
    FormField,
    FormFieldType,
    check_form_values,
    form_field_type,
    form_fields,
    pattern_error,
)
from workflow_engine.model.validator import check_definition

CONFIG: dict[str, Any] = {
    "form_fields": [
        {"id": "approved", "label": "Approved", "type": "boolean", "required": True},
        {"id": "discount", "type": "double"},
        {"id": "count", "type": "long"},
        {"id": "due", "type": "date"},
        {"id": "at", "type": "datetime"},
        {"id": "level", "type": "enum", "options": [{"value": "low"}, {"value": "high"}]},
        {"id": "code", "type": "string", "pattern": "[A-Z]{3}-[0-9]+"},
        {"id": "items", "type": "array"},
        {"id": "note"},
        {"label": "no id: ignored"},
    ]
}


def _codes(values: dict[str, Any]) -> dict[str, str]:
    return {issue.path: issue.code for issue in check_form_values(form_fields(CONFIG), values)}


def test_types_and_aliases_match_the_portal() -> None:
    assert form_field_type("long") is FormFieldType.INTEGER
    assert form_field_type(" Double ") is FormFieldType.NUMBER
    assert form_field_type("select") is FormFieldType.ENUM
    assert form_field_type("unheard-of") is FormFieldType.STRING
    assert form_field_type(None) is FormFieldType.STRING
    fields = form_fields(CONFIG)
    assert [f.id for f in fields][-1] == "note"
    assert fields[5].options == ("low", "high")


def test_good_values_pass_and_extra_variables_are_allowed() -> None:
    good = {
        "approved": False,
        "discount": 0.5,
        "count": 3,
        "due": "2030-01-31",
        "at": "2030-01-31T10:00:00+00:00",
        "level": "high",
        "code": "ABC-12",
        "items": [1],
        "note": "x",
        "not_a_field": {"any": "thing"},
    }
    assert _codes(good) == {}


@pytest.mark.parametrize(
    ("values", "path", "code"),
    [
        ({"discount": 1}, "variables.approved", "MISSING_FIELD"),
        ({"approved": None}, "variables.approved", "MISSING_FIELD"),
        ({"approved": "yes"}, "variables.approved", "INVALID_FIELD_TYPE"),
        ({"approved": True, "discount": "abc"}, "variables.discount", "INVALID_FIELD_TYPE"),
        ({"approved": True, "discount": True}, "variables.discount", "INVALID_FIELD_TYPE"),
        ({"approved": True, "count": 1.5}, "variables.count", "INVALID_FIELD_TYPE"),
        ({"approved": True, "due": "31.01.2030"}, "variables.due", "INVALID_FIELD_TYPE"),
        ({"approved": True, "at": "tomorrow"}, "variables.at", "INVALID_FIELD_TYPE"),
        ({"approved": True, "level": "medium"}, "variables.level", "INVALID_FIELD_VALUE"),
        ({"approved": True, "code": "abc-12"}, "variables.code", "INVALID_FIELD_VALUE"),
        ({"approved": True, "items": {"a": 1}}, "variables.items", "INVALID_FIELD_TYPE"),
        ({"approved": True, "note": 5}, "variables.note", "INVALID_FIELD_TYPE"),
    ],
)
def test_each_bad_value_is_named(values: dict[str, Any], path: str, code: str) -> None:
    assert _codes(values) == {path: code}


def test_messages_say_what_is_expected() -> None:
    (issue,) = check_form_values(form_fields(CONFIG), {"approved": "yes"})
    assert issue.message == "form field 'approved' (Approved) must be true or false; got 'yes'"


def test_patterns_are_re2_and_linear() -> None:
    assert pattern_error("(a+)+$") is None  # catastrophic in backtracking engines, linear in RE2
    assert pattern_error("(a)\\1") is not None  # backreferences are not RE2
    field = FormField(id="s", type=FormFieldType.STRING, pattern="(a+)+$")
    assert check_form_values([field], {"s": "a" * 5_000 + "!"})  # answers at once: no match


def test_deploy_rejects_a_bad_pattern_and_bad_options() -> None:
    document = {
        "process": {"id": "p", "key": "p", "name": "P"},
        "elements": [
            {"id": "s", "type": "startEvent", "outgoing": ["t"]},
            {
                "id": "t",
                "type": "userTask",
                "outgoing": ["e"],
                "config": {
                    "form_fields": [
                        {"id": "a", "pattern": "(x)\\1"},
                        {"id": "b", "type": "enum", "options": "low,high"},
                    ]
                },
            },
            {"id": "e", "type": "endEvent"},
        ],
    }
    _model, report = check_definition(document)
    errors = {i.path for i in report.errors}
    assert "elements[1].config.form_fields[0].pattern" in errors
    assert "elements[1].config.form_fields[1].options" in errors
