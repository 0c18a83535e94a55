"""Figures and lists for supervisors and enlaces."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from engine.domain.enums import CaseStatus, Role
from engine.domain.errors import (
    N_,
    NotAllowed,
)
from engine.domain.views import (
    Actor,
    CaseRow,
    Dashboard,
)
from engine.services.platform import Platform
from engine.store.models import (
    Case,
    SurveyResponse,
)

#: "Closed" on the dashboard counts the cases closed in this many last days:
#: how the center is doing now, not since it opened (and a count that stays
#: small at a million cases).
CLOSED_WINDOW_DAYS = 30


def dashboard(p: Platform, actor: Actor) -> Dashboard:
    """Figures and lists for supervisors (all cases) and enlaces (their entity)."""
    if not actor.has(Role.SUPERVISOR, Role.LIAISON, Role.ADMIN):
        raise NotAllowed(N_("El tablero es para supervisores y enlaces."))
    now = p.clock()
    scoped = not actor.has(Role.SUPERVISOR, Role.ADMIN)
    with p.db.read() as s:
        base = select(Case).where(Case.status == CaseStatus.OPEN)
        if scoped:
            base = base.where(Case.entity_code == actor.entity_code)
        count = func.count()
        open_n = s.scalar(select(count).select_from(base.subquery())) or 0
        overdue_q = base.where(
            or_(Case.overdue_at.is_not(None), Case.due_at < now)
        ).order_by(Case.due_at)
        overdue = list(s.scalars(overdue_q.limit(50)))
        overdue_n = s.scalar(select(count).select_from(overdue_q.subquery())) or 0
        errored = list(s.scalars(base.where(Case.error.is_not(None)).limit(50)))
        closed_q = select(count).where(
            Case.status == CaseStatus.CLOSED,
            Case.closed_at >= now - timedelta(days=CLOSED_WINDOW_DAYS),
        )
        if scoped:
            closed_q = closed_q.where(Case.entity_code == actor.entity_code)
        closed_n = s.scalar(closed_q) or 0
        survey_q = select(func.avg(SurveyResponse.rating), func.count())
        if scoped:
            survey_q = survey_q.where(SurveyResponse.entity_code == actor.entity_code)
        avg, surveys = s.execute(survey_q).one()

        def row(c: Case) -> CaseRow:
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
            open_cases=int(open_n),
            overdue_cases=int(overdue_n),
            closed_cases=int(closed_n),
            survey_average=float(avg) if avg is not None else None,
            survey_count=int(surveys or 0),
            overdue=[row(c) for c in overdue],
            errored=[row(c) for c in errored],
            entity_code=actor.entity_code if scoped else None,
            closed_days=CLOSED_WINDOW_DAYS,
        )
