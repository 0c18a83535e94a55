"""Process designers: case types and their versions, deploy, modeler, forms.

Every page needs the ``disenador`` or ``admin`` role (the engine checks the
role again on each call). Deploying always goes through the engine: a bundle
is read from the upload with :func:`engine.services.design.read_upload`, or built from
the newest version's files with one file replaced (the modeler's diagram, the
form editor's form), then :func:`engine.services.design.deploy` validates and stores
it. Any problem re-renders the page with every problem listed and whatever
the designer sent kept, so nothing is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext

from engine.domain.design import FormPreview
from engine.domain.errors import BundleInvalid, Conflict, NotFound, Problem
from engine.domain.views import VersionInfo
from engine.services import design, previews
from engine.services.versions import DESIGN_ROLES
from webapp.helpers import current_actor, field_errors, platform, translate

bp = Blueprint("designer", __name__, template_folder="templates", url_prefix="/diseno")

#: Content types of the files a bundle may hold; browsers never sniff them.
CONTENT_TYPES = {
    ".bpmn": "application/xml",
    ".dmn": "application/xml",
    ".json": "application/json",
}

#: Longest version note accepted, in characters.
MAX_NOTE_CHARS = 1000

#: Session key of the warnings of the last deploy, shown once on the list.
_WARNINGS_KEY = "deploy_warnings"


@dataclass(frozen=True)
class ProblemRow:
    """A bundle problem ready to show: file, element, sentence, severity."""

    file: str
    element: str
    text: str
    severity: str


@dataclass(frozen=True)
class FileRow:
    """One file of a version, for the file list."""

    name: str
    kind: str
    size: int
    is_form: bool


@bp.before_request
def designers_only() -> Any:
    """Anonymous visitors go to the login page; other roles get 403."""
    from webapp import login_manager

    actor = current_actor()
    if actor is None:
        return login_manager.unauthorized()
    if not actor.has(*DESIGN_ROLES):
        abort(403)
    return None


def _actor() -> Any:
    """The designer making the request (checked by :func:`designers_only`)."""
    actor = current_actor()
    assert actor is not None
    return actor


def _rows(problems: list[Problem]) -> list[ProblemRow]:
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


def _note_problem(note: str) -> list[ProblemRow]:
    """A problem row when the version note is too long."""
    if len(note) <= MAX_NOTE_CHARS:
        return []
    text = gettext(
        "La nota es demasiado larga (máximo %(n)s caracteres).", n=MAX_NOTE_CHARS
    )
    return [ProblemRow("", "", text, "error")]


def _deploy(files: dict[str, str], note: str) -> tuple[Any, list[ProblemRow]]:
    """Deploy ``files``; (Deployed, []) on success, (None, problems) otherwise."""
    problems = _note_problem(note)
    if problems:
        return None, problems
    try:
        deployed = design.deploy(
            platform(), _actor(), files, note, draft=drafts.draft_requested()
        )
    except BundleInvalid as exc:
        return None, _rows(exc.problems)
    except Conflict as exc:
        return None, [ProblemRow("", "", translate(exc.message), "error")]
    return deployed, []


def _deployed_redirect(deployed: Any) -> Any:
    """Keep the warnings for the list; 303 to a draft's page, or flash the
    new version and 303 to the list."""
    info: VersionInfo = deployed.version
    if deployed.warnings:
        session[_WARNINGS_KEY] = [
            {"file": r.file, "element": r.element, "text": r.text}
            for r in _rows(deployed.warnings)
        ]
    if (to_draft := drafts.after_deploy(deployed)) is not None:
        return to_draft
    flash(
        gettext(
            "Se desplegó «%(title)s» (%(key)s), versión %(version)s.",
            title=info.title,
            key=info.case_type,
            version=info.version,
        ),
        "success",
    )
    return redirect(url_for("designer.index"), code=303)


def _newest(tipo: str) -> tuple[VersionInfo, dict[str, str]]:
    """The newest version of a case type and its files, or 404."""
    return _version(tipo, None)


def _version(tipo: str, n: int | None) -> tuple[VersionInfo, dict[str, str]]:
    """A version of a case type and its files (NotFound/NotAllowed raise)."""
    return design.version_files(platform(), _actor(), tipo, n)


def _main_diagram(files: dict[str, str], tipo: str) -> tuple[str, str] | None:
    """(name, text) of the version's main diagram, if it has one."""
    try:
        return design.main_diagram(files, tipo)
    except NotFound:
        return None


