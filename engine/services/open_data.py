"""Open data: every day, a CSV and a JSON file of the cases, for anyone
(and the transparency page's figures, computed in the same daily build).

The worker builds them once a day (Panama's date; :func:`publish_due`),
gzip-compressed, and keeps the last :data:`KEEP_DAYS` days; ``/datos``
serves them. A file holds the public facts of every case of an offered case
type (see :mod:`engine.services.open311_catalog`), never a reserved
identity's case and never anything personal: the columns are
:data:`COLUMNS`, documented there one by one. Text cells that a
spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from engine.domain.cells import neutralise
from engine.domain.enums import CaseStatus
from engine.domain.errors import N_, NotFound
from engine.domain.open311 import PublishedFile
from engine.services import transparency
from engine.services.common import PANAMA
from engine.services.open311_catalog import offered, published_cases
from engine.services.open311_requests import iso
from engine.services.platform import Platform
from engine.store.models import Case
from engine.store.publishing import OpenDataFile

#: The formats published each day.
FORMATS = ("csv", "json")
#: Days of files kept.
KEEP_DAYS = 7
#: Cases read per short read transaction while building.
CHUNK = 5000
#: A build that has not finished in this long is taken over.
STALE = timedelta(hours=1)

#: The columns of both files, in order, each with what it holds.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("numero", N_("Número de seguimiento del caso (311-AAAA-NNNNNN).")),
    ("tipo", N_("Tipo de caso: queja, denuncia, sugerencia, consulta…")),
    ("categoria", N_("Tema que eligió quien presentó el caso (vacío si no hay).")),
    ("entidad", N_("Siglas de la entidad a cargo (vacío mientras lo clasifica).")),
    ("canal", N_("Por dónde llegó: web, phone, in_person, email u open311.")),
    ("recibido", N_("Fecha y hora de recepción, ISO 8601 con zona (-05:00).")),
    ("cerrado", N_("Fecha y hora de cierre; vacío si sigue abierto.")),
    (
        "a_tiempo",
        N_(
            "«si» si se cerró dentro de su plazo; «no» si se cerró tarde o sigue "
            "abierto con el plazo vencido; vacío si sigue en plazo o no tiene."
        ),
    ),
    ("estado_publico", N_("El estado que ve el ciudadano.")),
    ("distrito", N_("Distrito, cuando se conoce (todavía no se registra).")),
)


def on_time(case: Any, now: datetime) -> str:
    """``si``, ``no`` or '' (see :data:`COLUMNS`)."""
    if case.status == CaseStatus.CLOSED:
        if case.due_at is None or case.closed_at is None:
            return ""
        return "si" if case.closed_at <= case.due_at else "no"
    late = case.overdue_at is not None or (
        case.due_at is not None and case.due_at < now
    )
    return "no" if late else ""


def _cases(p: Platform, now: datetime) -> Iterator[dict[str, str]]:
    """The rows of the files, case by case in number order."""
    with p.db.read() as s:
        kinds = [k.case_type for k in offered(p, s)]
    last = 0
    while True:
        with p.db.read() as s:
            batch = s.execute(
                select(
                    Case.id,
                    Case.number,
                    Case.case_type,
                    Case.category,
                    Case.entity_code,
                    Case.channel,
                    Case.created_at,
                    Case.closed_at,
                    Case.due_at,
                    Case.overdue_at,
                    Case.status,
                    Case.public_status,
                )
                .where(Case.id > last, published_cases(kinds))
                .order_by(Case.id)
                .limit(CHUNK)
            ).all()
        if not batch:
            return
        last = batch[-1].id
        for c in batch:
            yield {
                "numero": c.number,
                "tipo": c.case_type,
                "categoria": c.category or "",
                "entidad": c.entity_code or "",
                "canal": c.channel,
                "recibido": iso(c.created_at),
                "cerrado": iso(c.closed_at),
                "a_tiempo": on_time(c, now),
                "estado_publico": c.public_status,
                "distrito": "",
            }


def build(p: Platform, now: datetime) -> tuple[dict[str, bytes], int]:
    """Both files (gzip bytes by format) and their number of rows."""
    names = [name for name, _ in COLUMNS]
    buffers = {fmt: io.BytesIO() for fmt in FORMATS}
    # mtime=0: the same cases give the same bytes.
    zipped = {
        fmt: gzip.GzipFile(fileobj=buffers[fmt], mode="wb", mtime=0) for fmt in FORMATS
    }
    text = {
        fmt: io.TextIOWrapper(zipped[fmt], encoding="utf-8", newline="")
        for fmt in FORMATS
    }
    table = csv.writer(text["csv"], lineterminator="\r\n")
    table.writerow(names)
    text["json"].write("[")
    rows = 0
    for row in _cases(p, now):
        table.writerow([neutralise(row[n]) for n in names])
        text["json"].write(("," if rows else "") + "\n")
        text["json"].write(json.dumps(row, ensure_ascii=False))
        rows += 1
    text["json"].write("\n]\n")
    for fmt in FORMATS:
        text[fmt].close()  # closes the gzip stream too, leaving the buffer
    return {fmt: buffers[fmt].getvalue() for fmt in FORMATS}, rows


def publish_due(p: Platform) -> int | None:
    """Build today's files unless they exist or another worker builds them.

    Returns the rows published, or None when there was nothing to do.
    """
    now = p.clock()
    today = now.astimezone(PANAMA).date()
    with p.db.transaction() as s:
        claim = s.get(OpenDataFile, (today, FORMATS[0]), with_for_update=True)
        if claim is not None and (
            claim.content is not None or now - claim.started_at < STALE
        ):
            return None
        s.execute(delete(OpenDataFile).where(OpenDataFile.day == today))
    try:
        with p.db.transaction() as s:
            for fmt in (*FORMATS, transparency.FORMAT):
                s.add(OpenDataFile(day=today, format=fmt, started_at=now, rows=0))
    except IntegrityError:
        return None  # another worker claimed it first
    files, rows = build(p, now)
    files[transparency.FORMAT] = json.dumps(transparency.figures(p, now)).encode()
    with p.db.transaction() as s:
        for fmt, content in files.items():
            row = s.get(OpenDataFile, (today, fmt), with_for_update=True)
            if row is None:  # taken over as stale meanwhile: theirs stands
                return None
            row.content, row.rows, row.built_at = content, rows, p.clock()
        s.execute(
            delete(OpenDataFile).where(
                OpenDataFile.day <= today - timedelta(days=KEEP_DAYS)
            )
        )
    return rows


def published(p: Platform) -> list[PublishedFile]:
    """The files on offer, newest day first."""
    with p.db.read() as s:
        rows = s.execute(
            select(
                OpenDataFile.day,
                OpenDataFile.format,
                OpenDataFile.rows,
                OpenDataFile.built_at,
                func.length(OpenDataFile.content).label("size"),
            )
            .where(OpenDataFile.built_at.is_not(None), OpenDataFile.format.in_(FORMATS))
            .order_by(OpenDataFile.day.desc(), OpenDataFile.format)
        ).all()
    return [
        PublishedFile(
            day=r.day,
            format=r.format,
            rows=r.rows,
            size=int(r.size or 0),
            built_at=r.built_at,
        )
        for r in rows
    ]


def published_file(p: Platform, day: date, fmt: str) -> bytes:
    """The gzip bytes of one published file (NotFound otherwise)."""
    with p.db.read() as s:
        row = s.get(OpenDataFile, (day, fmt)) if fmt in FORMATS else None
        if row is None or row.content is None:
            raise NotFound(N_("Ese archivo no existe."))
        return row.content
