"""Link events: a link throw event moves its token to the link catch event of the same name.

The pair lives in one (sub)process (the validator makes sure the catch exists and is the only
one of its name there); the jump is a step of the token like a sequence flow, without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow_engine.engine.interpreter.state import IncidentError, Next, Token
from workflow_engine.model.graph import link_name, link_target
from workflow_engine.model.types import FlowNode, NodeType

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime


async def link_event(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """A link throw jumps to its catch; a link catch passes the token on."""
    if node.type is NodeType.INTERMEDIATE_CATCH_EVENT:
        rt.record("event.passed", node=node)
        return rt.leave(token, node)
    target = link_target(rt.model, node.id)
    if target is None:  # the validator refuses such a model; kept as a clear incident
        raise IncidentError(
            f"link throw event '{node.id}' has no link catch event named "
            f"'{link_name(node)}' in its scope",
            error_type="Configuration",
        )
    rt.record("event.passed", node=node, data={"link_name": link_name(node), "target": target})
    return [(target, None)]