def element_kinds() -> dict[str, str]:
    """BPMN element types in words, for the modeler's properties panel."""
    return {
        "Task": gettext("Tarea"),
        "UserTask": gettext("Tarea de usuario"),
        "ManualTask": gettext("Tarea manual"),
        "ScriptTask": gettext("Tarea de script"),
        "ServiceTask": gettext("Tarea de servicio"),
        "BusinessRuleTask": gettext("Tarea de regla de negocio (DMN)"),
        "SendTask": gettext("Tarea de envío"),
        "ReceiveTask": gettext("Tarea de recepción"),
        "SubProcess": gettext("Subproceso"),
        "CallActivity": gettext("Actividad de llamada"),
        "StartEvent": gettext("Evento de inicio"),
        "EndEvent": gettext("Evento de fin"),
        "IntermediateThrowEvent": gettext("Evento intermedio de lanzamiento"),
        "IntermediateCatchEvent": gettext("Evento intermedio de captura"),
        "BoundaryEvent": gettext("Evento de borde"),
        "ExclusiveGateway": gettext("Compuerta exclusiva"),
        "ParallelGateway": gettext("Compuerta paralela"),
        "InclusiveGateway": gettext("Compuerta inclusiva"),
        "EventBasedGateway": gettext("Compuerta basada en eventos"),
        "SequenceFlow": gettext("Flujo de secuencia"),
        "MessageFlow": gettext("Flujo de mensaje"),
        "Association": gettext("Asociación"),
        "Participant": gettext("Participante (piscina)"),
        "Lane": gettext("Carril (rol)"),
        "TextAnnotation": gettext("Anotación"),
        "DataObjectReference": gettext("Objeto de datos"),
        "DataStoreReference": gettext("Almacén de datos"),
        "Group": gettext("Grupo"),
    }


def _kind(name: str) -> str:
    """A file's type, for people."""
    if name.startswith("tests/"):
        return gettext("Escenario de prueba")
    if name.endswith(".bpmn"):
        return gettext("Diagrama BPMN")
    if name.endswith(".dmn"):
        return gettext("Tabla de decisión DMN")
    return gettext("Formulario (JSON Schema)")


# --------------------------------------------------------------------------
# Case types, versions and their files


@bp.get("")
def index() -> Any:
    """Every case type with its versions, newest first, and the deploy form."""
    case_types = design.list_case_type_versions(platform(), _actor())
    warnings = [
        ProblemRow(w["file"], w["element"], w["text"], "warning")
        for w in session.pop(_WARNINGS_KEY, [])
    ]
    changes = {
        t.key: design.version_changes(platform(), _actor(), t.key) for t in case_types
    }
    return render_template(
        "designer/index.html",
        case_types=case_types,
        changes=changes,
        warnings=warnings,
        note="",
        max_note=MAX_NOTE_CHARS,
    )


@bp.get("/<tipo>/v/<int:n>")
def version(tipo: str, n: int) -> Any:
    """A version's files, each viewable, and its diagram (read-only)."""
    info, files = _version(tipo, n)
    newest, _ = _newest(tipo)
    diagram = _main_diagram(files, tipo)
    rows = [
        FileRow(
            name=name,
            kind=_kind(name),
            size=len(text.encode()),
            is_form=name.endswith(".json") and not name.startswith("tests/"),
        )
        for name, text in sorted(files.items())
    ]
    changes = design.version_changes(platform(), _actor(), tipo).get(n, [])
    return render_template(
        "designer/version.html",
        info=info,
        files=rows,
        diagram=diagram[0] if diagram else None,
        is_newest=newest.version == info.version,
        serving=drafts.serving_version(tipo),
        changes=[translate(m) for m in changes],
    )


@bp.post("/<tipo>/v/<int:n>/redesplegar")
def redeploy(tipo: str, n: int) -> Any:
    """Roll back: deploy an older version's files again as the newest."""
    info, files = _version(tipo, n)
    note = gettext("Vuelve a la versión %(n)s.", n=info.version)
    deployed, problems = _deploy(files, note)
    if deployed is None:
        for row in problems:
            flash(row.text, "error")
        return redirect(url_for("designer.version", tipo=tipo, n=n), code=303)
    return _deployed_redirect(deployed)


@bp.get("/<tipo>/v/<int:n>/archivos/<path:name>")
def file(tipo: str, n: int, name: str) -> Any:
    """One file of a version as raw text with a safe content type."""
    _, files = _version(tipo, n)
    if name not in files:
        abort(404)
    suffix = name[name.rfind(".") :] if "." in name else ""
    response = Response(files[name], mimetype=CONTENT_TYPES.get(suffix, "text/plain"))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = (
        f"inline; filename*=UTF-8''{quote(name, safe='')}"
    )
    return response


# --------------------------------------------------------------------------
# Deploy an uploaded bundle


@bp.get("/desplegar")
def deploy_form() -> Any:
    """The deploy form on a page of its own."""
    return _deploy_page([], "")


def _deploy_page(problems: list[ProblemRow], note: str, status: int = 200) -> Any:
    """Render the deploy page, with the problems of a refused deploy."""
    return (
        render_template(
            "designer/deploy.html",
            problems=problems,
            note=note,
            max_note=MAX_NOTE_CHARS,
        ),
        status,
    )


