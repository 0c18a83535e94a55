"""Open data (``/datos``): the daily files of cases, and what each column
holds; the transparency page (``/transparencia``): how each entity answers."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template

from engine.services import open_data, transparency
from webapp.helpers import platform

bp = Blueprint("opendata", __name__, template_folder="templates")

MEDIA = {"csv": "text/csv", "json": "application/json"}


@bp.get("/datos")
def index() -> Any:
    """The files on offer, newest first, and the columns documented."""
    files = open_data.published(platform())
    newest = files[0].day if files else None
    return render_template(
        "opendata/index.html",
        files=files,
        newest=[f for f in files if f.day == newest],
        older=[f for f in files if f.day != newest],
        columns=open_data.COLUMNS,
    )


@bp.get("/datos/casos-<day>.<fmt>.gz")
def download(day: str, fmt: str) -> Response:
    """One day's file, gzip-compressed as stored."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if fmt not in MEDIA:
        abort(404)
    content = open_data.published_file(platform(), when, fmt)
    response = Response(content, mimetype="application/gzip")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="casos-{when.isoformat()}.{fmt}.gz"'
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


#: Bars of the transparency chart, in SVG user units.
BAR_WIDTH = 300


@bp.get("/transparencia")
def transparency_page() -> Any:
    """Each entity's figures over the last twelve months, chart and table."""
    found = transparency.latest(platform())
    return render_template(
        "opendata/transparency.html", figures=found, bar_width=BAR_WIDTH
    )
