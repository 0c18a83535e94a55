"""Process-test files of a bundle: ``tests/*.json``, their format and checks.

A bundle may carry scenarios (README "Process tests"): a case filed with some
intake data on a frozen clock, the user tasks expected in order with their
answers, clock advances that fire timers, and what the case should look like
after any step and at the end. This module reads and checks the files; the
runner that plays them against the engine is
:mod:`engine.services.scenarios`.

The format is checked with a JSON Schema (:data:`SCHEMA`); every problem
names the file and the field (``steps[2].answers``: steps count from 1, as
the runner reports them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from jsonschema import Draft202012Validator

from engine.bundles.markup import LANE_ROLES, problem
from engine.domain.enums import Channel
from engine.domain.errors import N_, Message, Problem

#: The folder of a bundle that holds its scenarios (file names ``tests/x.json``).
SCENARIO_FOLDER = "tests"

#: Most steps one scenario may have.
MAX_STEPS = 100

#: Time zone of dates written without an offset.
LOCAL_ZONE = ZoneInfo("America/Panama")

_MOMENT = {
    "type": "string",
    "maxLength": 40,
    "pattern": (
        r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$"
    ),
}
_DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_TEXTS = {"type": "array", "items": _TEXT, "maxItems": 200}
_CODE = {"type": "string", "minLength": 1, "maxLength": 50}

_EXPECT = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "closed": {"type": "boolean"},
        "public_status": {"type": "string", "maxLength": 200},
        "public_statuses": _TEXTS,
        "milestone": {"type": ["string", "null"], "maxLength": 60},
        "milestones": _TEXTS,
        "entity": {"type": ["string", "null"], "maxLength": 50},
        "entities": _TEXTS,
        "due": {"anyOf": [_MOMENT, {"type": "null"}]},
        "overdue": {"type": "boolean"},
        "identity_reserved": {"type": "boolean"},
        "reopened": {"type": "integer", "minimum": 0, "maximum": 1000},
        "pending": _TEXTS,
        "path": _TEXTS,
        "not_path": _TEXTS,
    },
}

_ADVANCE = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "business_days": {"type": "integer", "minimum": 0, "maximum": 500},
        "days": {"type": "integer", "minimum": 0, "maximum": 1000},
        "hours": {"type": "integer", "minimum": 0, "maximum": 10000},
        "minutes": {"type": "integer", "minimum": 0, "maximum": 100000},
        "to": _MOMENT,
    },
    "if": {"required": ["to"]},
    "then": {"maxProperties": 1},
}

_STEP = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "task": _TEXT,
        "role": {"enum": [str(r) for r in LANE_ROLES]},
        "entity": _CODE,
        "answers": {"type": "object"},
        "advance": _ADVANCE,
        "expect": _EXPECT,
        "note": {"type": "string", "maxLength": 2000},
    },
    "anyOf": [
        {"required": ["task"]},
        {"required": ["advance"]},
        {"required": ["expect"]},
    ],
    "not": {"required": ["task", "advance"]},
    "dependentRequired": {
        "role": ["task"],
        "entity": ["task"],
        "answers": ["task"],
    },
}

#: The JSON Schema of a scenario file.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "start", "intake"],
    "properties": {
        "name": _TEXT,
        "description": {"type": "string", "maxLength": 2000},
        "start": _MOMENT,
        "entities": {"type": "array", "items": _CODE, "maxItems": 100},
        "days_off": {"type": "array", "items": _DAY, "maxItems": 100},
        "intake": {
            "type": "object",
            "additionalProperties": False,
            "required": ["data"],
            "properties": {
                "channel": {"enum": [str(c) for c in Channel if c != Channel.OPEN311]},
                "entity": _CODE,
                "data": {"type": "object"},
            },
        },
        "steps": {"type": "array", "items": _STEP, "maxItems": MAX_STEPS},
        "expect": _EXPECT,
    },
}

_VALIDATOR = Draft202012Validator(SCHEMA)

#: JSON types in words, for messages.
_TYPES = {
    "string": N_("un texto"),
    "integer": N_("un número entero"),
    "number": N_("un número"),
    "boolean": N_("true o false"),
    "array": N_("una lista"),
    "object": N_("un objeto"),
    "null": N_("vacío (null)"),
}


@dataclass(frozen=True)
class Step:
    """One step of a scenario: a task to complete, a clock advance, or a check."""

    number: int
    task: str | None = None
    role: str | None = None
    entity: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    advance: dict[str, Any] | None = None
    expect: dict[str, Any] | None = None


@dataclass(frozen=True)
class Scenario:
    """A scenario file, read and checked."""

    file: str
    name: str
    description: str
    start: datetime
    intake_data: dict[str, Any]
    channel: str
    intake_entity: str | None
    entities: list[str]
    days_off: list[date]
    steps: list[Step]
    expect: dict[str, Any] | None

    def entity_codes(self) -> list[str]:
        """Every entity the scenario names: declared, filed with, expected, answered."""
        codes = set(self.entities)
        if self.intake_entity:
            codes.add(self.intake_entity)
        expects = [s.expect for s in self.steps if s.expect] + [self.expect or {}]
        for expect in expects:
            if isinstance(expect.get("entity"), str):
                codes.add(expect["entity"])
            codes.update(expect.get("entities", []))
        for step in self.steps:
            if step.entity:
                codes.add(step.entity)
            value = step.answers.get("entidad")
            if isinstance(value, str) and value:
                codes.add(value)
        return sorted(codes)


def is_scenario_file(name: str) -> bool:
    """Whether a bundle file name is a scenario (``tests/<name>.json``)."""
    folder, _, base = name.partition("/")
    return folder == SCENARIO_FOLDER and base.endswith(".json") and "/" not in base


def parse_moment(text: str) -> datetime:
    """An aware datetime from a scenario date: Panama time when no offset is
    given, the start of the day for a date alone. Raises ValueError."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=LOCAL_ZONE)
    moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_ZONE)


