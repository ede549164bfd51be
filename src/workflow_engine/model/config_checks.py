"""Checking one `config` object against `CONFIG_KEYS`: value kinds, expressions and timers.

Used by the validator for every node and sequence flow. Each finding names the element and the
key, and its path points at the exact value (`elements[5].config.retry_policy.initial_interval`).
Expressions are compiled and timers parsed with `workflow_engine.expressions`, so a definition
that validates never fails later on syntax.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workflow_engine.expressions import (
    ExpressionError,
    compile_expression,
    looks_like_expression,
)
from workflow_engine.expressions.timers import (
    TimerSyntaxError,
    parse_cycle,
    parse_date,
    parse_duration,
)
from workflow_engine.model.codes import IssueCode
from workflow_engine.model.config_schema import ConfigKey, ValueKind
from workflow_engine.model.form_fields import pattern_error
from workflow_engine.model.issues import Severity, ValidationIssue
from workflow_engine.model.paths import index_path, key_path

RETRY_POLICY_KEYS = frozenset(
    {
        "max_attempts",
        "initial_interval",
        "backoff_coefficient",
        "maximum_interval",
        "non_retryable_error_types",
    }
)
MULTI_INSTANCE_KEYS = frozenset(
    {
        "is_sequential",
        "loop_cardinality",
        "collection",
        "element_variable",
        "completion_condition",
    }
)
DECISION_TABLE_KEYS = frozenset({"hit_policy", "inputs", "rules"})
HIT_POLICIES = ("UNIQUE", "FIRST", "COLLECT")
FORM_FIELD_KEYS = frozenset(
    {"id", "label", "type", "required", "default", "options", "pattern", "description"}
)


def describe(value: object) -> str:
    """Name a JSON value's type for messages ("a list", "null", …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_numeric_text(value: str) -> bool:
    text = value.strip()
    if text[:1] in "+-":
        text = text[1:]
    return text.isdigit() and text.isascii()


