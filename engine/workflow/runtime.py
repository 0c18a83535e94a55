"""The workflow runtime: start, advance, inspect, save and restore workflows.

This is the only module (with ``registry``) that touches SpiffWorkflow. The
stored state leaves the spec out (it lives once per version, in
``process_version``) and carries our own format version.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.bundles import milestones
from engine.bundles.registry import ParsedVersion
from engine.workflow import script_bounds
from engine.workflow.scripting import make_script_engine
from engine.workflow.timekeeping import SCRIPT_HELPERS

#: Our serialized-state format. Bump it with a data migration in
#: ``STATE_MIGRATIONS`` whenever the stored shape changes.
FORMAT_VERSION = 1

#: The intake variable naming the entity staff gave at intake (a code, or
#: empty: the 311 classifies the case). Every new case starts with it, so a
#: diagram's gateways may read it without asking whether it exists.
INDICATED_ENTITY = "entidad_indicada"
#: Variables every new case starts with, under what the intake gives.
START_DEFAULTS: dict[str, Any] = {INDICATED_ENTITY: ""}

STATE_MIGRATIONS: dict[int, Any] = {}

SCRIPT_ENGINE = make_script_engine(SCRIPT_HELPERS)


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Leaves the spec out on save and takes it from the version on load."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        """Serialize the workflow without ``spec`` and ``subprocess_specs``."""
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct  # type: ignore[no-any-return]

    def from_dict(
        self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None
    ) -> Any:
        """Restore a workflow onto an already-parsed spec."""
        from uuid import UUID

        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    """A SpiffWorkflow serializer whose workflow converter drops the spec."""
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()


def dump_state(workflow: Any) -> str:
    """Serialize a workflow's state (not its spec) to compact JSON."""
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = registry.convert(workflow)
        return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load_state(version: ParsedVersion, state: str, format_version: int) -> Any:
    """Restore a workflow from stored state on its version's cached spec."""
    dct = json.loads(state)
    for step in range(format_version, FORMAT_VERSION):
        dct = STATE_MIGRATIONS[step](dct)
    workflow = _SERIALIZER.registry.restore(
        dct, spec=version.spec, subprocess_specs=version.subprocess_specs
    )
    workflow.script_engine = SCRIPT_ENGINE
    return workflow


def start(version: ParsedVersion, data: dict[str, Any]) -> Any:
    """Start a workflow with the intake ``data`` and run it to its first wait."""
    workflow = BpmnWorkflow(
        version.spec, version.subprocess_specs, script_engine=SCRIPT_ENGINE
    )
    # The built-in Start task is the first ready one; data set on it flows
    # into the start event and on to the first user task.
    first = workflow.get_next_task(state=TaskState.READY)
    first.data.update(copy.deepcopy({**START_DEFAULTS, **data}))
    with script_bounds.step():
        advance(workflow)
    return workflow


def advance(workflow: Any) -> None:
    """Fire due timers, then run engine steps until only waits remain.

    The whole step shares one budget of time and automatic tasks
    (:func:`engine.workflow.script_bounds.step`), so a diagram that loops forever
    fails instead of holding the process.
    """
    with script_bounds.step() as did_complete_task:
        workflow.refresh_timers()
        workflow.do_engine_steps(did_complete_task=did_complete_task)


def find_ready_task(workflow: Any, task_id: str) -> Any | None:
    """The ready human task with this id, or None."""
    from uuid import UUID

    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError):
        return None
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        return None
    return task


def complete(workflow: Any, task: Any, data: dict[str, Any]) -> None:
    """Complete a ready human task with submitted data, then advance."""
    task.data.update(copy.deepcopy(data))
    with script_bounds.step():
        task.run()
        advance(workflow)


@dataclass(frozen=True)
class ReadyTask:
    """A human task waiting for someone."""

    id: str
    bpmn_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """What the store projects out of a workflow after each step."""

    ready: list[ReadyTask]
    completed: bool
    estado: str | None
    #: The key of the citizen's milestone the workflow stands at (``hito``).
    hito: str | None
    end_event: str | None
    data: dict[str, Any]
    next_timer_at: datetime | None
    #: BPMN ids of the elements completed since ``before``, in order, each
    #: with the task data it completed with.
    steps: list[tuple[str, dict[str, Any]]]


