"""Moving running cases of a case type onto a newer version.

:func:`can_migrate` and :func:`migrate` move a running case's workflow onto a
newer version with SpiffWorkflow's own diff tools
(``SpiffWorkflow.bpmn.util.diff``): the old and new specs are aligned task by
task, the case's tasks are checked against that alignment, and the workflow's
ready and waiting branches are reset onto the new spec. (What changed between
two versions, for the designer's version list, is
:mod:`engine.bundles.changes`: it needs no running workflow.)

A case is refused (with Spanish reasons) when a task it is at was removed or
changed in a way that matters (type, lane, scripts, events...), when its
history passes through an element the new version no longer has, or when the
migrated state does not load back onto the new version. Label, documentation,
form and instruction changes, and new or rewired steps ahead of the case, are
fine: that is what migrating is for.

Caveats of the reset (SpiffWorkflow's ``migrate_workflow``): the ready and
waiting tasks keep their ids but get their data back from their parent task,
and a waiting timer computes its due time again (a ``timeDate`` from the same
data gives the same time; a ``timeDuration`` starts over). The state returned
by :func:`migrate` has not been advanced: the caller restores it on the new
version, runs :func:`engine.workflow.runtime.advance` and refreshes its projections,
as after any other step.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.bundles.registry import ParsedVersion
from engine.domain.errors import N_, Message, ServiceError
from engine.workflow import runtime

__all__ = [
    "MigrationRefused",
    "can_migrate",
    "migrate",
    "obstacles",
]

#: SpiffWorkflow's spec converters; ``SpecDiff`` compares specs through them.
_SPEC_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)

#: Task states of the places a case is at.
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED

#: Task states of the case's history.
_DONE = TaskState.COMPLETED | TaskState.ERROR | TaskState.CANCELLED

#: Spec attributes that may change under a task the case is at: what people
#: see (label, documentation, form, instructions, status) and the flows
#: around it (the branch is reset and predicted again on the new spec).
_SAFE_CHANGES = frozenset(
    {
        "bpmn_name",
        "description",
        "documentation",
        "extensions",
        "inputs",
        "outputs",
        "lookahead",
    }
)

#: Spanish names of the spec attributes a designer may have changed.
_ATTRIBUTE_NAMES = {
    "typename": "el tipo de elemento",
    "name": "el identificador",
    "bpmn_id": "el identificador",
    "lane": "el carril",
    "manual": "el tipo de tarea",
    "prescript": "el script previo",
    "postscript": "el script posterior",
    "script": "el script",
    "event_definition": "la definición del evento",
    "cancel_activity": "si interrumpe la actividad",
    "condition": "la condición",
    "cond_task_specs": "las condiciones de salida",
    "default_task_spec": "el flujo por defecto",
    "io_specification": "las entradas y salidas de datos",
    "data_input_associations": "las asociaciones de datos",
    "data_output_associations": "las asociaciones de datos",
    "spec": "el proceso que llama",
    "decision_table": "la tabla de decisión",
}


class MigrationRefused(ServiceError):
    """A case cannot move to the new version.

    ``messages`` holds one translatable :class:`Message` per reason (for the
    web layer); ``reasons`` the same sentences in Spanish.
    """

    def __init__(self, messages: list[Message]) -> None:
        """Keep the reasons."""
        reasons = [_spanish(m) for m in messages]
        super().__init__(
            N_("El caso no se puede trasladar a la nueva versión: %(reasons)s"),
            reasons="; ".join(reasons),
        )
        self.messages = messages
        self.reasons = reasons


def _spanish(message: Message) -> str:
    """A message's Spanish sentence (the message id, interpolated)."""
    return message.text % message.params if message.params else message.text


def _reason(text: str, **params: Any) -> Message:
    """One reason a case cannot be migrated."""
    return Message(text, params)


def can_migrate(
    old: ParsedVersion, new: ParsedVersion, state: str, format_version: int
) -> tuple[bool, list[str]]:
    """Whether a case's workflow (stored on ``old``) can move onto ``new``.

    Returns ``(True, [])`` or ``(False, reasons)`` with one Spanish sentence
    per obstacle. The migration is actually tried on a throwaway copy, so a
    ``True`` here means :func:`migrate` will succeed.
    """
    _, reasons = _try_migrate(old, new, state, format_version)
    return not reasons, [_spanish(r) for r in reasons]


def obstacles(
    old: ParsedVersion, new: ParsedVersion, state: str, format_version: int
) -> list[Message]:
    """Why a case cannot move onto ``new`` (translatable); empty when it can."""
    return _try_migrate(old, new, state, format_version)[1]


def migrate(
    old: ParsedVersion, new: ParsedVersion, state: str, format_version: int
) -> str:
    """The case's workflow state moved onto ``new``, serialized for storage.

    The result is in the current format (:data:`engine.workflow.runtime.FORMAT_VERSION`)
    and loads with ``runtime.load_state(new, ...)``. Raises
    :class:`MigrationRefused` with the reasons when it cannot be done.
    """
    migrated, reasons = _try_migrate(old, new, state, format_version)
    if reasons or migrated is None:
        raise MigrationRefused(reasons)
    return migrated


