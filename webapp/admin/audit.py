"""Administration: the audit log viewer (``/admin/auditoria``) and its CSV."""

from __future__ import annotations

import json
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from engine.domain.admin import AUDIT_ACTIONS, AuditEntry, AuditQuery
from engine.domain.errors import InvalidData
from engine.services import auditing
from webapp.admin import bp
from webapp.csvfile import csv_download
from webapp.filters import PANAMA
from webapp.helpers import field_errors, platform, require_actor

#: The viewer's query-string parameters (the same for the CSV).
PARAMS = ("persona", "accion", "desde", "hasta", "antes")


def _params() -> dict[str, str]:
    """The filters given (empty ones left out)."""
    found = {name: request.args.get(name, "").strip() for name in PARAMS}
    return {name: value for name, value in found.items() if value}


@bp.get("/auditoria")
@login_required
def audit() -> Any:
    """The audit log, newest first, 50 a page (admins and supervisors)."""
    actor = require_actor()
    p = platform()
    params = _params()
    errors: dict[str, list[str]] = {}
    try:
        query = auditing.audit_query(params)
    except InvalidData as exc:
        query, errors = AuditQuery(), field_errors(exc.errors)
    page = auditing.list_audit(p, actor, query)
    filters: dict[str, Any] = {k: v for k, v in params.items() if k != "antes"}
    next_url = None
    if page.next_before is not None:
        next_url = url_for("admin.audit", **filters, antes=page.next_before)
    return (
        render_template(
            "admin/audit.html",
            page=page,
            values=params,
            errors=errors,
            people=auditing.audit_actors(p),
            next_url=next_url,
            first_url=url_for("admin.audit", **filters) if "antes" in params else None,
            csv_url=url_for("admin.audit_csv", **filters),
        ),
        422 if errors else 200,
    )


@bp.get("/auditoria.csv")
@login_required
def audit_csv() -> Any:
    """Every matching record as CSV; the export is itself audited."""
    actor = require_actor()
    p = platform()
    params = {k: v for k, v in _params().items() if k != "antes"}
    entries = auditing.export_audit(p, actor, auditing.audit_query(params))
    header = [
        gettext("Fecha y hora"),
        gettext("Persona"),
        gettext("Acción"),
        gettext("Clave de la acción"),
        gettext("Desde"),
        gettext("Caso"),
        gettext("Versión"),
        gettext("Objeto"),
        gettext("Detalle"),
    ]
    labels = {k: gettext(v) for k, v in AUDIT_ACTIONS.items()}

    def row(e: AuditEntry) -> list[str]:
        """One record as CSV cells."""
        return [
            e.at.astimezone(PANAMA).strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            labels.get(e.action, e.action),
            e.action,
            e.client or "",
            e.case or "",
            e.version or "",
            e.target or "",
            json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
        ]

    stamp = p.clock().astimezone(PANAMA).strftime("%Y%m%d-%H%M")
    return csv_download(f"auditoria-{stamp}.csv", header, (row(e) for e in entries))
