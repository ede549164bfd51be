"""Process diagrams as SVG: a definition's, and an instance's with its run-time state painted.

The state comes from the instance row (status, nodes holding a token) and its event log:
which nodes ran, which failed, which flows tokens travelled. The interpreter records no event
per sequence flow, so flows are read from gateway records where there are some (`gateway.taken`,
`gateway.joined` name their flows) and otherwise inferred: a flow counts as taken when its
source finished and its target was entered afterwards.

Authorization (issue 6): a definition's diagram needs `definition:read` in its tenant, an
instance's the instance read rules (`instance:read`, or `instance:read_own` for instances one
started); anything outside answers NotFoundError like a missing object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workflow_engine.model.svg import DiagramMarks, render_svg
from workflow_engine.model.types import NodeType, ProcessModel
from workflow_engine.services.access import object_scope, require_instance_read
from workflow_engine.services.definitions import DefinitionService
from workflow_engine.services.errors import NotFoundError
from workflow_engine.services.instances import INCIDENT_CLOSED, INCIDENT_OPENED, open_incidents
from workflow_engine.store.database import Database
from workflow_engine.store.instances import EventRecord, InstanceRecord, InstanceRepository

#: A token reached the node.
ENTERED = frozenset(
    {
        "activity.started",
        "activity.scheduled",
        "multi_instance.started",
        "call.started",
        "task.created",
        "event.waiting",
        "event.passed",
        "timer.scheduled",
        "boundary.triggered",
        "gateway.waiting",
        "gateway.joined",
        "gateway.taken",
    }
)
#: The node finished (and passed its token on, or was interrupted by a boundary event).
LEFT = frozenset(
    {
        "activity.completed",
        "activity.interrupted",
        "event.passed",
        "event.timed_out",
        "gateway.taken",
    }
)
_FAILED = "activity.failed"
#: Events after which an earlier failure no longer stands (a retry got through).
_RECOVERED = frozenset({"activity.started", "activity.result", "activity.completed"})
_GATEWAY_FLOWS = frozenset({"gateway.taken", "gateway.joined"})
#: Node types whose token waits for the outside world (a person, a message, a signal, time).
WAITING_TYPES = frozenset(
    {
        NodeType.USER_TASK,
        NodeType.RECEIVE_TASK,
        NodeType.INTERMEDIATE_CATCH_EVENT,
        NodeType.EVENT_BASED_GATEWAY,
    }
)
#: Every event type the marks read (the log is fetched filtered to these).
MARK_EVENT_TYPES = tuple(
    sorted(ENTERED | LEFT | _RECOVERED | {_FAILED, INCIDENT_OPENED, *INCIDENT_CLOSED})
)


def instance_marks(
    model: ProcessModel, instance: InstanceRecord, events: Sequence[EventRecord]
) -> DiagramMarks:
    """Which nodes are active / done / failed / waiting and which flows were taken.

    Args:
        model: The model the instance runs.
        instance: The instance row (its status and the nodes holding a token now).
        events: Its event log in sequence order (other event types are ignored).

    Returns:
        The marks; ids the model does not know are left out.
    """
    entered: dict[str, int] = {}  # node -> last sequence a token reached it
    left: dict[str, int] = {}  # node -> first sequence it finished
    failing: dict[str, bool] = {}
    taken: set[str] = set()
    for event in events:
        node_id = event.activity_id
        if node_id is None or node_id not in model.nodes:
            continue
        kind = event.event_type
        if kind in ENTERED:
            entered[node_id] = event.sequence
        if kind in LEFT:
            left.setdefault(node_id, event.sequence)
        if kind == _FAILED:
            failing[node_id] = True
        elif kind in _RECOVERED:
            failing[node_id] = False
        if kind in _GATEWAY_FLOWS:
            data = event.data if isinstance(event.data, Mapping) else {}
            flows = data.get("flows")
            if isinstance(flows, list):
                taken.update(str(f) for f in flows if str(f) in model.flows)
    for flow in model.flows.values():
        source = model.nodes.get(flow.source)
        if source is None or source.is_gateway:
            continue  # a gateway names the flows it took
        finished, reached = left.get(flow.source), entered.get(flow.target)
        if finished is not None and reached is not None and reached > finished:
            taken.add(flow.id)
    failed = {node for node, now in failing.items() if now}
    failed.update(
        i.node_id for i in open_incidents(list(events)) if i.node_id and i.node_id in model.nodes
    )
    holding = set() if instance.ended else set(instance.active_activity_ids) & set(model.nodes)
    waiting = {n for n in holding if model.nodes[n].type in WAITING_TYPES} - failed
    active = holding - waiting - failed
    return DiagramMarks(
        active=frozenset(active),
        done=frozenset(left),
        failed=frozenset(failed),
        waiting=frozenset(waiting),
        taken_flows=frozenset(taken),
    )


class DiagramService:
    """Diagrams of definitions and instances (stateless: cheap to create per request).

    Args:
        database: The application database (instances and their event logs).
        definitions: The definition service (models through its cache).
    """

    def __init__(self, *, database: Database, definitions: DefinitionService) -> None:
        self._db = database
        self._definitions = definitions

    async def definition_svg(self, definition_id: int) -> str:
        """The definition version's diagram (its own coordinates when it has them).

        Raises:
            PermissionDeniedError: without `definition:read`.
            NotFoundError: no such definition (or one of another tenant).
        """
        return render_svg(await self._definitions.model(definition_id))

    async def instance_marks(self, instance_id: str) -> tuple[ProcessModel, DiagramMarks]:
        """The instance's model and its run-time marks.

        Raises:
            PermissionDeniedError: without instance read permission.
            NotFoundError: no such instance (or one outside the caller's scope), or its
                definition was deleted.
        """
        scope = object_scope(require_instance_read())
        async with self._db.session() as session:
            repo = InstanceRepository(session)
            record = await repo.get(instance_id)
            if record is None or not scope.sees(
                tenant_id=record.tenant_id, start_user_id=record.start_user_id
            ):
                raise NotFoundError(f"instance {instance_id} does not exist")
            events = await repo.events(instance_id, types=MARK_EVENT_TYPES)
        if record.process_definition_id is None:
            raise NotFoundError(
                f"the definition of instance {instance_id} was deleted: it has no diagram"
            )
        # The instance is visible, so is the model it runs.
        model = await self._definitions.cached_model(record.process_definition_id)
        return model, instance_marks(model, record, events)

    async def instance_svg(self, instance_id: str) -> str:
        """The instance's diagram with active, done, failed and waiting nodes and taken flows.

        Raises:
            NotFoundError: no such instance, or its definition was deleted.
        """
        model, marks = await self.instance_marks(instance_id)
        return render_svg(model, marks=marks)
