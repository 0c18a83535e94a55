"""The administrative audit log: writing a record, and reading it back.

Every administrative action appends one ``audit_log`` row in its own
transaction (:func:`record`): who, what, when, from where (the client
address the web layer puts on the actor) and a detail with the target and,
for changes, the values before and after. The table is append-only in the
database itself (triggers); the viewer (``/admin/auditoria``, admins and
311 supervisors) only reads it, newest first, 50 a page by keyset on the
id, filtered by person, action and days. Its CSV export is audited too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.domain.admin import AUDIT_ACTIONS, AuditEntry, AuditPage, AuditQuery
from engine.domain.enums import Role
from engine.domain.errors import N_, InvalidData, Message, NotAllowed
from engine.domain.views import Actor
from engine.services.common import PANAMA
from engine.services.platform import Platform
from engine.store.accounts import AuditLog, User

#: Records per page of the viewer.
PAGE_SIZE = 50
#: Records read per short transaction while exporting.
EXPORT_CHUNK = 500
#: Longest value accepted per query-string parameter.
_LIMITS = {"persona": 80, "accion": 40, "desde": 10, "hasta": 10, "antes": 12}


def record(
    s: Session, now: datetime, actor: Actor, action: str, detail: dict[str, Any]
) -> None:
    """Append one audit record in the caller's transaction."""
    s.add(
        AuditLog(
            at=now,
            actor=actor.username,
            action=action,
            detail=detail,
            client=(actor.client or None) and actor.client[:64],
        )
    )


def may_read(actor: Actor | None) -> bool:
    """Whether ``actor`` reads the audit log: admins and 311 supervisors."""
    return actor is not None and actor.has(Role.ADMIN, Role.SUPERVISOR)


def audit_query(params: Mapping[str, str]) -> AuditQuery:
    """The viewer's filters from query-string parameters; bad ones named.

    ``persona`` (a username), ``accion`` (an action key), ``desde`` and
    ``hasta`` (days, Panama time, both included), ``antes`` (the paging key).
    """
    errors: dict[str, list[Message]] = {}

    def value(name: str) -> str:
        """The parameter, stripped and cut to its longest accepted length."""
        return str(params.get(name, "")).strip()[: _LIMITS[name]]

    since = _day(value("desde"), "desde", errors)
    until = _day(value("hasta"), "hasta", errors)
    before_raw = value("antes")
    before = int(before_raw) if before_raw.isdigit() else None
    if errors:
        raise InvalidData(errors)
    return AuditQuery(
        actor=value("persona"),
        action=value("accion"),
        since=_start(since) if since else None,
        until=_start(until + timedelta(days=1)) if until else None,
        before=before,
    )


def _day(raw: str, name: str, errors: dict[str, list[Message]]) -> date | None:
    """A day written ``AAAA-MM-DD``, or None; a message under ``name`` if bad."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = [Message(N_("Escriba una fecha válida (AAAA-MM-DD)."))]
        return None


def _start(day: date) -> datetime:
    """The first instant of ``day`` in Panama."""
    return datetime.combine(day, time(), tzinfo=PANAMA)


def _filtered(query: AuditQuery) -> Select[Any]:
    """The records matching ``query``'s filters, newest first."""
    found = select(AuditLog)
    if query.actor:
        found = found.where(AuditLog.actor == query.actor)
    if query.action:
        found = found.where(AuditLog.action == query.action)
    if query.since:
        found = found.where(AuditLog.at >= query.since)
    if query.until:
        found = found.where(AuditLog.at < query.until)
    return found.order_by(AuditLog.id.desc())


def list_audit(p: Platform, actor: Actor | None, query: AuditQuery) -> AuditPage:
    """One page of the audit log (admins and supervisors), newest first."""
    if not may_read(actor):
        raise NotAllowed(N_("Solo administradores y supervisores leen la auditoría."))
    found = _filtered(query)
    if query.before is not None:
        found = found.where(AuditLog.id < query.before)
    with p.db.read() as s:
        rows = list(s.scalars(found.limit(PAGE_SIZE + 1)))
    entries = [entry(r) for r in rows[:PAGE_SIZE]]
    more = len(rows) > PAGE_SIZE
    return AuditPage(
        entries=entries,
        next_before=entries[-1].id if more and entries else None,
        actions=dict(AUDIT_ACTIONS),
    )


def export_audit(
    p: Platform, actor: Actor | None, query: AuditQuery
) -> Iterator[AuditEntry]:
    """Every record matching ``query`` for a CSV file; the export is audited.

    The export's own record is written first, so it is part of what it
    exports; the rows come in chunks, each in a short read transaction.
    """
    if not may_read(actor):
        raise NotAllowed(N_("Solo administradores y supervisores leen la auditoría."))
    assert actor is not None  # may_read said so
    with p.db.transaction() as s:
        record(s, p.clock(), actor, "export_audit", {"criteria": query.criteria()})
        s.flush()
        newest = s.scalars(select(AuditLog.id).order_by(AuditLog.id.desc())).first()
    return _chunks(p, query, (newest or 0) + 1)


def _chunks(p: Platform, query: AuditQuery, before: int) -> Iterator[AuditEntry]:
    """The export's records, :data:`EXPORT_CHUNK` per read, by keyset."""
    while True:
        with p.db.read() as s:
            rows = list(
                s.scalars(
                    _filtered(query).where(AuditLog.id < before).limit(EXPORT_CHUNK)
                )
            )
            entries = [entry(r) for r in rows]
        yield from entries
        if len(rows) < EXPORT_CHUNK:
            return
        before = rows[-1].id


def entry(row: AuditLog) -> AuditEntry:
    """A record as the viewer shows it: the case, version and target pulled
    out of the detail, whichever service wrote it."""
    detail = dict(row.detail or {})
    version = None
    case_type = detail.get("case_type")
    number = detail.get("version", detail.get("to_version"))
    if case_type and number is not None:
        version = f"{case_type} v{number}"
    target = next(
        (
            str(detail[k])
            for k in ("target", "user", "entity", "title", "article")
            if detail.get(k) not in (None, "")
        ),
        None,
    )
    case = detail.get("case")
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        client=row.client,
        case=str(case) if case else None,
        version=version,
        target=target,
        detail=detail,
    )


def audit_actors(p: Platform) -> list[str]:
    """Usernames to suggest in the viewer's person filter (every account;
    reading the names off a large log would cost a scan of it)."""
    with p.db.read() as s:
        return list(s.scalars(select(User.username).order_by(User.username)))
