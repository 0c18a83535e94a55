"""Case search for staff (``/buscar``) and its CSV export for supervisors.

Plain SQL over the ``case`` row and the search index (``case_search``, see
:mod:`engine.store.search_index`): no workflow is ever loaded. Who sees what
follows the case page's rule (:func:`~engine.services.common.may_see_case`),
written as a condition: 311 agents and supervisors see every case, an enlace
the cases assigned to its entity now, nobody else searches.

Counts are exact up to :data:`COUNT_LIMIT` matches, and paging stops there
(as in the inbox, see ``queues``): at a million cases, counting every match
of a broad search would cost more than the search. Counting stops at the
limit, so its cost follows the limit and how rare the match is, not the
number of cases. The count also picks the page's plan (see
:func:`search_cases`). The criteria come from the page's query string
through :func:`engine.services.search_criteria.case_query`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from engine.domain.enums import CaseStatus, Role
from engine.domain.errors import N_, NotAllowed
from engine.domain.views import CASE_STATUSES, Actor, EntityView
from engine.domain.workspace import CaseQuery, SearchHit, SearchOptions, SearchPage
from engine.services.common import (
    DESIGN_ROLES,
    PANAMA,
    PRACTICE_CASE_IDS,
    STAFF_ROLES,
    type_titles,
)
from engine.services.platform import Platform
from engine.services.search_criteria import COUNT_LIMIT, PAGE_SIZE
from engine.services.versions import audit
from engine.store import search_index
from engine.store.models import Case, Entity

#: A page beyond the count limit is first looked for among this many cases
#: per result needed (2,000 for the first page): matches rarer than one in
#: 80 there are gathered instead, which costs what their number does. A
#: larger walk wastes more on rare-ish words (a few thousand matches).
WALK_PER_RESULT = 80
#: Rows read per short transaction while exporting.
EXPORT_CHUNK = 500


#: The columns a result needs: never ``sealed_contact``.
_COLUMNS = (
    Case.id,
    Case.number,
    Case.case_type,
    Case.entity_code,
    Case.channel,
    Case.status,
    Case.public_status,
    Case.subject,
    Case.created_at,
    Case.due_at,
    Case.overdue_at,
    Case.identity_reserved,
    Case.contact,
)

#: Each sort: (column, descending) pairs, the last one breaking ties.
_SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "recientes": (("created_at", True), ("id", True)),
    "antiguos": (("created_at", False), ("id", False)),
    "vencimiento": (("due_at", False), ("id", False)),
    "numero": (("number", False),),
}


def _order(sort: str, column: Callable[[str], Any]) -> list[Any]:
    """The ORDER BY of ``sort`` over the columns ``column`` names.

    Cases without a due date come last (SQLite puts NULL first otherwise).
    """
    clauses = []
    for name, descending in _SORTS[sort]:
        clause = column(name).desc() if descending else column(name).asc()
        clauses.append(clause.nulls_last() if name == "due_at" else clause)
    return clauses


def _sort_columns(sort: str) -> list[Any]:
    """The case's id and the columns ``sort`` reads."""
    names = dict.fromkeys(["id", *(name for name, _ in _SORTS[sort])])
    return [getattr(Case, name) for name in names]


#: Not a practice case (they are few: the index of their ids is small).
NOT_PRACTICE = Case.id.not_in(PRACTICE_CASE_IDS)


def _visible(actor: Actor | None) -> ColumnElement[bool] | None:
    """The cases ``actor`` may see, as a condition (None: all of them).

    The rule of ``may_see_case``: 311 staff see every case, an enlace the
    cases of its entities now; anybody else is refused. Designers' practice
    cases are found only by designers.
    """
    real = None if actor and actor.has(*DESIGN_ROLES) else NOT_PRACTICE
    if actor is not None and actor.has(*STAFF_ROLES):
        return real
    if actor is not None and actor.has(Role.LIAISON) and actor.entity_codes:
        scope = Case.entity_code.in_(sorted(actor.entity_codes))
        return scope if real is None else and_(scope, real)
    raise NotAllowed(
        N_("La búsqueda de casos es para el personal del 311 y los enlaces.")
    )


def _overdue(now: datetime) -> ColumnElement[bool]:
    """An open case past its deadline (as the dashboard counts it)."""
    return (Case.status == CaseStatus.OPEN) & or_(
        Case.overdue_at.is_not(None), Case.due_at < now
    )


def _start_of(day: date) -> datetime:
    """Midnight of ``day`` in Panama."""
    return datetime.combine(day, time(0), PANAMA)


