"""Checks of the designer code in a bundle's XML, before SpiffWorkflow parses it.

Scripts and conditions must compile under the restricted compiler
(:func:`engine.workflow.script_compiler.check_script`); timer expressions must
be a quoted ISO 8601 value SpiffWorkflow accepts or a restricted expression.
Each check returns the problems it finds, so the designer sees every problem
at once. The structure of the diagram (lanes, references, reachability,
decision tables, called elements) is checked in :mod:`engine.bundles.checks`.
"""

from __future__ import annotations

import ast
import re
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bundles.markup import NSMAP, owner_id, problem
from engine.domain.errors import N_, Problem
from engine.workflow.script_compiler import check_script

__all__ = ["check_scripts", "check_timers"]


def check_scripts(name: str, tree: Any) -> list[Problem]:
    """Scripts and conditions must compile under the restricted environment."""
    problems: list[Problem] = []
    checks = (
        ("//bpmn:scriptTask/bpmn:script", "exec"),
        ("//bpmn:conditionExpression", "eval"),
        ("//spiffworkflow:preScript", "exec"),
        ("//spiffworkflow:postScript", "exec"),
    )
    for xpath, mode in checks:
        for node in tree.xpath(xpath, namespaces=NSMAP):
            source = (node.text or "").strip()
            if not source:
                continue
            element = owner_id(node.getparent())
            for detail in check_script(source, mode):
                problems.append(
                    problem(
                        name,
                        element,
                        N_(
                            "El script o condición no es seguro o no compila: "
                            "%(detail)s"
                        ),
                        detail=detail,
                    )
                )
    return problems


#: Looks like an ISO 8601 date, duration or cycle (checked further by parsing).
_ISO_LIKE = re.compile(
    r"R\d*/.+|P[0-9TWYMDHS.,]*\d[0-9TWYMDHS.,]*|\d{4}-?(\d{2}|W\d{2}).*",
    re.IGNORECASE,
)


_TIMER_EXAMPLES = {
    "timeDate": '"2026-11-04T23:59:59-05:00"',
    "timeDuration": '"P2D"',
    "timeCycle": '"R3/PT1H"',
}


def _iso_timer_value(kind: str, text: str) -> bool:
    """Whether ``text`` is a valid ISO 8601 value for a timer of ``kind``.

    Uses SpiffWorkflow's own parsing helpers, so what passes here is what the
    timer will accept at run time: a date and time (or week date) for
    ``timeDate``, a duration for ``timeDuration``, a repeating interval for
    ``timeCycle``.
    """
    try:
        if kind == "timeDate":
            value = TimerEventDefinition.parse_time_or_duration(text)
            return isinstance(value, datetime)
        if kind == "timeDuration":
            parsed = TimerEventDefinition.parse_iso_duration(text)
            return text.upper().startswith("P") and bool(parsed)
        TimerEventDefinition.parse_iso_recurring_interval(text)
        return text.upper().startswith("R")
    except Exception:  # the helpers raise bare Exception
        return False


def _looks_like_iso(text: str) -> bool:
    """Whether an unquoted expression is really an ISO 8601 literal."""
    if not _ISO_LIKE.fullmatch(text):
        return False
    return any(_iso_timer_value(kind, text) for kind in _TIMER_EXAMPLES)


def _string_literal(source: str) -> str | None:
    """The value of ``source`` when it is a single string literal."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return None
    body = tree.body
    if isinstance(body, ast.Constant) and isinstance(body.value, str):
        return body.value
    return None


def check_timers(name: str, tree: Any) -> list[Problem]:
    """Timer expressions: a quoted ISO 8601 literal or a safe expression.

    Timers are Python expressions evaluated when the timer starts. A bare
    ``P2D`` is a variable name to Python and fails only then, so an unquoted
    ISO value is an error telling the designer to quote it.
    """
    problems: list[Problem] = []
    xpath = (
        "//bpmn:timerEventDefinition/*"
        "[self::bpmn:timeDate or self::bpmn:timeDuration or self::bpmn:timeCycle]"
    )
    for node in tree.xpath(xpath, namespaces=NSMAP):
        kind = etree.QName(node).localname
        definition = node.getparent()
        element = owner_id(definition.getparent()) or owner_id(definition)
        example = _TIMER_EXAMPLES[kind]
        source = (node.text or "").strip()
        if not source:
            problems.append(
                problem(
                    name,
                    element,
                    N_(
                        "El temporizador no tiene expresión en %(kind)s: escriba "
                        "un valor ISO 8601 entre comillas, como %(example)s, o "
                        "una expresión que lo calcule."
                    ),
                    kind=kind,
                    example=example,
                )
            )
            continue
        literal = _string_literal(source)
        if literal is not None:
            if not _iso_timer_value(kind, literal.strip()):
                problems.append(
                    problem(
                        name,
                        element,
                        N_(
                            "El valor %(value)s del temporizador no es válido "
                            "para %(kind)s: use un valor ISO 8601 como "
                            "%(example)s."
                        ),
                        value=source,
                        kind=kind,
                        example=example,
                    )
                )
            continue
        if _looks_like_iso(source):
            problems.append(
                problem(
                    name,
                    element,
                    N_(
                        "El temporizador usa %(value)s sin comillas: la expresión "
                        "es código Python y fallaría al ejecutarse. Escríbala "
                        'entre comillas: "%(value)s".'
                    ),
                    value=source,
                )
            )
            continue
        for detail in check_script(source, "eval"):
            problems.append(
                problem(
                    name,
                    element,
                    N_(
                        "La expresión del temporizador no es segura o no "
                        "compila: %(detail)s"
                    ),
                    detail=detail,
                )
            )
    return problems
