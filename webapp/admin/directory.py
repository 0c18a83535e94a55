"""Administration: the directory import (``/admin/importar``).

Upload a CSV of entities and people, see every problem of every row (the
dry run), then apply the very file checked (the button names its hash;
the text waits in the database) or download the template and the current
directory in the same format.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from engine.domain.directory import COLUMNS, ImportCheck, ImportRefused, UnreadableFile
from engine.services import directory
from webapp.admin import bp
from webapp.csvfile import csv_download
from webapp.filters import PANAMA
from webapp.helpers import platform, require_actor, translate


@bp.get("/importar")
@login_required
def import_page() -> Any:
    """The upload form, the file format and the downloads (admins)."""
    actor = require_actor()
    directory.require_admin(actor)
    return _page(None)


@bp.post("/importar")
@login_required
def import_check() -> Any:
    """The dry run of the uploaded file: every problem, nothing written."""
    actor = require_actor()
    upload = request.files.get("archivo")
    if upload is None or not upload.filename:
        directory.require_admin(actor)
        return _page(None, gettext("Elija un archivo CSV.")), 422
    try:
        check = directory.check_upload(
            platform(), actor, upload.stream, upload.filename
        )
    except UnreadableFile as exc:
        return _page(None, translate(exc.message)), 422
    return _page(check), 200 if check.applicable else 422


@bp.post("/importar/aplicar")
@login_required
def import_apply() -> Any:
    """Apply the checked file named by its hash: all rows or none."""
    actor = require_actor()
    sha256 = request.form.get("archivo", "")
    try:
        done = directory.apply_upload(platform(), actor, sha256)
    except ImportRefused as exc:
        return _page(exc.check), 422
    e, p = done.entities, done.people
    flash(
        gettext(
            "Directorio importado. Entidades: %(e1)s creadas, %(e2)s actualizadas,"
            " %(e3)s sin cambios. Personas: %(p1)s creadas, %(p2)s actualizadas,"
            " %(p3)s sin cambios.",
            e1=e.created,
            e2=e.updated,
            e3=e.unchanged,
            p1=p.created,
            p2=p.updated,
            p3=p.unchanged,
        ),
        "success",
    )
    return redirect(url_for("admin.import_page"), code=303)


@bp.get("/importar/plantilla.csv")
@login_required
def import_template() -> Any:
    """The template: the columns and an example row of each kind."""
    directory.require_admin(require_actor())
    return csv_download(
        "plantilla-directorio.csv", list(COLUMNS), directory.template_rows()
    )


@bp.get("/importar/directorio.csv")
@login_required
def import_download() -> Any:
    """Every entity and staff member in the import format (audited)."""
    p = platform()
    rows = directory.directory_rows(p, require_actor())
    stamp = p.clock().astimezone(PANAMA).strftime("%Y%m%d-%H%M")
    return csv_download(f"directorio-{stamp}.csv", list(COLUMNS), rows)


def _page(check: ImportCheck | None, file_error: str | None = None) -> str:
    """The import page, with a dry run's result or a refused file."""
    return render_template(
        "admin/import.html",
        check=check,
        file_error=file_error,
        columns=COLUMNS,
        max_rows=platform().limits.import_max_rows,
        max_kib=platform().limits.import_max_bytes // 1024,
    )
