"""Link events: a link throw moves the token to the link catch of the same name."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from .harness import doc, el, engine

pytestmark = pytest.mark.temporal


async def test_link_throw_jumps_to_its_catch(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "to_a"),
        el("to_a", "intermediateThrowEvent", config={"link_name": "A"}),
        el("from_b", "intermediateCatchEvent", "done", config={"link_name": "B"}),
        el("from_a", "intermediateCatchEvent", "work", config={"link_name": "A"}),
        el("work", "scriptTask", "to_b", config={"script": {"n": "${n + 1}"}}),
        el("to_b", "intermediateThrowEvent", config={"link_name": "B"}),
        el("done", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition, variables={"n": 0})).result()
    assert result.status == "completed" and result.end_node_id == "done"
    assert result.variables == {"n": 1}
    assert eng.passed() == ["start", "to_a", "from_a", "work", "to_b", "from_b", "done"]
    jumps = [e.data for e in eng.events() if e.type == "event.passed" and "link_name" in e.data]
    assert [(j["link_name"], j["target"]) for j in jumps] == [("A", "from_a"), ("B", "from_b")]


async def test_link_pairs_inside_a_subprocess_and_a_loop_back(temporal_client: Client) -> None:
    inner = [
        el("s_start", "startEvent", "again"),
        el("again", "intermediateCatchEvent", "count", config={"link_name": "again"}),
        el("count", "scriptTask", "gw", config={"script": {"n": "${n + 1}"}}),
        el("gw", "exclusiveGateway", "loop", "s_end", config={"default_flow": "s_end"}),
        el("loop", "intermediateThrowEvent", config={"link_name": "again"}),
        el("s_end", "endEvent"),
    ]
    definition = doc(
        el("start", "startEvent", "sp"),
        el("sp", "subProcess", "end", config={"elements": inner}),
        el("end", "endEvent"),
    )
    # The loop condition sits on the implicit flow gw->loop: use explicit flows instead.
    inner[3] = el("gw", "exclusiveGateway", "f_loop", "s_end", config={"default_flow": "s_end"})
    inner.append(
        {
            "id": "f_loop",
            "type": "sequenceFlow",
            "source": "gw",
            "target": "loop",
            "config": {"condition": "${n < 3}"},
        }
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition, variables={"n": 0})).result()
    assert result.status == "completed"
    assert result.variables["n"] == 3
    assert eng.passed().count("loop") == 2