class ConfigChecker:
    """Appends findings about config values to a shared list."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = issues

    def error(self, path: str, message: str, code: IssueCode) -> None:
        """Record a blocking finding."""
        self.issues.append(ValidationIssue(path, message, code, Severity.ERROR))

    def warning(self, path: str, message: str, code: IssueCode) -> None:
        """Record a non-blocking finding."""
        self.issues.append(ValidationIssue(path, message, code, Severity.WARNING))

    # -- whole config objects ---------------------------------------------------------------

    def check_config(
        self,
        config: Mapping[str, Any],
        keys: Mapping[str, ConfigKey],
        path: str,
        owner: str,
        *,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        """Check every key of `config` (at `path`) against `keys`; `owner` names the element.

        Keys in `skip` are checked by the caller (they need more context than the value).
        """
        for key, value in config.items():
            value_path = key_path(path, key)
            spec = keys.get(key)
            if spec is None:
                self.warning(
                    value_path,
                    f"{owner} has an unknown config key '{key}', which is ignored; known keys: "
                    f"{', '.join(sorted(keys)) or 'none'}",
                    IssueCode.UNKNOWN_CONFIG_KEY,
                )
                continue
            if key in skip:
                continue
            self.check_value(value, spec, value_path, f"'{key}' of {owner}")
        for key, spec in keys.items():
            if spec.required and config.get(key) is None:
                self.error(
                    key_path(path, key),
                    f"{owner} needs config key '{key}' ({spec.kind.value})",
                    IssueCode.MISSING_CONFIG_KEY,
                )

    def check_value(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        """Check one value against its documented kind."""
        if value is None:
            # An explicit null reads as "not given" (required keys are reported by the caller;
            # nullable references give null its own meaning, e.g. "catch any error").
            return
        checker = _CHECKS.get(spec.kind)
        if checker is not None:
            checker(self, value, spec, path, what)

    def _invalid(self, path: str, what: str, expected: str, value: object) -> None:
        self.error(
            path,
            f"{what} must be {expected}, not {describe(value)}",
            IssueCode.INVALID_CONFIG_VALUE,
        )

    # -- expressions and timers -------------------------------------------------------------

    def expression(self, text: object, path: str, what: str, *, required: bool) -> None:
        """Compile `text` when it is (or is meant as) an expression.

        With `required`, a string that is not `${...}` is an error too.
        """
        if not isinstance(text, str):
            if required:
                self._invalid(path, what, "an expression like ${amount > 100}", text)
            return
        if not looks_like_expression(text):
            if required:
                self.error(
                    path,
                    f"{what} must be an expression like ${{amount > 100}}, not the plain text "
                    f"'{text}'",
                    IssueCode.INVALID_CONDITION,
                )
            return
        try:
            compile_expression(text)
        except ExpressionError as exc:
            self.error(
                path,
                f"{what} is not a valid expression: {exc.message}",
                IssueCode.EXPRESSION_SYNTAX,
            )

    def timer(self, value: object, kind: ValueKind, path: str, what: str) -> None:
        """Parse an ISO 8601 duration, date, cycle, or duration-or-date."""
        if not isinstance(value, str):
            self._invalid(path, what, f"an {kind.value} string", value)
            return
        parsers: dict[ValueKind, tuple[Callable[[str], object], ...]] = {
            ValueKind.DURATION: (parse_duration,),
            ValueKind.DATE: (parse_date,),
            ValueKind.CYCLE: (parse_cycle,),
            ValueKind.DURATION_OR_DATE: (parse_duration, parse_date),
        }
        problems: list[str] = []
        for parse in parsers[kind]:
            try:
                parse(value)
            except TimerSyntaxError as exc:
                problems.append(exc.message)
                continue
            except (ValueError, OverflowError, TypeError) as exc:
                # Defensive: a parser bug must still give a finding, never a crash.
                problems.append(f"{value!r} cannot be parsed ({exc})")
                continue
            return
        self.error(
            path,
            f"{what} is not a valid {kind.value}: {'; '.join(problems)}",
            IssueCode.TIMER_SYNTAX,
        )

    # -- kinds ------------------------------------------------------------------------------

    def _string(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, str):
            self._invalid(path, what, "a string", value)

    def _boolean(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, bool):
            self._invalid(path, what, "true or false", value)

    def _numeric(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if _is_int(value) or (isinstance(value, str) and _is_numeric_text(value)):
            return
        if isinstance(value, str):
            self.error(
                path,
                f"{what} must be a whole number (or a string holding one), not '{value}'",
                IssueCode.INVALID_CONFIG_VALUE,
            )
            return
        self._invalid(path, what, "a whole number (or a string holding one)", value)

    def _integer_or_string(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not (_is_int(value) or isinstance(value, str)):
            self._invalid(path, what, "a whole number or a string", value)

    def _object(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, dict):
            self._invalid(path, what, "an object", value)

    def _list(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, list):
            self._invalid(path, what, "a list", value)

    def _string_list(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if isinstance(value, str):
            self.expression(value, path, what, required=False)
            return
        if not isinstance(value, list):
            self._invalid(path, what, "a list of strings or a comma-separated string", value)
            return
        for index, item in enumerate(value):
            item_path = index_path(path, index)
            if not isinstance(item, str):
                self._invalid(item_path, f"entries of {what}", "strings", item)
            else:
                self.expression(item, item_path, f"entry {index} of {what}", required=False)

    def _choice(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if value not in spec.choices:
            shown = f"'{value}'" if isinstance(value, str) else describe(value)
            self.error(
                path,
                f"{what} is {shown}; it must be one of {', '.join(spec.choices)}",
                IssueCode.INVALID_CONFIG_VALUE,
            )

    def _reference(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, str) or not value.strip():
            self._invalid(path, what, "a non-empty id", value)

    def _expression(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        self.expression(value, path, what, required=True)

    def _text_or_expression(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, str):
            self._invalid(path, what, "a string or an expression", value)
            return
        self.expression(value, path, what, required=False)

    def _mapping(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, dict):
            self._invalid(path, what, "an object mapping names to values or ${...}", value)
            return
        for name, item in value.items():
            self.expression(item, key_path(path, name), f"'{name}' in {what}", required=False)

    def _timer(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        self.timer(value, spec.kind, path, what)

    def _retry_policy(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, dict):
            self._invalid(path, what, "an object", value)
            return
        self._unknown(value, RETRY_POLICY_KEYS, path, what)
        attempts = value.get("max_attempts")
        if attempts is not None and not (_is_int(attempts) and attempts >= 0):
            self._invalid(
                key_path(path, "max_attempts"),
                f"'max_attempts' of {what}",
                "a whole number >= 0 (0: unlimited)",
                attempts,
            )
        for key in ("initial_interval", "maximum_interval"):
            if value.get(key) is not None:
                self.timer(
                    value[key], ValueKind.DURATION, key_path(path, key), f"'{key}' of {what}"
                )
        coefficient = value.get("backoff_coefficient")
        if coefficient is not None and not (_is_number(coefficient) and coefficient >= 1):
            self._invalid(
                key_path(path, "backoff_coefficient"),
                f"'backoff_coefficient' of {what}",
                "a number >= 1",
                coefficient,
            )
        errors = value.get("non_retryable_error_types")
        if errors is not None and not (
            isinstance(errors, list) and all(isinstance(e, str) for e in errors)
        ):
            self._invalid(
                key_path(path, "non_retryable_error_types"),
                f"'non_retryable_error_types' of {what}",
                "a list of strings",
                errors,
            )

    def _multi_instance(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, dict):
            self._invalid(path, what, "an object", value)
            return
        self._unknown(value, MULTI_INSTANCE_KEYS, path, what)
        sequential = value.get("is_sequential")
        if sequential is not None and not isinstance(sequential, bool):
            self._invalid(
                key_path(path, "is_sequential"),
                f"'is_sequential' of {what}",
                "true or false",
                sequential,
            )
        cardinality = value.get("loop_cardinality")
        card_path = key_path(path, "loop_cardinality")
        if cardinality is not None:
            if _is_int(cardinality):
                if cardinality < 0:
                    self._invalid(
                        card_path, f"'loop_cardinality' of {what}", "a count >= 0", cardinality
                    )
            elif isinstance(cardinality, str) and (
                _is_numeric_text(cardinality) or looks_like_expression(cardinality)
            ):
                self.expression(
                    cardinality, card_path, f"'loop_cardinality' of {what}", required=False
                )
            else:
                self._invalid(
                    card_path,
                    f"'loop_cardinality' of {what}",
                    "a whole number or an expression like ${count}",
                    cardinality,
                )
        collection = value.get("collection")
        if collection is not None:
            if isinstance(collection, str) and collection.strip():
                self.expression(
                    collection,
                    key_path(path, "collection"),
                    f"'collection' of {what}",
                    required=False,
                )
            else:
                self._invalid(
                    key_path(path, "collection"),
                    f"'collection' of {what}",
                    "a variable name or an expression like ${items}",
                    collection,
                )
        element = value.get("element_variable")
        if element is not None and not isinstance(element, str):
            self._invalid(
                key_path(path, "element_variable"),
                f"'element_variable' of {what}",
                "a variable name",
                element,
            )
        completion = value.get("completion_condition")
        if completion is not None:
            self.expression(
                completion,
                key_path(path, "completion_condition"),
                f"'completion_condition' of {what}",
                required=True,
            )
        if cardinality is None and collection is None:
            self.error(
                path,
                f"{what} needs 'loop_cardinality' (how many instances) or 'collection' (one "
                "instance per item)",
                IssueCode.INVALID_MULTI_INSTANCE,
            )

    def _script(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if isinstance(value, str):
            self.expression(value, path, what, required=True)
            return
        if not isinstance(value, dict):
            self._invalid(
                path, what, "an object of variable -> ${...} or one ${...} expression", value
            )
            return
        for name, item in value.items():
            item_path = key_path(path, name)
            if not isinstance(item, str):
                self._invalid(item_path, f"'{name}' in {what}", "an expression", item)
            else:
                self.expression(item, item_path, f"'{name}' in {what}", required=False)

    def _decision_table(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, dict):
            self._invalid(path, what, "an object with 'rules'", value)
            return
        self._unknown(value, DECISION_TABLE_KEYS, path, what)
        policy = value.get("hit_policy")
        if policy is not None and policy not in HIT_POLICIES:
            self._choice(
                policy,
                ConfigKey(ValueKind.CHOICE, choices=HIT_POLICIES),
                key_path(path, "hit_policy"),
                f"'hit_policy' of {what}",
            )
        inputs = value.get("inputs")
        if inputs is not None and not isinstance(inputs, list):
            self._invalid(key_path(path, "inputs"), f"'inputs' of {what}", "a list", inputs)
        rules = value.get("rules")
        rules_path = key_path(path, "rules")
        if not isinstance(rules, list):
            self._invalid(rules_path, f"'rules' of {what}", "a list of rules", rules)
            return
        for index, rule in enumerate(rules):
            self._rule(rule, index_path(rules_path, index), f"rule {index} of {what}")

    def _rule(self, rule: object, path: str, what: str) -> None:
        if not isinstance(rule, dict):
            self._invalid(path, what, "an object with 'when' and 'then'", rule)
            return
        self._unknown(rule, frozenset({"when", "then", "description"}), path, what)
        when = rule.get("when", [])
        when_path = key_path(path, "when")
        if not isinstance(when, list):
            self._invalid(when_path, f"'when' of {what}", "a list of ${...} conditions", when)
        else:
            for index, condition in enumerate(when):
                self.expression(
                    condition,
                    index_path(when_path, index),
                    f"condition {index} of {what}",
                    required=True,
                )
        then = rule.get("then")
        if not isinstance(then, dict):
            self._invalid(key_path(path, "then"), f"'then' of {what}", "an object", then)
            return
        for name, item in then.items():
            self.expression(
                item, key_path(key_path(path, "then"), name), f"'{name}' in {what}", required=False
            )

    def _form_fields(self, value: object, spec: ConfigKey, path: str, what: str) -> None:
        if not isinstance(value, list):
            self._invalid(path, what, "a list of {id, label, type, required}", value)
            return
        for index, field_def in enumerate(value):
            item_path = index_path(path, index)
            item_what = f"form field {index} of {what}"
            if not isinstance(field_def, dict):
                self._invalid(item_path, item_what, "an object", field_def)
                continue
            self._unknown(field_def, FORM_FIELD_KEYS, item_path, item_what)
            field_id = field_def.get("id")
            if not isinstance(field_id, str) or not field_id:
                self._invalid(key_path(item_path, "id"), f"'id' of {item_what}", "a name", field_id)
            for key in ("label", "type"):
                if field_def.get(key) is not None and not isinstance(field_def[key], str):
                    self._invalid(
                        key_path(item_path, key),
                        f"'{key}' of {item_what}",
                        "a string",
                        field_def[key],
                    )
            if field_def.get("required") is not None and not isinstance(
                field_def["required"], bool
            ):
                self._invalid(
                    key_path(item_path, "required"),
                    f"'required' of {item_what}",
                    "true or false",
                    field_def["required"],
                )
            pattern = field_def.get("pattern")
            if pattern is not None:
                reason = pattern_error(pattern) if isinstance(pattern, str) else "not a string"
                if reason is not None:
                    self._invalid(
                        key_path(item_path, "pattern"),
                        f"'pattern' of {item_what} ({reason})",
                        "a regular expression in RE2 syntax",
                        pattern,
                    )
            options = field_def.get("options")
            if options is not None and not isinstance(options, list | dict):
                self._invalid(
                    key_path(item_path, "options"),
                    f"'options' of {item_what}",
                    "a list of values or {value, label}, or an object of value: label",
                    options,
                )

    def _unknown(
        self, value: Mapping[str, Any], known: frozenset[str], path: str, what: str
    ) -> None:
        for key in value:
            if key not in known:
                self.warning(
                    key_path(path, key),
                    f"{what} has an unknown key '{key}', which is ignored; known keys: "
                    f"{', '.join(sorted(known))}",
                    IssueCode.UNKNOWN_CONFIG_KEY,
                )


_Check = Callable[[ConfigChecker, object, ConfigKey, str, str], None]

_CHECKS: dict[ValueKind, _Check] = {
    ValueKind.STRING: ConfigChecker._string,
    ValueKind.BOOLEAN: ConfigChecker._boolean,
    ValueKind.NUMERIC: ConfigChecker._numeric,
    ValueKind.INTEGER_OR_STRING: ConfigChecker._integer_or_string,
    ValueKind.OBJECT: ConfigChecker._object,
    ValueKind.LIST: ConfigChecker._list,
    ValueKind.STRING_LIST: ConfigChecker._string_list,
    ValueKind.CHOICE: ConfigChecker._choice,
    ValueKind.REFERENCE: ConfigChecker._reference,
    ValueKind.EXPRESSION: ConfigChecker._expression,
    ValueKind.TEXT_OR_EXPRESSION: ConfigChecker._text_or_expression,
    ValueKind.MAPPING: ConfigChecker._mapping,
    ValueKind.DURATION: ConfigChecker._timer,
    ValueKind.DATE: ConfigChecker._timer,
    ValueKind.CYCLE: ConfigChecker._timer,
    ValueKind.DURATION_OR_DATE: ConfigChecker._timer,
    ValueKind.RETRY_POLICY: ConfigChecker._retry_policy,
    ValueKind.MULTI_INSTANCE: ConfigChecker._multi_instance,
    ValueKind.SCRIPT: ConfigChecker._script,
    ValueKind.DECISION_TABLE: ConfigChecker._decision_table,
    ValueKind.FORM_FIELDS: ConfigChecker._form_fields,
}
