"""Transparency: how each entity answers, over the last twelve months.

Public figures per entity (no personal data, only counts): cases received,
the **fair on-time rate** (cases closed on time ÷ (cases closed + overdue
cases still open) — an entity cannot look punctual by sitting on its late
cases), the median business days from filing to closing, and the citizens'
satisfaction. The worker computes them once a day with the open-data files
(:func:`figures`, stored by :mod:`engine.services.open_data`); the page
reads the stored figures (:func:`latest`), so a visitor never makes the
database count a year of cases.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import func, literal_column, or_, select
from sqlalchemy.orm import Session

from engine.domain.open311 import EntityFigures, Transparency
from engine.services.common import (
    PANAMA,
    PRACTICE_CASE_IDS,
    REAL_CASE,
    business_calendar,
)
from engine.services.platform import Platform
from engine.store.models import Case, Entity, SurveyResponse
from engine.store.publishing import OpenDataFile
from engine.workflow.calendar import BusinessCalendar

#: The period the page covers, in days up to the day of the figures.
WINDOW_DAYS = 365
#: The stored figures' "format" among the day's open-data rows.
FORMAT = "figures"
_OPEN = Case.status == literal_column("'open'")
_CLOSED = Case.status == literal_column("'closed'")


class _Ordinals:
    """Business-day numbers of dates, so that a difference is one subtraction."""

    def __init__(self, calendar: BusinessCalendar, first: date, last: date) -> None:
        self.first = first
        self.numbers: list[int] = []
        count = 0
        day = first
        while day <= last:
            if calendar.is_business_day(day):
                count += 1
            self.numbers.append(count)
            day += timedelta(days=1)

    def between(self, start: datetime, end: datetime) -> int:
        """Business days after ``start``'s day up to and including ``end``'s."""
        a = (start.astimezone(PANAMA).date() - self.first).days
        b = (end.astimezone(PANAMA).date() - self.first).days
        return max(0, self.numbers[b] - self.numbers[a])


def figures(p: Platform, now: datetime) -> dict[str, Any]:
    """The figures of every entity with cases, as stored (JSON-ready)."""
    today = now.astimezone(PANAMA).date()
    since_day = today - timedelta(days=WINDOW_DAYS)
    since = datetime.combine(since_day, datetime.min.time(), tzinfo=PANAMA)
    with p.db.read() as s:
        names = {
            code: name for code, name in s.execute(select(Entity.code, Entity.name))
        }
        received = _grouped(
            s,
            select(Case.entity_code, func.count())
            .where(Case.created_at >= since, Case.entity_code.is_not(None), REAL_CASE)
            .group_by(Case.entity_code),
        )
        overdue = _grouped(
            s,
            select(Case.entity_code, func.count())
            .where(
                _OPEN,
                Case.entity_code.is_not(None),
                or_(Case.overdue_at.is_not(None), Case.due_at < now),
                REAL_CASE,
            )
            .group_by(Case.entity_code),
        )
        closed_rows = s.execute(
            select(
                Case.entity_code, Case.created_at, Case.closed_at, Case.due_at
            ).where(
                _CLOSED,
                Case.closed_at >= since,
                Case.entity_code.is_not(None),
                REAL_CASE,
            )
        ).all()
        surveys = {
            code: (int(n), float(avg))
            for code, n, avg in s.execute(
                select(
                    SurveyResponse.entity_code,
                    func.count(),
                    func.avg(SurveyResponse.rating),
                )
                .where(
                    SurveyResponse.at >= since,
                    SurveyResponse.entity_code.is_not(None),
                    SurveyResponse.case_id.not_in(PRACTICE_CASE_IDS),
                )
                .group_by(SurveyResponse.entity_code)
            )
        }
        calendar = business_calendar(p, s)
    oldest = min((r.created_at for r in closed_rows), default=since)
    ordinals = _Ordinals(calendar, oldest.astimezone(PANAMA).date(), today)
    closed: dict[str, int] = defaultdict(int)
    on_time: dict[str, int] = defaultdict(int)
    days: dict[str, list[int]] = defaultdict(list)
    for code, created_at, closed_at, due_at in closed_rows:
        if code is None or closed_at is None:  # excluded by the query
            continue
        closed[code] += 1
        if due_at is None or closed_at <= due_at:
            on_time[code] += 1
        days[code].append(ordinals.between(created_at, closed_at))
    codes = sorted(set(received) | set(closed) | set(overdue))
    return {
        "day": today.isoformat(),
        "since": since_day.isoformat(),
        "entities": [
            {
                "code": code,
                "name": names.get(code, code),
                "received": received.get(code, 0),
                "closed": closed[code],
                "closed_on_time": on_time[code],
                "overdue_open": overdue.get(code, 0),
                "median_days": median(days[code]) if days[code] else None,
                "surveys": surveys.get(code, (0, 0.0))[0],
                "satisfaction": (
                    round(surveys[code][1], 2) if code in surveys else None
                ),
            }
            for code in codes
        ],
    }


def _grouped(s: Session, query: Any) -> dict[str, int]:
    return {str(code): int(n) for code, n in s.execute(query)}


def latest(p: Platform) -> Transparency | None:
    """The newest figures the worker stored, or None before the first."""
    with p.db.read() as s:
        row = s.scalars(
            select(OpenDataFile)
            .where(OpenDataFile.format == FORMAT, OpenDataFile.content.is_not(None))
            .order_by(OpenDataFile.day.desc())
            .limit(1)
        ).first()
        if row is None or row.content is None:
            return None
        stored = json.loads(row.content)
    entities = tuple(
        EntityFigures(**e)
        for e in sorted(stored["entities"], key=lambda e: (-e["received"], e["code"]))
    )
    return Transparency(
        day=date.fromisoformat(stored["day"]),
        since=date.fromisoformat(stored["since"]),
        entities=entities,
    )
