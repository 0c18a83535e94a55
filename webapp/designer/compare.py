"""Two versions of a case type side by side (``/diseno/<tipo>/comparar``).

Both diagrams drawn with what was added, removed or changed marked, and
the forms' fields and the decision tables' rules that changed listed one
by one. Without JavaScript the lists say everything the drawings show.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_babel import gettext

from engine.services import comparison
from webapp.designer import bp
from webapp.helpers import current_actor, platform


def _kinds() -> dict[str, str]:
    """BPMN element types in the designer's words, for the lists."""
    return {
        "userTask": gettext("Tarea de usuario"),
        "scriptTask": gettext("Tarea de guion"),
        "businessRuleTask": gettext("Tabla de decisión"),
        "serviceTask": gettext("Tarea de servicio"),
        "manualTask": gettext("Tarea manual"),
        "task": gettext("Tarea"),
        "callActivity": gettext("Subproceso llamado"),
        "subProcess": gettext("Subproceso"),
        "startEvent": gettext("Evento de inicio"),
        "endEvent": gettext("Evento de fin"),
        "boundaryEvent": gettext("Evento adjunto"),
        "intermediateCatchEvent": gettext("Evento intermedio"),
        "intermediateThrowEvent": gettext("Evento intermedio"),
        "exclusiveGateway": gettext("Compuerta exclusiva"),
        "parallelGateway": gettext("Compuerta paralela"),
        "inclusiveGateway": gettext("Compuerta inclusiva"),
        "eventBasedGateway": gettext("Compuerta de eventos"),
        "sequenceFlow": gettext("Flujo"),
        "lane": gettext("Carril"),
        "process": gettext("Proceso"),
        "participant": gettext("Participante"),
    }


@bp.get("/<tipo>/comparar")
def compare(tipo: str) -> Any:
    """Compare version ``de`` with version ``a`` (by default: ``a`` with the
    one before it)."""
    try:
        new = int(request.args.get("a", ""))
        old = int(request.args.get("de", new - 1))
    except ValueError:
        abort(404)
    if old < 1 or new < 1:
        abort(404)
    actor = current_actor()
    assert actor is not None
    found = comparison.compare_versions(platform(), actor, tipo, old, new)
    return render_template("designer/compare.html", c=found, kinds=_kinds())
