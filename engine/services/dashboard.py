"""Figures and lists for supervisors and enlaces."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, or_, select, true
from sqlalchemy.orm import Session

from engine.domain.enums import Role
from engine.domain.errors import (
    N_,
    NotAllowed,
)
from engine.domain.views import Actor
from engine.domain.workspace import CaseRow, Dashboard
from engine.services.common import PRACTICE_CASE_IDS, REAL_CASE
from engine.services.platform import Platform
from engine.store.models import (
    Case,
    SurveyResponse,
)

#: "Closed" on the dashboard counts the cases closed in this many last days:
#: how the center is doing now, not since it opened (and a count that stays
#: small at a million cases).
CLOSED_WINDOW_DAYS = 30

#: The partial indexes' predicates, as literals: a bound value could not
#: prove them to the planner (see ``queues``), and each figure below must
#: read one small partial index alone (an index-only scan).
_OPEN = Case.status == literal_column("'open'")
_CLOSED = Case.status == literal_column("'closed'")
#: A practice case (designers'), as ``ix_case_practice`` reads it.
PRACTICE = Case.practice == true()
#: The columns a listed case needs.
_ROW = (
    Case.number,
    Case.case_type,
    Case.subject,
    Case.entity_code,
    Case.public_status,
    Case.due_at,
    Case.overdue_at,
    Case.error,
)


def _figures(s: Session, entity_codes: tuple[str, ...] | None, now: datetime) -> Any:
    """Open, on time, closed lately and the survey figures, in one statement.

    One statement, so every figure comes from the same snapshot (read
    sessions run in autocommit on PostgreSQL) in one round trip. Overdue is
    counted as open minus on time: "on time" (not flagged overdue, deadline
    ahead or none) reads ``ix_case_open_unmarked`` alone, where the overdue
    condition itself (flagged *or* past its deadline) is an OR that no one
    index serves and sent the database to the table's pages.
    """
    scope = [] if entity_codes is None else [Case.entity_code.in_(entity_codes)]

    def count(*where: ColumnElement[bool]) -> Any:
        # Practice cases are counted apart (a few, through their own partial
        # index) and taken off: a filter on the flag would send each figure
        # to the table's pages instead of its index alone.
        every = select(func.count()).select_from(Case).where(*where, *scope)
        practice = (
            select(func.count()).select_from(Case).where(PRACTICE, *where, *scope)
        )
        return every.scalar_subquery() - practice.scalar_subquery()

    survey = select(
        func.avg(SurveyResponse.rating).label("survey_average"),
        func.count().label("surveys"),
    )
    if entity_codes is not None:
        survey = survey.where(SurveyResponse.entity_code.in_(entity_codes))
    survey = survey.where(SurveyResponse.case_id.not_in(PRACTICE_CASE_IDS))
    surveys = survey.subquery()
    return s.execute(
        select(
            count(_OPEN).label("open"),
            count(
                _OPEN,
                Case.overdue_at.is_(None),
                or_(Case.due_at.is_(None), Case.due_at >= now),
            ).label("on_time"),
            count(
                _CLOSED, Case.closed_at >= now - timedelta(days=CLOSED_WINDOW_DAYS)
            ).label("closed"),
            *surveys.c,
        )
    ).one()


def dashboard(p: Platform, actor: Actor) -> Dashboard:
    """Figures and lists for supervisors (all cases) and enlaces (their
    entities)."""
    if not actor.has(Role.SUPERVISOR, Role.LIAISON, Role.ADMIN):
        raise NotAllowed(N_("El tablero es para supervisores y enlaces."))
    now = p.clock()
    scoped = not actor.has(Role.SUPERVISOR, Role.ADMIN)
    entity_codes = tuple(sorted(actor.entity_codes)) if scoped else None
    with p.db.read() as s:
        base = select(*_ROW).where(_OPEN, REAL_CASE)
        if entity_codes is not None:
            base = base.where(Case.entity_code.in_(entity_codes))
        overdue_q = base.where(
            or_(Case.overdue_at.is_not(None), Case.due_at < now)
        ).order_by(Case.due_at)
        overdue = s.execute(overdue_q.limit(50)).all()
        errored = s.execute(base.where(Case.error.is_not(None)).limit(50)).all()
        figures = _figures(s, entity_codes, now)

    def row(c: Any) -> CaseRow:
        return CaseRow(
            number=c.number,
            case_type=c.case_type,
            subject=c.subject,
            entity_code=c.entity_code,
            public_status=c.public_status,
            due_at=c.due_at,
            overdue_at=c.overdue_at,
            error=c.error,
        )

    return Dashboard(
        open_cases=int(figures.open),
        overdue_cases=int(figures.open) - int(figures.on_time),
        closed_cases=int(figures.closed),
        survey_average=(
            None if figures.survey_average is None else float(figures.survey_average)
        ),
        survey_count=int(figures.surveys or 0),
        overdue=[row(c) for c in overdue],
        errored=[row(c) for c in errored],
        entity_codes=entity_codes,
        closed_days=CLOSED_WINDOW_DAYS,
    )
