"""Process tests: what one step does, and its expectations checked.

The actions of :mod:`engine.services.scenario_runs`: filing the scenario's
case, completing a task as a user of its lane, moving the frozen clock and
firing each timer at its moment as the worker would; then comparing what
the case shows with what a step expects.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from engine.bundles import forms
from engine.bundles.registry import ParsedVersion
from engine.bundles.scenario_files import LOCAL_ZONE, Scenario, Step, parse_moment
from engine.domain.clock import FrozenClock
from engine.domain.enums import Channel, Role
from engine.domain.errors import N_, InvalidData, Message
from engine.domain.scenarios import Check
from engine.services.intake import open_case
from engine.services.platform import Platform
from engine.services.scenario_sandbox import Observed, Sandbox, case_timer
from engine.services.tasks import complete_task, complete_tracked_task, get_task
from engine.services.worker import fire_due_timers
from engine.workflow.calendar import BusinessCalendar

#: Most timer firings one clock advance may cause (a timer loop ends here).
MAX_FIRINGS = 200


class StepFailed(Exception):
    """A step's action failed; ``message`` says why."""

    def __init__(self, message: Message) -> None:
        """Keep the message."""
        super().__init__(message.text)
        self.message = message


def file_case(box: Sandbox, p: Platform, scenario: Scenario) -> str:
    """File the scenario's case; its number."""
    staff = scenario.channel != Channel.WEB
    try:
        opened = open_case(
            p,
            box.parsed.case_type,
            scenario.intake_data,
            actor=box.actor(Role.AGENT, None) if staff else None,
            channel=scenario.channel,
            entity_code=scenario.intake_entity,
        )
    except InvalidData as exc:
        raise StepFailed(_refused(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any refusal is the step's failure
        raise StepFailed(_failure(exc)) from None
    return opened.number


def do_task(box: Sandbox, p: Platform, number: str, step: Step, seen: Observed) -> None:
    """Complete the step's task as a user of its lane (and entity);
    ``seen`` is what the case showed after the step before."""
    matches = [t for t in seen.pending if step.task in (t.bpmn_id, t.name)]
    if not matches:
        raise StepFailed(
            Message(
                N_(
                    "se esperaba la tarea «%(task)s», pero las pendientes son: "
                    "%(ready)s."
                ),
                {"task": step.task, "ready": _names(t.bpmn_id for t in seen.pending)},
            )
        )
    task = matches[0]
    if step.role and task.role != step.role:
        raise StepFailed(
            Message(
                N_("la tarea es del rol «%(actual)s», no de «%(expected)s»."),
                {"actual": task.role, "expected": step.role},
            )
        )
    if step.entity and task.entity_code != step.entity:
        raise StepFailed(
            Message(
                N_("la tarea está en la entidad «%(actual)s», no en «%(expected)s»."),
                {"actual": task.entity_code or "—", "expected": step.entity},
            )
        )
    try:
        if task.role == Role.CITIZEN:
            complete_tracked_task(p, number, task.id, dict(step.answers))
            return
        actor = box.actor(task.role, task.entity_code)
        if actor is None:
            raise StepFailed(
                Message(
                    N_(
                        "la tarea va a la entidad «%(entity)s», que no está en la "
                        "prueba: agréguela en «entities»."
                    ),
                    {"entity": task.entity_code or "—"},
                )
            )
        # What the form comes filled with is sent along, as a browser would;
        # an empty suggestion is an empty field, which the browser leaves out.
        filled: dict[str, Any] = {}
        if _prefills(box.parsed, task.bpmn_id):
            prefill = get_task(p, actor, task.id).prefill
            filled = {k: v for k, v in prefill.items() if v not in (None, "")}
        complete_task(p, actor, task.id, {**filled, **step.answers})
    except StepFailed:
        raise
    except InvalidData as exc:
        raise StepFailed(_refused(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any refusal is the step's failure
        raise StepFailed(_failure(exc)) from None


def _prefills(parsed: ParsedVersion, bpmn_id: str) -> bool:
    """Whether the task's form has fields filled from the case (``x-prefill``)."""
    info = parsed.tasks.get(bpmn_id)
    form = parsed.forms.get(info.form or "") if info else None
    return form is not None and any(
        spec.get("x-prefill") for spec in forms.fields(form).values()
    )


def advance_clock(
    p: Platform, clock: FrozenClock, number: str, step: Step, scenario: Scenario
) -> None:
    """Move the clock, firing each timer at its moment as a worker would."""
    advance = step.advance or {}
    now = clock()
    if "to" in advance:
        target = parse_moment(advance["to"])
    else:
        target = now + timedelta(
            days=advance.get("days", 0),
            hours=advance.get("hours", 0),
            minutes=advance.get("minutes", 0),
        )
        if advance.get("business_days"):
            target = _business_days_later(
                target, advance["business_days"], BusinessCalendar(scenario.days_off)
            )
    if target < now:
        raise StepFailed(
            Message(
                N_("el reloj no puede volver atrás (está en %(now)s)."), {"now": now}
            )
        )
    for _ in range(MAX_FIRINGS):
        due, _ = case_timer(p, number)
        if due is None or due >= target:
            break
        clock.at = min(max(clock.at, due + timedelta(seconds=1)), target)
        fired = fire_due_timers(p)
        _raise_flagged(p, number)
        if fired == 0:
            break
    clock.at = target
    fire_due_timers(p)
    _raise_flagged(p, number)


def _raise_flagged(p: Platform, number: str) -> None:
    """Fail the step when the worker flagged the case (a timer's step failed)."""
    _, error = case_timer(p, number)
    if error:
        raise StepFailed(
            Message(
                N_("el proceso falló al vencer un temporizador: %(error)s"),
                {"error": error},
            )
        )


def _business_days_later(
    start: datetime, days: int, calendar: BusinessCalendar
) -> datetime:
    """The same time of day ``days`` business days after ``start`` (Panama)."""
    local = start.astimezone(LOCAL_ZONE)
    day = local.date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_business_day(day):
            counted += 1
    return datetime.combine(day, local.timetz())


def _names(ids: Any) -> str:
    """A list of ids for a sentence ("ninguna" when empty)."""
    listed = ", ".join(ids)
    return listed or "ninguna"


def _refused(exc: InvalidData) -> Message:
    """Why a form refused the step's answers, field by field (Spanish)."""
    details = "; ".join(
        f"{name or 'formulario'}: "
        + " ".join(m.text % m.params if m.params else m.text for m in messages)
        for name, messages in exc.errors.items()
    )
    return Message(
        N_("el formulario rechazó las respuestas: %(errors)s"), {"errors": details}
    )


def _failure(exc: Exception) -> Message:
    """A service's refusal or a failure of the diagram, as a message."""
    message = getattr(exc, "message", None)
    if isinstance(message, Message):
        return message
    return Message(
        N_("error inesperado: %(detail)s"), {"detail": f"{type(exc).__name__}: {exc}"}
    )


# --------------------------------------------------------------------------
# Expectations


def _show(value: Any) -> str:
    """A value as the scenario file writes it."""
    return json.dumps(value, ensure_ascii=False)


def _subsequence(wanted: list[str], path: list[str], names: dict[str, str]) -> bool:
    """Whether ``wanted`` (ids or names) appears in ``path`` in that order."""
    position = 0
    for item in path:
        if position < len(wanted) and wanted[position] in (item, names.get(item)):
            position += 1
    return position == len(wanted)


def _due_matches(expected: str | None, actual: datetime | None) -> tuple[bool, str]:
    """Compare a deadline: a date alone by day, else to the minute (Panama)."""
    if actual is None:
        return expected is None, "null"
    local = actual.astimezone(LOCAL_ZONE)
    if expected is None:
        return False, _show(local.strftime("%Y-%m-%dT%H:%M"))
    if len(expected) == 10:
        return local.date().isoformat() == expected, _show(local.date().isoformat())
    wanted = parse_moment(expected).astimezone(LOCAL_ZONE)
    same = wanted.replace(second=0, microsecond=0) == local.replace(
        second=0, microsecond=0
    )
    return same, _show(local.strftime("%Y-%m-%dT%H:%M"))


def compare(
    expect: dict[str, Any], seen: Observed, names: dict[str, str] | None = None
) -> list[Check]:
    """Each expectation against what the case shows, in the file's order."""
    names = names or {}
    checks: list[Check] = []
    plain = {
        "closed": seen.closed,
        "public_status": seen.public_status,
        "public_statuses": seen.public_statuses,
        "milestone": seen.milestone,
        "milestones": seen.milestones,
        "entity": seen.entity,
        "entities": seen.entities,
        "overdue": seen.overdue,
        "identity_reserved": seen.identity_reserved,
        "reopened": seen.reopened,
    }
    for key, wanted in expect.items():
        if key in plain:
            actual: Any = plain[key]
            checks.append(Check(key, _show(wanted), _show(actual), actual == wanted))
        elif key == "due":
            ok, shown = _due_matches(wanted, seen.due)
            checks.append(Check(key, _show(wanted), shown, ok))
        elif key == "pending":
            ids = [t.bpmn_id for t in seen.pending]
            got = sorted(ids)
            ok = (
                sorted(
                    next((i for i in ids if w in (i, names.get(i))), w) for w in wanted
                )
                == got
            )
            checks.append(Check(key, _show(wanted), _show(ids), ok))
        elif key == "path":
            ok = _subsequence(list(wanted), seen.path, names)
            checks.append(Check(key, _show(wanted), _show(seen.path), ok))
        elif key == "not_path":
            hit = [w for w in wanted if any(w in (i, names.get(i)) for i in seen.path)]
            checks.append(Check(key, _show(wanted), _show(seen.path), not hit))
    return checks
