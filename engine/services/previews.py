"""The form editor's live preview: a form as users will see it, tried on data.

Kept apart from :mod:`engine.services.design` (which deploys) because a
preview stores nothing: it parses what the designer typed, fills the
``x-source`` choices exactly as intake and tasks do (:func:`sources_for`,
:func:`form_view`) and validates sample data as a submit would.
"""

from __future__ import annotations

import json
from typing import Any

from engine.bundles import form_checks, forms
from engine.domain.design import FormPreview
from engine.domain.errors import N_, Message, NotAllowed
from engine.domain.views import Actor
from engine.services.common import allowed_values, form_view, sources_for
from engine.services.platform import Platform
from engine.services.versions import DESIGN_ROLES


def preview_form(
    p: Platform, actor: Actor, schema_text: str, sample_text: str = ""
) -> FormPreview:
    """Parse a form and optional sample data (JSON texts); what the preview shows.

    Never raises for what the designer typed: broken JSON or an invalid
    schema come back as ``problems``, unreadable sample data as
    ``data_problems``. Only designers and admins may ask (:class:`NotAllowed`).
    """
    if not actor.has(*DESIGN_ROLES):
        raise NotAllowed(N_("Solo los diseñadores de procesos pueden hacer esto."))
    try:
        schema = json.loads(schema_text)
    except json.JSONDecodeError as exc:
        message = Message(N_("El JSON no es válido: %(detail)s"), {"detail": str(exc)})
        return FormPreview([message])
    problems = schema_problems(schema)
    if problems:
        return FormPreview(problems)
    with p.db.read() as s:
        sources = sources_for(s, schema)
    form = form_view(schema, sources)
    if not sample_text.strip():
        return FormPreview([], form=form)
    try:
        data = json.loads(sample_text)
    except json.JSONDecodeError as exc:
        message = Message(
            N_("Los datos de prueba no son JSON válido: %(detail)s"),
            {"detail": str(exc)},
        )
        return FormPreview([], form=form, data_problems=[message])
    if not isinstance(data, dict):
        message = Message(N_("Los datos de prueba deben ser un objeto JSON ({…})."))
        return FormPreview([], form=form, data_problems=[message])
    try:
        errors = forms.validate(schema, data, allowed_values(sources))
    except Exception as exc:  # noqa: BLE001 - a schema jsonschema cannot apply
        message = Message(
            N_("No se pudieron validar los datos: %(detail)s"),
            {"detail": str(getattr(exc, "message", exc))},
        )
        return FormPreview([], form=form, values=data, data_problems=[message])
    # Messages on names the form has no field for would show nowhere beside a
    # field: the preview lists them apart ("" belongs to the whole form).
    known = set(forms.fields(schema)) | {""}
    stray = {name: msgs for name, msgs in errors.items() if name not in known}
    return FormPreview(
        [], form=form, values=data, errors=errors, stray=stray, tested=True
    )


def schema_problems(schema: Any) -> list[Message]:
    """Why a parsed form cannot be shown: not a JSON Schema, or fields that
    are not described by an object (the form macro could not render them)."""
    problems = [
        Message(
            N_("El formulario no es un JSON Schema válido: %(detail)s"),
            {"detail": detail},
        )
        for detail in form_checks.check_schema(schema)
    ]
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    if isinstance(props, dict):
        problems += [
            Message(
                N_("El campo «%(name)s» debe describirse con un objeto."), {"name": k}
            )
            for k, v in props.items()
            if not isinstance(v, dict)
        ]
    return problems
