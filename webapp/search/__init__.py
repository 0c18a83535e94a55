"""Case search for staff (``/buscar``) and its CSV export for supervisors."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import login_required

from engine import services
from engine.domain.errors import InvalidData
from engine.domain.views import CASE_STATUSES, CHANNELS
from engine.domain.workspace import SEARCH_SORTS, SearchHit
from webapp.csvfile import csv_download
from webapp.filters import PANAMA
from webapp.helpers import field_errors, platform, require_actor

bp = Blueprint("search", __name__, template_folder="templates")

#: The query-string parameters of the search form (the same for the CSV).
PARAMS = (
    "q",
    "numero",
    "contacto",
    "entidad",
    "tipo",
    "estado",
    "canal",
    "desde",
    "hasta",
    "vencidos",
    "orden",
    "pagina",
)


def _params() -> dict[str, str]:
    """The search parameters given (empty ones left out)."""
    found = {name: request.args.get(name, "").strip() for name in PARAMS}
    return {name: value for name, value in found.items() if value}


@bp.get("/buscar")
@login_required
def index() -> Any:
    """The search form and one page of results (422 with messages when a
    criterion is not valid, the form keeping what was sent)."""
    actor = require_actor()
    p = platform()
    options = services.search_options(p, actor)
    params = _params()
    errors: dict[str, list[str]] = {}
    results = None
    try:
        query = services.case_query(params)
    except InvalidData as exc:
        errors = field_errors(exc.errors)
    else:
        results = services.search_cases(p, actor, query)

    def search_url(**changes: Any) -> str:
        """This search with some parameters changed (sorting, paging)."""
        return url_for("search.index", **{**params, **changes})

    export_url = None
    if options.may_export:
        export_url = url_for("search.export", **params)  # type: ignore[arg-type]
    page = render_template(
        "search/index.html",
        options=options,
        params=params,
        errors=errors,
        results=results,
        statuses=CASE_STATUSES,
        sorts=SEARCH_SORTS,
        search_url=search_url,
        export_url=export_url,
    )
    return page, 422 if errors else 200


@bp.get("/buscar/llamante")
@login_required
def caller() -> Any:
    """Who is calling: the people whose contact matches ``q`` and their
    earlier cases, as JSON for the phone-intake page (311 staff only; with
    ``tipo``, the contact fields of that intake form each caller fills)."""
    found = services.lookup_caller(
        platform(),
        require_actor(),
        request.args.get("q", ""),
        request.args.get("tipo", ""),
    )
    return jsonify(
        q=found.text,
        too_short=found.too_short,
        more=found.more,
        callers=[
            {
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "fill": c.fill,
                "cases": [
                    {
                        "number": hit.number,
                        "url": url_for("cases.detail", numero=hit.number),
                        "type": hit.type_title,
                        "status": gettext(CASE_STATUSES.get(hit.status, hit.status)),
                        "public_status": hit.public_status,
                        "entity": hit.entity_name or hit.entity_code or "",
                    }
                    for hit in c.cases
                ],
            }
            for c in found.callers
        ],
    )


@bp.get("/buscar.csv")
@login_required
def export() -> Any:
    """The whole result set as CSV, for supervisors (403 for others); the
    export is audited before the first row is read."""
    actor = require_actor()
    p = platform()
    hits = services.export_cases(p, actor, services.case_query(_params()))
    header = [
        gettext("Número"),
        gettext("Tipo"),
        gettext("Entidad"),
        gettext("Estado"),
        gettext("Estado público"),
        gettext("Canal"),
        gettext("Creado"),
        gettext("Vence"),
        gettext("Vencido"),
        gettext("Asunto"),
        gettext("Nombre"),
        gettext("Correo electrónico"),
        gettext("Teléfono"),
    ]
    statuses = {k: gettext(v) for k, v in CASE_STATUSES.items()}
    channels = {k: gettext(v) for k, v in CHANNELS.items()}
    yes, no = gettext("Sí"), gettext("No")

    def row(hit: SearchHit) -> list[str]:
        """One case as CSV cells (reserved identities have no contact)."""
        return [
            hit.number,
            hit.type_title,
            hit.entity_code or "",
            statuses.get(hit.status, hit.status),
            hit.public_status,
            channels.get(hit.channel, hit.channel),
            _local(hit.created_at),
            _local(hit.due_at),
            yes if hit.overdue else no,
            hit.subject,
            "; ".join(hit.contact_names),
            "; ".join(hit.contact_emails),
            "; ".join(hit.contact_phones),
        ]

    stamp = p.clock().astimezone(PANAMA).strftime("%Y%m%d-%H%M")
    return csv_download(f"casos-{stamp}.csv", header, (row(hit) for hit in hits))


def _local(value: Any) -> str:
    """A UTC datetime as Panama time for the CSV file."""
    return value.astimezone(PANAMA).strftime("%Y-%m-%d %H:%M") if value else ""