@bp.post("/desplegar")
def deploy() -> Any:
    """Deploy uploaded files (``.bpmn``, ``.dmn``, ``.json``) or one ``.zip``."""
    note = request.form.get("nota", "")
    uploads = [
        (upload.filename or "", upload.read())
        for upload in request.files.getlist("archivos")
        if upload.filename
    ]
    if not uploads:
        text = gettext("Elija los archivos del paquete (o un .zip) para desplegar.")
        return _deploy_page([ProblemRow("", "", text, "error")], note, 422)
    try:
        files = design.read_upload(uploads)
    except BundleInvalid as exc:
        return _deploy_page(_note_problem(note) + _rows(exc.problems), note, 422)
    deployed, problems = _deploy(files, note)
    if deployed is None:
        return _deploy_page(problems, note, 422)
    return _deployed_redirect(deployed)


# --------------------------------------------------------------------------
# Modeler


@bp.route("/<tipo>/modelador", methods=["GET", "POST"])
def modeler(tipo: str) -> Any:
    """Edit the newest version's main diagram; save it as a new version.

    The page posts the whole diagram back as XML. The new bundle is the
    newest version's files with that diagram replaced. When somebody else
    deployed in the meantime the designer is told (409) and the diagram kept;
    saving again then replaces the diagram of that newer version.
    """
    info, files = _newest(tipo)
    diagram = _main_diagram(files, tipo)
    if diagram is None:
        abort(404)
    name = diagram[0]
    xml = ""
    note = ""
    problems: list[ProblemRow] = []
    status = 200
    if request.method == "POST":
        xml = request.form.get("xml", "")
        note = request.form.get("nota", "")
        base = request.form.get("version", "")
        if not xml.strip():
            text = gettext("No llegó ningún diagrama. Vuelva a intentarlo.")
            problems, status = [ProblemRow(name, "", text, "error")], 422
        elif base != str(info.version):
            problems, status = [_stale_problem(name, info)], 409
        else:
            deployed, problems = _deploy({**files, name: xml}, note)
            if deployed is not None:
                return _deployed_redirect(deployed)
            status = 422
    return (
        render_template(
            "designer/modeler.html",
            info=info,
            diagram=name,
            xml=xml,
            note=note,
            problems=problems,
            max_note=MAX_NOTE_CHARS,
            kinds=json.dumps(element_kinds(), ensure_ascii=False),
        ),
        status,
    )


def _stale_problem(name: str, info: VersionInfo) -> ProblemRow:
    """The problem shown when a newer version appeared while editing."""
    text = gettext(
        "%(who)s desplegó la versión %(version)s mientras usted editaba. Sus "
        "cambios siguen aquí; si guarda otra vez, reemplazarán el archivo "
        "de esa versión.",
        who=info.deployed_by,
        version=info.version,
    )
    return ProblemRow(name, "", text, "error")


# --------------------------------------------------------------------------
# Form editor


@bp.route("/<tipo>/formularios/<name>", methods=["GET", "POST"])
def form_editor(tipo: str, name: str) -> Any:
    """Edit one form of the newest version with a live preview; save deploys."""
    info, files = _newest(tipo)
    if not name.endswith(".json") or name not in files:
        abort(404)
    text = files[name]
    note = ""
    sample = ""
    problems: list[ProblemRow] = []
    status = 200
    if request.method == "POST":
        text = request.form.get("esquema", "")
        note = request.form.get("nota", "")
        sample = request.form.get("datos", "")
        if request.form.get("version", "") != str(info.version):
            problems, status = [_stale_problem(name, info)], 409
        else:
            deployed, problems = _deploy({**files, name: text}, note)
            if deployed is not None:
                return _deployed_redirect(deployed)
            status = 422
    return (
        render_template(
            "designer/form_editor.html",
            info=info,
            name=name,
            text=text,
            sample=sample,
            note=note,
            problems=problems,
            max_note=MAX_NOTE_CHARS,
            **_preview_context(_preview(text, sample)),
        ),
        status,
    )


def _preview(text: str, sample: str) -> FormPreview:
    """What the preview shows for a form text and optional sample data."""
    return previews.preview_form(platform(), _actor(), text, sample)


@bp.post("/formularios/vista-previa")
def preview() -> Any:
    """An HTML fragment: the form as users will see it, or its problems.

    The form editor's script posts the form's JSON (``esquema``) and
    optional sample data (``datos``) with the CSRF token in ``X-CSRFToken``.
    """
    result = _preview(request.form.get("esquema", ""), request.form.get("datos", ""))
    status = 422 if result.problems else 200
    return render_template("designer/_preview.html", **_preview_context(result)), status


def _preview_context(result: FormPreview) -> dict[str, Any]:
    """The preview template's values: the result and its field messages,
    translated for the form macro (which shows strings)."""
    return {"preview": result, "preview_errors": field_errors(result.errors)}


# Routes in modules of their own, registered on this blueprint on import.
from webapp.designer import (  # noqa: E402, F401
    compare,
    decisions,
    drafts,
    modeler_api,
    moves,
    recording,
    scenarios,
)
