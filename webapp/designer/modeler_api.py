"""The modeler's helpers: live checks of designer code and its settings.

Routes on the designer blueprint (so only designers and admins reach them,
with CSRF like every POST): the properties panel posts a script, condition
or timer expression as JSON and gets back the problems a deploy would find
(:func:`engine.services.design_checks.check_code`), and posts instructions
to see them rendered as users will. The template gets the panel's settings
(pickers, labels in the reader's language, URLs) from
:func:`modeler_settings`.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request, url_for
from flask_babel import gettext

from engine.domain.views import ROLES, VersionInfo
from engine.services import design, design_checks
from webapp.designer import bp
from webapp.filters import markdown
from webapp.helpers import current_actor, platform, translate

#: Longest instructions text previewed, in characters.
MAX_INSTRUCTIONS_CHARS = 20_000


def _json_body() -> dict[str, Any]:
    """The request's JSON object, or 400."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return body


@bp.post("/modelador/comprobar")
def check_code() -> Any:
    """Check designer code as a deploy would: ``{"ok", "problems"}``.

    Body: ``{"kind": "script"|"condition"|"timer", "source": "…",
    "timer": "timeDate"|"timeDuration"|"timeCycle"}``.
    """
    body = _json_body()
    kind, source, timer = body.get("kind"), body.get("source"), body.get("timer")
    if not isinstance(kind, str) or not isinstance(source, str):
        abort(400)
    actor = current_actor()
    assert actor is not None
    result = design_checks.check_code(
        actor, kind, source, timer if isinstance(timer, str) else "timeDate"
    )
    return jsonify(ok=result.ok, problems=[translate(m) for m in result.problems])


@bp.post("/modelador/instrucciones")
def preview_instructions() -> Any:
    """Instructions (Markdown) rendered safely, as the task page shows them."""
    text = _json_body().get("text")
    if not isinstance(text, str):
        abort(400)
    if len(text) > MAX_INSTRUCTIONS_CHARS:
        message = gettext(
            "Las instrucciones son demasiado largas (máximo %(n)s caracteres).",
            n=MAX_INSTRUCTIONS_CHARS,
        )
        return jsonify(html="", problems=[message]), 422
    return jsonify(html=str(markdown(text)), problems=[])


@bp.app_template_global()
def modeler_settings(info: VersionInfo) -> dict[str, Any]:
    """What the properties panel offers and says, for the modeler template."""
    actor = current_actor()
    assert actor is not None
    _, files = design.version_files(platform(), actor, info.case_type, info.version)
    vocabulary = design_checks.modeler_vocabulary(actor, files)
    return {
        "roles": [
            {"value": r, "label": f"{r} — {gettext(ROLES.get(r, r))}"}
            for r in vocabulary.roles
        ],
        "marks": [
            {"value": m, "label": f"{m} — {_mark_names()[m]}"} for m in vocabulary.marks
        ],
        "forms": list(vocabulary.forms),
        "formUrl": url_for(
            "designer.form_editor", tipo=info.case_type, name="__NAME__"
        ),
        "checkUrl": url_for("designer.check_code"),
        "previewUrl": url_for("designer.preview_instructions"),
        "labels": _labels(),
        "lint": _lint_messages(),
        "translations": _translations(),
    }


def _mark_names() -> dict[str, str]:
    """What each mark does, in words."""
    return {
        "cerrado": gettext("cierra el caso"),
        "reabierto": gettext("reabre el caso"),
        "vencido": gettext("marca el plazo como vencido"),
        "al_dia": gettext("quita la marca de vencido"),
        "recordatorio": gettext("anota un recordatorio a la entidad"),
        "transferido": gettext("anota el traslado a otra entidad"),
    }


def _labels() -> dict[str, str]:
    """The panel's own labels and sentences."""
    return {
        "conventions": gettext("Centro 311"),
        "form": gettext("Formulario"),
        "noForm": gettext("— Sin formulario —"),
        "openForm": gettext("Abrir el formulario en el editor"),
        "missingForm": gettext("El paquete no tiene este formulario."),
        "instructions": gettext("Instrucciones (Markdown)"),
        "preview": gettext("Vista previa"),
        "milestones": gettext("Hitos del caso (clave: Etiqueta; …)"),
        "estado": gettext("Estado público"),
        "estadoHelp": gettext("Lo que ve el ciudadano mientras el caso está aquí."),
        "hito": gettext("Hito del ciudadano"),
        "noHito": gettext("— Ninguno —"),
        "plazo": gettext("Plazo (variable con la fecha límite)"),
        "marca": gettext("Marca"),
        "noMarca": gettext("— Ninguna —"),
        "encuesta": gettext("Guarda la respuesta de la encuesta"),
        "role": gettext("Rol del carril"),
        "unknownRole": gettext("(no es un rol)"),
        "unknownValue": gettext("(desconocido)"),
        "condition": gettext("Condición (Python restringido)"),
        "conditionGroup": gettext("Condición"),
        "script": gettext("Script (Python restringido)"),
        "scriptGroup": gettext("Script"),
        "timerGroup": gettext("Temporizador"),
        "timerKind": gettext("Tipo de temporizador"),
        "timeDate": gettext("Fecha y hora (timeDate)"),
        "timeDuration": gettext("Duración (timeDuration)"),
        "timeCycle": gettext("Ciclo (timeCycle)"),
        "timerExpression": gettext("Expresión del temporizador"),
        "builder": gettext("Plazo en días hábiles"),
        "days": gettext("Días hábiles desde que empieza la espera"),
        "hoursBefore": gettext("Horas antes (para un recordatorio)"),
        "apply": gettext("Escribir la expresión"),
        "checking": gettext("Comprobando…"),
        "codeOk": gettext("Se puede desplegar."),
        "checkFailed": gettext("No se pudo comprobar ahora."),
        "idLabel": gettext("Identificador"),
        "idLocked": gettext(
            "No se puede cambiar: los casos abiertos y las reglas lo usan."
        ),
        "lintTitle": gettext("Revisión del diagrama"),
        "error": gettext("Error"),
        "warning": gettext("Aviso"),
    }


