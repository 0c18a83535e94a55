"""The decision table editor: a version's ``.dmn`` tables in dmn-js.

The page loads the table (or, after a check or a refused save, the XML the
designer sent) into dmn-js's decision table editor, with the entity codes,
categories and case types the database knows beside it. "Comprobar" shows
the table's problems without saving; "Guardar" deploys the newest version
with the table replaced (:func:`engine.services.decisions.save_decision_table`)
and opens the new version's table, its warnings listed. Errors refuse the
save and list every problem, the edited table kept in the editor.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from engine.domain.errors import BundleInvalid, Conflict, Problem
from engine.services import decisions
from webapp.designer import MAX_NOTE_CHARS, ProblemRow, bp
from webapp.helpers import current_actor, platform, translate


def _problem_rows(problems: list[Problem]) -> list[ProblemRow]:
    """Engine problems translated, errors before warnings."""
    rows = [
        ProblemRow(
            file=p.file or "",
            element=p.element or "",
            text=translate(p.message),
            severity="warning" if p.severity == "warning" else "error",
        )
        for p in problems
    ]
    return sorted(rows, key=lambda r: r.severity != "error")


def _dmn_texts() -> dict[str, str]:
    """dmn-js's own interface texts in the reader's language (its keys are
    English; the editor's script hands them to dmn-js's translate)."""
    return {
        "When": gettext("Cuando"),
        "Then": gettext("Entonces"),
        "And": gettext("Y"),
        "Hit policy:": gettext("Política de aciertos:"),
        "Hit policy": gettext("Política de aciertos"),
        "Annotations": gettext("Anotaciones"),
        "Annotation": gettext("Anotación"),
        "First": gettext("Primera (FIRST)"),
        "Unique": gettext("Única (UNIQUE)"),
        "Collect": gettext("Todas (COLLECT)"),
        "Add rule": gettext("Agregar regla"),
        "Add rule above": gettext("Agregar regla arriba"),
        "Add rule below": gettext("Agregar regla abajo"),
        "Remove rule": gettext("Eliminar regla"),
        "Copy rule": gettext("Copiar regla"),
        "Cut rule": gettext("Cortar regla"),
        "Paste rule above": gettext("Pegar regla arriba"),
        "Paste rule below": gettext("Pegar regla abajo"),
        "Move rule": gettext("Mover regla"),
        "Add input column left": gettext("Agregar entrada a la izquierda"),
        "Add input column right": gettext("Agregar entrada a la derecha"),
        "Remove input column": gettext("Eliminar columna de entrada"),
        "Add output column left": gettext("Agregar salida a la izquierda"),
        "Add output column right": gettext("Agregar salida a la derecha"),
        "Remove output column": gettext("Eliminar columna de salida"),
        "Add cell description": gettext("Agregar descripción a la celda"),
        "Remove cell description": gettext("Quitar la descripción de la celda"),
        "Input": gettext("Entrada"),
        "Output": gettext("Salida"),
        "Strings must be in double quotes": gettext(
            "Los textos van entre comillas dobles"
        ),
    }


@bp.route("/<tipo>/v/<int:n>/tablas/<name>", methods=["GET", "POST"])
def decision_editor(tipo: str, n: int, name: str) -> Any:
    """Edit one decision table of version ``n``; saving deploys a new version."""
    p = platform()
    actor = current_actor()
    assert actor is not None  # designers_only let the request in
    xml: str | None = None
    note = ""
    refused: list[ProblemRow] = []
    status = 200
    if request.method == "POST":
        xml = request.form.get("xml", "")
        note = request.form.get("nota", "")
        if not xml.strip():
            text = gettext("No llegó ninguna tabla. Vuelva a intentarlo.")
            refused, status, xml = [ProblemRow(name, "", text, "error")], 422, None
        elif request.form.get("accion") == "comprobar":
            pass
        elif len(note) > MAX_NOTE_CHARS:
            text = gettext(
                "La nota es demasiado larga (máximo %(n)s caracteres).",
                n=MAX_NOTE_CHARS,
            )
            refused, status = [ProblemRow("", "", text, "error")], 422
        else:
            try:
                base = int(request.form.get("version", ""))
            except ValueError:
                base = -1
            try:
                deployed = decisions.save_decision_table(
                    p, actor, tipo, name, xml, note, base_version=base
                )
            except BundleInvalid as exc:
                refused, status = _problem_rows(exc.problems), 422
            except Conflict as exc:
                refused = [ProblemRow(name, "", translate(exc.message), "error")]
                status = 409
            else:
                info = deployed.version
                flash(
                    gettext(
                        "Se guardó la tabla %(name)s en la versión %(version)s"
                        " de «%(title)s».",
                        name=name,
                        version=info.version,
                        title=info.title,
                    ),
                    "success",
                )
                return redirect(
                    url_for(
                        "designer.decision_editor",
                        tipo=tipo,
                        n=info.version,
                        name=name,
                    ),
                    code=303,
                )
    table = decisions.open_decision_table(p, actor, tipo, n, name, xml)
    problems = refused or _problem_rows(table.problems)
    return (
        render_template(
            "designer/decision_editor.html",
            table=table,
            info=table.version,
            note=note,
            problems=problems,
            refused=bool(refused),
            edited=xml is not None,
            max_note=MAX_NOTE_CHARS,
            dmn_texts=_dmn_texts(),
        ),
        status,
    )