def field_path(path: list[Any]) -> str:
    """``steps[2].answers`` for a JSON path (list positions counted from 1)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def read_scenarios(files: Mapping[str, str]) -> tuple[list[Scenario], list[Problem]]:
    """The bundle's scenarios that are well formed, and the problems of the others."""
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for name in sorted(n for n in files if n.startswith(f"{SCENARIO_FOLDER}/")):
        if not is_scenario_file(name):
            problems.append(
                problem(
                    name,
                    None,
                    N_(
                        "En la carpeta «tests» solo van escenarios «.json», sin "
                        "subcarpetas."
                    ),
                )
            )
            continue
        try:
            raw = json.loads(files[name])
        except json.JSONDecodeError as exc:
            problems.append(
                problem(
                    name,
                    None,
                    N_("El escenario no es JSON válido: %(detail)s"),
                    detail=f"{exc.msg} (línea {exc.lineno}, columna {exc.colno})",
                )
            )
            continue
        found = _schema_problems(name, raw)
        if not found:
            scenario, found = _build(name, raw)
            if scenario is not None:
                scenarios.append(scenario)
        problems.extend(found)
    return scenarios, problems


def check_references(
    scenarios: list[Scenario], manual: set[str], elements: set[str]
) -> list[Problem]:
    """Problems where a scenario names a task or element the diagram lacks.

    ``manual`` holds the ids and names of the user and manual tasks,
    ``elements`` the ids and names of every element.
    """
    found: list[Problem] = []
    for scenario in scenarios:
        for step in scenario.steps:
            where = f"steps[{step.number}]"
            if step.task is not None and step.task not in manual:
                found.append(
                    problem(
                        scenario.file,
                        where,
                        N_(
                            "La tarea «%(task)s» no es una tarea de usuario del "
                            "diagrama."
                        ),
                        task=step.task,
                    )
                )
        expects = [(f"steps[{s.number}].expect", s.expect) for s in scenario.steps]
        for where, expect in [*expects, ("expect", scenario.expect)]:
            for key in ("path", "not_path", "pending"):
                for ref in (expect or {}).get(key, []):
                    if ref not in elements:
                        found.append(
                            problem(
                                scenario.file,
                                f"{where}.{key}",
                                N_("«%(ref)s» no es un elemento del diagrama."),
                                ref=ref,
                            )
                        )
    return found


def _schema_problems(name: str, raw: Any) -> list[Problem]:
    """The format problems of one scenario, in Spanish, each naming its field."""
    found = []
    for err in sorted(_VALIDATOR.iter_errors(raw), key=lambda e: list(e.path)):
        path = list(err.absolute_path)
        text, params = _describe(err)
        found.append(problem(name, field_path(path) or None, text, **params))
    return found