def _lint_messages() -> dict[str, str]:
    """Each lint rule's message (bpmnlint's rules say it in English)."""
    return {
        "ad-hoc-sub-process": gettext("El subproceso ad hoc no es válido."),
        "conditional-flows": gettext(
            "Los flujos que salen de aquí necesitan condición."
        ),
        "end-event-required": gettext("Falta un evento de fin."),
        "event-based-gateway": gettext(
            "La compuerta basada en eventos no está bien conectada."
        ),
        "event-sub-process-typed-start-event": gettext(
            "El subproceso de evento necesita un inicio con tipo."
        ),
        "fake-join": gettext("Use una compuerta para unir los flujos."),
        "global": gettext("El elemento global no se usa o está repetido."),
        "label-required": gettext("Falta el nombre."),
        "link-event": gettext("El evento de enlace no tiene pareja."),
        "no-bpmndi": gettext("El elemento no está dibujado en el diagrama."),
        "no-complex-gateway": gettext("No use compuertas complejas."),
        "no-disconnected": gettext("El elemento no está conectado."),
        "no-duplicate-sequence-flows": gettext("Hay flujos repetidos."),
        "no-gateway-join-fork": gettext("La compuerta une y divide a la vez."),
        "no-implicit-split": gettext("Divida los flujos con una compuerta."),
        "no-implicit-end": gettext("Termine con un evento de fin."),
        "no-implicit-start": gettext("Empiece con un evento de inicio."),
        "no-inclusive-gateway": gettext("Evite las compuertas inclusivas."),
        "no-overlapping-elements": gettext("Hay elementos superpuestos."),
        "single-blank-start-event": gettext(
            "Solo puede haber un evento de inicio simple."
        ),
        "single-event-definition": gettext("El evento tiene varias definiciones."),
        "start-event-required": gettext("Falta un evento de inicio."),
        "sub-process-blank-start-event": gettext(
            "El subproceso necesita un evento de inicio simple."
        ),
        "superfluous-gateway": gettext("La compuerta sobra: tiene un solo flujo."),
        "superfluous-label": gettext("El nombre sobra aquí."),
        "superfluous-termination": gettext("La terminación sobra."),
        "centro311/lane-role": gettext(
            "El nombre del carril no es un rol (agente_311, supervisor_311, "
            "enlace, ciudadano)."
        ),
        "centro311/user-task-form": gettext(
            "La tarea de usuario no indica su formulario."
        ),
        "centro311/start-event-form": gettext(
            "El evento de inicio no indica el formulario de registro."
        ),
        "centro311/known-form": gettext("El paquete no tiene ese formulario."),
        "centro311/known-mark": gettext("La marca no es una de las conocidas."),
        "centro311/declared-milestone": gettext(
            "El hito no está en la lista de hitos del evento de inicio."
        ),
    }


def _translations() -> dict[str, str]:
    """Spanish for the English texts of bpmn-js and its properties panel."""
    return {
        "General": gettext("General"),
        "Name": gettext("Nombre"),
        "ID": gettext("Identificador"),
        "Documentation": gettext("Documentación"),
        "Element documentation": gettext("Documentación del elemento"),
        "Process documentation": gettext("Documentación del proceso"),
        "Executable": gettext("Ejecutable"),
        "Version tag": gettext("Etiqueta de versión"),
        "Process": gettext("Proceso"),
        "Process name": gettext("Nombre del proceso"),
        "Process ID": gettext("Identificador del proceso"),
        "Participant": gettext("Participante"),
        "Must be unique.": gettext("Debe ser único."),
        "ID must not be empty.": gettext("El identificador no puede estar vacío."),
        "ID must not contain spaces.": gettext(
            "El identificador no puede tener espacios."
        ),
        "ID must be a valid QName.": gettext(
            "El identificador debe empezar por una letra y no tener símbolos."
        ),
        "ID must be unique.": gettext("El identificador ya existe."),
        "Toggle linting overlays": gettext("Mostrar u ocultar la revisión"),
        "{errors} Errors, {warnings} Warnings": gettext(
            "{errors} errores, {warnings} avisos"
        ),
        "No Issues": gettext("Sin problemas"),
        "Issues for child elements": gettext("Problemas de los elementos internos"),
        "Select an element to edit its properties.": gettext(
            "Elija un elemento para editar sus propiedades."
        ),
        "Multiple elements are selected. Select a single one to edit its "
        "properties.": gettext(
            "Hay varios elementos elegidos. Elija uno solo para editarlo."
        ),
    }
