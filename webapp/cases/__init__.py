"""The staff case page with its live diagram, and unsealing a reserved identity."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_login import login_required

from engine import services
from engine.domain.errors import (
    Conflict,
    InvalidData,
    NotAllowed,
    NotFound,
    ProcessFailed,
)
from engine.services import design
from engine.services.design import CaseDiagram
from webapp.helpers import (
    download,
    field_errors,
    oversized,
    platform,
    raw_form,
    require_actor,
    safe_next,
    translate,
    uploads,
)

bp = Blueprint("cases", __name__, template_folder="templates")


@bp.get("/casos/<numero>")
@login_required
def detail(numero: str) -> Any:
    """A case: data, contact, open tasks, its diagram and the audit timeline."""
    return _detail_page(numero)


def _detail_page(numero: str, status: int = 200, **extra: Any) -> Any:
    """Render the case page, with what a refused form needs to show again."""
    actor = require_actor()
    case = services.get_case(platform(), actor, numero)
    return (
        render_template(
            "cases/detail.html",
            case=case,
            diagram=_page_diagram(numero),
            family=services.merge_family(platform(), actor, numero),
            **extra,
        ),
        status,
    )


@bp.post("/casos/<numero>/duplicados")
@login_required
def merge(numero: str) -> Any:
    """311 staff merge the chosen duplicates under this case."""
    chosen = request.form.getlist("duplicados")
    other = request.form.get("otro", "").strip()
    note = request.form.get("nota", "")
    values = {"duplicados": chosen, "otro": other, "nota": note}
    return _merging(
        numero,
        lambda: services.merge_cases(
            platform(), require_actor(), numero, [*chosen, other], note
        ),
        values,
    )


@bp.post("/casos/<numero>/unir-a")
@login_required
def merge_into(numero: str) -> Any:
    """311 staff merge this case, as a duplicate, under another one."""
    parent = request.form.get("principal", "").strip().upper()
    return _merging(
        numero,
        lambda: services.merge_cases(platform(), require_actor(), parent, [numero]),
        {},
    )


@bp.post("/casos/<numero>/separar")
@login_required
def unmerge(numero: str) -> Any:
    """311 staff separate this duplicate from its parent, saying why."""
    reason = request.form.get("motivo", "")
    return _merging(
        numero,
        lambda: services.unmerge_case(platform(), require_actor(), numero, reason),
        {"motivo": reason},
    )


def _merging(numero: str, run: Any, values: dict[str, Any]) -> Any:
    """Run a merge or a separation; back to the page it came from, or this
    case's page again with the message and what was typed."""
    try:
        done = run()
    except InvalidData as exc:
        return _detail_page(
            numero, 422, merge_errors=field_errors(exc.errors), merge_values=values
        )
    except (Conflict, NotFound) as exc:
        status = 409 if isinstance(exc, Conflict) else 404
        return _detail_page(
            numero,
            status,
            merge_errors={"": [translate(exc.message)]},
            merge_values=values,
        )
    if numero == done.parent:
        message = ngettext(
            "Se unió %(num)s caso a %(parent)s; su ciudadano recibirá los avances.",
            "Se unieron %(num)s casos a %(parent)s; sus ciudadanos recibirán los "
            "avances.",
            len(done.children),
            parent=done.parent,
        )
    elif request.endpoint == "cases.unmerge":
        message = gettext(
            "El caso %(number)s se separó de %(parent)s y vuelve a su trámite.",
            number=numero,
            parent=done.parent,
        )
    else:
        message = gettext(
            "El caso %(number)s se unió a %(parent)s.",
            number=numero,
            parent=done.parent,
        )
    flash(message, "success")
    target = safe_next(request.form.get("next"))
    return redirect(target or url_for("cases.detail", numero=numero), code=303)


@bp.post("/casos/<numero>/notas")
@login_required
def add_note(numero: str) -> Any:
    """Staff add an internal or public note, with files, to the case."""
    actor = require_actor()
    text = request.form.get("nota", "")
    public = request.form.get("visibilidad") == "publica"
    errors = oversized(raw_form())
    if not errors:
        try:
            services.add_note(
                platform(), actor, numero, text, public, uploads("adjuntos")
            )
        except InvalidData as exc:
            errors = field_errors(exc.errors)
        else:
            flash(
                gettext("Nota pública agregada: el ciudadano la verá.")
                if public
                else gettext("Nota interna agregada."),
                "success",
            )
            return redirect(url_for("cases.detail", numero=numero), code=303)
    return _detail_page(
        numero, 422, note_errors=errors, note_text=text, note_public=public
    )


@bp.get("/casos/<numero>/adjuntos/<attachment_id>")
@login_required
def attachment(numero: str, attachment_id: str) -> Any:
    """A file of the case, for staff who may see it (sealed ones refused)."""
    found = services.get_attachment(platform(), require_actor(), numero, attachment_id)
    return download(found)


@bp.post("/casos/<numero>/adjuntos/<attachment_id>")
@login_required
def unseal_attachment(numero: str, attachment_id: str) -> Any:
    """A supervisor opens a sealed file, giving a reason (audited)."""
    reason = request.form.get("motivo", "")
    try:
        found = services.unseal_attachment(
            platform(), require_actor(), numero, attachment_id, reason
        )
    except InvalidData as exc:
        return _detail_page(
            numero,
            422,
            file_errors={attachment_id: field_errors(exc.errors)},
        )
    return download(found)


def _page_diagram(numero: str) -> CaseDiagram | None:
    """The diagram section's data (None when the case has no diagram).

    The page shows the case without its diagram rather than failing: a
    version may hold no diagram to draw.
    """
    try:
        return design.case_diagram(platform(), require_actor(), numero)
    except (NotFound, NotAllowed):
        return None


@bp.get("/casos/<numero>/diagrama.bpmn")
@login_required
def diagram(numero: str) -> Any:
    """The BPMN XML of the version the case runs on (access-checked)."""
    found = design.case_diagram(platform(), require_actor(), numero)
    response = Response(found.bpmn, mimetype="application/xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.get("/casos/<numero>/diagrama.json")
@login_required
def diagram_state(numero: str) -> Any:
    """The case's completed and current element ids, as JSON."""
    found = design.case_diagram(platform(), require_actor(), numero)
    return {
        "numero": found.number,
        "version": found.version,
        "completados": found.completed,
        "actuales": found.current,
    }


@bp.post("/casos/<numero>/identidad")
@login_required
def unseal(numero: str) -> Any:
    """A supervisor opens a reserved identity, giving a reason (audited).

    The identity is shown in this response only; nothing is kept in the
    session or in the page history beyond the audit event.
    """
    actor = require_actor()
    reason = request.form.get("motivo", "")
    errors: dict[str, list[str]] = {}
    contact = None
    status = 200
    try:
        contact = services.unseal_identity(platform(), actor, numero, reason)
    except InvalidData as exc:
        errors, status = field_errors(exc.errors), 422
    except ProcessFailed as exc:
        errors, status = {"motivo": [translate(exc.message)]}, 500
    case = services.get_case(platform(), actor, numero)
    return (
        render_template(
            "cases/detail.html",
            case=case,
            diagram=_page_diagram(numero),
            family=services.merge_family(platform(), actor, numero),
            unsealed=contact,
            unseal_errors=errors,
            reason=reason,
        ),
        status,
    )