def _milestone(
    version: ParsedVersion, end_event: str | None, ready: list[Any], done: list[Any]
) -> str | None:
    """The milestone a workflow stands at: its end event's, else a ready
    task's, else the last completed element's that marks one."""
    if not version.milestones:
        return None
    candidates = [end_event] if end_event else []
    candidates += [item.bpmn_id for item in ready]
    candidates += [getattr(t.task_spec, "bpmn_id", None) or "" for t in reversed(done)]
    for bpmn_id in candidates:
        info = version.tasks.get(bpmn_id or "")
        if info is not None and (key := milestones.of(info.props)):
            return key
    return None


def ready_ids(workflow: Any) -> frozenset[str]:
    """Ids of the workflow's ready human tasks."""
    return frozenset(
        str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)
    )


def completed_ids(workflow: Any) -> frozenset[str]:
    """Ids of the workflow's completed tasks (to diff against after a step)."""
    return frozenset(
        str(t.id) for t in all_tasks(workflow) if t.state == TaskState.COMPLETED
    )


def all_tasks(workflow: Any) -> Iterator[Any]:
    """Every task of a workflow and of its subprocesses, in no given order.

    A walk over the workflows' task tables: several times cheaper than
    ``get_tasks``, which walks the task tree through filters, for the
    questions whose answer does not depend on tree order.
    """
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


#: The task-data variable naming the entity a case's enlace tasks go to.
ENTITY_VARIABLE = "entidad"
#: Task states whose data no longer flows anywhere.
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR
_ABSENT = object()
_INHERIT = object()  # a task whose data takes its parent's entity


def move_entity(state: str, format_version: int, old: str, new: str) -> str:
    """Stored state whose pending tasks name entity ``new`` instead of ``old``.

    Every task not finished (ready, waiting, future) whose ``entidad`` is
    ``old`` gets ``new``: the ready ones go to the new entity's queue and
    the data they pass on names it, so the steps that follow (a timer's
    escalation, the answer after an acknowledgement) stay with it. What
    finished tasks recorded is history and stays.

    Works on the stored JSON, without restoring the workflow (a tenth of
    the time, for an entity's thousands of cases): the serializer stores a
    task's data as its changes from its parent's (``delta``), so a task
    whose value changes gets it written out, and a finished task under a
    changed one gets its old value written out, so it keeps it.
    """
    dct = json.loads(state)
    for step in range(format_version, FORMAT_VERSION):
        dct = STATE_MIGRATIONS[step](dct)
    workflows = [dct, *dct.get("subprocesses", {}).values()]
    for workflow in workflows:
        _move_in(workflow.get("tasks", {}), old, new)
    return json.dumps(dct, separators=(",", ":"))


def _move_in(tasks: dict[str, Any], old: str, new: str) -> None:
    """:func:`move_entity` on one (sub)workflow's serialized tasks."""
    before: dict[str, Any] = {}

    def own(task: dict[str, Any]) -> Any:
        """The entity a task sets itself, or ``_INHERIT`` if it takes its parent's."""
        delta, parent = task.get("delta"), task.get("parent")
        if delta and parent in tasks:
            if ENTITY_VARIABLE in delta.get("updates", {}):
                return delta["updates"][ENTITY_VARIABLE]
            if ENTITY_VARIABLE in delta.get("deletions", []):
                return _ABSENT
            return _INHERIT
        return task.get("data", {}).get(ENTITY_VARIABLE, _ABSENT)

    def value(task_id: str) -> Any:
        """The entity a task's restored data would hold (before the move).

        Walks up the parents without recursion: a long-running case's chain
        of tasks can be deeper than Python's recursion limit.
        """
        chain: list[str] = []
        current = task_id
        while current not in before:
            found = own(tasks[current])
            if found is not _INHERIT:
                before[current] = found
                break
            chain.append(current)
            current = tasks[current]["parent"]
        for pending in reversed(chain):
            before[pending] = before[current]
        return before[task_id]

    def after(task_id: str) -> Any:
        """The entity the task holds after the move."""
        moves = not tasks[task_id]["state"] & _FINISHED and value(task_id) == old
        return new if moves else value(task_id)

    for task_id, task in tasks.items():
        wanted = after(task_id)
        delta, parent = task.get("delta"), task.get("parent")
        if delta and parent in tasks:
            inherits = after(parent) != value(parent)
            if wanted == value(task_id) and not inherits:
                continue
            if wanted is _ABSENT:
                continue  # it was deleted here, and stays so
            explicit = ENTITY_VARIABLE in delta.get("updates", {})
            if wanted != value(task_id) or not explicit:
                delta.setdefault("updates", {})[ENTITY_VARIABLE] = wanted
        elif wanted != value(task_id):
            task.setdefault("data", {})[ENTITY_VARIABLE] = wanted


