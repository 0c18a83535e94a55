"""Drafts and practice mode in the designer's pages.

A deploy (upload, modeler, form editor) may be saved as a draft: the
checkbox ``borrador`` of each form. A draft serves no new case; its page
offers to try it in practice mode, to publish it with a note (a new case
type only once its public title and intake form are confirmed) or to
discard it. Practice cases are filed from the version's practice page and
worked from there (each ready task links to its task page); they are
deleted one by one or all at once.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from engine.domain.errors import InvalidData, ProcessFailed
from engine.domain.views import Actor
from engine.services import design, practice
from engine.services import drafts as publishing
from engine.services.common import submitted_values
from webapp.designer import MAX_NOTE_CHARS, bp
from webapp.helpers import (
    current_actor,
    field_errors,
    oversized,
    platform,
    raw_form,
    translate,
)

#: The checkbox that saves a deploy as a draft (upload, modeler, form editor).
DRAFT_FIELD = "borrador"

#: The checkbox confirming a new case type's public title and intake form.
CONFIRM_FIELD = "confirmar"

#: The intake form's idempotency key field (one practice case per submit).
IDEMPOTENCY_FIELD = "idempotencia"


def _designer() -> Actor:
    """The designer making the request (``designers_only`` checked it)."""
    actor = current_actor()
    assert actor is not None
    return actor


def serving_version(tipo: str) -> int | None:
    """The version of ``tipo`` serving new cases (None: drafts only)."""
    return publishing.serving_version(platform(), tipo)


def draft_requested() -> bool:
    """Whether the deploy form asked for a draft."""
    return bool(request.form.get(DRAFT_FIELD))


def after_deploy(deployed: Any) -> Any:
    """Where a deploy that left a draft goes (None: a published version).

    A draft asked for: its page, to try it or publish it. A new case type
    deployed for publishing: the publication page, to confirm it first.
    """
    info = deployed.version
    if not info.is_draft:
        return None
    if deployed.needs_confirmation:
        flash(
            gettext(
                "«%(title)s» es un tipo de caso nuevo: se guardó como borrador. "
                "Confirme su título público y su formulario de entrada para "
                "publicarlo.",
                title=info.title,
            ),
            "info",
        )
        target = "designer.publish"
    else:
        flash(
            gettext(
                "Se guardó el borrador %(version)s de «%(title)s»: los casos "
                "nuevos siguen usando la versión publicada.",
                version=info.version,
                title=info.title,
            ),
            "success",
        )
        target = "designer.version"
    return redirect(url_for(target, tipo=info.case_type, n=info.version), code=303)


# --------------------------------------------------------------------------
# Publishing and discarding


@bp.route("/<tipo>/v/<int:n>/publicar", methods=["GET", "POST"])
def publish(tipo: str, n: int) -> Any:
    """Publish a draft with a note; a new case type is confirmed first."""
    p = platform()
    shown = publishing.publication(p, _designer(), tipo, n)
    note = ""
    confirmed = False
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        note = request.form.get("nota", "")
        confirmed = bool(request.form.get(CONFIRM_FIELD))
        if len(note) > MAX_NOTE_CHARS:
            errors["nota"] = [
                gettext(
                    "La nota es demasiado larga (máximo %(n)s caracteres).",
                    n=MAX_NOTE_CHARS,
                )
            ]
        else:
            try:
                info = publishing.publish(
                    p, _designer(), tipo, n, note, confirm_new=confirmed
                )
            except InvalidData as exc:
                errors = field_errors(exc.errors)
            else:
                flash(
                    gettext(
                        "Se publicó la versión %(version)s de «%(title)s»: los "
                        "casos nuevos la usan desde ahora.",
                        version=info.version,
                        title=info.title,
                    ),
                    "success",
                )
                return redirect(url_for("designer.index"), code=303)
    return (
        render_template(
            "designer/publish.html",
            shown=shown,
            info=shown.version,
            note=note,
            confirmed=confirmed,
            errors=errors,
            max_note=MAX_NOTE_CHARS,
        ),
        422 if errors else 200,
    )


@bp.post("/<tipo>/v/<int:n>/descartar")
def discard(tipo: str, n: int) -> Any:
    """Discard a draft and its practice cases."""
    deleted = publishing.discard_draft(platform(), _designer(), tipo, n)
    flash(
        ngettext(
            "Se descartó el borrador %(version)s (y %(num)s caso de práctica).",
            "Se descartó el borrador %(version)s (y %(num)s casos de práctica).",
            deleted,
            version=n,
        ),
        "success",
    )
    return redirect(url_for("designer.index"), code=303)


# --------------------------------------------------------------------------
# Practice mode


@bp.route("/<tipo>/v/<int:n>/practica", methods=["GET", "POST"])
def practice_page(tipo: str, n: int) -> Any:
    """File practice cases on a version and list them with their tasks."""
    p = platform()
    actor = _designer()
    view = practice.practice_intake(p, actor, tipo, n)
    info, _ = design.version_files(p, actor, tipo, n)
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    key = secrets.token_urlsafe(24)
    if request.method == "POST":
        raw = raw_form()
        key = (raw.pop(IDEMPOTENCY_FIELD, None) or [""])[-1] or key
        raw.pop("csrf_token", None)
        errors = oversized(raw)
        if not errors:
            try:
                opened = practice.open_practice_case(
                    p,
                    actor,
                    tipo,
                    n,
                    submitted_values(view.form.schema, raw),
                    idempotency_key=key,
                )
            except InvalidData as exc:
                errors = field_errors(exc.errors)
            except ProcessFailed as exc:
                errors = {"": [translate(exc.message)]}
            else:
                flash(
                    gettext(
                        "Se registró el caso de práctica %(number)s: trabaje "
                        "sus tareas desde la lista.",
                        number=opened.number,
                    ),
                    "success",
                )
                return redirect(url_for("designer.practice_page", tipo=tipo, n=n), 303)
        values = {k: (v if len(v) > 1 else v[0]) for k, v in raw.items() if v}
    return (
        render_template(
            "designer/practice.html",
            info=info,
            view=view,
            values=values,
            errors=errors,
            idempotency_key=key,
            cases=practice.list_practice_cases(p, actor, tipo, n),
        ),
        422 if errors else 200,
    )


@bp.post("/<tipo>/v/<int:n>/practica/<numero>/borrar")
def delete_practice_case(tipo: str, n: int, numero: str) -> Any:
    """Delete one practice case."""
    practice.delete_practice_case(platform(), _designer(), numero)
    flash(gettext("Se borró el caso de práctica %(number)s.", number=numero), "success")
    return redirect(url_for("designer.practice_page", tipo=tipo, n=n), code=303)


@bp.post("/<tipo>/v/<int:n>/practica/borrar")
def delete_practice_cases(tipo: str, n: int) -> Any:
    """Delete every practice case of a version."""
    deleted = practice.delete_practice_cases(platform(), _designer(), tipo, n)
    flash(
        ngettext(
            "Se borró %(num)s caso de práctica.",
            "Se borraron %(num)s casos de práctica.",
            deleted,
        ),
        "success",
    )
    return redirect(url_for("designer.practice_page", tipo=tipo, n=n), code=303)
