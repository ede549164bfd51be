"""Output mappings read the activity's result fields as local variables (Zeebe / Camunda)."""

from __future__ import annotations

from temporalio.client import Client

from .harness import doc, el, engine, recording


async def test_output_mapping_sees_result_fields_over_process_variables(
    temporal_client: Client,
) -> None:
    # lib-bpmn-engine's simple-count-loop maps `<zeebe:output source="=counter" target="counter">`
    # to `${counter}`: it must be the job's returned counter, not the old process variable.
    definition = doc(
        el("start", "startEvent", "call"),
        el(
            "call",
            "serviceTask",
            "end",
            config={
                "activity_name": "Increase",
                "output_mapping": {
                    "counter": "${counter}",
                    "via_result": "${result.counter + 10}",
                    "kept": "${name}",
                },
            },
        ),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        increase = recording("Increase", eng.calls, lambda arg: {"counter": arg["counter"] + 1})
        async with engine(temporal_client, increase) as eng2:
            handle = await eng2.start(definition, variables={"counter": 1, "name": "n"})
            result = await handle.result()
    assert result.variables["counter"] == 2
    assert result.variables["via_result"] == 12
    assert result.variables["kept"] == "n"
