"""Decision tables of business rule tasks (hit policies UNIQUE, FIRST, COLLECT)."""

from __future__ import annotations

from typing import Any

from workflow_engine.engine.interpreter.state import IncidentError
from workflow_engine.expressions import evaluate, evaluate_condition
from workflow_engine.model.types import FlowNode

HIT_POLICIES = ("UNIQUE", "FIRST", "COLLECT")


def run_decision_table(node: FlowNode, variables: dict[str, Any]) -> dict[str, Any]:
    """The variables a decision table sets.

    With `result_variable`: UNIQUE / FIRST store the matched rule's outputs (an object, or null
    when nothing matches), COLLECT stores the list of every matched rule's outputs. Without it
    the outputs merge into the variables (COLLECT: each output name gets the list of values).

    Raises:
        IncidentError: no table, an unknown hit policy, or several matches under UNIQUE.
    """
    table = node.config.get("decision_table")
    if not isinstance(table, dict) or not isinstance(table.get("rules"), list):
        raise IncidentError(
            f"business rule task '{node.id}' has no decision_table with rules",
            error_type="Configuration",
        )
    policy = str(table.get("hit_policy", "UNIQUE")).upper()
    if policy not in HIT_POLICIES:
        raise IncidentError(
            f"business rule task '{node.id}': hit_policy {policy!r} is not one of "
            + ", ".join(HIT_POLICIES),
            error_type="Configuration",
        )
    matched: list[tuple[int, dict[str, Any]]] = []
    for index, rule in enumerate(table["rules"]):
        conditions = rule.get("when", []) if isinstance(rule, dict) else []
        if all(evaluate_condition(c, variables) for c in conditions):
            then = rule.get("then", {}) if isinstance(rule, dict) else {}
            matched.append((index, {k: evaluate(v, variables) for k, v in then.items()}))
            if policy == "FIRST":
                break
    if policy == "UNIQUE" and len(matched) > 1:
        raise IncidentError(
            f"business rule task '{node.id}': hit policy UNIQUE but rules "
            + ", ".join(str(i) for i, _ in matched)
            + " all match",
            error_type="DecisionNotUnique",
        )
    outputs = [o for _, o in matched]
    target = node.config.get("result_variable")
    if isinstance(target, str) and target:
        if policy == "COLLECT":
            return {target: outputs}
        return {target: outputs[0] if outputs else None}
    if policy == "COLLECT":
        collected: dict[str, list[Any]] = {}
        for output in outputs:
            for key, value in output.items():
                collected.setdefault(key, []).append(value)
        return dict(collected)
    return outputs[0] if outputs else {}
