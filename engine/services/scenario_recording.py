"""Process tests recorded from practice: a designer's practice case becomes
a scenario without writing JSON.

The practice case's intake, each task it completed (the lane's role and the
answers given, in order, the clock moved to when it was done) and where it
ended (open or closed, public status, milestone, entity, pending tasks)
are written as ``tests/<name>.json`` (the format of
:mod:`engine.bundles.scenario_files`) into a new draft of the case's
version, deployed through the one deploy service: the new scenario and the
version's others must pass, or nothing is stored.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.bundles.scenario_files import LOCAL_ZONE, SCENARIO_FOLDER
from engine.domain.enums import CaseStatus, EventKind, TaskState
from engine.domain.errors import N_, InvalidData, Message, NotFound
from engine.domain.views import Actor
from engine.services.common import require_designer
from engine.services.platform import Platform
from engine.services.versions import Deployed, deploy
from engine.store.models import Case, CaseEvent, DayOff, HumanTask, ProcessVersion

#: Longest scenario name accepted.
MAX_NAME = 200


def _moment(at: datetime) -> str:
    """A scenario's local minute (``2026-11-02T09:00``)."""
    return at.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")


def _slug(name: str) -> str:
    """A file name from a scenario's name (``Respondida a tiempo`` →
    ``respondida-a-tiempo``)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return slug[:60].strip("-") or "escenario"


def scenario_from_case(
    case: Case,
    events: list[CaseEvent],
    pending: list[str],
    entities: list[str],
    days_off: list[str],
    name: str,
) -> dict[str, Any]:
    """The scenario a case's history describes (plain data, JSON-ready)."""
    start = case.created_at
    intake: dict[str, Any] = {"data": {}}
    steps: list[dict[str, Any]] = []
    clock = _moment(start)
    for event in events:
        data = event.data or {}
        if event.kind == EventKind.CREATED:
            intake = {"channel": data.get("channel", "web"), "data": data.get("data")}
            intake["data"] = dict(intake["data"] or {})
        elif event.kind == EventKind.TASK_COMPLETED and event.task_bpmn_id:
            moment = _moment(event.at)
            if moment > clock:
                steps.append({"advance": {"to": moment}})
                clock = moment
            step: dict[str, Any] = {"task": event.task_bpmn_id}
            if isinstance(data.get("role"), str):
                step["role"] = data["role"]
            answers = data.get("data")
            if isinstance(answers, dict) and answers:
                step["answers"] = answers
            steps.append(step)
    expect: dict[str, Any] = {
        "closed": case.status == CaseStatus.CLOSED,
        "public_status": case.public_status,
        "entity": case.entity_code,
        "pending": pending,
    }
    if case.milestone:
        expect["milestone"] = case.milestone
    scenario: dict[str, Any] = {
        "name": name,
        "description": f"Grabado del caso de práctica {case.number}.",
        "start": _moment(start),
        "intake": intake,
        "steps": steps,
        "expect": expect,
    }
    if entities:
        scenario["entities"] = entities
    if days_off:
        scenario["days_off"] = days_off
    return scenario


def record_scenario(p: Platform, actor: Actor, number: str, name: str) -> Deployed:
    """Save practice case ``number`` as a scenario in a new draft version.

    The draft holds the newest version's files (draft or published: where
    the designer is working; the case's own, usually) plus
    ``tests/<name>.json``;
    deploying it runs every scenario (:class:`BundleInvalid` when one
    fails, nothing stored). ``name`` is required (:class:`InvalidData`);
    only practice cases are recorded (:class:`NotFound` otherwise).
    """
    require_designer(actor)
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidData(
            {
                "nombre": [
                    Message(
                        N_("Escriba un nombre de hasta %(n)s caracteres."),
                        {"n": MAX_NAME},
                    )
                ]
            }
        )
    with p.db.read() as s:
        case = s.scalar(select(Case).where(Case.number == number[:40]))
        if case is None or not case.practice:
            raise NotFound(N_("No existe ese caso de práctica."))
        version = s.scalars(
            select(ProcessVersion)
            .where(ProcessVersion.case_type == case.case_type)
            .order_by(ProcessVersion.version.desc())
            .limit(1)
        ).one()
        events = list(
            s.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id)
                .order_by(CaseEvent.at, CaseEvent.id)
            )
        )
        tasks = list(s.scalars(select(HumanTask).where(HumanTask.case_id == case.id)))
        start_day = case.created_at.astimezone(LOCAL_ZONE).date()
        days_off = [
            d.isoformat()
            for d in s.scalars(
                select(DayOff.day).where(DayOff.day >= start_day).order_by(DayOff.day)
            ).all()[:100]
        ]
        files = {str(k): str(v) for k, v in dict(version.files).items()}
        case_version = version.version
    pending = sorted(t.bpmn_id for t in tasks if t.state == TaskState.READY)
    entities = sorted(
        {t.entity_code for t in tasks if t.entity_code}
        | ({case.entity_code} if case.entity_code else set())
    )
    scenario = scenario_from_case(case, events, pending, entities, days_off, name)
    slug = _slug(name)
    path = f"{SCENARIO_FOLDER}/{slug}.json"
    copy = 2
    while path in files:
        path = f"{SCENARIO_FOLDER}/{slug}-{copy}.json"
        copy += 1
    files[path] = json.dumps(scenario, ensure_ascii=False, indent=2) + "\n"
    note = (
        f"Escenario «{name}» grabado del caso de práctica {case.number} "
        f"(versión {case_version})."
    )
    return deploy(p, actor, files, note, source="web", draft=True)