def snapshot(
    version: ParsedVersion, workflow: Any, before: frozenset[str] = frozenset()
) -> Snapshot:
    """Read the projections (ready tasks, public status, timers) off a workflow.

    ``before`` is :func:`completed_ids` taken before the step, so the
    snapshot can say which elements the step completed.
    """
    ready = [
        ReadyTask(str(t.id), t.task_spec.bpmn_id, t.data)
        for t in workflow.get_tasks(state=TaskState.READY, manual=True)
    ]
    end_event = None
    estado = None
    # Completed and waiting tasks in one pass; only the ready ones (above)
    # need the tree's order.
    done: list[Any] = []
    waiting: list[Any] = []
    for task in all_tasks(workflow):
        if task.state == TaskState.COMPLETED:
            done.append(task)
        elif task.state == TaskState.WAITING:
            waiting.append(task)
    done.sort(key=lambda t: t.last_state_change)
    if workflow.completed:
        ends = [t for t in done if isinstance(t.task_spec, EndEvent)]
        if ends:
            end_event = ends[-1].task_spec.bpmn_id
            info = version.tasks.get(end_event)
            estado = info.estado if info else None
    if estado is None:
        for item in ready:
            info = version.tasks.get(item.bpmn_id)
            if info and info.estado:
                estado = info.estado
                break
    if estado is None:
        for task in reversed(done):
            info = version.tasks.get(getattr(task.task_spec, "bpmn_id", None) or "")
            if info and info.estado:
                estado = info.estado
                break
    hito = _milestone(version, end_event, ready, done)
    done_now = [
        t
        for t in done
        if str(t.id) not in before and getattr(t.task_spec, "bpmn_id", None)
    ]
    steps = [(t.task_spec.bpmn_id, t.data) for t in done_now]
    if ready:
        data = ready[0].data
    elif workflow.last_task is not None:
        data = workflow.last_task.data
    else:
        data = {}
    return Snapshot(
        ready=ready,
        completed=bool(workflow.completed),
        estado=estado,
        hito=hito,
        end_event=end_event,
        data=data,
        next_timer_at=_next_timer(waiting),
        steps=steps,
    )


def _next_timer(waiting: list[Any]) -> datetime | None:
    """The earliest time one of the ``waiting`` tasks' timers is due."""
    times: list[datetime] = []
    for task in waiting:
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task._get_internal_data("event_value")
        when = _as_datetime(value)
        if when is not None:
            times.append(when)
    return min(times) if times else None


def _as_datetime(value: Any) -> datetime | None:
    """Parse a timer's stored event value into an aware datetime."""
    if isinstance(value, dict):
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def raw_serializer() -> BpmnWorkflowSerializer:
    """SpiffWorkflow's stock serializer (for benchmarks and comparisons)."""
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def element_states(workflow: Any) -> tuple[list[str], list[str]]:
    """BPMN ids of the elements completed and of those active now."""
    completed: list[str] = []
    current: list[str] = []
    active = (TaskState.READY, TaskState.WAITING, TaskState.STARTED)
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            if bpmn_id not in completed:
                completed.append(bpmn_id)
        elif task.state in active and bpmn_id not in current:
            current.append(bpmn_id)
    return completed, current