def _conditions(
    s: Session,
    actor: Actor | None,
    query: CaseQuery,
    now: datetime,
    *,
    words: bool = True,
) -> list[ColumnElement[bool]]:
    """Every condition of ``query``, visibility first (``words``: and the text)."""
    found: list[ColumnElement[bool] | None] = [
        _visible(actor),
        search_index.text_condition(s.get_bind().dialect.name, query.text)
        if words
        else None,
        search_index.contact_condition(query.contact),
        search_index.number_condition(query.number),
    ]
    if query.entity_code:
        found.append(Case.entity_code == query.entity_code)
    if query.case_type:
        found.append(Case.case_type == query.case_type)
    if query.status:
        found.append(Case.status == query.status)
    if query.channel:
        found.append(Case.channel == query.channel)
    if query.created_from:
        found.append(Case.created_at >= _start_of(query.created_from))
    if query.created_to:
        found.append(Case.created_at < _start_of(query.created_to + timedelta(1)))
    if query.overdue:
        found.append(_overdue(now))
    return [c for c in found if c is not None]


def search_options(p: Platform, actor: Actor | None) -> SearchOptions:
    """The choices of the search form: entities, case types, export.

    An enlace is offered only its own entities.
    """
    scope = _visible(actor)
    with p.db.read() as s:
        query = select(Entity).order_by(Entity.code)
        if scope is not None and actor is not None:
            query = query.where(Entity.code.in_(sorted(actor.entity_codes)))
        entities = [EntityView(e.code, e.name, e.active) for e in s.scalars(query)]
        titles = type_titles(s)
    return SearchOptions(
        entities=entities,
        case_types=sorted(titles.items(), key=lambda item: item[1]),
        may_export=actor is not None and actor.has(Role.SUPERVISOR),
    )


def search_cases(p: Platform, actor: Actor | None, query: CaseQuery) -> SearchPage:
    """One page of the cases ``actor`` may see that match ``query``.

    With the number of matches per status, exact up to :data:`COUNT_LIMIT`
    matches. Refuses anybody but 311 staff and enlaces.

    The count also picks how the page is found. Up to the limit, the
    matches are gathered first and sorted apart (a materialized CTE): a rare
    word or one person's phone never sends the database walking the sort
    index through every case for matches it underestimated. Beyond it, the
    matches are dense, and an ordered walk meets a page of them soon (see
    :func:`_walked_page` for words).
    """
    now = p.clock()
    offset = (query.page - 1) * PAGE_SIZE
    with p.db.read() as s:
        conditions = _conditions(s, actor, query, now)
        counts, found = _count(s, actor, query, conditions, now)
        capped = found > COUNT_LIMIT
        if not capped:
            ids = _gathered_page(s, conditions, query.sort, offset)
        elif not search_index.query_words(query.text):
            page = (
                select(Case.id)
                .where(*conditions)
                .order_by(*_order(query.sort, lambda name: getattr(Case, name)))
            )
            ids = list(s.scalars(page.offset(offset).limit(PAGE_SIZE)))
        else:
            ids = _walked_page(s, actor, query, now, offset) or _gathered_page(
                s, conditions, query.sort, offset
            )
        hits = _rows_by_id(s, ids, now)
    return SearchPage(
        query=query,
        hits=hits,
        counts=counts,
        capped=capped,
        count_limit=COUNT_LIMIT,
        found=found,
        page=query.page,
        page_size=PAGE_SIZE,
    )


def _count(
    s: Session,
    actor: Actor | None,
    query: CaseQuery,
    conditions: list[ColumnElement[bool]],
    now: datetime,
) -> tuple[dict[str, int], int]:
    """Matches per status and in all, counted up to ``COUNT_LIMIT + 1``.

    Words alone, searched by someone who sees every case, are first counted
    in the search index alone: beyond the limit the counts per status are
    not shown, and reading each match's case for its status was a third of
    the work. Otherwise (or within the limit) the matching cases are
    counted per status.
    """
    counts = {str(status): 0 for status in CASE_STATUSES}
    matching = search_index.matching_rows(
        s.get_bind().dialect.name, query.text, "case_search"
    )
    if matching is not None and not _conditions(s, actor, query, now, words=False):
        rows = matching.columns(case_id=Case.id.type).subquery()
        # A constant, not the key: FTS5 names it rowid, PostgreSQL case_id.
        first = (
            select(literal_column("1").label("one"))
            .select_from(rows)
            .limit(COUNT_LIMIT + 1)
            .subquery()
        )
        found = int(s.scalar(select(func.count()).select_from(first)) or 0)
        if found > COUNT_LIMIT:
            return counts, found
    counted = select(Case.status).where(*conditions).limit(COUNT_LIMIT + 1).subquery()
    for status, n in s.execute(
        select(counted.c.status, func.count()).group_by(counted.c.status)
    ):
        counts[status] = int(n)
    return counts, sum(counts.values())


