"""The modeler's live checks: designer code checked while it is typed.

The properties panel of the modeler edits gateway conditions, script tasks'
scripts and timer expressions. Each edit is sent here and checked by the very
checks a deploy runs (:func:`engine.bundles.code_checks.check_scripts` and
:func:`engine.bundles.code_checks.check_timers`, both on top of the restricted
compiler), so what the panel accepts is what a deploy accepts. The source is
put into a one-element diagram for the check: nothing is stored or run.

:func:`modeler_vocabulary` lists what the panel offers in its pickers: the
roles a lane may be named after, the engine's marks, and the bundle's forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.bundles.code_checks import check_scripts, check_timers
from engine.bundles.markup import BPMN_NS, LANE_ROLES
from engine.bundles.texts import overlay_target
from engine.domain.enums import Mark
from engine.domain.errors import N_, Message
from engine.domain.views import Actor
from engine.services.common import require_designer

__all__ = [
    "CODE_KINDS",
    "MARKS",
    "MAX_SOURCE_CHARS",
    "TIMER_KINDS",
    "CodeCheck",
    "ModelerVocabulary",
    "check_code",
    "modeler_vocabulary",
]

#: What the engine does when an element carrying ``marca`` completes
#: (:func:`engine.services.steps.record_step` reacts to each).
MARKS = tuple(str(m) for m in Mark)

#: The kinds of designer code the modeler checks.
CODE_KINDS = ("script", "condition", "timer")

#: The timer definitions SpiffWorkflow reads (BPMN element names).
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")

#: Longest source accepted for a live check, in characters. Deploy takes
#: whole files up to 2 MiB, but one script typed in a panel field is short;
#: the bound keeps an endpoint called on every keystroke cheap.
MAX_SOURCE_CHARS = 20_000


@dataclass(frozen=True)
class CodeCheck:
    """The result of checking one source: no problems means it would deploy."""

    problems: list[Message] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the source passes every check."""
        return not self.problems


@dataclass(frozen=True)
class ModelerVocabulary:
    """What the properties panel offers to pick from."""

    roles: tuple[str, ...]
    marks: tuple[str, ...]
    forms: tuple[str, ...]


def _element(parent: Any, name: str, **attrs: str) -> Any:
    """A BPMN child element of ``parent``."""
    return etree.SubElement(parent, f"{{{BPMN_NS}}}{name}", attrs)


def _diagram(kind: str, source: str, timer: str) -> Any:
    """A one-element diagram holding ``source`` where a deploy would find it."""
    root = etree.Element(f"{{{BPMN_NS}}}definitions", nsmap={"bpmn": BPMN_NS})
    process = _element(root, "process", id="comprobacion")
    if kind == "script":
        task = _element(process, "scriptTask", id="codigo")
        _element(task, "script").text = source
    elif kind == "condition":
        flow = _element(process, "sequenceFlow", id="codigo")
        _element(flow, "conditionExpression").text = source
    else:
        event = _element(process, "intermediateCatchEvent", id="codigo")
        definition = _element(event, "timerEventDefinition", id="codigo_timer")
        _element(definition, timer).text = source
    return root


def check_code(
    actor: Actor, kind: str, source: str, timer: str = "timeDate"
) -> CodeCheck:
    """Check a script, a condition or a timer expression as a deploy would.

    ``kind`` is one of :data:`CODE_KINDS`; for timers ``timer`` names the
    definition (:data:`TIMER_KINDS`). An empty script or condition passes
    (a deploy skips it); an empty timer does not. Sources longer than
    :data:`MAX_SOURCE_CHARS` are refused without compiling them.
    """
    require_designer(actor)
    if kind not in CODE_KINDS:
        return CodeCheck([Message(N_("Tipo de código desconocido."))])
    if timer not in TIMER_KINDS:
        return CodeCheck([Message(N_("Tipo de temporizador desconocido."))])
    if len(source) > MAX_SOURCE_CHARS:
        return CodeCheck(
            [
                Message(
                    N_("El código es demasiado largo (máximo %(n)s caracteres)."),
                    {"n": MAX_SOURCE_CHARS},
                )
            ]
        )
    tree = _diagram(kind, source, timer)
    found = check_timers("", tree) if kind == "timer" else check_scripts("", tree)
    return CodeCheck([p.message for p in found])


def modeler_vocabulary(actor: Actor, files: dict[str, str]) -> ModelerVocabulary:
    """Roles, marks and the forms of a bundle's ``files``, for the panel.

    Forms are the bundle's JSON Schema files; ``.ui.json`` files describe how
    a form looks, and files of texts in another language translate one:
    neither is a form of its own.
    """
    require_designer(actor)
    forms = tuple(
        sorted(
            name
            for name in files
            if name.endswith(".json")
            and not name.endswith(".ui.json")
            and overlay_target(name) is None
        )
    )
    return ModelerVocabulary(
        roles=tuple(str(r) for r in LANE_ROLES), marks=MARKS, forms=forms
    )