def _describe(err: Any) -> tuple[str, dict[str, Any]]:
    """A Spanish message id and parameters for one schema error."""
    kind, value, instance = err.validator, err.validator_value, err.instance
    if kind == "required":
        missing = [k for k in value if isinstance(instance, dict) and k not in instance]
        return N_("Falta «%(field)s»."), {"field": ", ".join(missing)}
    if kind == "additionalProperties":
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in allowed)
        return N_("«%(field)s» no es un campo de este lugar."), {
            "field": ", ".join(extra)
        }
    if kind == "type":
        kinds = [str(k) for k in (value if isinstance(value, list) else [value])]
        words = [Message(_TYPES[k]) if k in _TYPES else k for k in kinds]
        if len(words) == 1:
            return N_("Debe ser %(type)s."), {"type": words[0]}
        return N_("Debe ser %(type)s o %(other)s."), {
            "type": words[0],
            "other": words[1],
        }
    if kind == "enum":
        return N_("Debe ser uno de: %(values)s."), {
            "values": ", ".join(str(v) for v in value)
        }
    if kind == "pattern":
        return N_(
            "Escriba una fecha como 2026-10-30 o una fecha y hora como "
            "2026-10-30T19:00."
        ), {}
    if kind in ("minLength", "minProperties"):
        return N_("No puede estar vacío."), {}
    if kind in ("maxLength", "maxItems", "maxProperties"):
        if kind == "maxProperties":
            return N_("«to» no se combina con otros avances."), {}
        return N_("Es demasiado largo (máximo %(limit)s)."), {"limit": value}
    if kind in ("minimum", "maximum"):
        return N_("Debe estar entre %(low)s y %(high)s."), {
            "low": err.schema.get("minimum", 0),
            "high": err.schema.get("maximum", ""),
        }
    if kind == "anyOf" and any("required" in choice for choice in value):
        return N_("Cada paso necesita «task», «advance» o «expect»."), {}
    if kind == "anyOf":  # a date or null
        return N_(
            "Escriba una fecha como 2026-10-30 o una fecha y hora como "
            "2026-10-30T19:00."
        ), {}
    if kind == "not":
        return N_("Un paso no puede tener «task» y «advance» a la vez."), {}
    if kind == "dependentRequired":
        return N_("«role», «entity» y «answers» solo van en un paso con «task»."), {}
    return N_("El valor no es válido."), {}


def _build(name: str, raw: dict[str, Any]) -> tuple[Scenario | None, list[Problem]]:
    """A :class:`Scenario` from a file that passed the schema, checking dates."""
    found: list[Problem] = []

    def moment(text: str, where: str) -> datetime | None:
        try:
            return parse_moment(text)
        except ValueError:
            found.append(
                problem(name, where, N_("La fecha «%(value)s» no existe."), value=text)
            )
            return None

    start = moment(raw["start"], "start")
    days_off = []
    for i, text in enumerate(raw.get("days_off", [])):
        stamp = moment(text, f"days_off[{i + 1}]")
        if stamp is not None:
            days_off.append(stamp.date())
    steps = []
    for i, item in enumerate(raw.get("steps", []), start=1):
        advance = item.get("advance")
        if advance and "to" in advance:
            moment(advance["to"], f"steps[{i}].advance.to")
        for where, expect in ((f"steps[{i}].expect", item.get("expect")),):
            if expect and isinstance(expect.get("due"), str):
                moment(expect["due"], f"{where}.due")
        steps.append(
            Step(
                number=i,
                task=item.get("task"),
                role=item.get("role"),
                entity=item.get("entity"),
                answers=dict(item.get("answers", {})),
                advance=advance,
                expect=item.get("expect"),
            )
        )
    expect = raw.get("expect")
    if expect and isinstance(expect.get("due"), str):
        moment(expect["due"], "expect.due")
    if start is None or found:
        return None, found
    intake = raw["intake"]
    return (
        Scenario(
            file=name,
            name=raw["name"],
            description=raw.get("description", ""),
            start=start,
            intake_data=dict(intake["data"]),
            channel=intake.get("channel", Channel.WEB),
            intake_entity=intake.get("entity"),
            entities=list(raw.get("entities", [])),
            days_off=days_off,
            steps=steps,
            expect=expect,
        ),
        [],
    )