def _gathered_page(
    s: Session, conditions: list[ColumnElement[bool]], sort: str, offset: int
) -> list[int]:
    """A page found by gathering every match first, then sorting them apart.

    A materialized CTE on PostgreSQL, so that the planner never trades it
    for a walk of the sort index that would meet rare matches late.
    """
    matches = (
        select(*_sort_columns(sort))
        .where(*conditions)
        .cte("matches")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    page = select(matches.c.id).order_by(*_order(sort, lambda name: matches.c[name]))
    return list(s.scalars(page.offset(offset).limit(PAGE_SIZE)))


def _walked_page(
    s: Session, actor: Actor | None, query: CaseQuery, now: datetime, offset: int
) -> list[int] | None:
    """The page of a search by words with more than COUNT_LIMIT matches.

    Walks the cases that meet the other criteria in the page's order, at
    most :data:`WALK_PER_RESULT` per result needed, checking the words case
    by case (the full-text index would first gather every match: 150,000 for
    a common word at a million cases). A full page found there is the page:
    the walk is a prefix of the ordered results. Otherwise (matches too
    sparse among the first cases walked) None: the caller gathers every
    match instead.
    """
    dialect = s.get_bind().dialect.name
    budget = WALK_PER_RESULT * (offset + PAGE_SIZE)
    walked = (
        select(*_sort_columns(query.sort))
        .where(*_conditions(s, actor, query, now, words=False))
        .order_by(*_order(query.sort, lambda name: getattr(Case, name)))
        .limit(budget)
        .subquery()
    )
    matched = search_index.text_checked_per_row(dialect, query.text, walked.c.id)
    if matched is None:
        return None
    page = (
        select(walked.c.id)
        .where(matched)
        .order_by(*_order(query.sort, lambda name: walked.c[name]))
        .offset(offset)
        .limit(PAGE_SIZE)
    )
    ids = list(s.scalars(page))
    return ids if len(ids) == PAGE_SIZE else None


def export_cases(
    p: Platform, actor: Actor | None, query: CaseQuery
) -> Iterator[SearchHit]:
    """Every case matching ``query``, for a supervisor's CSV file; audited.

    The audit record (who, which criteria) is written before anything is
    read. The rows come in chunks, each read in a short transaction of its
    own, so a slow download holds no lock (SQLite's read transactions take
    the write lock). Reserved identities come without contact, as always.
    """
    if actor is None or not actor.has(Role.SUPERVISOR):
        raise NotAllowed(N_("Solo el supervisor del 311 exporta resultados."))
    now = p.clock()
    with p.db.read() as s:
        conditions = _conditions(s, actor, query, now)
        ids = list(
            s.scalars(
                select(Case.id)
                .where(*conditions)
                .order_by(*_order(query.sort, lambda name: getattr(Case, name)))
            )
        )
    audit(
        p,
        actor.username,
        "export_cases",
        {"criteria": query.criteria(), "sort": query.sort, "cases": len(ids)},
    )
    return _export_chunks(p, ids, now)


def _export_chunks(p: Platform, ids: list[int], now: datetime) -> Iterator[SearchHit]:
    """The export's rows, :data:`EXPORT_CHUNK` cases per transaction."""
    for start in range(0, len(ids), EXPORT_CHUNK):
        with p.db.read() as s:
            hits = _rows_by_id(s, ids[start : start + EXPORT_CHUNK], now)
        yield from hits


def _rows_by_id(s: Session, ids: list[int], now: datetime) -> list[SearchHit]:
    """The results with these ids, in this order (rows gone since are left out)."""
    rows = {row.id: row for row in s.execute(select(*_COLUMNS).where(Case.id.in_(ids)))}
    return _hits(s, [rows[i] for i in ids if i in rows], now)


def _hits(s: Session, rows: Sequence[Any], now: datetime) -> list[SearchHit]:
    """Result rows as plain data, with type titles and entity names."""
    titles = type_titles(s)
    codes = {row.entity_code for row in rows if row.entity_code}
    names = dict(
        s.execute(select(Entity.code, Entity.name).where(Entity.code.in_(codes))).all()
    )
    hits = []
    for row in rows:
        # A reserved identity's contact is sealed elsewhere and empty here;
        # the flag keeps that true even if a contact were ever stored.
        contact = None if row.identity_reserved else row.contact
        contact_names, emails, phones = search_index.split_contact(contact)
        late = row.status == CaseStatus.OPEN and (
            row.overdue_at is not None or (row.due_at is not None and row.due_at < now)
        )
        hits.append(
            SearchHit(
                number=row.number,
                case_type=row.case_type,
                type_title=titles.get(row.case_type, row.case_type),
                entity_code=row.entity_code,
                entity_name=names.get(row.entity_code),
                channel=row.channel,
                status=row.status,
                public_status=row.public_status,
                subject=row.subject,
                created_at=row.created_at,
                due_at=row.due_at,
                overdue=late,
                identity_reserved=row.identity_reserved,
                contact_names=contact_names,
                contact_emails=emails,
                contact_phones=phones,
            )
        )
    return hits