def _try_migrate(
    old: ParsedVersion, new: ParsedVersion, state: str, format_version: int
) -> tuple[str | None, list[Message]]:
    """Migrate, returning the new state or the reasons it cannot be done."""
    if new.case_type != old.case_type:
        return None, [
            _reason(
                N_("La nueva versión es de otro tipo de caso (%(old)s, %(new)s)."),
                old=old.case_type,
                new=new.case_type,
            )
        ]
    workflow = runtime.load_state(old, state, format_version)
    if workflow.completed:
        return None, [_reason(N_("El caso ya terminó: no hay nada que trasladar."))]
    top_diff, sub_diffs = diff_workflow(
        _SPEC_REGISTRY, workflow, new.spec, new.subprocess_specs
    )
    reasons = _obstacles(top_diff, old)
    for sub_id, sub_diff in sub_diffs.items():
        sub = workflow.subprocesses[sub_id]
        if sub_diff is None:
            reasons.append(
                _reason(
                    N_("El subproceso «%(name)s» no existe en la nueva versión."),
                    name=sub.spec.name,
                )
            )
        else:
            reasons.extend(_obstacles(sub_diff, old))
    if reasons:
        return None, _unique(reasons)
    for sub_id, sub_diff in sub_diffs.items():
        sub = workflow.subprocesses[sub_id]
        migrate_workflow(sub_diff, sub, new.subprocess_specs[sub.spec.name])
    migrate_workflow(top_diff, workflow, new.spec)
    workflow.subprocess_specs = new.subprocess_specs
    stale = _stale_tasks(workflow)
    if stale:
        return None, [
            _reason(
                N_(
                    "El caso tiene pasos que no existen en la nueva versión: %(names)s."
                ),
                names=", ".join(sorted(stale)),
            )
        ]
    try:
        migrated = runtime.dump_state(workflow)
        runtime.load_state(new, migrated, runtime.FORMAT_VERSION)
    except Exception as exc:  # any failure means: do not migrate
        return None, [
            _reason(
                N_("El estado del caso no carga en la nueva versión: %(detail)s"),
                detail=str(exc) or exc.__class__.__name__,
            )
        ]
    return migrated, []


def _label(version: ParsedVersion, task: Any) -> str:
    """A task's name as designers know it (from the version it belongs to)."""
    bpmn_id = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    info = version.tasks.get(bpmn_id)
    return info.name if info is not None else str(bpmn_id)


def _obstacles(diff: Any, old: ParsedVersion) -> list[Message]:
    """Reasons a workflow (or subprocess) cannot follow its spec diff."""
    reasons: list[Message] = []
    for task in diff.removed:
        if task.has_state(_ACTIVE):
            reasons.append(
                _reason(
                    N_("El caso está en «%(name)s», que la nueva versión elimina."),
                    name=_label(old, task),
                )
            )
        elif task.has_state(_DONE):
            reasons.append(
                _reason(
                    N_(
                        "El caso ya pasó por «%(name)s», que la nueva versión "
                        "elimina: su historial no cabe en ella."
                    ),
                    name=_label(old, task),
                )
            )
    for task in diff.changed:
        if not task.has_state(_ACTIVE):
            continue
        new_spec = diff.alignment.get(task)
        changes = _spec_changes(diff, task)
        unsafe = sorted(
            {_ATTRIBUTE_NAMES.get(c, c) for c in changes if c not in _SAFE_CHANGES}
        )
        if not unsafe:
            continue
        name = _label(old, task)
        if new_spec is not None and new_spec.name != task.task_spec.name:
            reasons.append(
                _reason(
                    N_(
                        "El caso está en «%(name)s», que en la nueva versión "
                        "corresponde a otro elemento (%(other)s)."
                    ),
                    name=name,
                    other=new_spec.name,
                )
            )
        else:
            reasons.append(
                _reason(
                    N_(
                        "El caso está en «%(name)s», que cambió en la nueva "
                        "versión (%(what)s)."
                    ),
                    name=name,
                    what=", ".join(unsafe),
                )
            )
    return reasons


def _spec_changes(diff: Any, task: Any) -> list[str]:
    """The changed spec attributes of a task of a :class:`WorkflowDiff`.

    ``WorkflowDiff`` lists the changed tasks; the attributes are kept on the
    ``SpecDiff`` it was built from, keyed by the old spec. The workflow diff
    does not keep that object, so the comparison is made again here.
    """
    new_spec = diff.alignment.get(task)
    if new_spec is None:
        return []
    before = _SPEC_REGISTRY.convert(task.task_spec)
    after = _SPEC_REGISTRY.convert(new_spec)
    if before.get("typename") != after.get("typename"):
        return ["typename"]
    return [key for key, value in before.items() if after.get(key) != value]


def _stale_tasks(workflow: Any) -> set[str]:
    """Names of tasks still on a spec the (migrated) workflow no longer has."""
    stale: set[str] = set()
    owners = [workflow, *workflow.subprocesses.values()]
    for owner in owners:
        for task in owner.tasks.values():
            name = task.task_spec.name
            if owner.spec.task_specs.get(name) is not task.task_spec:
                stale.add(str(getattr(task.task_spec, "bpmn_name", None) or name))
    return stale


def _unique(items: list[Message]) -> list[Message]:
    """``items`` without repeats, in order."""
    unique: list[Message] = []
    for item in items:
        if item not in unique:
            unique.append(item)
    return unique
